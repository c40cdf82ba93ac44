// The SQL dialect (engine/src/sql/dialect.ts): each PostgreSQL fragment for a few inputs, hand
// quoting of odd identifiers and literals (quotes, unicode, backslashes), the same text run on the
// server, and the invariant that the IR carries no SQL text.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import pg from 'pg';
import { sql } from 'kysely';
import { postgres, type Dialect } from '../engine/src/sql/dialect.js';
import { compileRaw } from '../engine/src/sql/kysely.js';
import { Project } from '../engine/src/index.js';
import type { IrDuration } from '../engine/src/ir/ir.js';
import { PG_URL, postgresReachable } from './helpers/databases.js';
import { REPO } from './helpers/shop.js';

const text = (q: ReturnType<typeof sql>, d: Dialect = postgres) => compileRaw(q, d).sql;
const dur = (count: number, unit: IrDuration['unit']): IrDuration => ({ count, unit, ms: 0 });

describe('sql/dialect: postgres', () => {
  it('writes intervals and the clock from dialect-free durations', () => {
    assert.equal(text(postgres.interval(dur(90, 'days'))), `'90 days'::interval`);
    assert.equal(text(postgres.interval(dur(1, 'weeks'))), `'1 weeks'::interval`);
    assert.equal(text(postgres.interval(dur(0, 'seconds'))), `'0 seconds'::interval`);
    assert.equal(text(postgres.interval(dur(0.125, 'days'))), `'0.125 days'::interval`);
    assert.equal(text(postgres.nowMinus(dur(36, 'hours'))), `(now() - '36 hours'::interval)`);
    assert.equal(text(postgres.now), 'now()');
    assert.equal(text(postgres.timestamp(sql.val('2026-11-01T00:00:00.000Z'))), '$1::timestamptz');
    assert.equal(text(postgres.timestamp(sql.lit('2026-11-01T00:00:00.000Z'))), `'2026-11-01T00:00:00.000Z'::timestamptz`);
    assert.equal(text(postgres.daysBetween(sql`a`, sql`b`)), '(extract(epoch from (b - a)) / 86400.0)');
  });

  it('writes JSON access, casts, text tests, distinct on, first-by-order and boolean aggregates, JSON aggregation and CTEs', () => {
    assert.equal(text(postgres.jsonText(sql.id('ev', 'properties'), "it's")), `("ev"."properties" ->> 'it''s')`);
    assert.equal(text(postgres.cast(postgres.jsonText(sql.id('p'), 'amount'), 'numeric')), `("p" ->> 'amount')::numeric`);
    for (const t of ['numeric', 'boolean', 'timestamptz', 'float8', 'text', 'int', 'bigint'] as const) assert.equal(text(postgres.cast(sql`x`, t)), `x::${t}`);
    assert.equal(text(postgres.contains(sql`a`, sql.lit('50%_off'))), `strpos(a, '50%_off') > 0`);
    assert.equal(text(postgres.startsWith(sql`a`, sql.val('x'))), 'starts_with(a, $1)');
    assert.equal(text(postgres.distinctOn(sql.join([sql`a`, sql`b`]))), 'distinct on (a, b)');
    assert.equal(text(postgres.firstOf(sql`v`, sql`t`, true, sql` filter (where ok)`)), '(array_agg(v order by t desc) filter (where ok))[1]');
    assert.equal(text(postgres.firstOf(sql`v`, sql`t`, false, sql``)), '(array_agg(v order by t asc))[1]');
    assert.equal(text(postgres.jsonObjectAgg(sql`k`, sql`n`)), `coalesce(json_object_agg(k, n), '{}')`);
    assert.equal(text(postgres.boolOr(sql`a > b`)), 'bool_or(a > b)');
    assert.equal(text(sql`with ${postgres.materializedCte('m', sql`select 1`)} select * from m`), 'with m as materialized (select 1) select * from m');
  });

  it('quotes identifiers and literals by hand as its Kysely does', () => {
    const names = ['plain', 'MixedCase', 'with "quotes"', '"', '', 'ünïcødé 名前 🙂', 'back\\slash', "it's"];
    for (const n of names) {
      assert.equal(postgres.quoteIdent(n), text(sql.id(n)), n);
      assert.equal(postgres.quoteLiteral(n), text(sql.lit(n)), n);
    }
    assert.equal(postgres.quoteIdent('with "quotes"'), '"with ""quotes"""');
    assert.equal(postgres.quoteIdent('ünïcødé'), '"ünïcødé"');
    assert.equal(postgres.quoteLiteral("it's"), "'it''s'");
    assert.equal(postgres.quoteLiteral('back\\slash'), "'back\\slash'");
  });

  it('PostgreSQL reads its fragments back: odd identifiers, literals, intervals, JSON, text tests', async function () {
    if (!(await postgresReachable())) return this.skip();
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      const odd = ['with "quotes"', 'ünïcødé 名前 🙂', "it's", 'back\\slash'];
      for (const n of odd) {
        const r = await c.query(`select ${postgres.quoteLiteral(n)} as ${postgres.quoteIdent(n)}`);
        assert.equal(r.fields[0]!.name, n);
        assert.equal(r.rows[0][n], n);
      }
      const props = sql`${sql.lit('{"plan": "pro", "n": "2.5", "ok": "true"}')}::jsonb`;
      const q = compileRaw(
        sql`select ${postgres.nowMinus(dur(90, 'days'))} < now() as before, ${postgres.interval(dur(2, 'weeks'))} = interval '14 days' as weeks,
          ${postgres.jsonText(props, 'plan')} as plan, ${postgres.cast(postgres.jsonText(props, 'n'), 'numeric')} + 1 as n,
          ${postgres.contains(sql.lit('a 50%_off b'), sql.lit('%_'))} as c1, ${postgres.contains(sql.lit('abc'), sql.lit('%'))} as c2,
          ${postgres.startsWith(sql.lit('abc'), sql.lit('a_'))} as s1, ${postgres.startsWith(sql.lit('abc'), sql.lit('ab'))} as s2,
          ${postgres.daysBetween(sql`'2026-01-01T00:00:00Z'::timestamptz`, sql`'2026-01-02T12:00:00Z'::timestamptz`)} as days`,
      );
      const [row] = (await c.query(q.sql, q.parameters as unknown[])).rows;
      assert.deepEqual({ ...row, n: Number(row.n), days: Number(row.days) }, { before: true, weeks: true, plan: 'pro', n: 3.5, c1: true, c2: false, s1: false, s2: true, days: 1.5 });
    } finally {
      await c.end();
    }
  });
});

describe('the IR carries no SQL text', () => {
  it('no interval text, casts or operators in any resolved definition of the example shop', async () => {
    const project = await Project.load(join(REPO, 'examples', 'shop'));
    const analysis = project.analyze({ now: new Date('2026-11-01T00:00:00Z') });
    let durations = 0;
    const walk = (v: unknown, path: string): void => {
      if (typeof v === 'string') {
        assert.doesNotMatch(v, /::|->>|\binterval\b|^\d+(\.\d+)? (seconds|minutes|hours|days|weeks)$/, `${path}: ${v}`);
        return;
      }
      if (!v || typeof v !== 'object') return;
      if ('unit' in v && 'count' in v) durations++;
      assert.ok(!('interval' in v), `${path} has an interval field`);
      for (const [k, c] of Object.entries(v)) walk(c, `${path}.${k}`);
    };
    for (const i of analysis.infos) {
      walk(i.resolved.query, `${i.def.kind}:${i.def.name}`);
      walk(i.resolved.campaign, `${i.def.kind}:${i.def.name}`);
    }
    assert.ok(durations > 10, `durations seen: ${durations}`);
  });
});
