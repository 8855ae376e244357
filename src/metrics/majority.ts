/**
 * majority@k of one row, as NeMo-Skills scores it: rows' null answers do not vote; the most
 * frequent answer wins, scored by the mean of its runs' verdicts; tied answers share the score
 * (the mean of their scores). No answer at all scores 0.
 * `answers[i]` and `scores[i]` are run i's; pass the first k.
 */
export function majorityScore(answers: readonly (string | null)[], scores: readonly number[]): number {
  const votes = new Map<string, { count: number; sum: number }>();
  let top = 0;
  for (let i = 0; i < answers.length; i++) {
    const a = answers[i];
    if (a === null || a === undefined) continue;
    const v = votes.get(a) ?? { count: 0, sum: 0 };
    v.count++;
    v.sum += scores[i] ?? 0;
    votes.set(a, v);
    if (v.count > top) top = v.count;
  }
  if (top === 0) return 0;
  let tied = 0;
  let total = 0;
  for (const v of votes.values()) {
    if (v.count !== top) continue;
    tied++;
    total += v.sum / v.count;
  }
  return total / tied;
}
