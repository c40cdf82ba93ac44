// One dedicated PostgreSQL connection for the bench (pg.Client), plus the engine's small `Db`
// interface over it so that examples/shop/generate.ts's loadShop can load through it.
//
// A single connection (not a pool) so that session settings (search_path, statement_timeout) apply
// to every query, and so that queries run one at a time.

import pg from 'pg';
import type { Db, QueryResult } from '../../engine/src/db/db.js';

export const DEFAULT_SERVER_URL = 'postgres://postgres@127.0.0.1:5432';

export function databaseUrl(server: string, database: string): string {
  return `${server.replace(/\/+$/, '')}/${database}`;
}

/**
 * The engine's connection URL for a data set: its schema first on the search_path, in UTC. pg lets the
 * connection string's parameters override the pool's own `options`, so the time zone the engine sets
 * is repeated here next to the data set's search_path.
 */
export function engineUrl(server: string, database: string, dataSchema: string): string {
  const url = databaseUrl(server, database);
  const options = `-c search_path=${dataSchema},public -c TimeZone=UTC`;
  return `${url}${url.includes('?') ? '&' : '?'}options=${encodeURIComponent(options)}`;
}

const DAY = 86_400_000;

/**
 * Hand-written SQL's `:T`, `:T7` ... (T, T minus n days) -> positional timestamptz parameters,
 * numbered in order of first use; white space folded to one line.
 */
export function bind(text: string, asOf: Date): { sql: string; params: unknown[] } {
  const names: string[] = [];
  const out = text.replace(/:T(\d*)\b/g, (_m, d: string) => {
    const name = `T${d}`;
    let i = names.indexOf(name);
    if (i < 0) i = names.push(name) - 1;
    return `$${i + 1}::timestamptz`;
  });
  const params = names.map((n) => new Date(asOf.getTime() - Number(n.slice(1) || 0) * DAY).toISOString());
  return { sql: out.replace(/\s+/g, ' ').trim(), params };
}

export class BenchPg {
  private constructor(
    readonly client: pg.Client,
    readonly label: string,
  ) {}

  static async open(url: string): Promise<BenchPg> {
    const client = new pg.Client({ connectionString: url, options: '-c TimeZone=UTC' });
    // bigint and numeric as numbers: counts fit comfortably.
    client.setTypeParser(20, (v: string) => Number(v));
    client.setTypeParser(1700, (v: string) => Number(v));
    client.on('error', () => undefined);
    await client.connect();
    return new BenchPg(client, url.replace(/:[^@/]*@/, ':***@'));
  }

  async query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<R[]> {
    const r = await this.client.query(text, params as unknown[] | undefined);
    return r.rows as R[];
  }

  async close(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }

  /** The engine's Db interface over this connection (transactions are BEGIN/COMMIT on it). */
  asDb(): Db {
    const c = this.client;
    const label = this.label;
    const query = async <R,>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
      const r = await c.query(text, params as unknown[] | undefined);
      return { rows: r.rows as R[], fields: (r.fields ?? []).map((f) => f.name) };
    };
    const exec = async (text: string): Promise<void> => {
      await c.query(text);
    };
    const tx: Db = { kind: 'postgres', label, query, exec, transaction: (fn) => fn(tx), close: async () => undefined };
    return {
      kind: 'postgres',
      label,
      query,
      exec,
      async transaction(fn) {
        await c.query('BEGIN');
        try {
          const out = await fn(tx);
          await c.query('COMMIT');
          return out;
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw e;
        }
      },
      close: async () => undefined,
    };
  }
}

/** Creates `database` on the server if it does not exist. */
export async function ensureDatabase(server: string, database: string): Promise<void> {
  const admin = await BenchPg.open(databaseUrl(server, 'postgres'));
  try {
    const rows = await admin.query('select 1 from pg_database where datname = $1', [database]);
    if (rows.length === 0) await admin.query(`create database "${database.replace(/"/g, '""')}"`);
  } finally {
    await admin.close();
  }
}
