// `tally test` (LANGUAGE.md §10): `kind: Test` fixtures run in isolation and compare with `expect`.
//
// Passing fixtures for every subject kind (values known by construction, including the window and
// "does not exist yet" edges), failing fixtures with their exact diff text, malformed Tests
// (diagnostics at the test's file and line, no database needed), the example project's tests,
// the formats (json, junit checked well-formed by a small strict parser below), and isolation on
// both backends: two tests with conflicting rows both pass; on PostgreSQL the throwaway schemas
// are gone afterwards (also after a failing load), and real tables of the same name are untouched.

import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { parseXml } from './helpers/xml.js';
import { runTally, STACK, type Run } from './helpers/cli.js';
import { model } from './helpers/model.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..');
const SHOP = join(REPO, 'examples', 'shop');

const TMP = mkdtempSync(join(tmpdir(), 'tally-fixtures-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

function tally(argv: string[], cwd = TMP): Promise<Run> {
  return runTally(argv, { cwd });
}

// ---- the fixture project ---------------------------------------------------------------------

const TALLY_YAML = 'tally: 1\nname: fx\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';

const MODEL = `${model({ pii: false })}---
kind: Segment
name: buyers
version: 1
where: { event: purchase, within: 30d }
---
kind: Segment
name: de_buyers
version: 1
where: { all: [ { attribute: country, eq: DE }, { segment: buyers } ] }
---
kind: Trait
name: spend
version: 1
type: number
compute: { event: purchase, sum: amount }
---
kind: Trait
name: purchases
version: 1
type: number
compute: { event: purchase }
---
kind: Score
name: engagement
version: 1
components:
  - { trait: purchases, weight: 1, from: 0, to: 4 }
bands:
  - { name: high, gte: 50 }
  - { name: low }
---
kind: Lifecycle
name: stage
version: 1
stages:
  - { name: new, where: { attribute: signed_up_at, within: 7d } }
  - { name: active, where: { stream: events, within: 30d } }
  - { name: dormant }
---
kind: Kpi
name: buyer_share
version: 1
owner: growth
description: Share of the last 30 days' active customers who bought.
funnel: revenue
metric:
  ratio:
    numerator: { active: { event: purchase, within: 30d } }
    denominator: { active: { stream: events, within: 30d } }
target: { gte: 0.5, by: 2099-12-31 }
guardrail: { gte: 0 }
`;

const T = 'as_of: 2026-06-01T00:00:00Z';

/** Values known by construction, T = 2026-06-01T00:00:00Z. */
const PASSING = `kind: Test
name: segment_window_and_existence
version: 1
description: 1 bought in the window; 2 too long ago; 3 only logged in; 4 does not exist yet; 5 bought exactly at T; 6 exactly at T - 30d (out).
subject: { segment: buyers }
${T}
given:
  customers:
    - { id: 1, country: DE, created_at: 2025-01-01 }
    - { id: 2, country: DE, created_at: 2025-01-01 }
    - { id: 3, country: DE, created_at: 2025-01-01 }
    - { id: 4, country: DE, created_at: 2026-07-01 }
    - { id: 5, country: DE, created_at: 2025-01-01 }
    - { id: 6, country: DE, created_at: 2025-01-01 }
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T10:00:00Z, properties: { amount: 10 } }
    - { customer_id: 2, event_name: purchase, occurred_at: 2026-04-01T10:00:00Z, properties: { amount: 10 } }
    - { customer_id: 3, event_name: login, occurred_at: 2026-05-30T10:00:00Z }
    - { customer_id: 4, event_name: purchase, occurred_at: 2026-05-25T10:00:00Z, properties: { amount: 10 } }
    - { customer_id: 5, event_name: purchase, occurred_at: 2026-06-01T00:00:00Z, properties: { amount: 10 } }
    - { customer_id: 6, event_name: purchase, occurred_at: 2026-05-02T00:00:00Z, properties: { amount: 10 } }
expect: { members: [5, 1], count: 2 }
---
kind: Test
name: trait_values
version: 1
subject: { trait: spend }
${T}
given:
  customers: [ { id: 1 }, { id: 2 }, { id: 3 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T10:00:00Z, properties: { amount: 10.5 } }
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-21T10:00:00Z, properties: { amount: 20 } }
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-06-02T10:00:00Z, properties: { amount: 1000 } }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-01-01T10:00:00Z, properties: { amount: 0.1 } }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-01-02T10:00:00Z, properties: { amount: 0.2 } }
expect: { values: { "1": 30.5, "2": null, "3": 0.3 }, members: [1, 3], count: 2 }
---
kind: Test
name: score_values
version: 1
subject: { score: engagement }
${T}
given:
  customers: [ { id: 1 }, { id: 2 }, { id: 3 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T10:00:00Z }
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-21T10:00:00Z }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-05-20T10:00:00Z }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-05-20T11:00:00Z }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-05-20T12:00:00Z }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-05-20T13:00:00Z }
    - { customer_id: 3, event_name: purchase, occurred_at: 2026-05-20T14:00:00Z }
expect: { values: { "1": 50, "2": 0, "3": 100 } }
---
kind: Test
name: lifecycle_stages_and_values
version: 1
subject: { lifecycle: stage }
${T}
given:
  customers:
    - { id: 1, created_at: 2026-05-30 }
    - { id: 2, created_at: 2025-01-01 }
    - { id: 3, created_at: 2025-01-01 }
    - { id: 4, created_at: 2026-06-02 }
  events:
    - { customer_id: 2, event_name: login, occurred_at: 2026-05-15T10:00:00Z }
    - { customer_id: 3, event_name: login, occurred_at: 2026-03-15T10:00:00Z }
expect: { stages: { new: 1, active: 1, dormant: 1 }, values: { "1": new, "2": active, "3": dormant }, count: 3 }
---
kind: Test
name: kpi_value
version: 1
subject: { kpi: buyer_share }
${T}
given:
  customers: [ { id: 1 }, { id: 2 }, { id: 3 }, { id: 4 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T10:00:00Z }
    - { customer_id: 2, event_name: login, occurred_at: 2026-05-20T10:00:00Z }
    - { customer_id: 3, event_name: login, occurred_at: 2026-05-20T10:00:00Z }
    - { customer_id: 4, event_name: purchase, occurred_at: 2026-05-21T10:00:00Z }
expect: { value: 0.5 }
---
kind: Test
name: kpi_null_over_nothing
version: 1
subject: { kpi: buyer_share }
${T}
given:
  customers: [ { id: 1 } ]
expect: { value: null }
`;

const FAILING = `kind: Test
name: members_differ
version: 1
subject: { segment: buyers }
${T}
given:
  customers: [ { id: 1 }, { id: 2 }, { id: 3 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z }
    - { customer_id: 2, event_name: purchase, occurred_at: 2026-05-21T00:00:00Z }
expect: { members: [1, 3], count: 3 }
---
kind: Test
name: value_differs
version: 1
subject: { kpi: buyer_share }
${T}
given:
  customers: [ { id: 1 }, { id: 2 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z }
    - { customer_id: 2, event_name: login, occurred_at: 2026-05-20T00:00:00Z }
expect: { value: 0.25 }
---
kind: Test
name: stages_differ
version: 1
subject: { lifecycle: stage }
${T}
given:
  customers: [ { id: 1, created_at: 2025-01-01 } ]
  events: [ { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z } ]
expect: { stages: { new: 1 } }
---
kind: Test
name: values_differ
version: 1
subject: { trait: spend }
${T}
given:
  customers: [ { id: 1 }, { id: 2 } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z, properties: { amount: 10.5 } }
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-21T00:00:00Z, properties: { amount: 20 } }
expect: { values: { "1": 30, "2": null, "7": 1 } }
`;

const MALFORMED = `kind: Test
name: unknown_subject
version: 1
subject: { segment: buyres }
${T}
given:
  customer: [ { id: 1 } ]
expect: { stages: { new: 1 } }
---
kind: Test
name: wrong_stage
version: 1
subject: { lifecycle: stage }
${T}
expect: { stages: { nwe: 1 } }
---
kind: Test
name: schema_errors
version: 1
subject: { segment: buyers }
as_of: yesterday
expect: { members: [] }
exepct: { count: 1 }
`;

/** The two tests conflict (customer 1 is DE in one and US in the other); in isolation both pass. */
const CONFLICTING = `kind: Test
name: one_is_german
version: 1
subject: { segment: de_buyers }
${T}
given:
  customers: [ { id: 1, country: DE } ]
  events: [ { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z } ]
expect: { members: [1] }
---
kind: Test
name: one_is_american
version: 1
subject: { segment: de_buyers }
${T}
given:
  customers: [ { id: 1, country: US }, { id: 2, country: DE } ]
  events:
    - { customer_id: 1, event_name: purchase, occurred_at: 2026-05-20T00:00:00Z }
    - { customer_id: 2, event_name: purchase, occurred_at: 2026-05-21T00:00:00Z }
expect: { members: [2] }
`;

const BAD_ROW = `kind: Test
name: bad_row
version: 1
subject: { segment: buyers }
${T}
given:
  customers:
    - { id: 1, created_at: 2025-01-01 }
    - { id: 2, created_at: soon }
expect: { members: [] }
`;

let counter = 0;
function makeProject(tests: string, extra: Record<string, string> = {}): string {
  const dir = join(TMP, `proj${++counter}`);
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), TALLY_YAML);
  writeFileSync(join(dir, 'definitions', 'model.yaml'), MODEL);
  writeFileSync(join(dir, 'definitions', 'tests.yaml'), tests);
  for (const [f, t] of Object.entries(extra)) writeFileSync(join(dir, f), t);
  return dir;
}

