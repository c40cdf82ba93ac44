// "Did you mean": the closest known names by edit distance.

export function editDistance(a: string, b: string, limit = Infinity): number {
  if (a === b) return 0;
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  // Optimal string alignment: insertions, deletions, substitutions and adjacent transpositions.
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d = new Array<number>(rows * cols);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    let rowMin = Infinity;
    for (let j = 1; j < cols; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > limit) return limit + 1;
  }
  return d[rows * cols - 1]!;
}

/** Up to `max` candidates close enough to `name` to be a plausible typo, best first. */
export function closest(name: string, candidates: Iterable<string>, max = 3): string[] {
  const limit = Math.max(1, Math.floor(name.length / 3));
  const scored: [string, number][] = [];
  const lower = name.toLowerCase();
  for (const c of candidates) {
    if (c === name) continue;
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase(), limit);
    if (d <= limit || (c.length >= 4 && (c.startsWith(name) || name.startsWith(c)) && name.length >= 3)) scored.push([c, d]);
  }
  scored.sort((x, y) => x[1] - y[1] || (x[0] < y[0] ? -1 : 1));
  return scored.slice(0, max).map((s) => s[0]);
}

/** " (did you mean 'a'?)" or " (did you mean 'a' or 'b'?)", or "" when nothing is close. */
export function didYouMean(name: string, candidates: Iterable<string>): { text: string; best?: string } {
  const c = closest(name, candidates);
  if (!c.length) return { text: '' };
  const list = c.map((x) => `'${x}'`);
  return { text: ` (did you mean ${list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} or ${list[list.length - 1]}`}?)`, best: c[0] };
}

/**
 * Operator spellings from other languages and tools, mapped to Tally's operator (LANGUAGE.md §3).
 * None of them is a key a condition accepts (test/hostile.test.ts checks it against the schema).
 */
const OPERATOR_SYNONYMS: Readonly<Record<string, string>> = {
  equals: 'eq', equal: 'eq', equal_to: 'eq', is: 'eq', '=': 'eq', '==': 'eq', '===': 'eq',
  not_equals: 'ne', not_equal: 'ne', not_equal_to: 'ne', neq: 'ne', is_not: 'ne', '!=': 'ne', '<>': 'ne', '!==': 'ne',
  greater: 'gt', greater_than: 'gt', more_than: 'gt', above: 'gt', '>': 'gt',
  ge: 'gte', greater_or_equal: 'gte', greater_than_or_equal: 'gte', greater_than_or_equal_to: 'gte', at_least: 'gte', '>=': 'gte',
  less: 'lt', less_than: 'lt', fewer_than: 'lt', below: 'lt', '<': 'lt',
  le: 'lte', less_or_equal: 'lte', less_than_or_equal: 'lte', less_than_or_equal_to: 'lte', at_most: 'lte', '<=': 'lte',
  one_of: 'in', any_of: 'in', in_list: 'in', includes: 'contains', has: 'contains', like: 'contains',
  nin: 'not_in', none_of: 'not_in', not_one_of: 'not_in',
  startswith: 'starts_with', begins_with: 'starts_with', prefix: 'starts_with',
  null: 'is_null', isnull: 'is_null', is_empty: 'is_null', exists: 'is_null',
  range: 'between', from_to: 'between', since: 'after', until: 'before', last: 'within',
};

/**
 * The operator an unknown condition key most likely means: a known synonym (`equals` -> `eq`,
 * `>=` -> `gte`), else a close spelling of one of `operators` (`gtee` -> `gte`).
 */
export function suggestOperator(key: string, operators: readonly string[]): string | undefined {
  const normal = key.trim().toLowerCase().replace(/[\s-]+/g, '_');
  const synonym = OPERATOR_SYNONYMS[normal];
  if (synonym !== undefined && operators.includes(synonym)) return synonym;
  return closest(key, operators, 1)[0];
}

/** The synonym table, for the test that keeps it apart from real keys. */
export const OPERATOR_SYNONYM_KEYS: readonly string[] = Object.keys(OPERATOR_SYNONYMS);
