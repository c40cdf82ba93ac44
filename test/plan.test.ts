// `tally plan` (LANGUAGE.md §8–§9): per definition new/changed/unchanged/removed with the version
// move, and the impact measured as of T. Every number is checked against an independent oracle:
// each side's member keys (or values) fetched on their own from a copy of the project as it was
// deployed and from the edited copy, compared in plain JavaScript.
//
// Data: the example shop (200 customers) in a throwaway database, on PGlite and PostgreSQL.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { Project } from '../engine/src/project.js';
import { preview, type KpiPreview, type LifecyclePreview, type SegmentPreview } from '../engine/src/preview/preview.js';
import { compileMembers, compileValues } from '../engine/src/sql/compile.js';
import { previewCampaign } from '../engine/src/campaign/campaign.js';
import { forEachBackend } from './helpers/databases.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { copyShop as copyShopInto, edit as editFile, useShop } from './helpers/shop.js';

const SEGMENTS = 'definitions/segments.yaml';
const LIFECYCLE = 'definitions/lifecycle.yaml';
const KPIS = 'definitions/kpis.yaml';
const AS_OF = '2026-11-01T12:00:00Z';
const T = new Date(AS_OF);

const TMP = mkdtempSync(join(tmpdir(), 'tally-plan-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const copyShop = (name: string) => copyShopInto(TMP, name);
const edit = (project: string, file: string, from: string | RegExp, to: string) => editFile(join(project, file), from, to);

interface JsonChange {
  kind: string;
  name: string;
  status: string;
  version: number;
  deployed_version: number | null;
  via: string[];
  affects: string[];
  errors: string[];
  impact: null | { k: string; before: unknown; after: unknown; entering?: number; leaving?: number; moved?: number; changed?: number; error?: string };
}
interface JsonPlan {
  refused: boolean;
  summary: Record<string, number>;
  changes: JsonChange[];
  diagnostics: { file: string; code: string; range: { start: { line: number } } }[];
}

forEachBackend('plan', (backend) => {
  let project = '';
  let deployedCopy = '';
  const shop = useShop(backend, TMP, () => {
    project = copyShop(`shop-${backend}`);
    deployedCopy = copyShop(`deployed-${backend}`);
    return project;
  });
  const withDb = <T>(fn: (db: Db) => Promise<T>) => shop.withDb(fn);

  function tally(argv: string[], dir = project): Promise<Run> {
    return runTally([...argv, '--project', dir, '--db', shop.url], { cwd: dir });
  }

  async function plan(extra: string[] = []): Promise<{ run: Run; json: JsonPlan }> {
    const run = await tally(['plan', '--as-of', AS_OF, '--format', 'json', ...extra]);
    assert.doesNotMatch(run.err, STACK);
    return { run, json: JSON.parse(run.out) as JsonPlan };
  }

  const change = (p: JsonPlan, kind: string, name: string) => {
    const c = p.changes.find((x) => x.kind === kind && x.name === name);
    assert.ok(c, `${kind} ${name} in the plan`);
    return c;
  };

  /** The oracle's member keys of a segment in a project folder, as of T. */
  async function memberKeys(dir: string, name: string): Promise<Set<string>> {
    const analysis = Project.load(dir).analyze();
    const q = analysis.get('Segment', name)!.resolved.query!;
    assert.equal(q.k, 'members');
    const c = compileMembers(q as never, { asOf: { kind: 'instant', at: T }, literals: 'param' });
    return withDb(async (db) => new Set((await db.query<{ key: unknown }>(c.sql, c.parameters)).rows.map((r) => String(r.key))));
  }

  async function stageOf(dir: string, name: string): Promise<Map<string, string | null>> {
    const analysis = Project.load(dir).analyze();
    const q = analysis.get('Lifecycle', name)!.resolved.query!;
    const c = compileValues(q as never, { asOf: { kind: 'instant', at: T }, literals: 'param' });
    return withDb(async (db) => new Map((await db.query<{ key: unknown; value: string | null }>(c.sql, c.parameters)).rows.map((r) => [String(r.key), r.value])));
  }

  it('before any deploy: every definition is new, with its size as of T; nothing is written', async function () {
    this.timeout(120_000);
    const { run, json } = await plan();
    assert.equal(run.code, 0, run.err);
    assert.equal(json.refused, false);
    assert.equal(json.summary.changed + json.summary.unchanged + json.summary.removed, 0);
    assert.ok(json.summary.new > 40);
    const analysis = Project.load(project).analyze();
    await withDb(async (db) => {
      for (const name of ['big_spenders', 'dach', 'champions']) {
        const p = (await preview(db, analysis, 'segment', name, { asOf: T, sampleSize: 0 })) as SegmentPreview;
        assert.deepEqual(change(json, 'segment', name).impact, { k: 'segment', before: null, after: p.count, entering: p.count, leaving: 0 });
      }
      const lc = (await preview(db, analysis, 'lifecycle', 'customer_lifecycle', { asOf: T })) as LifecyclePreview;
      assert.deepEqual(change(json, 'lifecycle', 'customer_lifecycle').impact!.after, lc.stages);
      // Read-only: no deploy schema was created.
      assert.equal((await db.query<{ t: string | null }>(`select to_regclass('tally.deploys')::text as t`)).rows[0]!.t, null);
    });
  });

  it('deploy, then plan: no changes', async function () {
    this.timeout(120_000);
    const d = await tally(['deploy']);
    assert.equal(d.code, 0, d.err);
    const { run, json } = await plan();
    assert.equal(run.code, 0);
    assert.deepEqual({ ...json.summary, unchanged: 0 }, { new: 0, changed: 0, removed: 0, unchanged: 0 });
    const text = await tally(['plan', '--as-of', AS_OF]);
    assert.equal(text.code, 0);
    assert.match(text.out, /no changes: deploy would write nothing/);
  });

  it('a changed segment: members before and after, entering and leaving, equal the oracle', async function () {
    this.timeout(120_000);
    edit(project, SEGMENTS, '{ property: amount, gte: 100 }], gte: 2 }', '{ property: amount, gte: 60 }], gte: 3 }');
    edit(project, SEGMENTS, /name: big_spenders\nversion: 1/, 'name: big_spenders\nversion: 2');
    const { run, json } = await plan();
    assert.equal(run.code, 0, run.err);
    const before = await memberKeys(deployedCopy, 'big_spenders');
    const after = await memberKeys(project, 'big_spenders');
    const entering = [...after].filter((k) => !before.has(k)).length;
    const leaving = [...before].filter((k) => !after.has(k)).length;
    assert.ok(entering + leaving > 0, 'the edit moves someone');
    const c = change(json, 'segment', 'big_spenders');
    assert.equal(c.status, 'changed');
    assert.equal(c.deployed_version, 1);
    assert.equal(c.version, 2);
    assert.deepEqual(c.impact, { k: 'segment', before: before.size, after: after.size, entering, leaving });
    // Only this definition changed.
    assert.deepEqual(
      json.changes.filter((x) => x.status !== 'unchanged').map((x) => `${x.kind} ${x.name}`),
      ['segment big_spenders'],
    );
    const md = await tally(['plan', '--as-of', AS_OF, '--format', 'markdown']);
    assert.equal(md.code, 0);
    assert.match(md.out, new RegExp(`\\| ~ \\| segment \`big_spenders\` \\| v1 → v2 \\| ${before.size} → ${after.size} members \\(\\+${entering} / −${leaving}\\) \\|`));
    assert.match(md.out, /<details><summary>Details<\/summary>/);
  });

  it('a changed lifecycle: both distributions and the entities that move stage equal the oracle; dependents are listed', async function () {
    this.timeout(120_000);
    edit(project, LIFECYCLE, '{ name: dormant, where: { not: { stream: events, within: 30d } } }', '{ name: dormant, where: { not: { stream: events, within: 21d } } }');
    edit(project, LIFECYCLE, /name: customer_lifecycle\nversion: 1/, 'name: customer_lifecycle\nversion: 2');
    const { json } = await plan();
    const before = await stageOf(deployedCopy, 'customer_lifecycle');
    const after = await stageOf(project, 'customer_lifecycle');
    const dist = (m: Map<string, string | null>) => {
      const out: Record<string, number> = { new: 0, churned: 0, dormant: 0, active: 0 };
      for (const v of m.values()) if (v !== null) out[v]!++;
      return out;
    };
    let moved = 0;
    for (const k of new Set([...before.keys(), ...after.keys()])) if (before.get(k) !== after.get(k)) moved++;
    assert.ok(moved > 0);
    const c = change(json, 'lifecycle', 'customer_lifecycle');
    assert.deepEqual(c.impact, { k: 'lifecycle', before: dist(before), after: dist(after), moved });
    // Everything that depends on the lifecycle changes meaning too, and says through what.
    const dormant = change(json, 'segment', 'dormant_customers');
    assert.equal(dormant.status, 'changed');
    assert.deepEqual(dormant.via, ['lifecycle customer_lifecycle']);
    assert.ok(c.affects.includes('segment dormant_customers'));
    // Its version was not bumped: the plan says deploy would refuse, at the version line.
    assert.equal(json.refused, true);
    assert.ok(dormant.errors.some((e) => /set `version: 2`/.test(e)));
    const d = json.diagnostics.find((x) => x.code === 'version-not-bumped' && x.file === SEGMENTS);
    assert.ok(d);
    assert.equal(d.file, SEGMENTS);
    const run = await tally(['plan', '--as-of', AS_OF]);
    assert.equal(run.code, 1);
    assert.match(run.err, /version-not-bumped/);
    // Riskiest first: refused changes lead.
    assert.ok(json.changes[0]!.errors.length > 0);
    edit(project, LIFECYCLE, '{ name: dormant, where: { not: { stream: events, within: 21d } } }', '{ name: dormant, where: { not: { stream: events, within: 30d } } }');
    edit(project, LIFECYCLE, /name: customer_lifecycle\nversion: 2/, 'name: customer_lifecycle\nversion: 1');
  });

  it('a changed trait: values before and after, and how many change, equal the oracle', async function () {
    this.timeout(120_000);
    const PROFILE = 'definitions/profile.yaml';
    edit(project, PROFILE, 'compute: { event: purchase, sum: amount }', 'compute: { event: purchase, within: 180d, sum: amount }');
    edit(project, PROFILE, /name: lifetime_value\nversion: 1/, 'name: lifetime_value\nversion: 2');
    const { json } = await plan();
    const values = async (dir: string) => {
      const q = Project.load(dir).analyze().get('Trait', 'lifetime_value')!.resolved.query!;
      const c = compileValues(q as never, { asOf: { kind: 'instant', at: T }, literals: 'param' });
      return withDb(async (db) => new Map((await db.query<{ key: unknown; value: unknown }>(c.sql, c.parameters)).rows.map((r) => [String(r.key), r.value === null ? null : Number(r.value)])));
    };
    const a = await values(deployedCopy);
    const b = await values(project);
    const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).length;
    const nonNull = (m: Map<string, number | null>) => [...m.values()].filter((v) => v !== null).length;
    assert.ok(changed > 0);
    assert.deepEqual(change(json, 'trait', 'lifetime_value').impact, { k: 'values', before: nonNull(a), after: nonNull(b), changed, entities: new Set([...a.keys(), ...b.keys()]).size });
    edit(project, PROFILE, 'compute: { event: purchase, within: 180d, sum: amount }', 'compute: { event: purchase, sum: amount }');
    edit(project, PROFILE, /name: lifetime_value\nversion: 2/, 'name: lifetime_value\nversion: 1');
  });

  it('a campaign whose audience segment changes: changed through it, with who a run would enroll under each version', async function () {
    this.timeout(120_000);
    const saved = readFileSync(join(project, SEGMENTS), 'utf8');
    edit(project, SEGMENTS, /name: high_value_dormant\nversion: 1\n([^]*?)gte: 200 \}/, 'name: high_value_dormant\nversion: 2\n$1gte: 100 }');
    const { json } = await plan();
    const c = change(json, 'campaign', 'winback_dormant');
    assert.equal(c.status, 'changed');
    assert.deepEqual(c.via, ['segment high_value_dormant']);
    assert.ok(change(json, 'segment', 'high_value_dormant').affects.includes('campaign winback_dormant'));
    const audience = async (dir: string) => {
      const analysis = Project.load(dir).analyze();
      return withDb(async (db) => (await previewCampaign(db, analysis, 'winback_dormant', { asOf: T })).audience);
    };
    assert.deepEqual(c.impact, { k: 'campaign', before: await audience(deployedCopy), after: await audience(project) });
    assert.equal(typeof c.impact!.before, 'number');
    writeFileSync(join(project, SEGMENTS), saved);
  });

  it('a changed KPI: value and status before and after equal previews of each side', async function () {
    this.timeout(120_000);
    edit(project, KPIS, 'sum: { property: amount, event: purchase, within: 30d }', 'sum: { property: amount, event: purchase, within: 60d }');
    edit(project, KPIS, /name: revenue_30d\nversion: 1/, 'name: revenue_30d\nversion: 2');
    const { json } = await plan();
    const side = async (dir: string) => {
      const analysis = Project.load(dir).analyze();
      return withDb(async (db) => (await preview(db, analysis, 'kpi', 'revenue_30d', { asOf: T })) as KpiPreview);
    };
    const a = await side(deployedCopy);
    const b = await side(project);
    assert.notEqual(a.value, b.value);
    assert.deepEqual(change(json, 'kpi', 'revenue_30d').impact, { k: 'kpi', before: { value: a.value, status: a.status }, after: { value: b.value, status: b.status } });
  });

  it('a changed KPI with a breakdown: value (the total row of the one statement), status and groups before and after equal previews of each side', async function () {
    this.timeout(120_000);
    edit(project, KPIS, /(?<head>name: revenue_by_country\nversion: )1(?<body>[\s\S]*?)within: 30d/, '$<head>2$<body>within: 60d');
    const { json } = await plan();
    const side = async (dir: string) => {
      const analysis = Project.load(dir).analyze();
      return withDb(async (db) => (await preview(db, analysis, 'kpi', 'revenue_by_country', { asOf: T })) as KpiPreview);
    };
    const a = await side(deployedCopy);
    const b = await side(project);
    assert.notEqual(a.value, b.value);
    assert.ok(a.groups?.length && b.groups?.length);
    assert.deepEqual(change(json, 'kpi', 'revenue_by_country').impact, { k: 'kpi', before: { value: a.value, status: a.status, groups: a.groups }, after: { value: b.value, status: b.status, groups: b.groups } });
  });

  it('a removed definition: an error without --allow-drop; with it, the members it drops', async function () {
    this.timeout(120_000);
    const text = readFileSync(join(project, SEGMENTS), 'utf8');
    const doc = text.split(/^---\n/m).find((d) => /^name: high_aov$/m.test(d))!;
    edit(project, SEGMENTS, `---\n${doc}`, '');
    const refused = await plan();
    assert.equal(refused.run.code, 1);
    assert.ok(change(refused.json, 'segment', 'high_aov').errors.some((e) => /--allow-drop/.test(e)));
    const { run, json } = await plan(['--allow-drop']);
    assert.equal(run.code, 0, run.err + JSON.stringify(json.changes.filter((c) => c.errors.length)));
    const c = change(json, 'segment', 'high_aov');
    const before = await memberKeys(deployedCopy, 'high_aov');
    assert.equal(c.status, 'removed');
    assert.deepEqual(c.impact, { k: 'segment', before: before.size, after: null, entering: 0, leaving: before.size });
    // The drop is the riskiest change that deploy would accept.
    assert.equal(`${json.changes[0]!.kind} ${json.changes[0]!.name}`, 'segment high_aov');
    writeFileSync(join(project, SEGMENTS), text);
  });

  it('a definition referring to a column the database dropped fails the plan with a precise message', async function () {
    this.timeout(120_000);
    await withDb((db) => db.exec('alter table customers rename column country to country_code'));
    try {
      const run = await tally(['plan', '--as-of', AS_OF]);
      assert.equal(run.code, 1);
      assert.doesNotMatch(run.err, STACK);
      assert.match(run.err, /definitions\/model\.yaml:\d+:\d+: error \[unknown-column\] no column named 'country' \(did you mean 'country_code'\?\) in table public\.customers/);
      assert.match(run.err, /nothing planned/);
      const json = await plan();
      assert.equal(json.run.code, 1);
      assert.equal(json.json.refused, true);
      assert.ok(json.json.diagnostics.some((d) => d.code === 'unknown-column' && d.file === 'definitions/model.yaml'));
      // And deploy refuses the same way, writing nothing.
      const d = await tally(['deploy']);
      assert.equal(d.code, 1);
      assert.match(d.err, /unknown-column/);
    } finally {
      await withDb((db) => db.exec('alter table customers rename column country_code to country'));
    }
  });
});
