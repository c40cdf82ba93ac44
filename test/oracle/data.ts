// A small, seeded, deterministic data set for the correctness suite, plus its DDL and loader.
//
// Everything is relative to a fixed as-of instant T (2026-06-01T00:00:00Z) and a second instant
// T2 = T - 45 days. Besides ~300 random customers with ~6000 random events, the generator plants
// hand-made edge cases (see EDGE below): events exactly at A - D (excluded: windows are (A - D, A]),
// exactly at A (included), 1 ms after A (invisible), customers created after T, orphan event keys
// (no customer row) and customers created after T with a history before it, customers with no
// events, ties in time, a purchase with no amount and one with `amount: null`, emails with LIKE
// wildcards in them, and retention / NPS / churn boundary cases.
//
// The oracle (evaluate.ts) and the database both read exactly the rows returned by generateData().

import type { Db } from '../../engine/src/db/db.js';

export const T = new Date('2026-06-01T00:00:00Z');
export const DAY = 86_400_000;
export const T2 = new Date(T.getTime() - 45 * DAY);

export interface Customer {
  id: number;
  email: string;
  country: string | null;
  plan: string | null;
  score_hint: number | null;
  vip: boolean | null;
  created_at: Date;
}

export interface Event {
  customer_id: number;
  event_name: string;
  occurred_at: Date;
  /** null = SQL NULL jsonb; otherwise the jsonb object (keys may be missing or JSON null). */
  properties: Record<string, unknown> | null;
}

export interface Dataset {
  customers: Customer[];
  events: Event[];
}

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32, seeded through splitmix32 (no Math.random anywhere).

