// The CLI contract (LANGUAGE.md §9): exit codes, one-line errors without stack traces, the
// validate formats (json, github, sarif), compile's files and manifest, preview's JSON shapes on a
// throwaway PGlite loaded with the example shop, init, and the database resolution order.
//
// Almost everything runs in-process through `main(argv, io)` with a capturing Io (its `env` field
// controls the environment, so the developer's DATABASE_URL never leaks in); a few cases run the
// real launcher `node bin/tally.mjs` to prove the built bundle works end to end.
//

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import { main } from '../engine/cli/main.js';
import type { Io } from '../engine/cli/io.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { resolveDatabaseUrl } from '../engine/src/db/connection.js';
import { loadShop } from '../examples/shop/generate.js';
import { MODEL } from './helpers/model.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOP = join(REPO, 'examples', 'shop');
const BIN = join(REPO, 'bin', 'tally.mjs');
const BUNDLE = join(REPO, 'dist', 'cli.mjs');

/** The instant the throwaway shop data ends at; previews run as of it. */
const ANCHOR = new Date('2026-11-01T00:00:00Z');
const ANCHOR_ISO = ANCHOR.toISOString();
/** An earlier instant: some customers do not exist yet. */
const EARLIER = new Date('2026-06-01T00:00:00Z');

/** A port nothing listens on: connecting fails at once with ECONNREFUSED. */
const DEAD_PG = 'postgres://nobody@127.0.0.1:1/x';

const STACK = /\n\s+at /;

// ---- helpers ----------------------------------------------------------------------------------

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Runs the CLI in-process with a capturing Io; the environment is exactly `env`. */
async function tally(argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    tty: false,
    cwd: opts.cwd ?? TMP,
    env: opts.env ?? {},
  };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** Runs the built launcher as a child process; the environment has no database variables. */
function launcher(argv: string[], cwd: string): Promise<Run> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['DATABASE_URL', 'TALLY_DATABASE_URL', 'TALLY_DEBUG', 'NODE_OPTIONS']) delete env[k];
  return new Promise((resolvePromise) => {
    execFile(process.execPath, [BIN, ...argv], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolvePromise({ code, out: stdout, err: stderr });
    });
  });
}

/**
 * A usage/connection error: the first stderr line is `tally: <message>` matching `what`; the only
 * other text allowed is the usage block; never a stack trace; nothing on stdout.
 */
function assertCleanError(r: Run, code: number, what: RegExp): void {
  assert.equal(r.code, code, `exit code: stdout=${r.out} stderr=${r.err}`);
  // The line saying which database the command uses may come first.
  r = { ...r, err: r.err.replace(/^tally: (database: |no database \().*\n/, '') };
  assert.doesNotMatch(r.err, STACK, 'stack trace on stderr');
  assert.doesNotMatch(r.out, STACK, 'stack trace on stdout');
  assert.doesNotMatch(r.err, /internal error/);
  const [first, ...rest] = r.err.split('\n');
  assert.match(first ?? '', /^tally: \S/, `stderr: ${r.err}`);
  assert.match(first ?? '', what);
  const remainder = rest.join('\n').trim();
  if (remainder) assert.match(remainder, /^tally: growth operations as code\n\nusage: tally <command>/, `more than one line of error: ${r.err}`);
  assert.equal(r.out, '', 'an error writes nothing to stdout');
}

const TMP = mkdtempSync(join(tmpdir(), 'tally-cli-test-'));
let counter = 0;

const TALLY_YAML = 'tally: 1\nname: fixture\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';

/** A fresh project folder under TMP with the given files (paths relative to it). */
function makeProject(files: Record<string, string>, opts: { tallyYaml?: string | null; name?: string } = {}): string {
  const dir = join(TMP, opts.name ?? `proj${++counter}`);
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  if (opts.tallyYaml !== null) writeFileSync(join(dir, 'tally.yaml'), opts.tallyYaml ?? TALLY_YAML);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, rel)), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

/** A copy of examples/shop (definitions only: never its embedded database). */
function copyShop(name: string): string {
  const dir = join(TMP, name);
  mkdirSync(dir, { recursive: true });
  cpSync(join(SHOP, 'tally.yaml'), join(dir, 'tally.yaml'));
  cpSync(join(SHOP, 'definitions'), join(dir, 'definitions'), { recursive: true });
  return dir;
}

/** The 0-based LSP position (UTF-16 code units, as `indexOf` counts) of the nth occurrence of `needle`. */
function positionOf(text: string, needle: string, nth = 0): { line: number; character: number } {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `'${needle}' (#${nth}) not in the fixture`);
  }
  const before = text.slice(0, at);
  const line = before.split('\n').length - 1;
  return { line, character: at - (before.lastIndexOf('\n') + 1) };
}

function rangeOf(text: string, needle: string, nth = 0) {
  const start = positionOf(text, needle, nth);
  return { start, end: { line: start.line, character: start.character + needle.length } };
}

function listFilesRec(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFilesRec(p, base));
    else out.push(relative(base, p).replace(/\\/g, '/'));
  }
  return out;
}

after(function () {
  rmSync(TMP, { recursive: true, force: true });
});

// ---- exit codes and error lines ---------------------------------------------------------------

