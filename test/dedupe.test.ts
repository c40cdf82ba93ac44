// De-duplication (`dedupe_on`) and distinct counts (`count_distinct`): the engine's numbers against
// an independent in-memory evaluator over generated data with duplicated events, on PGlite and
// PostgreSQL, and the EXPLAIN shape of a de-duplicated read (one window pass, no per-row probe).
//
// The data: accounts (some created after T, one with no created_at) and one `acts` table read by
// four Events definitions: `raw` (no dedupe), `by_id` (`dedupe_on: [event_id]`), `by_ktt`
// (`dedupe_on: [key, type, time]`) and `by_ref` (`dedupe_on: [ref]`, a jsonb property). The rows
// have exact duplicates, the same id at a later time (sometimes with another sku or amount, and
// sometimes inside a window its first copy is outside of), the same id at the same time under
// another key or amount (the tiebreak decides), NULL ids (never duplicates, also when exactly
// equal), a duplicate whose first copy is after T, and orphan keys.
//
// The evaluator reads the documented rule (docs/language.md, "De-duplication"): rows up to T
// grouped by the dedupe values, a row with a NULL value in its own group; in each group the row
// with the earliest time, then the smallest entity key, type, declared columns in name order
// (amount, event_id, sku), NULLs last; then every form evaluates over the kept rows as usual.

