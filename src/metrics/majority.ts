/**
 * majority@k of one row, as NeMo-Skills main scores it (nemo_skills/evaluation/metrics/base.py,
 * `_compute_majority_at_k` @ 1ffb46f13466adf3df56583e99985e0163e57a61): runs with no answer do not
 * vote; the votes are (answer, verdict) pairs; the most frequent pairs win and the score is
 * `sum(score of each tied pair) / len(tied pairs)`, the pairs in order of first vote, added one
 * after another as Python's sum does. No answer at all scores 0.
 * With `byAnswer` (vlmpipe's opt-in, as in open NeMo-Skills PR #1519) the votes are answers alone:
 * the most frequent answers win, each scored by the mean verdict of its runs, ties averaged.
 * `answers[i]` and `scores[i]` are run i's; pass the first k.
 */
export function majorityScore(
  answers: readonly (string | null)[],
  scores: ArrayLike<number>,
  byAnswer = false,
): number {
  const votes = new Map<string, { count: number; sum: number; score: number }>();
  let top = 0;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (a === null || a === undefined) continue;
    const score = scores[i] ?? 0;
    // "\u0001" cannot occur in an answer key's verdict part: answer and verdict stay apart
    const key = byAnswer ? a : `${a}\u0001${score}`;
    let v = votes.get(key);
    if (v === undefined) votes.set(key, (v = { count: 0, sum: 0, score }));
    v.count++;
    v.sum += score;
    if (v.count > top) top = v.count;
  }
  if (top === 0) return 0;
  let tied = 0;
  let total = 0;
  for (const v of votes.values()) {
    if (v.count !== top) continue;
    tied++;
    total += byAnswer ? v.sum / v.count : v.score;
  }
  return total / tied;
}
