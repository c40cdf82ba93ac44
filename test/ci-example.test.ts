// The example CI workflow (examples/ci): the GitHub Actions file runs examples/ci/tally-ci.sh, and
// the script runs here as it would on a laptop: a pull request's plan, then main's deploy and
// check, then the next pull request's plan shows no changes; a change without a version bump fails
// the pull request with the refusal in the posted markdown. The check fails the build exactly when
// a KPI's status is failed or missed.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { connect } from '../engine/src/db/db.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { parseXml } from './helpers/xml.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SCRIPT = join(REPO, 'examples', 'ci', 'tally-ci.sh');
const TMP = mkdtempSync(join(tmpdir(), 'tally-ci-example-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function run(mode: string, env: Record<string, string>): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', [SCRIPT, mode], { cwd: TMP, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? TMP, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

describe('example CI workflow (examples/ci)', function () {
  this.timeout(300_000);
  let env: Record<string, string>;
  let project = '';
  let out = '';

  before(async () => {
    project = join(TMP, 'shop');
    cpSync(join(REPO, 'examples', 'shop'), project, { recursive: true, filter: (src) => !src.includes('.tally') });
    const dbDir = join(TMP, 'db');
    const db = await connect(`pglite:${dbDir}`, { baseDir: TMP });
    await loadShop(db, { customers: 200, anchor: DEFAULT_ANCHOR });
    await db.close();
    out = join(TMP, 'out');
    env = { TALLY: `${process.execPath} ${join(REPO, 'bin', 'tally.mjs')}`, TALLY_PROJECT: project, TALLY_DATABASE_URL: `pglite:${dbDir}`, TALLY_OUT: out };
  });

  it('the GitHub Actions workflow runs the script: pr on pull requests, main on pushes, daily on a schedule', () => {
    const wf = parse(readFileSync(join(REPO, 'examples', 'ci', 'github-actions.yml'), 'utf8')) as {
      on: Record<string, unknown>;
      jobs: Record<string, { if: string; steps: { run?: string }[] }>;
    };
    assert.deepEqual(Object.keys(wf.on).sort(), ['pull_request', 'push', 'schedule']);
    const runs = (job: string) => wf.jobs[job]!.steps.map((s) => s.run ?? '').join('\n');
    assert.match(runs('pr'), /examples\/ci\/tally-ci\.sh pr/);
    assert.match(runs('pr'), /gh pr comment .*--body-file tally-ci-out\/plan\.md/);
    assert.match(runs('main'), /examples\/ci\/tally-ci\.sh main/);
    assert.match(runs('daily'), /examples\/ci\/tally-ci\.sh daily/);
    assert.match(wf.jobs.pr!.if, /pull_request/);
  });

  it('pr: validate, test (JUnit), plan as markdown: every definition new', async () => {
    const r = await run('pr', env);
    assert.equal(r.code, 0, r.err);
    const plan = readFileSync(join(out, 'plan.md'), 'utf8');
    assert.match(plan, /^### Tally plan: 0 changed, \d+ new, 0 removed, 0 unchanged/);
    assert.equal(r.out.includes(plan.trim()), true, 'the plan is printed too');
    const junit = parseXml(readFileSync(join(out, 'test.xml'), 'utf8'));
    assert.equal(junit.name, 'testsuites');
    assert.equal(junit.attrs.failures, '0');
    assert.ok(existsSync(join(out, 'validate.sarif')));
  });

  it('main: deploys, then checks; it fails exactly when a KPI is failed or missed', async () => {
    const r = await run('main', env);
    const junit = parseXml(readFileSync(join(out, 'check.xml'), 'utf8'));
    const cases = junit.children[0]!.children.filter((c) => c.name === 'testcase');
    assert.ok(cases.length >= 10);
    const failing = cases.filter((c) => c.children.some((x) => x.name === 'failure'));
    for (const f of failing) assert.match(f.children.find((x) => x.name === 'failure')!.attrs.type!, /^(failed|missed)$/);
    assert.equal(r.code, failing.length ? 1 : 0, r.err);
    assert.match(readFileSync(join(out, 'check.md'), 'utf8'), /Tally check: /);
    assert.match(r.err, /== deploy/);
    assert.match(r.out, /deployed #1 to schema tally/);
    assert.match(r.out, /lifecycle snapshot for /);
    // With no failing policy the same run passes.
    const lenient = await run('main', { ...env, TALLY_FAIL_ON: 'none' });
    assert.equal(lenient.code, 0, lenient.err);
    assert.match(lenient.out, /nothing to deploy/);
  });

  it('the next pr: no changes; a change without a version bump fails with the refusal in the markdown', async () => {
    const same = await run('pr', env);
    assert.equal(same.code, 0, same.err);
    assert.match(readFileSync(join(out, 'plan.md'), 'utf8'), /^### Tally plan: 0 changed, 0 new, 0 removed, \d+ unchanged/);
    const file = join(project, 'definitions', 'segments.yaml');
    writeFileSync(file, readFileSync(file, 'utf8').replace('{ property: amount, gte: 100 }], gte: 2 }', '{ property: amount, gte: 150 }], gte: 2 }'));
    const changed = await run('pr', env);
    assert.equal(changed.code, 1);
    const plan = readFileSync(join(out, 'plan.md'), 'utf8');
    assert.match(plan, /Deploy would be refused: 1 error/);
    assert.match(plan, /\| ❌ \| segment `big_spenders` \| v1 \(deployed v1\) \| \d+ → \d+ members/);
  });
});
