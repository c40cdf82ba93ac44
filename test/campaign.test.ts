// Campaigns (LANGUAGE.md §7) on PGlite and PostgreSQL: variant assignment in SQL equals the
// TypeScript rule key by key; enrollment on a hand-built timeline equals a hand-computed list
// (exclusions, schedule, trigger windows with a delay, entry `once` / `every`, frequency caps
// across campaigns on one channel, holdouts that are enrolled but not sent); running twice adds
// nothing; the history refuses UPDATE, DELETE and TRUNCATE and survives a version bump; reports
// count conversions in (enrolled_at, enrolled_at + within] and only up to T; previews; lints.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { Project } from '../engine/src/project.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { campaignDataLints, previewCampaign } from '../engine/src/campaign/campaign.js';
import { reportCampaign } from '../engine/src/campaign/report.js';
import { runCampaigns } from '../engine/src/campaign/run.js';
import { assignmentUnit, assignVariant, cumulativeShares, variantIndexFor } from '../engine/src/campaign/assign.js';
import { compileAssignmentUnits } from '../engine/src/sql/campaign.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { CAMPAIGNS, loadTimeline, MODEL, SEGMENTS, writeProject } from './helpers/campaign-fixture.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-campaign-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const day = (d: number, time = '00:00:00') => new Date(`2026-01-${String(d).padStart(2, '0')}T${time}Z`);

type Enrollment = { campaign: string; version: number; entity_key: string; variant: string; holdout: boolean; enrolled_at: string };

/** The hand-computed enrollments of daily runs Jan 1..5 (campaigns run in name order: cart, newsletter, promo). */
const EXPECTED: [string, number, string, string, boolean][] = [
  // cart: triggers with +1h delay; first run looks back one day; entry every 2d.
  ['cart', 1, '3', 'nudge', false],
  ['cart', 3, '3', 'nudge', false], // re-entry exactly 2d after Jan 1 is allowed
  ['cart', 3, '4', 'control', true],
  ['cart', 5, '1', 'nudge', false],
  // newsletter: everyone existing; cap 1 email per 2d across email campaigns.
  ['newsletter', 1, '1', 'send', false],
  ['newsletter', 1, '2', 'send', false],
  ['newsletter', 1, '3', 'send', false],
  ['newsletter', 1, '4', 'send', false],
  // Jan 2: all four capped (Jan 1's newsletter is in (Dec 31, Jan 2]).
  // Jan 3: 1 capped by promo's Jan 2 offer email; 4's promo was the holdout, which sends nothing.
  ['newsletter', 3, '2', 'send', false],
  ['newsletter', 3, '3', 'send', false],
  ['newsletter', 3, '4', 'send', false],
  // Jan 4: 2, 3, 4 capped by Jan 3; 1's last email (Jan 2) is out of (Jan 2, Jan 4].
  ['newsletter', 4, '1', 'send', false],
  // Jan 5: 1 capped by Jan 4; 5 exists now.
  ['newsletter', 5, '2', 'send', false],
  ['newsletter', 5, '3', 'send', false],
  ['newsletter', 5, '4', 'send', false],
  ['newsletter', 5, '5', 'send', false],
  // promo: Jan 2..4 (date-only end = through Jan 4); DE minus blocked = {1, 4}; entry once.
  ['promo', 2, '1', 'offer', false],
  ['promo', 2, '4', 'control', true],
];

async function enrollments(db: Db): Promise<Enrollment[]> {
  const r = await db.query<Enrollment>(`select campaign, version, entity_key, variant, holdout, enrolled_at from tally.campaign_enrollments order by campaign, enrolled_at, entity_key`);
  return r.rows.map((x) => ({ ...x, version: Number(x.version) }));
}

