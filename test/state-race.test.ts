// Creating Tally's state in a new schema at the same moment from two places (issue 10.10): a
// deploy (ensureState, under the deploy lock) and a campaign run (ensureCampaignState, under the
// campaign lock) both run `create schema if not exists`, which alone races on pg_namespace's unique
// key ("duplicate key value violates unique constraint"). Both now take one state-creation lock
// before their DDL. On the real PostgreSQL server: two connections with a transaction held open
// across the other's creation (deterministic, both orders), and two real `tally` processes started
// together on fresh schemas.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Db } from '../engine/src/db/db.js';
import { ensureState } from '../engine/src/state/ddl.js';
import { deployLockKey } from '../engine/src/state/locks.js';
import { campaignLockKey } from '../engine/src/state/locks.js';
import { ensureCampaignState } from '../engine/src/state/ddl.js';
import { createTestDb, postgresReachable, type TestDb } from './helpers/databases.js';
import { CAMPAIGNS, loadTimeline, MODEL, SEGMENTS, writeProject } from './helpers/campaign-fixture.js';
import { REPO } from './helpers/shop.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-state-race-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function tally(argv: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

describe('state creation under concurrency [postgres]', function () {
  let t: TestDb | undefined;
  let a: Db;
  let b: Db;

  before(async function () {
    this.timeout(120_000);
    if (!(await postgresReachable())) this.skip();
    t = await createTestDb('postgres');
    await loadTimeline(t.db);
    a = await connect(t.url, { baseDir: TMP });
    b = await connect(t.url, { baseDir: TMP });
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await t?.drop();
  });

  const deployState = (db: Db, schema: string, holdMs: number) =>
    db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${deployLockKey(schema)}::bigint)`);
      await ensureState(tx, schema);
      await sleep(holdMs);
    });
  const campaignState = (db: Db, schema: string, holdMs: number) =>
    db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${campaignLockKey(schema)}::bigint)`);
      await ensureCampaignState(tx, schema);
      await sleep(holdMs);
    });

  it('a deploy creating a new schema while a run creates it too: both succeed, in either order', async () => {
    for (const [first, second, label] of [
      [deployState, campaignState, 'deploy first'],
      [campaignState, deployState, 'run first'],
    ] as const) {
      const schema = `race_${label.split(' ')[0]}`;
      // The first holds its uncommitted schema for 400 ms while the second tries to create it.
      const one = first(a, schema, 400);
      await sleep(100);
      const two = second(b, schema, 0);
      const results = await Promise.allSettled([one, two]);
      assert.deepEqual(
        results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'ok')),
        ['ok', 'ok'],
        label,
      );
      const tables = await t!.db.query<{ n: number }>(`select count(*) as n from pg_tables where schemaname = $1`, [schema]);
      assert.equal(Number(tables.rows[0]!.n), 8, `${label}: the five history tables and the three campaign tables`);
    }
  });

  it('`tally deploy` and `tally run` as two processes at the same moment on new schemas: no duplicate-key error', async function () {
    this.timeout(120_000);
    for (let i = 0; i < 3; i++) {
      const dir = writeProject(join(TMP, `p${i}`), { 'model.yaml': MODEL, 'segments.yaml': SEGMENTS, 'campaigns.yaml': CAMPAIGNS });
      writeFileSync(join(dir, 'tally.yaml'), `tally: 1\nname: race\ndefinitions: ["definitions/**/*.yaml"]\ndeploy:\n  schema: race_proc_${i}\ntimezone: UTC\n`);
      const common = ['--project', dir, '--db', t!.url];
      const [deployed, ran] = await Promise.all([tally(['deploy', ...common]), tally(['run', '--as-of', '2026-01-01', ...common])]);
      assert.equal(deployed.code, 0, deployed.err);
      assert.doesNotMatch(ran.err + deployed.err, /duplicate key|pg_namespace|unique constraint/);
      // The run either came first (refused: nothing deployed yet, exit 1) or after (enrolled, exit 0).
      if (ran.code === 1) assert.match(ran.err, /not deployed/);
      else assert.equal(ran.code, 0, ran.err);
    }
  });
});
