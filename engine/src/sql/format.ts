// Line breaks and indentation for compiled SQL shown to people (the editor's SQL view). Only
// whitespace between tokens changes, never a literal, an identifier or the token order, so the
// formatted text runs exactly like the compact one:
//
//   select count(*) as count from "customers" as "e" where ("e"."country" in ($1, $2) and ...)
//   ->
//   select count(*) as count
//   from "customers" as "e"
//   where ("e"."country" in ($1, $2)
//     and ...)

interface Frame {
  /** Whether a `select` opened a query at this parenthesis depth (its clauses break). */
  select: boolean;
  /** Whether `and`/`or` at this depth belong to a where/having/on (and so break). */
  conditions: boolean;
  /** An open `between`, whose `and` must not break. */
  between: boolean;
  /** Inside the select list (between `select` and `from`): its commas break. */
  list: boolean;
}

const CLAUSES = ['left join', 'inner join', 'cross join', 'join', 'group by', 'order by', 'having', 'where', 'limit', 'union all', 'union', 'from', 'select'];

/** Formats one SQL statement; text it does not understand (unbalanced quotes) comes back unchanged. */
export function formatSql(text: string): string {
  const out: string[] = [];
  const frames: Frame[] = [{ select: false, conditions: false, between: false, list: false }];
  let i = 0;
  let parenIndent: number[] = [0];
  const indent = () => '  '.repeat(parenIndent[parenIndent.length - 1]!);
  const wordAt = (w: string) =>
    text.slice(i, i + w.length).toLowerCase() === w && !/[\w$"]/.test(text[i - 1] ?? ' ') && !/[\w$]/.test(text[i + w.length] ?? ' ');
  while (i < text.length) {
    const c = text[i]!;
    if (c === "'" || c === '"') {
      const end = closingQuote(text, i);
      if (end < 0) return text;
      out.push(text.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    if (c === '(') {
      frames.push({ select: false, conditions: false, between: false, list: false });
      parenIndent.push(parenIndent[parenIndent.length - 1]! + 1);
      out.push(c);
      i++;
      continue;
    }
    if (c === ')') {
      if (frames.length > 1) frames.pop();
      if (parenIndent.length > 1) parenIndent = parenIndent.slice(0, -1);
      out.push(c);
      i++;
      continue;
    }
    const frame = frames[frames.length - 1]!;
    if (c === ',' && frame.list) {
      out.push(`,\n${indent()}  `);
      i++;
      while (text[i] === ' ') i++;
      continue;
    }
    if (/[a-z]/i.test(c) && !/[\w$"]/.test(text[i - 1] ?? ' ')) {
      const clause = CLAUSES.find(wordAt);
      if (clause) {
        // A clause breaks only in a query at this depth: not `extract(epoch from …)`, not
        // `filter (where …)`, not `over (order by …)`.
        const breaks = clause === 'select' ? out.length > 0 : frame.select;
        if (clause === 'select') frame.select = true;
        frame.list = clause === 'select';
        frame.conditions = breaks && (clause === 'where' || clause === 'having' || clause.endsWith('join'));
        if (breaks) newline(out, indent());
        out.push(text.slice(i, i + clause.length));
        i += clause.length;
        continue;
      }
      if (wordAt('between')) frame.between = true;
      if (wordAt('and') || wordAt('or')) {
        const w = wordAt('and') ? 'and' : 'or';
        if (w === 'and' && frame.between) frame.between = false;
        else if (frame.conditions) newline(out, `${indent()}  `);
        out.push(text.slice(i, i + w.length));
        i += w.length;
        continue;
      }
      const m = /^[\w$]+/.exec(text.slice(i));
      out.push(m![0]);
      i += m![0].length;
      continue;
    }
    out.push(c);
    i++;
  }
  return out.join('');
}

/** Replaces the spaces before the cursor with a line break and an indent. */
function newline(out: string[], indent: string): void {
  while (out.length && /^ +$/.test(out[out.length - 1]!)) out.pop();
  if (out.length) out[out.length - 1] = out[out.length - 1]!.replace(/ +$/, '');
  if (!out.length) return;
  out.push(`\n${indent}`);
}

/** The index of the quote closing the one at `start` ('' and "" are escapes), or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start]!;
  for (let j = start + 1; j < text.length; j++) {
    if (text[j] === q) {
      if (text[j + 1] === q) {
        j++;
        continue;
      }
      return j;
    }
  }
  return -1;
}
