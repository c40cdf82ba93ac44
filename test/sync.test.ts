// `tally sync` end to end through the CLI, with a real HTTP receiver on 127.0.0.1 (helpers/
// receiver.ts) that verifies signatures and injects faults: the diff (enter, exit, change with the
// changed fields) against a hand-built timeline, the three modes, retries (500, 429 + Retry-After,
// a slow answer past the timeout, a connection reset), a garbage body, a rejection, dead letters,
// an unreachable receiver, the history, and that no secret is ever printed or recorded. On PGlite
// (a database folder) and PostgreSQL. The kill-mid-batch recovery is in sync-recovery.test.ts.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { Receiver } from './helpers/receiver.js';
import { lensText } from '../server/src/previews.js';
import { SECRET, syncProject, loadSyncData } from './helpers/sync-fixture.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-sync-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

forEachBackend('tally sync: diff, delivery, faults', (backend) => {
  let testDb: TestDb | undefined;
  let url = '';
  let project = '';
  const receiver = new Receiver(SECRET);
  const env = { USER: 'tester', SYNC_SECRET: SECRET };

  const tally = (argv: string[], e: NodeJS.ProcessEnv = env): Promise<Run> => runTally([...argv, '--project', project, '--db', url], { cwd: TMP, env: e });
  const withDb = async <T>(fn: (db: Db) => Promise<T>): Promise<T> => {
    if (testDb) return fn(testDb.db);
    const db = await connect(url, { baseDir: TMP });
    try {
      return await fn(db);
    } finally {
      await db.close();
    }
  };
  const sync = async (name: string, asOf: string, extra: string[] = []) => {
    const r = await tally(['sync', '--sync', name, '--as-of', asOf, '--format', 'json', ...extra]);
    assert.doesNotMatch(r.err, STACK);
    return { r, out: r.out ? JSON.parse(r.out) : null };
  };

  before(async function () {
    this.timeout(120_000);
    await receiver.start();
    project = syncProject(join(TMP, `p-${backend}`), receiver);
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
  });
  after(async () => {
    await receiver.stop();
    await testDb?.drop();
  });

  it('before deploy: refused with not-deployed at the sync, exit 1, nothing sent', async function () {
    this.timeout(60_000);
    const { r, out } = await sync('german_crm', '2026-06-01T00:00:00Z');
    assert.equal(r.code, 1);
    assert.match(r.err, /error \[not-deployed\] sync 'german_crm' is not deployed; a sync delivers what is deployed/);
    assert.equal(out.refused, true);
    assert.equal(receiver.requests.length, 0);
  });

  it('validate: the unset secret is a warning in the editor and validate, an error for tally sync', async function () {
    this.timeout(60_000);
    const v = await tally(['validate'], { USER: 'tester' });
    assert.match(v.err + v.out, /warning \[secret-unset\] the environment variable SYNC_SECRET is not set here/);
    const deployed = await tally(['deploy']);
    assert.equal(deployed.code, 0, deployed.err);
    const { r } = await sync('german_crm', '2026-06-01T00:00:00Z', []).then(async () => ({ r: await tally(['sync', '--sync', 'everyone_hook', '--as-of', '2026-06-01T00:00:00Z'], { USER: 'tester' }) }));
    assert.equal(r.code, 1);
    assert.match(r.err, /error \[secret-unset\] the environment variable SYNC_SECRET is not set; sync 'everyone_hook' cannot deliver/);
  });

  it('first sync: every member enters, with its fields, signed, in key order, in batches of batch_size', async function () {
    this.timeout(60_000);
    const reqs = receiver.on('/german');
    assert.equal(reqs.length, 3, 'german_crm ran in the previous test: 5 members in batches of 2');
    for (const q of reqs) {
      assert.equal(q.signatureOk, true);
      assert.match(String(q.headers['x-tally-timestamp']), /^\d+$/);
      assert.equal(q.json?.sync, 'german_crm');
    }
    const all = reqs.flatMap((q) => q.json!.changes);
    assert.deepEqual(all.map((c) => [c.op, c.key]), [['enter', '1'], ['enter', '2'], ['enter', '3'], ['enter', '4'], ['enter', '5']]);
    assert.deepEqual(all[0]!.fields, { email: 'a@example.com', spend: 30, signed_up_at: '2025-06-01T00:00:00.000000Z' });
    assert.deepEqual(all[4]!.fields, { email: null, spend: null, signed_up_at: '2025-06-01T00:00:00.000000Z' });
    assert.equal(new Set(all.map((c) => c.idempotency_key)).size, 5);
  });

  it('a second sync at the same T sends nothing (up to date)', async function () {
    this.timeout(60_000);
    const before = receiver.requests.length;
    const { r, out } = await sync('german_crm', '2026-06-01T00:00:00Z');
    assert.equal(r.code, 0, r.err);
    assert.equal(out.syncs[0].status, 'up-to-date');
    assert.equal(receiver.requests.length, before);
  });

  it('entered, exited and changed (with the changed fields) since the last delivered state, exactly', async function () {
    this.timeout(60_000);
    await withDb(async (db) => {
      await db.exec(`update customers set country = 'FR' where id = 2;
        update customers set country = 'DE' where id = 6;
        update customers set email = 'c2@example.com' where id = 3;
        insert into events values (1, 'purchase', '2026-06-15T00:00:00Z', '{"amount": 12.5}');`);
    });
    const before = receiver.on('/german').length;
    const { r, out } = await sync('german_crm', '2026-07-01T00:00:00Z');
    assert.equal(r.code, 0, r.err);
    assert.deepEqual([out.syncs[0].entered, out.syncs[0].exited, out.syncs[0].changed], [1, 1, 2]);
    const sent = receiver.on('/german').slice(before).flatMap((q) => q.json!.changes);
    assert.deepEqual(sent.map((c) => [c.key, c.op, c.changed ?? null]), [['1', 'change', ['spend']], ['2', 'exit', null], ['3', 'change', ['email']], ['6', 'enter', null]]);
    assert.equal(sent.find((c) => c.key === '1')!.fields!.spend, 42.5);
    assert.equal(sent.find((c) => c.key === '2')!.fields, null);
  });

  it('retries: 500, 429 with Retry-After, an answer past the timeout and a connection reset, then delivered once each', async function () {
    this.timeout(60_000);
    receiver.faults.set('/everyone', [{ status: 500, body: 'boom' }, { status: 429, headers: { 'retry-after': '1' } }, { delayMs: 1500 }, { reset: true }]);
    const t0 = Date.now();
    const { r, out } = await sync('everyone_hook', '2026-06-01T00:00:00Z');
    assert.equal(r.code, 0, r.err);
    assert.ok(Date.now() - t0 >= 1000, 'the 429 Retry-After (1 s) was honoured');
    assert.equal(out.syncs[0].status, 'delivered');
    assert.equal(out.syncs[0].delivered, 8);
    const { changes } = receiver.distinct('/everyone');
    assert.deepEqual([...changes.values()].map((c) => c.key).sort(), ['1', '2', '3', '4', '5', '6', '7', '8']);
    const h = JSON.parse((await tally(['history', '--sync', 'everyone_hook', '--format', 'json'])).out);
    assert.deepEqual(h.failures.map((f: { outcome: string; status: number | null }) => [f.outcome, f.status]).reverse(), [['retry', 500], ['retry', 429], ['retry', null], ['retry', null]]);
    const f = [...h.failures].reverse();
    assert.equal(f[0].response, 'boom', "the receiver's answer is recorded");
    assert.match(f[1].error, /answered 429/);
    assert.match(f[2].error, /no answer within 500 ms \(timeout\)/);
    assert.match(f[3].error, /reset|closed/);
    assert.equal(h.runs[0].delivered, 8);
  });

  it('a 2xx with a garbage body acknowledges (the status is the acknowledgement) and the body is recorded, escaped', async function () {
    this.timeout(60_000);
    await withDb((db) => db.exec(`update customers set email = 'x@example.com' where id = 7`));
    receiver.faults.set('/everyone', [{ status: 200, body: '<html>\u0007not json' }]);
    const { r, out } = await sync('everyone_hook', '2026-06-02T00:00:00Z');
    assert.equal(r.code, 0, r.err);
    assert.equal(out.syncs[0].delivered, 1);
    const recorded = await withDb((db) => db.query<{ response: string }>(`select response from tally.sync_attempts where outcome = 'acknowledged' and response like '%html%'`));
    assert.deepEqual(recorded.rows.map((x) => x.response), ['<html>\\u0007not json']);
  });

  it('a 4xx rejection stops the batch with the answer recorded (truncated): dead letters, exit 1; the next run sends them again', async function () {
    this.timeout(60_000);
    await withDb((db) => db.exec(`update customers set email = 'y@example.com' where id = 8`));
    receiver.faults.set('/everyone', [{ status: 422, body: `invalid: ${'x'.repeat(2000)}` }]);
    const { r, out } = await sync('everyone_hook', '2026-06-03T00:00:00Z');
    assert.equal(r.code, 1);
    assert.equal(out.syncs[0].status, 'partial');
    assert.equal(out.syncs[0].dead, 1);
    const h = JSON.parse((await tally(['history', '--sync', 'everyone_hook', '--format', 'json'])).out);
    assert.equal(h.dead_letters[0].key, '8');
    assert.match(h.dead_letters[0].reason, /rejected by the receiver \(422\): invalid: x+… \(2009 characters\)/);
    assert.ok(h.failures[0].response.length < 560);
    const text = await tally(['history', '--sync', 'everyone_hook']);
    assert.match(text.out, /dead letters \(tried again by the next run\)/);
    const again = await sync('everyone_hook', '2026-06-03T00:00:00Z');
    assert.equal(again.r.code, 0, again.r.err);
    assert.equal(again.out.syncs[0].delivered, 1);
    const last = receiver.on('/everyone').at(-1)!.json!.changes;
    const prev = receiver.on('/everyone').at(-2)!.json!.changes;
    assert.equal(last[0]!.idempotency_key, prev[0]!.idempotency_key, 'the same change, the same key');
  });

  it('after max_attempts of 5xx the batch goes to the dead letters', async function () {
    this.timeout(60_000);
    await withDb((db) => db.exec(`update customers set email = 'z@example.com' where id = 8`));
    receiver.faults.set('/everyone', [{ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }, { status: 503 }]);
    const { r, out } = await sync('everyone_hook', '2026-06-04T00:00:00Z');
    assert.equal(r.code, 1);
    assert.equal(out.syncs[0].dead, 1);
    assert.match(out.syncs[0].failures[0], /gave up after 5 tries: the receiver answered 503/);
    receiver.faults.set('/everyone', []);
  });

  it('an unreachable receiver: one clear error, exit 2, nothing marked delivered; the changes stay pending', async function () {
    this.timeout(60_000);
    const { r, out } = await sync('nowhere', '2026-06-01T00:00:00Z');
    assert.equal(r.code, 2);
    assert.equal(out.syncs[0].status, 'failed');
    assert.equal(out.syncs[0].delivered, 0);
    assert.equal(out.syncs[0].pending, 5);
    assert.match(out.syncs[0].error, /^the receiver http:\/\/127\.0\.0\.1:1\/x cannot be reached \(.*connection refused\) after 2 tries; nothing more was sent: 5 change\(s\) stay pending/);
    assert.doesNotMatch(out.syncs[0].error, /token=/);
    const acks = await withDb((db) => db.query<{ n: number }>(`select count(*) as n from tally.sync_acks a join tally.sync_changes c on c.id = a.change_id where c.sync = 'nowhere'`));
    assert.equal(Number(acks.rows[0]!.n), 0);
  });

  it('modes: upsert never removes, add_only adds each member once', async function () {
    this.timeout(60_000);
    // german members now: 1, 3, 4, 5, 6 (2 left for FR).
    for (const name of ['german_upsert', 'german_add']) assert.equal((await sync(name, '2026-07-01T00:00:00Z')).r.code, 0);
    await withDb((db) => db.exec(`update customers set country = 'FR' where id = 4; update customers set email = 'q@example.com' where id = 5;`));
    const u = await sync('german_upsert', '2026-07-02T00:00:00Z');
    const a = await sync('german_add', '2026-07-02T00:00:00Z');
    assert.deepEqual([u.out.syncs[0].exited, u.out.syncs[0].changed, u.out.syncs[0].changes], [1, 1, 1], 'upsert: the exit is computed, not sent');
    assert.deepEqual(receiver.on('/upsert').at(-1)!.json!.changes.map((c) => [c.key, c.op]), [['5', 'change']]);
    assert.equal(a.out.syncs[0].changes, 0, 'add_only: nothing new entered');
    await withDb((db) => db.exec(`update customers set country = 'DE' where id = 4`));
    const a2 = await sync('german_add', '2026-07-03T00:00:00Z');
    assert.equal(a2.out.syncs[0].changes, 0, 'add_only: 4 was added once and never removed, so it does not re-enter');
    const u2 = await sync('german_upsert', '2026-07-03T00:00:00Z');
    assert.equal(u2.out.syncs[0].changes, 0, 'upsert: 4 was never removed, its fields did not change');
  });

  it('a folder destination writes one file per run atomically (no temporary file left)', async function () {
    this.timeout(60_000);
    const { r, out } = await sync('german_files', '2026-07-03T00:00:00Z');
    assert.equal(r.code, 0, r.err);
    const dir = join(project, 'out');
    const files = readdirSync(dir);
    assert.deepEqual(files, [`german_files-${out.syncs[0].run_id}.csv`]);
    const lines = readFileSync(join(dir, files[0]!), 'utf8').trim().split('\n');
    assert.equal(lines[0], 'idempotency_key,op,key,changed,email');
    assert.equal(lines.length, 1 + out.syncs[0].changes);
  });

  it('a PostgreSQL table destination: upserts and deletes in one transaction, mirroring the audience', async function () {
    this.timeout(60_000);
    const dest = backend === 'pglite' ? `pglite:${join(TMP, 'dest-db')}` : url;
    const e = { ...env, SYNC_DEST_DB: dest };
    const rows = async () => {
      const db = backend === 'pglite' ? await connect(dest, { baseDir: TMP }) : testDb!.db;
      try {
        return (await db.query<{ key: string; fields: { email: string | null; spend: number | null } }>(`select key, fields from crm.audience order by key`)).rows.map((r) => [r.key, r.fields.email, r.fields.spend]);
      } finally {
        if (backend === 'pglite') await db.close();
      }
    };
    const first = await tally(['sync', '--sync', 'german_table', '--as-of', '2026-06-01T00:00:00Z', '--format', 'json'], e);
    assert.equal(first.code, 0, first.err);
    const now = await withDb((db) => db.query<{ id: number; email: string | null }>(`select id, email from customers where country = 'DE' order by id`));
    assert.deepEqual((await rows()).map((r) => [r[0], r[1]]), now.rows.map((m) => [String(m.id), m.email]));
    assert.equal((await rows()).find((r) => r[0] === '3')![2], 5, 'the trait is sent');
    await withDb((db) => db.exec(`update customers set country = 'FR' where id = 3; update customers set email = 'moved@example.com' where id = 1`));
    const second = await tally(['sync', '--sync', 'german_table', '--as-of', '2026-07-03T00:00:00Z', '--format', 'json'], e);
    assert.equal(second.code, 0, second.err);
    const members = await withDb((db) => db.query<{ id: number; email: string | null }>(`select id, email from customers where country = 'DE' order by id`));
    assert.deepEqual((await rows()).map((r) => [r[0], r[1]]), members.rows.map((m) => [String(m.id), m.email]));
    const unset = await tally(['sync', '--sync', 'german_table', '--as-of', '2026-07-03T00:00:00Z'], env);
    assert.equal(unset.code, 1);
    assert.match(unset.err, /secret-unset\] the environment variable SYNC_DEST_DB is not set/);
    // Back as the later tests expect the data.
    await withDb((db) => db.exec(`update customers set country = 'DE' where id = 3; update customers set email = 'a@example.com' where id = 1`));
  });

  it('dry run: computes and shows, writes nothing, sends nothing', async function () {
    this.timeout(60_000);
    await withDb((db) => db.exec(`update customers set email = 'dry@example.com' where id = 1`));
    const n = receiver.requests.length;
    const runs = await withDb((db) => db.query<{ n: number }>(`select count(*) as n from tally.sync_runs`));
    const { r, out } = await sync('german_crm', '2026-07-04T00:00:00Z', ['--dry-run']);
    assert.equal(r.code, 0, r.err);
    assert.equal(out.syncs[0].status, 'dry-run');
    assert.deepEqual(out.syncs[0].preview, [{ key: '1', op: 'change', changed: ['email'] }, { key: '5', op: 'change', changed: ['email'] }]);
    assert.equal(receiver.requests.length, n);
    const after = await withDb((db) => db.query<{ n: number }>(`select count(*) as n from tally.sync_runs`));
    assert.equal(Number(after.rows[0]!.n), Number(runs.rows[0]!.n));
  });

  it('tally plan shows each sync\'s impact from the same diff tally sync delivers', async function () {
    this.timeout(60_000);
    await withDb((db) => db.exec(`update customers set country = 'DE' where id = 7`));
    const asOf = '2026-07-04T12:00:00Z';
    const plan = await tally(['plan', '--as-of', asOf, '--format', 'json']);
    assert.equal(plan.code, 0, plan.err);
    const p = JSON.parse(plan.out);
    const dry = (await sync('german_crm', asOf, ['--dry-run'])).out.syncs[0];
    const mine = p.syncs.find((x: { name: string }) => x.name === 'german_crm');
    assert.deepEqual([mine.entering, mine.leaving, mine.changing, mine.delivered], [dry.entered, dry.exited, dry.changed, dry.changes]);
    assert.deepEqual([mine.entering, mine.leaving, mine.changing], [1, 0, 2]);
    const add = p.syncs.find((x: { name: string }) => x.name === 'german_add');
    assert.deepEqual([add.entering, add.delivered], [1, 1]);
    const pv = JSON.parse((await tally(['preview', 'sync', 'german_crm', '--as-of', asOf, '--format', 'json'])).out);
    assert.deepEqual([pv.kind, pv.entering, pv.leaving, pv.changing, pv.sends, pv.delivered_before], ['sync', 1, 0, 2, 3, true], 'the preview (the editor lens) counts the same diff');
    assert.equal(lensText(pv), '+1 / −0 / ~2 since the last delivery');
    const text = await tally(['plan', '--as-of', asOf]);
    assert.match(text.out, /sync german_crm -> crm \(webhook\), mirror: \+1 entering \/ −0 leaving \/ ~2 changing \(sends 3\)/);
    const md = await tally(['plan', '--as-of', asOf, '--format', 'markdown']);
    assert.match(md.out, /\| german_crm \| crm \(webhook\) \| mirror \| \+1 \| −0 \| ~2 \| 3 \|/);
  });

  it('the secret never appears: not in any output, the history, the plan, nor any recorded row', async function () {
    this.timeout(60_000);
    const outputs: string[] = [];
    for (const argv of [['sync', '--as-of', '2026-07-05T00:00:00Z'], ['sync', '--as-of', '2026-07-05T00:00:00Z', '--format', 'json'], ['history', '--sync', 'everyone_hook'], ['history', '--sync', 'nowhere', '--format', 'json'], ['plan'], ['plan', '--format', 'json'], ['validate', '--format', 'json']]) {
      const r = await tally(argv);
      outputs.push(r.out, r.err);
    }
    for (const o of outputs) assert.ok(!o.includes(SECRET), 'secret in output');
    const dump = await withDb((db) => db.query<{ t: string }>(`select string_agg(t::text, ' ') as t from (select row_to_json(x)::text as t from tally.sync_attempts x union all select row_to_json(y)::text from tally.sync_changes y union all select row_to_json(z)::text from tally.sync_runs z union all select row_to_json(w)::text from tally.deployed_definitions w) as all_rows`));
    assert.ok(!String(dump.rows[0]!.t).includes(SECRET), 'secret in a recorded row');
    assert.ok(String(dump.rows[0]!.t).includes('SYNC_SECRET'), 'the variable name is recorded (the deployed source)');
  });

  it('history is append-only: updates and deletes of sync tables are refused', async function () {
    this.timeout(60_000);
    await withDb(async (db) => {
      await assert.rejects(db.query(`update tally.sync_acks set batch = 0`), /append-only/);
      await assert.rejects(db.query(`delete from tally.sync_changes`), /append-only/);
    });
  });
});

void mkdirSync;
void writeFileSync;
