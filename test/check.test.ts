// `tally check` (LANGUAGE.md §6 statuses, §9 CLI): every KPI as of T with its status, target, pace
// line and gap; exit codes per status and per --fail-on; the formats text, json (contract), junit
// (well-formed XML, checked by a small strict parser below), markdown and github annotations.
//
// Two kinds of data: tiny constructed projects whose KPI values are known by construction (three
// visible purchases as of 2026-06-01, one more after it), and the example shop (300 customers)
// whose figures are checked against SQL written here, independently of the engine.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from '../engine/src/db/db.js';
import { loadShop } from '../examples/shop/generate.js';
import { parseXml, type XmlElement } from './helpers/xml.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { model } from './helpers/model.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOP = join(REPO, 'examples', 'shop');

const TMP = mkdtempSync(join(tmpdir(), 'tally-check-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function tally(argv: string[], cwd = TMP): Promise<Run> {
  return runTally(argv, { cwd });
}

describe('check: the XML checker itself', () => {
  it('accepts well-formed documents and rejects broken ones', () => {
    const doc = parseXml('<?xml version="1.0"?>\n<a x="1 &amp; 2"><b/>t &lt;3<c y=\'&quot;\'>z</c></a>');
    assert.equal(doc.attrs.x, '1 & 2');
    assert.deepEqual(doc.children.map((c) => c.name), ['b', 'c']);
    assert.equal(doc.text, 't <3');
    assert.equal(doc.children[1]!.attrs.y, '"');
    for (const bad of ['<a>', '<a></b>', '<a x="1" x="2"/>', '<a>&</a>', '<a>&nope;</a>', '<a x="<"/>', '<a/><b/>', '<a>\u0001</a>', '<a x=1/>']) {
      assert.throws(() => parseXml(bad), /not well-formed/, bad);
    }
  });
});

// ---- constructed projects: three visible purchases as of 2026-06-01 ------------------------------

const AS_OF = '2026-06-01T00:00:00Z';
const TALLY_YAML = 'tally: 1\nname: tiny\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const MODEL = model({ attributes: { country: 'string' }, pii: false });

/** A KPI counting purchase events (3 as of AS_OF by construction). */
function kpi(name: string, target: string, opts: { guardrail?: string; owner?: string } = {}): string {
  return `kind: Kpi
name: ${name}
version: 1
owner: ${opts.owner ?? 'growth-team'}
description: purchases so far
funnel: revenue
metric: { events: { event: purchase } }
target: ${target}
${opts.guardrail ? `guardrail: ${opts.guardrail}\n` : ''}`;
}

/** One KPI per status, each by construction with the value 3. */
const BY_STATUS = {
  met: kpi('k_met', '{ gte: 3, by: 2099-12-31 }', { guardrail: '{ gte: 1 }' }),
  on_track: kpi('k_on_track', '{ gte: 10, by: 2036-01-01, baseline: { value: 0, on: 2026-01-01 } }', { guardrail: '{ gte: 1 }' }),
  at_risk: kpi('k_at_risk', '{ gte: 10, by: 2099-12-31 }', { guardrail: '{ gte: 1 }' }),
  missed: kpi('k_missed', '{ gte: 10, by: 2026-01-01 }', { guardrail: '{ gte: 1 }' }),
  failed: kpi('k_failed', '{ gte: 1, by: 2099-12-31 }', { guardrail: '{ gte: 5 }', owner: '"R&D <growth> \\"team\\""' }),
} as const;
type Status = keyof typeof BY_STATUS;

let counter = 0;
function makeProject(kpis: string[], extra: Record<string, string> = {}): string {
  const dir = join(TMP, `proj${++counter}`);
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), TALLY_YAML);
  writeFileSync(join(dir, 'definitions', 'model.yaml'), MODEL);
  if (kpis.length) writeFileSync(join(dir, 'definitions', 'kpis.yaml'), kpis.join('---\n'));
  for (const [f, t] of Object.entries(extra)) writeFileSync(join(dir, f), t);
  return dir;
}

