// Cohort retention tables (`kind: Cohort`) and the KPI retention form's attribute cohort, against
// an independent in-memory evaluator over generated data, on PGlite and PostgreSQL. The project
// time zone is Europe/Berlin: weeks start Monday 00:00 local, one week holds the DST change
// (2026-10-25), cohort instants sit exactly on local midnights and period boundaries, return
// events sit exactly on window ends (inclusive) and on c itself (exclusive). The data has NULL
// cohort instants, entities created after T (and NULL created_at), orphan event keys, cohort
// instants after T, empty cohorts and immature cells. Also: the D_n cell equals the KPI retention
// form with days n over the same cohort; the SQL reads the events in set-based scans (EXPLAIN).

import assert from 'node:assert/strict';
import { Project, compileCohort, compileMetric, type Analysis } from '../engine/src/index.js';
import type { IrCohort, IrMetric } from '../engine/src/ir/ir.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { cohortRows } from '../engine/src/preview/cohort.js';
import { createTestDb, forEachBackend, type Backend } from './helpers/databases.js';
import { explainJson, perRowProbes } from './helpers/explain-shape.js';

const TZ = 'Europe/Berlin';
const DAY = 86_400_000;

// ---- time in a zone, independently of the engine -------------------------------------------------

const fmt = new Intl.DateTimeFormat('en-US', { timeZone: TZ, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', weekday: 'short' });
interface Local { y: number; mo: number; d: number; h: number; mi: number; s: number; ms: number; wd: number }
const WD: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
function local(t: number): Local {
  const p = Object.fromEntries(fmt.formatToParts(new Date(t)).map((x) => [x.type, x.value]));
  return { y: +p.year!, mo: +p.month!, d: +p.day!, h: +p.hour!, mi: +p.minute!, s: +p.second!, ms: ((t % 1000) + 1000) % 1000, wd: WD[p.weekday!]! };
}
/** The instant of a local wall time (not in a DST gap or overlap: the generator avoids 01:00-04:00). */
function instant(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  const wall = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  let t = wall;
  for (let i = 0; i < 3; i++) {
    const l = local(t);
    t += wall - Date.UTC(l.y, l.mo - 1, l.d, l.h, l.mi, l.s, l.ms);
  }
  return t;
}
/** PostgreSQL's timestamptz + 'n days' / 'n months' in the session time zone: the wall clock moves. */
function addLocalDays(t: number, n: number): number {
  const l = local(t);
  const w = new Date(Date.UTC(l.y, l.mo - 1, l.d + n));
  return instant(w.getUTCFullYear(), w.getUTCMonth() + 1, w.getUTCDate(), l.h, l.mi, l.s, l.ms);
}
function addLocalMonths(t: number, n: number): number {
  const l = local(t);
  const first = new Date(Date.UTC(l.y, l.mo - 1 + n, 1));
  const last = new Date(Date.UTC(first.getUTCFullYear(), first.getUTCMonth() + 1, 0)).getUTCDate();
  return instant(first.getUTCFullYear(), first.getUTCMonth() + 1, Math.min(l.d, last), l.h, l.mi, l.s, l.ms);
}
function periodStart(t: number, every: 'week' | 'month', back = 0): number {
  const l = local(t);
  if (every === 'month') {
    const f = new Date(Date.UTC(l.y, l.mo - 1 - back, 1));
    return instant(f.getUTCFullYear(), f.getUTCMonth() + 1, 1);
  }
  const m = new Date(Date.UTC(l.y, l.mo - 1, l.d - l.wd - 7 * back));
  return instant(m.getUTCFullYear(), m.getUTCMonth() + 1, m.getUTCDate());
}

// ---- generated data ------------------------------------------------------------------------------

interface Customer { id: number; created_at: number | null; signed_up: number | null }
interface Event { customer_id: number; occurred_at: number; event_name: string; amount: number | null }

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const T_MAIN = instant(2026, 11, 2); // Monday 00:00 local: the current week starts at T
const AS_OFS = [T_MAIN, instant(2026, 11, 4, 15, 30), instant(2026, 10, 25, 12, 0), instant(2026, 12, 1)];

function generate(seed: number): { customers: Customer[]; events: Event[] } {
  const r = rng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)]!;
  const from = instant(2026, 5, 1);
  const span = instant(2026, 12, 10) - from;
  const someInstant = (): number => {
    const day = new Date(from + Math.floor(r() * (span / DAY)) * DAY);
    const l = local(day.getTime());
    if (r() < 0.3) return instant(l.y, l.mo, l.d); // local midnight
    return instant(l.y, l.mo, l.d, 4 + Math.floor(r() * 20), Math.floor(r() * 60), Math.floor(r() * 60), Math.floor(r() * 1000));
  };
  const boundaries = [instant(2026, 10, 19), instant(2026, 10, 26), instant(2026, 11, 2), instant(2026, 10, 1), instant(2026, 11, 1), instant(2026, 10, 25, 12)];
  const customers: Customer[] = [];
  const events: Event[] = [];
  for (let id = 1; id <= 400; id++) {
    const signed = r() < 0.1 ? null : r() < 0.15 ? pick(boundaries) : someInstant();
    const created = r() < 0.05 ? null : r() < 0.9 && signed !== null ? signed : someInstant();
    customers.push({ id, created_at: created, signed_up: signed });
    const nSignups = r() < 0.15 ? 0 : r() < 0.8 ? 1 : 2;
    let first: number | undefined;
    for (let i = 0; i < nSignups; i++) {
      const t = i === 0 && signed !== null && r() < 0.7 ? signed : someInstant();
      first = first === undefined ? t : Math.min(first, t);
      events.push({ customer_id: id, occurred_at: t, event_name: 'signup', amount: null });
    }
    for (const c of [signed, first]) {
      if (c === undefined || c === null) continue;
      const n = Math.floor(r() * 10);
      for (let i = 0; i < n; i++) events.push({ customer_id: id, occurred_at: c + Math.floor((r() * 120 - 10) * DAY), event_name: pick(['login', 'login', 'purchase']), amount: Math.floor(r() * 100) });
      // Ties at window edges: c itself (excluded), c + 1/7 days and c + 1 month (included).
      if (r() < 0.3) events.push({ customer_id: id, occurred_at: c, event_name: 'login', amount: null });
      if (r() < 0.3) events.push({ customer_id: id, occurred_at: addLocalDays(c, pick([1, 7, 14, 30])), event_name: 'login', amount: null });
      if (r() < 0.2) events.push({ customer_id: id, occurred_at: addLocalMonths(c, pick([1, 2])), event_name: 'purchase', amount: 60 });
    }
  }
  // Orphan keys: events of customers that do not exist.
  for (let i = 0; i < 40; i++) events.push({ customer_id: 10_000 + i, occurred_at: someInstant(), event_name: pick(['signup', 'login', 'purchase']), amount: 70 });
  return { customers, events };
}