import assert from 'node:assert/strict';
import { Project, compileMembers, compileMetric, compileValues, loadCatalog, previewCampaign, runFixtures, type Catalog, type SqlOptions, type Strategy } from '../engine/src/index.js';
import type { Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { assertNoPerRowProbes, type PlanNode } from './helpers/explain-shape.js';

const T = new Date('2026-06-01T00:00:00Z');
const DAY = 86_400_000;
const T3 = new Date(T.getTime() + 5 * DAY + 3_600_000);

// ------------------------------------------------------------------------------------------ data

interface Account {
  id: number;
  created_at: Date | null;
}
interface Act {
  event_id: string | null;
  account_id: number;
  kind: string;
  at: Date;
  sku: string | null;
  amount: number | null;
  ref: string | null;
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

function generate(): { accounts: Account[]; acts: Act[] } {
  const r = rng(14);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!;
  const accounts: Account[] = [];
  for (let id = 1; id <= 160; id++) {
    const created = id % 37 === 0 ? new Date(T.getTime() + 2 * DAY) : id === 5 ? null : new Date(T.getTime() - (400 + Math.floor(r() * 300)) * DAY);
    accounts.push({ id, created_at: created });
  }
  const skus = ['a1', 'a2', 'b1', 'b2', 'c1', 'c2', 'd1'];
  const acts: Act[] = [];
  let n = 0;
  for (let i = 0; i < 2600; i++) {
    const account_id = r() < 0.03 ? 900 + Math.floor(r() * 5) : 1 + Math.floor(r() * 160); // orphans
    const kind = r() < 0.55 ? 'purchase' : 'login';
    // Whole seconds, 0..200 days before T, some after T.
    const at = new Date(T.getTime() - Math.floor(r() * 200 * 86_400) * 1000 + (r() < 0.04 ? 3 * DAY : 0));
    const sku = kind === 'purchase' && r() < 0.9 ? pick(skus) : null;
    const amount = kind === 'purchase' && r() < 0.92 ? Math.round(r() * 20000) / 100 : null;
    const event_id = r() < 0.05 ? null : `e${++n}`;
    const ref = r() < 0.1 ? null : `r${Math.floor(r() * 2200)}`; // random collisions: property duplicates
    const row: Act = { event_id, account_id, kind, at, sku, amount, ref };
    acts.push(row);
    const d = r();
    if (d < 0.08) acts.push({ ...row }); // exact duplicate (also of a NULL id: kept twice)
    else if (d < 0.14) acts.push({ ...row, at: new Date(at.getTime() + Math.floor(1 + r() * 40) * DAY), sku: r() < 0.5 ? pick(skus) : sku }); // same id, later
    else if (d < 0.17) acts.push({ ...row, at: new Date(at.getTime() - Math.floor(1 + r() * 40) * DAY), amount: amount === null ? 5 : amount + 1 }); // same id, earlier, another amount
    else if (d < 0.19) acts.push({ ...row, account_id: row.account_id + 1, amount: 1 }); // same id and time, another key: tiebreak
    else if (d < 0.21) acts.push({ ...row, amount: amount === null ? 3 : amount - 0.5, sku: 'z9' }); // same id and time, smaller amount: tiebreak
  }
  // Planted: a duplicate whose first copy is after T (invisible at T, counted once at T3).
  acts.push({ event_id: 'late', account_id: 1, kind: 'purchase', at: new Date(T.getTime() + DAY), sku: 'late', amount: 10, ref: 'rlate' });
  acts.push({ event_id: 'late', account_id: 1, kind: 'purchase', at: new Date(T.getTime() + 2 * DAY), sku: 'late', amount: 10, ref: 'rlate' });
  // Planted: first copy outside a 30-day window, second inside: no purchase in the window after dedupe.
  acts.push({ event_id: 'edge', account_id: 2, kind: 'purchase', at: new Date(T.getTime() - 35 * DAY), sku: 'a1', amount: 50, ref: 'redge' });
  acts.push({ event_id: 'edge', account_id: 2, kind: 'purchase', at: new Date(T.getTime() - 3 * DAY), sku: 'a1', amount: 50, ref: 'redge' });
  return { accounts, acts };
}

const DATA = generate();

async function load(db: Db): Promise<void> {
  await db.query(`create table accounts (id int primary key, created_at timestamptz)`);
  await db.query(`create table acts (event_id text, account_id int, kind text not null, at timestamptz not null, sku text, amount numeric, properties jsonb)`);
  const a = DATA.accounts;
  await db.query(`insert into accounts (id, created_at) values ${a.map((_x, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')}`, a.flatMap((x) => [x.id, x.created_at?.toISOString() ?? null]));
  for (let i = 0; i < DATA.acts.length; i += 500) {
    const chunk = DATA.acts.slice(i, i + 500);
    const params: unknown[] = [];
    const values = chunk.map((x) => {
      params.push(x.event_id, x.account_id, x.kind, x.at.toISOString(), x.sku, x.amount, x.ref === null ? '{}' : JSON.stringify({ ref: x.ref }));
      const b = params.length - 7;
      return `($${b + 1}, $${b + 2}, $${b + 3}, $${b + 4}, $${b + 5}, $${b + 6}, $${b + 7}::jsonb)`;
    });
    await db.query(`insert into acts (event_id, account_id, kind, at, sku, amount, properties) values ${values.join(', ')}`, params);
  }
}

// ------------------------------------------------------------------------------------ definitions

const TALLY = `tally: 1\nname: dedupe\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n`;

const stream = (name: string, dedupe?: string) => `kind: Events
name: ${name}
version: 1
entity: account
table: acts
entity_key: account_id
time: at
type: kind
properties: properties
property_types: { ref: string }
columns: { sku: { type: string }, amount: { type: number }, event_id: { type: string } }
${dedupe ? `dedupe_on: ${dedupe}\n` : ''}`;

const MODEL = [
  `kind: Entity\nname: account\nversion: 1\ntable: accounts\nkey: id\ncreated_at: created_at\n`,
  stream('raw'),
  stream('by_id', '[event_id]'),
  stream('by_ktt', '[key, type, time]'),
  stream('by_ref', '[ref]'),
].join('---\n');

type Dedupe = 'raw' | 'by_id' | 'by_ktt' | 'by_ref';
const STREAMS: Dedupe[] = ['raw', 'by_id', 'by_ktt', 'by_ref'];

// ------------------------------------------------------------------------------------ the evaluator

/** The documented order within a duplicate group: time, key, type, amount, event_id, sku; NULLs last. */
function cmp(a: Act, b: Act): number {
  const keys: ((x: Act) => number | string | null)[] = [(x) => x.at.getTime(), (x) => x.account_id, (x) => x.kind, (x) => x.amount, (x) => x.event_id, (x) => x.sku];
  for (const k of keys) {
    const va = k(a);
    const vb = k(b);
    if (va === vb) continue;
    if (va === null) return 1;
    if (vb === null) return -1;
    return va < vb ? -1 : 1;
  }
  return 0;
}

/** The rows a stream shows as of `at`. */
function visible(s: Dedupe, at: number): Act[] {
  const upTo = DATA.acts.filter((x) => x.at.getTime() <= at);
  if (s === 'raw') return upTo;
  const keyOf = (x: Act): (string | number | null)[] => (s === 'by_id' ? [x.event_id] : s === 'by_ref' ? [x.ref] : [x.account_id, x.kind, x.at.getTime()]);
  const groups = new Map<string, Act[]>();
  const out: Act[] = [];
  for (const x of upTo) {
    const k = keyOf(x);
    if (k.some((v) => v === null)) {
      out.push(x); // a NULL is never a duplicate
      continue;
    }
    const g = JSON.stringify(k);
    const l = groups.get(g);
    if (l) l.push(x);
    else groups.set(g, [x]);
  }
  for (const l of groups.values()) out.push([...l].sort(cmp)[0]!);
  return out;
}

function exists(id: number, at: number): boolean {
  const a = DATA.accounts.find((x) => x.id === id);
  return !!a && (a.created_at === null || a.created_at.getTime() <= at);
}

interface Query {
  kind?: string;
  within?: number; // days
  where?: (x: Act) => boolean;
}

function matching(s: Dedupe, q: Query, at: number): Act[] {
  return visible(s, at).filter((x) => (!q.kind || x.kind === q.kind) && (q.within === undefined || x.at.getTime() > at - q.within * DAY) && (!q.where || q.where(x)));
}

type Agg = 'count' | 'sum' | 'distinct' | 'last_amount';

function perAccount(s: Dedupe, q: Query, agg: Agg, at: number): Map<number, number | null> {
  const rows = matching(s, q, at);
  const out = new Map<number, number | null>();
  for (const acc of DATA.accounts) {
    if (!exists(acc.id, at)) continue;
    const mine = rows.filter((x) => x.account_id === acc.id);
    if (agg === 'count') out.set(acc.id, mine.length);
    else if (agg === 'distinct') out.set(acc.id, new Set(mine.map((x) => x.sku).filter((v) => v !== null)).size);
    else if (agg === 'sum') out.set(acc.id, mine.length === 0 ? null : mine.reduce((t, x) => t + (x.amount ?? 0), 0));
    else {
      // last: amount of the latest matching row (its time; ties by the same order, last wins)
      const sorted = [...mine].filter((x) => x.amount !== null).sort((a, b) => a.at.getTime() - b.at.getTime());
      out.set(acc.id, sorted.length ? sorted[sorted.length - 1]!.amount : null);
    }
  }
  return out;
}

function kpiValue(s: Dedupe, form: string, q: Query, at: number): number | null {
  const rows = matching(s, q, at).filter((x) => exists(x.account_id, at));
  switch (form) {
    case 'events':
      return rows.length;
    case 'sum':
      return rows.reduce((t, x) => t + (x.amount ?? 0), 0);
    case 'count_distinct':
      return new Set(rows.map((x) => x.sku).filter((v) => v !== null)).size;
    case 'active':
      return new Set(rows.map((x) => x.account_id)).size;
    case 'distinct_per_order': {
      const d = new Set(rows.map((x) => x.sku).filter((v) => v !== null)).size;
      return rows.length === 0 ? null : d / rows.length;
    }
    case 'retention': {
      // cohort: first purchase c in (A - 90d, A - 14d]; returned: a login in (c, c + 14d]; existing entities only
      const all = visible(s, at).filter((x) => exists(x.account_id, at));
      const first = new Map<number, number>();
      for (const x of all) if (x.kind === 'purchase') first.set(x.account_id, Math.min(first.get(x.account_id) ?? Infinity, x.at.getTime()));
      const cohort = [...first].filter(([, c]) => c > at - 90 * DAY && c <= at - 14 * DAY);
      if (cohort.length === 0) return null;
      const back = cohort.filter(([k, c]) => all.some((x) => x.account_id === k && x.kind === 'login' && x.at.getTime() > c && x.at.getTime() <= c + 14 * DAY));
      return back.length / cohort.length;
    }
    case 'churn': {
      const p = q.within!;
      const all = visible(s, at).filter((x) => (!q.kind || x.kind === q.kind) && exists(x.account_id, at));
      const prior = new Set(all.filter((x) => x.at.getTime() > at - 2 * p * DAY && x.at.getTime() <= at - p * DAY).map((x) => x.account_id));
      const recent = new Set(all.filter((x) => x.at.getTime() > at - p * DAY).map((x) => x.account_id));
      if (prior.size === 0) return null;
      return [...prior].filter((k) => !recent.has(k)).length / prior.size;
    }
  }
  throw new Error(form);
}

// ------------------------------------------------------------------------------------------ cases

interface TraitCase {
  name: string;
  compute: (s: Dedupe) => string;
  query: Query;
  agg: Agg;
}

const TRAITS: TraitCase[] = [
  { name: 'purchases', compute: (s) => `{ stream: ${s}, event: purchase }`, query: { kind: 'purchase' }, agg: 'count' },
  { name: 'purchases_30d', compute: (s) => `{ stream: ${s}, event: purchase, within: 30d }`, query: { kind: 'purchase', within: 30 }, agg: 'count' },
  { name: 'spend', compute: (s) => `{ stream: ${s}, event: purchase, sum: amount }`, query: { kind: 'purchase' }, agg: 'sum' },
  { name: 'skus', compute: (s) => `{ stream: ${s}, event: purchase, count_distinct: { property: sku } }`, query: { kind: 'purchase' }, agg: 'distinct' },
  { name: 'skus_60d', compute: (s) => `{ stream: ${s}, within: 60d, count_distinct: { property: sku } }`, query: { within: 60 }, agg: 'distinct' },
  { name: 'last_amount', compute: (s) => `{ stream: ${s}, event: purchase, last: amount, where: [{ property: amount, is_null: false }] }`, query: { kind: 'purchase' }, agg: 'last_amount' },
];

interface SegmentCase {
  name: string;
  where: (s: Dedupe) => string;
  member: (s: Dedupe, id: number, at: number) => boolean;
}

const SEGMENTS: SegmentCase[] = [
  {
    name: 'three distinct skus and two purchases in 60d',
    where: (s) => `{ all: [{ stream: ${s}, event: purchase, count_distinct: { property: sku }, gte: 3 }, { stream: ${s}, event: purchase, within: 60d, gte: 2 }] }`,
    member: (s, id, at) => perAccount(s, { kind: 'purchase' }, 'distinct', at).get(id)! >= 3 && perAccount(s, { kind: 'purchase', within: 60 }, 'count', at).get(id)! >= 2,
  },
  {
    name: 'a purchase in 30d (probe)',
    where: (s) => `{ stream: ${s}, event: purchase, within: 30d }`,
    member: (s, id, at) => perAccount(s, { kind: 'purchase', within: 30 }, 'count', at).get(id)! >= 1,
  },
  {
    name: 'at most one distinct sku over 90d',
    where: (s) => `{ stream: ${s}, within: 90d, count_distinct: { property: sku }, lte: 1 }`,
    member: (s, id, at) => perAccount(s, { within: 90 }, 'distinct', at).get(id)! <= 1,
  },
];

interface KpiCase {
  name: string;
  metric: (s: Dedupe) => string;
  form: string;
  query: Query;
}

const KPIS: KpiCase[] = [
  { name: 'purchases 30d', metric: (s) => `{ events: { stream: ${s}, event: purchase, within: 30d } }`, form: 'events', query: { kind: 'purchase', within: 30 } },
  { name: 'revenue 90d', metric: (s) => `{ sum: { stream: ${s}, property: amount, event: purchase, within: 90d } }`, form: 'sum', query: { kind: 'purchase', within: 90 } },
  { name: 'distinct skus 30d', metric: (s) => `{ count_distinct: { stream: ${s}, property: sku, event: purchase, within: 30d } }`, form: 'count_distinct', query: { kind: 'purchase', within: 30 } },
  { name: 'distinct skus all time', metric: (s) => `{ count_distinct: { stream: ${s}, property: sku } }`, form: 'count_distinct', query: {} },
  { name: 'active 30d', metric: (s) => `{ active: { stream: ${s}, within: 30d } }`, form: 'active', query: { within: 30 } },
  {
    name: 'distinct skus per purchase 60d',
    metric: (s) => `{ ratio: { numerator: { count_distinct: { stream: ${s}, property: sku, event: purchase, within: 60d } }, denominator: { events: { stream: ${s}, event: purchase, within: 60d } } } }`,
    form: 'distinct_per_order',
    query: { kind: 'purchase', within: 60 },
  },
  {
    name: 'retention 14d of purchase cohorts',
    metric: (s) => `{ retention: { cohort: { stream: ${s}, event: purchase, within: 90d }, return: { stream: ${s}, event: login }, days: 14 } }`,
    form: 'retention',
    query: {},
  },
  { name: 'purchase churn 30d', metric: (s) => `{ churn: { stream: ${s}, event: purchase, within: 30d } }`, form: 'churn', query: { kind: 'purchase', within: 30 } },
];

const close = (a: number, b: number) => a === b || Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1);
const same = (engine: unknown, oracle: number | null) => (oracle === null ? engine === null || engine === undefined : engine !== null && engine !== undefined && close(Number(engine), oracle));

// ------------------------------------------------------------------------------------------ suite

describe('dedupe: the planted data', () => {
  it('has every kind of duplicate, so no case passes vacuously', () => {
    const at = T.getTime();
    const raw = visible('raw', at).length;
    for (const s of ['by_id', 'by_ktt', 'by_ref'] as const) assert.ok(visible(s, at).length < raw, `${s} removes rows`);
    const ids = DATA.acts.filter((x) => x.event_id !== null).map((x) => x.event_id);
    assert.ok(ids.length - new Set(ids).size > 200, 'duplicated ids');
    const nulls = DATA.acts.filter((x) => x.event_id === null);
    assert.ok(nulls.length > 50, 'NULL ids');
    assert.ok(visible('by_id', at).filter((x) => x.event_id === null).length === nulls.filter((x) => x.at.getTime() <= at).length, 'NULL ids all kept');
    // The planted window edge: the raw stream has a purchase of account 2 in 30d from the late copy; by_id keeps the early one.
    assert.ok(matching('raw', { kind: 'purchase', within: 30 }, at).some((x) => x.event_id === 'edge'));
    assert.ok(!matching('by_id', { kind: 'purchase', within: 30 }, at).some((x) => x.event_id === 'edge'));
    // Every form's answer moves with the dedupe somewhere (the cases are not vacuous).
    for (const agg of ['count', 'sum', 'distinct', 'last_amount'] as const) {
      const raw = perAccount('raw', { kind: 'purchase' }, agg, at);
      const dd = perAccount('by_id', { kind: 'purchase' }, agg, at);
      assert.ok([...raw].some(([k, v]) => dd.get(k) !== v), `trait ${agg}: dedupe changes some value`);
    }
    for (const form of ['events', 'sum', 'retention', 'churn'] as const) {
      const q = form === 'retention' ? {} : { kind: 'purchase', within: 30 };
      // (A first event is the earliest copy either way, so retention moves only with by_ref's cross-account groups.)
      const other = form === 'retention' ? 'by_ref' : 'by_id';
      assert.notEqual(kpiValue('raw', form, q, at), kpiValue(other, form, q, at), `kpi ${form}: dedupe changes the value`);
    }
  });
});

forEachBackend('dedupe and count_distinct', (backend) => {
  let tdb: TestDb | undefined;
  let catalog: Catalog;

  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await load(tdb.db);
    const p = new Project('/virtual/dedupe', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(tdb.db, p.analyze({ now: T }).definitions);
  });
  after(async () => {
    await tdb?.drop();
  });

  const analyze = (yaml: string, at: Date) => {
    const p = new Project('/virtual/dedupe', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/case.yaml', yaml);
    const a = p.analyze({ now: at, catalog });
    const errors = a.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((d) => `${d.code} ${d.message}`), []);
    return a;
  };

  for (const at of [T, T3]) {
    for (const s of STREAMS) {
      // `last` on the raw stream: rows tied in time (the planted same-time copies) have no defined order.
      for (const c of TRAITS.filter((t) => !(s === 'raw' && t.agg === 'last_amount'))) {
        it(`trait ${c.name} over ${s} @ ${at.toISOString()}`, async () => {
          const a = analyze(`kind: Trait\nname: t\nversion: 1\ntype: number\ncompute: ${c.compute(s)}\n`, at);
          const q = a.get('Trait', 't')!.resolved.query!;
          assert.ok(q.k === 'values');
          const expected = perAccount(s, c.query, c.agg, at.getTime());
          const m = compileValues(q, { asOf: { kind: 'instant', at }, literals: 'param' });
          const rows = (await tdb!.db.query<{ key: number; value: unknown }>(m.sql, m.parameters)).rows;
          const got = new Map(rows.map((r) => [Number(r.key), r.value]));
          const wrong = [...expected].filter(([k, v]) => !same(got.get(k), v)).map(([k, v]) => `${k}: engine ${String(got.get(k))} oracle ${v}`);
          assert.deepEqual(wrong.slice(0, 10), [], `${wrong.length} of ${expected.size} differ`);
          assert.equal(rows.length, expected.size, 'one row per existing account');
          assert.ok(new Set(expected.values()).size > 1, 'oracle: constant values');
        });
      }
      for (const c of SEGMENTS) {
        it(`segment ${c.name} over ${s} @ ${at.toISOString()}`, async () => {
          const a = analyze(`kind: Segment\nname: seg\nversion: 1\nwhere: ${c.where(s)}\n`, at);
          const q = a.get('Segment', 'seg')!.resolved.query!;
          assert.ok(q.k === 'members');
          const expected = DATA.accounts.filter((x) => exists(x.id, at.getTime()) && c.member(s, x.id, at.getTime())).map((x) => x.id);
          assert.ok(expected.length > 0 && expected.length < DATA.accounts.length - 5, `oracle: trivial segment (${expected.length})`);
          for (const strategy of ['auto', 'pass', 'probe'] as Strategy[]) {
            for (const literals of ['param', 'inline'] as const) {
              const opts: SqlOptions = { asOf: { kind: 'instant', at }, literals, strategy };
              const m = compileMembers(q, opts);
              const got = (await tdb!.db.query<{ key: number }>(m.sql, m.parameters)).rows.map((r) => Number(r.key)).sort((x, y) => x - y);
              assert.deepEqual(got, expected, `${strategy}/${literals}`);
            }
          }
        });
      }
      for (const c of KPIS) {
        it(`kpi ${c.name} over ${s} @ ${at.toISOString()}`, async () => {
          const a = analyze(`kind: Kpi\nname: k\nversion: 1\nowner: growth\ndescription: d\nfunnel: revenue\nmetric: ${c.metric(s)}\ntarget: { gte: 0, by: 2027-03-31 }\n`, at);
          const q = a.get('Kpi', 'k')!.resolved.query!;
          assert.ok(q.k === 'metric');
          const expected = kpiValue(s, c.form, c.query, at.getTime());
          for (const literals of ['param', 'inline'] as const) {
            const m = compileMetric(q.metric, { asOf: { kind: 'instant', at }, literals });
            const got = (await tdb!.db.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]!.value;
            assert.ok(same(got, expected), `${literals}: engine ${String(got)} oracle ${expected}`);
          }
        });
      }
    }
  }

  it('a campaign trigger over a de-duplicated stream previews (the trigger reads the stream through the same source)', async () => {
    const yaml = [
      `kind: Segment\nname: everyone\nversion: 1\nwhere: { stream: by_id }\n`,
      `kind: Campaign\nname: c\nversion: 1\nowner: o\ndescription: d\naudience: { segment: everyone }\nchannel: email\ntrigger: { stream: by_id, event: purchase }\nentry: once\nvariants:\n  - { name: control, weight: 10, holdout: true }\n  - { name: mail, weight: 90 }\ngoal: { stream: by_id, event: login, within: 7d }\n`,
    ].join('---\n');
    const a = analyze(yaml, T);
    const pv = await previewCampaign(tdb!.db, a, 'c', { asOf: T });
    assert.ok(pv.audience > 0, JSON.stringify(pv).slice(0, 300));
  });

  it('a de-duplicated read is one window pass over the stream, never a probe per row', async () => {
    const yaml = [
      `kind: Trait\nname: skus\nversion: 1\ntype: number\ncompute: { stream: by_id, event: purchase, count_distinct: { property: sku } }\n`,
      `kind: Segment\nname: seg\nversion: 1\nwhere: { all: [{ stream: by_id, event: purchase, within: 30d }] }\n`,
      `kind: Kpi\nname: k\nversion: 1\nowner: growth\ndescription: d\nfunnel: revenue\nmetric: { count_distinct: { stream: by_id, property: sku, event: purchase, within: 30d } }\ntarget: { gte: 0, by: 2027-03-31 }\n`,
    ].join('---\n');
    const a = analyze(yaml, T);
    const opts: SqlOptions = { asOf: { kind: 'instant', at: T }, literals: 'inline' };
    const trait = a.get('Trait', 'skus')!.resolved.query!;
    const seg = a.get('Segment', 'seg')!.resolved.query!;
    const kpi = a.get('Kpi', 'k')!.resolved.query!;
    assert.ok(trait.k === 'values' && seg.k === 'members' && kpi.k === 'metric');
    for (const [label, sqlText] of [
      ['trait', compileValues(trait, opts).sql],
      ['segment (probe)', compileMembers(seg, opts).sql],
      ['kpi', compileMetric(kpi.metric, opts).sql],
    ] as const) {
      const plan = await assertNoPerRowProbes(tdb!.db, sqlText, [], { eventsTables: ['acts'], label });
      const count = (n: PlanNode, f: (x: PlanNode) => boolean): number => (f(n) ? 1 : 0) + (n.Plans ?? []).reduce((t, c) => t + count(c, f), 0);
      assert.equal(count(plan, (n) => n['Node Type'] === 'WindowAgg'), 1, `${label}: one WindowAgg (the dedupe pass)`);
      assert.equal(count(plan, (n) => n['Relation Name'] === 'acts'), 1, `${label}: one scan of the events`);
    }
  });
});