describe('cli: exit codes and one-line errors', () => {
  let clean = '';
  let broken = '';
  before(() => {
    clean = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/s.yaml': 'kind: Segment\nname: buyers\nversion: 1\nwhere: { event: purchase, within: 30d }\n' });
    broken = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/s.yaml': 'kind: Segment\nname: buyers\nversion: 1\nwhere: { segment: nobody }\n' });
  });

  it('0: a clean project validates', async () => {
    const r = await tally(['validate', '--project', clean]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.match(r.out, /3 definitions in 2 files: 0 errors, 0 warnings/);
    // Nothing configured and nothing loaded: said once on stderr.
    assert.equal(r.err, 'tally: no database (nothing configured, and the embedded .tally/db is empty): catalog checks skipped');
  });

  it('1: a project with an error', async () => {
    const r = await tally(['validate', '--project', broken]);
    assert.equal(r.code, 1);
    assert.match(r.out, /error \[unknown-reference\] no segment named 'nobody'/);
    assert.doesNotMatch(r.out + r.err, STACK);
  });

  it('0 for --help and --version; a bare `tally` is a usage error', async () => {
    assert.equal((await tally(['--help'])).code, 0);
    const v = await tally(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.out, /^tally \d+\.\d+\.\d+/);
    const bare = await tally([]);
    assert.equal(bare.code, 2);
    assert.match(bare.out + bare.err, /usage: tally <command>/);
  });

  it('2: unknown command', async () => {
    assertCleanError(await tally(['frobnicate', '--project', clean]), 2, /unknown command 'frobnicate'/);
  });

  it('2: a misspelt command suggests the right one', async () => {
    assertCleanError(await tally(['plna', '--project', clean]), 2, /unknown command 'plna' \(did you mean 'plan'\?\)/);
  });

  it('2: unknown flag', async () => {
    assertCleanError(await tally(['validate', '--bogus', '--project', clean]), 2, /--bogus/);
  });

  it('2: a flag missing its value', async () => {
    assertCleanError(await tally(['validate', '--project']), 2, /--project/);
  });

  for (const [bad, why] of [
    ['yesterday', 'is not an ISO instant'],
    ['1717200000', 'is not an ISO instant'],
    ['2026-02-30', 'is not a valid instant: 2026-02 has no day 30'],
    ['2026-06-01T25:00:00Z', "is not a valid instant: '25:00:00' is not a time of day"],
    ['2026-06-01T00:00:00+99:00', 'is not a valid instant: the UTC offset \\+99:00 is out of range: offsets go from -14:00 to \\+14:00'],
    ['0000-12-31', 'is not a valid instant: there is no year 0000'],
  ]) {
    it(`2: bad --as-of '${bad}'`, async () => {
      assertCleanError(await tally(['validate', '--project', clean, '--as-of', bad]), 2, new RegExp(`--as-of '${bad.replace('+', '\\+')}' ${why}`));
    });
  }

  it('accepts --as-of as a date, a UTC instant and an instant with an offset', async () => {
    for (const ok of ['2026-06-01', '2026-06-01T00:00:00Z', '2026-06-01T02:00:00+02:00', '2026-06-01T00:00:00.123Z']) {
      assert.equal((await tally(['validate', '--project', clean, '--as-of', ok])).code, 0, ok);
    }
  });

  it('2: bad --format, per command', async () => {
    assertCleanError(await tally(['validate', '--project', clean, '--format', 'xml']), 2, /--format 'xml' is not one of: text, json, github, sarif/);
    assertCleanError(await tally(['preview', 'segment', 'buyers', '--project', clean, '--format', 'sarif']), 2, /--format 'sarif' is not one of: text, json/);
  });

  it('2: compile without --out', async () => {
    assertCleanError(await tally(['compile', '--project', clean]), 2, /compile needs --out DIR/);
  });

  it('2: compile with a bad --strategy', async () => {
    assertCleanError(await tally(['compile', '--project', clean, '--out', join(TMP, 'never'), '--strategy', 'fast']), 2, /--strategy/);
    assert.ok(!existsSync(join(TMP, 'never')));
  });

  it('2: compile --out pointing at an existing file', async () => {
    const file = join(TMP, 'a-file.txt');
    writeFileSync(file, 'x');
    // A file where --out wants a directory is a usage error (exit 2) that names the path.
    assertCleanError(await tally(['compile', '--project', clean, '--out', file]), 2, /--out|not a directory/);
  });

  it('2: preview without a kind or a name, or of a kind that has no preview', async () => {
    assertCleanError(await tally(['preview', '--project', clean]), 2, /usage: tally preview <segment\|trait\|score\|lifecycle\|kpi\|campaign\|cohort\|funnel\|sync> NAME/);
    assertCleanError(await tally(['preview', 'segment', '--project', clean]), 2, /usage: tally preview/);
    assertCleanError(await tally(['preview', 'entity', 'x', '--project', clean]), 2, /cannot preview 'entity'; kinds: segment, trait, score, lifecycle, kpi, campaign, cohort, funnel/);
  });

  it('2: preview with a bad --sample or --timeout', async () => {
    assertCleanError(await tally(['preview', 'segment', 'buyers', '--project', clean, '--sample', 'lots']), 2, /--sample takes a whole number/);
    assertCleanError(await tally(['preview', 'segment', 'buyers', '--project', clean, '--timeout', '0']), 2, /--timeout takes milliseconds/);
  });

  it('2: no tally.yaml (validate, compile, preview)', async () => {
    const empty = join(TMP, 'empty-dir');
    mkdirSync(empty, { recursive: true });
    for (const argv of [['validate'], ['compile', '--out', join(TMP, 'x')], ['preview', 'segment', 'x']]) {
      const r = await tally([...argv, '--project', empty]);
      assertCleanError(r, 2, /no tally\.yaml in empty-dir; run `tally init`/);
    }
    // The default project is the cwd.
    assertCleanError(await tally(['validate'], { cwd: empty }), 2, /no tally\.yaml in \.;/);
    // A project path that does not exist at all.
    assertCleanError(await tally(['validate', '--project', join(TMP, 'no', 'such', 'dir')]), 2, /no tally\.yaml in no\/such\/dir/);
  });

  it('2: connection errors on a command that needs the database', async () => {
    const r1 = await tally(['preview', 'segment', 'buyers', '--project', clean, '--db', DEAD_PG]);
    assertCleanError(r1, 2, /cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/x: .*ECONNREFUSED.* \(database from --db\)/);
    const r2 = await tally(['preview', 'segment', 'buyers', '--project', clean, '--db', 'mysql://x']);
    assertCleanError(r2, 2, /'mysql:\/\/x' is not a database URL Tally understands; use postgres:\/\/user@host:5432\/db, pglite:<dir> or pglite:memory/);
    const r3 = await tally(['preview', 'segment', 'buyers', '--project', clean, '--db', `pglite:${join(TMP, 'no-such-db')}`]);
    assertCleanError(r3, 2, /does not exist yet/);
  });

  it('2: preview on the embedded default that was never loaded says how to load it', async () => {
    assertCleanError(await tally(['preview', 'segment', 'buyers', '--project', clean]), 2, /no database: the embedded one .* is empty; run `tally demo`/);
  });

  it('never prints a password from the URL', async () => {
    const r = await tally(['preview', 'segment', 'buyers', '--project', clean, '--db', 'postgres://nobody:s3cr3t@127.0.0.1:1/x']);
    assertCleanError(r, 2, /cannot connect to postgres:\/\/nobody:\*\*\*@127\.0\.0\.1:1\/x/);
    assert.doesNotMatch(r.err + r.out, /s3cr3t/);
  });

  it('2: validate with an explicit --db that is not a database URL', async () => {
    // A --db URL Tally cannot parse is a usage error (exit 2), not a skipped catalog check.
    assertCleanError(await tally(['validate', '--project', clean, '--db', 'mysql://x']), 2, /'mysql:\/\/x' is not a database URL/);
  });

  it('2: validate with an explicit --db that is unreachable', async () => {
    // An explicit --db that cannot be reached is a connection error (exit 2): a CI job that passes
    // --db asked for the catalog checks and must not silently go without them.
    assertCleanError(await tally(['validate', '--project', clean, '--db', DEAD_PG]), 2, /cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/x/);
  });
});

// ---- validate formats -------------------------------------------------------------------------

const BAD_LF = `kind: Segment
name: buyers
version: 1
where: { event: purchase, within: 30d }
---
kind: Segment
name: typo_ref
version: 1
description: "Käufer 🛒 mit Tippfehler"
where: { all: [ { attribute: country, eq: "Österreich 🇦🇹" }, { segment: buyres } ] }
---
kind: Segment
name: bad_window
version: 1
where: { event: purchase, within: 90 days }
`;

const BAD_CRLF = 'kind: Segment\r\nname: crlf_seg\r\nversion: 1\r\nwher: { attribute: country, eq: DE }\r\n';

interface JsonDiagnostic {
  file: string;
  range: { start: { line: number; character: number }; end: { line: number; character: number } };
  severity: string;
  code: string;
  message: string;
}

describe('cli: validate --format json|github|sarif', () => {
  let dir = '';
  before(() => {
    dir = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/bad.yaml': BAD_LF, 'definitions/crlf.yaml': BAD_CRLF }, { name: 'my project' });
  });

  /** The diagnostics this fixture must produce, positions computed from the text. */
  function expected(): Omit<JsonDiagnostic, 'message'>[] {
    return [
      { file: 'definitions/bad.yaml', range: rangeOf(BAD_LF, 'buyres'), severity: 'error', code: 'unknown-reference' },
      { file: 'definitions/bad.yaml', range: rangeOf(BAD_LF, '90 days'), severity: 'error', code: 'bad-duration' },
      // The document misses `where` (reported on its first key) because of the typo 'wher'.
      { file: 'definitions/crlf.yaml', range: rangeOf(BAD_CRLF, 'kind'), severity: 'error', code: 'missing-key' },
      { file: 'definitions/crlf.yaml', range: rangeOf(BAD_CRLF, 'wher'), severity: 'error', code: 'unknown-key' },
    ];
  }

  it('json: the contract shape, 0-based UTF-16 positions, exit 1', async () => {
    const r = await tally(['validate', '--project', dir, '--format', 'json']);
    assert.equal(r.code, 1);
    assert.equal(r.err, '');
    const doc = JSON.parse(r.out) as { diagnostics: JsonDiagnostic[] };
    // The contract's one key, then which database was used (extra fields are allowed).
    assert.deepEqual(Object.keys(doc), ['diagnostics', 'database']);
    assert.ok(Array.isArray(doc.diagnostics));
    for (const d of doc.diagnostics) {
      for (const k of ['file', 'range', 'severity', 'code', 'message']) assert.ok(k in d, `missing ${k}`);
      assert.equal(typeof d.file, 'string');
      assert.equal(typeof d.message, 'string');
      assert.ok(d.message.length > 10);
      assert.match(d.severity, /^(error|warning|information|hint)$/);
      assert.match(d.code, /^[a-z]+(-[a-z]+)*$/);
      assert.deepEqual(Object.keys(d.range).sort(), ['end', 'start']);
      for (const p of [d.range.start, d.range.end]) {
        assert.deepEqual(Object.keys(p).sort(), ['character', 'line']);
        assert.ok(Number.isInteger(p.line) && p.line >= 0);
        assert.ok(Number.isInteger(p.character) && p.character >= 0);
      }
    }
    const got = doc.diagnostics.map(({ file, range, severity, code }) => ({ file, range, severity, code }));
    const key = (d: { file: string; code: string }) => `${d.file}:${d.code}`;
    assert.deepEqual([...got].sort((a, b) => key(a).localeCompare(key(b))), [...expected()].sort((a, b) => key(a).localeCompare(key(b))));
    const byCode = new Map(doc.diagnostics.map((d) => [d.code, d.message]));
    assert.equal(byCode.get('unknown-reference'), "no segment named 'buyres' (did you mean 'buyers'?)");
    assert.match(byCode.get('bad-duration')!, /'90 days' is not a duration/);
    assert.match(byCode.get('unknown-key')!, /'wher'.*did you mean 'where'/);
  });

  it('json: a clean project prints {"diagnostics": []} (and which database: none here) and exits 0', async () => {
    const clean = makeProject({ 'definitions/model.yaml': MODEL });
    const r = await tally(['validate', '--project', clean, '--format', 'json']);
    assert.equal(r.code, 0);
    assert.deepEqual(JSON.parse(r.out), { diagnostics: [], database: { url: null, source: null, offline: 'nothing configured, and the embedded .tally/db is empty' } });
  });

  it('json: diagnostics of tally.yaml itself are reported against tally.yaml', async () => {
    const p = makeProject({ 'definitions/model.yaml': MODEL }, { tallyYaml: 'tally: 1\nname: x\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: Mars/Olympus\n' });
    const r = await tally(['validate', '--project', p, '--format', 'json']);
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as { diagnostics: JsonDiagnostic[] };
    const tz = doc.diagnostics.find((d) => d.code === 'bad-timezone');
    assert.ok(tz, r.out);
    assert.equal(tz.file, 'tally.yaml');
    assert.deepEqual(tz.range, rangeOf('tally: 1\nname: x\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: Mars/Olympus\n', 'Mars/Olympus'));
  });

  it('github: one workflow command per diagnostic, file relative to the cwd, 1-based line and column', async () => {
    const r = await tally(['validate', '--project', dir, '--format', 'github'], { cwd: TMP });
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines.length, 4, r.out);
    for (const l of lines) assert.match(l, /^::error file=[^,]+,line=\d+,col=\d+(,endLine=\d+,endColumn=\d+)?(,title=[^:]*)?::\S/);
    const find = (code: string) => lines.find((l) => l.includes(code))!;
    const ref = rangeOf(BAD_LF, 'buyres');
    assert.match(find('unknown-reference'), new RegExp(`^::error file=my project/definitions/bad\\.yaml,line=${ref.start.line + 1},col=${ref.start.character + 1},`));
    assert.match(find('unknown-reference'), /::no segment named 'buyres' \(did you mean 'buyers'\?\)$/);
    const dur = rangeOf(BAD_LF, '90 days');
    assert.match(find('bad-duration'), new RegExp(`^::error file=my project/definitions/bad\\.yaml,line=${dur.start.line + 1},col=${dur.start.character + 1},`));
    const wher = rangeOf(BAD_CRLF, 'wher');
    assert.match(find('unknown-key'), new RegExp(`^::error file=my project/definitions/crlf\\.yaml,line=${wher.start.line + 1},col=1,`));
  });

  it('github: from inside the project the path is project-relative; warnings are ::warning', async () => {
    const p = makeProject({
      'definitions/model.yaml': MODEL,
      'definitions/k.yaml': 'kind: Kpi\nname: buyers_now\nversion: 1\nmetric: { count: { event: purchase, within: 30d } }\ntarget: { gte: 10, by: 2027-01-01 }\n',
    });
    const r = await tally(['validate', '--format', 'github', '--as-of', '2026-06-01'], { cwd: p });
    assert.equal(r.code, 0, r.out);
    const lines = r.out.split('\n').filter(Boolean);
    assert.ok(lines.length > 0);
    for (const l of lines) assert.match(l, /^::warning file=definitions\/k\.yaml,line=\d+,col=\d+/);
  });

  it('github: a newline or a % in a message is escaped, so one diagnostic stays one line', async () => {
    const p = makeProject({ 'definitions/x.yaml': 'kind: Segment\nname: "a\\nb%c"\nversion: 1\nwhere: { attribute: x, eq: 1 }\n' });
    const r = await tally(['validate', '--project', p, '--format', 'github']);
    assert.equal(r.code, 1);
    for (const l of r.out.split('\n')) assert.match(l, /^::(error|warning|notice) /, `not a workflow command: ${JSON.stringify(l)}`);
  });

  it('sarif: SARIF 2.1.0 shaped, with 1-based regions at the right places', async () => {
    const r = await tally(['validate', '--project', dir, '--format', 'sarif'], { cwd: TMP });
    assert.equal(r.code, 1);
    const log = JSON.parse(r.out);
    const { ajv, validate } = sarifValidator();
    assert.ok(Boolean(validate(log)), ajv.errorsText(validate.errors, { separator: '\n' }));

    const run = log.runs[0];
    assert.equal(run.tool.driver.name, 'tally');
    const rules = run.tool.driver.rules as { id: string }[];
    assert.equal(new Set(rules.map((x) => x.id)).size, rules.length, 'rule ids are unique');
    for (const res of run.results) {
      // ruleIndex, when given, must point at the rule with the same id (SARIF §3.27.6).
      if (res.ruleIndex !== undefined) assert.equal(rules[res.ruleIndex]?.id, res.ruleId);
      const reg = res.locations[0].physicalLocation.region;
      assert.ok(reg.endLine >= reg.startLine);
      if (reg.endLine === reg.startLine) assert.ok(reg.endColumn >= reg.startColumn);
    }
    const byRule = (id: string) => run.results.find((x: { ruleId: string }) => x.ruleId === id);
    const ref = rangeOf(BAD_LF, 'buyres');
    const loc = byRule('unknown-reference').locations[0].physicalLocation;
    assert.deepEqual(loc.region, { startLine: ref.start.line + 1, startColumn: ref.start.character + 1, endLine: ref.end.line + 1, endColumn: ref.end.character + 1 });
    assert.equal(byRule('unknown-reference').level, 'error');
    assert.equal(byRule('unknown-reference').message.text, "no segment named 'buyres' (did you mean 'buyers'?)");
    assert.equal(decodeURI(loc.artifactLocation.uri), 'my project/definitions/bad.yaml');
  });

  it('sarif: artifactLocation.uri is a valid URI reference (spaces percent-encoded)', async () => {
    const r = await tally(['validate', '--project', dir, '--format', 'sarif'], { cwd: TMP });
    const uris: string[] = JSON.parse(r.out).runs[0].results.map((x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => x.locations[0]!.physicalLocation.artifactLocation.uri);
    // artifactLocation.uri is a URI reference (RFC 3986; SARIF §3.4.3): spaces are percent-encoded.
    for (const u of uris) assert.match(u, /^my%20project\/definitions\/(bad|crlf)\.yaml$/);
  });

  it('sarif: a clean project has a run with no results and exits 0', async () => {
    const clean = makeProject({ 'definitions/model.yaml': MODEL });
    const r = await tally(['validate', '--project', clean, '--format', 'sarif']);
    assert.equal(r.code, 0);
    const log = JSON.parse(r.out);
    const { validate } = sarifValidator();
    assert.ok(Boolean(validate(log)));
    assert.deepEqual(log.runs[0].results, []);
  });
});

/**
 * The official SARIF 2.1.0 schema (OASIS), as shipped in the npm package of Microsoft's SARIF
 * Multitool (a dev dependency), and the Multitool itself: the schema as a consumer reads it.
 */
const SARIF_PACKAGE = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '@microsoft', 'sarif-multitool-linux');
const SARIF_SCHEMA = JSON.parse(readFileSync(join(SARIF_PACKAGE, 'sarif-2.1.0.json'), 'utf8')) as Record<string, unknown>;

