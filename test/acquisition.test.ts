// CSAT, spend (`kind: Costs`), CAC and ROAS (issue 14.3): the engine's numbers against an
// independent evaluator written here from docs/language.md ("Acquisition and satisfaction"), over
// generated data with NULL and out-of-scale ratings, ties at the satisfied threshold, responses and
// spend exactly at the window edges and after T, orphan keys, customers created after T, NULL
// channels, a channel with spend but no customer, NULL amounts, and windows with nothing to divide
// by; the overall value and the breakdown by channel (an attribute, and a first-touch trait), on
// PGlite and PostgreSQL. Plus the misuse diagnostics (with did-you-mean) and an EXPLAIN shape.

import assert from 'node:assert/strict';
import { LanguageService, Project, compileMetric, compileMetricBreakdown, loadCatalog, type Catalog } from '../engine/src/index.js';
import type { Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { assertNoPerRowProbes } from './helpers/explain-shape.js';

const T = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
/** Half a day later: a date-only cost row of T's day is then inside windows that end at T2. */
const T2 = new Date(T.getTime() + DAY / 2);

// ------------------------------------------------------------------------------------------ data

interface Customer {
  id: number;
  created_at: Date | null;
  signed_up_at: Date | null;
  channel: string | null;
}
interface Ev {
  customer_id: number;
  name: 'survey' | 'purchase' | 'visit';
  at: Date;
  rating?: number | null;
  amount?: number | null;
  utm_source?: string | null;
}
interface Cost {
  /** A date (YYYY-MM-DD): midnight of that day in the project time zone (UTC here). */
  spent_on: string;
  channel: string | null;
  amount: number | null;
}

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHANNELS = ['google', 'meta', 'tiktok', null] as const; // tiktok: customers, no spend
const SPEND_CHANNELS = ['google', 'meta', 'affiliate', null] as const; // affiliate: spend, no customer

function generate(): { customers: Customer[]; events: Ev[]; costs: Cost[] } {
  const r = rng(1403);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!;
  const customers: Customer[] = [];
  for (let id = 1; id <= 220; id++) {
    const ageDays = r() < 0.35 ? r() * 60 : 60 + r() * 400;
    const created = id % 41 === 0 ? new Date(T.getTime() + 3 * DAY) : id === 7 ? null : new Date(T.getTime() - Math.floor(ageDays * 86_400) * 1000);
    const signed = id % 13 === 0 ? null : created;
    customers.push({ id, created_at: created, signed_up_at: signed, channel: pick(CHANNELS) });
  }
  // Planted: signed up exactly at T - 30d (out of a 30d window) and exactly at T (in).
  customers.push({ id: 300, created_at: new Date(T.getTime() - 30 * DAY), signed_up_at: new Date(T.getTime() - 30 * DAY), channel: 'google' });
  customers.push({ id: 301, created_at: T, signed_up_at: T, channel: 'meta' });
  const events: Ev[] = [];
  const key = () => (r() < 0.04 ? 900 + Math.floor(r() * 5) : 1 + Math.floor(r() * 220)); // orphans
  const when = () => new Date(T.getTime() - Math.floor(r() * 80 * 86_400) * 1000 + (r() < 0.04 ? 2 * DAY : 0));
  for (let i = 0; i < 900; i++) {
    const x = r();
    // 1..5 with ties at 4, some NULL, some out of scale (0 and 6).
    const rating = x < 0.07 ? null : x < 0.1 ? 0 : x < 0.13 ? 6 : 1 + Math.floor(r() * 5);
    events.push({ customer_id: key(), name: 'survey', at: when(), rating });
  }
  for (let i = 0; i < 700; i++) events.push({ customer_id: key(), name: 'purchase', at: when(), amount: r() < 0.06 ? null : Math.round(r() * 30000) / 100 });
  for (let i = 0; i < 600; i++) events.push({ customer_id: key(), name: 'visit', at: when(), utm_source: r() < 0.1 ? null : pick(['google', 'meta', 'newsletter']) });
  // Window edges: a response exactly at T - 30d (out), one exactly at T (in), one after T (invisible).
  events.push({ customer_id: 1, name: 'survey', at: new Date(T.getTime() - 30 * DAY), rating: 1 });
  events.push({ customer_id: 2, name: 'survey', at: T, rating: 5 });
  events.push({ customer_id: 3, name: 'survey', at: new Date(T.getTime() + 1000), rating: 1 });
  events.push({ customer_id: 4, name: 'purchase', at: new Date(T.getTime() - 30 * DAY), amount: 999 });
  events.push({ customer_id: 5, name: 'purchase', at: T, amount: 111 });
  const costs: Cost[] = [];
  for (let d = 0; d <= 90; d++) {
    const day = new Date(T.getTime() - d * DAY).toISOString().slice(0, 10);
    for (const ch of SPEND_CHANNELS) if (r() < 0.8) costs.push({ spent_on: day, channel: ch, amount: r() < 0.05 ? null : Math.round(r() * 50000) / 100 });
  }
  // After T (invisible) and exactly at T - 30d (midnight: out of a 30d window).
  costs.push({ spent_on: new Date(T.getTime() + DAY).toISOString().slice(0, 10), channel: 'google', amount: 100000 });
  costs.push({ spent_on: new Date(T.getTime() - 30 * DAY).toISOString().slice(0, 10), channel: 'meta', amount: 77777 });
  return { customers, events, costs };
}

const DATA = generate();

async function load(db: Db): Promise<void> {
  await db.query(`create table customers (id int primary key, created_at timestamptz, signed_up_at timestamptz, channel text)`);
  await db.query(`create table events (customer_id int not null, name text not null, at timestamptz not null, properties jsonb not null)`);
  await db.query(`create table marketing_costs (spent_on date not null, channel text, amount numeric)`);
  const c = DATA.customers;
  await db.query(
    `insert into customers values ${c.map((_x, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')}`,
    c.flatMap((x) => [x.id, x.created_at?.toISOString() ?? null, x.signed_up_at?.toISOString() ?? null, x.channel]),
  );
  for (let i = 0; i < DATA.events.length; i += 400) {
    const chunk = DATA.events.slice(i, i + 400);
    const params: unknown[] = [];
    const values = chunk.map((e) => {
      const props: Record<string, unknown> = {};
      if (e.rating !== undefined && e.rating !== null) props.rating = e.rating;
      if (e.amount !== undefined && e.amount !== null) props.amount = e.amount;
      if (e.utm_source !== undefined && e.utm_source !== null) props.utm_source = e.utm_source;
      params.push(e.customer_id, e.name, e.at.toISOString(), JSON.stringify(props));
      const b = params.length - 4;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}::jsonb)`;
    });
    await db.query(`insert into events values ${values.join(', ')}`, params);
  }
  const k = DATA.costs;
  await db.query(`insert into marketing_costs values ${k.map((_x, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ')}`, k.flatMap((x) => [x.spent_on, x.channel, x.amount]));
}

// ------------------------------------------------------------------------------------ definitions

const TALLY = `tally: 1\nname: acquisition\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n`;
const MODEL = `kind: Entity
name: customer
version: 1
table: customers
key: id
created_at: created_at
attributes:
  signed_up_at: { type: timestamp }
  channel: { type: string }
---
kind: Events
name: events
version: 1
entity: customer
table: events
entity_key: customer_id
time: at
type: name
properties: properties
property_types: { rating: number, amount: number }
---
kind: Costs
name: marketing_costs
version: 1
table: marketing_costs
time: spent_on
amount: amount
channel: channel
---
kind: Trait
name: first_touch
version: 1
type: string
compute: { event: visit, first: utm_source }
`;

// ------------------------------------------------------------------------------------ the evaluator

const exists = (c: Customer, at: number) => c.created_at === null || c.created_at.getTime() <= at;
const inWindow = (t: number, at: number, w: number) => t > at - w && t <= at;
const midnight = (d: string) => new Date(`${d}T00:00:00Z`).getTime();

/** Which customers the evaluation is about (a breakdown group), and which spend (its channel). */
interface Scope {
  customers: (c: Customer) => boolean;
  spend: (channel: string | null) => boolean;
}
const EVERYONE: Scope = { customers: () => true, spend: () => true };

function customersAt(at: number, s: Scope): Map<number, Customer> {
  return new Map(DATA.customers.filter((c) => exists(c, at) && s.customers(c)).map((c) => [c.id, c]));
}

function csat(at: number, w: number, lo: number, hi: number, op: 'gte' | 'gt', thr: number, s: Scope, extra: (e: Ev) => boolean = () => true): number | null {
  const who = customersAt(at, s);
  let n = 0;
  let sat = 0;
  for (const e of DATA.events) {
    if (e.name !== 'survey' || !who.has(e.customer_id) || !inWindow(e.at.getTime(), at, w) || !extra(e)) continue;
    const v = e.rating;
    if (v === null || v === undefined || v < lo || v > hi) continue;
    n++;
    if (op === 'gte' ? v >= thr : v > thr) sat++;
  }
  return n ? sat / n : null;
}

function cost(at: number, w: number, s: Scope): number {
  let sum = 0;
  for (const k of DATA.costs) if (k.amount !== null && inWindow(midnight(k.spent_on), at, w) && s.spend(k.channel)) sum += k.amount;
  return sum;
}

function acquiredByAttribute(at: number, w: number, s: Scope): number {
  return [...customersAt(at, s).values()].filter((c) => c.signed_up_at && inWindow(c.signed_up_at.getTime(), at, w)).length;
}

function acquiredByFirstPurchase(at: number, w: number, s: Scope): number {
  const who = customersAt(at, s);
  const first = new Map<number, number>();
  for (const e of DATA.events) {
    if (e.name !== 'purchase' || e.at.getTime() > at || !who.has(e.customer_id)) continue;
    first.set(e.customer_id, Math.min(first.get(e.customer_id) ?? Infinity, e.at.getTime()));
  }
  return [...first.values()].filter((t) => t > at - w).length;
}

function revenue(at: number, w: number, s: Scope): number {
  const who = customersAt(at, s);
  let sum = 0;
  for (const e of DATA.events) if (e.name === 'purchase' && who.has(e.customer_id) && inWindow(e.at.getTime(), at, w) && e.amount != null) sum += e.amount;
  return sum;
}

const div = (a: number, b: number) => (b === 0 ? null : a / b);

/** The first touch: the utm_source of the customer's earliest visit up to T (NULL without one). */
function firstTouch(c: Customer, at: number): string | null {
  let best: Ev | undefined;
  for (const e of DATA.events) if (e.name === 'visit' && e.customer_id === c.id && e.at.getTime() <= at && (!best || e.at.getTime() < best.at.getTime())) best = e;
  return best?.utm_source ?? null;
}

interface Case {
  name: string;
  metric: string;
  value: (at: number, s: Scope) => number | null;
  /** Whether the oracle's value must be NULL (a division by zero case) rather than a number. */
  nullish?: boolean;
}

const W30 = 30 * DAY;
const CASES: Case[] = [
  { name: 'csat default scale and threshold', metric: '{ csat: { event: survey, property: rating, within: 30d } }', value: (at, s) => csat(at, W30, 1, 5, 'gte', 4, s) },
  { name: 'csat gt 3 on [1, 5]', metric: '{ csat: { event: survey, property: rating, within: 60d, scale: [1, 5], satisfied: { gt: 3 } } }', value: (at, s) => csat(at, 60 * DAY, 1, 5, 'gt', 3, s) },
  { name: 'csat on [0, 10] counts 0 and 6', metric: '{ csat: { event: survey, property: rating, within: 30d, scale: [0, 10], satisfied: { gte: 5 } } }', value: (at, s) => csat(at, W30, 0, 10, 'gte', 5, s) },
  { name: 'csat with no answers is NULL', metric: '{ csat: { event: survey, property: rating, within: 30d, where: [{ property: rating, gt: 100 }] } }', value: (at, s) => csat(at, W30, 1, 5, 'gte', 4, s, (e) => (e.rating ?? 0) > 100), nullish: true },
  { name: 'cost 30d', metric: '{ cost: { costs: marketing_costs, within: 30d } }', value: (at, s) => cost(at, W30, s) },
  { name: 'cac by signup attribute', metric: '{ cac: { costs: marketing_costs, within: 30d, acquired: { attribute: signed_up_at } } }', value: (at, s) => div(cost(at, W30, s), acquiredByAttribute(at, W30, s)) },
  { name: 'cac by first purchase', metric: '{ cac: { costs: marketing_costs, within: 30d, acquired: { event: purchase } } }', value: (at, s) => div(cost(at, W30, s), acquiredByFirstPurchase(at, W30, s)) },
  { name: 'cac with nobody acquired is NULL', metric: '{ cac: { costs: marketing_costs, within: 1m, acquired: { event: purchase } } }', value: (at, s) => div(cost(at, 60_000, s), acquiredByFirstPurchase(at, 60_000, s)), nullish: true },
  { name: 'roas 30d', metric: '{ roas: { costs: marketing_costs, within: 30d, revenue: { event: purchase, property: amount } } }', value: (at, s) => div(revenue(at, W30, s), cost(at, W30, s)) },
  // At T2 no cost row (dated midnight) lies in the last hour; at T the row of T's day does.
  { name: 'roas with no spend is NULL', metric: '{ roas: { costs: marketing_costs, within: 1h, revenue: { event: purchase, property: amount } } }', value: (at, s) => div(revenue(at, 3_600_000, s), cost(at, 3_600_000, s)), nullish: true },
];

const kpi = (metric: string, breakdown = '') => `kind: Kpi\nname: k\nversion: 1\nowner: growth\ndescription: d\nfunnel: acquisition\nmetric: ${metric}\ntarget: { gte: 0, by: 2027-03-31 }\nguardrail: { gte: 0 }\n${breakdown}`;

function close(a: unknown, b: number | null): boolean {
  if (b === null || a === null) return a === b;
  const x = Number(a);
  return Math.abs(x - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

/** The oracle's groups for a breakdown by a per-customer label: size desc, then label; `(other)` after the top N; `(null)` last. */
function oracleGroups(at: number, label: (c: Customer) => string | null, top: number | null, value: (at: number, s: Scope) => number | null) {
  const who = [...customersAt(at, EVERYONE).values()];
  const sizes = new Map<string, number>();
  for (const c of who) {
    const l = label(c);
    if (l !== null) sizes.set(l, (sizes.get(l) ?? 0) + 1);
  }
  const ranked = [...sizes.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([l]) => l);
  const kept = top === null ? ranked : ranked.slice(0, top);
  const out: { label: string | null; kind: string; value: number | null }[] = [];
  for (const l of kept) out.push({ label: l, kind: 'value', value: value(at, { customers: (c) => label(c) === l, spend: (ch) => ch === l }) });
  if (top !== null && ranked.length > top) {
    const rest = new Set(ranked.slice(top));
    out.push({ label: '(other)', kind: 'other', value: value(at, { customers: (c) => rest.has(label(c) as string), spend: (ch) => ch !== null && rest.has(ch) }) });
  }
  if (who.some((c) => label(c) === null)) out.push({ label: null, kind: 'null', value: value(at, { customers: (c) => label(c) === null, spend: (ch) => ch === null }) });
  return out;
}

describe('acquisition data', () => {
  it('has every edge case, so no case passes vacuously', () => {
    const ratings = DATA.events.filter((e) => e.name === 'survey').map((e) => e.rating);
    assert.ok(ratings.includes(null) && ratings.includes(0) && ratings.includes(6) && ratings.includes(4));
    assert.ok(DATA.events.some((e) => e.customer_id >= 900));
    assert.ok(DATA.customers.some((c) => c.created_at && c.created_at.getTime() > T.getTime()));
    assert.ok(DATA.costs.some((k) => k.channel === 'affiliate') && DATA.costs.some((k) => k.channel === null) && DATA.costs.some((k) => k.amount === null));
    for (const c of CASES) {
      const v = c.value(T.getTime(), EVERYONE);
      if (c.nullish) assert.equal(c.value(T2.getTime(), EVERYONE), null, c.name);
      else assert.ok(v !== null && v > 0 && (c.name.startsWith('csat') ? v < 1 : true), `${c.name}: ${v}`);
    }
  });
});

forEachBackend('csat, cost, cac, roas', (backend) => {
  let tdb: TestDb | undefined;
  let catalog: Catalog;

  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await load(tdb.db);
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(tdb.db, p.analyze({ now: T }).definitions);
  });
  after(async () => {
    await tdb?.drop();
  });

  const analyze = (yaml: string, at: Date, withCatalog = true) => {
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/case.yaml', yaml);
    return p.analyze({ now: at, ...(withCatalog ? { catalog } : {}) });
  };
  const query = (yaml: string, at: Date) => {
    const a = analyze(yaml, at);
    const errors = a.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((d) => `${d.code} ${d.message}`), []);
    const q = a.get('Kpi', 'k')!.resolved.query!;
    assert.ok(q.k === 'metric');
    return q;
  };

  for (const at of [T, T2]) {
    for (const c of CASES) {
      it(`${c.name} @ ${at.toISOString()}`, async () => {
        const q = query(kpi(c.metric), at);
        const expected = c.value(at.getTime(), EVERYONE);
        for (const literals of ['param', 'inline'] as const) {
          const m = compileMetric(q.metric, { asOf: { kind: 'instant', at }, literals });
          const got = (await tdb!.db.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]!.value;
          assert.ok(close(got, expected), `${literals}: engine ${String(got)} oracle ${expected}`);
        }
      });
    }
  }

  const BREAKDOWNS = [
    { name: 'attribute channel', yaml: 'breakdown: { attribute: channel }\n', label: (c: Customer) => c.channel, top: null },
    { name: 'attribute channel top 1', yaml: 'breakdown: { attribute: channel, top: 1 }\n', label: (c: Customer) => c.channel, top: 1 },
    { name: 'first-touch trait', yaml: 'breakdown: { trait: first_touch }\n', label: (c: Customer) => firstTouch(c, T.getTime()), top: null },
  ];
  for (const b of BREAKDOWNS) {
    for (const c of CASES.filter((x) => !x.nullish)) {
      it(`${c.name} by ${b.name}`, async () => {
        const q = query(kpi(c.metric, b.yaml), T);
        assert.ok(q.breakdown);
        const expected = oracleGroups(T.getTime(), b.label, b.top, c.value);
        const m = compileMetricBreakdown(q.metric, q.breakdown, { asOf: { kind: 'instant', at: T }, literals: 'param' });
        const rows = (await tdb!.db.query<{ label: string | null; kind: string; value: unknown }>(m.sql, m.parameters)).rows;
        assert.deepEqual(rows.map((r) => [r.label, r.kind]), expected.map((e) => [e.label, e.kind]));
        const wrong = rows.filter((r, i) => !close(r.value, expected[i]!.value)).map((r) => `${r.label}: engine ${String(r.value)} oracle ${expected.find((e) => e.label === r.label)?.value}`);
        assert.deepEqual(wrong, []);
        // Empty-spend groups (tiktok has customers, no spend) and spend with no group (affiliate) are covered.
        if (b.name === 'attribute channel' && c.name.startsWith('cost')) assert.equal(Number(rows.find((r) => r.label === 'tiktok')!.value), 0);
      });
    }
  }

  it('matches hand-written SQL for CAC and CSAT', async () => {
    const at = T.toISOString();
    const hand = await tdb!.db.query<{ cac: unknown; csat: unknown }>(
      `with spend as (select sum(amount) as s from marketing_costs where spent_on > $1::timestamptz - interval '30 days' and spent_on <= $1::timestamptz),
            firsts as (select customer_id, min(at) as f from events where name = 'purchase' and at <= $1::timestamptz group by customer_id),
            acquired as (select count(*) as n from firsts join customers c on c.id = firsts.customer_id and (c.created_at is null or c.created_at <= $1::timestamptz) where f > $1::timestamptz - interval '30 days'),
            answers as (select (e.properties->>'rating')::numeric as r from events e join customers c on c.id = e.customer_id and (c.created_at is null or c.created_at <= $1::timestamptz)
                        where e.name = 'survey' and e.at > $1::timestamptz - interval '30 days' and e.at <= $1::timestamptz and (e.properties->>'rating')::numeric between 1 and 5)
       select (select s from spend)::float8 / nullif((select n from acquired), 0) as cac, (select avg(case when r >= 4 then 1.0 else 0.0 end) from answers)::float8 as csat`,
      [at],
    );
    const cac = query(kpi(CASES[6]!.metric), T);
    const cs = query(kpi(CASES[0]!.metric), T);
    for (const [q, want] of [[cac, hand.rows[0]!.cac], [cs, hand.rows[0]!.csat]] as const) {
      const m = compileMetric(q.metric, { asOf: { kind: 'instant', at: T }, literals: 'param' });
      const got = (await tdb!.db.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]!.value;
      assert.ok(close(got, Number(want)), `engine ${String(got)} hand ${String(want)}`);
    }
  });

  it('reads each source once: no per-row probe of the events', async () => {
    for (const c of [CASES[0]!, CASES[6]!, CASES[8]!]) {
      const q = query(kpi(c.metric, 'breakdown: { attribute: channel }\n'), T);
      for (const m of [compileMetric(q.metric, { asOf: { kind: 'instant', at: T }, literals: 'inline' }), compileMetricBreakdown(q.metric, q.breakdown!, { asOf: { kind: 'instant', at: T }, literals: 'inline' })]) {
        await assertNoPerRowProbes(tdb!.db, m.sql, m.parameters, { eventsTables: ['events'], label: c.name });
      }
    }
  });

  it('checks the Costs columns against the catalog, with did-you-mean', () => {
    const a = analyze('', T);
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => d.code), []);
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', MODEL.replace('amount: amount\nchannel: channel', 'amount: amout\nchannel: channel'));
    const d = p.analyze({ now: T, catalog }).diagnostics.filter((x) => x.code === 'unknown-column');
    assert.equal(d.length, 1);
    assert.match(d[0]!.message, /did you mean 'amount'/);
  });
});

describe('csat, cost, cac, roas: misuse', () => {
  const analyze = (yaml: string, model = MODEL) => {
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', model);
    p.setFile('definitions/case.yaml', yaml);
    return p.analyze({ now: T }).diagnostics.filter((d) => d.file === 'definitions/case.yaml' && d.severity === 'error');
  };
  const codes = (yaml: string, model?: string) => analyze(yaml, model).map((d) => d.code);

  it('refuses a CSAT over a string rating, with the declaration to add', () => {
    const d = analyze(kpi('{ csat: { event: visit, property: utm_source, within: 30d } }'));
    assert.deepEqual(d.map((x) => x.code), ['type-mismatch']);
    const s = analyze(kpi('{ csat: { event: survey, property: rating, within: 30d } }'), MODEL.replace('rating: number, ', ''));
    assert.deepEqual(s.map((x) => x.code), ['type-mismatch']);
    assert.match(s[0]!.message, /property_types: \{ rating: number \}/);
  });

  it('needs a window and a property; a scale is [low, high]; satisfied is one comparison', () => {
    assert.deepEqual(codes(kpi('{ csat: { event: survey, property: rating } }')), ['missing-key']);
    assert.deepEqual(codes(kpi('{ csat: { event: survey, within: 30d } }')), ['missing-key']);
    assert.ok(codes(kpi('{ csat: { event: survey, property: rating, within: 30d, scale: [5, 1] } }')).includes('bad-value'));
    const eq = analyze(kpi('{ csat: { event: survey, property: rating, within: 30d, scale: [0, 10], satisfied: { eq: 9 } } }'));
    assert.ok(eq.some((x) => x.code === 'unknown-key' && /expected one of: gte, gt/.test(x.message)));
    assert.ok(codes(kpi('{ csat: { event: survey, property: rating, within: 30d, scale: [0, 3] } }')).includes('missing-key'));
  });

  it('an unknown cost source is unknown-reference with did-you-mean', () => {
    const d = analyze(kpi('{ cost: { costs: marketing_cost, within: 30d } }'));
    assert.deepEqual(d.map((x) => x.code), ['unknown-reference']);
    assert.match(d[0]!.message, /did you mean 'marketing_costs'/);
  });

  it('cac needs `acquired`: a timestamp attribute or an event, not both', () => {
    assert.deepEqual(codes(kpi('{ cac: { costs: marketing_costs, within: 30d } }')), ['missing-key']);
    assert.ok(codes(kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { attribute: signed_up_at, event: purchase } } }')).includes('metric-form'));
    assert.deepEqual(codes(kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { attribute: channel } } }')), ['type-mismatch']);
    // Offline an undeclared attribute is a warning with a suggestion.
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/case.yaml', kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { attribute: signed_up } } }'));
    const w = p.analyze({ now: T }).diagnostics.filter((x) => x.code === 'unknown-attribute');
    assert.match(w[0]!.message, /did you mean 'signed_up_at'/);
  });

  it('spend breaks down by a channel attribute or trait only, and needs a channel column', () => {
    const lc = `kind: Lifecycle\nname: lc\nversion: 1\nstages:\n  - { name: fresh, where: { attribute: signed_up_at, within: 30d } }\n  - { name: rest }\n---\n`;
    assert.deepEqual(codes(lc + kpi('{ cost: { costs: marketing_costs, within: 30d } }', 'breakdown: { lifecycle: lc }\n')), ['breakdown-unsupported']);
    assert.deepEqual(codes(kpi('{ cost: { costs: marketing_costs, within: 30d } }', 'breakdown: { attribute: channel }\n'), MODEL.replace('channel: channel\n---', '---')), ['breakdown-unsupported']);
    assert.deepEqual(codes(kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { event: purchase } } }', 'breakdown: { trait: first_touch, top: 2 }\n')), []);
    assert.deepEqual(codes(kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { event: purchase } } }', 'breakdown: { trait: first_tuch }\n')), ['unknown-reference']);
  });

  it('within goes on cac / roas, not on their parts', () => {
    const d = analyze(kpi('{ roas: { costs: marketing_costs, within: 30d, revenue: { event: purchase, property: amount, within: 7d } } }'));
    assert.deepEqual(d.map((x) => x.code), ['unknown-key']);
    assert.match(d[0]!.message, /unknown key 'within' in `revenue`/);
  });
});