function expectedRows(version = 1): Enrollment[] {
  return EXPECTED.map(([campaign, d, entity_key, variant, holdout]) => ({ campaign, version, entity_key, variant, holdout, enrolled_at: day(d).toISOString() })).sort(
    (a, b) => (a.campaign < b.campaign ? -1 : a.campaign > b.campaign ? 1 : a.enrolled_at < b.enrolled_at ? -1 : a.enrolled_at > b.enrolled_at ? 1 : a.entity_key < b.entity_key ? -1 : 1),
  );
}

/** Keys for the SQL-vs-TypeScript comparison: numbers as text, unicode (NFC and NFD), emoji, separators, quotes, long. */
function assignmentKeys(): string[] {
  const keys: string[] = [];
  for (let i = 0; i < 1500; i++) keys.push(String(i));
  keys.push('-1', '007', '1e3', '3.14', '9223372036854775807', '18446744073709551616');
  keys.push('é', 'e\u0301', 'ß', 'Straße', '東京', '🙂', '👩‍👩‍👧', 'Ωμέγα', 'ñandú', '\u00a0', ' lead', 'trail ', 'a:b', ':', "o'brien", 'say "hi"', 'back\\slash', 'tab\tsep', 'new\nline', '');
  keys.push('x'.repeat(5000));
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let i = 0; i < 500; i++) {
    let s = '';
    const n = 1 + Math.floor(rnd() * 20);
    for (let j = 0; j < n; j++) s += String.fromCodePoint(rnd() < 0.7 ? 32 + Math.floor(rnd() * 95) : 0xa0 + Math.floor(rnd() * 0x2000));
    keys.push(s);
  }
  return keys;
}