function sarifValidator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
  return { ajv, validate: ajv.compile(SARIF_SCHEMA) };
}

// ---- compile ----------------------------------------------------------------------------------

const COMPILED_KINDS = ['Segment', 'Trait', 'Score', 'Lifecycle', 'Kpi', 'Cohort', 'Funnel'];

interface ManifestEntry {
  kind: string;
  name: string;
  version: number;
  fingerprint: string;
  source: { file: string; line: number };
  depends_on: string[];
  sql?: string;
  returns?: string[];
}

describe('cli: compile --out', function () {
  let shop = '';
  let db: Db;
  const definitions: { kind: string; name: string }[] = [];

  before(async function () {
    shop = copyShop('shop-compile');
    // Every definition of the example, read independently of the engine: `kind:` and `name:` of each document.
    for (const f of readdirSync(join(shop, 'definitions'))) {
      for (const doc of readFileSync(join(shop, 'definitions', f), 'utf8').split(/^---\s*$/m)) {
        const kind = /^kind: (\w+)/m.exec(doc)?.[1];
        const name = /^name: (\w+)/m.exec(doc)?.[1];
        if (kind && name) definitions.push({ kind, name });
      }
    }
    db = await connect('pglite:memory', { baseDir: TMP });
    await loadShop(db, { customers: 200, anchor: ANCHOR });
  });
  after(async () => {
    await db?.close();
  });

  async function explainAll(out: string, entries: ManifestEntry[]): Promise<void> {
    const failures: string[] = [];
    for (const e of entries) {
      if (!e.sql) continue;
      const text = readFileSync(join(out, e.sql), 'utf8');
      const body = text
        .split('\n')
        .filter((l) => !l.startsWith('--'))
        .join('\n')
        .trim()
        .replace(/;$/, '');
      assert.doesNotMatch(body, /;/, `${e.sql}: one statement`);
      try {
        await db.query(`EXPLAIN ${body}`);
      } catch (err) {
        failures.push(`${e.sql}: ${(err as Error).message}`);
      }
    }
    assert.deepEqual(failures, []);
  }

  for (const asOf of [ANCHOR_ISO, undefined]) {
    it(`writes DIR/<kind>/<name>.sql for every segment, trait, score, lifecycle and KPI, and a manifest (${asOf ? '--as-of' : 'T = now()'})`, async () => {
      const out = join(TMP, `compiled-${asOf ? 'asof' : 'now'}`);
      const r = await tally(['compile', '--project', shop, '--out', out, ...(asOf ? ['--as-of', asOf] : [])]);
      assert.equal(r.code, 0, r.err);
      assert.doesNotMatch(r.out + r.err, STACK);

      const manifest = JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { project: string; as_of: string | null; definitions: ManifestEntry[] };
      assert.equal(manifest.project, 'shop');
      assert.equal(manifest.as_of, asOf ?? null);
      const entries = manifest.definitions;

      // Every compiled kind has its file at the contract path, and the manifest names it.
      const expectedFiles = definitions.filter((d) => COMPILED_KINDS.includes(d.kind)).map((d) => `${d.kind.toLowerCase()}/${d.name}.sql`);
      assert.ok(expectedFiles.length >= 45, `${expectedFiles.length} compiled definitions in the example`);
      // A KPI with a breakdown also writes kpi/<name>.breakdown.sql, listed as its `breakdown_sql`.
      const breakdownFiles = entries.map((e) => (e as { breakdown_sql?: string }).breakdown_sql).filter((f): f is string => !!f);
      assert.deepEqual(breakdownFiles.sort(), ['kpi/activation_by_plan.breakdown.sql', 'kpi/revenue_by_country.breakdown.sql']);
      const written = listFilesRec(out).filter((f) => f !== 'manifest.json');
      assert.deepEqual(written.sort(), [...expectedFiles, ...breakdownFiles].sort());
      for (const d of definitions.filter((x) => COMPILED_KINDS.includes(x.kind))) {
        const e = entries.find((x) => x.kind === d.kind && x.name === d.name);
        assert.ok(e, `manifest has ${d.kind} ${d.name}`);
        assert.equal(e.sql, `${d.kind.toLowerCase()}/${d.name}.sql`);
      }
      // Every manifest entry with SQL points at an existing file; every entry is well-formed.
      for (const e of entries) {
        assert.ok(definitions.some((d) => d.kind === e.kind && d.name === e.name), `unexpected manifest entry ${e.kind} ${e.name}`);
        assert.match(e.fingerprint, /^[0-9a-f]{64}$/);
        assert.ok(Number.isInteger(e.version) && e.version >= 1);
        assert.ok(existsSync(join(shop, e.source.file)), e.source.file);
        const src = readFileSync(join(shop, e.source.file), 'utf8').split('\n')[e.source.line - 1];
        assert.equal(src, `name: ${e.name}`, `${e.kind} ${e.name}: source.line points at its name`);
        if (e.sql) {
          assert.ok(existsSync(join(out, e.sql)), e.sql);
          assert.ok(Array.isArray(e.returns) && e.returns.length > 0);
        }
      }
      const seg = entries.find((e) => e.name === 'high_value_dormant')!;
      assert.ok(seg.depends_on.some((x) => /Lifecycle.*customer_lifecycle/.test(x)), `depends_on: ${seg.depends_on.join(', ')}`);
      assert.equal(entries.filter((e) => e.sql).length, expectedFiles.length);
      assert.match(r.out, new RegExp(`wrote ${expectedFiles.length} SQL files and manifest\\.json`));

      await explainAll(out, entries);
    });
  }

  it('writes nothing and exits 1 when the project has errors', async () => {
    const bad = copyShop('shop-compile-bad');
    const seg = join(bad, 'definitions', 'segments.yaml');
    writeFileSync(seg, readFileSync(seg, 'utf8').replace('- { segment: hibernating }', '- { segment: hibernatin }'));
    const out = join(TMP, 'compiled-bad');
    const r = await tally(['compile', '--project', bad, '--out', out]);
    assert.equal(r.code, 1);
    assert.ok(!existsSync(out), 'no output directory');
    assert.match(r.err, /no segment named 'hibernatin' \(did you mean 'hibernating'\?\)/);
    assert.match(r.err, /nothing written/);
    assert.doesNotMatch(r.err, STACK);
  });

  it('leaves an existing output directory untouched when the project has errors', async () => {
    const bad = makeProject({ 'definitions/x.yaml': 'kind: Segment\nname: x\nversion: 1\nwhere: { segment: y }\n' });
    const out = join(TMP, 'compiled-existing');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'keep');
    const r = await tally(['compile', '--project', bad, '--out', out]);
    assert.equal(r.code, 1);
    assert.deepEqual(readdirSync(out), ['keep.txt']);
  });
});

