// `tally deploy` and `tally history` (LANGUAGE.md §8 versions, §9 CLI): views in the deploy schema
// whose rows equal previews at the same T, an append-only history, the version rules, drops only
// with --allow-drop, all-or-nothing deploys, and concurrent deploys serialised by an advisory lock.
//
// Data: the example shop (200 customers) loaded into a throwaway database; the project is a temp
// copy of examples/shop edited step by step. The CLI runs in-process (`main()`), which opens its
// own connection, so the test opens and closes its own around each step (PGlite is one process).

import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type Db } from '../engine/src/db/db.js';
import { Project } from '../engine/src/project.js';
import { preview } from '../engine/src/preview/preview.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { deployLockKey } from '../engine/src/state/locks.js';
import { readDeployed } from '../engine/src/state/deployed.js';
import { forEachBackend } from './helpers/databases.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { copyShop as copyShopInto, REPO, useShop } from './helpers/shop.js';
import { gitCommit } from '../engine/cli/git.js';

const SEGMENTS = 'definitions/segments.yaml';

const TMP = mkdtempSync(join(tmpdir(), 'tally-deploy-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const copyShop = (name: string) => copyShopInto(TMP, name);

function edit(project: string, file: string, from: string | RegExp, to: string): void {
  const path = join(project, file);
  const text = readFileSync(path, 'utf8');
  const next = text.replace(from, to);
  assert.notEqual(next, text, `edit did not apply: ${String(from)}`);
  writeFileSync(path, next);
}

/** The YAML document of segment `name` in segments.yaml (with its leading `---`). */
function segmentDoc(project: string, name: string): string {
  const text = readFileSync(join(project, SEGMENTS), 'utf8');
  const doc = text.split(/^---\n/m).find((d) => new RegExp(`^name: ${name}$`, 'm').test(d));
  assert.ok(doc, name);
  return `---\n${doc}`;
}

describe('deploy: git commit', () => {
  it('is HEAD inside a git checkout and null outside one', () => {
    assert.match(String(gitCommit(REPO)), /^[0-9a-f]{40}$/);
    assert.equal(gitCommit(tmpdir()), null);
  });
});

forEachBackend('deploy', (backend) => {
  let project = '';
  const shop = useShop(backend, TMP, () => (project = copyShop(`shop-${backend}`)));
  const withDb = <T>(fn: (db: Db) => Promise<T>) => shop.withDb(fn);

  function tally(argv: string[], dir = project): Promise<Run> {
    return runTally([...argv, '--project', dir, '--db', shop.url], { cwd: dir });
  }

  async function counts(): Promise<{ deploys: number; rows: number }> {
    return withDb(async (db) => {
      const d = await db.query<{ n: number }>('select count(*) as n from tally.deploys');
      const r = await db.query<{ n: number }>('select count(*) as n from tally.deployed_definitions');
      return { deploys: Number(d.rows[0]!.n), rows: Number(r.rows[0]!.n) };
    });
  }

  async function viewExists(name: string): Promise<boolean> {
    return withDb(async (db) => (await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`tally.${name}`])).rows[0]!.t !== null);
  }

  it('first deploy creates one view per segment, trait, score and lifecycle whose rows equal previews at the same T', async function () {
    this.timeout(300_000);
    const r = await tally(['deploy', '--format', 'json']);
    assert.equal(r.code, 0, r.err + r.out);
    const out = JSON.parse(r.out);
    assert.equal(out.deployed, true);
    assert.ok(out.changes.every((c: { status: string }) => c.status === 'new'));
    const analysis = Project.load(project).analyze();
    await withDb((db) =>
      db.transaction(async (tx) => {
        // Inside one transaction now() is fixed: the views and the previews see the same T.
        const T = new Date(String((await tx.query<{ t: string }>('select now() as t')).rows[0]!.t));
        let checked = 0;
        for (const info of analysis.ofKind('Segment')) {
          const p = await preview(tx, analysis, 'segment', info.def.name, { asOf: T, sampleSize: 0 });
          const v = await tx.query<{ n: number }>(`select count(*) as n from tally."segment_${info.def.name}"`);
          assert.equal(Number(v.rows[0]!.n), (p as { count: number }).count, `segment ${info.def.name}`);
          checked++;
        }
        for (const kind of ['Trait', 'Score'] as const) {
          for (const info of analysis.ofKind(kind)) {
            const k = kind.toLowerCase() as 'trait' | 'score';
            const p = (await preview(tx, analysis, k, info.def.name, { asOf: T, sampleSize: 0 })) as { count: number; entities: number };
            const v = await tx.query<{ n: number; c: number }>(`select count(*) as n, count(value) as c from tally."${k}_${info.def.name}"`);
            assert.equal(Number(v.rows[0]!.n), p.entities, `${k} ${info.def.name} rows`);
            assert.equal(Number(v.rows[0]!.c), p.count, `${k} ${info.def.name} values`);
            checked++;
          }
        }
        for (const info of analysis.ofKind('Lifecycle')) {
          const p = (await preview(tx, analysis, 'lifecycle', info.def.name, { asOf: T, sampleSize: 0 })) as { stages: Record<string, number> };
          const v = await tx.query<{ stage: string; n: number }>(`select stage, count(*) as n from tally."lifecycle_${info.def.name}" where stage is not null group by stage`);
          const stages: Record<string, number> = Object.fromEntries(Object.keys(p.stages).map((s) => [s, 0]));
          for (const row of v.rows) stages[row.stage] = Number(row.n);
          assert.deepEqual(stages, p.stages, `lifecycle ${info.def.name}`);
          checked++;
        }
        assert.ok(checked > 30, `checked ${checked} views`);
        // KPIs get no view, but their SQL is recorded.
        const kpi = await tx.query<{ sql: string | null }>(`select sql from tally.deployed_definitions where kind = 'kpi' and name = 'd30_retention'`);
        assert.match(String(kpi.rows[0]?.sql), /now\(\)/);
        assert.equal((await tx.query<{ t: string | null }>(`select to_regclass('tally.kpi_d30_retention')::text as t`)).rows[0]!.t, null);
      }),
    );
    assert.deepEqual((await counts()).deploys, 1);
    const row = await withDb((db) => db.query<{ who: string; git_commit: string | null; tally_version: string }>('select who, git_commit, tally_version from tally.deploys'));
    // The temp copy is not inside a git checkout.
    assert.deepEqual(row.rows, [{ who: process.env.USER ?? 'unknown', git_commit: null, tally_version: '0.1.0' }]);
  });

  it('a project with errors is refused with its diagnostics and nothing is written', async () => {
    const before = await counts();
    edit(project, SEGMENTS, '    - not: { segment: champions }', '    - not: { segment: champoins }');
    const r = await tally(['deploy']);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.err, STACK);
    assert.match(r.err, /segments\.yaml:25:\d+: error \[unknown-reference\] no segment named 'champoins'/);
    assert.match(r.err, /nothing deployed/);
    assert.deepEqual(await counts(), before);
    edit(project, SEGMENTS, '    - not: { segment: champoins }', '    - not: { segment: champions }');
  });

  it('re-deploying the same project writes nothing', async () => {
    const before = await counts();
    const r = await tally(['deploy']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /nothing to deploy/);
    assert.deepEqual(await counts(), before);
  });

  it('a change without a version bump is refused with version-not-bumped at the version line', async () => {
    const before = await counts();
    edit(project, SEGMENTS, '{ property: amount, gte: 100 }], gte: 2 }', '{ property: amount, gte: 120 }], gte: 2 }');
    const r = await tally(['deploy']);
    assert.equal(r.code, 1, r.out);
    assert.doesNotMatch(r.err, STACK);
    assert.match(r.err, /definitions\/segments\.yaml:172:10: error \[version-not-bumped\] segment 'big_spenders' changed meaning since version 1 was deployed \(fingerprint [0-9a-f]{12}/);
    assert.match(r.err, /set `version: 2`/);
    const j = await tally(['deploy', '--format', 'json']);
    assert.equal(j.code, 1);
    const d = JSON.parse(j.out).diagnostics;
    assert.deepEqual(
      d.map((x: { code: string; file: string; range: { start: { line: number; character: number } } }) => [x.code, x.file, x.range.start.line, x.range.start.character]),
      [['version-not-bumped', SEGMENTS, 171, 9]],
    );
    assert.deepEqual(await counts(), before);
  });

  it('bumping the version deploys and records a new row; the old row is untouched', async () => {
    const old = await withDb((db) => db.query(`select * from tally.deployed_definitions where kind = 'segment' and name = 'big_spenders'`));
    assert.equal(old.rows.length, 1);
    edit(project, SEGMENTS, /name: big_spenders\nversion: 1/, 'name: big_spenders\nversion: 2');
    const r = await tally(['deploy']);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /deployed #2 .*1 recorded/);
    assert.match(r.out, /~ segment big_spenders v1 -> v2 \(changed\)/);
    const rows = await withDb((db) => db.query<{ version: number; deploy_id: number; sql: string }>(`select * from tally.deployed_definitions where kind = 'segment' and name = 'big_spenders' order by deploy_id`));
    assert.equal(rows.rows.length, 2);
    assert.deepEqual(rows.rows[0], old.rows[0]);
    assert.equal(rows.rows[1]!.version, 2);
    assert.match(rows.rows[1]!.sql, /120/);
    const view = await withDb((db) => db.query<{ d: string }>(`select pg_get_viewdef('tally.segment_big_spenders'::regclass) as d`));
    assert.match(view.rows[0]!.d, /120/);
  });

  it('a view whose column shape changes is dropped and recreated', async () => {
    const PROFILE = 'definitions/profile.yaml';
    const type = `select format_type(atttypid, atttypmod) as t from pg_attribute where attrelid = 'tally.trait_min_order_value'::regclass and attname = 'value'`;
    assert.equal((await withDb((db) => db.query<{ t: string }>(type))).rows[0]!.t, 'numeric');
    edit(project, PROFILE, 'name: min_order_value\nversion: 1', 'name: min_order_value\nversion: 2');
    edit(project, PROFILE, 'type: number\ncompute: { event: purchase, min: amount }', 'type: timestamp\ncompute: { event: purchase, first: time }');
    const r = await tally(['deploy']);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /~ trait min_order_value v1 -> v2 \(changed\)/);
    assert.equal((await withDb((db) => db.query<{ t: string }>(type))).rows[0]!.t, 'timestamp with time zone');
  });

  it('a version bump without a change is a warning, and is recorded', async () => {
    edit(project, SEGMENTS, /name: promoters\nversion: 1/, 'name: promoters\nversion: 2');
    const r = await tally(['deploy']);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /warning \[version-bumped-unchanged\] segment 'promoters' is at version 2 but its meaning is unchanged since version 1/);
    assert.match(r.out, /~ segment promoters v1 -> v2 \(version only\)/);
    assert.match((await tally(['deploy'])).out, /nothing to deploy/);
  });

  it('a lower version than deployed is refused with version-lowered', async () => {
    const before = await counts();
    edit(project, SEGMENTS, /name: big_spenders\nversion: 2/, 'name: big_spenders\nversion: 1');
    const r = await tally(['deploy']);
    assert.equal(r.code, 1);
    assert.match(r.err, /segments\.yaml:172:10: error \[version-lowered\] segment 'big_spenders' is deployed at version 2/);
    assert.deepEqual(await counts(), before);
    edit(project, SEGMENTS, /name: big_spenders\nversion: 1/, 'name: big_spenders\nversion: 2');
    assert.match((await tally(['deploy'])).out, /nothing to deploy/);
  });

  it('a removed definition is refused without --allow-drop, and --allow-drop drops its view', async () => {
    const before = await counts();
    edit(project, SEGMENTS, segmentDoc(project, 'high_aov'), '');
    const r = await tally(['deploy']);
    assert.equal(r.code, 1);
    assert.match(r.err, /error \[removed-without-flag\] segment 'high_aov' \(version 1\) is deployed but no longer defined/);
    assert.deepEqual(await counts(), before);
    assert.equal(await viewExists('segment_high_aov'), true);

    const ok = await tally(['deploy', '--allow-drop']);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /- segment high_aov v1 \(removed\)/);
    assert.equal(await viewExists('segment_high_aov'), false);
    const state = await withDb((db) => readDeployed(db, 'tally'));
    assert.equal(state.definitions.has('segment:high_aov'), false);
    assert.deepEqual(state.droppedByLatest.map((d) => d.name), ['high_aov']);

    const h = await tally(['history', '--format', 'json']);
    assert.equal(h.code, 0, h.err);
    const hist = JSON.parse(h.out);
    assert.deepEqual(hist.deploys.map((d: { id: number }) => d.id), [5, 4, 3, 2, 1]);
    assert.deepEqual(hist.deploys[0].definitions, [{ kind: 'segment', name: 'high_aov', version: 1, fingerprint: null, file: SEGMENTS, dropped: true }]);
    const text = await tally(['history']);
    assert.match(text.out, /#5 .*\n {4}- segment high_aov v1 \(dropped\)/);
  });

  it('the history tables are append-only: UPDATE, DELETE and TRUNCATE raise', async () => {
    const before = await counts();
    for (const stmt of [
      `update tally.deploys set who = 'mallory'`,
      `delete from tally.deploys`,
      `truncate tally.deploys cascade`,
      `update tally.deployed_definitions set version = 99`,
      `delete from tally.deployed_definitions`,
      `truncate tally.deployed_definitions`,
    ]) {
      await assert.rejects(withDb((db) => db.query(stmt)), /append-only/, stmt);
    }
    assert.deepEqual(await counts(), before);
  });

  it('a deploy whose SQL fails rolls everything back: previous views and history intact', async () => {
    const before = await counts();
    // A changed view first (replaced, then rolled back), then a new view over a column that is gone.
    edit(project, SEGMENTS, /name: whale_order\nversion: 1\n([^]*?)gte: 250 \}/, 'name: whale_order\nversion: 2\n$1gte: 300 }');
    writeFileSync(join(project, SEGMENTS), `${readFileSync(join(project, SEGMENTS), 'utf8')}---\nkind: Segment\nname: german\nversion: 1\nwhere: { attribute: country, eq: DE }\n`);
    const viewdef = `select pg_get_viewdef('tally.segment_whale_order'::regclass) as d`;
    await withDb(async (db) => {
      await db.exec('alter table customers rename column country to country_gone');
      const old = (await db.query<{ d: string }>(viewdef)).rows[0]!.d;
      // No catalog: the catalog check is off, so only the database notices the missing column.
      const analysis = Project.load(project).analyze();
      assert.equal(analysis.errorCount, 0);
      await assert.rejects(deploy(db, analysis, { schema: 'tally', who: 'test' }), /country/);
      assert.equal((await db.query<{ d: string }>(viewdef)).rows[0]!.d, old);
      assert.match(old, /250/);
      assert.equal((await db.query<{ t: string | null }>(`select to_regclass('tally.segment_german')::text as t`)).rows[0]!.t, null);
      await db.exec('alter table customers rename column country_gone to country');
    });
    assert.deepEqual(await counts(), before);
    // With the column back, the same deploy goes through.
    const ok = await tally(['deploy']);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, /\+ segment german v1 \(new\)/);
    assert.match(ok.out, /~ segment whale_order v1 -> v2 \(changed\)/);
  });

  it('deploys into the schema tally.yaml names (quoted: case is kept), idempotently', async () => {
    const other = copyShop(`quoted-${backend}`);
    cpSync(join(project, 'definitions'), join(other, 'definitions'), { recursive: true });
    edit(other, 'tally.yaml', 'schema: tally', 'schema: Growth_Ops');
    const before = await counts();
    const r = await tally(['deploy'], other);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /deployed #1 to schema Growth_Ops/);
    assert.equal((await tally(['deploy'], other)).out.startsWith('nothing to deploy'), true);
    const n = await withDb((db) => db.query<{ n: number }>(`select count(*) as n from "Growth_Ops"."segment_champions"`));
    assert.ok(Number(n.rows[0]!.n) >= 0);
    assert.deepEqual(await counts(), before);
    const h = JSON.parse((await tally(['history', '--format', 'json'], other)).out);
    assert.equal(h.schema, 'Growth_Ops');
    assert.equal(h.deploys.length, 1);
  });

  if (backend === 'postgres') {
    it('a deploy waits for the advisory lock of its deploy schema', async () => {
      edit(project, SEGMENTS, /name: promoters\nversion: 2\n([^]*?)gte: 9 \}/, 'name: promoters\nversion: 3\n$1gte: 10 }');
      const holder = await connect(shop.url, { baseDir: TMP });
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const locked = new Promise<void>((ready) => {
        void holder.transaction(async (tx) => {
          await tx.query(`select pg_advisory_xact_lock(${deployLockKey('tally')}::bigint)`);
          ready();
          await held;
        });
      });
      await locked;
      let settled = false;
      const run = tally(['deploy']).then((r) => ((settled = true), r));
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(settled, false, 'the deploy must wait for the lock');
      release();
      const r = await run;
      await holder.close();
      assert.equal(r.code, 0, r.err + r.out);
      assert.match(r.out, /~ segment promoters v2 -> v3 \(changed\)/);
    });

    it('two concurrent deploys run one after the other; history shows both', async function () {
      this.timeout(300_000);
      const base = await counts();
      const a = copyShop('concurrent-a');
      const b = copyShop('concurrent-b');
      for (const dir of [a, b]) cpSync(join(project, 'definitions'), join(dir, 'definitions'), { recursive: true });
      writeFileSync(join(a, 'definitions', 'extra.yaml'), 'kind: Segment\nname: only_a\nversion: 1\nwhere: { attribute: plan, eq: pro }\n');
      writeFileSync(join(b, 'definitions', 'extra.yaml'), 'kind: Segment\nname: only_b\nversion: 1\nwhere: { attribute: plan, eq: free }\n');
      const [ra, rb] = await Promise.all([tally(['deploy', '--allow-drop', '--format', 'json'], a), tally(['deploy', '--allow-drop', '--format', 'json'], b)]);
      assert.equal(ra.code, 0, ra.err);
      assert.equal(rb.code, 0, rb.err);
      const ja = JSON.parse(ra.out);
      const jb = JSON.parse(rb.out);
      assert.equal(ja.deployed && jb.deployed, true);
      const [first, second] = ja.deploy_id < jb.deploy_id ? [ja, jb] : [jb, ja];
      const [firstName, secondName] = first === ja ? ['only_a', 'only_b'] : ['only_b', 'only_a'];
      // The first saw the base state; the second saw the first's commit and dropped its segment.
      assert.deepEqual(first.changes.filter((c: { status: string }) => c.status !== 'unchanged').map((c: { name: string; status: string }) => `${c.status} ${c.name}`), [`new ${firstName}`]);
      assert.deepEqual(
        second.changes.filter((c: { status: string }) => c.status !== 'unchanged').map((c: { name: string; status: string }) => `${c.status} ${c.name}`).sort(),
        [`new ${secondName}`, `removed ${firstName}`],
      );
      assert.deepEqual(await counts(), { deploys: base.deploys + 2, rows: base.rows + 3 });
      assert.equal(await viewExists(`segment_${secondName}`), true);
      assert.equal(await viewExists(`segment_${firstName}`), false);
      const state = await withDb((db) => readDeployed(db, 'tally'));
      assert.equal(state.definitions.has(`segment:${secondName}`), true);
      assert.equal(state.definitions.has(`segment:${firstName}`), false);
    });
  }
});
