// Query shapes of `tally run`, `tally report` and `tally preview campaign` at a modest size on
// PostgreSQL (issue 11): EXPLAIN (ANALYZE) of each statement on the example shop with 20,000
// customers (~560k events) and a week of real enrollments has no SubPlan over the events table and
// no scan of it that runs once per row, so a regression to per-row probes (the report's correlated
// EXISTS per enrollment took 19.5 s at 4,709 enrollments) is caught without timing anything.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { Project, type Analysis } from '../engine/src/project.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { runCampaigns } from '../engine/src/campaign/run.js';
import { cumulativeShares } from '../engine/src/campaign/assign.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { compileCandidateCounts, compileCandidatesTable, compileConversions, compileEnrollments, enrollmentArrays, type EnrollmentRow } from '../engine/src/sql/campaign.js';
import { candidateOptions } from '../engine/src/campaign/campaign.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { createTestDb, postgresReachable, type TestDb } from './helpers/databases.js';
import { assertNoPerRowProbes, perRowProbes, type PlanNode } from './helpers/explain-shape.js';
import { SHOP } from './helpers/shop.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-campaign-shape-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const DAY = 86_400_000;
const START = Date.parse('2026-10-01T00:00:00Z');
const EVENTS = { eventsTables: ['events'] };

/** EXPLAIN (ANALYZE, FORMAT JSON) of a writing statement, rolled back (the run's insert). */
async function explainRolledBack(db: Db, text: string, params: readonly unknown[]): Promise<PlanNode> {
  let plan: PlanNode | undefined;
  await db
    .transaction(async (tx) => {
      const r = await tx.query<Record<string, unknown>>(`explain (analyze, format json) ${text}`, params);
      const raw = Object.values(r.rows[0]!)[0];
      plan = ((typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[])[0]!.Plan;
      throw new Error('rollback');
    })
    .catch((e: Error) => {
      if (e.message !== 'rollback') throw e;
    });
  return plan!;
}

describe('campaign query shapes at 20,000 customers [postgres]', function () {
  let t: TestDb | undefined;
  let a: Analysis;
  let catalog: Catalog;

  before(async function () {
    this.timeout(600_000);
    if (!(await postgresReachable())) this.skip();
    t = await createTestDb('postgres');
    await loadShop(t.db, { customers: 20_000, anchor: DEFAULT_ANCHOR });
    await t.db.exec('analyze');
    const project = Project.load(SHOP);
    catalog = await loadCatalog(t.db, project.analyze({}).definitions);
    a = project.analyze({ catalog, now: new Date(START) });
    assert.equal((await deploy(t.db, a, { schema: 'tally', catalog })).refused, false);
    // A week of daily runs: enrollments to report on, and history for the entry and cap joins.
    for (let d = 0; d < 7; d++) {
      const r = await runCampaigns(t.db, a, { asOf: new Date(START + d * DAY), catalog });
      assert.equal(r.refused, false);
    }
    await t.db.exec('analyze');
  });
  after(async () => {
    await t?.drop();
  });

  const options = (name: string, asOf: Date) => {
    const c = a.get('Campaign', name)!.resolved.campaign!;
    return { c, o: { asOf, held: null, triggerSince: c.trigger ? new Date(asOf.getTime() - DAY) : null, shares: cumulativeShares(c.variants.map((v) => v.weight)) ?? [] } };
  };

  it('report: the conversions read the goal events once (no probe per enrollment), for each campaign', async function () {
    this.timeout(120_000);
    for (const name of ['cart_reminder', 'winback_dormant']) {
      const c = a.get('Campaign', name)!.resolved.campaign!;
      const n = (await t!.db.query<{ n: number }>(`select count(*) as n from tally.campaign_enrollments where campaign = $1`, [name])).rows[0]!.n;
      assert.ok(Number(n) > 20, `${name}: ${n} enrollments`);
      const at = new Date(START + 30 * DAY);
      const eq = compileEnrollments(c, 'tally', at);
      const e = enrollmentArrays((await t!.db.query<EnrollmentRow>(eq.sql, eq.parameters)).rows);
      assert.equal(e.n, Number(n));
      const q = compileConversions(c, at, e.arrays);
      await assertNoPerRowProbes(t!.db, q.sql, q.parameters, { ...EVENTS, label: `report ${name}` });
    }
  });

  it('preview campaign and run: the trigger, exclusions, entry and cap are joined once, not probed per member', async function () {
    this.timeout(120_000);
    const asOf = new Date(START + 7 * DAY);
    // cart_reminder: a triggered campaign with an exclusion, re-entry every 30d and a cap; its
    // audience segment is population-wide (the compiler's pass shape).
    const { c } = options('cart_reminder', asOf);
    const o = await candidateOptions(t!.db, c, 'tally', asOf);
    const preview = compileCandidateCounts(c, o);
    assert.ok(o.held && o.held.entered.length > 0 && o.held.capped !== null, 'the history holds some keys back');
    await assertNoPerRowProbes(t!.db, preview.sql, preview.parameters, { ...EVENTS, label: 'preview campaign cart_reminder' });
    // The run's statement over the user's tables is the same candidate query, into a temporary table.
    const run = compileCandidatesTable(c, o);
    const plan = await explainRolledBack(t!.db, run.sql, run.parameters);
    assert.deepEqual(perRowProbes(plan, EVENTS), [], 'run cart_reminder');
  });
});