// ---- preview ----------------------------------------------------------------------------------

describe('cli: preview --format json on a throwaway PGlite with the shop data', function () {
  let shop = '';
  let dbDir = '';
  let dbUrl = '';
  let existingAtAnchor = 0;
  let existingEarlier = 0;
  let dachAtAnchor = 0;
  const ltv = new Map<number, number>();
  const rawEmails: string[] = [];
  const rawNames = new Map<number, string>();

  before(async function () {
    shop = copyShop('shop-preview');
    dbDir = join(TMP, 'shop-db');
    dbUrl = `pglite:${dbDir}`;
    const db = await connect(dbUrl, { baseDir: TMP, create: true });
    try {
      await loadShop(db, { customers: 300, anchor: ANCHOR });
      const n = async (sql: string, params: unknown[] = []) => Number((await db.query<{ n: number }>(sql, params)).rows[0]!.n);
      existingAtAnchor = await n('select count(*) as n from customers where created_at <= $1', [ANCHOR_ISO]);
      existingEarlier = await n('select count(*) as n from customers where created_at <= $1', [EARLIER.toISOString()]);
      dachAtAnchor = await n(`select count(*) as n from customers where country in ('DE','AT','CH') and created_at <= $1`, [ANCHOR_ISO]);
      const sums = await db.query<{ id: number; v: number }>(
        `select customer_id as id, sum((properties->>'amount')::numeric) as v from events where event_name = 'purchase' and occurred_at <= $1 group by 1`,
        [ANCHOR_ISO],
      );
      for (const row of sums.rows) ltv.set(Number(row.id), Number(row.v));
      const people = await db.query<{ id: number; email: string; name: string | null }>('select id, email, name from customers');
      for (const p of people.rows) {
        rawEmails.push(p.email);
        if (p.name) rawNames.set(Number(p.id), p.name);
      }
    } finally {
      await db.close();
    }
    assert.ok(existingEarlier > 0 && existingEarlier < existingAtAnchor, `${existingEarlier} < ${existingAtAnchor}`);
  });

  async function previewJson(kind: string, name: string, asOf = ANCHOR_ISO, extra: string[] = []) {
    const r = await tally(['preview', kind, name, '--format', 'json', '--project', shop, '--db', dbUrl, '--as-of', asOf, ...extra]);
    assert.equal(r.code, 0, r.err);
    assert.doesNotMatch(r.err, STACK);
    return JSON.parse(r.out) as Record<string, unknown>;
  }

  it('segment: {kind, name, count, sample}, with the count checked in SQL and PII masked', async () => {
    const p = await previewJson('segment', 'dach');
    assert.equal(p.kind, 'segment');
    assert.equal(p.name, 'dach');
    assert.equal(p.count, dachAtAnchor);
    const sample = p.sample as Record<string, unknown>[];
    assert.ok(Array.isArray(sample) && sample.length === 10, 'default sample of 10');
    for (const row of sample) {
      assert.ok(['DE', 'AT', 'CH'].includes(row.country as string), JSON.stringify(row));
      assert.ok(!rawEmails.includes(row.email as string), `unmasked email ${String(row.email)}`);
      assert.match(String(row.email), /^.\*\*\*@/);
      if (row.name !== null) {
        assert.notEqual(row.name, rawNames.get(Number(row.id)), 'unmasked name');
        assert.match(String(row.name), /^.\*\*\*$/);
      }
    }
    assert.ok(!('sql' in p) || typeof p.sql === 'string');
  });

  it('segment: --sample bounds the sample; a segment referencing traits and stages previews', async () => {
    const p = await previewJson('segment', 'high_value_dormant', ANCHOR_ISO, ['--sample', '3']);
    assert.ok((p.sample as unknown[]).length <= 3);
    assert.ok(Number.isInteger(p.count));
    const none = await previewJson('segment', 'champions', ANCHOR_ISO, ['--sample', '0']);
    assert.deepEqual(none.sample, []);
    assert.ok((none.count as number) > 0, 'some champions in 300 customers');
  });

  it('segment: text output masks PII too', async () => {
    const r = await tally(['preview', 'segment', 'dach', '--project', shop, '--db', dbUrl, '--as-of', ANCHOR_ISO, '--sample', '50']);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`^segment dach: ${dachAtAnchor} customers`));
    for (const e of rawEmails) assert.ok(!r.out.includes(e), `unmasked email ${e} in text output`);
    for (const name of rawNames.values()) if (name.length > 3) assert.ok(!r.out.includes(name), `unmasked name ${name} in text output`);
  });

  it('lifecycle: {kind, name, stages} summing to the customers that exist at T', async () => {
    for (const [asOf, existing] of [
      [ANCHOR_ISO, () => existingAtAnchor],
      [EARLIER.toISOString(), () => existingEarlier],
    ] as const) {
      const p = await previewJson('lifecycle', 'customer_lifecycle', asOf);
      assert.equal(p.kind, 'lifecycle');
      assert.equal(p.name, 'customer_lifecycle');
      const stages = p.stages as Record<string, number>;
      assert.deepEqual(Object.keys(stages), ['new', 'churned', 'dormant', 'active']);
      for (const n of Object.values(stages)) assert.ok(Number.isInteger(n) && n >= 0);
      const sum = Object.values(stages).reduce((a, b) => a + b, 0);
      assert.equal(sum, existing(), `as of ${asOf}: stages ${JSON.stringify(stages)}`);
    }
  });

  it('kpi: {kind, name, value, status} with status in met|on_track|at_risk|missed|failed', async () => {
    for (const name of ['d30_retention', 'revenue_30d', 'champions_count', 'churn_30d', 'nps']) {
      const p = await previewJson('kpi', name);
      assert.equal(p.kind, 'kpi');
      assert.equal(p.name, name);
      assert.ok(p.value === null || typeof p.value === 'number', `${name}: value ${String(p.value)}`);
      assert.match(String(p.status), /^(met|on_track|at_risk|missed|failed)$/);
    }
  });

  it('kpi: past every deadline, a violated guardrail makes the status failed (not missed)', async () => {
    // As of 2028, every target of the example (due 2027) is past its deadline.
    const p = await previewJson('kpi', 'weekly_signups', '2028-01-01T00:00:00Z');
    // 300 customers cannot reach 400 signups a week; the guardrail (150) fails before "missed".
    assert.equal(p.status, 'failed');
  });

  it('trait: {kind, name, count, sample:[{key, value}]}, values checked in SQL', async () => {
    const p = await previewJson('trait', 'lifetime_value', ANCHOR_ISO, ['--sample', '20']);
    assert.equal(p.kind, 'trait');
    assert.equal(p.name, 'lifetime_value');
    assert.equal(p.count, ltv.size, 'customers with a purchase');
    const sample = p.sample as { key: unknown; value: unknown }[];
    assert.ok(sample.length > 0 && sample.length <= 20);
    for (const s of sample) {
      assert.deepEqual(Object.keys(s).sort(), ['key', 'value']);
      const expectedValue = ltv.get(Number(s.key));
      if (expectedValue === undefined) assert.equal(s.value, null);
      else assert.ok(Math.abs(Number(s.value) - expectedValue) < 1e-6, `key ${String(s.key)}: ${String(s.value)} vs ${expectedValue}`);
    }
  });

  it('score: {kind, name, count, sample:[{key, value}]} with values in 0..100', async () => {
    const p = await previewJson('score', 'health');
    assert.equal(p.kind, 'score');
    assert.equal(p.name, 'health');
    assert.ok(Number.isInteger(p.count));
    const sample = p.sample as { key: unknown; value: number }[];
    assert.ok(sample.length > 0);
    for (const s of sample) assert.ok(s.value >= 0 && s.value <= 100, String(s.value));
  });

  it('2: preview of an unknown name lists what there is', async () => {
    const r = await tally(['preview', 'segment', 'dachh', '--project', shop, '--db', dbUrl, '--as-of', ANCHOR_ISO]);
    assertCleanError(r, 2, /no segment named 'dachh'/);
    assert.match(r.err, /dach/);
  });

  it('1: a definition with an error is not previewed with the bad part silently dropped', async () => {
    const typo = copyShop('shop-preview-typo');
    const profile = join(typo, 'definitions', 'profile.yaml');
    writeFileSync(profile, readFileSync(profile, 'utf8').replace('compute: { event: purchase, sum: amount }', 'compute: { event: purchase, summ: amount }'));
    const v = await tally(['validate', '--project', typo, '--format', 'json']);
    assert.equal(v.code, 1);
    assert.ok((JSON.parse(v.out) as { diagnostics: JsonDiagnostic[] }).diagnostics.some((d) => d.code === 'unknown-key' && /'summ'/.test(d.message)));
    const r = await tally(['preview', 'trait', 'lifetime_value', '--format', 'json', '--project', typo, '--db', dbUrl, '--as-of', ANCHOR_ISO]);
    assert.doesNotMatch(r.err, STACK);
    // Any error in the definition's document (here an unknown key, `summ`) makes preview refuse
    // (exit 1), as validate and compile do; it must not preview a COUNT with `summ` ignored.
    assert.equal(r.code, 1, `exit ${r.code}: ${r.out.slice(0, 200)}`);
    assert.match(r.err, /unknown key 'summ'/);
  });

  it('1: a database without the mapped tables is a finding, not a crash', async () => {
    const emptyDir = join(TMP, 'empty-db');
    const empty = await connect(`pglite:${emptyDir}`, { baseDir: TMP, create: true });
    await empty.close();
    const r = await tally(['preview', 'segment', 'dach', '--project', shop, '--db', `pglite:${emptyDir}`, '--as-of', ANCHOR_ISO]);
    assert.doesNotMatch(r.err, STACK);
    // The catalog check reports "unknown-table" on the Entity the segment depends on, so preview
    // refuses with exit 1 and the diagnostic, instead of running the query.
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /no table named 'customers'/);
  });
});