/** 1-based line and column of the nth occurrence of a needle. */
function at(text: string, needle: string, nth = 0): string {
  let i = -1;
  for (let k = 0; k <= nth; k++) {
    i = text.indexOf(needle, i + 1);
    assert.ok(i >= 0, `${needle} not in the text`);
  }
  const before = text.slice(0, i);
  return `${before.split('\n').length}:${i - before.lastIndexOf('\n')}`;
}

interface JsonTest {
  name: string;
  file: string;
  line: number;
  status: 'passed' | 'failed' | 'error';
  subject?: { kind: string; name: string };
  actual?: Record<string, unknown>;
  mismatches: { key: string; missing?: unknown[]; unexpected?: unknown[] }[];
  diagnostics: { file: string; code: string; message: string; range: { start: { line: number } } }[];
  isolation?: string;
}

describe('test: fixtures that pass', () => {
  let r: Run;
  let doc: { tests: JsonTest[]; passed: number; failed: number; errors: number };
  before(async () => {
    r = await tally(['test', '--project', makeProject(PASSING), '--format', 'json']);
    doc = JSON.parse(r.out);
  });

  it('0: every subject kind passes with values known by construction', () => {
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual(
      doc.tests.map((t) => [t.name, t.status]),
      [
        ['segment_window_and_existence', 'passed'],
        ['trait_values', 'passed'],
        ['score_values', 'passed'],
        ['lifecycle_stages_and_values', 'passed'],
        ['kpi_value', 'passed'],
        ['kpi_null_over_nothing', 'passed'],
      ],
    );
    assert.deepEqual([doc.passed, doc.failed, doc.errors], [6, 0, 0]);
  });

  it('json: the actual results, where each test is written, where it ran', () => {
    const by = new Map(doc.tests.map((t) => [t.name, t]));
    assert.deepEqual(by.get('segment_window_and_existence')!.actual, { members: [1, 5], count: 2 });
    assert.deepEqual(by.get('trait_values')!.actual!.members, [1, 3]);
    assert.equal((by.get('trait_values')!.actual!.values as Record<string, unknown>)['1'], 30.5);
    assert.deepEqual(by.get('lifecycle_stages_and_values')!.actual!.stages, { new: 1, active: 1, dormant: 1 });
    assert.deepEqual(by.get('kpi_value')!.actual, { value: 0.5, status: 'met' });
    assert.deepEqual(by.get('kpi_null_over_nothing')!.actual, { value: null, status: 'at_risk' });
    const lines = PASSING.split('\n');
    for (const t of doc.tests) {
      assert.equal(t.file, 'definitions/tests.yaml');
      assert.equal(lines[t.line - 1], `name: ${t.name}`);
      assert.equal(t.isolation, 'pglite:memory');
    }
  });
});