// ---- the evaluator ---------------------------------------------------------------------------------

interface Spec {
  every: 'week' | 'month';
  count: number;
  source: { attribute: true } | { event: string };
  ret: { event: string; minAmount?: number };
  returns: { days: number[] } | { weeks: number } | { months: number };
}
interface Cell { value: number | null; returned: number; immature: boolean }

function evaluate(data: { customers: Customer[]; events: Event[] }, s: Spec, T: number): { start: number; size: number; cells: Cell[] }[] {
  const exists = new Map(data.customers.filter((c) => c.created_at === null || c.created_at <= T).map((c) => [c.id, c]));
  const cOf = new Map<number, number>();
  if ('attribute' in s.source) {
    for (const c of exists.values()) if (c.signed_up !== null) cOf.set(c.id, c.signed_up);
  } else {
    const ev = s.source.event;
    for (const e of data.events) {
      if (e.event_name !== ev || e.occurred_at > T || !exists.has(e.customer_id)) continue;
      cOf.set(e.customer_id, Math.min(cOf.get(e.customer_id) ?? Infinity, e.occurred_at));
    }
  }
  const starts = Array.from({ length: s.count }, (_, i) => periodStart(T, s.every, s.count - 1 - i));
  const add = (t: number, n: number) => ('months' in s.returns ? addLocalMonths(t, n) : addLocalDays(t, n));
  const windows: [number, number][] = 'days' in s.returns ? s.returns.days.map((n) => [0, n]) : 'weeks' in s.returns ? Array.from({ length: s.returns.weeks }, (_, i) => [i * 7, (i + 1) * 7]) : Array.from({ length: s.returns.months }, (_, i) => [i, i + 1]);
  const rets = new Map<number, number[]>();
  for (const e of data.events) {
    if (e.event_name !== s.ret.event || e.occurred_at > T) continue;
    if (s.ret.minAmount !== undefined && !(e.amount !== null && e.amount >= s.ret.minAmount)) continue;
    (rets.get(e.customer_id) ?? rets.set(e.customer_id, []).get(e.customer_id)!).push(e.occurred_at);
  }
  return starts.map((start) => {
    const end = s.every === 'week' ? addLocalDays(start, 7) : addLocalMonths(start, 1);
    const members = [...cOf].filter(([, c]) => c >= start && c < end && c <= T);
    const cells = windows.map(([lo, hi]) => {
      const returned = members.filter(([k, c]) => (rets.get(k) ?? []).some((t) => t > c && t > (lo ? add(c, lo) : c) && t <= add(c, hi))).length;
      const future = (lo ? add(start, lo) : start) >= T;
      return { value: future || members.length === 0 ? null : returned / members.length, returned, immature: add(end, hi) > T };
    });
    return { start, size: members.length, cells };
  });
}

