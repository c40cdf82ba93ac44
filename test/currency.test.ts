// Currency conversion (issue 14.4): amounts in mixed currencies against an independent evaluator
// written from docs/language.md ("Currency"), over generated orders in EUR (the project currency,
// no rate needed), USD and GBP (rates with gaps: a day without a rate takes the latest earlier one;
// a rate dated after an order does not apply to it), JPY (no rate at all: excluded), a NULL
// currency (excluded), orders before their currency's first rate (excluded), NULL amounts,
// orphan keys and customers created after T; spend in mixed currencies too. On PGlite and
// PostgreSQL; plus the refusal without a conversion configured, at the place of the read.

import assert from 'node:assert/strict';
import { Project, compileMetric, compileValues, loadCatalog, type Catalog } from '../engine/src/index.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { assertNoPerRowProbes } from './helpers/explain-shape.js';

const T = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const TZ = 'Europe/Berlin'; // days are cut in the project time zone

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

interface Order {
  customer_id: number;
  at: Date;
  amount: number | null;
  currency: string | null;
}
interface Rate {
  day: string;
  currency: string;
  rate: number;
}
interface Spend {
  day: string;
  amount: number;
  currency: string | null;
}

/** The calendar day of an instant in the project time zone. */
const localDay = (d: Date) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

function generate() {
  const r = rng(1404);
  const created = new Map<number, Date | null>();
  for (let id = 1; id <= 120; id++) created.set(id, id % 29 === 0 ? new Date(T.getTime() + DAY) : id === 3 ? null : new Date(T.getTime() - 500 * DAY));
  const rates: Rate[] = [];
  // USD from 70 days back, GBP from 40 days back; every third day missing; one rate after T.
  for (let d = 70; d >= 0; d--) {
    const day = localDay(new Date(T.getTime() - d * DAY));
    if (d % 3 !== 1) rates.push({ day, currency: 'USD', rate: Math.round((0.85 + r() * 0.1) * 10000) / 10000 });
    if (d <= 40 && d % 3 !== 2) rates.push({ day, currency: 'GBP', rate: Math.round((1.1 + r() * 0.1) * 10000) / 10000 });
  }
  rates.push({ day: localDay(new Date(T.getTime() + 2 * DAY)), currency: 'USD', rate: 100 });
  const orders: Order[] = [];
  const currencies = ['EUR', 'USD', 'GBP', 'JPY', null] as const;
  for (let i = 0; i < 1200; i++) {
    const customer_id = r() < 0.04 ? 500 + Math.floor(r() * 3) : 1 + Math.floor(r() * 120);
    const at = new Date(T.getTime() - Math.floor(r() * 90 * 86_400) * 1000);
    const x = r();
    const currency = x < 0.35 ? 'EUR' : x < 0.7 ? 'USD' : x < 0.9 ? 'GBP' : x < 0.95 ? 'JPY' : null;
    void currencies;
    orders.push({ customer_id, at, amount: r() < 0.05 ? null : Math.round(r() * 20000) / 100, currency });
  }
  const spend: Spend[] = [];
  for (let d = 0; d < 60; d++) spend.push({ day: localDay(new Date(T.getTime() - d * DAY)), amount: Math.round(r() * 100000) / 100, currency: d % 4 === 0 ? 'USD' : d % 9 === 0 ? 'JPY' : 'EUR' });
  return { created, rates, orders, spend };
}

const DATA = generate();

async function load(db: Db): Promise<void> {
  await db.query(`create table customers (id int primary key, created_at timestamptz)`);
  await db.query(`create table orders (customer_id int not null, at timestamptz not null, amount numeric, currency text)`);
  await db.query(`create table fx_rates (day date not null, currency text not null, rate numeric not null)`);
  await db.query(`create table spend (day date not null, amount numeric, currency text)`);
  const c = [...DATA.created];
  await db.query(`insert into customers values ${c.map((_x, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`, c.flatMap(([id, at]) => [id, at?.toISOString() ?? null]));
  const o = DATA.orders;
  await db.query(`insert into orders values ${o.map((_x, i) => `($${4 * i + 1}, $${4 * i + 2}, $${4 * i + 3}, $${4 * i + 4})`).join(', ')}`, o.flatMap((x) => [x.customer_id, x.at.toISOString(), x.amount, x.currency]));
  const f = DATA.rates;
  await db.query(`insert into fx_rates values ${f.map((_x, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ')}`, f.flatMap((x) => [x.day, x.currency, x.rate]));
  const s = DATA.spend;
  await db.query(`insert into spend values ${s.map((_x, i) => `($${3 * i + 1}, $${3 * i + 2}, $${3 * i + 3})`).join(', ')}`, s.flatMap((x) => [x.day, x.amount, x.currency]));
}