// ---- init -------------------------------------------------------------------------------------

describe('cli: init', () => {
  it('scaffolds a project that validates with exit 0; a second init refuses with exit 2', async () => {
    const dir = join(TMP, 'Fresh Growth-Project');
    const r = await tally(['init', '--project', dir]);
    assert.equal(r.code, 0, r.err);
    assert.ok(existsSync(join(dir, 'tally.yaml')));
    assert.match(readFileSync(join(dir, 'tally.yaml'), 'utf8'), /^name: [a-z][a-z0-9_]*$/m);
    const v = await tally(['validate', '--project', dir]);
    assert.equal(v.code, 0, v.out + v.err);
    assert.match(v.out, /0 errors, 0 warnings/);
    const json = await tally(['validate', '--project', dir, '--format', 'json']);
    assert.deepEqual(JSON.parse(json.out).diagnostics, []);

    const before = readFileSync(join(dir, 'tally.yaml'), 'utf8');
    const again = await tally(['init', '--project', dir]);
    assertCleanError(again, 2, /tally\.yaml already exists; not overwriting it/);
    assert.equal(readFileSync(join(dir, 'tally.yaml'), 'utf8'), before);
  });

  it('init in the cwd (no --project)', async () => {
    const dir = join(TMP, 'init-cwd');
    mkdirSync(dir);
    assert.equal((await tally(['init'], { cwd: dir })).code, 0);
    assert.equal((await tally(['validate'], { cwd: dir })).code, 0);
  });

  it('2: init where the folder cannot be created', async () => {
    const file = join(TMP, 'init-blocker');
    writeFileSync(file, 'x');
    // A project path under a file is a usage error (exit 2) naming the path.
    assertCleanError(await tally(['init', '--project', join(file, 'sub')]), 2, /init-blocker/);
  });
});

