// The shop data set of the segment bench, in its own schema of the `tally_bench` database, loaded
// once and reused: a marker table records what each schema holds (scale, seed, anchor, history
// length and a fingerprint of the generator's output), and a run whose options match reuses it.

import { createHash } from 'node:crypto';
import { generateShop, loadShop, resolveShopOptions } from '../../examples/shop/generate.js';
import { BenchPg } from './pg.js';

export const MARKER_TABLE = 'public.tally_bench_datasets';

export interface DatasetOptions {
  customers: number;
  seed: number;
  anchor: Date;
  /** History length in days (the generator's default is 400). */
  days: number;
}

/** What bench/run.ts gives every section that runs on the shared data set. */
export interface DataSectionOptions extends DatasetOptions {
  /** The PostgreSQL server's URL (without a database) and the bench's database on it. */
  server: string;
  database: string;
  /** Measured repetitions after one warm-up; 0: the section's default (its options type says it). */
  reps: number;
  timeoutMs: number;
  log: (s: string) => void;
}

export interface Dataset extends DatasetOptions {
  schema: string;
  customersLoaded: number;
  eventsLoaded: number;
  /** Seconds the load took when it happened (this run or an earlier one). */
  loadSeconds: number;
  loadedAt: string;
  reused: boolean;
  indexes: string[];
}

/** Events per customer the generator produces for `days` of history (measured on a sample). */
export function eventsPerCustomer(days: number, seed: number, anchor: Date, sample = 10_000): number {
  let c = 0;
  let e = 0;
  for (const b of generateShop({ customers: sample, seed, anchor, days })) {
    c += b.customers.id.length;
    e += b.events.customer_id.length;
  }
  return c ? e / c : 0;
}

/** The history length (whole days) whose events per customer is closest to `target`. */
export function daysForEventsPerCustomer(target: number, seed: number, anchor: Date): { days: number; measured: number } {
  let lo = 7;
  let hi = 3000;
  let best = { days: 400, measured: eventsPerCustomer(400, seed, anchor) };
  for (let i = 0; i < 14 && hi - lo > 1; i++) {
    const mid = Math.round((lo + hi) / 2);
    const m = eventsPerCustomer(mid, seed, anchor);
    if (Math.abs(m - target) < Math.abs(best.measured - target)) best = { days: mid, measured: m };
    if (m < target) lo = mid;
    else hi = mid;
  }
  return best;
}

export function schemaName(o: DatasetOptions): string {
  return `shop_c${o.customers}_s${o.seed}_d${String(o.days).replace(/\W/g, '_')}`;
}

/** A fingerprint of the generator's output for these options: its first batch, hashed. */
export function dataFingerprint(o: DatasetOptions): string {
  const h = createHash('sha256');
  h.update(`v1:${o.customers}:${o.seed}:${o.anchor.toISOString()}:${o.days}\n`);
  for (const b of generateShop({ customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days, batchEvents: 20_000 })) {
    h.update(JSON.stringify(b.customers));
    h.update(JSON.stringify(b.events));
    break;
  }
  return h.digest('hex').slice(0, 16);
}

async function listIndexes(db: BenchPg, schema: string): Promise<string[]> {
  const rows = await db.query<{ indexdef: string }>(`select indexdef from pg_indexes where schemaname = $1 order by tablename, indexname`, [schema]);
  return rows.map((r) => r.indexdef.replace(/ USING btree/i, '').replace(new RegExp(`"?${schema}"?\\.`, 'g'), ''));
}