const CONVERT = `currency: { code: EUR, rates: { table: fx_rates, date: day, currency: currency, rate: rate } }\n`;
const tally = (withCurrency: boolean) => `tally: 1\nname: fx\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: ${TZ}\n${withCurrency ? CONVERT : ''}`;
const MODEL = `kind: Entity
name: customer
version: 1
table: customers
key: id
created_at: created_at
---
kind: Events
name: orders
version: 1
entity: customer
table: orders
entity_key: customer_id
time: at
columns: { amount: { type: number }, currency: { type: string } }
currency: { column: currency, amounts: [amount] }
---
kind: Costs
name: spend
version: 1
table: spend
time: day
amount: amount
currency: currency
`;

// ------------------------------------------------------------------------------------ the evaluator

/** The rate of a row: 1 in EUR; else the latest rate of its currency dated on or before its day; null without one. */
function rateOf(currency: string | null, day: string): number | null {
  if (currency === 'EUR') return 1;
  let best: Rate | undefined;
  for (const r of DATA.rates) if (r.currency === currency && r.day <= day && (!best || r.day > best.day)) best = r;
  return best ? best.rate : null;
}
const exists = (id: number, at: number) => DATA.created.has(id) && (DATA.created.get(id) === null || DATA.created.get(id)!.getTime() <= at);

function converted(at: number, w: number): { id: number; v: number }[] {
  const out: { id: number; v: number }[] = [];
  for (const o of DATA.orders) {
    if (!exists(o.customer_id, at) || o.at.getTime() > at || o.at.getTime() <= at - w || o.amount === null) continue;
    const rate = rateOf(o.currency, localDay(o.at));
    if (rate !== null) out.push({ id: o.customer_id, v: o.amount * rate });
  }
  return out;
}

function spendEur(at: number, w: number): number {
  let s = 0;
  for (const x of DATA.spend) {
    const t = midnight(x.day);
    if (t <= at - w || t > at) continue;
    const rate = rateOf(x.currency, x.day);
    if (rate !== null) s += x.amount * rate;
  }
  return s;
}

/** Midnight of a day in the project time zone (Europe/Berlin: UTC+2 in summer). */
function midnight(day: string): number {
  const guess = new Date(`${day}T00:00:00Z`).getTime();
  for (const off of [-2, -1, 0]) if (localDay(new Date(guess + off * 3_600_000)) === day && localDay(new Date(guess + (off - 1) * 3_600_000)) !== day) return guess + off * 3_600_000;
  throw new Error(`midnight of ${day}`);
}

const close = (a: unknown, b: number | null) => (b === null || a === null ? a === b : Math.abs(Number(a) - b) <= 1e-9 * Math.max(1, Math.abs(b)));

describe('currency data', () => {
  it('has every edge case', () => {
    const cur = new Set(DATA.orders.map((o) => o.currency));
    for (const c of ['EUR', 'USD', 'GBP', 'JPY', null]) assert.ok(cur.has(c as string | null), String(c));
    // Orders before GBP's first rate, and on days without a rate of their own.
    assert.ok(DATA.orders.some((o) => o.currency === 'GBP' && rateOf('GBP', localDay(o.at)) === null));
    assert.ok(DATA.orders.some((o) => o.currency === 'USD' && !DATA.rates.some((r) => r.currency === 'USD' && r.day === localDay(o.at)) && rateOf('USD', localDay(o.at)) !== null));
  });
});

