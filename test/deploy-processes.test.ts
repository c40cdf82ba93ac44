// Deploys as separate operating-system processes on the real PostgreSQL server: two `tally deploy`
// processes at once, and a deploy killed (SIGKILL) half-way through its transaction. The killed
// deploy must leave the previous state intact: views, history and the advisory lock.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Db } from '../engine/src/db/db.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { createTestDb, postgresReachable, type TestDb } from './helpers/databases.js';
import { copyShop as copyShopInto, edit, REPO } from './helpers/shop.js';

const SEGMENTS = 'definitions/segments.yaml';
const TMP = mkdtempSync(join(tmpdir(), 'tally-deploy-proc-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const copyShop = (name: string) => copyShopInto(TMP, name);

interface Proc {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
}

/** `tally <argv>` as its own process (the built CLI, as CI and users run it). */
function tallyProcess(argv: string[]): Proc {
  const child = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), ...argv], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, out, err })));
  return { child, done };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('deploy as separate processes [postgres]', function () {
  let testDb: TestDb | undefined;
  let url = '';
  let project = '';
  let observer: Db;

  before(async function () {
    this.timeout(300_000);
    if (!(await postgresReachable())) this.skip();
    testDb = await createTestDb('postgres');
    url = testDb.url;
    await loadShop(testDb.db, { customers: 200, anchor: DEFAULT_ANCHOR });
    observer = await connect(url, { baseDir: TMP });
    project = copyShop('shop');
    const first = await tallyProcess(['deploy', '--project', project, '--db', url]).done;
    assert.equal(first.code, 0, first.err);
  });
  after(async () => {
    await observer?.close();
    await testDb?.drop();
  });

  /** Everything a reader can see of the deploy state. */
  async function state(): Promise<unknown> {
    const q = async (sql: string) => (await observer.query(sql)).rows;
    return {
      deploys: await q('select id, who, git_commit from tally.deploys order by id'),
      rows: await q('select deploy_id, kind, name, version, fingerprint from tally.deployed_definitions order by deploy_id, kind, name'),
      views: await q(`select viewname, definition from pg_views where schemaname = 'tally' order by viewname`),
      snapshots: await q('select count(*) as n from tally.lifecycle_snapshots'),
    };
  }

  it('a deploy killed half-way through its transaction leaves the previous state intact', async function () {
    this.timeout(180_000);
    const before = await state();
    // Two changes: `dach` is replaced early, `whale_order` later in the same transaction.
    const segments = join(project, SEGMENTS);
    edit(segments, /name: dach\nversion: 1\n([^]*?)in: \[DE, AT, CH\] \}/, 'name: dach\nversion: 2\n$1in: [DE, AT, CH, LI] }');
    edit(segments, /name: whale_order\nversion: 1\n([^]*?)gte: 250 \}/, 'name: whale_order\nversion: 2\n$1gte: 300 }');
    assert.ok(readFileSync(segments, 'utf8').indexOf('name: dach') < readFileSync(segments, 'utf8').indexOf('name: whale_order'));

    // Hold the history table so the deploy blocks half-way: after replacing both views and
    // inserting its deploys row, at the insert of its deployed_definitions rows.
    const holder = await connect(url, { baseDir: TMP });
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    const holding = new Promise<void>((ready) => {
      void holder.transaction(async (tx) => {
        await tx.exec('lock table tally.deployed_definitions in exclusive mode');
        ready();
        await released;
      });
    });
    try {
      await holding;
      const deploy = tallyProcess(['deploy', '--project', project, '--db', url]);
      // Wait until its backend is blocked on our lock, i.e. mid-transaction.
      const pid = await until('the deploy to block on the history table', async () => {
        const r = await observer.query<{ pid: number; query: string }>(
          `select pid, query from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        );
        return r.rows.find((x) => /insert into "tally"\.deployed_definitions/.test(x.query))?.pid;
      });
      // By now it holds the deploy lock and has replaced the views inside its open transaction.
      const locks = await observer.query<{ n: number }>(`select count(*) as n from pg_locks where pid = $1 and granted and locktype = 'advisory'`, [pid]);
      assert.equal(Number(locks.rows[0]!.n), 1, 'the deploy holds the deploy lock');
      const views = await observer.query<{ n: number }>(
        `select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation where l.pid = $1 and l.granted and c.relname in ('segment_dach', 'segment_whale_order') and l.mode = 'AccessExclusiveLock'`,
        [pid],
      );
      assert.equal(Number(views.rows[0]!.n), 2, 'both views were replaced in the open transaction');

      deploy.child.kill('SIGKILL');
      const killed = await deploy.done;
      assert.equal(killed.signal, 'SIGKILL');
      release();
      // The server notices the vanished client and rolls its transaction back.
      await until('the killed backend to end', async () => {
        const r = await observer.query(`select 1 from pg_stat_activity where pid = $1`, [pid]);
        return r.rows.length ? undefined : true;
      });
    } finally {
      release();
      await holder.close();
    }
    assert.deepEqual(await state(), before);

    // The lock is free and the same deploy now goes through.
    const again = await tallyProcess(['deploy', '--project', project, '--db', url, '--format', 'json']).done;
    assert.equal(again.code, 0, again.err);
    const out = JSON.parse(again.out) as { changes: { name: string; status: string }[] };
    assert.deepEqual(out.changes.filter((c) => c.status === 'changed').map((c) => c.name).sort(), ['dach', 'whale_order']);
  });

  it('two deploy processes at once: one waits for the other; history records both, nothing is lost', async function () {
    this.timeout(180_000);
    const a = copyShop('a');
    const b = copyShop('b');
    for (const dir of [a, b]) cpSync(join(project, 'definitions'), join(dir, 'definitions'), { recursive: true });
    writeFileSync(join(a, 'definitions', 'extra.yaml'), 'kind: Segment\nname: only_a\nversion: 1\nwhere: { attribute: plan, eq: pro }\n');
    writeFileSync(join(b, 'definitions', 'extra.yaml'), 'kind: Segment\nname: only_b\nversion: 1\nwhere: { attribute: plan, eq: free }\n');
    const deploys = Number((await observer.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n);
    const [ra, rb] = await Promise.all([
      tallyProcess(['deploy', '--project', a, '--db', url, '--allow-drop', '--format', 'json']).done,
      tallyProcess(['deploy', '--project', b, '--db', url, '--allow-drop', '--format', 'json']).done,
    ]);
    assert.equal(ra.code, 0, ra.err);
    assert.equal(rb.code, 0, rb.err);
    const ja = JSON.parse(ra.out) as { deploy_id: number };
    const jb = JSON.parse(rb.out) as { deploy_id: number };
    assert.notEqual(ja.deploy_id, jb.deploy_id);
    assert.equal(Number((await observer.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n), deploys + 2);
    // The later deploy saw the earlier one's commit: exactly one of the two segments remains.
    const later = ja.deploy_id > jb.deploy_id ? 'only_a' : 'only_b';
    const views = (await observer.query<{ v: string }>(`select viewname as v from pg_views where schemaname = 'tally' and viewname like 'segment_only_%'`)).rows.map((r) => r.v);
    assert.deepEqual(views, [`segment_${later}`]);
  });
});