// ------------------------------------------------------------------------------ fixtures, diagnostics

const FIXTURE_MODEL = `kind: Entity
name: customer
version: 1
table: customers
key: id
created_at: created_at
---
kind: Events
name: events
version: 1
table: events
entity_key: customer_id
time: occurred_at
type: event_name
properties: properties
property_types: { amount: number }
dedupe_on: [event_id]
---
kind: Trait
name: spend
version: 1
type: number
compute: { event: purchase, sum: amount }
---
kind: Trait
name: skus
version: 1
type: number
compute: { event: purchase, count_distinct: { property: sku } }
---
kind: Test
name: duplicates_count_once
version: 1
subject: { trait: spend }
as_of: 2026-06-01T00:00:00Z
given:
  customers:
    - { id: 1, created_at: 2025-01-01 }
    - { id: 2, created_at: 2025-01-01 }
  events:
    - { event_id: a, customer_id: 1, event_name: purchase, occurred_at: 2026-05-01T10:00:00Z, properties: { amount: 100, sku: x } }
    - { event_id: a, customer_id: 1, event_name: purchase, occurred_at: 2026-05-01T10:00:00Z, properties: { amount: 100, sku: x } }
    - { event_id: a, customer_id: 1, event_name: purchase, occurred_at: 2026-05-03T10:00:00Z, properties: { amount: 100, sku: x } }
    - { event_id: b, customer_id: 1, event_name: purchase, occurred_at: 2026-05-02T10:00:00Z, properties: { amount: 20, sku: y } }
    - { customer_id: 2, event_name: purchase, occurred_at: 2026-05-02T10:00:00Z, properties: { amount: 5, sku: x } }
    - { customer_id: 2, event_name: purchase, occurred_at: 2026-05-02T10:00:00Z, properties: { amount: 5, sku: x } }
expect: { values: { 1: 120, 2: 10 } }
---
kind: Test
name: distinct_skus
version: 1
subject: { trait: skus }
as_of: 2026-06-01T00:00:00Z
given:
  customers:
    - { id: 1, created_at: 2025-01-01 }
    - { id: 2, created_at: 2025-01-01 }
  events:
    - { event_id: a, customer_id: 1, event_name: purchase, occurred_at: 2026-05-01T10:00:00Z, properties: { amount: 100, sku: x } }
    - { event_id: a, customer_id: 1, event_name: purchase, occurred_at: 2026-05-03T10:00:00Z, properties: { amount: 100, sku: z } }
    - { event_id: b, customer_id: 1, event_name: purchase, occurred_at: 2026-05-02T10:00:00Z, properties: { amount: 20, sku: y } }
    - { event_id: c, customer_id: 1, event_name: purchase, occurred_at: 2026-05-02T11:00:00Z, properties: { amount: 20 } }
expect: { values: { 1: 2, 2: 0 } }
`;