describe('test: fixtures that fail, with a diff', () => {
  let dir = '';
  before(() => {
    dir = makeProject(FAILING);
  });

  it('1: text shows ✗ and, per failure, expected vs actual with missing and unexpected keys', async () => {
    const r = await tally(['test', '--project', dir]);
    assert.equal(r.code, 1, r.err);
    assert.equal(
      r.out,
      [
        '✗ members_differ (segment buyers as of 2026-06-01T00:00:00.000Z)',
        '    members: expected [1, 3], got [1, 2]',
        '      missing (expected, not in the result): 3',
        '      unexpected (in the result, not expected): 2',
        '    count: expected 3, got 2',
        '✗ value_differs (kpi buyer_share as of 2026-06-01T00:00:00.000Z)',
        '    value: expected 0.25, got 0.5',
        '✗ stages_differ (lifecycle stage as of 2026-06-01T00:00:00.000Z)',
        '    stages: expected {new: 1, active: 0, dormant: 0}, got {new: 0, active: 1, dormant: 0}',
        '      new: expected 1, got 0',
        '      active: expected 0, got 1',
        '✗ values_differ (trait spend as of 2026-06-01T00:00:00.000Z)',
        '    values: 2 keys differ',
        '      "1": expected 30, got 30.5',
        '      "7": expected 1, got no such entity',
        '',
        '4 tests: 0 passed, 4 failed',
      ].join('\n'),
    );
  });

  it('a name runs only that test; an unknown name is a usage error with a suggestion', async () => {
    const one = await tally(['test', 'value_differs', '--project', dir, '--format', 'json']);
    assert.equal(one.code, 1);
    assert.deepEqual((JSON.parse(one.out) as { tests: JsonTest[] }).tests.map((t) => t.name), ['value_differs']);
    const bad = await tally(['test', 'value_diffrs', '--project', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /^tally: no test named 'value_diffrs' \(did you mean 'value_differs' or 'values_differ'\?\)$/);
    assert.equal(bad.out, '');
  });
});

describe('test: malformed Tests', () => {
  it('1: diagnostics at the test file and line, no database needed', async () => {
    const dir = makeProject(MALFORMED);
    const r = await tally(['test', '--project', dir], dir);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.out + r.err, STACK);
    const f = 'definitions/tests.yaml';
    assert.ok(r.out.startsWith('✗ unknown_subject (segment buyres) (error)\n'), r.out);
    for (const line of [
      `${f}:${at(MALFORMED, 'buyres')}: error [unknown-reference] no segment named 'buyres' (did you mean 'buyers'?)`,
      `${f}:${at(MALFORMED, 'customer:')}: error [unknown-table] no Entity, Events or Costs maps a table 'customer' (did you mean 'customers'?)`,
      `${f}:${at(MALFORMED, 'stages')}: error [unexpected-key] \`stages\` does not fit a segment subject; expect members or count`,
      `${f}:${at(MALFORMED, 'nwe')}: error [unknown-stage] lifecycle 'stage' has no stage 'nwe' (did you mean 'new'?)`,
      `${f}:${at(MALFORMED, 'yesterday')}: error [bad-instant]`,
      `${f}:${at(MALFORMED, 'exepct')}: error [unknown-key]`,
    ]) {
      assert.ok(r.out.includes(line), `missing: ${line}\n${r.out}`);
    }
    assert.match(r.out, /\n3 tests: 0 passed, 0 failed, 3 could not run$/);

    const j = await tally(['test', '--project', dir, '--format', 'json'], dir);
    assert.equal(j.code, 1);
    const doc = JSON.parse(j.out) as { tests: JsonTest[] };
    assert.deepEqual(doc.tests.map((t) => t.status), ['error', 'error', 'error']);
    assert.deepEqual(doc.tests.map((t) => t.line), ['unknown_subject', 'wrong_stage', 'schema_errors'].map((n) => Number(at(MALFORMED, `name: ${n}`).split(':')[0])));
    assert.deepEqual(doc.tests[0]!.diagnostics.map((d) => d.code), ['unknown-reference', 'unknown-table', 'unexpected-key']);
    // For machine formats the diagnostics also go to stderr as text.
    assert.match(j.err, /error \[unknown-stage\]/);
  });

  it('tally validate reports the same problems, at the same places, before any test runs', async () => {
    const dir = makeProject(MALFORMED);
    const v = await tally(['validate', '--project', dir, '--format', 'json'], dir);
    assert.equal(v.code, 1);
    const found = (JSON.parse(v.out) as { diagnostics: { file: string; code: string; range: { start: { line: number; character: number } } }[] }).diagnostics
      .filter((d) => d.file === 'definitions/tests.yaml')
      .map((d) => `${d.range.start.line + 1}:${d.range.start.character + 1} ${d.code}`);
    for (const [needle, code] of [
      ['buyres', 'unknown-reference'],
      ['customer:', 'unknown-table'],
      ['stages', 'unexpected-key'],
      ['nwe', 'unknown-stage'],
      ['yesterday', 'bad-instant'],
      ['exepct', 'unknown-key'],
    ] as const) {
      assert.ok(found.includes(`${at(MALFORMED, needle)} ${code}`), `missing ${code} at ${needle}: ${found.join(', ')}`);
    }
  });
});

