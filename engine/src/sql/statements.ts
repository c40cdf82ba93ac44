// Splits a script of SQL statements at its top-level semicolons, so DDL is sent one statement per
// query (ARCHITECTURE.md "Portability rules": a distributed PostgreSQL such as Citus propagates DDL
// statement by statement, and some poolers and proxies refuse multi-statement strings). Semicolons
// inside quoted identifiers, string literals, dollar-quoted bodies and comments do not split.
// Bounded: one pass over the text.

export function splitStatements(script: string): string[] {
  const out: string[] = [];
  let start = 0;
  let i = 0;
  const n = script.length;
  const push = (end: number) => {
    const s = script.slice(start, end).trim();
    if (s && !/^(--[^\n]*\n?\s*)*$/.test(s)) out.push(s);
  };
  while (i < n) {
    const ch = script[i]!;
    if (ch === "'" || ch === '"') {
      const close = script.indexOf(ch, i + 1);
      // A doubled quote ('' or "") inside continues the same literal: the next search starts after it.
      i = close < 0 ? n : close + 1;
      continue;
    }
    if (ch === '-' && script[i + 1] === '-') {
      const nl = script.indexOf('\n', i);
      i = nl < 0 ? n : nl + 1;
      continue;
    }
    if (ch === '/' && script[i + 1] === '*') {
      const close = script.indexOf('*/', i + 2);
      i = close < 0 ? n : close + 2;
      continue;
    }
    if (ch === '$') {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i, i + 64));
      if (m) {
        const close = script.indexOf(m[0], i + m[0].length);
        i = close < 0 ? n : close + m[0].length;
        continue;
      }
    }
    if (ch === ';') {
      push(i);
      start = i + 1;
    }
    i++;
  }
  push(n);
  return out;
}
