// The example shop as a test fixture: a copy of the project to edit, and its generated data in a
// throwaway database on either backend. Connections are short-lived (PGlite allows one owner of
// its directory at a time, and the CLI under test opens its own). `useShop` is the usual block
// setup over both: a project, the data, and the CLI run against them.

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../../engine/src/db/db.js';
import { DEFAULT_ANCHOR, loadShop } from '../../examples/shop/generate.js';
import { createTestDb, type Backend } from './databases.js';
import { runTally, STACK, type Run } from './cli.js';

export const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOP = join(REPO, 'examples', 'shop');

/** A copy of examples/shop (without its embedded database) at `<into>/<name>`. */
export function copyShop(into: string, name: string): string {
  const dir = join(into, name);
  cpSync(SHOP, dir, { recursive: true, filter: (src) => !src.includes('.tally') });
  return dir;
}

/** Replaces text in a file; fails the test when the pattern is not there. */
export function edit(file: string, from: string | RegExp, to: string): void {
  const text = readFileSync(file, 'utf8');
  const next = text.replace(from, to);
  assert.notEqual(next, text, `edit did not apply: ${String(from)}`);
  writeFileSync(file, next);
}

export interface ShopDb {
  readonly url: string;
  /** Runs `fn` on a fresh connection, closed afterwards. */
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  drop(): Promise<void>;
}

/** The shop's data (`customers` of them, anchored at DEFAULT_ANCHOR) in a throwaway database. */
export async function shopDb(backend: Backend, tmp: string, customers = 200): Promise<ShopDb> {
  let url: string;
  let drop = async () => undefined as void;
  if (backend === 'pglite') {
    url = `pglite:${mkdtempSync(join(tmp, 'db-'))}`;
    const db = await connect(url, { baseDir: tmp });
    await loadShop(db, { customers, anchor: DEFAULT_ANCHOR });
    await db.close();
  } else {
    const testDb = await createTestDb('postgres');
    url = testDb.url;
    await loadShop(testDb.db, { customers, anchor: DEFAULT_ANCHOR });
    drop = () => testDb.drop();
  }
  return {
    url,
    async withDb(fn) {
      const db = await connect(url, { baseDir: tmp, create: false });
      try {
        return await fn(db);
      } finally {
        await db.close();
      }
    },
    drop,
  };
}

/** A `forEachBackend` block's shop: its project, its database and the CLI against both. */
export interface ShopFixture {
  /** The project folder (set once the block's `before` hook has run). */
  readonly project: string;
  readonly url: string;
  withDb<T>(fn: (db: Db) => Promise<T>): Promise<T>;
  /** `tally <argv> --project <project> --db <url>` in-process; no stack trace may reach stderr. */
  tally(argv: string[]): Promise<Run>;
}

/**
 * Registers the block's hooks: before, `prepare` writes the project (returns its folder, or the folder
 * and the directory to run the CLI in) and the shop's data is loaded on `backend`; after, dropped.
 */
export function useShop(backend: Backend, tmp: string, prepare: () => string | { project: string; cwd: string }): ShopFixture {
  let shop: ShopDb | undefined;
  let project = '';
  let cwd = '';
  before(async function () {
    this.timeout(300_000);
    const p = prepare();
    ({ project, cwd } = typeof p === 'string' ? { project: p, cwd: p } : p);
    shop = await shopDb(backend, tmp);
  });
  after(async () => {
    await shop?.drop();
  });
  return {
    get project() {
      return project;
    },
    get url() {
      return shop!.url;
    },
    withDb: (fn) => shop!.withDb(fn),
    async tally(argv) {
      const r = await runTally([...argv, '--project', project, '--db', shop!.url], { cwd });
      assert.doesNotMatch(r.err, STACK);
      return r;
    },
  };
}
