// `tally review`'s data (review/build.ts) on the example shop, on PGlite and PostgreSQL, against
// independent evaluations:
//  - every KPI's last point (value, pace line, status) equals `preview kpi` as of the review's
//    instant; the change since the last review is the last point minus the one before;
//  - KPIs are grouped by their `funnel:` stage in AARRR order; the review's instant is the end of
//    the last complete period (a period ending after the as-of is left out);
//  - the lifecycle's last point equals `preview lifecycle`; its transitions between two recorded
//    snapshot days equal a recount from the lifecycle's values at both days (a JS join of two
//    value queries), and with fewer than two snapshot days there are none;
//  - cohorts and funnels are their previews at the review's instant; deploys are filtered to the
//    review's range; campaigns without enrollments are a note.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project, type Analysis } from '../engine/src/index.js';
import { buildReview } from '../engine/src/review/build.js';
import { preview, type KpiPreview, type LifecyclePreview } from '../engine/src/preview/preview.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { snapshotLifecycles } from '../engine/src/deploy/snapshot.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { SHOP } from './helpers/shop.js';
import { runTally } from './helpers/cli.js';
import { REVIEW_STAGES, type ReviewData } from '../engine/src/protocol.js';

const close = (a: number | null, b: number | null, what: string) => {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b)), `${what}: ${a} != ${b}`);
};

