// The example shop as a test fixture: a copy of the project to edit, and its generated data in a
// throwaway database on either backend. Connections are short-lived (PGlite allows one owner of
// its directory at a time, and the CLI under test opens its own).

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../../engine/src/db/db.js';
import { DEFAULT_ANCHOR, loadShop } from '../../examples/shop/generate.js';
import { createTestDb, type Backend } from './databases.js';

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
