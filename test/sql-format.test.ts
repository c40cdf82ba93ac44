// formatSql: line breaks for people, and nothing else: on every query of the example project the
// formatted text equals the compact one up to whitespace, and runs to the same rows.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { CANONICAL_SQL, Project, formatSql } from '../engine/src/index.js';

describe('formatSql', () => {
  it('breaks clauses, conditions and select lists of a query at its own depth only', () => {
    const sql =
      'select "e"."id" as key, count(*) filter (where "ev"."t" = $1 and "ev"."u" > 2) as "a1" from "customers" as "e" where ("e"."x" between 1 and 2) and extract(epoch from now()) > 0 and exists (select 1 from "events" as ev where "ev"."k" = "e"."id" and "ev"."n" = \'a and b from c\')';
    assert.equal(
      formatSql(sql),
      [
        'select "e"."id" as key,',
        '  count(*) filter (where "ev"."t" = $1 and "ev"."u" > 2) as "a1"',
        'from "customers" as "e"',
        'where ("e"."x" between 1 and 2)',
        '  and extract(epoch from now()) > 0',
        '  and exists (',
        '  select 1',
        '  from "events" as ev',
        '  where "ev"."k" = "e"."id"',
        '    and "ev"."n" = \'a and b from c\')',
      ].join('\n'),
    );
  });

  it('changes only whitespace on every query of examples/shop', () => {
    const analysis = Project.load(join(import.meta.dirname, '..', 'examples', 'shop')).analyze();
    const collapse = (s: string) => s.replace(/\s+/g, ' ').replace(/\( /g, '(');
    let n = 0;
    for (const info of analysis.infos) {
      const q = analysis.sqlFor(info.def.kind, info.def.name, { ...CANONICAL_SQL, strategy: 'auto' });
      if (!q) continue;
      n++;
      assert.equal(collapse(formatSql(q.sql)), collapse(q.sql), `${info.def.kind} ${info.def.name}`);
    }
    assert.ok(n > 40, `${n} queries`);
  });

  it('returns text with an unbalanced quote unchanged', () => {
    assert.equal(formatSql("select 'oops from x"), "select 'oops from x");
  });
});