function splitmix32(a: number): () => number {
  return () => {
    a |= 0;
    a = (a + 0x9e3779b9) | 0;
    let t = a ^ (a >>> 16);
    t = Math.imul(t, 0x21f0aaad);
    t = t ^ (t >>> 15);
    t = Math.imul(t, 0x735a2d97);
    return (t ^ (t >>> 15)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  constructor(seed: number) {
    const s = splitmix32(seed);
    this.a = s();
    this.b = s();
    this.c = s();
    this.d = s();
    for (let i = 0; i < 16; i++) this.next();
  }
  /** Uniform in [0, 1). */
  next(): number {
    this.a >>>= 0;
    this.b >>>= 0;
    this.c >>>= 0;
    this.d >>>= 0;
    let t = (this.a + this.b) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.d = (this.d + 1) | 0;
    t = (t + this.d) | 0;
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<X>(xs: readonly X[]): X {
    return xs[Math.floor(this.next() * xs.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

// ---------------------------------------------------------------------------------------------
// Generation

const COUNTRIES = ['DE', 'DE', 'DE', 'AT', 'CH', 'FR', 'US', 'US', 'GB'] as const;
const PLANS = ['free', 'free', 'pro', 'business', 'team_basic', 'team_plus'] as const;
const CHANNELS = ['email', 'web', 'app', 'paid_search', 'paid_social'] as const;

const at = (ms: number) => new Date(ms);
const t = T.getTime();
const t2 = T2.getTime();

/** Ids of the hand-made customers, for readable tests. */
export const EDGE = {
  createdAtT: 1001, // created exactly at T: exists at T
  createdAfterT: 1002, // created T + 1 ms: does not exist at T
  createdLater: 1003, // created T + 5 d, with events after that
  noEvents: 1004, // exists, never did anything
  noAmountOnly: 1005, // only purchase has no `amount` key
  nullAmountOnly: 1006, // only purchase has `amount: null`
  loginAtT30: 1007, // only login exactly at T - 30d (excluded from within: 30d)
  loginAfterT30: 1008, // only login at T - 30d + 1 ms (included)
  loginAtT: 1009, // only login exactly at T (included)
  loginAfterT: 1010, // only login at T + 1 ms (invisible at T)
  purchaseAtT90: 1011, // purchase exactly at T - 90d and one at T - 90d + 1ms
  ties: 1012, // several events at the same instant
  createdAtT7: 1013, // created exactly T - 7d (not within 7d)
  createdAfterT7: 1014, // created T - 7d + 1 ms (within 7d)
  doubleSignup: 1015, // signup before the retention window, again inside it
  retentionReturnAtC: 1016, // only return event at exactly c (excluded)
  retentionReturnAtCN: 1017, // return at exactly c + 30d (included)
  retentionReturnAfterCN: 1018, // return at c + 30d + 1 ms (excluded)
  cohortAtLowerEdge: 1019, // first signup exactly T - 90d (excluded)
  cohortAtUpperEdge: 1020, // first signup exactly T - 30d (included)
  cohortAfterUpperEdge: 1021, // first signup T - 30d + 1 ms (excluded)
  npsChanged: 1022, // promoter earlier, detractor latest (in window)
  npsOutside: 1023, // detractor exactly at T - 90d (excluded), passive inside
  wildcardEmail: 1024, // email with % and _
  loginAtT2Edge: 1025, // login exactly at T2 - 30d and at T2
  emptyCountry: 1026, // country '' (not NULL)
  negativeHint: 1027, // score_hint -1, vip false
  quoteEmail: 1028, // email with a single quote and a backslash
  newYearBerlin: 1029, // created 2025-12-31T23:30Z: still 2025 in UTC, already 2026 in Europe/Berlin
  importedAfterT: 1030, // created T + 1 d with a full history before T: counts for nothing at T (or T3, T4)
  createdAfterT2: 1031, // created T2 + 1 d with history before T2: counts at T, not at T2
  orphan: 9001, // events under a key with no customer row: counts for nothing, ever
  orphanTwin: 9002, // a second orphan key, tied in time with a real customer's events
} as const;

export function generateData(seed = 7, customers = 300): Dataset {
  const rng = new Rng(seed);
  const cs: Customer[] = [];
  const evs: Event[] = [];
  const ev = (customer_id: number, event_name: string, ms: number, properties: Record<string, unknown> | null) =>
    evs.push({ customer_id, event_name, occurred_at: at(ms), properties });

  // Random customers: ids 1..customers, created over 400 days before T.
  for (let id = 1; id <= customers; id++) {
    const created = t - Math.floor(rng.next() * 400 * DAY);
    const emailKind = rng.int(0, 5);
    const email =
      emailKind === 0
        ? `user_${id}@example.com`
        : emailKind === 1
          ? `userx${id}@example.com`
          : emailKind === 2
            ? `User${id}@Example.org`
            : emailKind === 3
              ? `c${id}@shop.test`
              : `user${id}@example.com`;
    const country = rng.chance(0.12) ? null : rng.pick(COUNTRIES);
    const plan = rng.chance(0.1) ? null : rng.pick(PLANS);
    const score_hint = rng.chance(0.15) ? null : rng.int(0, 40) / 4; // 0..10 in steps of 0.25
    const vip = rng.chance(0.2) ? null : rng.chance(0.3);
    cs.push({ id, email, country, plan, score_hint, vip, created_at: at(created) });

    // ~5% never do anything at all.
    if (rng.chance(0.05)) continue;
    ev(id, 'signup', created, rng.chance(0.1) ? {} : { channel: rng.pick(CHANNELS) });
    const activity = rng.pick([0.2, 1, 3, 6]); // sessions per 30 days
    const end = t + 20 * DAY; // some events after T: invisible at T
    let cur = created;
    // Quit at some point for some.
    const quit = rng.chance(0.35) ? created + Math.floor(rng.next() * (end - created)) : end;
    for (;;) {
      cur += Math.floor((-Math.log(1 - rng.next()) * 30 * DAY) / activity) + 1;
      if (cur > quit || cur > end) break;
      const r = rng.next();
      if (r < 0.5) {
        // A session: a login (properties NULL sometimes), views, maybe a purchase.
        ev(id, 'login', cur, rng.chance(0.3) ? null : { channel: rng.pick(CHANNELS) });
        const views = rng.int(0, 3);
        for (let v = 0; v < views; v++) ev(id, 'view_item', cur + (v + 1) * 60_000, { channel: 'web' });
        if (rng.chance(0.35)) {
          const p: Record<string, unknown> = {};
          if (!rng.chance(0.06)) p.amount = rng.chance(0.04) ? null : rng.int(4, 2000) / 4;
          if (!rng.chance(0.2)) p.channel = rng.pick(CHANNELS);
          ev(id, 'purchase', cur + 10 * 60_000, p);
        }
      } else if (r < 0.6) {
        ev(id, 'survey', cur, { score: rng.int(0, 10), channel: 'email' });
      } else if (r < 0.65) {
        ev(id, 'support_ticket', cur, { channel: rng.pick(CHANNELS) });
      } else {
        ev(id, 'login', cur, { channel: rng.pick(CHANNELS) });
      }
    }
  }

  // ------------------------------------------------------------------------- hand-made edge cases
  const base = (id: number, created: number, extra: Partial<Customer> = {}) =>
    cs.push({ id, email: `edge${id}@example.com`, country: 'DE', plan: 'pro', score_hint: 5, vip: false, created_at: at(created), ...extra });
  const longAgo = t - 300 * DAY;

  base(EDGE.createdAtT, t, { country: 'FR' });
  ev(EDGE.createdAtT, 'signup', t, { channel: 'web' });
  base(EDGE.createdAfterT, t + 1, { country: null, plan: null, score_hint: null, vip: null });
  ev(EDGE.createdAfterT, 'signup', t + 1, { channel: 'web' });
  ev(EDGE.createdAfterT, 'login', t + 2 * DAY, { channel: 'web' });
  base(EDGE.createdLater, t + 5 * DAY, { country: 'AT', vip: true });
  ev(EDGE.createdLater, 'signup', t + 5 * DAY, { channel: 'app' });
  ev(EDGE.createdLater, 'purchase', t + 6 * DAY, { amount: 999, channel: 'app' });
  base(EDGE.noEvents, longAgo, { country: 'DE', plan: 'free', vip: true, score_hint: 10 });
  base(EDGE.noAmountOnly, longAgo);
  ev(EDGE.noAmountOnly, 'purchase', t - 10 * DAY, { channel: 'email' });
  base(EDGE.nullAmountOnly, longAgo, { country: 'CH' });
  ev(EDGE.nullAmountOnly, 'purchase', t - 20 * DAY, { amount: null, channel: 'web' });
  base(EDGE.loginAtT30, longAgo);
  ev(EDGE.loginAtT30, 'login', t - 30 * DAY, { channel: 'web' });
  base(EDGE.loginAfterT30, longAgo);
  ev(EDGE.loginAfterT30, 'login', t - 30 * DAY + 1, { channel: 'web' });
  base(EDGE.loginAtT, longAgo);
  ev(EDGE.loginAtT, 'login', t, { channel: 'app' });
  base(EDGE.loginAfterT, longAgo);
  ev(EDGE.loginAfterT, 'login', t + 1, { channel: 'app' });
  base(EDGE.purchaseAtT90, longAgo, { country: 'AT' });
  ev(EDGE.purchaseAtT90, 'purchase', t - 90 * DAY, { amount: 150, channel: 'email' });
  ev(EDGE.purchaseAtT90, 'purchase', t - 90 * DAY + 1, { amount: 60, channel: 'email' });
  ev(EDGE.purchaseAtT90, 'purchase', t - 7 * DAY, { amount: 60, channel: 'paid_search' });
  base(EDGE.ties, longAgo, { country: 'US' });
  ev(EDGE.ties, 'login', t - 3 * DAY, { channel: 'web' });
  ev(EDGE.ties, 'login', t - 3 * DAY, { channel: 'app' });
  ev(EDGE.ties, 'purchase', t - 3 * DAY, { amount: 40, channel: 'web' });
  ev(EDGE.ties, 'purchase', t - 3 * DAY, { amount: 40, channel: 'web' });
  ev(EDGE.ties, 'view_item', t - 3 * DAY, { channel: 'web' });
  base(EDGE.createdAtT7, t - 7 * DAY);
  base(EDGE.createdAfterT7, t - 7 * DAY + 1);
  ev(EDGE.createdAfterT7, 'signup', t - 7 * DAY + 1, { channel: 'paid_social' });

  // Retention (cohort: signup within 90d, days 30) as of T: cohort window (T-90d, T-30d].
  base(EDGE.doubleSignup, t - 200 * DAY);
  ev(EDGE.doubleSignup, 'signup', t - 200 * DAY, { channel: 'web' });
  ev(EDGE.doubleSignup, 'signup', t - 60 * DAY, { channel: 'web' });
  ev(EDGE.doubleSignup, 'login', t - 50 * DAY, { channel: 'web' });
  base(EDGE.retentionReturnAtC, t - 60 * DAY);
  ev(EDGE.retentionReturnAtC, 'signup', t - 60 * DAY, { channel: 'web' });
  ev(EDGE.retentionReturnAtC, 'login', t - 60 * DAY, { channel: 'web' });
  base(EDGE.retentionReturnAtCN, t - 70 * DAY);
  ev(EDGE.retentionReturnAtCN, 'signup', t - 70 * DAY, { channel: 'app' });
  ev(EDGE.retentionReturnAtCN, 'login', t - 40 * DAY, { channel: 'app' });
  base(EDGE.retentionReturnAfterCN, t - 80 * DAY);
  ev(EDGE.retentionReturnAfterCN, 'signup', t - 80 * DAY, { channel: 'app' });
  ev(EDGE.retentionReturnAfterCN, 'login', t - 50 * DAY + 1, { channel: 'app' });
  base(EDGE.cohortAtLowerEdge, t - 90 * DAY);
  ev(EDGE.cohortAtLowerEdge, 'signup', t - 90 * DAY, { channel: 'email' });
  ev(EDGE.cohortAtLowerEdge, 'login', t - 85 * DAY, { channel: 'email' });
  base(EDGE.cohortAtUpperEdge, t - 30 * DAY);
  ev(EDGE.cohortAtUpperEdge, 'signup', t - 30 * DAY, { channel: 'email' });
  ev(EDGE.cohortAtUpperEdge, 'login', t - 1 * DAY, { channel: 'email' });
  base(EDGE.cohortAfterUpperEdge, t - 30 * DAY + 1);
  ev(EDGE.cohortAfterUpperEdge, 'signup', t - 30 * DAY + 1, { channel: 'email' });
  ev(EDGE.cohortAfterUpperEdge, 'login', t - 1 * DAY, { channel: 'email' });

  // NPS (survey, within 90d).
  base(EDGE.npsChanged, longAgo);
  ev(EDGE.npsChanged, 'survey', t - 60 * DAY, { score: 10 });
  ev(EDGE.npsChanged, 'survey', t - 5 * DAY, { score: 2 });
  base(EDGE.npsOutside, longAgo);
  ev(EDGE.npsOutside, 'survey', t - 90 * DAY, { score: 0 });
  ev(EDGE.npsOutside, 'survey', t - 89 * DAY, { score: 8 });

  base(EDGE.wildcardEmail, longAgo, { email: '100%_off@example.com' });
  ev(EDGE.wildcardEmail, 'login', t - 2 * DAY, { channel: 'email' });
  base(EDGE.loginAtT2Edge, longAgo);
  ev(EDGE.loginAtT2Edge, 'login', t2 - 30 * DAY, { channel: 'web' });
  ev(EDGE.loginAtT2Edge, 'login', t2, { channel: 'web' });
  base(EDGE.emptyCountry, longAgo, { country: '' });
  base(EDGE.negativeHint, longAgo, { score_hint: -1, vip: false, plan: 'team_basic' });
  ev(EDGE.negativeHint, 'purchase', t - 1 * DAY, { amount: 0.25, channel: 'web' });
  base(EDGE.newYearBerlin, Date.parse('2025-12-31T23:30:00Z'));
  base(EDGE.quoteEmail, longAgo, { email: "o'brien\\x@example.com", country: null });

  // Keys that are not customers at T: a whole history of every kind (cohort signups and returns,
  // purchases with amounts, logins in both churn periods, a decisive NPS answer, support tickets)
  // under an orphan key, a customer created after T, and (for T2) one created after T2.
  const history = (id: number, asOf: number) => {
    ev(id, 'signup', asOf - 60 * DAY, { channel: 'web' });
    ev(id, 'login', asOf - 45 * DAY, { channel: 'web' });
    ev(id, 'login', asOf - 40 * DAY, { channel: 'app' });
    ev(id, 'login', asOf - 2 * DAY, { channel: 'web' });
    ev(id, 'login', asOf - 30 * DAY, { channel: 'web' });
    ev(id, 'purchase', asOf - 20 * DAY, { amount: 5000, channel: 'web' });
    ev(id, 'purchase', asOf - 3 * DAY, { amount: 7000, channel: 'email' });
    ev(id, 'purchase', asOf, { amount: 900, channel: 'web' });
    ev(id, 'survey', asOf - 10 * DAY, { score: 0, channel: 'email' });
    ev(id, 'support_ticket', asOf - 5 * DAY, { channel: 'web' });
  };
  history(EDGE.orphan, t);
  history(EDGE.orphan, t2);
  ev(EDGE.orphan, 'login', t - 1, { channel: 'web' });
  base(EDGE.importedAfterT, t + DAY, { country: 'DE' });
  history(EDGE.importedAfterT, t);
  base(EDGE.createdAfterT2, t2 + DAY, { country: 'GB' });
  history(EDGE.createdAfterT2, t2);
  // Tied with EDGE.ties' events at the same instant.
  ev(EDGE.orphanTwin, 'purchase', t - 3 * DAY, { amount: 40, channel: 'web' });
  ev(EDGE.orphanTwin, 'login', t - 3 * DAY, { channel: 'web' });
  ev(EDGE.orphanTwin, 'survey', t - 3 * DAY, { score: 10, channel: 'email' });

  // Boundary events on random customers too: at exactly A - D, A - D + 1 ms, A, A + 1 ms for both
  // as-of instants and the windows the suite uses.
  const durations = [1, 7, 14, 30, 60, 90];
  let k = 0;
  for (const a of [t, t2]) {
    for (const d of durations) {
      for (const [off, name] of [
        [-d * DAY, 'login'],
        [-d * DAY, 'purchase'],
        [-d * DAY + 1, 'purchase'],
        [0, 'purchase'],
        [1, 'purchase'],
      ] as const) {
        const id = 1 + ((k++ * 37) % customers);
        const c = cs[id - 1]!;
        const when = a + off;
        if (when < c.created_at.getTime()) continue;
        ev(id, name, when, name === 'purchase' ? { amount: 25 * (1 + (k % 8)), channel: 'email' } : { channel: 'web' });
      }
    }
  }

  return { customers: cs, events: evs };
}

// ---------------------------------------------------------------------------------------------
// DDL and loading

export const DDL = `
create table customers (
  id bigint primary key,
  email text not null,
  country text,
  plan text,
  score_hint numeric,
  vip boolean,
  created_at timestamptz not null
);
create table events (
  id bigserial primary key,
  customer_id bigint not null,
  event_name text not null,
  occurred_at timestamptz not null,
  properties jsonb
);
`;

export const INDEXES = `
create index events_customer_time on events (customer_id, occurred_at);
create index events_name_time on events (event_name, occurred_at);
analyze customers;
analyze events;
`;

/** Creates the tables and inserts every row with parameters (no values in SQL text). */
export async function loadData(db: Db, data: Dataset): Promise<void> {
  await db.exec(DDL);
  const chunk = 200;
  for (let i = 0; i < data.customers.length; i += chunk) {
    const rows = data.customers.slice(i, i + chunk);
    const params: unknown[] = [];
    const values = rows.map((c) => {
      const n = params.length;
      params.push(c.id, c.email, c.country, c.plan, c.score_hint === null ? null : String(c.score_hint), c.vip, c.created_at.toISOString());
      return `($${n + 1}::bigint, $${n + 2}::text, $${n + 3}::text, $${n + 4}::text, $${n + 5}::numeric, $${n + 6}::boolean, $${n + 7}::timestamptz)`;
    });
    await db.query(`insert into customers (id, email, country, plan, score_hint, vip, created_at) values ${values.join(', ')}`, params);
  }
  for (let i = 0; i < data.events.length; i += chunk) {
    const rows = data.events.slice(i, i + chunk);
    const params: unknown[] = [];
    const values = rows.map((e) => {
      const n = params.length;
      params.push(e.customer_id, e.event_name, e.occurred_at.toISOString(), e.properties === null ? null : JSON.stringify(e.properties));
      return `($${n + 1}::bigint, $${n + 2}::text, $${n + 3}::timestamptz, $${n + 4}::jsonb)`;
    });
    await db.query(`insert into events (customer_id, event_name, occurred_at, properties) values ${values.join(', ')}`, params);
  }
  await db.exec(INDEXES);
}