// ---- database resolution ----------------------------------------------------------------------

describe('cli: database resolution order', () => {
  const URLS = {
    flag: 'postgres://nobody@127.0.0.1:1/from_flag',
    tally: 'postgres://nobody@127.0.0.1:1/from_tally_env',
    database: 'postgres://nobody@127.0.0.1:1/from_database_env',
  };

  it('resolveDatabaseUrl: --db > TALLY_DATABASE_URL > DATABASE_URL > warehouse.url (${VAR}) > embedded default', () => {
    const root = join(TMP, 'resolve-root');
    const env = { TALLY_DATABASE_URL: URLS.tally, DATABASE_URL: URLS.database, WH_HOST: 'wh.internal' };
    const warehouseUrl = 'postgres://app@${WH_HOST}:5432/${WH_DB}';
    const r = (e: NodeJS.ProcessEnv, flag?: string) => resolveDatabaseUrl({ flag, env: e, warehouseUrl, projectRoot: root });

    assert.deepEqual([r(env, URLS.flag).url, r(env, URLS.flag).source], [URLS.flag, '--db']);
    assert.deepEqual([r(env).url, r(env).source], [URLS.tally, 'TALLY_DATABASE_URL']);
    const noTally = { ...env, TALLY_DATABASE_URL: undefined };
    assert.deepEqual([r(noTally).url, r(noTally).source], [URLS.database, 'DATABASE_URL']);
    const onlyWh = { WH_HOST: 'wh.internal', WH_DB: 'shop' };
    assert.deepEqual([r(onlyWh).url, r(onlyWh).source], ['postgres://app@wh.internal:5432/shop', 'warehouse.url']);
    // An unset ${VAR} leaves warehouse.url unusable: never the embedded default instead.
    const missing = r({ WH_HOST: 'wh.internal' });
    assert.equal(missing.source, 'warehouse.url');
    assert.equal(missing.named, true);
    assert.deepEqual(missing.unset, ['WH_DB']);
    assert.equal(missing.url, '');
    const bare = resolveDatabaseUrl({ env: {}, projectRoot: root });
    assert.equal(bare.source, 'embedded default');
    assert.equal(bare.embeddedMissing, true);
    // An empty variable counts as unset.
    assert.equal(r({ ...env, TALLY_DATABASE_URL: '' }).source, 'DATABASE_URL');
  });

  describe('through the CLI: the error names the URL and its source', () => {
    let project = '';
    before(() => {
      project = makeProject(
        { 'definitions/model.yaml': MODEL },
        { tallyYaml: `${TALLY_YAML}warehouse:\n  url: postgres://nobody@127.0.0.1:1/\${WH_DB}\n` },
      );
    });
    const all: NodeJS.ProcessEnv = { TALLY_DATABASE_URL: URLS.tally, DATABASE_URL: URLS.database, WH_DB: 'from_warehouse' };
    const cases: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
      ['--db', ['--db', URLS.flag], all, /from_flag: .* \(database from --db\)$/],
      ['TALLY_DATABASE_URL', [], all, /from_tally_env: .* \(database from TALLY_DATABASE_URL\)$/],
      ['DATABASE_URL', [], { ...all, TALLY_DATABASE_URL: undefined }, /from_database_env: .* \(database from DATABASE_URL\)$/],
      ['warehouse.url', [], { WH_DB: 'from_warehouse' }, /from_warehouse: .* \(database from warehouse\.url\)$/],
    ];
    for (const [source, flags, env, message] of cases) {
      it(source, async () => {
        const r = await tally(['preview', 'lifecycle', 'x', '--project', project, ...flags], { env });
        assertCleanError(r, 2, message);
      });
    }
    it('warehouse.url needing an unset variable is an error naming the setting and the variable, never the embedded database', async () => {
      const r = await tally(['preview', 'lifecycle', 'x', '--project', project], { env: {} });
      assertCleanError(r, 2, /^tally: warehouse\.url in tally\.yaml \(postgres:\/\/nobody@127\.0\.0\.1:1\/\$\{WH_DB\}\) needs \$WH_DB, which is not set: set it or pass --db URL$/);
    });
    it('validate against a named database that is unreachable: exit 2, not a warning (--offline validates without one)', async () => {
      for (const format of ['text', 'json', 'github', 'sarif']) {
        const r = await tally(['validate', '--project', project, '--format', format], { env: { WH_DB: 'from_warehouse' } });
        assertCleanError(r, 2, /^tally: cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/from_warehouse: .* \(database from warehouse\.url\); pass --offline to validate without a database$/);
      }
      const offline = await tally(['validate', '--project', project, '--format', 'json', '--offline'], { env: { WH_DB: 'from_warehouse' } });
      assert.equal(offline.code, 0, offline.out + offline.err);
      const doc = JSON.parse(offline.out) as { diagnostics: JsonDiagnostic[]; database: unknown };
      assert.deepEqual(doc.diagnostics, []);
      assert.deepEqual(doc.database, { url: null, source: null, offline: '--offline' });
      assert.equal(offline.err, '');
    });
  });
});