forEachBackend('review: the data of the example shop against independent evaluations', (backend) => {
  let db: Db;
  let t: TestDb | undefined;
  let tmp = '';
  let analysis: Analysis;
  let project: Project;
  let review: ReviewData;
  const asOf = DEFAULT_ANCHOR; // 2026-11-01, a Sunday: the week ending 2026-11-02 is not over

  before(async function () {
    this.timeout(600_000);
    tmp = mkdtempSync(join(tmpdir(), 'tally-review-'));
    if (backend === 'pglite') db = await connect('pglite:memory', { baseDir: tmp });
    else {
      t = await createTestDb('postgres');
      db = t.db;
    }
    await loadShop(db, { customers: 300, anchor: DEFAULT_ANCHOR });
    project = Project.load(SHOP);
    const catalog = await loadCatalog(db, project.analyze({}).definitions);
    analysis = project.analyze({ catalog, now: asOf });
    await deploy(db, analysis, { schema: project.config.deploySchema, catalog });
    for (const day of ['2026-09-21', '2026-10-19']) await snapshotLifecycles(db, project, { schema: project.config.deploySchema, asOf: new Date(`${day}T00:00:00Z`), catalog });
    review = await buildReview(db, analysis, { asOf, every: 'week' });
  });
  after(async () => {
    if (t) await t.drop();
    else await db?.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ends at the last complete period and covers 12 weeks before it', () => {
    assert.equal(review.as_of, '2026-10-26T00:00:00.000Z');
    assert.equal(review.to, review.as_of);
    assert.equal(review.every, 'week');
    // --to defaults to the as-of day (2026-10-31), --from to 12 weeks earlier (2026-08-08, in the week of Monday 2026-08-03)
    assert.equal(review.from, '2026-08-03T00:00:00.000Z');
    for (const s of review.stages) for (const k of s.kpis) assert.equal(k.points.length, 12, k.name);
  });

  it('groups every KPI by its funnel stage, in AARRR order', () => {
    const order = review.stages.map((s) => s.stage);
    assert.deepEqual(order, REVIEW_STAGES.filter((s) => order.includes(s)));
    const kpis = analysis.ofKind('Kpi');
    assert.equal(review.stages.reduce((n, s) => n + s.kpis.length, 0), kpis.length);
    for (const s of review.stages) for (const k of s.kpis) assert.equal(k.stage, (kpis.find((i) => i.def.name === k.name)!.def as { funnel?: string }).funnel ?? 'other', k.name);
  });

  it("each KPI's value, pace line and status equal its preview at the review's instant; change = last - previous", async function () {
    this.timeout(300_000);
    for (const s of review.stages) {
      for (const k of s.kpis) {
        const p = (await preview(db, analysis, 'kpi', k.name, { asOf: new Date(review.as_of) })) as KpiPreview;
        close(k.value, p.value, `${k.name} value`);
        close(k.expected, p.expected, `${k.name} pace line`);
        assert.equal(k.status, p.status, `${k.name} status`);
        assert.equal(k.owner, p.owner, `${k.name} owner`);
        const last = k.points[k.points.length - 1]!;
        const prev = k.points[k.points.length - 2]!;
        assert.equal(last.at, review.as_of);
        assert.equal(k.change!.previous_at, prev.at);
        assert.equal(k.change!.delta, last.value === null || prev.value === null ? null : last.value - prev.value, k.name);
        // one earlier point against its preview too
        const q = (await preview(db, analysis, 'kpi', k.name, { asOf: new Date(prev.at) })) as KpiPreview;
        close(prev.value, q.value, `${k.name} at ${prev.at}`);
      }
    }
  });

  it("the lifecycle's stages equal its preview; transitions equal a recount between the two snapshot days", async function () {
    this.timeout(300_000);
    const l = review.lifecycles[0]!;
    const p = (await preview(db, analysis, 'lifecycle', l.name, { asOf: new Date(review.as_of) })) as LifecyclePreview;
    assert.deepEqual(l.points[l.points.length - 1]!.stages, p.stages);
    assert.equal(l.snapshot_days, 2);
    assert.equal(l.transitions!.from_day, '2026-09-21');
    assert.equal(l.transitions!.to_day, '2026-10-19');
    const stageAt = async (day: string) => {
      const c = analysis.sqlFor('Lifecycle', l.name, { asOf: { kind: 'instant', at: new Date(`${day}T00:00:00Z`) }, literals: 'param' })!;
      const r = await db.query<{ key: unknown; value: string | null }>(c.sql, c.parameters);
      return new Map(r.rows.map((x) => [String(x.key), x.value]));
    };
    const a = await stageAt('2026-09-21');
    const b = await stageAt('2026-10-19');
    const moves = new Map<string, number>();
    for (const key of new Set([...a.keys(), ...b.keys()])) {
      const from = a.get(key) ?? null;
      const to = b.get(key) ?? null;
      if (from !== to) moves.set(`${from}>${to}`, (moves.get(`${from}>${to}`) ?? 0) + 1);
    }
    const got = new Map(l.transitions!.moves.map((m) => [`${m.from}>${m.to}`, m.entities]));
    assert.ok(moves.size > 0, 'somebody moved');
    assert.deepEqual(got, moves);
  });

  it('without two snapshot days in the range there are no transitions', async function () {
    this.timeout(300_000);
    const r = await buildReview(db, analysis, { asOf, every: 'week', from: '2026-10-01', to: '2026-10-31' });
    assert.equal(r.lifecycles[0]!.snapshot_days, 1);
    assert.equal(r.lifecycles[0]!.transitions, null);
  });

  it("cohorts and funnels are their previews at the review's instant; campaigns without enrollments are notes; deploys are in range", async function () {
    this.timeout(300_000);
    assert.equal(review.cohorts.length, analysis.ofKind('Cohort').length);
    assert.equal(review.funnels.length, analysis.ofKind('Funnel').length);
    for (const c of review.cohorts) assert.deepEqual(c, await preview(db, analysis, 'cohort', c.name, { asOf: new Date(review.as_of) }));
    for (const f of review.funnels) assert.deepEqual(f, await preview(db, analysis, 'funnel', f.name, { asOf: new Date(review.as_of) }));
    assert.deepEqual(review.campaigns, []);
    assert.ok(review.notes.some((n) => /^campaign \w+: nobody is enrolled/.test(n)), review.notes.join('\n'));
    // the deploy happened now, after the review's instant
    assert.deepEqual(review.deploys, []);
    const tomorrow = new Date(Math.ceil(Date.now() / 86_400_000) * 86_400_000);
    const today = new Date(tomorrow.getTime() - 86_400_000).toISOString().slice(0, 10);
    const r = await buildReview(db, analysis, { asOf: tomorrow, every: 'day', from: today, to: today });
    assert.equal(r.deploys.length, 1);
    assert.ok(r.deploys[0]!.definitions.some((d) => /^lifecycle$/i.test(d.kind) && d.name === 'customer_lifecycle'), JSON.stringify(r.deploys[0]!.definitions.slice(0, 3)));
  });
});

describe('tally review: arguments', () => {
  const cases: [string[], RegExp][] = [
    [['--every', 'year'], /--every takes one of: day, week, month \(got 'year'\)/],
    [['--from', '2026-13-01'], /--from takes a day, e\.g\. --from 2026-10-01 \(got '2026-13-01'\)/],
    [['--to', 'yesterday'], /--to takes a day/],
    [['--to', '2026-02-31'], /--to takes a day/],
    [['--from', '2026-10-02', '--to', '2026-10-01'], /--from 2026-10-02 is after --to 2026-10-01/],
    [['--format', 'pdf'], /--format 'pdf' is not one of: html, markdown, json/],
    [['extra'], /unexpected argument 'extra'/],
  ];
  for (const [args, message] of cases) {
    it(`refuses ${args.join(' ')} with exit 2 before connecting`, async () => {
      const r = await runTally(['review', '--project', SHOP, '--db', 'postgres://nobody@127.0.0.1:1/none', ...args], { cwd: SHOP });
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, message);
      assert.doesNotMatch(r.err, /database|ECONNREFUSED/);
    });
  }
});