// ---- the project -----------------------------------------------------------------------------------

const MODEL = `kind: Entity
name: customer
version: 1
table: customers
key: id
created_at: created_at
attributes:
  signed_up_at: { column: signed_up, type: timestamp }
  signed_local_at: { column: signed_local, type: timestamp }
---
kind: Events
name: events
version: 1
entity: customer
table: events
entity_key: customer_id
time: occurred_at
type: event_name
properties: properties
property_types: { amount: number }
`;

const SPECS: Record<string, { yaml: string; spec: Spec }> = {
  weekly_attr: { yaml: 'cohort: { attribute: signed_up_at, every: week, count: 8 }\nreturn: { event: login }\nreturns: { weeks: 6 }', spec: { every: 'week', count: 8, source: { attribute: true }, ret: { event: 'login' }, returns: { weeks: 6 } } },
  // The same instants in a \`timestamp\` (without time zone) column holding Berlin wall-clock times.
  weekly_local: { yaml: 'cohort: { attribute: signed_local_at, every: week, count: 8 }\nreturn: { event: login }\nreturns: { weeks: 6 }', spec: { every: 'week', count: 8, source: { attribute: true }, ret: { event: 'login' }, returns: { weeks: 6 } } },
  weekly_days: { yaml: 'cohort: { attribute: signed_up_at, every: week, count: 10 }\nreturn: { event: login }\nreturns: { days: [1, 7, 30] }', spec: { every: 'week', count: 10, source: { attribute: true }, ret: { event: 'login' }, returns: { days: [1, 7, 30] } } },
  monthly_event: { yaml: 'cohort: { event: signup, every: month, count: 7 }\nreturn: { event: purchase, where: [{ property: amount, gte: 50 }] }\nreturns: { months: 3 }', spec: { every: 'month', count: 7, source: { event: 'signup' }, ret: { event: 'purchase', minAmount: 50 }, returns: { months: 3 } } },
  weekly_event_days: { yaml: 'cohort: { event: signup, every: week, count: 30 }\nreturn: { event: login }\nreturns: { days: [7] }', spec: { every: 'week', count: 30, source: { event: 'signup' }, ret: { event: 'login' }, returns: { days: [7] } } },
};

