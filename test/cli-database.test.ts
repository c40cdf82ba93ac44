// Which database a command uses, and what happens when it cannot (issue 10.4, 10.8, 10.9, 10.10),
// through the real launcher `node bin/tally.mjs` (the built bundle) as a CI job runs it:
// - every command says which database it used: `tally: database: …` on stderr for text formats,
//   a `database` field in JSON; a password in the URL is masked in both;
// - a database the project names (warehouse.url, DATABASE_URL, …) that cannot be reached, or a
//   warehouse.url whose ${VAR} is unset, is exit 2 with one message naming the setting and the
//   variable, in every format; `validate --offline` validates without any database;
// - credentials are masked whatever the scheme, in every output format;
// - numeric options are range-checked (usage error, exit 2), never a raw PostgreSQL error;
// - a definition named like Tally's own state (a Lifecycle `stage_changes`) is an error at its name,
//   and deploy never drops or replaces a relation it does not own: nothing written or lost.
// On PGlite and on PostgreSQL.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect, type Db } from '../engine/src/db/db.js';
import { redactSecrets } from '../engine/src/redact.js';
import { ensureState } from '../engine/src/state/ddl.js';
import { ensureCampaignState, ensureSyncState } from '../engine/src/state/ddl.js';
import { isStateRelation, reservedNameProblem, STATE_TABLES } from '../engine/src/state-objects.js';
import { loadShop } from '../examples/shop/generate.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { runTally } from './helpers/cli.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOP = join(REPO, 'examples', 'shop');
const BIN = join(REPO, 'bin', 'tally.mjs');
const BUNDLE = join(REPO, 'dist', 'cli.mjs');
const TMP = mkdtempSync(join(tmpdir(), 'tally-cli-db-test-'));
const ANCHOR = '2026-11-01T00:00:00Z';
const SECRET = 's3cr3tPW';
const STACK = /\n\s+at /;

interface Run {
  code: number;
  out: string;
  err: string;
}

/** The CLI in-process (`main(argv, io)`, test/helpers/cli.ts); the environment is exactly `env`. */
function tally(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = TMP): Promise<Run> {
  return runTally(argv, { cwd, env });
}

/** The built launcher as a child process; the environment has no database variables but `env`. */
function launch(argv: string[], env: NodeJS.ProcessEnv = {}, cwd = TMP): Promise<Run> {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'TALLY_DATABASE_URL', 'TALLY_DEBUG', 'NODE_OPTIONS']) delete base[k];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...argv], { cwd, env: { ...base, ...env }, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, out: stdout, err: stderr });
    });
  });
}

/** Exit 2, one line `tally: …` on stderr matching `what`, nothing on stdout, no stack, no secret. */
function assertUsageError(r: Run, what: RegExp): void {
  assert.equal(r.code, 2, `exit code: stdout=${r.out} stderr=${r.err}`);
  assert.equal(r.out, '', 'nothing on stdout');
  assert.doesNotMatch(r.err, STACK);
  assert.doesNotMatch(r.err, /internal error/);
  const lines = r.err.replace(/\n$/, '').split('\n');
  assert.equal(lines.length, 1, `one line: ${r.err}`);
  assert.match(lines[0]!, what);
  assert.ok(!r.err.includes(SECRET) && !r.out.includes(SECRET), `a secret was printed: ${r.err}`);
}

function copyShop(name: string, tallyYamlExtra = ''): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), readFileSync(join(SHOP, 'tally.yaml'), 'utf8') + tallyYamlExtra);
  cpSync(join(SHOP, 'definitions'), join(dir, 'definitions'), { recursive: true });
  return dir;
}

before(async function () {
  this.timeout(120_000);
  if (!existsSync(BUNDLE)) {
    await new Promise<void>((ok, fail) =>
      execFile(process.execPath, ['esbuild.mjs'], { cwd: REPO, env: { ...process.env, TALLY_BUILD_QUIET: '1' } }, (e, _o, stderr) => (e ? fail(new Error(`build failed: ${stderr}`)) : ok())),
    );
  }
});

after(() => rmSync(TMP, { recursive: true, force: true }));

// ---- a named database must be reachable (10.4) ------------------------------------------------

