// `tally run`, `tally report` and `tally preview campaign` through the CLI (in-process, as a user
// runs them), on the hand-built timeline of campaign.test.ts, on PGlite (a database folder) and
// PostgreSQL: JSON shapes of the contract, exports, exit codes, one-line errors without stacks.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { CAMPAIGNS, loadTimeline, MODEL, SEGMENTS, writeProject } from './helpers/campaign-fixture.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-campaign-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

forEachBackend('cli: run, report, preview campaign', (backend) => {
  let testDb: TestDb | undefined;
  let url = '';
  let project = '';

  before(async function () {
    this.timeout(120_000);
    project = writeProject(join(TMP, `p-${backend}`), { 'model.yaml': MODEL, 'segments.yaml': SEGMENTS, 'campaigns.yaml': CAMPAIGNS });
    if (backend === 'pglite') {
      url = `pglite:${join(TMP, 'db')}`;
      const db = await connect(url, { baseDir: TMP });
      await loadTimeline(db);
      await db.close();
    } else {
      testDb = await createTestDb('postgres');
      url = testDb.url;
      await loadTimeline(testDb.db);
    }
  });
  after(async () => {
    await testDb?.drop();
  });

  const tally = (argv: string[]): Promise<Run> => runTally([...argv, '--project', project, '--db', url], { cwd: TMP, env: { USER: 'tester' } });
  const clean = (r: Run) => assert.doesNotMatch(r.out + r.err, STACK);

  it('preview campaign NAME --format json: audience, per-variant split, hold-backs', async () => {
    const r = await tally(['preview', 'campaign', 'promo', '--as-of', '2026-01-02', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const p = JSON.parse(r.out);
    assert.equal(p.kind, 'campaign');
    assert.equal(p.name, 'promo');
    assert.equal(p.audience, 2);
    assert.equal(p.segment, 3);
    assert.deepEqual(
      p.variants.map((v: { name: string; count: number; holdout: boolean }) => [v.name, v.count, v.holdout]),
      [
        ['control', 1, true],
        ['offer', 1, false],
      ],
    );
    assert.deepEqual(p.held_back, { exclusions: 1, schedule: 0, trigger: 0, entry: 0, frequency_cap: 0 });
    const text = await tally(['preview', 'campaign', 'promo', '--as-of', '2026-01-02']);
    assert.equal(text.code, 0);
    assert.match(text.out, /campaign promo \(email\): a run now would enroll 2 of 3 in the segment/);
  });

  it('run before deploy: refused (exit 1), each undeployed definition named at its place; nothing written', async () => {
    const r = await tally(['run', '--as-of', '2026-01-01']);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.err, /definitions\/campaigns\.yaml:\d+:7: error \[not-deployed\] campaign 'promo' is not deployed; a run enrolls what is deployed: deploy it first/);
    assert.match(r.err, /tally run refused: the working copy differs from what is deployed/);
    const j = await tally(['run', '--as-of', '2026-01-01', '--format', 'json']);
    assert.equal(j.code, 1);
    const out = JSON.parse(j.out);
    assert.equal(out.refused, true);
    assert.ok(out.diagnostics.some((d: { code: string; file: string }) => d.code === 'not-deployed' && d.file === 'definitions/segments.yaml'));
    assert.deepEqual(out.campaigns.map((c: { status: string }) => c.status), ['refused', 'refused', 'refused']);
    clean(r);
    const deployed = await tally(['deploy']);
    assert.equal(deployed.code, 0, deployed.out + deployed.err);
  });

  it('run --format json, then --export csv / jsonl of the new outbox rows; a re-run adds nothing', async () => {
    const first = await tally(['run', '--as-of', '2026-01-01', '--format', 'json']);
    assert.equal(first.code, 0, first.err);
    const j = JSON.parse(first.out);
    assert.deepEqual(
      j.campaigns.map((c: { campaign: string; status: string; enrolled: number; sent: number }) => [c.campaign, c.status, c.enrolled, c.sent]),
      [
        ['cart', 'enrolled', 1, 1],
        ['newsletter', 'enrolled', 4, 4],
        ['promo', 'outside-schedule', 0, 0],
      ],
    );
    const csv = join(TMP, `out-${backend}.csv`);
    const second = await tally(['run', '--as-of', '2026-01-02', '--export', 'csv', csv]);
    assert.equal(second.code, 0, second.err);
    assert.match(second.out, /promo \(v1, email\): enrolled 2 of 3 in the segment, 1 to send/);
    assert.match(second.out, /held back: exclusions 1/);
    assert.match(second.out, /outbox: 1 row written to/);
    assert.equal(readFileSync(csv, 'utf8'), 'run_id,campaign,version,channel,variant,entity_key,enrolled_at\n' + `${JSON.parse((await tally(['run', '--as-of', '2026-01-02', '--format', 'json'])).out).campaigns.find((c: { campaign: string }) => c.campaign === 'promo').run_id},promo,1,email,offer,1,2026-01-02T00:00:00.000Z\n`);
    const jsonl = join(TMP, `out-${backend}.jsonl`);
    const third = await tally(['run', '--as-of', '2026-01-03', '--export', jsonl, '--format', 'json']);
    assert.equal(third.code, 0, third.err);
    const lines = readFileSync(jsonl, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    // Jan 3: cart 3 (nudge) and 4 (holdout: not exported), newsletter 2, 3, 4.
    assert.deepEqual(
      lines.map((l: { campaign: string; entity_key: string; variant: string }) => `${l.campaign}:${l.entity_key}:${l.variant}`),
      ['cart:3:nudge', 'newsletter:2:send', 'newsletter:3:send', 'newsletter:4:send'],
    );
    assert.deepEqual(Object.keys(lines[0]), ['run_id', 'campaign', 'version', 'channel', 'variant', 'entity_key', 'enrolled_at']);
    const again = await tally(['run', '--as-of', '2026-01-03', '--format', 'json']);
    assert.deepEqual(
      JSON.parse(again.out).campaigns.map((c: { status: string }) => c.status),
      ['already-run', 'already-run', 'already-run'],
    );
    assert.equal(JSON.parse(again.out).outbox, 0);
  });

  it('run: an instant before the latest run is refused with exit 1; --campaign runs one', async () => {
    const r = await tally(['run', '--as-of', '2026-01-02T12:00:00Z', '--campaign', 'cart']);
    assert.equal(r.code, 1);
    assert.match(r.out, /cart \(v1, push\): out of order: its latest run is at 2026-01-03T00:00:00.000Z/);
    const one = await tally(['run', '--as-of', '2026-01-04', '--campaign', 'newsletter', '--format', 'json']);
    assert.equal(one.code, 0, one.err);
    assert.deepEqual(
      JSON.parse(one.out).campaigns.map((c: { campaign: string; enrolled: number }) => [c.campaign, c.enrolled]),
      [['newsletter', 1]],
    );
  });

  it('report C --format json: the contract shape, with per-variant p-values and the SRM check', async () => {
    const r = await tally(['report', 'promo', '--as-of', '2026-01-10', '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.campaign, 'promo');
    assert.deepEqual(
      j.variants.map((v: { name: string; enrolled: number; converted: number; rate: number | null }) => [v.name, v.enrolled, v.converted, v.rate]),
      [
        ['control', 1, 0, 0],
        ['offer', 1, 1, 1],
      ],
    );
    // 1/1 vs 0/1: pooled p = 0.5, se = sqrt(0.25 * 2) = 0.7071, z = 1.4142, p = 0.1573.
    assert.ok(Math.abs(j.p_value - 0.15729920705028513) < 1e-6, String(j.p_value));
    assert.deepEqual(j.comparison, { treatment: 'offer', holdout: 'control' });
    assert.equal(j.variants[1].p_value, j.p_value);
    assert.equal(j.variants[0].p_value, null);
    assert.equal(j.srm.df, 1);
    assert.equal(j.srm.mismatch, false);
    const md = await tally(['report', 'promo', '--as-of', '2026-01-10', '--format', 'markdown']);
    assert.equal(md.code, 0);
    assert.match(md.out, /^### Campaign `promo` \(v1\)/);
    assert.match(md.out, /\| offer \| 1 \| 1 \| 100\.0% \|/);
    const text = await tally(['report', 'promo', '--as-of', '2026-01-10']);
    assert.match(text.out, /p-value \(offer vs control, two-sided pooled z-test\): 0\.1573/);
  });

  it('run after widening a segment without a bump: refused naming the segment and its line; report per version', async () => {
    const segments = join(project, 'definitions', 'segments.yaml');
    const original = readFileSync(segments, 'utf8');
    writeFileSync(segments, original.replace('{ attribute: country, eq: DE }', '{ attribute: country, in: [DE, FR] }'));
    try {
      const r = await tally(['run', '--as-of', '2026-01-05', '--campaign', 'promo']);
      assert.equal(r.code, 1, r.out + r.err);
      assert.match(r.err, /definitions\/segments\.yaml:7:7: error \[differs-from-deployed\] segment 'german' differs from what is deployed: its meaning in the working copy differs from the deployed version 1; campaign 'promo' enrolls through it/);
      assert.match(r.err, /name: german\n\s+\^+/);
      clean(r);
    } finally {
      writeFileSync(segments, original);
    }
    // A version 2 of promo (a longer schedule), deployed and run: the report spans versions 1 and 2.
    const campaigns = join(project, 'definitions', 'campaigns.yaml');
    writeFileSync(campaigns, readFileSync(campaigns, 'utf8').replace('name: promo\nversion: 1', 'name: promo\nversion: 2').replace('end: 2026-01-04', 'end: 2026-01-10'));
    assert.equal((await tally(['deploy'])).code, 0);
    const run = await tally(['run', '--as-of', '2026-01-06', '--campaign', 'promo', '--format', 'json']);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(JSON.parse(run.out).campaigns.map((c: { version: number; enrolled: number }) => [c.version, c.enrolled]), [[2, 1]]);
    const j = JSON.parse((await tally(['report', 'promo', '--as-of', '2026-01-10', '--format', 'json'])).out);
    assert.equal(j.spans_versions, true);
    assert.deepEqual(j.versions.map((v: { version: number; enrolled: number }) => [v.version, v.enrolled]), [[1, 2], [2, 1]]);
    const text = await tally(['report', 'promo', '--as-of', '2026-01-10']);
    assert.match(text.out, /^version 1: 2 enrolled · fingerprint [0-9a-f]{12} · p-value \(offer vs control\): 0\.1573$/m);
    assert.match(text.out, /^version 2: 1 enrolled · fingerprint [0-9a-f]{12}/m);
    assert.match(text.out, /note: the enrollments span versions 1 \(2\), 2 \(1\): the totals mix them/);
    const md = await tally(['report', 'promo', '--as-of', '2026-01-10', '--format', 'markdown']);
    assert.match(md.out, /^#### version 2: 1 enrolled/m);
  });

  it('errors: unknown campaign (exit 2, did you mean), bad flags (exit 2), no stack traces', async () => {
    const unknown = await tally(['report', 'promoo']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.err, /no campaign named 'promoo' \(did you mean 'promo'\?\)/);
    const unknownRun = await tally(['run', '--campaign', 'nope']);
    assert.equal(unknownRun.code, 2);
    assert.match(unknownRun.err, /no campaign named 'nope'/);
    const noName = await tally(['report']);
    assert.equal(noName.code, 2);
    assert.match(noName.err, /usage: tally report <campaign>/);
    const badExport = await tally(['run', '--export', 'xml', 'f.xml']);
    assert.equal(badExport.code, 2);
    assert.match(badExport.err, /--export 'xml': say csv or jsonl/);
    const noFile = await tally(['run', '--export', 'csv']);
    assert.equal(noFile.code, 2);
    const badFormat = await tally(['report', 'promo', '--format', 'xml']);
    assert.equal(badFormat.code, 2);
    for (const r of [unknown, unknownRun, noName, badExport, noFile, badFormat]) clean(r);
  });
});