describe('csat, cost, cac, roas in the editor', () => {
  const text = kpi('{ cac: { costs: marketing_costs, within: 30d, acquired: { event: purchase } } }') + '---\n' + kpi('{ csat: { event: survey, property: rating, within: 30d, satisfied: { gte: 4 } } }').replace('name: k', 'name: k2');
  const service = () => {
    const p = new Project('/virtual/acq', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/k.yaml', text);
    return { s: new LanguageService(p, () => p.analyze({ now: T })), p };
  };
  const at = (needle: string, d = 1) => text.indexOf(needle) + d;

  it('hover docs come from the schema; `costs:` goes to the Costs definition and completes its names', () => {
    const { s } = service();
    assert.match(JSON.stringify(s.hoverAt('definitions/k.yaml', at('cac'))), /Customer acquisition cost/);
    assert.match(JSON.stringify(s.hoverAt('definitions/k.yaml', at('acquired'))), /FIRST matching event/);
    assert.match(JSON.stringify(s.hoverAt('definitions/k.yaml', at('csat'))), /share that is satisfied/);
    assert.match(JSON.stringify(s.hoverAt('definitions/k.yaml', at('satisfied'))), /default `\{ gte: 4 \}`/);
    const def = s.definitionAt('definitions/k.yaml', at('marketing_costs', 3));
    assert.equal(def.length, 1);
    assert.equal(def[0]!.file, 'definitions/model.yaml');
    const labels = s.completionsAt('definitions/k.yaml', at('marketing_costs', 0)).map((c) => c.label);
    assert.ok(labels.includes('marketing_costs'), labels.join(', '));
  });

  it('completes the kind Costs with a snippet and the metric forms as keys', () => {
    const { s } = service();
    const kinds = s.completionsAt('definitions/k.yaml', at('Kpi', 0)).map((c) => c.label);
    assert.ok(kinds.includes('Costs'), kinds.join(', '));
  });
});
