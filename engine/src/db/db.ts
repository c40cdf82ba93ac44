// Database access: one small interface over PostgreSQL (pg) and the embedded PGlite.
//
// This is the only place that opens connections. Values come back as plain JSON-friendly data:
// bigint and numeric as numbers, timestamps as ISO-8601 strings, so previews print the same on both.

import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactSecrets } from '../redact.js';

export type DbKind = 'postgres' | 'pglite';

export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  fields: string[];
}

export interface Db {
  readonly kind: DbKind;
  /** A display label with no credentials, e.g. `postgres://app@127.0.0.1:5432/shop` or `pglite:.tally/db`. */
  readonly label: string;
  query<R = Record<string, unknown>>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
  /** Runs several statements (no parameters). */
  exec(text: string): Promise<void>;
  /** Runs `fn` inside one transaction on one connection; rolls back if it throws. */
  transaction<T>(fn: (tx: Db) => Promise<T>, options?: { readOnly?: boolean; timeoutMs?: number }): Promise<T>;
  close(): Promise<void>;
}

/** A connection or query failure, with a message safe to show: credentials are masked here, whatever the driver said. */
export class DbError extends Error {
  constructor(
    message: string,
    readonly code: 'db-unreachable' | 'db-query' | 'db-timeout' | 'db-url',
    readonly sqlState?: string,
  ) {
    super(redactSecrets(message));
  }
}

const PG_INT8 = 20;
const PG_NUMERIC = 1700;
const PG_TIMESTAMP = 1114;
const PG_TIMESTAMPTZ = 1184;
const PG_DATE = 1082;

