// KPI query shapes, from the planner itself (issue 11): EXPLAIN (ANALYZE) of every KPI form's SQL
// on the example shop's data (20,000 customers, ~560k events, loaded once into a throwaway
// PostgreSQL database) reads the events table in set-based scans only: no SubPlan over events, no
// scan of events repeated per row. Timing nothing, so a regression to per-row probes is caught at
// a modest size. The numbers themselves are checked against the oracle in correctness.test.ts.
//
// One deliberate exception: a `count` whose population is narrowed by an entity attribute (the
// activation_rate cohort) probes the events index per member, the same choice as a selective
// segment: at 1M customers the probe ran 5.8x faster than any grouped scan of the purchases. That
// case asserts that the probes stay bounded by the cohort.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project, compileFunnel, compileMetric, type Analysis } from '../engine/src/index.js';
import { DEFAULT_ANCHOR } from '../examples/shop/generate.js';
import { postgresReachable } from './helpers/databases.js';
import { explainJson, perRowProbes, type PlanNode } from './helpers/explain-shape.js';
import { SHOP, shopDb, type ShopDb } from './helpers/shop.js';

const CUSTOMERS = 20_000;

/** KPI forms the example does not have, written for this test. */
const EXTRA = `kind: Kpi
name: shape_events_whole_stream
version: 1
owner: growth
description: every event
funnel: retention
metric: { events: { stream: events } }
target: { gte: 0, by: 2027-03-31 }
---
kind: Kpi
name: shape_avg_per_active
version: 1
owner: growth
description: avg over active (grouped per key)
funnel: revenue
metric:
  ratio:
    numerator: { avg: { property: amount, event: purchase, within: 60d } }
    denominator: { active: { event: login, within: 14d } }
target: { gte: 0, by: 2027-03-31 }
---
kind: Kpi
name: shape_churn_login
version: 1
owner: growth
description: churn of logins
funnel: retention
metric: { churn: { event: login, within: 14d } }
target: { lte: 1, by: 2027-03-31 }
---
kind: Kpi
name: shape_count_population
version: 1
owner: growth
description: a population-wide count of an event condition
funnel: revenue
metric: { count: { event: purchase, within: 90d, gte: 2 } }
target: { gte: 0, by: 2027-03-31 }
---
kind: Kpi
name: shape_attribute_retention
version: 1
owner: growth
description: retention whose cohort is a timestamp attribute
funnel: retention
metric: { retention: { cohort: { attribute: signed_up_at, within: 90d }, return: { event: login }, days: 30 } }
target: { gte: 0, by: 2027-03-31 }
`;

/** Selective counts probe per member by design (see the header). */
const PROBES_BY_DESIGN = new Set(['activation_rate']);

function loopsOnEvents(n: PlanNode): number {
  const own = n['Relation Name'] === 'events' ? (n['Actual Loops'] ?? 1) : 0;
  return own + (n.Plans ?? []).reduce((s, c) => s + loopsOnEvents(c), 0);
}

describe('KPI query shapes [postgres]', function () {
  this.timeout(300_000);
  let shop: ShopDb | undefined;
  let analysis: Analysis;
  let tmp: string;

  before(async function () {
    if (!(await postgresReachable())) this.skip();
    tmp = mkdtempSync(join(tmpdir(), 'tally-kpi-shape-'));
    shop = await shopDb('postgres', tmp, CUSTOMERS);
    const project = Project.load(SHOP);
    project.setFile('definitions/zz_shape.yaml', EXTRA);
    analysis = project.analyze({ now: DEFAULT_ANCHOR });
    assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  });

  after(async () => {
    await shop?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('covers every KPI form', () => {
    const forms = new Set<string>();
    const walk = (m: { k: string; numerator?: unknown; denominator?: unknown }) => {
      forms.add(m.k);
      if (m.k === 'ratio') {
        walk(m.numerator as typeof m);
        walk(m.denominator as typeof m);
      }
    };
    for (const d of analysis.definitions) if (d.kind === 'Kpi') walk((analysis.get('Kpi', d.name)!.resolved.query as { metric: { k: string } }).metric);
    assert.deepEqual([...forms].sort(), ['active', 'attribute-retention', 'avg', 'churn', 'conversion', 'count', 'count_distinct', 'events', 'nps', 'ratio', 'retention', 'sum']);
  });

  it('no funnel reads the events table per row: one grouped scan per step (shared by steps with the same events), hash-joined on the key', async () => {
    const problems: string[] = [];
    let checked = 0;
    await shop!.withDb(async (db) => {
      for (const d of analysis.definitions) {
        const q = d.kind === 'Funnel' ? analysis.get('Funnel', d.name)!.resolved.query : undefined;
        if (q?.k !== 'funnel') continue;
        const c = compileFunnel(q.funnel, { asOf: { kind: 'instant', at: DEFAULT_ANCHOR }, literals: 'param' });
        const plan = await explainJson(db, c.sql, c.parameters);
        for (const p of perRowProbes(plan, { eventsTables: ['events'] })) problems.push(`${d.name}: ${p}`);
        // One scan of events per step, steps with the same events sharing one (a first and a repeat purchase).
        const distinct = 1 + new Set(q.funnel.steps.slice(1).map((s) => JSON.stringify(s.filter))).size;
        assert.equal(loopsOnEvents(plan), distinct, `${d.name}: one events scan per distinct step`);
        if (d.name === 'onboarding') assert.equal(distinct, 3, 'onboarding: signup, login and purchase (twice) in three scans');
        checked++;
      }
    });
    assert.ok(checked > 0);
    assert.deepEqual(problems, []);
  });

  it('no KPI reads the events table per row (SubPlan or repeated scan)', async () => {
    const problems: string[] = [];
    let checked = 0;
    await shop!.withDb(async (db) => {
      for (const d of analysis.definitions) {
        if (d.kind !== 'Kpi' || PROBES_BY_DESIGN.has(d.name)) continue;
        const q = analysis.get('Kpi', d.name)!.resolved.query;
        if (q?.k !== 'metric') continue;
        const c = compileMetric(q.metric, { asOf: { kind: 'instant', at: DEFAULT_ANCHOR }, literals: 'param' });
        const found = perRowProbes(await explainJson(db, c.sql, c.parameters), { eventsTables: ['events'] });
        for (const p of found) problems.push(`${d.name}: ${p}`);
        checked++;
      }
    });
    assert.ok(checked >= 15, `checked ${checked} KPIs`);
    assert.deepEqual(problems, []);
  });

  it('a selective count probes at most once per member of its cohort', async () => {
    const q = analysis.get('Kpi', 'activation_rate')!.resolved.query;
    assert.ok(q?.k === 'metric');
    await shop!.withDb(async (db) => {
      const c = compileMetric(q.metric, { asOf: { kind: 'instant', at: DEFAULT_ANCHOR }, literals: 'param' });
      const plan = await explainJson(db, c.sql, c.parameters);
      const cohort = await db.query<{ n: number }>(`select count(*)::int as n from customers where created_at > $1::timestamptz - interval '37 days' and created_at < $1::timestamptz - interval '7 days'`, [DEFAULT_ANCHOR.toISOString()]);
      const n = cohort.rows[0]!.n;
      assert.ok(n > 0 && n < CUSTOMERS / 5, `cohort of ${n}`);
      assert.ok(loopsOnEvents(plan) <= n, `${loopsOnEvents(plan)} reads of events for a cohort of ${n}`);
    });
  });
});