describe('test: the example project', () => {
  it('0: the shop tests pass', async () => {
    const dir = join(TMP, 'shop');
    mkdirSync(dir, { recursive: true });
    cpSync(join(SHOP, 'tally.yaml'), join(dir, 'tally.yaml'));
    cpSync(join(SHOP, 'definitions'), join(dir, 'definitions'), { recursive: true });
    const r = await tally(['test', '--project', dir]);
    assert.equal(r.code, 0, r.out + r.err);
    assert.equal(
      r.out,
      [
        '✓ high_value_dormant_rule (segment high_value_dormant as of 2026-06-01T00:00:00.000Z)',
        '✓ lifecycle_stages (lifecycle customer_lifecycle as of 2026-06-01T00:00:00.000Z)',
        '✓ repurchase_rate_counts_visible_purchases (kpi repurchase_rate as of 2026-06-01T00:00:00.000Z)',
        '',
        '3 tests: 3 passed, 0 failed',
      ].join('\n'),
    );
  });
});

describe('test: junit', () => {
  it('well-formed, one testcase per test: a failure with the diff, an error for a malformed one', async () => {
    const tests = [FAILING.split('\n---\n')[1], CONFLICTING.split('\n---\n')[0], MALFORMED.split('\n---\n')[1]].join('\n---\n');
    const dir = makeProject(tests);
    const r = await tally(['test', '--project', dir, '--format', 'junit'], dir);
    assert.equal(r.code, 1);
    const root = parseXml(r.out);
    const suite = root.children[0]!;
    assert.equal(suite.name, 'testsuite');
    assert.equal(suite.attrs.name, 'tally test');
    assert.deepEqual([suite.attrs.tests, suite.attrs.failures, suite.attrs.errors], ['3', '1', '1']);
    const cases = suite.children.filter((c) => c.name === 'testcase');
    assert.deepEqual(cases.map((c) => c.attrs.name), ['value_differs', 'one_is_german', 'wrong_stage']);
    const failure = cases[0]!.children.find((c) => c.name === 'failure')!;
    assert.equal(failure.attrs.message, 'value: expected 0.25, got 0.5');
    assert.match(failure.text, /^definitions\/tests\.yaml:2: kpi buyer_share as of 2026-06-01T00:00:00\.000Z\nvalue: expected 0\.25, got 0\.5$/);
    assert.equal(cases[1]!.children.filter((c) => c.name === 'failure' || c.name === 'error').length, 0);
    const error = cases[2]!.children.find((c) => c.name === 'error')!;
    assert.match(error.attrs.message!, /lifecycle 'stage' has no stage 'nwe'/);
    assert.equal(cases[2]!.attrs.file, 'definitions/tests.yaml');
  });
});

