// Series (`tally series`, issue 15.1): a definition's figures per period, each evaluated as of the
// period's end, in one statement. Every point must equal the single-instant preview at its `at`
//  - for every KPI of the example shop, a segment, the lifecycle and the RFM score;
//  - on the generated correctness data (NULLs, ties, orphan keys, entities created after T, a
//    zero denominator) for each KPI metric form, a breakdown, a segment, a lifecycle and banded
//    and quantile scores, in a project with a daylight-saving time zone (Europe/Berlin): daily
//    periods across both 2026 changes (a 23- and a 25-hour day), month ends, period ends before
//    any data;
// on PGlite and PostgreSQL. Plus: the argument diagnostics (stable codes, never a throw), the
// periods' ends, the one statement per series and its plan (events read once per period, never
// per row), the pace line and the renderings (text, CSV, the CLI's JSON).

import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project, computeSeries, seriesCsv, seriesText, type Analysis, type SeriesKind, type SeriesResult } from '../engine/src/index.js';
import { preview, type KpiPreview, type LifecyclePreview, type SegmentPreview, type ValuesPreview } from '../engine/src/preview/preview.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import type { Db } from '../engine/src/db/db.js';
import { DEFAULT_ANCHOR } from '../examples/shop/generate.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { explainJson, type PlanNode } from './helpers/explain-shape.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';
import { SHOP, shopDb, type ShopDb } from './helpers/shop.js';
import { runTally } from './helpers/cli.js';
import { T, generateData, loadData } from './oracle/data.js';