describe('dedupe in tally test fixtures', () => {
  it('fixture tables get the dedupe column, and duplicates count once', async function () {
    this.timeout(60_000);
    const p = new Project('/virtual/fx', TALLY);
    p.setFile('definitions/model.yaml', FIXTURE_MODEL);
    const a = p.analyze({ now: T });
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
    const report = await runFixtures(a);
    assert.deepEqual(report.tests.map((t) => [t.name, t.status, t.message ?? '']), [
      ['duplicates_count_once', 'passed', ''],
      ['distinct_skus', 'passed', ''],
    ]);
  });
});

describe('dedupe_on and count_distinct diagnostics', () => {
  const diags = (model: string, extra = '', catalog?: Catalog) => {
    const p = new Project('/virtual/d', TALLY);
    p.setFile('definitions/model.yaml', model);
    if (extra) p.setFile('definitions/x.yaml', extra);
    return p.analyze({ now: T, catalog }).diagnostics.map((d) => `${d.severity} ${d.code}: ${d.message}`);
  };
  const ev = (dedupe: string) => FIXTURE_MODEL.split('---\n').slice(0, 2).join('---\n').replace('dedupe_on: [event_id]', `dedupe_on: ${dedupe}`);
  const catalog: Catalog = {
    tables: new Map([
      ['public.customers', { schema: 'public', name: 'customers', columns: new Map([['id', { name: 'id', type: 'number', pgType: 'integer' }], ['created_at', { name: 'created_at', type: 'timestamp', pgType: 'timestamptz' }]]) }],
      [
        'public.events',
        {
          schema: 'public',
          name: 'events',
          columns: new Map([
            ['customer_id', { name: 'customer_id', type: 'number', pgType: 'integer' }],
            ['occurred_at', { name: 'occurred_at', type: 'timestamp', pgType: 'timestamptz' }],
            ['event_name', { name: 'event_name', type: 'string', pgType: 'text' }],
            ['properties', { name: 'properties', type: 'json', pgType: 'jsonb' }],
            ['event_id', { name: 'event_id', type: 'string', pgType: 'text' }],
          ]),
        },
      ],
    ]),
    searchPath: ['public'],
    eventTypes: new Map(),
    propertyKeys: new Map(),
  } as Catalog;

  it('accepts roles, columns, declared properties', () => {
    assert.deepEqual(diags(ev('[event_id]'), '', catalog).filter((d) => !d.startsWith('warning smart')), []);
    assert.deepEqual(diags(ev('[key, type, time]'), '', catalog), []);
    assert.deepEqual(diags(ev('[amount]'), '', catalog), []);
  });
  it('an unknown column with a database: error with did-you-mean', () => {
    const d = diags(ev('[evnt_id]'), '', catalog);
    assert.equal(d.length, 1, d.join('\n'));
    assert.match(d[0]!, /^error unknown-column: .*evnt_id.*did you mean 'event_id'/);
  });
  it('offline: a name close to a known one is a warning, others are taken as columns', () => {
    const d = diags(ev('[amout]'));
    assert.equal(d.length, 1, d.join('\n'));
    assert.match(d[0]!, /^warning unknown-column: .*did you mean 'amount'/);
    assert.deepEqual(diags(ev('[event_id]')), []);
  });
  it('a repeated name, and type without a type column', () => {
    assert.match(diags(ev('[event_id, event_id]'), '', catalog).join('\n'), /warning ignored-key: 'event_id' is already in `dedupe_on`/);
    assert.match(diags(ev('[type]').replace('type: event_name\n', ''), '', catalog).join('\n'), /error no-type-column/);
  });
  it('count_distinct misuse', () => {
    const model = ev('[event_id]');
    const trait = (compute: string) => diags(model, `kind: Trait\nname: t\nversion: 1\ntype: number\ncompute: ${compute}\n`).join('\n');
    assert.match(trait('{ event: purchase, count_distinct: sku }'), /error wrong-type: `count_distinct` must be an object/);
    assert.match(trait('{ event: purchase, count_distinct: {} }'), /error missing-key: `count_distinct` is missing the required key `property`/);
    assert.match(trait('{ event: purchase, count_distinct: { property: sku }, sum: amount }'), /error conflicting-aggregate/);
    assert.match(
      diags(model, `kind: Trait\nname: t\nversion: 1\ntype: string\ncompute: { event: purchase, count_distinct: { property: sku } }\n`).join('\n'),
      /error type-mismatch: this trait computes a number/,
    );
    const seg = diags(model, `kind: Segment\nname: s\nversion: 1\nwhere: { event: purchase, count_distinct: { property: sku } }\n`).join('\n');
    assert.match(seg, /error missing-operator: `count_distinct` needs an operator/);
    const kpi = diags(model, `kind: Kpi\nname: k\nversion: 1\nowner: o\ndescription: d\nfunnel: revenue\nmetric: { count_distinct: { event: purchase } }\ntarget: { gte: 0, by: 2027-03-31 }\nguardrail: { gte: 0 }\n`).join('\n');
    assert.match(kpi, /error missing-key: `count_distinct` is missing the required key `property`/);
  });
});