function analysis(): Analysis {
  const p = new Project('/virtual', `tally: 1\nname: cohorts\ndefinitions: ["**/*.yaml"]\ntimezone: ${TZ}\n`);
  p.setFile('model.yaml', MODEL);
  p.setFile('cohorts.yaml', Object.entries(SPECS).map(([name, s]) => `kind: Cohort\nname: ${name}\nversion: 1\n${s.yaml}\n`).join('---\n'));
  const a = p.analyze({ now: new Date(T_MAIN) });
  assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  return a;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

async function load(db: Db, data: { customers: Customer[]; events: Event[] }): Promise<void> {
  await db.exec(`create table customers (id int primary key, created_at timestamptz, signed_up timestamptz); create table events (customer_id int, occurred_at timestamptz not null, event_name text, properties jsonb)`);
  for (let i = 0; i < data.customers.length; i += 200) {
    const part = data.customers.slice(i, i + 200);
    await db.query(`insert into customers select * from unnest($1::int[], $2::timestamptz[], $3::timestamptz[])`, [part.map((c) => c.id), part.map((c) => iso(c.created_at)), part.map((c) => iso(c.signed_up))]);
  }
  for (let i = 0; i < data.events.length; i += 500) {
    const part = data.events.slice(i, i + 500);
    await db.query(`insert into events select * from unnest($1::int[], $2::timestamptz[], $3::text[], $4::jsonb[])`, [part.map((e) => e.customer_id), part.map((e) => iso(e.occurred_at)), part.map((e) => e.event_name), part.map((e) => (e.amount === null ? '{}' : JSON.stringify({ amount: e.amount })))]);
  }
  await db.exec(`alter table customers add column signed_local timestamp; update customers set signed_local = signed_up at time zone '${TZ}'`);
  await db.exec('analyze customers; analyze events');
}

async function openDb(backend: Backend): Promise<{ db: Db; drop: () => Promise<void> }> {
  if (backend === 'pglite') {
    const db = await connect('pglite:memory', { baseDir: '.', timezone: TZ });
    return { db, drop: () => db.close() };
  }
  const t = await createTestDb('postgres');
  const db = await connect(t.url, { baseDir: '.', timezone: TZ });
  return {
    db,
    drop: async () => {
      await db.close();
      await t.drop();
    },
  };
}

function show(rows: { start: number | string; size: number; cells: Cell[] }[]): string[] {
  return rows.map((r) => `${typeof r.start === 'number' ? iso(r.start) : r.start} n=${r.size} ${r.cells.map((c) => `${c.value === null ? '-' : c.value.toFixed(6)}/${c.returned}${c.immature ? '*' : ''}`).join(' ')}`);
}

forEachBackend('cohort tables against the in-memory evaluator', (backend) => {
  let h: { db: Db; drop: () => Promise<void> };
  const data = generate(13);
  const a = analysis();
  before(async function () {
    this.timeout(120_000);
    h = await openDb(backend);
    await load(h.db, data);
  });
  after(async () => h?.drop());

  for (const name of Object.keys(SPECS)) {
    it(`${name}: every cell at ${AS_OFS.length} instants`, async function () {
      this.timeout(60_000);
      const q = a.get('Cohort', name)!.resolved.cohort!;
      for (const T of AS_OFS) {
        const c = compileCohort(q, { asOf: { kind: 'instant', at: new Date(T) }, literals: 'param' });
        const got = cohortRows(q, (await h.db.query<Record<string, unknown>>(c.sql, c.parameters)).rows);
        assert.deepEqual(show(got), show(evaluate(data, SPECS[name]!.spec, T)), `as of ${iso(T)}`);
      }
    });
  }

  it('the data covers the edge cases', () => {
    const rows = evaluate(data, SPECS.weekly_attr!.spec, T_MAIN);
    assert.ok(data.customers.some((c) => c.signed_up === null) && data.customers.some((c) => c.created_at !== null && c.created_at > T_MAIN));
    assert.ok(rows.some((r) => r.start === instant(2026, 10, 19)), 'the DST week is a cohort');
    assert.ok(rows.some((r) => r.cells.some((c) => c.immature && c.value !== null)), 'an immature cell with a partial value');
    const months = evaluate(data, SPECS.monthly_event!.spec, instant(2026, 12, 1));
    assert.ok(months.some((r) => r.cells.some((c) => c.value === null)), 'a cell whose window has not begun');
    const empty = evaluate(data, { ...SPECS.weekly_attr!.spec, count: 60 }, T_MAIN);
    assert.ok(empty.some((r) => r.size === 0), 'an empty cohort');
  });

  it('an empty cohort is a row with size 0 and null values', async () => {
    const q = { ...a.get('Cohort', 'weekly_attr')!.resolved.cohort!, count: 40 } as IrCohort;
    const c = compileCohort(q, { asOf: { kind: 'instant', at: new Date(T_MAIN) }, literals: 'inline' });
    const got = cohortRows(q, (await h.db.query<Record<string, unknown>>(c.sql, c.parameters)).rows);
    assert.equal(got.length, 40);
    const e = got.find((r) => r.size === 0)!;
    assert.ok(e && e.cells.every((x) => x.value === null && x.returned === 0));
  });

  it('a D_n cell equals the KPI retention form with days n over the same cohort (attribute and event)', async function () {
    this.timeout(60_000);
    const p = new Project('/virtual', `tally: 1\nname: cohorts\ndefinitions: ["**/*.yaml"]\ntimezone: ${TZ}\n`);
    p.setFile('model.yaml', MODEL);
    const kpi = (name: string, cohort: string) => `kind: Kpi\nname: ${name}\nversion: 1\nmetric:\n  retention: { cohort: ${cohort}, return: { event: login }, days: 7 }\ntarget: { gte: 0, by: 2027-12-31 }\n`;
    p.setFile('k.yaml', [kpi('by_attr', '{ attribute: signed_up_at, within: 30d }'), kpi('by_event', '{ event: signup, within: 30d }')].join('---\n'));
    p.setFile('c.yaml', `kind: Cohort\nname: by_attr_c\nversion: 1\ncohort: { attribute: signed_up_at, every: week, count: 6 }\nreturn: { event: login }\nreturns: { days: [7] }\n---\nkind: Cohort\nname: by_event_c\nversion: 1\ncohort: { event: signup, every: week, count: 6 }\nreturn: { event: login }\nreturns: { days: [7] }\n`);
    const an = p.analyze({ now: new Date(T_MAIN) });
    let compared = 0;
    for (const [k, c] of [['by_attr', 'by_attr_c'], ['by_event', 'by_event_c']] as const) {
      const base = (an.get('Kpi', k)!.resolved.query as { metric: IrMetric }).metric;
      const cq = an.get('Cohort', c)!.resolved.cohort!;
      for (const pStart of [instant(2026, 9, 21), instant(2026, 10, 19), instant(2026, 10, 26)]) {
        const pEnd = addLocalDays(pStart, 7);
        const T = pEnd - 1 + 7 * DAY;
        const withinMs = pEnd - pStart + 7 * DAY;
        const metric = { ...base, cohortWithin: { count: withinMs / 3_600_000, unit: 'hours', ms: withinMs } } as IrMetric;
        const m = compileMetric(metric, { asOf: { kind: 'instant', at: new Date(T) }, literals: 'param' });
        const kv = (await h.db.query<{ value: number | null }>(m.sql, m.parameters)).rows[0]!.value;
        const cc = compileCohort(cq, { asOf: { kind: 'instant', at: new Date(T) }, literals: 'param' });
        const row = cohortRows(cq, (await h.db.query<Record<string, unknown>>(cc.sql, cc.parameters)).rows).find((r) => r.start === iso(pStart))!;
        assert.ok(row, `cohort ${iso(pStart)} at ${iso(T)}`);
        assert.equal(row.cells[0]!.value === null ? null : Number(row.cells[0]!.value.toFixed(12)), kv === null ? null : Number(Number(kv).toFixed(12)), `${k} ${iso(pStart)}`);
        compared++;
      }
    }
    assert.equal(compared, 6);
  });

  if (backend === 'postgres') {
    it('reads the events in set-based scans (EXPLAIN ANALYZE: no SubPlan, no per-row scan)', async function () {
      this.timeout(60_000);
      for (const name of Object.keys(SPECS)) {
        const c = compileCohort(a.get('Cohort', name)!.resolved.cohort!, { asOf: { kind: 'instant', at: new Date(T_MAIN) }, literals: 'param' });
        assert.deepEqual(perRowProbes(await explainJson(h.db, c.sql, c.parameters), { eventsTables: ['events'], label: name }), []);
      }
    });
  }
});
