// The second example, examples/saas (issue 14.5): shaped unlike the shop (text keys, MRR, orders
// without a type column in several currencies, NPS and CSAT in one table, spend by channel, orphan
// and future-dated rows). Every definition validates against the live catalog with no error and
// previews, on PGlite and PostgreSQL; its compiled SQL is golden (test/saas/expected.sql,
// UPDATE_GOLDEN=1 rewrites it); a few figures are checked against hand-written SQL.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, analyzeLive } from '../engine/src/index.js';
import { preview, type KpiPreview, type ValuesPreview } from '../engine/src/preview/preview.js';
import { SAAS_ANCHOR, generateSaas, loadSaas } from '../examples/saas/generate.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';

const DIR = join(import.meta.dirname, '..', 'examples', 'saas');
const GOLDEN = join(import.meta.dirname, 'saas', 'expected.sql');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const T = SAAS_ANCHOR;
const OPTS = { accounts: 600 };

describe('examples/saas data', () => {
  it('is deterministic and has the shapes the example is about', () => {
    const a = generateSaas(OPTS);
    assert.deepEqual(generateSaas(OPTS).orders.slice(0, 50), a.orders.slice(0, 50));
    const end = T.getTime() / 1000;
    assert.ok(a.accounts.some((x) => x.created_at > end), 'accounts created after the anchor');
    assert.ok(a.activity.some((x) => x.at > end), 'future-dated activity');
    assert.ok(a.activity.some((x) => x.account_id.startsWith('acc_ghost')), 'orphan keys');
    assert.ok(new Set(a.orders.map((o) => o.currency)).size >= 4, 'several currencies, and none');
    assert.ok(a.surveys.some((s) => s.kind === 'csat' && s.score === null) && a.surveys.some((s) => s.kind === 'csat' && s.score === 0));
    assert.ok(a.accounts.some((x) => x.mrr === null) && a.accounts.some((x) => x.channel === null));
  });
});

describe('examples/saas compiled SQL (golden)', () => {
  it('compiles every definition as test/saas/expected.sql says', () => {
    const project = Project.load(DIR);
    const a = project.analyze({ now: T });
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file} ${d.code} ${d.message}`), []);
    const parts: string[] = [];
    for (const info of [...a.infos].sort((x, y) => `${x.def.kind}:${x.def.name}`.localeCompare(`${y.def.kind}:${y.def.name}`))) {
      const q = a.sqlFor(info.def.kind, info.def.name, { asOf: { kind: 'instant', at: T }, literals: 'inline' });
      if (q) parts.push(`-- ${info.def.kind} ${info.def.name}${q.strategy ? ` (${q.strategy})` : ''}\n${q.sql};\n`);
    }
    const sql = parts.join('\n');
    if (UPDATE) writeFileSync(GOLDEN, sql);
    else {
      assert.ok(existsSync(GOLDEN), 'no test/saas/expected.sql (UPDATE_GOLDEN=1 to create it)');
      assert.equal(sql, readFileSync(GOLDEN, 'utf8'), 'compiled SQL differs (UPDATE_GOLDEN=1 to accept)');
    }
  });
});

forEachBackend('examples/saas', (backend) => {
  let tdb: TestDb | undefined;
  before(async function () {
    this.timeout(180_000);
    tdb = await createTestDb(backend);
    await loadSaas(tdb.db, OPTS);
  });
  after(async () => {
    await tdb?.drop();
  });

  it('validates against the live catalog and previews every definition', async function () {
    this.timeout(180_000);
    const project = Project.load(DIR);
    const { analysis } = await analyzeLive(tdb!.db, project, { now: T });
    assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file} ${d.code} ${d.message}`), []);
    const kinds = { Segment: 'segment', Trait: 'trait', Score: 'score', Kpi: 'kpi' } as const;
    let previewed = 0;
    for (const [kind, pk] of Object.entries(kinds)) {
      for (const info of analysis.ofKind(kind as keyof typeof kinds)) {
        const p = await preview(tdb!.db, analysis, pk, info.def.name, { asOf: T, sampleSize: 3, timeoutMs: 60_000 });
        previewed++;
        if (pk === 'kpi') {
          const k = p as KpiPreview;
          assert.ok(k.value !== null && Number.isFinite(Number(k.value)), `${info.def.name}: ${k.value}`);
          if (info.def.kind === 'Kpi' && (info.def as { breakdown?: unknown }).breakdown) assert.ok((k.groups ?? []).length >= 2, `${info.def.name} groups`);
        } else if (pk === 'trait' || pk === 'score') assert.ok((p as ValuesPreview).count > 0, info.def.name);
      }
    }
    assert.ok(previewed >= 20, `previewed ${previewed}`);
  });

  it('CSAT and spend match hand-written SQL', async () => {
    const project = Project.load(DIR);
    const { analysis } = await analyzeLive(tdb!.db, project, { now: T });
    const at = T.toISOString();
    const hand = await tdb!.db.query<{ csat: unknown; spend: unknown }>(
      `select (select avg(case when s.score >= 4 then 1.0 else 0.0 end) from surveys s join accounts a on a.id = s.account_id and a.created_at <= $1::timestamptz
                where s.kind = 'csat' and s.answered_at > $1::timestamptz - interval '30 days' and s.answered_at <= $1::timestamptz and s.score between 1 and 5)::float8 as csat,
              (select sum(c.amount * case when c.currency = 'EUR' then 1 else (select r.rate from fx_rates r where r.currency = c.currency and r.day <= c.spent_on order by r.day desc limit 1) end)
                 from marketing_costs c where c.spent_on > $1::timestamptz - interval '30 days' and c.spent_on <= $1::timestamptz)::float8 as spend`,
      [at],
    );
    for (const [name, want] of [['csat_30d', hand.rows[0]!.csat], ['spend_30d', hand.rows[0]!.spend]] as const) {
      const p = (await preview(tdb!.db, analysis, 'kpi', name, { asOf: T, sampleSize: 0, timeoutMs: 60_000 })) as KpiPreview;
      assert.ok(Math.abs(Number(p.value) - Number(want)) < 1e-6 * Math.max(1, Number(want)), `${name}: engine ${p.value} hand ${String(want)}`);
    }
  });
});