const close = (a: number | null | undefined, b: number | null | undefined, what: string) => {
  if (a === null || a === undefined || b === null || b === undefined) return assert.equal(a ?? null, b ?? null, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} != ${b}`);
};

/** Every point of `r` against the preview as of its `at` (value, and per kind its groups, pace, status). */
async function assertEqualsPreviews(db: Db, analysis: Analysis, r: SeriesResult): Promise<void> {
  assert.ok(r.points.length > 0, `${r.kind} ${r.name}: no points`);
  for (const p of r.points) {
    const what = `${r.kind} ${r.name} at ${p.at}`;
    const pv = await preview(db, analysis, r.kind, r.name, { asOf: new Date(p.at), sampleSize: 0 });
    if (pv.kind === 'kpi') {
      const k = pv as KpiPreview;
      close(p.value, k.value, what);
      close(p.pace, k.expected, `${what} pace`);
      assert.equal(p.status, k.status, `${what} status`);
      if (k.groups) {
        assert.deepEqual(Object.keys(p.groups ?? {}), k.groups.map((g) => g.group), `${what} groups`);
        for (const g of k.groups) close(p.groups![g.group], g.value, `${what} group ${g.group}`);
      }
    } else if (pv.kind === 'segment') assert.equal(p.value, (pv as SegmentPreview).count, what);
    else if (pv.kind === 'lifecycle') {
      assert.equal(p.value, (pv as LifecyclePreview).total, what);
      assert.deepEqual(p.groups, (pv as LifecyclePreview).stages, what);
    } else if (pv.kind === 'score') {
      assert.equal(p.value, (pv as ValuesPreview).count, what);
      assert.deepEqual(p.groups, (pv as ValuesPreview).bands, what);
    } else assert.fail(`unexpected preview ${pv.kind}`);
  }
}

/** The hoisted CTEs of a series statement (between the periods and the main select) never mention T, the periods' column. */
function assertHoistedFree(statement: string): void {
  const head = statement.slice(0, statement.indexOf(' select __tally_periods.start as __tally_start'));
  const hoisted = head.slice(head.indexOf(', __tally_h1 as materialized'));
  assert.ok(head.startsWith('with __tally_periods as ('), 'the statement starts with the periods');
  assert.ok(!hoisted.includes('__tally_periods'), `a hoisted CTE mentions T: ${hoisted}`);
}

async function series(db: Db, analysis: Analysis, kind: SeriesKind, name: string, from: string, to: string, every: 'day' | 'week' | 'month'): Promise<SeriesResult> {
  const out = await computeSeries(db, analysis, { kind, name, from, to, every });
  assert.deepEqual(out.diagnostics, [], `${kind} ${name}`);
  return out.result!;
}

// ---- the example shop ------------------------------------------------------------------------------

forEachBackend('series: the example shop equals its previews', (backend) => {
  let shop: ShopDb | undefined;
  let tmp: string;
  let analysis: Analysis;
  before(async function () {
    this.timeout(300_000);
    tmp = mkdtempSync(join(tmpdir(), 'tally-series-shop-'));
    shop = await shopDb(backend, tmp, 200);
    analysis = Project.load(SHOP).analyze({ now: DEFAULT_ANCHOR });
  });
  after(async () => {
    await shop?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('every KPI, monthly over the data and past the anchor', async function () {
    this.timeout(600_000);
    const kpis = analysis.ofKind('Kpi').map((i) => i.def.name);
    assert.ok(kpis.length >= 15, `${kpis.length} KPIs`);
    await shop!.withDb(async (db) => {
      for (const name of kpis) {
        const r = await series(db, analysis, 'kpi', name, '2026-06-15', '2026-11-20', 'month');
        assert.equal(r.points.length, 6, name);
        assert.equal(r.points[0]!.at, '2026-07-01T00:00:00.000Z');
        assert.equal(r.points[5]!.at, '2026-12-01T00:00:00.000Z');
        await assertEqualsPreviews(db, analysis, r);
      }
    });
  });

  it('segments, the lifecycle and the RFM score, weekly', async function () {
    this.timeout(300_000);
    await shop!.withDb(async (db) => {
      const defs: [SeriesKind, string][] = [
        ...analysis.ofKind('Segment').slice(0, 3).map((i) => ['segment', i.def.name] as [SeriesKind, string]),
        ...analysis.ofKind('Lifecycle').map((i) => ['lifecycle', i.def.name] as [SeriesKind, string]),
        ...analysis.ofKind('Score').map((i) => ['score', i.def.name] as [SeriesKind, string]),
      ];
      assert.ok(defs.some(([k]) => k === 'lifecycle') && defs.some(([k]) => k === 'score'));
      for (const [kind, name] of defs) {
        const r = await series(db, analysis, kind, name, '2026-09-20', '2026-11-05', 'week');
        // Weeks start on Monday: 2026-09-14 (a Monday) to 2026-11-02; 8 weeks, ends on Mondays.
        assert.equal(r.points.length, 8, `${kind} ${name}`);
        assert.equal(r.from, '2026-09-14T00:00:00.000Z');
        assert.equal(r.to, '2026-11-09T00:00:00.000Z');
        await assertEqualsPreviews(db, analysis, r);
      }
    });
  });

  it('the KPI facts beside the series: target, baseline, pace line, direction, owner, funnel stage', async () => {
    await shop!.withDb(async (db) => {
      const r = await series(db, analysis, 'kpi', 'weekly_signups', '2026-10-01', '2026-10-31', 'week');
      assert.deepEqual(r.target, { op: 'gte', value: 400, by: '2027-03-31', due: '2027-04-01T00:00:00.000Z' });
      assert.deepEqual(r.baseline, { value: 188, on: '2026-06-01T00:00:00.000Z' });
      assert.deepEqual(r.pace, { from: { at: '2026-06-01T00:00:00.000Z', value: 188 }, to: { at: '2027-04-01T00:00:00.000Z', value: 400 } });
      assert.equal(r.direction, 1);
      assert.equal(r.format, 'number');
      assert.ok(r.owner && r.funnel);
      // The pace line is linear: at each end, 188 + (400 - 188) * elapsed / (due - baseline).
      const [b, d] = [Date.parse('2026-06-01T00:00:00Z'), Date.parse('2027-04-01T00:00:00Z')];
      for (const p of r.points) close(p.pace, 188 + (212 * (Date.parse(p.at) - b)) / (d - b), `pace at ${p.at}`);
      assert.ok(r.points.every((p) => ['met', 'on_track', 'at_risk', 'missed', 'failed'].includes(p.status!)));
    });
  });

  it('one statement per series; the events are read once per period, never per row', async function () {
    this.timeout(120_000);
    await shop!.withDb(async (db) => {
      let statements = 0;
      const counting: Db = { ...db, query: (...a: Parameters<Db['query']>) => (statements++, db.query(...a)), transaction: (fn, o) => db.transaction((tx) => fn({ ...tx, query: (...a: Parameters<Db['query']>) => (statements++, tx.query(...a)) }), o) } as Db;
      const r = await series(counting, analysis, 'kpi', 'revenue_30d', '2026-01-01', '2026-11-30', 'week');
      assert.equal(statements, 1, 'one statement for 48 weeks');
      assert.equal(r.points.length, 49);
      if (backend !== 'postgres') return;
      const out = await computeSeries(db, analysis, { kind: 'kpi', name: 'revenue_30d', from: '2026-01-01', to: '2026-11-30', every: 'week' });
      const plan = await explainJson(db, out.result!.sql, ['2026-01-01T00:00:00.000Z', '2026-11-30T00:00:00.000Z', 'UTC']);
      const loops: number[] = [];
      let subplans = 0;
      const walk = (n: PlanNode) => {
        if (n['Relation Name'] === 'events') loops.push(n['Actual Loops'] ?? 1);
        if (n['Parent Relationship'] === 'SubPlan' && !/^InitPlan/.test(n['Subplan Name'] ?? '')) subplans++;
        for (const c of n.Plans ?? []) walk(c);
      };
      walk(plan);
      assert.ok(loops.length > 0, 'the plan reads events');
      // At most once per period (49), whatever the number of customers or events.
      assert.ok(loops.every((l) => l <= 49), `events scans looped ${loops.join(', ')}`);
      assert.equal(subplans, 0);
      // Retention: each entity's first cohort event and first return are computed once (a hoisted
      // CTE), not once per period: every events scan runs once.
      const ret = await computeSeries(db, analysis, { kind: 'kpi', name: 'd7_retention', from: '2026-01-01', to: '2026-11-30', every: 'week' });
      assert.match(ret.result!.sql, /__tally_h1 as materialized/);
      const retLoops: number[] = [];
      const walkRet = (n: PlanNode) => {
        if (n['Relation Name'] === 'events') retLoops.push(n['Actual Loops'] ?? 1);
        for (const c of n.Plans ?? []) walkRet(c);
      };
      walkRet(await explainJson(db, ret.result!.sql, ['2026-01-01T00:00:00.000Z', '2026-11-30T00:00:00.000Z', 'UTC']));
      assert.ok(retLoops.length > 0 && retLoops.every((l) => l === 1), `retention events scans looped ${retLoops.join(', ')}`);
      // Funnel conversion: each entity's step times over all events are computed once (a hoisted
      // CTE); per period only that CTE is filtered by T and the funnel window.
      for (const name of ['onboarding_conversion', 'first_purchase_step_conversion']) {
        const conv = await computeSeries(db, analysis, { kind: 'kpi', name, from: '2026-01-01', to: '2026-11-30', every: 'week' });
        assert.match(conv.result!.sql, /__tally_h1 as materialized/);
        assertHoistedFree(conv.result!.sql);
        const convLoops: number[] = [];
        const walkConv = (n: PlanNode) => {
          if (n['Relation Name'] === 'events') convLoops.push(n['Actual Loops'] ?? 1);
          for (const c of n.Plans ?? []) walkConv(c);
        };
        walkConv(await explainJson(db, conv.result!.sql, ['2026-01-01T00:00:00.000Z', '2026-11-30T00:00:00.000Z', 'UTC']));
        assert.ok(convLoops.length > 0 && convLoops.every((l) => l === 1), `${name}: events scans looped ${convLoops.join(', ')}`);
      }
    });
  });

  it('the CLI: text, csv and json', async function () {
    this.timeout(120_000);
    const base = ['series', 'kpi', 'weekly_signups', '--from', '2026-10-01', '--to', '2026-10-20', '--every', 'week', '--project', SHOP, '--db', shop!.url];
    const json = await runTally([...base, '--format', 'json'], { cwd: tmp });
    assert.equal(json.code, 0, json.err);
    const parsed = JSON.parse(json.out) as Omit<SeriesResult, 'sql'> & { database: string };
    // Weeks start on Monday: 2026-09-28, 10-05, 10-12, 10-19.
    assert.equal(parsed.points.length, 4);
    assert.equal(parsed.kind, 'kpi');
    assert.ok(!('sql' in parsed));
    const csv = await runTally([...base, '--format', 'csv'], { cwd: tmp });
    assert.equal(csv.code, 0, csv.err);
    const lines = csv.out.trim().split('\n');
    assert.equal(lines[0], 'start,at,value,pace,status');
    assert.equal(lines.length, 5);
    assert.equal(lines[1]!.split(',')[1], parsed.points[0]!.at);
    const text = await runTally(base, { cwd: tmp });
    assert.equal(text.code, 0, text.err);
    assert.match(text.out, /kpi weekly_signups: 4 weeks from 2026-09-28T00:00:00.000Z to 2026-10-26T00:00:00.000Z/);
    assert.match(text.out, /pace line: 188 at 2026-06-01T00:00:00.000Z to 400 at 2027-04-01T00:00:00.000Z/);
    const bad = await runTally(['series', 'kpi', 'weekly_signup', '--from', '2026-10-01', '--to', '2026-10-20', '--project', SHOP, '--db', shop!.url], { cwd: tmp });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /no kpi named 'weekly_signup'.*weekly_signups.*\[series-not-found\]/s);
  });
});

// ---- golden statements ---------------------------------------------------------------------------

// The one statement of a series, per kind, for definitions of the example shop (UPDATE_GOLDEN=1
// rewrites test/series-golden/expected.sql from what the engine produces now).
describe('series: golden statements', () => {
  it('one statement per kind: the periods, the definition query LATERAL at the period end', async () => {
    const analysis = Project.load(SHOP).analyze({ now: DEFAULT_ANCHOR });
    const fake: Db = {
      kind: 'pglite',
      label: 'golden',
      query: async <R,>() => ({ rows: [] as R[], fields: [] }),
      exec: async () => undefined,
      transaction: <T,>(fn: (tx: Db) => Promise<T>) => fn(fake),
      close: async () => undefined,
    };
    const cases: [SeriesKind, string][] = [['kpi', 'weekly_signups'], ['kpi', 'd7_retention'], ['kpi', 'onboarding_conversion'], ['kpi', 'first_purchase_step_conversion'], ['kpi', 'revenue_by_country'], ['segment', 'high_value_dormant'], ['lifecycle', 'customer_lifecycle'], ['score', 'rfm']];
    const parts: string[] = [];
    for (const [kind, name] of cases) {
      const out = await computeSeries(fake, analysis, { kind, name, from: '2026-01-01', to: '2026-03-31', every: 'month' });
      assert.deepEqual(out.diagnostics, [], `${kind} ${name}`);
      assert.deepEqual(out.result!.points, [], 'no rows: no points');
      assertHoistedFree(out.result!.sql);
      parts.push(`-- ${kind} ${name}\n${out.result!.sql};\n`);
    }
    const text = parts.join('\n');
    const file = join(import.meta.dirname, 'series-golden', 'expected.sql');
    if (process.env.UPDATE_GOLDEN === '1' || !existsSync(file)) {
      mkdirSync(join(import.meta.dirname, 'series-golden'), { recursive: true });
      writeFileSync(file, text);
    }
    assert.equal(text, readFileSync(file, 'utf8'));
    assert.match(text, /^-- kpi weekly_signups\nwith __tally_periods as \(select \(__tally_g\.s at time zone \$3::text\) as start, \(\(__tally_g\.s \+ '1 month'::interval\) at time zone \$3::text\) as at from generate_series\(date_trunc\('month'/);
  });
});

// ---- the generated data, in a time zone with daylight saving -------------------------------------

const DATA = generateData();
const TALLY = `tally: 1\nname: series\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: Europe/Berlin\n`;
const MODEL = model({
  attributes: { id: 'number', signed_up_at: SIGNED_UP_AT, created_at: 'timestamp', email: 'string', country: 'string', plan: 'string', score_hint: 'number', vip: 'boolean' },
  propertyTypes: 'amount: number, score: number',
});
const docs = (...xs: string[]) => xs.join('---\n');
const trait = (name: string, compute: string) => `kind: Trait\nname: ${name}\nversion: 1\ntype: number\ncompute: ${compute}\n`;
const FORMS: Record<string, string> = {
  count: '{ count: { event: purchase, within: 90d } }',
  count_attribute: '{ count: { attribute: country, eq: DE } }',
  events: '{ events: { event: login, within: 30d } }',
  sum: '{ sum: { property: amount, event: purchase, within: 90d } }',
  avg: '{ avg: { property: amount, event: purchase, within: 90d } }',
  active: '{ active: { event: login, within: 30d } }',
  ratio_zero: '{ ratio: { numerator: { events: { event: purchase, within: 7d } }, denominator: { active: { event: signup, within: 5d } } } }',
  retention: '{ retention: { cohort: { event: signup, within: 120d }, return: { event: login }, days: 7 } }',
  churn: '{ churn: { event: login, within: 30d } }',
  nps: '{ nps: { event: survey, property: score, within: 90d } }',
  count_distinct: '{ count_distinct: { property: amount, event: purchase, within: 90d } }',
  attribute_retention: '{ retention: { cohort: { attribute: signed_up_at, within: 90d }, return: { event: login }, days: 14 } }',
  conversion: '{ conversion: { funnel: windows } }',
  conversion_step: '{ conversion: { funnel: windows, from: l, to: r } }',
};
const kpi = (name: string, metric: string, extra = '') =>
  `kind: Kpi\nname: ${name}\nversion: 1\nowner: growth\ndescription: test kpi\nfunnel: retention\nmetric: ${metric}\ntarget: { gte: 1, by: 2026-09-30, baseline: { value: 0.5, on: 2026-03-01 } }\n${extra}`;
const DEFS = docs(
  trait('ltv', '{ event: purchase, sum: amount }'),
  trait('purchases_90d', '{ event: purchase, within: 90d }'),
  trait('sessions_30d', '{ event: login, within: 30d }'),
  trait('days_since_login', '{ event: login, days_since: last }'),
  `kind: Score
name: health
version: 1
components:
  - { trait: sessions_30d, weight: 0.3, from: 0, to: 6 }
  - { trait: days_since_login, weight: 0.3, from: 60, to: 0 }
  - { trait: purchases_90d, weight: 0.25, from: 0, to: 3 }
  - { trait: ltv, weight: 0.15, from: 0, to: 500 }
bands:
  - { name: healthy, gte: 60 }
  - { name: neutral, gt: 30 }
`,
  `kind: Lifecycle
name: lc
version: 1
stages:
  - { name: new, where: { attribute: signed_up_at, within: 7d } }
  - { name: churned, where: { not: { stream: events, within: 90d } } }
  - { name: dormant, where: { not: { stream: events, within: 30d } } }
  - { name: active }
`,
  'kind: Segment\nname: big\nversion: 1\nwhere: { trait: ltv, gte: 200 }\n',
  `kind: Funnel\nname: windows\nversion: 1\nwithin: 30d\nsteps:\n  - { name: s, event: signup }\n  - { name: l, event: login, within: 7d }\n  - { name: p, event: purchase, within: 14d, where: [{ property: amount, gte: 50 }] }\n  - { name: r, event: purchase, within: 30d }\n`,
  ...Object.entries(FORMS).map(([n, m]) => kpi(`k_${n}`, m)),
  kpi('k_sum_by_country', FORMS.sum!, 'breakdown: { attribute: country }\n'),
  kpi('k_active_by_stage', FORMS.active!, 'breakdown: { lifecycle: lc }\n'),
);

forEachBackend('series: each form on generated data equals its previews (Europe/Berlin)', (backend) => {
  let tdb: TestDb | undefined;
  let analysis: Analysis;
  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await loadData(tdb.db, DATA);
    const p = new Project('/virtual/series', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/defs.yaml', DEFS);
    const catalog = await loadCatalog(tdb.db, p.analyze({ now: T }).definitions);
    analysis = p.analyze({ now: T, catalog });
    assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`), []);
  });
  after(async () => {
    await tdb?.drop();
  });

  for (const name of [...Object.keys(FORMS).map((n) => `k_${n}`), 'k_sum_by_country', 'k_active_by_stage']) {
    it(`${name}: weekly around T and monthly across month ends`, async function () {
      this.timeout(120_000);
      const w = await series(tdb!.db, analysis, 'kpi', name, '2026-05-10', '2026-06-20', 'week');
      assert.equal(w.points.length, 7);
      assertHoistedFree(w.sql);
      if (/^k_(retention|conversion)/.test(name)) assert.match(w.sql, /__tally_h1 as materialized/, `${name}: hoisted`);
      await assertEqualsPreviews(tdb!.db, analysis, w);
      const m = await series(tdb!.db, analysis, 'kpi', name, '2026-01-31', '2026-07-01', 'month');
      // Month ends are local midnights on the 1st: 01:00Z in winter (CET), 00:00Z... 22:00Z the day before in summer (CEST).
      assert.deepEqual(m.points.map((p) => p.at), ['2026-01-31T23:00:00.000Z', '2026-02-28T23:00:00.000Z', '2026-03-31T22:00:00.000Z', '2026-04-30T22:00:00.000Z', '2026-05-31T22:00:00.000Z', '2026-06-30T22:00:00.000Z', '2026-07-31T22:00:00.000Z']);
      await assertEqualsPreviews(tdb!.db, analysis, m);
      // The points differ from one another: each period is evaluated at its own end.
      const distinct = new Set([...w.points, ...m.points].map((p) => p.value));
      assert.ok(distinct.size >= 3, `${name}: only ${[...distinct].join(', ')}`);
    });
  }

  it('segment, lifecycle and score, daily across both daylight-saving changes', async function () {
    this.timeout(300_000);
    for (const [kind, name] of [['segment', 'big'], ['lifecycle', 'lc'], ['score', 'health']] as [SeriesKind, string][]) {
      const spring = await series(tdb!.db, analysis, kind, name, '2026-03-28', '2026-03-30', 'day');
      // 2026-03-29 is 23 hours long in Berlin, 2026-10-25 25 hours.
      assert.deepEqual(spring.points.map((p) => [p.start, p.at]), [
        ['2026-03-27T23:00:00.000Z', '2026-03-28T23:00:00.000Z'],
        ['2026-03-28T23:00:00.000Z', '2026-03-29T22:00:00.000Z'],
        ['2026-03-29T22:00:00.000Z', '2026-03-30T22:00:00.000Z'],
      ]);
      await assertEqualsPreviews(tdb!.db, analysis, spring);
      const autumn = await series(tdb!.db, analysis, kind, name, '2026-10-24', '2026-10-26', 'day');
      assert.deepEqual(autumn.points.map((p) => Date.parse(p.at) - Date.parse(p.start)), [24, 25, 24].map((h) => h * 3_600_000));
      await assertEqualsPreviews(tdb!.db, analysis, autumn);
      const weekly = await series(tdb!.db, analysis, kind, name, '2026-04-20', '2026-06-03', 'week');
      await assertEqualsPreviews(tdb!.db, analysis, weekly);
    }
  });

  it('period ends before any data: zeros and nulls, like the previews', async function () {
    this.timeout(60_000);
    for (const [kind, name] of [['kpi', 'k_sum'], ['kpi', 'k_ratio_zero'], ['kpi', 'k_sum_by_country'], ['segment', 'big'], ['lifecycle', 'lc'], ['score', 'health']] as [SeriesKind, string][]) {
      const r = await series(tdb!.db, analysis, kind, name, '2001-01-01', '2001-01-02', 'day');
      assert.equal(r.points.length, 2);
      await assertEqualsPreviews(tdb!.db, analysis, r);
    }
  });

  it('one period: --from equals --to', async () => {
    const r = await series(tdb!.db, analysis, 'kpi', 'k_count', '2026-05-05', '2026-05-05', 'month');
    assert.deepEqual(r.points.map((p) => [p.start, p.at]), [['2026-04-30T22:00:00.000Z', '2026-05-31T22:00:00.000Z']]);
  });

  it('bad requests are diagnostics with stable codes, never throws', async () => {
    const codes = async (req: Partial<Parameters<typeof computeSeries>[2]>) => {
      const out = await computeSeries(tdb!.db, analysis, { kind: 'kpi', name: 'k_count', from: '2026-01-01', to: '2026-02-01', every: 'week', ...req });
      assert.equal(out.result, undefined);
      return out.diagnostics.map((d) => d.code);
    };
    assert.deepEqual(await codes({ from: '2026-03-01', to: '2026-02-01' }), ['series-range']);
    assert.deepEqual(await codes({ from: '2026-02-30' }), ['series-bad-date']);
    assert.deepEqual(await codes({ to: 'yesterday' }), ['series-bad-date']);
    assert.deepEqual(await codes({ every: 'year' as 'day' }), ['series-every']);
    assert.deepEqual(await codes({ from: '2000-01-01', every: 'day' }), ['series-too-long']);
    assert.deepEqual(await codes({ name: 'k_cont' }), ['series-not-found']);
    assert.deepEqual(await codes({ kind: 'cohort' as 'kpi' }), ['series-kind']);
    const nf = await computeSeries(tdb!.db, analysis, { kind: 'segment', name: 'bigg', from: '2026-01-01', to: '2026-02-01', every: 'week' });
    assert.match(nf.diagnostics[0]!.message, /did you mean 'big'/);
  });

  it('text and CSV renderings', async () => {
    const r = await series(tdb!.db, analysis, 'lifecycle', 'lc', '2026-05-25', '2026-06-07', 'week');
    const text = seriesText(r);
    assert.match(text, /^lifecycle lc: 2 weeks from 2026-05-24T22:00:00.000Z to 2026-06-07T22:00:00.000Z \(periods in Europe\/Berlin; each evaluated as of its end\)/);
    assert.match(text, /period +as of \(end\) +entities +new +churned +dormant +active/);
    assert.match(text, /2026-05-25 +2026-05-31T22:00:00.000Z/);
    const csv = seriesCsv(r).trim().split('\n');
    assert.equal(csv[0], 'start,at,value,new,churned,dormant,active');
    const [start, at, value, ...stages] = csv[1]!.split(',');
    assert.deepEqual([start, at, Number(value)], [r.points[0]!.start, r.points[0]!.at, r.points[0]!.value]);
    assert.deepEqual(stages.map(Number), ['new', 'churned', 'dormant', 'active'].map((s) => r.points[0]!.groups![s]));
  });
});