/** Loads the data set unless the marker says this schema already holds it; returns what is there. */
export async function ensureDataset(db: BenchPg, o: DatasetOptions, log: (s: string) => void): Promise<Dataset> {
  resolveShopOptions(o); // validates
  const schema = schemaName(o);
  const fingerprint = dataFingerprint(o);
  await db.query(`create table if not exists ${MARKER_TABLE} (
    schema_name text primary key, customers bigint not null, seed int not null, anchor timestamptz not null,
    days float8 not null, fingerprint text not null, customers_loaded bigint not null, events_loaded bigint not null,
    load_seconds float8 not null, loaded_at timestamptz not null default now())`);
  const marker = (
    await db.query<{ customers: number; seed: number; anchor: Date; days: number; fingerprint: string; customers_loaded: number; events_loaded: number; load_seconds: number; loaded_at: Date }>(
      `select * from ${MARKER_TABLE} where schema_name = $1`,
      [schema],
    )
  )[0];
  const tablesThere = async () => {
    const r = await db.query<{ c: string | null; e: string | null }>(`select to_regclass($1) as c, to_regclass($2) as e`, [`"${schema}".customers`, `"${schema}".events`]);
    return !!(r[0]?.c && r[0]?.e);
  };
  if (
    marker &&
    Number(marker.customers) === o.customers &&
    marker.seed === o.seed &&
    new Date(marker.anchor).getTime() === o.anchor.getTime() &&
    marker.days === o.days &&
    marker.fingerprint === fingerprint &&
    (await tablesThere())
  ) {
    const [{ n }] = await db.query<{ n: number }>(`select count(*)::bigint as n from "${schema}".customers`);
    if (n === Number(marker.customers_loaded)) {
      return {
        ...o,
        schema,
        customersLoaded: Number(marker.customers_loaded),
        eventsLoaded: Number(marker.events_loaded),
        loadSeconds: marker.load_seconds,
        loadedAt: new Date(marker.loaded_at).toISOString(),
        reused: true,
        indexes: await listIndexes(db, schema),
      };
    }
    log(`  marker for ${schema} does not match its tables (${n} customers); reloading`);
  } else if (marker) {
    log(`  ${schema} holds other data (marker ${marker.fingerprint} vs ${fingerprint}); reloading`);
  }

  log(`  loading ${o.customers.toLocaleString('en-US')} customers (seed ${o.seed}, ${o.days} days up to ${o.anchor.toISOString()}) into tally_bench.${schema} ...`);
  const started = performance.now();
  await db.query(`delete from ${MARKER_TABLE} where schema_name = $1`, [schema]);
  await db.query(`drop schema if exists "${schema}" cascade`);
  let nextReport = 0;
  const totals = await loadShop(db.asDb(), {
    customers: o.customers,
    seed: o.seed,
    anchor: o.anchor,
    days: o.days,
    schema,
    onProgress: ({ customers, events }) => {
      if (customers >= nextReport) {
        const s = (performance.now() - started) / 1000;
        log(`    ${customers.toLocaleString('en-US')} customers, ${events.toLocaleString('en-US')} events inserted (${s.toFixed(0)} s)`);
        nextReport += Math.max(1, Math.round(o.customers / 10));
      }
    },
  });
  const inserted = (performance.now() - started) / 1000;
  log(`    inserted + indexed + analyzed in ${inserted.toFixed(0)} s; vacuuming (visibility map, so index-only scans need no heap fetches) ...`);
  // What autovacuum would have done by the time anyone queries a table this size.
  await db.query(`vacuum (analyze) "${schema}".customers`);
  await db.query(`vacuum (analyze) "${schema}".events`);
  const loadSeconds = (performance.now() - started) / 1000;
  await db.query(
    `insert into ${MARKER_TABLE} (schema_name, customers, seed, anchor, days, fingerprint, customers_loaded, events_loaded, load_seconds) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [schema, o.customers, o.seed, o.anchor.toISOString(), o.days, fingerprint, totals.customers, totals.events, loadSeconds],
  );
  log(`  loaded ${totals.customers.toLocaleString('en-US')} customers and ${totals.events.toLocaleString('en-US')} events in ${loadSeconds.toFixed(0)} s`);
  return {
    ...o,
    schema,
    customersLoaded: totals.customers,
    eventsLoaded: totals.events,
    loadSeconds,
    loadedAt: new Date().toISOString(),
    reused: false,
    indexes: await listIndexes(db, schema),
  };
}
