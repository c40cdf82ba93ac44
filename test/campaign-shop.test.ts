// The example shop's campaigns run daily for a simulated month (October 2026, the generated data's
// last month), checked against an independent in-memory simulation, on PGlite and PostgreSQL:
//  - winback_dormant (scheduled, entry once): day d enrolls exactly the members of
//    high_value_dormant at T_d, minus internal_test_accounts, minus everyone enrolled before;
//  - cart_reminder (triggered by add_to_cart, re-entry every 30d, cap 1 push per day): day d
//    enrolls the audience members with an add_to_cart in (T_{d-1}, T_d] (first run: the day
//    before), not enrolled in the last 30 days, not capped;
//  - every variant is the TypeScript hash rule's; only non-holdouts reach the outbox;
//  - the report's counts and p-values equal a recount from the raw purchase events.
// Segment membership comes from compileMembers (the preview's SQL); the simulation does the rest.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../engine/src/db/db.js';
import { Project, type Analysis } from '../engine/src/project.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { previewCampaign } from '../engine/src/campaign/campaign.js';
import { reportCampaign } from '../engine/src/campaign/report.js';
import { runCampaigns } from '../engine/src/campaign/run.js';
import { assignVariant } from '../engine/src/campaign/assign.js';
import { twoProportionTest } from '../engine/src/campaign/stats.js';
import { compileMembers } from '../engine/src/sql/compile.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import type { CampaignDef } from '../engine/src/model/types.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';

