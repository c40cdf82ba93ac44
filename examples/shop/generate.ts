// The example shop's data: a deterministic generator of customers and their events, and a fast loader.
//
// Everything is a pure function of the options: a seeded PRNG per customer (sfc32, seeded from
// `seed` and the customer id) and times measured back from `anchor`, never the wall clock and never
// Math.random. The same options give the same rows, byte for byte, however the batches are cut.
//
// Behavioural model, in short:
// - Customers sign up over `days` of history at a rate that grows 4x from the first day to the last;
//   ids increase with signup time. Each customer has exactly one `signup` event at `created_at`.
// - Each customer gets an archetype that drives sessions (`login`, then `view_item`s, maybe
//   `add_to_cart`, maybe `purchase` with `{amount, items}`), NPS `survey`s (`{score}`; a minority
//   answers, some more than once) and `support_ticket`s (`{priority}`):
//     loyal            frequent sessions, buys often, high NPS
//     casual           occasional sessions and purchases
//     one_time         buys once in the first days, then (mostly) never comes back
//     churned          active like a regular for a while, then stops for good (tickets, low NPS)
//     recent           joined in the last three weeks with an onboarding burst of activity
//     never_activated  signs up, looks around once, never returns
// - The signup session is the signup plus a few views (no `login`: the user is already in), so a
//   `login` always means coming back.
// - Times are whole seconds. No row lies after the anchor.
//
// The loader creates the tables, inserts each batch with one `insert ... select from unnest($1, ...)`
// (parameters only), then builds the indexes and analyzes.

import type { Db } from '../../engine/src/db/db.js';

// ---------------------------------------------------------------------------------------------
// Options and shapes

export interface ShopOptions {
  /** Number of customers (default 10 000). */
  customers?: number;
  /** PRNG seed (default 42). */
  seed?: number;
  /** The instant the data ends at: no event or customer after it (default {@link DEFAULT_ANCHOR}). */
  anchor?: Date;
  /** History length in days (default 400). */
  days?: number;
  /** Target number of events per yielded batch (default 50 000); does not change the data. */
  batchEvents?: number;
}

/** The default anchor: a fixed instant, so the default data never depends on when it is generated. */
export const DEFAULT_ANCHOR = new Date('2026-11-01T00:00:00Z');

export type Plan = 'free' | 'pro' | 'business';
export type EventName = 'signup' | 'login' | 'view_item' | 'add_to_cart' | 'purchase' | 'survey' | 'support_ticket';
export type Archetype = 'loyal' | 'casual' | 'one_time' | 'churned' | 'recent' | 'never_activated';

/** Columns of `customers`; `created_at` in Unix seconds. */
export interface CustomerColumns {
  id: number[];
  email: string[];
  name: (string | null)[];
  country: (string | null)[];
  plan: Plan[];
  created_at: number[];
}

/** Columns of `events` (without the serial `id`); `occurred_at` in Unix seconds, `properties` as JSON text. */
export interface EventColumns {
  customer_id: number[];
  event_name: EventName[];
  occurred_at: number[];
  properties: string[];
}

export interface ShopBatch {
  customers: CustomerColumns;
  events: EventColumns;
  /** The archetype of each customer of this batch (not loaded; for tests and calibration). */
  archetypes: Archetype[];
}

// ---------------------------------------------------------------------------------------------
// DDL

/** A double-quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return '"' + name.replace(/"/g, '""') + '"';
}

function qualified(table: string, schema?: string): string {
  return schema ? `${quoteIdent(schema)}.${quoteIdent(table)}` : quoteIdent(table);
}

/**
 * The table DDL, optionally in `schema` (which must exist), one statement per entry. With
 * `distributed` (a distributed PostgreSQL, Citus) the events' primary key includes the distribution
 * column (`customer_id`), as a distributed table's unique constraints must.
 */