forEachBackend('currency conversion', (backend) => {
  let tdb: TestDb | undefined;
  let db: Db;
  let catalog: Catalog;
  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    // Sessions run in the project time zone (as the CLI connects): PGlite is one session, PostgreSQL a pool.
    if (backend === 'pglite') {
      await tdb.db.query(`set time zone '${TZ}'`);
      db = tdb.db;
    } else db = await connect(tdb.url, { baseDir: '.', timezone: TZ });
    await load(db);
    const p = new Project('/virtual/fx', tally(true));
    p.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(db, p.analyze({ now: T }).definitions);
  });
  after(async () => {
    if (backend === 'postgres') await db?.close();
    await tdb?.drop();
  });
  const analyze = (yaml: string, withCurrency = true) => {
    const p = new Project('/virtual/fx', tally(withCurrency));
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/case.yaml', yaml);
    return p.analyze({ now: T, catalog });
  };
  const kpi = (metric: string) => `kind: Kpi\nname: k\nversion: 1\nowner: o\ndescription: d\nfunnel: revenue\nmetric: ${metric}\ntarget: { gte: 0, by: 2027-03-31 }\nguardrail: { gte: 0 }\n`;
  const value = async (yaml: string) => {
    const a = analyze(yaml);
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const q = a.get('Kpi', 'k')!.resolved.query!;
    assert.ok(q.k === 'metric');
    const m = compileMetric(q.metric, { asOf: { kind: 'instant', at: T }, literals: 'param' });
    await assertNoPerRowProbes(db, m.sql, m.parameters, { eventsTables: ['orders'] });
    return (await db.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]!.value;
  };

  it('a sum converts every amount at the latest rate on or before its day', async () => {
    const want = converted(T.getTime(), 30 * DAY).reduce((s, x) => s + x.v, 0);
    assert.ok(close(await value(kpi('{ sum: { stream: orders, property: amount, within: 30d } }')), want));
  });

  it('an average leaves out the amounts with no rate (not counted as 0)', async () => {
    const xs = converted(T.getTime(), 80 * DAY);
    assert.ok(close(await value(kpi('{ avg: { stream: orders, property: amount, within: 80d } }')), xs.reduce((s, x) => s + x.v, 0) / xs.length));
  });

  it('a filter on an amount compares the converted value', async () => {
    const want = converted(T.getTime(), 60 * DAY).filter((x) => x.v >= 100).length;
    assert.ok(close(await value(kpi('{ events: { stream: orders, within: 60d, where: [{ property: amount, gte: 100 }] } }')), want));
  });

  it('spend converts too; ROAS divides converted revenue by converted spend', async () => {
    assert.ok(close(await value(kpi('{ cost: { costs: spend, within: 30d } }')), spendEur(T.getTime(), 30 * DAY)));
    const rev = converted(T.getTime(), 30 * DAY).reduce((s, x) => s + x.v, 0);
    assert.ok(close(await value(kpi('{ roas: { costs: spend, within: 30d, revenue: { stream: orders, property: amount } } }')), rev / spendEur(T.getTime(), 30 * DAY)));
  });

  it('a trait sums converted amounts per customer', async () => {
    const a = analyze('kind: Trait\nname: ltv\nversion: 1\ntype: number\ncompute: { stream: orders, sum: amount, within: 60d }\n');
    const q = a.get('Trait', 'ltv')!.resolved.query!;
    assert.ok(q.k === 'values');
    const m = compileValues(q, { asOf: { kind: 'instant', at: T }, literals: 'inline' });
    const rows = (await db.query<{ key: number; value: unknown }>(m.sql, m.parameters)).rows;
    const want = new Map<number, number>();
    for (const x of converted(T.getTime(), 60 * DAY)) want.set(x.id, (want.get(x.id) ?? 0) + x.v);
    const wrong = rows.filter((r) => !close(r.value, want.has(Number(r.key)) ? want.get(Number(r.key))! : null));
    assert.deepEqual(wrong.slice(0, 5), []);
    assert.ok(want.size > 50);
  });

  it('without a conversion configured, reading an amount is refused where it is read', () => {
    const d = analyze(kpi('{ sum: { stream: orders, property: amount, within: 30d } }'), false).diagnostics.filter((x) => x.severity === 'error');
    assert.deepEqual(d.map((x) => x.code), ['currency-not-configured']);
    const text = kpi('{ sum: { stream: orders, property: amount, within: 30d } }');
    assert.equal(d[0]!.range.start.character, text.split('\n')[6]!.indexOf('amount'));
    const c = analyze(kpi('{ cost: { costs: spend, within: 30d } }'), false).diagnostics.filter((x) => x.severity === 'error');
    assert.deepEqual(c.map((x) => x.code), ['currency-not-configured']);
    // Counting orders reads no amount: fine without a conversion.
    assert.deepEqual(analyze(kpi('{ events: { stream: orders, within: 30d } }'), false).diagnostics.filter((x) => x.severity === 'error'), []);
  });
});
