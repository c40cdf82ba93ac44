// `materialize: table`: a deploy stores the definition as a table built aside and swapped in by
// rename; `tally refresh` rebuilds it from the recorded SQL. Readers see the old rows or the new
// ones, never a half-built table. Switching back to a view replaces the table.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { connect } from '../engine/src/db/db.js';
import { forEachBackend } from './helpers/databases.js';
import { copyShop, edit, useShop } from './helpers/shop.js';

const SEGMENTS = 'definitions/segments.yaml';
const PROFILE = 'definitions/profile.yaml';
const TMP = mkdtempSync(join(tmpdir(), 'tally-materialize-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

forEachBackend('materialize: table', (backend) => {
  const shop = useShop(backend, TMP, () => {
    const project = copyShop(TMP, `shop-${backend}`);
    edit(join(project, SEGMENTS), /name: dach\nversion: 1\n/, 'name: dach\nversion: 1\nmaterialize: table\n');
    edit(join(project, PROFILE), /name: lifetime_value\nversion: 1\n/, 'name: lifetime_value\nversion: 1\nmaterialize: table\n');
    return project;
  });
  const withDb = <T>(fn: (db: Db) => Promise<T>) => shop.withDb(fn);
  const tally = (...argv: string[]) => shop.tally(argv);
  const relkind = (name: string) =>
    withDb(async (db) => (await db.query<{ k: string; oid: number }>(`select relkind::text as k, oid::int as oid from pg_class where oid = to_regclass($1)`, [`tally.${name}`])).rows[0]);
  /** The table's rows, and the rows of its recorded SQL evaluated now: the oracle. */
  const rowsAndOracle = (kind: string, name: string) =>
    withDb(async (db) => {
      const sql = (await db.query<{ sql: string }>(`select sql from tally.deployed_definitions where kind = $1 and name = $2 order by deploy_id desc limit 1`, [kind, name])).rows[0]!.sql;
      const table = (await db.query(`select * from tally.${kind}_${name} order by key`)).rows;
      const oracle = (await db.query(`select * from (${sql}) as q order by key`)).rows;
      return { table, oracle };
    });

  it('deploys tables whose rows equal the recorded SQL; views elsewhere; a second deploy leaves the tables alone', async function () {
    this.timeout(120_000);
    const d = await tally('deploy');
    assert.equal(d.code, 0, d.err);
    assert.equal((await relkind('segment_dach'))!.k, 'r');
    assert.equal((await relkind('trait_lifetime_value'))!.k, 'r');
    assert.equal((await relkind('segment_champions'))!.k, 'v');
    for (const [kind, name] of [['segment', 'dach'], ['trait', 'lifetime_value']] as const) {
      const { table, oracle } = await rowsAndOracle(kind, name);
      assert.ok(table.length > 0);
      assert.deepEqual(table, oracle);
    }
    const oid = (await relkind('segment_dach'))!.oid;
    const again = await tally('deploy');
    assert.match(again.out, /nothing to deploy/);
    assert.equal((await relkind('segment_dach'))!.oid, oid);
    // No staging table is left behind.
    assert.equal(await relkind('segment_dach__tally_new'), undefined);
  });

  it('tally refresh rebuilds the tables from new data; views need nothing', async function () {
    this.timeout(120_000);
    const before = (await rowsAndOracle('segment', 'dach')).table.length;
    await withDb((db) => db.exec(`insert into customers (id, email, name, country, plan, created_at) select max(id) + 1, 'new@example.com', 'New', 'DE', 'free', now() - interval '1 day' from customers`));
    assert.equal((await rowsAndOracle('segment', 'dach')).table.length, before, 'a table keeps its rows until refreshed');
    const r = await tally('refresh', '--format', 'json');
    assert.equal(r.code, 0, r.err);
    const out = JSON.parse(r.out) as { tables: { name: string; rows: number }[] };
    assert.deepEqual(out.tables.map((t) => t.name).sort(), ['tally.segment_dach', 'tally.trait_lifetime_value']);
    const { table, oracle } = await rowsAndOracle('segment', 'dach');
    assert.equal(table.length, before + 1);
    assert.deepEqual(table, oracle);
  });

  if (backend === 'postgres') {
    it('a reader during a refresh sees the old rows or the new ones, never a half-built table', async function () {
      this.timeout(120_000);
      const old = (await rowsAndOracle('segment', 'dach')).table.length;
      await withDb((db) => db.exec(`insert into customers (id, email, name, country, plan, created_at) select (select max(id) from customers) + g, 'more@example.com', 'More', 'AT', 'free', now() - interval '1 day' from generate_series(1, 5) g`));
      const reader = await connect(shop.url, { baseDir: TMP });
      const seen = new Set<number>();
      let stop = false;
      const loop = (async () => {
        while (!stop) {
          const r = await reader.query<{ n: number }>('select count(*) as n from tally.segment_dach');
          seen.add(Number(r.rows[0]!.n));
        }
      })();
      const r = await tally('refresh');
      stop = true;
      await loop;
      await reader.close();
      assert.equal(r.code, 0, r.err);
      assert.ok([...seen].every((n) => n === old || n === old + 5), `counts seen: ${[...seen].join(', ')}`);
      assert.equal((await rowsAndOracle('segment', 'dach')).table.length, old + 5);
    });
  }

  it('switching back to a view (a version bump) replaces the table by a view', async function () {
    this.timeout(120_000);
    edit(join(shop.project, SEGMENTS), /name: dach\nversion: 1\nmaterialize: table\n/, 'name: dach\nversion: 2\n');
    const d = await tally('deploy');
    assert.equal(d.code, 0, d.err);
    assert.equal((await relkind('segment_dach'))!.k, 'v');
    const plan = await tally('plan');
    assert.equal(plan.code, 0);
    assert.match(plan.out, /no changes/);
  });
});