export function shopSchemaStatements(schema?: string, distributed = false): string[] {
  return [
    `create table ${qualified('customers', schema)} (
  id bigint primary key,
  email text not null,
  name text,
  country text,
  plan text check (plan in ('free', 'pro', 'business')),
  created_at timestamptz not null
)`,
    `create table ${qualified('events', schema)} (
  id bigserial${distributed ? '' : ' primary key'},
  customer_id bigint not null,
  event_name text not null,
  occurred_at timestamptz not null,
  properties jsonb not null default '{}'${distributed ? ',\n  primary key (customer_id, id)' : ''}
)`,
  ];
}

/** The table DDL as one script (see shopSchemaStatements). */
export function shopSchemaSql(schema?: string): string {
  return shopSchemaStatements(schema).map((s) => s + ';\n').join('');
}

/**
 * The distributed layout (Citus): customers distributed by their key, events by the entity key and
 * co-located with customers, so every per-customer join and grouped scan runs on the workers. One
 * statement per entry, run on the coordinator after shopSchemaStatements(schema, true).
 */
export function shopDistributionStatements(schema?: string): string[] {
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return [
    `select create_distributed_table(${lit(qualified('customers', schema))}, 'id')`,
    `select create_distributed_table(${lit(qualified('events', schema))}, 'customer_id', colocate_with => ${lit(qualified('customers', schema))})`,
  ];
}

/** Whether the database has the citus extension (what `distributed: true` needs). */
export async function citusInstalled(db: Db): Promise<boolean> {
  if (db.kind !== 'postgres') return false;
  const r = await db.query<{ n: number }>(`select count(*) as n from pg_extension where extname = 'citus'`);
  return Number(r.rows[0]?.n) > 0;
}

/** What `loadShop({ distributed: true })` says when the database cannot hold a distributed layout. */
export class DistributedLayoutUnavailable extends Error {}

/** Throws DistributedLayoutUnavailable (with what to do) unless the database has the citus extension; writes nothing. */
export async function assertDistributedLayout(db: Db): Promise<void> {
  if (await citusInstalled(db)) return;
  throw new DistributedLayoutUnavailable(
    db.kind === 'postgres'
      ? `${db.label} has no citus extension, so it cannot hold distributed tables (run \`create extension citus\` on the coordinator and add the workers first, or load without --distributed); nothing was loaded`
      : `the embedded database cannot hold distributed tables: a distributed layout needs --db postgres://… with the citus extension; nothing was loaded`,
  );
}

/** The secondary indexes, created after the bulk load, one statement per entry. */
export function shopIndexStatements(schema?: string): string[] {
  return [
    `create index events_customer_event_time_idx on ${qualified('events', schema)} (customer_id, event_name, occurred_at)`,
    `create index events_event_time_idx on ${qualified('events', schema)} (event_name, occurred_at)`,
    `create index customers_country_idx on ${qualified('customers', schema)} (country)`,
  ];
}

/** The secondary indexes as one script. */
export function shopIndexSql(schema?: string): string {
  return shopIndexStatements(schema).map((s) => s + ';\n').join('');
}

export const SHOP_SCHEMA_SQL = shopSchemaSql();
export const SHOP_INDEX_SQL = shopIndexSql();

// ---------------------------------------------------------------------------------------------
// PRNG: sfc32, seeded per customer through a 32-bit integer hash (murmur3's finaliser)

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number, stream: number) {
    const s = fmix32((seed | 0) ^ 0x9e3779b9);
    this.a = fmix32(s ^ Math.imul(stream | 0, 0x85ebca6b));
    this.b = fmix32(this.a ^ 0x27d4eb2f ^ Math.floor(stream / 4294967296));
    this.c = fmix32(this.b ^ 0x165667b1);
    this.d = 1;
    for (let i = 0; i < 12; i++) this.next();
  }

  /** Uniform in [0, 1). */
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return (t >>> 0) / 4294967296;
  }

  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Exponential with the given mean. */
  exp(mean: number): number {
    return -Math.log(1 - this.next()) * mean;
  }

  /** Standard normal (Box-Muller, one value per call). */
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  /** 1 + a geometric number of extra trials, each continuing with probability `p`, capped. */
  geom(p: number, cap: number): number {
    let n = 1;
    while (n < cap && this.next() < p) n++;
    return n;
  }

  /** Index drawn from cumulative weights. */
  pick(cum: readonly number[]): number {
    const u = this.next() * cum[cum.length - 1]!;
    for (let i = 0; i < cum.length; i++) if (u < cum[i]!) return i;
    return cum.length - 1;
  }
}