describe('cli-database: a database the project names must be reachable (no silent fallback)', function () {
  this.timeout(600_000);
  const TYPO = `kind: Segment
name: typo_column
version: 1
where: { attribute: countryy, eq: DE }
`;
  let project = '';
  before(() => {
    project = copyShop('named', 'warehouse:\n  url: ${DATABASE_URL}\n');
    writeFileSync(join(project, 'definitions', 'typo.yaml'), TYPO);
  });

  it('warehouse.url with $DATABASE_URL unset: exit 2 naming the setting and the variable, in every format', async () => {
    for (const format of ['text', 'json', 'github', 'sarif']) {
      const r = await (format === 'json' ? launch : tally)(['validate', '--project', project, '--format', format]);
      assertUsageError(r, /^tally: warehouse\.url in tally\.yaml \(\$\{DATABASE_URL\}\) needs \$DATABASE_URL, which is not set: set it, pass --db URL or pass --offline to validate without a database$/);
    }
    // Every command that connects says the same (none of them falls back to the embedded database).
    for (const argv of [['preview', 'segment', 'dach'], ['check'], ['plan'], ['deploy'], ['history'], ['snapshot'], ['refresh'], ['run'], ['report', 'winback_dormant']]) {
      assertUsageError(await tally([...argv, '--project', project]), /^tally: warehouse\.url in tally\.yaml \(\$\{DATABASE_URL\}\) needs \$DATABASE_URL, which is not set: set it or pass --db URL$/);
    }
  });

  it('an unreachable named database is exit 2 (not a warning and exit 0) whatever names it', async () => {
    const dead = `postgres://ci:${SECRET}@127.0.0.1:1/warehouse`;
    for (const env of [{ DATABASE_URL: dead }, { TALLY_DATABASE_URL: dead }]) {
      const source = Object.keys(env)[0]!;
      for (const format of ['text', 'json', 'github', 'sarif']) {
        const r = await tally(['validate', '--project', project, '--format', format], env);
        assertUsageError(r, new RegExp(`^tally: cannot connect to postgres://ci:\\*\\*\\*@127\\.0\\.0\\.1:1/warehouse: .*ECONNREFUSED.* \\(database from ${source}\\); pass --offline to validate without a database$`));
      }
    }
  });

  it('--offline validates without any database: the misspelled column is not checked, and it says so', async () => {
    const text = await tally(['validate', '--project', project, '--offline']);
    assert.equal(text.code, 0, text.out + text.err);
    assert.equal(text.err.trim(), 'tally: no database (--offline): catalog checks skipped');
    const json = await tally(['validate', '--project', project, '--offline', '--format', 'json'], { DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    assert.equal(json.code, 0, json.err);
    assert.deepEqual(JSON.parse(json.out).database, { url: null, source: null, offline: '--offline' });
    const sarif = await tally(['validate', '--project', project, '--offline', '--format', 'sarif']);
    assert.deepEqual(JSON.parse(sarif.out).runs[0].properties.database, { url: null, source: null, offline: '--offline' });
    // --offline is for validate (and compile); with --db it contradicts itself.
    assertUsageError(await tally(['preview', 'segment', 'dach', '--project', project, '--offline']), /^tally: --offline applies to validate, advise and compile; tally preview needs a database$/);
    assertUsageError(await tally(['validate', '--project', project, '--offline', '--db', 'pglite:memory']), /^tally: --offline and --db contradict each other/);
  });
});

// ---- credentials, whatever the scheme (10.8) ---------------------------------------------------

describe('cli-database: credentials are never printed, whatever the scheme', function () {
  this.timeout(600_000);
  let project = '';
  before(() => {
    project = copyShop('secrets');
  });

  const urls = [
    `mysql://u:${SECRET}@h/x`,
    `postgress://u:${SECRET}@h:5432/x`,
    `postgres://127.0.0.1:1/x?sslmode=disable&password=${SECRET}`,
    `u:${SECRET}@h/x`,
    `host=h password=${SECRET} dbname=x`,
  ];

  it('validate in every format, from DATABASE_URL, --db and warehouse.url', async () => {
    for (const url of urls) {
      for (const format of ['text', 'json', 'github', 'sarif']) {
        const viaEnv = await (format === 'sarif' && url.startsWith('mysql') ? launch : tally)(['validate', '--project', project, '--format', format], { DATABASE_URL: url });
        assertUsageError(viaEnv, /^tally: /);
        assert.match(viaEnv.err, /\*\*\*/, viaEnv.err);
        assertUsageError(await tally(['validate', '--project', project, '--format', format, '--db', url]), /^tally: /);
      }
      const wh = copyShop(`secrets-wh-${urls.indexOf(url)}`, `warehouse:\n  url: "${url}"\n`);
      assertUsageError(await tally(['validate', '--project', wh, '--format', 'json']), /^tally: /);
    }
  });

  it('every command that connects, and test', async () => {
    for (const url of urls) {
      for (const argv of [['preview', 'segment', 'dach'], ['check', '--format', 'json'], ['plan', '--format', 'markdown'], ['deploy'], ['history', '--format', 'json'], ['report', 'winback_dormant'], ['test', '--db', url]]) {
        const r = await tally([...argv, '--project', project], { TALLY_DATABASE_URL: url });
        assertUsageError(r, /^tally: /);
      }
    }
  });

  it('redactSecrets: URL userinfo of any scheme, scheme-less user:pass@host, password parameters; nothing else changes', () => {
    const cases: [string, string][] = [
      [`mysql://u:${SECRET}@h/x`, 'mysql://u:***@h/x'],
      [`postgres://u:p@ss${SECRET}@h/x`, 'postgres://u:***@h/x'],
      [`cannot connect to postgres://h/x?password=${SECRET}&user=u: ECONNREFUSED`, 'cannot connect to postgres://h/x?password=***&user=u: ECONNREFUSED'],
      [`'u:${SECRET}@h/x' is not a database URL`, "'u:***@h/x' is not a database URL"],
      [`host=h PASSWORD='${SECRET} x' dbname=d`, 'host=h PASSWORD=*** dbname=d'],
      ['postgres://app@127.0.0.1:5432/shop', 'postgres://app@127.0.0.1:5432/shop'],
      ['connect ECONNREFUSED 127.0.0.1:5432', 'connect ECONNREFUSED 127.0.0.1:5432'],
      ['qa+1@example.com signed up at 12:30', 'qa+1@example.com signed up at 12:30'],
      ['pglite:/tmp/a:b/.tally/db', 'pglite:/tmp/a:b/.tally/db'],
    ];
    for (const [input, want] of cases) assert.equal(redactSecrets(input), want);
    for (const [, want] of cases) assert.equal(redactSecrets(want), want, 'idempotent');
  });
});

// ---- numeric options (10.10) ------------------------------------------------------------------

describe('cli-database: numeric options are range-checked before anything connects', function () {
  this.timeout(600_000);
  it('--timeout, --sample, --customers: a usage error naming the option and its range', async () => {
    const project = copyShop('numbers');
    for (const bad of ['1e12', '0', '-5', '1.5', 'abc', '0x10', '86400001']) {
      for (const argv of [['preview', 'segment', 'dach'], ['check'], ['plan'], ['test']]) {
        assertUsageError(await tally([...argv, '--project', project, '--db', 'pglite:memory', `--timeout=${bad}`]), /^tally: --timeout takes milliseconds, a whole number from 1 to 86,400,000, e\.g\. --timeout 5000 \(got '.*'\)$/);
      }
    }
    for (const bad of ['1e3', '-1', '1001', '2.5']) {
      assertUsageError(await tally(['preview', 'segment', 'dach', '--project', project, `--sample=${bad}`]), /^tally: --sample takes a whole number from 0 to 1,000/);
    }
    for (const bad of ['1e12', '0', '5000001']) {
      assertUsageError(await tally(['demo', '--project', project, '--customers', bad]), /^tally: --customers takes a whole number from 1 to 5,000,000/);
    }
    assertUsageError(await tally(['demo', '--project', project, '--seed', '1e400']), /^tally: --seed takes a whole number/);
  });
});

// ---- which database, on PGlite and PostgreSQL; reserved names and ownership (10.4, 10.9) -----

forEachBackend('cli-database', (backend) => {
  let testDb: TestDb | undefined;
  let url = '';
  let shown = '';
  let env: NodeJS.ProcessEnv = {};
  let db: Db;
  let project = '';

  before(async function () {
    this.timeout(180_000);
    if (backend === 'pglite') {
      const dir = join(TMP, `db-${backend}`);
      url = `pglite:${dir}`;
      shown = url;
      db = await connect(url, { baseDir: TMP, create: true });
      await loadShop(db, { customers: 200, anchor: new Date(ANCHOR) });
      await db.close();
    } else {
      testDb = await createTestDb('postgres');
      await loadShop(testDb.db, { customers: 200, anchor: new Date(ANCHOR) });
      // Trust authentication ignores the password: the URL carries one that must never be printed.
      const u = new URL(testDb.url);
      u.password = SECRET;
      url = u.toString();
      u.password = '***';
      shown = decodeURIComponent(u.toString());
    }
    env = { TALLY_DATABASE_URL: url };
    project = copyShop(`which-${backend}`);
  });

  after(async () => {
    await testDb?.drop();
  });

  /** Runs a command, then reads the database with a fresh connection (the CLI's is closed). */
  async function withDb<T>(fn: (d: Db) => Promise<T>): Promise<T> {
    const d = await connect(url, { baseDir: TMP, create: false });
    try {
      return await fn(d);
    } finally {
      await d.close();
    }
  }

  it('every command says which database it used: stderr for text, `database` in JSON, the password masked', async function () {
    this.timeout(900_000);
    const line = `tally: database: ${shown} (from TALLY_DATABASE_URL)`;
    const field = { url: shown, source: 'TALLY_DATABASE_URL' };
    const commands: string[][] = [
      ['validate'],
      ['preview', 'segment', 'dach', '--as-of', ANCHOR],
      ['check', '--as-of', ANCHOR, '--no-record', '--fail-on', 'none'],
      ['plan', '--as-of', ANCHOR],
      ['deploy'],
      ['history'],
      ['snapshot', '--as-of', ANCHOR],
      ['refresh'],
      ['run', '--as-of', '2026-10-01T00:00:00Z', '--campaign', 'winback_dormant'],
      ['report', 'winback_dormant', '--as-of', ANCHOR],
    ];
    for (const argv of commands) {
      const text = await (argv[0] === 'preview' ? launch : tally)([...argv, '--project', project], env);
      assert.equal(text.code, 0, `${argv.join(' ')}: ${text.err}`);
      assert.ok(text.err.split('\n').includes(line), `${argv.join(' ')} stderr: ${text.err}`);
      const json = await tally([...argv, '--project', project, '--format', 'json'], env);
      assert.equal(json.code, 0, `${argv.join(' ')} --format json: ${json.err}`);
      assert.deepEqual(JSON.parse(json.out).database, field, argv.join(' '));
      assert.doesNotMatch(json.err, /^tally: database:/m, 'JSON output carries it instead of stderr');
      for (const r of [text, json]) assert.ok(!(r.out + r.err).includes(SECRET), `${argv.join(' ')} printed the password`);
    }
    // test: its own databases (a fresh in-memory PGlite per test, or throwaway schemas in --db).
    const t = await tally(['test', '--project', project, '--format', 'json']);
    assert.deepEqual(JSON.parse(t.out).database, { url: 'pglite:memory', source: 'a fresh in-memory PGlite per test' });
  });

  it('--timeout at its upper bound is accepted by the database (no raw PostgreSQL error)', async function () {
    this.timeout(120_000);
    const r = await tally(['preview', 'segment', 'dach', '--project', project, '--as-of', ANCHOR, '--timeout', '86400000', '--format', 'json'], env);
    assert.equal(r.code, 0, r.err);
    assert.ok(JSON.parse(r.out).count > 0);
  });

  it("a Lifecycle named like a history table: an error at its name; deploy writes nothing and loses nothing", async function () {
    this.timeout(180_000);
    const p = copyShop(`reserved-${backend}`);
    const lifecycle = readFileSync(join(p, 'definitions', 'lifecycle.yaml'), 'utf8');
    writeFileSync(join(p, 'definitions', 'lifecycle.yaml'), lifecycle.replace('name: customer_lifecycle', 'name: stage_changes').replace(/customer_lifecycle/g, 'stage_changes'));
    for (const f of ['segments.yaml', 'kpis.yaml', 'campaigns.yaml', 'profile.yaml', 'tests.yaml']) {
      const path = join(p, 'definitions', f);
      writeFileSync(path, readFileSync(path, 'utf8').replace(/customer_lifecycle/g, 'stage_changes'));
    }
    const v = await tally(['validate', '--project', p, '--format', 'json'], env);
    assert.equal(v.code, 1, v.err);
    const d = (JSON.parse(v.out).diagnostics as { code: string; file: string; range: { start: { line: number; character: number } }; message: string }[]).find((x) => x.code === 'reserved-name');
    assert.ok(d, v.out);
    assert.equal(d.file, 'definitions/lifecycle.yaml');
    assert.deepEqual(d.range.start, { line: 2, character: 6 });
    assert.match(d.message, /lifecycle 'stage_changes' would deploy as the view lifecycle_stage_changes, the name of Tally's own table lifecycle_stage_changes/);

    const before = await withDb(async (x) => ({
      deploys: Number((await x.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n),
      changes: Number((await x.query<{ n: number }>('select count(*) as n from tally.lifecycle_stage_changes')).rows[0]!.n),
    }));
    assert.ok(before.changes > 0, 'the earlier deploy recorded stage changes');
    const r = await tally(['deploy', '--project', p], env);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /\[reserved-name\]/);
    assert.match(r.err, /nothing deployed/);
    const after = await withDb(async (x) => ({
      deploys: Number((await x.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n),
      changes: Number((await x.query<{ n: number }>('select count(*) as n from tally.lifecycle_stage_changes')).rows[0]!.n),
      kind: (await x.query<{ k: string }>(`select c.relkind::text as k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'tally' and c.relname = 'lifecycle_stage_changes'`)).rows[0]?.k,
    }));
    assert.deepEqual(after, { ...before, kind: 'r' });
  });

  it('deploy never replaces a relation it does not own: refused before any DDL, the table and its rows intact', async function () {
    this.timeout(180_000);
    await withDb((x) => x.exec(`create table tally.segment_mine (key bigint, note text); insert into tally.segment_mine values (1, 'theirs')`));
    const p = copyShop(`foreign-${backend}`);
    writeFileSync(join(p, 'definitions', 'mine.yaml'), 'kind: Segment\nname: mine\nversion: 1\nwhere: { attribute: country, eq: DE }\n');
    const deploysBefore = await withDb(async (x) => Number((await x.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n));
    const r = await tally(['deploy', '--project', p, '--format', 'json'], env);
    assert.equal(r.code, 1, r.err);
    const doc = JSON.parse(r.out) as { deployed: boolean; refused: boolean; diagnostics: { code: string; file: string; message: string; range: { start: { line: number } } }[] };
    assert.equal(doc.deployed, false);
    assert.equal(doc.refused, true);
    const d = doc.diagnostics.find((x) => x.code === 'not-owned');
    assert.ok(d, r.out);
    assert.equal(d.file, 'definitions/mine.yaml');
    assert.equal(d.range.start.line, 1);
    assert.match(d.message, /deploy would replace the table tally\.segment_mine, but Tally did not create it/);
    const state = await withDb(async (x) => ({
      rows: (await x.query<{ key: number; note: string }>('select key, note from tally.segment_mine')).rows,
      deploys: Number((await x.query<{ n: number }>('select count(*) as n from tally.deploys')).rows[0]!.n),
    }));
    assert.deepEqual(state, { rows: [{ key: 1, note: 'theirs' }], deploys: deploysBefore });
    // plan says the same before anyone deploys.
    const plan = await tally(['plan', '--project', p, '--as-of', ANCHOR], env);
    assert.equal(plan.code, 1, plan.out + plan.err);
    assert.match(plan.out + plan.err, /not-owned/);
  });
});

// ---- the reserved names come from the one declaration of the state ---------------------------

describe('cli-database: every relation the state creates is reserved', function () {
  this.timeout(60_000);
  it('isStateRelation covers every relation ensureState, ensureCampaignState and ensureSyncState create; reservedNameProblem flags the views that would collide', async () => {
    const db = await connect('pglite:memory', { baseDir: TMP });
    try {
      await db.transaction(async (tx) => {
        await ensureState(tx, 'tally');
        await ensureCampaignState(tx, 'tally');
        await ensureSyncState(tx, 'tally');
      });
      const rels = (await db.query<{ relname: string }>(`select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'tally' order by 1`)).rows.map((r) => r.relname);
      assert.ok(rels.length >= STATE_TABLES.length);
      assert.deepEqual(rels.filter((r) => !isStateRelation(r)), []);
      for (const t of STATE_TABLES) assert.ok(rels.includes(t), t);
    } finally {
      await db.close();
    }
    assert.match(reservedNameProblem('Lifecycle', 'stage_changes')!, /lifecycle_stage_changes/);
    assert.match(reservedNameProblem('Lifecycle', 'snapshots')!, /lifecycle_snapshots/);
    assert.match(reservedNameProblem('Lifecycle', 'snapshots_day')!, /a name taken by Tally's own table lifecycle_snapshots/);
    assert.match(reservedNameProblem('Segment', 'x__tally_new')!, /reserved/);
    assert.match(reservedNameProblem('Lifecycle', `l${'x'.repeat(60)}`)!, /63-byte limit/);
    assert.equal(reservedNameProblem('Segment', 'stage_changes'), undefined);
    assert.equal(reservedNameProblem('Kpi', 'deploys'), undefined);
    assert.equal(reservedNameProblem('Lifecycle', 'customer_lifecycle'), undefined);
  });
});
