// `tally deploy --ref <git-ref>` and `tally plan --ref`: redeploying the project as it was at an
// earlier commit. A lower version is allowed only when it restores exactly what an earlier deploy
// recorded; the rollback is recorded as a new deploy (with that commit), nothing is rewritten, and
// rolling forward again works with the ordinary version rules.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { forEachBackend } from './helpers/databases.js';
import { copyShop, edit, useShop } from './helpers/shop.js';

const SEGMENTS = 'definitions/segments.yaml';
const TMP = mkdtempSync(join(tmpdir(), 'tally-rollback-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.email=ci@example.com', '-c', 'user.name=CI', '-c', 'commit.gpgsign=false', ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    .toString()
    .trim();
}

forEachBackend('deploy --ref (rollback)', (backend) => {
  let repo = '';
  let c1 = '';
  let c2 = '';
  const shop = useShop(backend, TMP, () => {
    repo = join(TMP, `repo-${backend}`);
    // The project lives in a subfolder of the repository, as in a real monorepo.
    mkdirSync(repo);
    const project = copyShop(repo, 'growth');
    git(repo, 'init', '-q');
    git(repo, 'add', '.');
    git(repo, 'commit', '-qm', 'v1');
    c1 = git(repo, 'rev-parse', 'HEAD');
    return { project, cwd: repo };
  });
  const withDb = <T>(fn: (db: Db) => Promise<T>) => shop.withDb(fn);
  const tally = (...argv: string[]) => shop.tally(argv);
  const deployed = (name: string) =>
    withDb(async (db) => (await db.query<{ version: number; fingerprint: string; git_commit: string }>(
      `select d.version, d.fingerprint, p.git_commit from tally.deployed_definitions d join tally.deploys p on p.id = d.deploy_id where d.kind = 'segment' and d.name = $1 order by d.deploy_id desc limit 1`,
      [name],
    )).rows[0]!);
  const viewCount = (name: string) => withDb(async (db) => Number((await db.query<{ n: number }>(`select count(*) as n from tally.segment_${name}`)).rows[0]!.n));

  it('deploys v1, then v2; --ref <v1 commit> restores v1 as a new deploy; deploying main again rolls forward', async function () {
    this.timeout(180_000);
    assert.equal((await tally('deploy')).code, 0);
    const v1 = await deployed('big_spenders');
    assert.equal(v1.git_commit, c1);
    const v1Count = await viewCount('big_spenders');

    edit(join(shop.project, SEGMENTS), '{ property: amount, gte: 100 }], gte: 2 }', '{ property: amount, gte: 50 }], gte: 2 }');
    edit(join(shop.project, SEGMENTS), /name: big_spenders\nversion: 1/, 'name: big_spenders\nversion: 2');
    git(repo, 'commit', '-qam', 'v2');
    c2 = git(repo, 'rev-parse', 'HEAD');
    assert.equal((await tally('deploy')).code, 0);
    assert.equal((await deployed('big_spenders')).version, 2);
    assert.notEqual(await viewCount('big_spenders'), v1Count);

    // Plain deploy of the old definitions would be refused (a lower version) ...
    const plan = await tally('plan', '--ref', c1, '--format', 'json');
    assert.equal(plan.code, 0, plan.err);
    const change = (JSON.parse(plan.out) as { changes: { kind: string; name: string; status: string; restored: boolean; version: number; deployed_version: number }[] }).changes.find(
      (c) => c.kind === 'segment' && c.name === 'big_spenders',
    )!;
    assert.deepEqual([change.status, change.restored, change.deployed_version, change.version], ['changed', true, 2, 1]);

    const rb = await tally('deploy', '--ref', c1.slice(0, 10), '--format', 'json');
    assert.equal(rb.code, 0, rb.err);
    const out = JSON.parse(rb.out) as { changes: { name: string; restored: boolean; recorded: boolean }[] };
    assert.deepEqual(out.changes.filter((c) => c.recorded).map((c) => [c.name, c.restored]), [['big_spenders', true]]);
    const now = await deployed('big_spenders');
    assert.deepEqual(now, { ...v1, git_commit: c1 });
    assert.equal(await viewCount('big_spenders'), v1Count);
    // Nothing was rewritten: three rows for big_spenders, in order v1, v2, v1.
    const versions = await withDb(async (db) => (await db.query<{ version: number }>(`select version from tally.deployed_definitions where name = 'big_spenders' order by deploy_id`)).rows.map((r) => r.version));
    assert.deepEqual(versions, [1, 2, 1]);

    // The working copy (v2) deploys again by the ordinary rules.
    const fwd = await tally('deploy');
    assert.equal(fwd.code, 0, fwd.err);
    assert.equal((await deployed('big_spenders')).git_commit, c2);
    assert.equal((await deployed('big_spenders')).version, 2);
  });

  it('a lower version that was never deployed with that meaning is refused even with --ref', async function () {
    this.timeout(120_000);
    edit(join(shop.project, SEGMENTS), '{ property: amount, gte: 50 }], gte: 2 }', '{ property: amount, gte: 75 }], gte: 2 }');
    edit(join(shop.project, SEGMENTS), /name: big_spenders\nversion: 2/, 'name: big_spenders\nversion: 1');
    git(repo, 'commit', '-qam', 'rewrite v1');
    const r = await tally('deploy', '--ref', 'HEAD');
    assert.equal(r.code, 1);
    assert.match(r.err, /version-lowered/);
    assert.match(r.err, /growth\/definitions\/segments\.yaml:\d+:\d+/);
    git(repo, 'reset', '-q', '--hard', c2);
  });

  it('an unknown ref is one clear line, exit 2', async () => {
    const r = await tally('deploy', '--ref', 'no-such-branch');
    assert.equal(r.code, 2);
    assert.match(r.err, /^tally: --ref no-such-branch/);
  });
});