forEachBackend('campaigns', (backend) => {
  let t: TestDb;
  let db: Db;
  let dir = '';

  const analysis = async (d = dir) => {
    const project = Project.load(d);
    const catalog = await loadCatalog(db, project.analyze({}).definitions);
    return project.analyze({ catalog, now: day(1) });
  };

  /** `tally deploy` of a project folder (a run enrolls what is deployed). */
  const deployDir = async (d: string) => {
    const r = await deploy(db, await analysis(d), { schema: 'tally', who: 'test' });
    assert.equal(r.refused, false, JSON.stringify(r.diagnostics));
    return r;
  };

  before(async function () {
    this.timeout(120_000);
    t = await createTestDb(backend);
    db = t.db;
    await loadTimeline(db);
    dir = writeProject(join(TMP, `project-${backend}`), { 'model.yaml': MODEL, 'segments.yaml': SEGMENTS, 'campaigns.yaml': CAMPAIGNS });
  });
  after(async () => {
    await t?.drop();
  });

  it('assignment: SQL computes the same u as TypeScript on every key, so the same variant for any weights', async () => {
    const keys = assignmentKeys();
    for (const campaign of ['winback_dormant', 'c', 'ünïcödé_campaign']) {
      const q = compileAssignmentUnits(campaign, keys);
      const rows = (await db.query<{ k: string; u: number }>(q.sql, q.parameters)).rows;
      assert.equal(rows.length, keys.length);
      let mismatches = 0;
      for (let i = 0; i < keys.length; i++) {
        assert.equal(rows[i]!.k, keys[i]);
        if (rows[i]!.u !== assignmentUnit(campaign, keys[i]!)) mismatches++;
      }
      assert.equal(mismatches, 0, `${campaign}: ${mismatches} keys differ`);
      for (const weights of [[10, 45, 45], [0.1, 0.2, 0.7], [1, 0, 2, 0], [1]]) {
        const shares = cumulativeShares(weights)!;
        const counts = weights.map(() => 0);
        for (const r of rows) counts[variantIndexFor(r.u, shares)]!++;
        for (let i = 0; i < weights.length; i++) if (weights[i] === 0) assert.equal(counts[i], 0, 'a zero weight gets nobody');
      }
    }
    // u is uniform enough: the 10/45/45 split of 2,000+ keys is within 3 points of the weights.
    const q = compileAssignmentUnits('winback_dormant', keys);
    const rows = (await db.query<{ k: string; u: number }>(q.sql, q.parameters)).rows;
    const share = rows.filter((r) => r.u < 0.1).length / rows.length;
    assert.ok(Math.abs(share - 0.1) < 0.03, String(share));
  });

  it('static lints: weights, holdouts and schedules', async () => {
    const bad = writeProject(join(TMP, `lints-${backend}`), {
      'model.yaml': MODEL,
      'segments.yaml': SEGMENTS,
      'c.yaml': `kind: Campaign
name: zero
version: 1
audience: { segment: anyone }
channel: sms
variants:
  - { name: a, weight: 0, holdout: true }
  - { name: b, weight: 0 }
---
kind: Campaign
name: big_holdout
version: 1
audience: { segment: anyone }
channel: sms
schedule: { start: 2026-02-01, end: 2026-01-31 }
variants:
  - { name: a, weight: 60, holdout: true }
  - { name: b, weight: 40 }
  - { name: b, weight: 1 }
---
kind: Campaign
name: no_holdout
version: 1
audience: { segment: anyone }
channel: sms
schedule: { start: 2026-02-01, end: 2026-02-01 }
variants:
  - { name: a, weight: 1 }
---
kind: Campaign
name: two_holdouts
version: 1
audience: { segment: anyone }
channel: sms
variants:
  - { name: a, weight: 1, holdout: true }
  - { name: b, weight: 1, holdout: true }
  - { name: c, weight: 8 }
`,
    });
    const a = Project.load(bad).analyze({ now: day(1) });
    const text = readFileSync(join(bad, 'definitions', 'c.yaml'), 'utf8');
    const at = (code: string) =>
      a.diagnostics
        .filter((d) => d.code === code)
        .map((d) => {
          const lines = text.split('\n');
          return `${d.severity}:${lines[d.range.start.line]!.slice(d.range.start.character, d.range.end.line === d.range.start.line ? d.range.end.character : undefined)}`;
        });
    assert.deepEqual(at('bad-weights'), ['error:- { name: a, weight: 0, holdout: true }']);
    assert.deepEqual(at('holdout-too-large'), ['warning:{ name: a, weight: 60, holdout: true }']);
    assert.deepEqual(at('duplicate-variant'), ['error:b']);
    assert.deepEqual(at('schedule-ends-before-start'), ['error:2026-01-31']);
    assert.deepEqual(at('no-holdout'), ['warning:- { name: a, weight: 1 }']);
    assert.deepEqual(at('multiple-holdouts'), ['error:b']);
    // A one-day schedule (date-only start = end) is fine; the clean project has only its known warning.
    const clean = await analysis();
    assert.deepEqual(
      clean.diagnostics.map((d) => `${d.severity}:${d.code}`),
      ['warning:no-holdout'],
    );
  });

  it('run: a campaign that was never deployed is refused, with a diagnostic at it; nothing is written', async () => {
    const a = await analysis();
    const r = await runCampaigns(db, a, { asOf: day(1), who: 'test' });
    assert.equal(r.refused, true);
    assert.deepEqual(
      r.campaigns.map((c) => `${c.campaign}:${c.status}`),
      ['cart:refused', 'newsletter:refused', 'promo:refused'],
    );
    const text = readFileSync(join(dir, 'definitions', 'campaigns.yaml'), 'utf8').split('\n');
    const named = r.diagnostics.map((d) => `${d.code}:${d.file}:${text[d.range.start.line]!.slice(d.range.start.character, d.range.end.character)}`);
    // The campaign files' definitions: every dependency (entity, events, segments) is undeployed too.
    assert.ok(named.includes('not-deployed:definitions/campaigns.yaml:promo'), named.join(' '));
    assert.ok(r.diagnostics.some((d) => d.code === 'not-deployed' && /segment 'german' is not deployed; campaign 'promo' enrolls through it/.test(d.message)));
    assert.ok(r.diagnostics.every((d) => d.severity === 'error' && /tally deploy/.test(d.message)));
    assert.equal(r.outbox.length, 0);
    assert.equal(Number((await db.query<{ n: number }>(`select count(*) as n from tally.campaign_runs`)).rows[0]!.n), 0);
  });

  it('run: daily runs Jan 1..5 enroll exactly the hand-computed list; holdouts are enrolled, not sent', async function () {
    this.timeout(120_000);
    const a = await analysis();
    await deployDir(dir);
    const statuses: string[] = [];
    for (let d = 1; d <= 5; d++) {
      const r = await runCampaigns(db, a, { asOf: day(d), who: 'test' });
      statuses.push(r.campaigns.map((c) => `${c.campaign}:${c.status}:${c.enrolled}`).join(' '));
      // Every outbox row of this run is a non-holdout enrollment of this run.
      for (const o of r.outbox) assert.equal(o.enrolled_at, day(d).toISOString());
      assert.equal(r.outbox.length, r.campaigns.reduce((s, c) => s + c.sent, 0));
    }
    assert.deepEqual(statuses, [
      'cart:enrolled:1 newsletter:enrolled:4 promo:outside-schedule:0',
      'cart:enrolled:0 newsletter:enrolled:0 promo:enrolled:2',
      'cart:enrolled:2 newsletter:enrolled:3 promo:enrolled:0',
      'cart:enrolled:0 newsletter:enrolled:1 promo:enrolled:0',
      'cart:enrolled:1 newsletter:enrolled:4 promo:outside-schedule:0',
    ]);
    assert.deepEqual(await enrollments(db), expectedRows());
    // Each enrollment and run records the deployed fingerprint it was computed with.
    const fps = (await db.query<{ campaign: string; fingerprint: string | null }>(`select distinct campaign, fingerprint from tally.campaign_enrollments union select distinct campaign, fingerprint from tally.campaign_runs order by 1`)).rows;
    assert.deepEqual(
      fps.map((f) => [f.campaign, f.fingerprint]),
      ['cart', 'newsletter', 'promo'].map((n) => [n, a.get('Campaign', n)!.fingerprint]),
    );
    // The variants are the TypeScript rule's.
    for (const e of await enrollments(db)) {
      const def = { cart: ['control', 'nudge'], newsletter: ['send'], promo: ['control', 'offer'] }[e.campaign as 'cart']!;
      const w = { cart: [1, 3], newsletter: [1], promo: [1, 1] }[e.campaign as 'cart']!;
      assert.equal(e.variant, def[assignVariant(e.campaign, e.entity_key, w)]);
    }
    const outbox = (await db.query<{ campaign: string; entity_key: string; enrolled_at: string }>(`select campaign, entity_key, enrolled_at from tally.campaign_outbox order by campaign, enrolled_at, entity_key`)).rows;
    assert.deepEqual(
      outbox.map((o) => `${o.campaign}:${o.enrolled_at.slice(8, 10)}:${o.entity_key}`),
      expectedRows()
        .filter((e) => !e.holdout)
        .map((e) => `${e.campaign}:${e.enrolled_at.slice(8, 10)}:${e.entity_key}`),
    );
  });

  it('preview: hold-back reasons are counted in order (exclusions, schedule incl. a date-only end, entry, cap)', async () => {
    // Read back from runs already made: replaying is refused, so preview the same instants instead.
    const a = await analysis();
    const p = await previewCampaign(db, a, 'promo', { asOf: day(4, '12:00:00') });
    assert.equal(p.scheduled, true);
    assert.deepEqual({ segment: p.segment, audience: p.audience, held: p.held_back }, { segment: 3, audience: 0, held: { exclusions: 1, schedule: 0, trigger: 0, entry: 2, frequency_cap: 0 } });
    const late = await previewCampaign(db, a, 'promo', { asOf: day(5) });
    assert.equal(late.scheduled, false);
    assert.equal(late.held_back.schedule, 3, 'members 1, 4, 5 are outside the schedule');
    assert.ok(late.warnings.some((w) => /outside the schedule/.test(w)));
    const endOfDay = await previewCampaign(db, a, 'promo', { asOf: day(4, '23:59:59') });
    assert.equal(endOfDay.scheduled, true, 'a date-only end includes that whole day');
    const nl = await previewCampaign(db, a, 'newsletter', { asOf: day(6) });
    // Jan 6: cap window (Jan 4, Jan 6]: 2, 3, 4, 5 emailed Jan 5 -> capped; 1 emailed Jan 4 -> free.
    assert.deepEqual({ audience: nl.audience, held: nl.held_back, variants: nl.variants.map((v) => [v.name, v.count]) }, { audience: 1, held: { exclusions: 0, schedule: 0, trigger: 0, entry: 0, frequency_cap: 4 }, variants: [['send', 1]] });
  });

  it('run: twice at the same T adds nothing; an earlier T is refused (out of order)', async () => {
    const a = await analysis();
    const before = await enrollments(db);
    const again = await runCampaigns(db, a, { asOf: day(5) });
    assert.deepEqual(
      again.campaigns.map((c) => `${c.campaign}:${c.status}`),
      ['cart:already-run', 'newsletter:already-run', 'promo:outside-schedule'],
    );
    assert.equal(again.outbox.length, 0);
    const earlier = await runCampaigns(db, a, { asOf: day(3, '12:00:00'), campaign: 'cart' });
    assert.equal(earlier.campaigns[0]!.status, 'out-of-order');
    assert.deepEqual(await enrollments(db), before);
    const runs = (await db.query<{ n: number }>(`select count(*) as n from tally.campaign_runs`)).rows[0]!.n;
    assert.equal(Number(runs), 5 + 5 + 3, 'cart and newsletter ran 5 times, promo 3 (Jan 2..4)');
  });

  it('history: UPDATE, DELETE and TRUNCATE raise on runs, enrollments and the outbox', async () => {
    for (const table of ['campaign_runs', 'campaign_enrollments', 'campaign_outbox']) {
      for (const stmt of [`update tally.${table} set campaign = 'x'`, `delete from tally.${table}`, `truncate tally.${table} cascade`]) {
        await assert.rejects(db.query(stmt), /append-only/, stmt);
      }
    }
    assert.deepEqual(await enrollments(db), expectedRows());
  });

  it('run: a segment widened without a version bump is refused, naming the segment and where; nothing is written', async () => {
    const wide = writeProject(join(TMP, `project-wide-${backend}`), {
      'model.yaml': MODEL,
      'segments.yaml': SEGMENTS.replace('{ attribute: country, eq: DE }', '{ attribute: country, in: [DE, FR] }'),
      'campaigns.yaml': CAMPAIGNS,
    });
    const before = await enrollments(db);
    const runsBefore = (await db.query<{ n: number }>(`select count(*) as n from tally.campaign_runs`)).rows[0]!.n;
    for (const only of ['promo', undefined]) {
      const r = await runCampaigns(db, await analysis(wide), { asOf: day(6), campaign: only });
      assert.equal(r.refused, true);
      assert.equal(r.diagnostics.length, 1, JSON.stringify(r.diagnostics));
      const d = r.diagnostics[0]!;
      assert.equal(d.code, 'differs-from-deployed');
      assert.equal(d.file, 'definitions/segments.yaml');
      const line = readFileSync(join(wide, 'definitions', 'segments.yaml'), 'utf8').split('\n')[d.range.start.line]!;
      assert.equal(line.slice(d.range.start.character, d.range.end.character), 'german');
      assert.match(d.message, /segment 'german' differs from what is deployed: its meaning in the working copy differs from the deployed version 1; campaign 'promo' enrolls through it/);
      assert.match(r.campaigns.find((c) => c.campaign === 'promo')!.message!, /segment 'german'/);
    }
    // A bumped, undeployed segment is refused too (the version differs).
    const bumped = writeProject(join(TMP, `project-bumped-${backend}`), {
      'model.yaml': MODEL,
      'segments.yaml': SEGMENTS.replace('name: german\nversion: 1', 'name: german\nversion: 2').replace('{ attribute: country, eq: DE }', '{ attribute: country, in: [DE, FR] }'),
      'campaigns.yaml': CAMPAIGNS.replace('name: promo\nversion: 1', 'name: promo\nversion: 2'),
    });
    const b = await runCampaigns(db, await analysis(bumped), { asOf: day(6), campaign: 'promo' });
    assert.equal(b.refused, true);
    assert.deepEqual(
      b.diagnostics.map((x) => x.code + ':' + /^(\w+ '\w+')/.exec(x.message)![1]),
      ['differs-from-deployed:segment \'german\'', 'differs-from-deployed:campaign \'promo\''],
    );
    assert.deepEqual(await enrollments(db), before);
    assert.equal((await db.query<{ n: number }>(`select count(*) as n from tally.campaign_runs`)).rows[0]!.n, runsBefore);
  });

  it('history: a version bump with new weights enrolls new rows with the new version and rewrites nothing', async () => {
    const v2 = join(TMP, `project-v2-${backend}`);
    writeProject(v2, {
      'model.yaml': MODEL,
      'segments.yaml': SEGMENTS,
      'campaigns.yaml': CAMPAIGNS.replace('name: promo\nversion: 1', 'name: promo\nversion: 2')
        .replace('end: 2026-01-04', 'end: 2026-01-10')
        .replace('{ name: offer, weight: 1 }', '{ name: offer, weight: 3 }'),
    });
    const before = await enrollments(db);
    // Not deployed yet: refused (the working copy says version 2, version 1 is deployed).
    const early = await runCampaigns(db, await analysis(v2), { asOf: day(6), campaign: 'promo' });
    assert.equal(early.refused, true);
    assert.match(early.diagnostics[0]!.message, /campaign 'promo' differs from what is deployed/);
    await deployDir(v2);
    const r = await runCampaigns(db, await analysis(v2), { asOf: day(6), campaign: 'promo' });
    assert.equal(r.campaigns[0]!.status, 'enrolled');
    assert.equal(r.campaigns[0]!.version, 2);
    assert.equal(r.campaigns[0]!.fingerprint, (await analysis(v2)).get('Campaign', 'promo')!.fingerprint);
    const after = await enrollments(db);
    assert.deepEqual(
      after.filter((e) => !before.some((b) => b.campaign === e.campaign && b.entity_key === e.entity_key && b.enrolled_at === e.enrolled_at)),
      [{ campaign: 'promo', version: 2, entity_key: '5', variant: ['control', 'offer'][assignVariant('promo', '5', [1, 3])]!, holdout: assignVariant('promo', '5', [1, 3]) === 0, enrolled_at: day(6).toISOString() }],
      'only customer 5 is new (1 and 4 entered once already)',
    );
    assert.deepEqual(
      after.filter((e) => e.enrolled_at !== day(6).toISOString()),
      before,
      'earlier rows are unchanged',
    );
  });

  it('report: conversions in (enrolled_at, enrolled_at + within], events up to T only', async () => {
    const a = await analysis();
    const r = await reportCampaign(db, a, 'promo', { asOf: day(10) });
    const v = Object.fromEntries(r.variants.map((x) => [x.name, x]));
    // offer: customer 1 (Jan 2), purchase at exactly Jan 4 00:00 counts; the one at Jan 2 00:00 does not.
    // control: customer 4 (Jan 2, holdout), purchase 1 s after the window; customer 5 (Jan 6, if control).
    const fiveIsControl = assignVariant('promo', '5', [1, 3]) === 0;
    assert.equal(v.offer!.enrolled, fiveIsControl ? 1 : 2);
    assert.equal(v.offer!.converted, 1);
    assert.equal(v.control!.enrolled, fiveIsControl ? 2 : 1);
    assert.equal(v.control!.converted, 0);
    assert.equal(r.holdout, 'control');
    assert.equal(r.comparison?.treatment, 'offer');
    // The enrollments span versions 1 (Jan 2: 1 offer, 4 control) and 2 (Jan 6: customer 5): said, and reported per version.
    assert.equal(r.spans_versions, true);
    assert.match(r.notes[0]!, /span versions 1 \(2\), 2 \(1\)/);
    assert.deepEqual(
      r.versions.map((x) => [x.version, x.enrolled, x.fingerprints.length, x.variants.map((y) => [y.name, y.enrolled, y.converted])]),
      [
        [1, 2, 1, [['control', 1, 0], ['offer', 1, 1]]],
        [2, 1, 1, [['control', fiveIsControl ? 1 : 0, 0], ['offer', fiveIsControl ? 0 : 1, 0]]],
      ],
    );
    assert.notEqual(r.versions[0]!.fingerprints[0], r.versions[1]!.fingerprints[0]);
    assert.ok(Math.abs(r.versions[0]!.p_value! - 0.15729920705028513) < 1e-9, 'version 1: 1/1 vs 0/1');
    // Before the purchase happened (T = Jan 3 12:00) nobody has converted and both windows are open.
    const early = await reportCampaign(db, a, 'promo', { asOf: day(3, '12:00:00') });
    assert.deepEqual(
      early.variants.map((x) => [x.name, x.enrolled, x.converted, x.open]),
      [
        ['control', 1, 0, 1],
        ['offer', 1, 0, 1],
      ],
    );
    assert.equal(early.p_value, 1, 'both 0%: no difference, p = 1');
    // The contract's JSON fields.
    for (const x of r.variants) for (const k of ['name', 'enrolled', 'converted', 'rate']) assert.ok(k in x, k);
    assert.ok('p_value' in r && r.campaign === 'promo');
  });

  it('report: nobody enrolled gives nulls and a note, never NaN', async () => {
    const a = await analysis();
    const r = await reportCampaign(db, a, 'promo', { asOf: new Date('2025-12-01T00:00:00Z') });
    assert.deepEqual(
      r.variants.map((x) => [x.name, x.enrolled, x.converted, x.rate, x.interval, x.p_value]),
      [
        ['control', 0, 0, null, null, null],
        ['offer', 0, 0, null, null, null],
      ],
    );
    assert.equal(r.p_value, null);
    assert.equal(r.srm, null);
    assert.ok(r.notes.some((n) => /nobody is enrolled/.test(n)));
    assert.doesNotMatch(JSON.stringify(r), /NaN|Infinity/);
  });

  it('data lints: an empty audience is a warning at the audience segment', async () => {
    const empty = writeProject(join(TMP, `empty-${backend}`), {
      'model.yaml': MODEL,
      'segments.yaml': SEGMENTS + '---\nkind: Segment\nname: nobody\nversion: 1\nwhere: { attribute: country, eq: XX }\n',
      'campaigns.yaml': CAMPAIGNS.replace('audience: { segment: anyone }\nchannel: email', 'audience: { segment: nobody }\nchannel: email'),
    });
    const lints = await campaignDataLints(db, await analysis(empty), day(3));
    assert.deepEqual(
      lints.map((d) => [d.code, d.severity, d.file]),
      [['empty-audience', 'warning', 'definitions/campaigns.yaml']],
    );
    const line = readFileSync(join(empty, 'definitions', 'campaigns.yaml'), 'utf8').split('\n')[lints[0]!.range.start.line]!;
    assert.equal(line.slice(lints[0]!.range.start.character, lints[0]!.range.end.character), 'nobody');
    assert.deepEqual(await campaignDataLints(db, await analysis(), day(3)), []);
  });
});