/** The 1-based line of `name: <name>` in a text. */
function lineOf(text: string, name: string): number {
  const lines = text.split('\n');
  const i = lines.findIndex((l) => l === `name: ${name}`);
  assert.ok(i >= 0, `no 'name: ${name}'`);
  return i + 1;
}

interface JsonKpi {
  name: string;
  value: number | null;
  status: string;
  target: { op: string; value: number; by?: string } | null;
  expected: number | null;
  gap: number | null;
  owner: string | null;
  file: string;
  line: number;
  /** With `breakdown:`: the groups; those with a target carry a status. */
  groups?: { group: string; status?: string }[];
  guardrail_violated: boolean;
  format: string;
}

describe('check: constructed KPIs with known values', function () {
  let DB = '';
  const projects: Partial<Record<Status | 'all' | 'ok', string>> = {};

  before(async () => {
    const dir = join(TMP, 'tinydb');
    const db = await connect(`pglite:${dir}`, { baseDir: '.', create: true });
    await db.exec(`
      create table customers (id bigint primary key, country text, created_at timestamptz);
      create table events (customer_id bigint, event_name text, occurred_at timestamptz, properties jsonb);
      insert into customers values (1, 'DE', '2025-01-01Z'), (2, 'AT', '2025-01-01Z'), (3, 'US', '2025-01-01Z'), (4, 'DE', '2025-01-01Z');
      insert into events values
        (1, 'purchase', '2026-05-10T10:00:00Z', '{"amount": 10}'),
        (2, 'purchase', '2026-05-11T10:00:00Z', '{"amount": 20}'),
        (3, 'purchase', '2026-05-12T10:00:00Z', '{"amount": 30}'),
        (4, 'login',    '2026-05-12T10:00:00Z', null),
        (1, 'purchase', '2026-07-01T00:00:00Z', '{"amount": 99}');`);
    await db.close();
    DB = `pglite:${dir}`;
    for (const s of Object.keys(BY_STATUS) as Status[]) projects[s] = makeProject([BY_STATUS[s]]);
    projects.all = makeProject((Object.keys(BY_STATUS) as Status[]).map((s) => BY_STATUS[s]));
    projects.ok = makeProject([BY_STATUS.met, BY_STATUS.on_track, BY_STATUS.at_risk]);
  });

  const check = (project: string, ...argv: string[]) => tally(['check', '--project', project, '--db', DB, '--as-of', AS_OF, ...argv]);

  for (const [status, code] of [['met', 0], ['on_track', 0], ['at_risk', 0], ['missed', 1], ['failed', 1]] as const) {
    it(`a ${status} KPI alone: status ${status}, exit ${code}`, async () => {
      const r = await check(projects[status]!, '--format', 'json');
      assert.equal(r.code, code, r.out + r.err);
      const doc = JSON.parse(r.out) as { kpis: JsonKpi[] };
      assert.equal(doc.kpis.length, 1);
      assert.equal(doc.kpis[0]!.status, status);
      // Three purchases up to T; the one after T is invisible.
      assert.equal(doc.kpis[0]!.value, 3);
    });
  }

  it('--fail-on decides which statuses fail the check', async () => {
    const cases: [string, string[], number][] = [
      [projects.all!, [], 1],
      [projects.all!, ['--fail-on', 'none'], 0],
      [projects.all!, ['--fail-on', 'at_risk'], 1],
      [projects.ok!, [], 0],
      [projects.ok!, ['--fail-on', 'at_risk'], 1],
      [projects.ok!, ['--fail-on', 'missed, at_risk'], 1],
      [projects.ok!, ['--fail-on', 'failed,missed'], 0],
      [projects.missed!, ['--fail-on', 'failed'], 0],
      [projects.missed!, ['--fail-on', 'missed'], 1],
      [projects.failed!, ['--fail-on', 'missed,at_risk'], 0],
      [projects.failed!, ['--fail-on', 'failed'], 1],
    ];
    for (const [p, extra, code] of cases) {
      const r = await check(p, '--format', 'json', ...extra);
      assert.equal(r.code, code, `${extra.join(' ')} on ${p}: ${r.err}`);
      assert.equal((JSON.parse(r.out) as { passed: boolean }).passed, code === 0);
    }
  });

  it('2: a bad --fail-on, before touching the database', async () => {
    for (const [value, what] of [
      ['risky', /--fail-on 'risky' is not a status it can fail on; use failed, missed, at_risk \(a comma list\) or none/],
      ['at-risk', /did you mean 'at_risk'/],
      ['none,failed', /--fail-on none cannot be combined/],
      ['met', /--fail-on 'met' is not a status/],
      [',', /--fail-on needs a value/],
    ] as const) {
      const r = await tally(['check', '--project', projects.all!, '--db', 'pglite:/nonexistent/never', '--fail-on', value]);
      assert.equal(r.code, 2, value);
      assert.equal(r.out, '');
      assert.match(r.err, /^tally: /);
      assert.match(r.err, what);
      assert.doesNotMatch(r.err, STACK);
    }
  });

  it('json: the contract keys, and target, pace line and gap by construction', async () => {
    const r = await check(projects.all!, '--format', 'json');
    assert.equal(r.code, 1);
    const doc = JSON.parse(r.out) as { kpis: JsonKpi[]; as_of: string; fail_on: string[]; invalid: unknown[] };
    assert.equal(doc.as_of, '2026-06-01T00:00:00.000Z');
    assert.deepEqual(doc.fail_on, ['failed', 'missed']);
    assert.deepEqual(doc.invalid, []);
    const text = readFileSync(join(projects.all!, 'definitions', 'kpis.yaml'), 'utf8');
    const by = new Map(doc.kpis.map((k) => [k.name, k]));
    assert.deepEqual([...by.keys()], ['k_met', 'k_on_track', 'k_at_risk', 'k_missed', 'k_failed']);
    for (const k of doc.kpis) {
      for (const key of ['name', 'value', 'status', 'target', 'expected', 'gap', 'owner', 'file', 'line', 'guardrail_violated', 'format']) assert.ok(key in k, `${k.name} lacks ${key}`);
      assert.equal(k.file, 'definitions/kpis.yaml');
      assert.equal(k.line, lineOf(text, k.name));
      assert.equal(k.format, 'number');
    }
    // The pace line: from (2026-01-01, 0) to the end of 2036-01-01 (10), read at T.
    const start = Date.parse('2026-01-01T00:00:00Z');
    const end = Date.parse('2036-01-02T00:00:00Z');
    const expected = (10 * (Date.parse(AS_OF) - start)) / (end - start);
    const onTrack = by.get('k_on_track')!;
    assert.ok(Math.abs(onTrack.expected! - expected) < 1e-9, `${onTrack.expected} vs ${expected}`);
    assert.ok(Math.abs(onTrack.gap! - (3 - expected)) < 1e-9);
    assert.deepEqual(onTrack.target, { op: 'gte', value: 10, by: '2036-01-01' });
    // Without a baseline there is no pace line: the gap is to the target.
    assert.equal(by.get('k_at_risk')!.expected, null);
    assert.equal(by.get('k_at_risk')!.gap, -7);
    assert.equal(by.get('k_missed')!.gap, -7);
    assert.equal(by.get('k_met')!.gap, 0);
    assert.equal(by.get('k_failed')!.gap, 2);
    assert.equal(by.get('k_failed')!.guardrail_violated, true);
    assert.equal(by.get('k_met')!.guardrail_violated, false);
    assert.equal(by.get('k_failed')!.owner, 'R&D <growth> "team"');
  });

  it('text: an aligned table with every KPI, its status and the verdict', async () => {
    const r = await check(projects.all!);
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines[0], 'KPIs as of 2026-06-01T00:00:00.000Z');
    const header = lines[1]!;
    assert.match(header, /^kpi\s+value\s+target\s+by\s+pace\s+gap\s+status\s+owner$/);
    assert.match(lines[2]!, /^-+( +-+)+$/);
    const statusCol = header.indexOf('status');
    const rows = lines.slice(3, 8);
    const expectStatus: Record<string, string> = { k_met: '✓ met', k_on_track: '↗ on track', k_at_risk: '! at risk', k_missed: '✗ missed', k_failed: '✗ FAILED' };
    for (const row of rows) {
      const name = row.split(/\s+/)[0]!;
      assert.ok(row.slice(statusCol).startsWith(expectStatus[name]!), `${row}`);
    }
    assert.deepEqual(rows.map((r2) => r2.split(/\s+/)[0]), ['k_met', 'k_on_track', 'k_at_risk', 'k_missed', 'k_failed']);
    assert.match(rows.find((x) => x.startsWith('k_missed'))!, /\b3\s+≥ 10\s+2026-01-01\s+−7\s/);
    assert.equal(lines.at(-1), '5 KPIs: 1 failed, 1 missed, 1 at risk, 1 on track, 1 met; check failed (fails on failed, missed): 2 KPIs');
  });

  it('junit: well-formed, one testcase per KPI, a failure (with message) for failed and missed', async () => {
    const r = await check(projects.all!, '--format', 'junit');
    assert.equal(r.code, 1);
    const root = parseXml(r.out);
    assert.equal(root.name, 'testsuites');
    const suite = root.children[0]!;
    assert.equal(suite.name, 'testsuite');
    assert.equal(suite.attrs.name, 'tally check');
    assert.equal(suite.attrs.tests, '5');
    assert.equal(suite.attrs.failures, '2');
    const cases = suite.children.filter((c) => c.name === 'testcase');
    assert.deepEqual(cases.map((c) => c.attrs.name), ['k_met', 'k_on_track', 'k_at_risk', 'k_missed', 'k_failed']);
    const failing = cases.filter((c) => c.children.some((x) => x.name === 'failure')).map((c) => c.attrs.name);
    assert.deepEqual(failing, ['k_missed', 'k_failed']);
    const failed = cases.find((c) => c.attrs.name === 'k_failed')!.children.find((x) => x.name === 'failure')!;
    assert.equal(failed.attrs.type, 'failed');
    // The owner's &, < and " survive escaping and come back out of the parser unchanged.
    assert.match(failed.attrs.message!, /^k_failed is 3: failed; target ≥ 1 by 2099-12-31; gap \+2; guardrail ≥ 5 violated; owner R&D <growth> "team"$/);
    const text = readFileSync(join(projects.all!, 'definitions', 'kpis.yaml'), 'utf8');
    assert.equal(cases.find((c) => c.attrs.name === 'k_missed')!.attrs.line, String(lineOf(text, 'k_missed')));
    // --fail-on none: no failures, and still well-formed.
    const none = parseXml((await check(projects.all!, '--format', 'junit', '--fail-on', 'none')).out);
    assert.equal(none.children[0]!.attrs.failures, '0');
  });

  it('markdown: a table, worst status first, with emoji', async () => {
    const r = await check(projects.all!, '--format', 'markdown');
    assert.equal(r.code, 1);
    const lines = r.out.split('\n');
    assert.equal(lines[0], '### ❌ Tally check: 5 KPIs: 1 failed, 1 missed, 1 at risk, 1 on track, 1 met');
    const rows = lines.filter((l) => /^\| \S+ [a-z]/.test(l) && !l.startsWith('| status'));
    assert.deepEqual(
      rows.map((l) => /`(\w+)`/.exec(l)![1]),
      ['k_failed', 'k_missed', 'k_at_risk', 'k_on_track', 'k_met'],
    );
    assert.match(rows[0]!, /^\| ❌ failed \(guardrail\) \| `k_failed` \| 3 \|/);
    assert.match(rows[1]!, /^\| ⛔ missed \|/);
    assert.match(rows[4]!, /^\| ✅ met \|/);
    // Each row has the header's number of cells (pipes in values would be escaped).
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    for (const l of rows) assert.equal(cells(l), cells(lines.find((x) => x.startsWith('| status'))!));
  });

  it('github: ::error for failed/missed and ::warning for at_risk at the KPI file and the line of its name, relative to cwd', async () => {
    const r = await check(projects.all!, '--format', 'github');
    assert.equal(r.code, 1);
    const text = readFileSync(join(projects.all!, 'definitions', 'kpis.yaml'), 'utf8');
    const rel = `${projects.all!.slice(TMP.length + 1)}/definitions/kpis.yaml`;
    const lines = r.out.split('\n');
    assert.equal(lines.length, 3, r.out);
    assert.equal(lines[0], `::error file=${rel},line=${lineOf(text, 'k_failed')},title=tally check%3A k_failed failed::k_failed is 3: failed; target ≥ 1 by 2099-12-31; gap +2; guardrail ≥ 5 violated; owner R&D <growth> "team"`);
    assert.match(lines[1]!, new RegExp(`^::error file=${rel},line=${lineOf(text, 'k_missed')},title=tally check%3A k_missed missed::k_missed is 3: missed`));
    assert.match(lines[2]!, new RegExp(`^::warning file=${rel},line=${lineOf(text, 'k_at_risk')},title=tally check%3A k_at_risk at risk::`));
    // From inside the project, the path is relative to it; --fail-on none turns errors into warnings.
    const inside = await tally(['check', '--db', DB, '--as-of', AS_OF, '--format', 'github', '--fail-on', 'none'], projects.all!);
    assert.equal(inside.code, 0);
    assert.deepEqual(
      inside.out.split('\n').map((l) => /^::(\w+) file=([^,]+),line=(\d+)/.exec(l)!.slice(1).join(' ')),
      [`warning definitions/kpis.yaml ${lineOf(text, 'k_failed')}`, `warning definitions/kpis.yaml ${lineOf(text, 'k_missed')}`, `warning definitions/kpis.yaml ${lineOf(text, 'k_at_risk')}`],
    );
  });

  it('1: a KPI with errors prints its diagnostics; the others are still checked', async () => {
    const broken = `kind: Kpi\nname: k_broken\nversion: 1\nowner: x\ndescription: x\nfunnel: revenue\nmetric: { count: { segment: nobody } }\ntarget: { gte: 1, by: 2099-12-31 }\nguardrail: { gte: 0 }\n`;
    const p = makeProject([BY_STATUS.met, broken]);
    const r = await check(p, '--format', 'json');
    assert.equal(r.code, 1);
    assert.match(r.err, /definitions\/kpis\.yaml:\d+:\d+: error \[unknown-reference\] no segment named 'nobody'/);
    assert.match(r.err, /kpi 'k_broken' has errors; fix them first/);
    const doc = JSON.parse(r.out) as { kpis: JsonKpi[]; invalid: { name: string; line: number }[] };
    assert.deepEqual(doc.kpis.map((k) => [k.name, k.status]), [['k_met', 'met']]);
    assert.deepEqual(doc.invalid.map((k) => k.name), ['k_broken']);
    assert.equal(doc.invalid[0]!.line, lineOf(readFileSync(join(p, 'definitions', 'kpis.yaml'), 'utf8'), 'k_broken'));
    // Even --fail-on none fails on a KPI that cannot be evaluated.
    assert.equal((await check(p, '--fail-on', 'none')).code, 1);
    const junit = parseXml((await check(p, '--format', 'junit')).out);
    assert.equal(junit.children[0]!.attrs.errors, '1');
  });

  it('0: a project without KPIs', async () => {
    const p = makeProject([]);
    const r = await check(p, '--format', 'json');
    assert.equal(r.code, 0);
    assert.deepEqual((JSON.parse(r.out) as { kpis: unknown[] }).kpis, []);
    assert.match((await check(p)).out, /no KPIs in the project/);
  });

  it('2: usage errors (format, arguments, database)', async () => {
    const bad = await check(projects.met!, '--format', 'sarif');
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--format 'sarif' is not one of: text, json, junit, markdown, github/);
    const arg = await check(projects.met!, 'k_met');
    assert.equal(arg.code, 2);
    assert.match(arg.err, /tally check takes no arguments/);
    const noDb = await tally(['check', '--project', projects.met!]);
    assert.equal(noDb.code, 2);
    assert.match(noDb.err, /no database: the embedded one .* is empty/);
  });
});