function cumulative(weights: readonly number[]): number[] {
  const out: number[] = [];
  let s = 0;
  for (const w of weights) out.push((s += w));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reference data

const COUNTRIES = ['DE', 'US', 'GB', 'FR', 'AT', 'CH', 'NL', 'ES', 'IT', 'PL', 'SE', 'BE', 'DK', 'IE', 'CA'];
const COUNTRY_CUM = cumulative([27, 17, 10, 9, 6, 5, 6, 5, 5, 3, 2, 2, 1, 1, 1]);
const NULL_COUNTRY_P = 0.03;

const FIRST_NAMES = [
  'Anna', 'Ben', 'Clara', 'David', 'Emma', 'Felix', 'Greta', 'Hugo', 'Ida', 'Jonas', 'Klara', 'Leon', 'Mia',
  'Noah', 'Olivia', 'Paul', 'Quinn', 'Rosa', 'Sam', 'Tara', 'Ugo', 'Vera', 'Will', 'Xenia', 'Yusuf', 'Zoe',
  'Lukas', 'Sofia', 'Elias', 'Lena', 'Marie', 'Jan', 'Chloe', 'Lucas', 'Isabel', 'Oscar',
];
const LAST_NAMES = [
  'Müller', 'Schmidt', 'Smith', 'Johnson', 'Martin', 'Bernard', 'Garcia', 'Rossi', 'de Vries', 'Jansen',
  'Weber', 'Fischer', 'Brown', 'Taylor', 'Dubois', 'Moreau', 'Lopez', 'Bianchi', 'Nowak', 'Andersson',
  'Huber', 'Wagner', 'Keller', 'Meier', 'Wilson', 'Evans', 'Peeters', 'Hansen', "O'Brien", 'Tremblay',
];
const FREE_MAIL = ['example.com', 'example.org', 'example.net'];
const FREE_MAIL_CUM = cumulative([70, 20, 10]);
const COMPANY_MAIL = ['acme.example', 'globex.example', 'initech.example', 'umbrella.example', 'hooli.example'];

const SOURCES = ['organic', 'paid', 'referral'];
const SOURCE_CUM = cumulative([50, 35, 15]);

const PLANS: Plan[] = ['free', 'pro', 'business'];

interface ArchetypeModel {
  /** Sessions per day while active. */
  rate: number;
  /** Per session: probability of an add_to_cart, and of a purchase given a cart. */
  cart: number;
  buy: number;
  /** Probability of answering each NPS survey invitation, and the score weights 0..10. */
  survey: number;
  scores: number[];
  /** Support tickets per year while active, and the share of high priority ones. */
  ticketsPerYear: number;
  highPriority: number;
  /** Plan weights free/pro/business. */
  plans: number[];
  /** Order value multiplier. */
  spend: number;
}

const MODELS: Record<Archetype, ArchetypeModel> = {
  loyal: {
    rate: 0.13, cart: 0.5, buy: 0.55, survey: 0.25,
    scores: cumulative([0, 0, 0, 1, 1, 2, 4, 10, 20, 30, 32]),
    ticketsPerYear: 0.6, highPriority: 0.15, plans: cumulative([45, 38, 17]), spend: 1.25,
  },
  casual: {
    rate: 0.036, cart: 0.35, buy: 0.45, survey: 0.12,
    scores: cumulative([1, 1, 2, 3, 4, 7, 10, 18, 20, 17, 17]),
    ticketsPerYear: 0.4, highPriority: 0.2, plans: cumulative([72, 21, 7]), spend: 1,
  },
  churned: {
    rate: 0.08, cart: 0.35, buy: 0.4, survey: 0.2,
    scores: cumulative([6, 5, 7, 9, 10, 12, 12, 13, 11, 8, 7]),
    ticketsPerYear: 1.5, highPriority: 0.4, plans: cumulative([75, 19, 6]), spend: 0.95,
  },
  one_time: {
    rate: 0, cart: 0, buy: 0, survey: 0.12,
    scores: cumulative([2, 2, 3, 4, 6, 10, 14, 18, 18, 12, 11]),
    ticketsPerYear: 0.5, highPriority: 0.25, plans: cumulative([85, 12, 3]), spend: 0.9,
  },
  recent: {
    rate: 0.35, cart: 0.35, buy: 0.4, survey: 0.12,
    scores: cumulative([1, 1, 1, 2, 3, 6, 10, 18, 22, 18, 18]),
    ticketsPerYear: 0.5, highPriority: 0.2, plans: cumulative([80, 16, 4]), spend: 1,
  },
  never_activated: {
    rate: 0, cart: 0, buy: 0, survey: 0.05,
    scores: cumulative([4, 3, 4, 6, 8, 12, 14, 16, 14, 10, 9]),
    ticketsPerYear: 2, highPriority: 0.2, plans: cumulative([96, 3, 1]), spend: 1,
  },
};

const ARCHETYPES: Archetype[] = ['loyal', 'casual', 'one_time', 'churned', 'never_activated'];
const ARCHETYPE_CUM = cumulative([12, 30, 18, 22, 18]);

const DAY = 86_400;
/** Signups per day grow by this factor from the first to the last day of the history. */
const GROWTH = 4;
/** Customers who joined within this many days are `recent` with probability RECENT_P. */
const RECENT_DAYS = 21;
const RECENT_P = 0.6;

// ---------------------------------------------------------------------------------------------
// One customer

interface Ev {
  t: number;
  name: EventName;
  props: string;
}

interface Customer {
  id: number;
  email: string;
  name: string | null;
  country: string | null;
  plan: Plan;
  createdAt: number;
  archetype: Archetype;
  events: Ev[];
}

function purchaseProps(rng: Rng, model: ArchetypeModel, plan: Plan): string {
  const items = rng.geom(0.45, 8);
  const planFactor = plan === 'business' ? 1.6 : plan === 'pro' ? 1.2 : 1;
  let cents = 0;
  for (let i = 0; i < items; i++) cents += Math.round(2400 * Math.exp(0.6 * rng.normal()) * planFactor * model.spend);
  cents = Math.max(cents, 199);
  return `{"amount":${cents / 100},"items":${items}}`;
}

function makeCustomer(seed: number, index: number, n: number, startSec: number, endSec: number): Customer {
  const id = index + 1;
  const rng = new Rng(seed, id);
  const span = endSec - startSec;

  // Signup time: customer `index` takes the index-th slot of the growing signup curve (inverse CDF of
  // a density proportional to GROWTH^x over x in [0, 1)), jittered within its slot. Ids follow time.
  const u = (index + rng.next()) / n;
  const g = Math.log(GROWTH);
  const x = Math.log(1 + u * (GROWTH - 1)) / g;
  const createdAt = Math.min(endSec, startSec + Math.floor(x * span));
  const age = endSec - createdAt;

  let archetype = ARCHETYPES[rng.pick(ARCHETYPE_CUM)]!;
  const recentRoll = rng.next();
  if (age < RECENT_DAYS * DAY && archetype !== 'never_activated' && recentRoll < RECENT_P) archetype = 'recent';
  const m = MODELS[archetype];

  const plan = PLANS[rng.pick(m.plans)]!;
  const country = rng.chance(NULL_COUNTRY_P) ? null : COUNTRIES[rng.pick(COUNTRY_CUM)]!;
  const first = FIRST_NAMES[rng.int(0, FIRST_NAMES.length - 1)]!;
  const last = LAST_NAMES[rng.int(0, LAST_NAMES.length - 1)]!;
  const name = rng.chance(0.02) ? null : `${first} ${last}`;
  const mailRoll = rng.next();
  let email: string;
  if (mailRoll < 0.004) email = `qa+${id}@example.com`; // internal test accounts
  else if (plan === 'business' && mailRoll < 0.75) email = `user${id}@${COMPANY_MAIL[rng.int(0, COMPANY_MAIL.length - 1)]}`;
  else email = `user${id}@${FREE_MAIL[rng.pick(FREE_MAIL_CUM)]}`;

  const events: Ev[] = [];
  const push = (t: number, name: EventName, props = '{}'): boolean => {
    if (t > endSec) return false;
    events.push({ t, name, props });
    return true;
  };

  // The signup session: the signup, then a few views (never_activated look around a little less).
  push(createdAt, 'signup', `{"source":"${SOURCES[rng.pick(SOURCE_CUM)]}"}`);
  let signupSessionEnd = createdAt;
  {
    const views = archetype === 'never_activated' ? rng.int(0, 2) : rng.int(1, 4);
    for (let i = 0; i < views; i++) push((signupSessionEnd += rng.int(20, 150)), 'view_item');
  }

  // A browsing session starting at t0: login, views, maybe a cart and a purchase.
  const session = (t0: number, cartP: number, buyP: number): boolean => {
    let t = Math.floor(t0);
    if (!push(t, 'login')) return false;
    const views = rng.geom(0.6, 12);
    for (let i = 0; i < views; i++) push((t += rng.int(15, 240)), 'view_item');
    if (rng.chance(cartP)) {
      push((t += rng.int(10, 120)), 'add_to_cart');
      if (rng.chance(buyP)) push((t += rng.int(60, 600)), 'purchase', purchaseProps(rng, m, plan));
    }
    return true;
  };

  // Active span: from signup to the end of activity (churn) or the anchor.
  let activeEnd = endSec;
  if (archetype === 'one_time') {
    // One purchase: right in the signup session, or on a visit within ten days; perhaps a later
    // look without buying.
    let t: number;
    let s: number;
    if (rng.chance(0.5)) {
      t = createdAt;
      s = signupSessionEnd;
    } else {
      t = createdAt + rng.int(600, 10 * DAY);
      s = t;
      push(t, 'login');
      const views = rng.int(1, 5);
      for (let i = 0; i < views; i++) push((s += rng.int(15, 200)), 'view_item');
    }
    push((s += rng.int(10, 120)), 'add_to_cart');
    push((s += rng.int(60, 600)), 'purchase', purchaseProps(rng, m, plan));
    activeEnd = Math.min(endSec, createdAt + 90 * DAY);
    if (rng.chance(0.35)) session(t + rng.int(2 * DAY, 80 * DAY), 0.2, 0);
  } else if (archetype === 'never_activated') {
    activeEnd = Math.min(endSec, createdAt + 2 * DAY);
  } else {
    if (archetype === 'churned') activeEnd = Math.min(endSec, createdAt + Math.floor((10 + rng.exp(55)) * DAY));
    // Sessions as a Poisson process, with an onboarding boost in the first week.
    let t = createdAt;
    for (;;) {
      const boost = t - createdAt < 7 * DAY ? 1.8 : 1;
      t += Math.max(300, Math.floor(rng.exp(DAY / (m.rate * boost))));
      if (t > activeEnd) break;
      session(t, m.cart, m.buy);
    }
  }

  // NPS surveys: an invitation two weeks after signup and then about every 90 days while the
  // customer is around; a minority answers, long-standing ones sometimes more than once.
  for (let t = createdAt + 14 * DAY + rng.int(0, 3 * DAY); t <= activeEnd; t += 80 * DAY + rng.int(0, 20 * DAY)) {
    if (rng.chance(m.survey)) push(t + rng.int(60, 2 * DAY), 'survey', `{"score":${rng.pick(m.scores)}}`);
  }

  // Support tickets: a Poisson process over the active span; churners often complain before they go.
  if (m.ticketsPerYear > 0) {
    for (let t = createdAt; ; ) {
      t += 60 + Math.floor(rng.exp((365 * DAY) / m.ticketsPerYear));
      if (t > activeEnd) break;
      push(t, 'support_ticket', `{"priority":"${rng.chance(m.highPriority) ? 'high' : 'low'}"}`);
    }
  }
  if (archetype === 'churned' && activeEnd < endSec && rng.chance(0.3))
    push(activeEnd - rng.int(0, 7 * DAY), 'support_ticket', '{"priority":"high"}');

  events.sort((a, b) => a.t - b.t); // stable: ties keep their generation order
  return { id, email, name, country, plan, createdAt, archetype, events };
}

// ---------------------------------------------------------------------------------------------
// The generator

function emptyBatch(): ShopBatch {
  return {
    customers: { id: [], email: [], name: [], country: [], plan: [], created_at: [] },
    events: { customer_id: [], event_name: [], occurred_at: [], properties: [] },
    archetypes: [],
  };
}

export interface ResolvedShopOptions {
  customers: number;
  seed: number;
  anchor: Date;
  days: number;
  batchEvents: number;
}

export function resolveShopOptions(opts: ShopOptions = {}): ResolvedShopOptions {
  const customers = opts.customers ?? 10_000;
  const days = opts.days ?? 400;
  const anchor = opts.anchor ?? DEFAULT_ANCHOR;
  const batchEvents = opts.batchEvents ?? 50_000;
  if (!Number.isInteger(customers) || customers < 0) throw new RangeError(`customers must be a non-negative integer, got ${customers}`);
  if (!(days > 0)) throw new RangeError(`days must be positive, got ${days}`);
  if (Number.isNaN(anchor.getTime())) throw new RangeError('anchor is not a valid date');
  if (!(batchEvents > 0)) throw new RangeError(`batchEvents must be positive, got ${batchEvents}`);
  return { customers, seed: opts.seed ?? 42, anchor, days, batchEvents };
}

/**
 * Yields the shop's rows in batches of whole customers (each customer with all its events), cut once
 * a batch holds about `batchEvents` events. Deterministic: a function of the options only.
 */
export function* generateShop(opts: ShopOptions = {}): Generator<ShopBatch> {
  const o = resolveShopOptions(opts);
  const endSec = Math.floor(o.anchor.getTime() / 1000);
  const startSec = endSec - Math.round(o.days * DAY);
  let batch = emptyBatch();
  for (let i = 0; i < o.customers; i++) {
    const c = makeCustomer(o.seed, i, o.customers, startSec, endSec);
    const cc = batch.customers;
    cc.id.push(c.id);
    cc.email.push(c.email);
    cc.name.push(c.name);
    cc.country.push(c.country);
    cc.plan.push(c.plan);
    cc.created_at.push(c.createdAt);
    batch.archetypes.push(c.archetype);
    const ec = batch.events;
    for (const e of c.events) {
      ec.customer_id.push(c.id);
      ec.event_name.push(e.name);
      ec.occurred_at.push(e.t);
      ec.properties.push(e.props);
    }
    if (ec.customer_id.length >= o.batchEvents) {
      yield batch;
      batch = emptyBatch();
    }
  }
  if (batch.customers.id.length > 0) yield batch;
}

// ---------------------------------------------------------------------------------------------
// The loader

export interface LoadShopOptions extends ShopOptions {
  /** Schema for the tables (created if missing); default: the current schema. */
  schema?: string;
  /** Drop existing `customers` and `events` tables first (default false: an existing table is an error). */
  replace?: boolean;
  /**
   * A distributed layout (Citus): customers and events distributed by the entity key and co-located
   * (shopDistributionStatements). Refused with DistributedLayoutUnavailable, before anything is
   * written, when the database has no citus extension.
   */
  distributed?: boolean;
  /** Called after each batch with the running totals. */
  onProgress?: (loaded: { customers: number; events: number }) => void;
}

/** Creates the tables, loads the generated rows, builds the indexes and analyzes. */
export async function loadShop(db: Db, opts: LoadShopOptions = {}): Promise<{ customers: number; events: number }> {
  const { schema } = opts;
  const customersTable = qualified('customers', schema);
  const eventsTable = qualified('events', schema);
  // One statement per batch: the batch's customers (a data-modifying CTE) and their events.
  const insertBatch = `with new_customers as (
  insert into ${customersTable} (id, email, name, country, plan, created_at)
  select id, email, name, country, plan, to_timestamp(created_at)
  from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[]) as u(id, email, name, country, plan, created_at)
)
insert into ${eventsTable} (customer_id, event_name, occurred_at, properties)
select customer_id, event_name, to_timestamp(occurred_at), properties::jsonb
from unnest($7::bigint[], $8::text[], $9::float8[], $10::text[]) as u(customer_id, event_name, occurred_at, properties)`;

  const totals = { customers: 0, events: 0 };
  const distributed = opts.distributed === true;
  if (distributed) await assertDistributedLayout(db);
  // A distributed layout: the tables are created and distributed in a transaction of their own,
  // then each batch inserts customers and events in two statements (Citus plans a data-modifying
  // CTE over two distributed tables poorly); every DDL statement is sent on its own.
  if (distributed) {
    await db.transaction(async (tx) => {
      if (schema) await tx.exec(`create schema if not exists ${quoteIdent(schema)}`);
      if (opts.replace) {
        await tx.exec(`drop table if exists ${eventsTable}`);
        await tx.exec(`drop table if exists ${customersTable}`);
      }
      for (const st of shopSchemaStatements(schema, true)) await tx.exec(st);
      for (const st of shopDistributionStatements(schema)) await tx.query(st);
    });
  }
  const insertCustomers = `insert into ${customersTable} (id, email, name, country, plan, created_at)
  select id, email, name, country, plan, to_timestamp(created_at)
  from unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::float8[]) as u(id, email, name, country, plan, created_at)`;
  const insertEvents = `insert into ${eventsTable} (customer_id, event_name, occurred_at, properties)
select customer_id, event_name, to_timestamp(occurred_at), properties::jsonb
from unnest($1::bigint[], $2::text[], $3::float8[], $4::text[]) as u(customer_id, event_name, occurred_at, properties)`;
  await db.transaction(async (tx) => {
    if (!distributed) {
      if (schema) await tx.exec(`create schema if not exists ${quoteIdent(schema)}`);
      if (opts.replace) {
        await tx.exec(`drop table if exists ${eventsTable}`);
        await tx.exec(`drop table if exists ${customersTable}`);
      }
      for (const st of shopSchemaStatements(schema)) await tx.exec(st);
    }
    // Batches go in one after another on one connection, so serial ids follow the generation order
    // (a plain function scan of unnest yields the arrays in order); each batch is sent before the
    // next one is generated, so generating overlaps with the database's work.
    let pending: Promise<unknown> | undefined;
    for (const b of generateShop(opts)) {
      if (pending) await pending;
      const c = b.customers;
      const e = b.events;
      const sent = distributed
        ? tx.query(insertCustomers, [c.id, c.email, c.name, c.country, c.plan, c.created_at]).then(() => tx.query(insertEvents, [e.customer_id, e.event_name, e.occurred_at, e.properties]))
        : tx.query(insertBatch, [c.id, c.email, c.name, c.country, c.plan, c.created_at, e.customer_id, e.event_name, e.occurred_at, e.properties]);
      pending = sent
        .then(() => {
          totals.customers += c.id.length;
          totals.events += e.customer_id.length;
          opts.onProgress?.({ ...totals });
        });
      // Don't leave a rejection unobserved while the next batch is being generated.
      pending.catch(() => undefined);
    }
    if (pending) await pending;
    if (tx.kind === 'postgres') await tx.exec(`set local maintenance_work_mem = '512MB'`);
    for (const st of shopIndexStatements(schema)) await tx.exec(st);
  });
  await db.exec(`analyze ${customersTable}`);
  await db.exec(`analyze ${eventsTable}`);
  return totals;
}
