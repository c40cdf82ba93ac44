// `tally report` against an independent recount, on PGlite and PostgreSQL (issue 11's set-based
// conversions), on generated enrollments with every edge: a goal exactly at the enrollment instant
// (not a conversion) and exactly at enrolled_at + within (a conversion), 1 ms after the window, a
// goal before the enrollment, goals after T (invisible), re-entries of one key whose windows
// overlap (one goal event converts both), two versions, enrollments of a key with no entity row
// (orphan), goal events of orphan keys and of NULL keys. A goal and a trigger on a stream without
// a type column (issue 10.3): `goal: { stream: orders, within: 3d }`, `trigger: { stream: orders }`.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { Project, type Analysis } from '../engine/src/project.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { previewCampaign } from '../engine/src/campaign/campaign.js';
import { reportCampaign } from '../engine/src/campaign/report.js';
import { runCampaigns } from '../engine/src/campaign/run.js';
import { ensureCampaignState } from '../engine/src/state/ddl.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { writeProject } from './helpers/campaign-fixture.js';
import { model } from './helpers/model.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-campaign-report-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const DAY = 86_400_000;
const HOUR = 3_600_000;
const BASE = Date.parse('2026-03-01T00:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();

const MODEL = `${model({ attributes: {}, pii: false, propertyTypes: null })}---
kind: Events
name: orders
version: 1
entity: customer
table: orders
entity_key: customer_id
time: ordered_at
columns: { amount: { type: number } }
`;

const DEFS = `kind: Segment
name: anyone
version: 1
where: { attribute: id, gte: 0 }
---
kind: Campaign
name: promo
version: 2
audience: { segment: anyone }
channel: email
variants:
  - { name: control, weight: 1, holdout: true }
  - { name: offer, weight: 1 }
goal: { event: purchase, within: 2d }
---
kind: Campaign
name: ordered
version: 1
audience: { segment: anyone }
channel: sms
variants:
  - { name: control, weight: 1, holdout: true }
  - { name: nudge, weight: 1 }
goal: { stream: orders, within: 3d, where: [{ property: amount, gt: 0 }] }
---
kind: Campaign
name: on_order
version: 1
audience: { segment: anyone }
channel: push
trigger: { stream: orders, delay: 1h }
entry: { every: 1d }
variants:
  - { name: thanks, weight: 1 }
`;

interface Enr {
  campaign: string;
  version: number;
  key: string;
  variant: string;
  holdout: boolean;
  at: number;
}
interface Ev {
  key: number | null;
  type: string;
  t: number;
  amount?: number;
}

/** A small seeded generator (deterministic data on both backends). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296);
}

function generate(): { customers: number[]; enrollments: Enr[]; events: Ev[]; orders: Ev[] } {
  const r = rng(11);
  const customers = Array.from({ length: 120 }, (_, i) => i + 1);
  const enrollments: Enr[] = [];
  const events: Ev[] = [];
  const orders: Ev[] = [];
  const variantOf = (campaign: string, k: number) => (campaign === 'promo' ? (k % 2 ? 'offer' : 'control') : k % 2 ? 'nudge' : 'control');
  for (const campaign of ['promo', 'ordered']) {
    const within = campaign === 'promo' ? 2 * DAY : 3 * DAY;
    // Keys 1..120 plus an orphan key 999 (no entity row), some entering twice (re-entry 1 day apart, overlapping windows).
    for (const k of [...customers, 999]) {
      if (r() < 0.2 && k !== 999) continue;
      const at = BASE + Math.floor(r() * 10) * DAY + (r() < 0.3 ? Math.floor(r() * 24) * HOUR : 0);
      const variant = variantOf(campaign, k);
      const version = at < BASE + 5 * DAY ? 1 : 2;
      enrollments.push({ campaign, version, key: String(k), variant, holdout: variant === 'control', at });
      if (r() < 0.25) enrollments.push({ campaign, version: 2, key: String(k), variant, holdout: variant === 'control', at: at + DAY });
      // Goal events around the enrollment, with the exact edges.
      const pick = r();
      const t =
        pick < 0.1 ? at : pick < 0.2 ? at + within : pick < 0.3 ? at + within + 1 : pick < 0.4 ? at - HOUR : pick < 0.5 ? at + 30 * DAY : at + Math.floor(r() * 5 * DAY);
      if (campaign === 'promo') {
        events.push({ key: k, type: r() < 0.8 ? 'purchase' : 'view', t });
        if (r() < 0.3) events.push({ key: k, type: 'purchase', t: at + DAY + HOUR }); // inside both windows of a re-entry
      } else {
        orders.push({ key: k, type: '', t, amount: r() < 0.85 ? 10 + Math.floor(r() * 90) : 0 });
        if (r() < 0.3) orders.push({ key: k, type: '', t: at + DAY + HOUR, amount: 5 });
      }
    }
  }
  // Orphan and NULL keys that match nothing, goals at exactly the enrollment instants of others.
  for (let i = 0; i < 40; i++) {
    const t = BASE + Math.floor(r() * 12 * DAY);
    events.push({ key: r() < 0.5 ? 5000 + i : null, type: 'purchase', t });
    orders.push({ key: r() < 0.5 ? 5000 + i : null, type: '', t, amount: 20 });
  }
  return { customers, enrollments, events, orders };
}

/** The recount: per campaign and (version, variant), enrolled up to T, converted, open. */
function recount(data: ReturnType<typeof generate>, campaign: string, asOf: number): Map<string, { enrolled: number; converted: number; open: number }> {
  const within = campaign === 'promo' ? 2 * DAY : 3 * DAY;
  const goals = campaign === 'promo' ? data.events.filter((e) => e.type === 'purchase') : data.orders.filter((o) => (o.amount ?? 0) > 0);
  const out = new Map<string, { enrolled: number; converted: number; open: number }>();
  for (const e of data.enrollments) {
    if (e.campaign !== campaign || e.at > asOf) continue;
    const id = `${e.version}:${e.variant}`;
    const acc = out.get(id) ?? { enrolled: 0, converted: 0, open: 0 };
    acc.enrolled++;
    if (goals.some((g) => g.key !== null && String(g.key) === e.key && g.t > e.at && g.t <= e.at + within && g.t <= asOf)) acc.converted++;
    if (e.at + within > asOf) acc.open++;
    out.set(id, acc);
  }
  return out;
}

async function load(db: Db, data: ReturnType<typeof generate>): Promise<void> {
  await db.exec(`
create table customers (id bigint primary key, created_at timestamptz);
create table events (customer_id bigint, event_name text not null, occurred_at timestamptz not null);
create table orders (customer_id bigint, ordered_at timestamptz not null, amount numeric);`);
  await db.query(`insert into customers select id, '2025-01-01T00:00:00Z' from unnest($1::bigint[]) as id`, [data.customers]);
  await db.query(`insert into events select * from unnest($1::bigint[], $2::text[], $3::timestamptz[])`, [data.events.map((e) => e.key), data.events.map((e) => e.type), data.events.map((e) => iso(e.t))]);
  await db.query(`insert into orders select * from unnest($1::bigint[], $2::timestamptz[], $3::numeric[])`, [data.orders.map((e) => e.key), data.orders.map((e) => iso(e.t)), data.orders.map((e) => e.amount ?? 0)]);
  // The enrollments are history as a run records it; written directly here (one run per campaign and instant).
  await db.transaction(async (tx) => {
    await ensureCampaignState(tx, 'tally');
    const runs = new Map<string, number>();
    for (const e of data.enrollments) {
      const id = `${e.campaign}|${e.at}`;
      if (!runs.has(id)) runs.set(id, runs.size + 1);
    }
    for (const [id, n] of runs) {
      const [campaign, at] = id.split('|');
      const version = data.enrollments.find((e) => `${e.campaign}|${e.at}` === id)!.version;
      await tx.query(`insert into tally.campaign_runs (id, campaign, version, as_of, enrolled, sent, fingerprint) values ($1, $2, $3, $4, 0, 0, $5)`, [n, campaign, version, iso(Number(at)), `fp-${campaign}-v${version}`]);
    }
    await tx.query(`select setval(pg_get_serial_sequence('tally.campaign_runs', 'id'), (select max(id) from tally.campaign_runs))`);
    await tx.query(
      `insert into tally.campaign_enrollments (run_id, campaign, version, channel, entity_key, variant, holdout, enrolled_at, fingerprint)
       select * from unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::text[], $6::text[], $7::boolean[], $8::timestamptz[], $9::text[])`,
      [
        data.enrollments.map((e) => runs.get(`${e.campaign}|${e.at}`)),
        data.enrollments.map((e) => e.campaign),
        data.enrollments.map((e) => e.version),
        data.enrollments.map((e) => (e.campaign === 'promo' ? 'email' : 'sms')),
        data.enrollments.map((e) => e.key),
        data.enrollments.map((e) => e.variant),
        data.enrollments.map((e) => e.holdout),
        data.enrollments.map((e) => iso(e.at)),
        data.enrollments.map((e) => `fp-${e.campaign}-v${e.version}`),
      ],
    );
  });
}

describe('campaign goals and triggers on a stream', () => {
  it('`stream:` alone is accepted; neither `event:` nor `stream:` is missing-event; `event:` on a stream without a type column is no-type-column', () => {
    const dir = writeProject(join(TMP, 'lint'), {
      'model.yaml': MODEL,
      'defs.yaml': DEFS + `---
kind: Campaign
name: no_events
version: 1
audience: { segment: anyone }
channel: sms
trigger: { delay: 1h }
variants:
  - { name: a, weight: 1, holdout: true }
  - { name: b, weight: 1 }
goal: { within: 3d }
---
kind: Campaign
name: typed_orders
version: 1
audience: { segment: anyone }
channel: sms
variants:
  - { name: a, weight: 1, holdout: true }
  - { name: b, weight: 1 }
goal: { stream: orders, event: paid, within: 3d }
`,
    });
    const a = Project.load(dir).analyze({ now: new Date(BASE) });
    const text = a.project.file('definitions/defs.yaml')!.text.split('\n');
    const errors = a.diagnostics
      .filter((d) => d.severity === 'error')
      .map((d) => `${d.code}:${text[d.range.start.line]!.slice(d.range.start.character, d.range.end.line === d.range.start.line ? d.range.end.character : undefined)}`);
    assert.deepEqual(errors, ['missing-event:{ delay: 1h }', 'missing-event:{ within: 3d }', 'no-type-column:paid']);
  });
});

forEachBackend('campaign reports against a recount', (backend) => {
  let t: TestDb;
  let a: Analysis;
  let catalog: Catalog;
  const data = generate();

  before(async function () {
    this.timeout(120_000);
    t = await createTestDb(backend);
    await load(t.db, data);
    const dir = writeProject(join(TMP, backend), { 'model.yaml': MODEL, 'defs.yaml': DEFS });
    const project = Project.load(dir);
    catalog = await loadCatalog(t.db, project.analyze({}).definitions);
    a = project.analyze({ catalog, now: new Date(BASE) });
    assert.deepEqual(
      a.diagnostics.filter((d) => d.severity === 'error'),
      [],
    );
  });
  after(async () => {
    await t?.drop();
  });

  for (const campaign of ['promo', 'ordered']) {
    it(`${campaign}: per version and variant, enrolled / converted / open equal the recount at several T`, async () => {
      const edges = data.enrollments.filter((e) => e.campaign === campaign);
      assert.ok(edges.some((e) => e.key === '999'), 'an orphan key is enrolled');
      assert.ok(new Set(edges.map((e) => e.key)).size < edges.length, 'some key re-entered');
      for (const asOf of [BASE + 3 * DAY + 7 * HOUR, BASE + 6 * DAY, BASE + 11 * DAY, BASE + 40 * DAY]) {
        const r = await reportCampaign(t.db, a, campaign, { asOf: new Date(asOf) });
        const got = new Map<string, { enrolled: number; converted: number; open: number }>();
        for (const v of r.versions) for (const x of v.variants) if (x.enrolled) got.set(`${v.version}:${x.name}`, { enrolled: x.enrolled, converted: x.converted!, open: x.open });
        const want = recount(data, campaign, asOf);
        assert.deepEqual([...got].sort(), [...want].sort(), `${campaign} at ${iso(asOf)}`);
        // The totals are the sums over versions; the versions' fingerprints are the recorded ones.
        for (const v of r.variants) {
          const sum = [...want].filter(([k]) => k.endsWith(`:${v.name}`)).reduce((s, [, x]) => s + x.converted, 0);
          assert.equal(v.converted, sum);
        }
        assert.equal(r.spans_versions, r.versions.length > 1);
        for (const v of r.versions) assert.deepEqual(v.fingerprints, [`fp-${campaign}-v${v.version}`]);
      }
      const converted = [...recount(data, campaign, BASE + 40 * DAY).values()].reduce((s, x) => s + x.converted, 0);
      assert.ok(converted > 10, `a meaningful recount: ${converted} conversions`);
    });
  }

  it('a goal on a stream without a type column is reported as that stream', async () => {
    const r = await reportCampaign(t.db, a, 'ordered', { asOf: new Date(BASE + 40 * DAY) });
    assert.deepEqual(r.goal, { event: null, stream: 'orders', within: '3 days' });
  });

  it('a trigger on a stream without a type column: a run enrolls who ordered in (T - 1d - 1h, T - 1h]', async () => {
    assert.equal((await deploy(t.db, a, { schema: 'tally' })).refused, false);
    const T = BASE + 4 * DAY;
    const preview = await previewCampaign(t.db, a, 'on_order', { asOf: new Date(T) });
    const r = await runCampaigns(t.db, a, { asOf: new Date(T), campaign: 'on_order', catalog });
    assert.equal(r.campaigns[0]!.status, 'enrolled', JSON.stringify(r));
    const want = [...new Set(data.orders.filter((o) => o.key !== null && o.key <= 120 && o.t > T - DAY - HOUR && o.t <= T - HOUR).map((o) => String(o.key)))].sort();
    const got = (await t.db.query<{ k: string }>(`select entity_key as k from tally.campaign_enrollments where campaign = 'on_order' order by 1`)).rows.map((x) => x.k).sort();
    assert.deepEqual(got, want);
    assert.ok(want.length > 3, `${want.length} triggered`);
    assert.equal(preview.audience, want.length, 'the preview said so');
  });
});