// ---- the real launcher ------------------------------------------------------------------------

describe('cli: bin/tally.mjs (the built bundle)', function () {
  let shop = '';
  let broken = '';
  before(async function () {
    if (!existsSync(BUNDLE)) {
      await new Promise<void>((ok, fail) =>
        execFile(process.execPath, ['esbuild.mjs'], { cwd: REPO, env: { ...process.env, TALLY_BUILD_QUIET: '1' } }, (e, _o, stderr) => (e ? fail(new Error(`build failed: ${stderr}`)) : ok())),
      );
    }
    assert.ok(existsSync(BUNDLE), 'dist/cli.mjs');
    shop = copyShop('shop-bin');
    broken = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/x.yaml': 'kind: Segment\nname: x\nversion: 1\nwhere: { segment: y }\n' });
  });

  it('0: validate --format json on the example shop', async () => {
    const r = await launcher(['validate', '--project', shop, '--format', 'json'], TMP);
    assert.equal(r.code, 0, r.err);
    const doc = JSON.parse(r.out) as { diagnostics: JsonDiagnostic[] };
    assert.ok(doc.diagnostics.every((d) => d.severity !== 'error'));
    assert.doesNotMatch(r.err, STACK);
  });

  it('1: validate on a project with an error, text with a caret under the problem', async () => {
    const r = await launcher(['validate'], broken);
    assert.equal(r.code, 1, r.err);
    assert.match(r.out, /^definitions\/x\.yaml:4:19: error \[unknown-reference\] no segment named 'y'/m);
    assert.match(r.out, /\n {4}where: \{ segment: y \}\n {22}\^\n/);
    assert.doesNotMatch(r.out + r.err, STACK);
  });

  it('2: usage and connection errors print one line and never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['validate', '--as-of', 'soon', '--project', shop], /--as-of 'soon' is not an ISO instant/],
      [['preview', 'segment', 'dach', '--project', shop, '--db', DEAD_PG], /cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/x/],
      [['preview', 'segment', 'dach', '--project', shop, '--db', 'mysql://x'], /'mysql:\/\/x' is not a database URL/],
    ];
    for (const [argv, what] of cases) {
      const r = await launcher(argv, TMP);
      assertCleanError({ ...r, err: r.err.replace(/\n$/, '') }, 2, what);
    }
  });
});