// ---- the example shop --------------------------------------------------------------------------

describe('check: the example shop on PGlite (300 customers)', function () {
  const ANCHOR = new Date('2026-11-01T00:00:00Z');
  let DB = '';
  let project = '';
  let json: { kpis: JsonKpi[] } = { kpis: [] };
  let code = -1;
  /** The KPIs of kpis.yaml with the line of their name, read from the text. */
  const expectedKpis: { name: string; line: number; file: string }[] = [];

  before(async () => {
    project = join(TMP, 'shop');
    mkdirSync(project, { recursive: true });
    cpSync(join(SHOP, 'tally.yaml'), join(project, 'tally.yaml'));
    cpSync(join(SHOP, 'definitions'), join(project, 'definitions'), { recursive: true });
    const dir = join(TMP, 'shopdb');
    const db = await connect(`pglite:${dir}`, { baseDir: '.', create: true });
    try {
      await loadShop(db, { customers: 300, anchor: ANCHOR });
    } finally {
      await db.close();
    }
    DB = `pglite:${dir}`;
    for (const file of ['kpis.yaml']) {
      const text = readFileSync(join(project, 'definitions', file), 'utf8');
      let kind = '';
      text.split('\n').forEach((l, i) => {
        const k = /^kind: (\w+)/.exec(l);
        if (k) kind = k[1]!;
        const n = /^name: (\w+)/.exec(l);
        if (n && kind === 'Kpi') expectedKpis.push({ name: n[1]!, line: i + 1, file: `definitions/${file}` });
      });
    }
    const r = await tally(['check', '--project', project, '--db', DB, '--as-of', ANCHOR.toISOString(), '--format', 'json']);
    code = r.code;
    json = JSON.parse(r.out);
  });

  it('json: every KPI of kpis.yaml, in order, at the line of its name', () => {
    assert.ok(expectedKpis.length >= 10);
    assert.deepEqual(json.kpis.map((k) => [k.name, k.file, k.line]), expectedKpis.map((k) => [k.name, k.file, k.line]));
    for (const k of json.kpis) assert.match(k.status, /^(met|on_track|at_risk|missed|failed)$/);
  });

  it('values agree with SQL written here', async () => {
    const db = await connect(DB, { baseDir: '.', create: false });
    try {
      const T = ANCHOR.toISOString();
      const one = async (q: string) => Number((await db.query<{ v: unknown }>(q, [T])).rows[0]!.v);
      const signups = await one(`select count(*) as v from events where event_name = 'signup' and occurred_at > $1::timestamptz - interval '7 days' and occurred_at <= $1::timestamptz`);
      const revenue = await one(`select coalesce(sum((properties->>'amount')::numeric), 0) as v from events where event_name = 'purchase' and occurred_at > $1::timestamptz - interval '30 days' and occurred_at <= $1::timestamptz`);
      const buyers = `select e.customer_id, count(*) as n from events e join customers c on c.id = e.customer_id
                       where e.event_name = 'purchase' and e.occurred_at <= $1::timestamptz and (c.created_at is null or c.created_at <= $1::timestamptz) group by 1`;
      const repurchase = await one(`select (count(*) filter (where n >= 2))::float8 / count(*) as v from (${buyers}) b`);
      const by = new Map(json.kpis.map((k) => [k.name, k]));
      assert.ok(signups > 0 && revenue > 0);
      assert.equal(by.get('weekly_signups')!.value, signups);
      assert.ok(Math.abs(by.get('revenue_30d')!.value! - revenue) < 1e-6, `${by.get('revenue_30d')!.value} vs ${revenue}`);
      assert.ok(Math.abs(by.get('repurchase_rate')!.value! - repurchase) < 1e-12);
      // revenue_30d's pace line, from its baseline (68385 on 2026-06-01) to 200000 at the end of 2027-03-31.
      const start = Date.parse('2026-06-01T00:00:00Z');
      const end = Date.parse('2027-04-01T00:00:00Z');
      const expected = 68385 + ((200000 - 68385) * (ANCHOR.getTime() - start)) / (end - start);
      const rev = by.get('revenue_30d')!;
      assert.ok(Math.abs(rev.expected! - expected) < 1e-6);
      assert.ok(Math.abs(rev.gap! - (revenue - expected)) < 1e-6);
      // 300 customers earn far less than the 100000 guardrail calibrated on 10 000.
      assert.equal(rev.status, revenue < 100000 ? 'failed' : rev.status);
      assert.equal(rev.guardrail_violated, revenue < 100000);
      assert.equal(rev.format, 'currency');
      assert.equal(by.get('repurchase_rate')!.format, 'percent');
    } finally {
      await db.close();
    }
  });

  it('exit code: 1 exactly when a KPI failed or missed; 0 with --fail-on none', async () => {
    const bad = json.kpis.filter((k) => k.status === 'failed' || k.status === 'missed').length;
    assert.equal(code, bad ? 1 : 0);
    const none = await tally(['check', '--project', project, '--db', DB, '--as-of', ANCHOR.toISOString(), '--fail-on', 'none']);
    assert.equal(none.code, 0);
    for (const k of json.kpis) assert.match(none.out, new RegExp(`^${k.name} `, 'm'));
  });

  it('junit, markdown and github agree with the JSON', async () => {
    const argv = ['check', '--project', project, '--db', DB, '--as-of', ANCHOR.toISOString()];
    const failing = json.kpis.filter((k) => k.status === 'failed' || k.status === 'missed');
    const atRisk = json.kpis.filter((k) => k.status === 'at_risk');
    // A breakdown's groups with a target: one more test case each, annotated unless met or on track.
    const targeted = json.kpis.flatMap((k) => (k.groups ?? []).filter((g) => g.status));
    const groupsFailing = targeted.filter((g) => g.status === 'failed' || g.status === 'missed');
    const groupsAtRisk = targeted.filter((g) => g.status === 'at_risk');

    const junit = parseXml((await tally([...argv, '--format', 'junit'])).out);
    const suite = junit.children[0]!;
    assert.equal(suite.attrs.tests, String(json.kpis.length + targeted.length));
    assert.equal(suite.attrs.failures, String(failing.length + groupsFailing.length));

    const md = (await tally([...argv, '--format', 'markdown'])).out;
    const order = [...md.matchAll(/^\| [^|]+ \| `(\w+)`/gm)].map((m) => m[1]);
    const rank = ['failed', 'missed', 'at_risk', 'on_track', 'met'];
    const statusOf = new Map(json.kpis.map((k) => [k.name, k.status]));
    assert.equal(order.length, json.kpis.length);
    for (let i = 1; i < order.length; i++) assert.ok(rank.indexOf(statusOf.get(order[i - 1]!)!) <= rank.indexOf(statusOf.get(order[i]!)!), `${order[i - 1]} before ${order[i]}`);

    const gh = (await tally([...argv, '--format', 'github'])).out;
    const ann = gh ? gh.split('\n') : [];
    assert.equal(ann.filter((l) => l.startsWith('::error ')).length, failing.length + groupsFailing.length);
    assert.equal(ann.filter((l) => l.startsWith('::warning ')).length, atRisk.length + groupsAtRisk.length);
    for (const k of [...failing, ...atRisk]) assert.ok(ann.some((l) => l.includes(`file=shop/${k.file},line=${k.line},`) && l.includes(`%3A ${k.name} `)), k.name);
  });
});