// ---- isolation, on both backends ----------------------------------------------------------------

forEachBackend('test: isolation', (backend) => {
  let pg: TestDb | undefined;
  before(async () => {
    if (backend === 'postgres') {
      pg = await createTestDb('postgres');
      // Real tables with the mapped names: the tests must neither see nor touch them.
      await pg.db.exec(`create table customers (id bigint, country text, created_at timestamptz);
        create table events (customer_id bigint, event_name text, occurred_at timestamptz, properties jsonb);
        insert into customers values (9, 'DE', '2025-01-01Z');
        insert into events values (9, 'purchase', '2026-05-20Z', '{}');`);
    }
  });
  after(async () => {
    await pg?.drop();
  });
  const dbArgs = () => (pg ? ['--db', pg.url] : []);

  it('two tests with conflicting rows both pass; a row that cannot load is an error at its line', async () => {
    const dir = makeProject(`${CONFLICTING}---\n${BAD_ROW}`);
    const r = await tally(['test', '--project', dir, ...dbArgs(), '--format', 'json'], dir);
    assert.equal(r.code, 1, r.err);
    const doc = JSON.parse(r.out) as { tests: JsonTest[] };
    assert.deepEqual(doc.tests.map((t) => [t.name, t.status]), [['one_is_german', 'passed'], ['one_is_american', 'passed'], ['bad_row', 'error']]);
    const bad = doc.tests[2]!;
    const text = `${CONFLICTING}---\n${BAD_ROW}`;
    assert.equal(bad.diagnostics[0]!.range.start.line + 1, Number(at(text, '{ id: 2, created_at: soon }').split(':')[0]));
    assert.match(bad.diagnostics[0]!.message, /^row 2 of 'customers' cannot be loaded: .*"soon"/);

    if (pg) {
      const schemas = doc.tests.map((t) => /^postgres schema (tally_test_[0-9a-f]+)$/.exec(t.isolation ?? '')?.[1]);
      assert.ok(schemas.every(Boolean), JSON.stringify(schemas));
      assert.equal(new Set(schemas).size, 3, 'one schema per test');
      const left = await pg.db.query<{ n: number }>(`select count(*)::int as n from information_schema.schemata where schema_name = any($1::text[]) or schema_name like 'tally\\_test\\_%'`, [schemas]);
      assert.equal(left.rows[0]!.n, 0, 'throwaway schemas are dropped, also after a failure');
      const real = await pg.db.query<{ id: number }>('select id from customers');
      assert.deepEqual(real.rows.map((x) => x.id), [9], 'the real table is untouched');
    } else {
      for (const t of doc.tests) assert.equal(t.isolation, 'pglite:memory');
    }
  });

  it('the real table is invisible: a test sees only its given rows', async () => {
    const dir = makeProject(CONFLICTING.split('\n---\n')[0]!);
    const r = await tally(['test', '--project', dir, ...dbArgs(), '--format', 'json'], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual((JSON.parse(r.out) as { tests: JsonTest[] }).tests[0]!.actual, { members: [1] });
  });

  it('schema-qualified tables', async () => {
    const model = MODEL.replace('table: customers', 'table: crm.customers');
    const dir = makeProject(CONFLICTING.replace(/ {2}customers:/g, '  crm.customers:'));
    writeFileSync(join(dir, 'definitions', 'model.yaml'), model);
    const r = await tally(['test', '--project', dir, ...dbArgs(), '--format', 'json'], dir);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual((JSON.parse(r.out) as { tests: JsonTest[] }).tests.map((t) => t.status), ['passed', 'passed']);
  });

  it('the example project passes here too', async () => {
    const dir = join(TMP, `shop-${backend}`);
    mkdirSync(dir, { recursive: true });
    cpSync(join(SHOP, 'tally.yaml'), join(dir, 'tally.yaml'));
    cpSync(join(SHOP, 'definitions'), join(dir, 'definitions'), { recursive: true });
    const r = await tally(['test', '--project', dir, ...dbArgs(), '--format', 'json']);
    assert.equal(r.code, 0, r.out + r.err);
    assert.deepEqual((JSON.parse(r.out) as { passed: number; failed: number }).passed, 3);
  });
});

describe('test: usage', () => {
  it('2: a --db that is neither PostgreSQL nor PGlite, a bad format, an unreachable server', async () => {
    const dir = makeProject(CONFLICTING);
    const a = await tally(['test', '--project', dir, '--db', 'mysql://x']);
    assert.equal(a.code, 2);
    assert.match(a.err, /^tally: 'mysql:\/\/x' is not a database URL/);
    const b = await tally(['test', '--project', dir, '--format', 'markdown']);
    assert.equal(b.code, 2);
    assert.match(b.err, /--format 'markdown' is not one of: text, json, junit/);
    const c = await tally(['test', '--project', dir, '--db', 'postgres://nobody@127.0.0.1:1/x']);
    assert.equal(c.code, 2);
    assert.match(c.err, /^tally: cannot connect to postgres:\/\/nobody@127\.0\.0\.1:1\/x: .* \(database from --db\)$/);
    assert.doesNotMatch(a.err + b.err + c.err, STACK);
  });

  it('0: a project without tests says so', async () => {
    const dir = makeProject('');
    const r = await tally(['test', '--project', dir]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^no tests in the project/);
  });
});