const SHOP = join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'shop');
const TMP = mkdtempSync(join(tmpdir(), 'tally-campaign-shop-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const DAY = 86_400_000;
const START = Date.parse('2026-10-01T00:00:00Z');
const DAYS = 31;

forEachBackend('campaigns on the example shop, October 2026', (backend) => {
  let t: TestDb | undefined;
  let db: Db;
  let a: Analysis;
  let catalog: Catalog;

  const members = async (segment: string, at: Date): Promise<Set<string>> => {
    const q = a.get('Segment', segment)!.resolved.query!;
    assert.equal(q.k, 'members');
    const c = compileMembers(q as Extract<typeof q, { k: 'members' }>, { asOf: { kind: 'instant', at }, literals: 'param' });
    return new Set((await db.query<{ key: unknown }>(c.sql, c.parameters)).rows.map((r) => String(r.key)));
  };

  before(async function () {
    this.timeout(300_000);
    if (backend === 'pglite') db = await connect('pglite:memory', { baseDir: TMP });
    else {
      t = await createTestDb('postgres');
      db = t.db;
    }
    await loadShop(db, { customers: 3000, anchor: DEFAULT_ANCHOR });
    const project = Project.load(SHOP);
    catalog = await loadCatalog(db, project.analyze({}).definitions);
    a = project.analyze({ catalog, now: new Date(START) });
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error'), []);
    // A run enrolls what is deployed.
    const d = await deploy(db, a, { schema: project.config.deploySchema, catalog });
    assert.equal(d.deployed, true);
  });
  after(async () => {
    if (t) await t.drop();
    else await db?.close();
  });

  it('a month of daily runs enrolls exactly what the simulation says; the report equals a recount', async function () {
    this.timeout(600_000);
    const winback = a.get('Campaign', 'winback_dormant')!.def as CampaignDef;
    const cart = a.get('Campaign', 'cart_reminder')!.def as CampaignDef;
    const weights = (c: CampaignDef) => c.variants.map((v) => v.weight);
    const variantOf = (c: CampaignDef, key: string) => c.variants[assignVariant(c.name, key, weights(c))]!;

    // The preview before the first run says what the first run does.
    const preview = await previewCampaign(db, a, 'winback_dormant', { asOf: new Date(START) });

    const addToCart = (await db.query<{ k: string; t: string }>(`select customer_id::text as k, occurred_at as t from events where event_name = 'add_to_cart'`)).rows.map((r) => ({ k: r.k, t: Date.parse(r.t) }));
    const sim = { winback: new Map<string, number>(), cart: [] as { k: string; t: number; holdout: boolean }[] };
    let totalWinback = 0;
    for (let d = 0; d < DAYS; d++) {
      const T = START + d * DAY;
      const r = await runCampaigns(db, a, { asOf: new Date(T), catalog });
      const got = (await db.query<{ campaign: string; entity_key: string; variant: string; holdout: boolean }>(`select campaign, entity_key, variant, holdout from tally.campaign_enrollments where enrolled_at = $1::timestamptz`, [new Date(T).toISOString()])).rows;

      // winback: (segment - exclusions) - everyone enrolled before.
      const dormant = await members('high_value_dormant', new Date(T));
      const internal = await members('internal_test_accounts', new Date(T));
      const expectWinback = [...dormant].filter((k) => !internal.has(k) && !sim.winback.has(k)).sort();
      const gotWinback = got.filter((g) => g.campaign === 'winback_dormant');
      assert.deepEqual(gotWinback.map((g) => g.entity_key).sort(), expectWinback, `winback on day ${d + 1}`);
      for (const g of gotWinback) {
        const v = variantOf(winback, g.entity_key);
        assert.equal(g.variant, v.name.name);
        assert.equal(g.holdout, v.holdout);
        sim.winback.set(g.entity_key, T);
      }
      totalWinback += expectWinback.length;
      if (d === 0) assert.equal(preview.audience, expectWinback.length, 'the preview of day 1 predicts its run');

      // cart: triggered in (prev, T], in the audience, no enrollment in (T - 30d, T), cap 1 push per (T - 1d, T].
      const prev = T - DAY; // daily runs: the previous run is the day before (and the first looks back one day)
      const abandoners = await members('cart_abandoners', new Date(T));
      const triggered = new Set(addToCart.filter((e) => e.t > prev && e.t <= T).map((e) => e.k));
      const expectCart = [...triggered]
        .filter((k) => abandoners.has(k) && !internal.has(k))
        .filter((k) => !sim.cart.some((c) => c.k === k && c.t > T - 30 * DAY && c.t < T))
        .filter((k) => sim.cart.filter((c) => c.k === k && !c.holdout && c.t > T - DAY && c.t <= T).length < 1)
        .sort();
      const gotCart = got.filter((g) => g.campaign === 'cart_reminder');
      assert.deepEqual(gotCart.map((g) => g.entity_key).sort(), expectCart, `cart on day ${d + 1}`);
      for (const g of gotCart) {
        const v = variantOf(cart, g.entity_key);
        assert.equal(g.variant, v.name.name);
        sim.cart.push({ k: g.entity_key, t: T, holdout: v.holdout });
      }
      // The outbox holds this run's non-holdouts.
      assert.equal(r.outbox.length, got.filter((g) => !g.holdout).length);
      assert.ok(r.outbox.every((o) => o.enrolled_at === new Date(T).toISOString()));
    }
    assert.ok(totalWinback >= 10, `a meaningful month: ${totalWinback} win-back enrollments`);
    assert.ok(sim.cart.length >= 50, `${sim.cart.length} cart enrollments`);

    // Report as of Nov 1: recount conversions from the raw purchase events.
    const asOf = Date.parse('2026-11-01T00:00:00Z');
    const purchases = new Map<string, number[]>();
    for (const p of (await db.query<{ k: string; t: string }>(`select customer_id::text as k, occurred_at as t from events where event_name = 'purchase'`)).rows) {
      let l = purchases.get(p.k);
      if (!l) purchases.set(p.k, (l = []));
      l.push(Date.parse(p.t));
    }
    const recount = (c: CampaignDef, enrolled: { k: string; t: number }[]) => {
      const within = c.goal!.within!.ms;
      const out = new Map<string, { n: number; x: number }>();
      for (const v of c.variants) out.set(v.name.name, { n: 0, x: 0 });
      for (const e of enrolled) {
        const v = out.get(variantOf(c, e.k).name.name)!;
        v.n++;
        if ((purchases.get(e.k) ?? []).some((p) => p > e.t && p <= e.t + within && p <= asOf)) v.x++;
      }
      return out;
    };
    for (const [c, enrolled] of [
      [winback, [...sim.winback].map(([k, t0]) => ({ k, t: t0 }))],
      [cart, sim.cart],
    ] as const) {
      const report = await reportCampaign(db, a, c.name, { asOf: new Date(asOf) });
      const expected = recount(c, enrolled as { k: string; t: number }[]);
      assert.deepEqual(
        report.variants.map((v) => [v.name, v.enrolled, v.converted]),
        [...expected].map(([n, v]) => [n, v.n, v.x]),
        c.name,
      );
      const holdout = c.variants.find((v) => v.holdout)!.name.name;
      const h = expected.get(holdout)!;
      for (const v of report.variants) {
        if (v.holdout) continue;
        const e = expected.get(v.name)!;
        const test = twoProportionTest(e.x, e.n, h.x, h.n);
        if (!test) assert.equal(v.p_value, null);
        else assert.ok(Math.abs(v.p_value! - test.pValue) < 1e-12, `${c.name}/${v.name} p-value`);
      }
      assert.doesNotMatch(JSON.stringify(report), /NaN/);
    }
  });
});
