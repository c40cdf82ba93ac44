// Throwaway databases for tests: an in-memory PGlite, and a fresh database on the real PostgreSQL
// server (TALLY_TEST_PG, default postgres://postgres@127.0.0.1:5432/test) that is dropped afterwards.
// Under CI=true an unreachable server is a failure, never a skip.

import pg from 'pg';
import { connect, type Db } from '../../engine/src/db/db.js';

export const PG_URL = process.env.TALLY_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

export type Backend = 'pglite' | 'postgres';

let pgReachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  pgReachable ??= (async () => {
    const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.end();
      return true;
    } catch (e) {
      if (process.env.CI === 'true') throw new Error(`PostgreSQL at ${PG_URL} is unreachable under CI=true: ${(e as Error).message}`);
      return false;
    }
  })();
  return pgReachable;
}

export interface TestDb {
  readonly db: Db;
  readonly url: string;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh, empty database on the given backend. */
export async function createTestDb(backend: Backend): Promise<TestDb> {
  if (backend === 'pglite') {
    const db = await connect('pglite:memory', { baseDir: '.' });
    return { db, url: 'pglite:memory', drop: () => db.close() };
  }
  const name = `tally_test_${process.pid}_${Date.now().toString(36)}_${Math.floor(Math.random() * 1e6)}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = withDatabase(PG_URL, name);
  const db = await connect(url, { baseDir: '.' });
  return {
    db,
    url,
    async drop() {
      await db.close();
      const a = new pg.Client({ connectionString: PG_URL });
      await a.connect();
      try {
        await a.query(`drop database if exists ${name} with (force)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** Runs a describe block once per backend; the PostgreSQL one skips locally when no server runs. */
export function forEachBackend(title: string, body: (backend: Backend) => void): void {
  for (const backend of ['pglite', 'postgres'] as const) {
    describe(`${title} [${backend}]`, function () {
      if (backend === 'postgres') {
        before(async function () {
          if (!(await postgresReachable())) this.skip();
        });
      }
      body(backend);
    });
  }
}