describe('cli: validate --format sarif, read by the SARIF Multitool', () => {
  it('validates with no errors or warnings in Microsoft’s validator (rules of the SARIF spec beyond the schema)', async function () {
    this.timeout(120_000);
    const tool = join(SARIF_PACKAGE, 'Sarif.Multitool');
    if (!existsSync(tool)) {
      if (process.env.CI) assert.fail(`${tool} is missing: run npm ci`);
      this.skip();
    }
    const dir = mkdtempSync(join(TMP, 'sarif-'));
    const project = makeProject({ 'definitions/model.yaml': MODEL, 'definitions/bad.yaml': BAD_LF, 'definitions/crlf.yaml': BAD_CRLF });
    const r = await tally(['validate', '--project', project, '--format', 'sarif'], { cwd: TMP });
    assert.equal(r.code, 1);
    assert.ok(JSON.parse(r.out).runs[0].results.length >= 4);
    writeFileSync(join(dir, 'tally.sarif'), r.out);
    const out = join(dir, 'report.sarif');
    await new Promise<void>((resolve, reject) =>
      execFile(tool, ['validate', join(dir, 'tally.sarif'), '--output', out, '--log', 'ForceOverwrite'], { env: { ...process.env, DOTNET_SYSTEM_GLOBALIZATION_INVARIANT: '1' }, timeout: 100_000 }, (e, stdout, stderr) =>
        e ? reject(new Error(`${e.message}\n${stdout}\n${stderr}`)) : resolve(),
      ),
    );
    const report = JSON.parse(readFileSync(out, 'utf8')) as { runs: { results?: { level?: string; ruleId: string; message: { text?: string; arguments?: string[] } }[] }[] };
    // Errors and warnings (the default level) alike: the log is clean.
    const findings = (report.runs[0]!.results ?? []).filter((x) => (x.level ?? 'warning') !== 'note' && x.level !== 'none');
    assert.deepEqual(findings.map((x) => `${x.ruleId}: ${x.message.text ?? x.message.arguments?.join(' ')}`), []);
  });
});
