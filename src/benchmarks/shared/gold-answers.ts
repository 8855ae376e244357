/** A short-answer row's acceptable answers: `answers` (a list), else `expected_answer` (one, or a list); null: none. */
export function goldAnswers(row: Record<string, unknown>): string[] | null {
  const list = Array.isArray(row.answers) ? row.answers : row.expected_answer;
  if (list === undefined || list === null) return null;
  const golds = (Array.isArray(list) ? list : [list]).filter((g) => g !== null && g !== undefined).map(String);
  return golds.length === 0 ? null : golds;
}
