// A sync process killed mid-batch (a real `node bin/tally.mjs sync` child, SIGKILLed by the
// receiver while it holds a batch), then run again: the receiver has seen every change exactly
// once after de-duplicating by idempotency key, nothing is lost, nothing acknowledged is resent,
// and the history keeps the killed run (unfinished) beside the one that completed it. Twice: killed
// before the receiver answered, and after it answered 200 but before Tally recorded the
// acknowledgement (the duplicate a receiver must de-duplicate). On PGlite and PostgreSQL.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { runTally } from './helpers/cli.js';
import { Receiver } from './helpers/receiver.js';
import { REPO } from './helpers/shop.js';
import { loadSyncData, SECRET, syncProject } from './helpers/sync-fixture.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-sync-kill-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

forEachBackend('tally sync killed mid-batch, then resumed', (backend) => {
  let testDb: TestDb | undefined;
  let url = '';
  let project = '';
  const receiver = new Receiver(SECRET);
  const env = { USER: 'tester', SYNC_SECRET: SECRET };
  const tally = (argv: string[]) => runTally([...argv, '--project', project, '--db', url], { cwd: TMP, env });
  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    if (testDb) return fn(testDb.db);
    const db = await connect(url, { baseDir: TMP });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };

  /** Runs `tally sync` as a child process; resolves with its exit signal once it is gone. */
  const child = (asOf: string): { proc: ChildProcess; done: Promise<{ code: number | null; signal: string | null; err: string }> } => {
    const proc = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'sync', '--sync', 'everyone_hook', '--as-of', asOf, '--project', project, '--db', url], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, SYNC_SECRET: SECRET },
    });
    let err = '';
    proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    const done = new Promise<{ code: number | null; signal: string | null; err: string }>((r) => proc.on('exit', (code, signal) => r({ code, signal, err })));
    return { proc, done };
  };

  before(async function () {
    this.timeout(120_000);
    await receiver.start();
    project = syncProject(join(TMP, `p-${backend}`), receiver, { batchSize: 2 });
    if (backend === 'pglite') {
      url = `pglite:${join(TMP, `db-${backend}`)}`;
      const db = await connect(url, { baseDir: TMP });
      await loadSyncData(db);
      await db.close();
    } else {
      testDb = await createTestDb('postgres');
      url = testDb.url;
      await loadSyncData(testDb.db);
    }
    const d = await tally(['deploy']);
    assert.equal(d.code, 0, d.err);
  });
  after(async () => {
    await receiver.stop();
    await testDb?.drop();
  });

  for (const when of ['before answering', 'after answering 200'] as const) {
    it(`killed ${when} batch 3: the next run delivers the rest; every change seen exactly once after de-duplication`, async function () {
      this.timeout(120_000);
      const asOf = when === 'before answering' ? '2026-06-01T00:00:00Z' : '2026-06-02T00:00:00Z';
      if (when === 'after answering 200') await withDb((db) => db.exec(`update customers set email = coalesce(email, '') || '.new'`));
      const start = receiver.on('/everyone').length;
      const c = child(asOf);
      // Batches 1 and 2 are answered normally; batch 3 kills the process.
      receiver.faults.set('/everyone', [{ status: 200 }, { status: 200 }, { before: () => c.proc.kill('SIGKILL'), hang: when === 'before answering', status: 200 }]);
      const exit = await c.done;
      assert.equal(exit.signal, 'SIGKILL', exit.err);
      receiver.faults.set('/everyone', []);
      const acked = await withDb((db) => db.query<{ n: number }>(`select count(*) as n from tally.sync_acks a join tally.sync_runs r on r.id = a.run_id where r.sync = 'everyone_hook'`));
      const resumed = await tally(['sync', '--sync', 'everyone_hook', '--as-of', asOf, '--format', 'json']);
      assert.equal(resumed.code, 0, resumed.err);
      const out = JSON.parse(resumed.out);
      // 8 changes; batches 1-2 (4 changes) were acknowledged before the kill, so 4 are left.
      assert.equal(out.syncs[0].changes, 4, 'what was acknowledged is not resent');
      const reqs = receiver.on('/everyone').slice(start);
      const seen = reqs.flatMap((q) => q.json!.changes);
      const byKey = new Map<string, number>();
      for (const ch of seen) byKey.set(ch.idempotency_key, (byKey.get(ch.idempotency_key) ?? 0) + 1);
      assert.equal(byKey.size, 8, 'every change arrived');
      assert.deepEqual([...new Set(seen.map((ch) => ch.key))].sort(), ['1', '2', '3', '4', '5', '6', '7', '8']);
      const dup = [...byKey.values()].filter((n) => n > 1).length;
      assert.equal(dup, 2, 'batch 3 (2 changes) arrived twice: once before the kill, once resumed; the same idempotency keys');
      assert.ok(reqs.every((q) => q.signatureOk));
      if (when === 'after answering 200') for (const ch of seen) assert.match(String(ch.fields?.email ?? ''), /\.new$/);
      // The history: the killed run is there, unfinished; the resuming run delivered the rest.
      const h = JSON.parse((await tally(['history', '--sync', 'everyone_hook', '--format', 'json'])).out);
      const [latest, killed] = h.runs;
      assert.equal(latest.status, 'delivered');
      assert.equal(latest.delivered, 4);
      assert.equal(killed.status, null, 'the killed run has no recorded end');
      assert.equal(killed.changes, 8);
      assert.equal(killed.delivered, 4);
      assert.equal(Number(acked.rows[0]!.n) % 8, 4);
      // Nothing left: a further run is up to date.
      const again = JSON.parse((await tally(['sync', '--sync', 'everyone_hook', '--as-of', asOf, '--format', 'json'])).out);
      assert.equal(again.syncs[0].status, 'up-to-date');
    });
  }
});