function parseNumber(v: string): number {
  return Number(v);
}
function parseTimestampTz(v: string): string {
  const d = new Date(v.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}
function parseTimestamp(v: string): string {
  const d = new Date(v.replace(' ', 'T') + 'Z');
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}
const PARSERS: Record<number, (v: string) => unknown> = {
  [PG_INT8]: parseNumber,
  [PG_NUMERIC]: parseNumber,
  [PG_TIMESTAMP]: parseTimestamp,
  [PG_TIMESTAMPTZ]: parseTimestampTz,
  [PG_DATE]: (v) => v,
};

/** A database URL for display: any scheme's password, and `?password=…`, masked (redact.ts). */
export function redactUrl(url: string): string {
  return redactSecrets(url);
}

export type ParsedDbUrl =
  | { kind: 'postgres'; url: string }
  | { kind: 'pglite'; dir: string | null /* null: in memory */ };

/** Parses the URL forms of the CLI contract: `postgres://…`, `postgresql://…`, `pglite:<dir>`, `pglite:memory`. */
export function parseDbUrl(url: string, baseDir: string): ParsedDbUrl | { error: string } {
  if (/^postgres(ql)?:\/\//.test(url)) return { kind: 'postgres', url };
  if (url.startsWith('pglite:')) {
    const rest = url.slice('pglite:'.length).replace(/^\/\/(?=\/)/, '');
    if (rest === 'memory' || rest === '' || rest === 'memory://') return { kind: 'pglite', dir: null };
    return { kind: 'pglite', dir: isAbsolute(rest) ? rest : resolvePath(baseDir, rest) };
  }
  return {
    error: `'${redactUrl(url)}' is not a database URL Tally understands; use postgres://user@host:5432/db, pglite:<dir> or pglite:memory`,
  };
}

export interface ConnectOptions {
  /** Where a relative pglite:<dir> is resolved from (the current directory for --db, the project otherwise). */
  baseDir: string;
  /** Create the PGlite data directory if it is missing (true for demo/seed; false for a read-only look). */
  create?: boolean;
  /** Project time zone; sessions run with it so `timestamp` columns read as the project means them. */
  timezone?: string;
}

export async function connect(url: string, options: ConnectOptions): Promise<Db> {
  const parsed = parseDbUrl(url, options.baseDir);
  if ('error' in parsed) throw new DbError(parsed.error, 'db-url');
  const tz = options.timezone ?? 'UTC';
  if (parsed.kind === 'postgres') return connectPostgres(parsed.url, tz);
  return connectPglite(parsed.dir, tz, options.create ?? true);
}

async function connectPostgres(url: string, timezone: string): Promise<Db> {
  const pg = (await import('pg')).default;
  const types = {
    getTypeParser(oid: number, format?: string) {
      const p = PARSERS[oid];
      if (p) return p;
      return pg.types.getTypeParser(oid, format as 'text');
    },
  };
  const pool = new pg.Pool({
    connectionString: url,
    max: 4,
    connectionTimeoutMillis: 5000,
    idleTimeoutMillis: 10000,
    types: types as never,
    options: `-c TimeZone=${timezone}`,
  });
  // An idle client's error (the server went away) must not crash the process.
  pool.on('error', () => undefined);
  const label = redactUrl(url);
  try {
    const c = await pool.connect();
    c.release();
  } catch (e) {
    await pool.end().catch(() => undefined);
    throw new DbError(`cannot connect to ${label}: ${errorText(e)}`, 'db-unreachable');
  }

  const wrap = (run: (text: string, params?: readonly unknown[]) => Promise<import('pg').QueryResult>): Db['query'] =>
    async <R,>(text: string, params?: readonly unknown[]) => {
      try {
        const r = await run(text, params);
        return { rows: r.rows as R[], fields: (r.fields ?? []).map((f) => f.name) };
      } catch (e) {
        throw toDbError(e, label);
      }
    };

  // `exec` runs a script (several statements, no parameters) through the same error mapping.
  const execWith = (run: (text: string) => Promise<unknown>): Db['exec'] => async (text) => {
    try {
      await run(text);
    } catch (e) {
      throw toDbError(e, label);
    }
  };

  const db: Db = {
    kind: 'postgres',
    label,
    query: wrap((text, params) => pool.query(text, params as unknown[])),
    exec: execWith((text) => pool.query(text)),
    async transaction(fn, opts) {
      let client: import('pg').PoolClient;
      try {
        client = await pool.connect();
      } catch (e) {
        throw new DbError(`cannot connect to ${label}: ${errorText(e)}`, 'db-unreachable');
      }
      const tx: Db = {
        kind: 'postgres',
        label,
        query: wrap((text, params) => client.query(text, params as unknown[])),
        exec: execWith((text) => client.query(text)),
        transaction: (inner) => inner(tx),
        close: async () => undefined,
      };
      try {
        await client.query(opts?.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        if (opts?.timeoutMs) await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
        // Previews are analytical reads: JIT costs more than it saves on the probe shape (measured
        // 0.76x without it), and the one-pass shape's hash aggregate spills at the default work_mem.
        // One statement per query (ARCHITECTURE.md "Portability rules"). On a distributed PostgreSQL
        // (Citus) these settings reach the coordinator's session only, not the workers' (docs/citus.md).
        if (opts?.readOnly) {
          await client.query(`SET LOCAL jit = off`);
          await client.query(`SET LOCAL work_mem = '64MB'`);
        }
        const out = await fn(tx);
        await client.query('COMMIT');
        return out;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e instanceof DbError ? e : toDbError(e, label);
      } finally {
        client.release();
      }
    },
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
  return db;
}

async function connectPglite(dir: string | null, timezone: string, create: boolean): Promise<Db> {
  const label = dir === null ? 'pglite:memory' : `pglite:${dir}`;
  if (dir !== null && !existsSync(dir)) {
    if (!create) throw new DbError(`the embedded database ${label} does not exist yet; run \`tally demo\` or load data into it first`, 'db-unreachable');
    mkdirSync(dir, { recursive: true });
  }
  let pg: import('@electric-sql/pglite').PGlite;
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const template = dir !== null && !existsSync(join(dir, 'PG_VERSION')) ? emptyClusterTemplate() : undefined;
    // 16 MB of shared buffers instead of 128 MB: an embedded database holds small data and reads
    // through the OS page cache anyway; the WebAssembly memory they take is never given back
    // (`tally demo`: 512 -> 383 MB peak). Numbers do not depend on it.
    const base = { parsers: PARSERS as never, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] };
    pg = template
      ? await PGlite.create(dir!, { ...base, loadDataDir: new Blob([readFileSync(template)]) }).catch(async () => {
          // A template that does not fit this PGlite: start over with initdb.
          rmSync(dir!, { recursive: true, force: true });
          mkdirSync(dir!, { recursive: true });
          return PGlite.create(dir!, base);
        })
      : await PGlite.create(dir === null ? undefined : dir, base);
    await pg.exec(`SET TIME ZONE '${timezone.replace(/'/g, "''")}'`);
  } catch (e) {
    throw new DbError(`cannot open the embedded database ${label}: ${errorText(e)}`, 'db-unreachable');
  }
  // PGlite is one connection; a mutex keeps a transaction's statements together.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T,>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const rawQuery = async <R,>(text: string, params?: readonly unknown[]): Promise<QueryResult<R>> => {
    try {
      const r = await pg.query<R>(text, params as unknown[]);
      return { rows: r.rows, fields: r.fields.map((f) => f.name) };
    } catch (e) {
      throw toDbError(e, label);
    }
  };
  const rawExec = async (text: string): Promise<void> => {
    try {
      await pg.exec(text);
    } catch (e) {
      throw toDbError(e, label);
    }
  };
  const tx: Db = {
    kind: 'pglite',
    label,
    query: rawQuery,
    exec: rawExec,
    transaction: (inner) => inner(tx),
    close: async () => undefined,
  };
  return {
    kind: 'pglite',
    label,
    query: (text, params) => exclusive(() => rawQuery(text, params)),
    exec: (text) => exclusive(() => rawExec(text)),
    transaction: (fn, opts) =>
      exclusive(async () => {
        await rawExec(opts?.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        try {
          if (opts?.timeoutMs) await rawExec(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
          const out = await fn(tx);
          await rawExec('COMMIT');
          return out;
        } catch (e) {
          await pg.exec('ROLLBACK').catch(() => undefined);
          throw e;
        }
      }),
    close: async () => {
      await exclusive(() => pg.close()).catch(() => undefined);
    },
  };
}

/**
 * The empty database the build made for this PGlite version (esbuild.mjs), if any: a new data
 * directory starts from it instead of running initdb, whose three WebAssembly instances peak at
 * ~900 MB (`tally demo` peaked there); opening a directory needs one instance.
 */
function emptyClusterTemplate(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const version = (JSON.parse(readFileSync(require.resolve('@electric-sql/pglite').replace(/dist[\\/]index\.cjs$/, 'package.json'), 'utf8')) as { version: string }).version;
    for (const rel of ['./', '../../../dist/']) {
      const file = fileURLToPath(new URL(`${rel}pglite-empty.tar.gz`, import.meta.url));
      const stamp = fileURLToPath(new URL(`${rel}pglite-empty.json`, import.meta.url));
      if (existsSync(file) && existsSync(stamp) && (JSON.parse(readFileSync(stamp, 'utf8')) as { pglite?: string }).pglite === version) return file;
    }
  } catch {
    // no template: initdb
  }
  return undefined;
}

function errorText(e: unknown): string {
  if (e instanceof Error) {
    const agg = e as Error & { errors?: Error[]; code?: string };
    if (agg.errors?.length) return agg.errors.map((x) => x.message).join('; ');
    return e.message || agg.code || String(e);
  }
  return String(e);
}

function toDbError(e: unknown, label: string): DbError {
  if (e instanceof DbError) return e;
  const err = e as { code?: string; message?: string };
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code === '57014') return new DbError(`the query was cancelled after its statement timeout on ${label}`, 'db-timeout', code);
  if (code && /^(08|57P0)/.test(code)) return new DbError(`lost the connection to ${label}: ${errorText(e)}`, 'db-unreachable', code);
  if (code === 'ECONNREFUSED' || code === 'ECONNRESET' || code === 'ENOTFOUND' || code === 'ETIMEDOUT')
    return new DbError(`cannot reach ${label}: ${errorText(e)}`, 'db-unreachable', code);
  return new DbError(errorText(e), 'db-query', code);
}
