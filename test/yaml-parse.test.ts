// The two YAML parsers (engine/src/syntax): the fast subset parser must either bail out (null) or
// agree exactly with the yaml-package path, values, spans and all; and it must not bail on the
// files definitions are actually written as, or the speed-up is not real.

import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFastYaml, resolvePlainScalar } from '../engine/src/syntax/fast-yaml.js';
import { parseYamlDocuments, parseYamlWithPackage } from '../engine/src/syntax/load-yaml.js';
import type { YDocument, YMap, YNode, YScalar, YSeq } from '../engine/src/syntax/nodes.js';
import { getNode, toValue } from '../engine/src/syntax/nodes.js';

// ---- helpers ----------------------------------------------------------------------------------

function show(text: string): string {
  return JSON.stringify(text.length > 2000 ? text.slice(0, 2000) + '…' : text);
}

/** The differential property. Returns whether the fast path handled the text. */
function agree(text: string): boolean {
  const full = parseYamlWithPackage(text);
  const fast = parseFastYaml(text);
  if (fast === null) return false;
  assert.deepStrictEqual(fast, full, `fast and yaml paths differ for ${show(text)}`);
  return true;
}

function root(text: string, i = 0): YNode {
  const docs = parseYamlWithPackage(text);
  const r = docs[i]?.root;
  assert.ok(r, `no root in document ${i} of ${show(text)}`);
  return r;
}

function at(node: YNode, ...path: (string | number)[]): YNode {
  let n = node;
  for (const seg of path) {
    if (n.kind === 'map') n = getNode(n, String(seg))!;
    else if (n.kind === 'seq') n = n.items[Number(seg)]!;
    assert.ok(n, `no ${path.join('/')}`);
  }
  return n;
}

/** [start, end) of the first occurrence of `needle` (after `from`, if given). */
function spanOf(text: string, needle: string, from?: string): [number, number] {
  const base = from === undefined ? 0 : text.indexOf(from);
  assert.ok(base >= 0, `${from} not in text`);
  const i = text.indexOf(needle, base);
  assert.ok(i >= 0, `${needle} not in text`);
  return [i, i + needle.length];
}

/** Both paths, same answer, and the fast path did not bail. */
function both(text: string): YDocument[] {
  assert.ok(agree(text), `the fast path bailed on ${show(text)}`);
  return parseYamlWithPackage(text);
}

// ---- typical definition files -----------------------------------------------------------------

const BRIEF_EXAMPLE = `kind: Segment
name: high_value_dormant
version: 2
description: "Customers who bought a lot but went quiet"   # trailing comment
entity: customer
where:
  all:
    - { attribute: country, in: [DE, AT, CH] }
    - { event: purchase, within: 90d, gte: 2 }
    - { event: purchase, sum: amount, gte: 200 }
    - not: { event: login, within: 14d }
    - stage: customer_lifecycle.dormant
---
kind: Kpi
name: d30_retention
version: 1
owner: lifecycle-team
metric:
  retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 }
target:
  gte: 0.35
  by: 2027-03-31
  baseline: { value: 0.28, on: 2026-10-01 }
guardrail: { gte: 0.25 }
tags: [retention, 'core']
`;

const TYPICAL: Record<string, string> = {
  'brief example': BRIEF_EXAMPLE,
  'entity with folded description': `# Data mapping: who the customers are and what they do.
kind: Entity
name: customer
version: 1
description: A registered shop customer (one row per account).
owner: data-platform
tags: [core]
table: customers
key: id
attributes:
  signed_up_at: { column: created_at, type: timestamp }
  email: { type: string }
pii: [email, name]
---
kind: Events
name: events
version: 1
description: >-
  Everything customers do in the shop: signup, login, view_item, add_to_cart, purchase
  ({amount, items}), survey (NPS {score}) and support_ticket ({priority}).
entity: customer
property_types: { amount: number, items: number, score: number }
`,
  'campaign with variants': `# Campaigns: who gets contacted, how, and how success is measured.
kind: Campaign
name: winback_dormant
version: 1
description: Win back valuable DACH customers who went quiet, with a discount test against a holdout.
owner: lifecycle-team
tags: [winback]
audience: { segment: high_value_dormant, exclude: [internal_test_accounts] }
channel: email
schedule: { start: 2026-10-15, end: 2027-01-15 }
entry: once
frequency_cap: { max: 2, per: 7d }
variants:
  - { name: control, weight: 10, holdout: true }
  - { name: ten_off, weight: 45 }
  - { name: twenty_off, weight: 45 }
goal: { event: purchase, within: 14d }
`,
  'lifecycle with block sequences and literal text': `kind: Lifecycle
name: customer_lifecycle
version: 3
owner: "lifecycle-team"
notes: |
  Stages are evaluated top to bottom.
  The first matching stage wins.
stages:
  - name: new
    when: { event: signup, within: 30d }
  - name: active
    when:
      any:
        - { event: purchase, within: 60d }
        - { event: login, within: 14d }
  - name: dormant
    when:
      not: { event: purchase, within: 90d }
  - name: churned
    when: ~
default: churned
`,
  'trait and score with empty values and quoting': `kind: Trait
name: lifetime_value
version: 1
owner:
entity: customer
compute:
  sum: amount
  of:
    event: purchase
  default: 0
format: 'currency: EUR'
label: "Lifetime value (\\u20ac, net of refunds)"
hidden: false
---
kind: Score
name: churn_risk
version: 2
inputs:
- trait: lifetime_value
  weight: -0.4
- trait: days_since_last_purchase
  weight: 0.6
- segment: high_value_dormant
  weight: 1.5e-1
bands: [[0, 0.3, low], [0.3, 0.7, medium], [0.7, 1, high]]
thresholds: {low: 0.3, high: .7}
`,
  'multi-line flow collections and comments': `# A KPI with a long flow map broken over lines.
kind: Kpi
name: activation_rate   # the headline metric
version: 1

metric:
  ratio: {
    numerator: { event: first_purchase, within: 7d },
    denominator: { event: signup },  # everyone who signed up
  }
tags: [
  activation,
  core,
]
...
`,
  'crlf line endings': 'kind: Segment\r\nname: crlf\r\nwhere:\r\n  all:\r\n    - { event: login, within: 7d }\r\n    - not:\r\n        stage: x\r\ndescription: >-\r\n  one\r\n  two\r\n',
};

describe('YAML parsing: fast path vs yaml package', () => {
  describe('typical definition files take the fast path', () => {
    for (const [name, text] of Object.entries(TYPICAL)) {
      it(name, () => {
        const docs = both(text);
        for (const d of docs) assert.deepStrictEqual(d.errors, []);
        assert.deepStrictEqual(parseYamlDocuments(text), docs);
      });
    }

    it('the brief example has the expected values', () => {
      const [seg, kpi] = both(BRIEF_EXAMPLE);
      assert.deepStrictEqual(toValue(seg!.root), {
        kind: 'Segment',
        name: 'high_value_dormant',
        version: 2,
        description: 'Customers who bought a lot but went quiet',
        entity: 'customer',
        where: {
          all: [
            { attribute: 'country', in: ['DE', 'AT', 'CH'] },
            { event: 'purchase', within: '90d', gte: 2 },
            { event: 'purchase', sum: 'amount', gte: 200 },
            { not: { event: 'login', within: '14d' } },
            { stage: 'customer_lifecycle.dormant' },
          ],
        },
      });
      const v = toValue(kpi!.root) as Record<string, any>;
      assert.equal(v.target.by, '2027-03-31');
      assert.equal(v.target.baseline.on, '2026-10-01');
      assert.deepStrictEqual(v.tags, ['retention', 'core']);
    });

    // The repository's own example definitions: the paths must agree; report which files bail.
    const here = dirname(fileURLToPath(import.meta.url));
    const exampleDir = join(here, '..', 'examples', 'shop', 'definitions');
    const exampleFiles = existsSync(exampleDir) ? readdirSync(exampleDir).filter((f) => /\.ya?ml$/.test(f)) : [];
    it(`example definitions agree (${exampleFiles.length} files)`, function () {
      if (exampleFiles.length === 0) this.skip();
      const bailed = exampleFiles.filter((f) => !agree(readFileSync(join(exampleDir, f), 'utf8')));
      assert.deepStrictEqual(bailed, [], 'the fast path bails on these example definition files');
    });
  });

  describe('scalar typing matches the yaml package (core schema)', () => {
    const samples = [
      '1', '-1', '+12', '0012', '-0', '+0', '1_000', '0o17', '0O17', '-0o7', '0x1F', '0X1F', '+0x1', '0b101',
      '1e3', '1E3', '1e+3', '1e-3', '1.5e+3', '1e', 'e3', '.e3', '1.e3', '.5', '+.5', '-.5', '1.', '1.0', '0.35', '1.2.3',
      '.inf', '-.inf', '+.Inf', '.INF', '.nan', '.NaN', '.NAN', '-.nan', 'inf', 'nan', 'NaN',
      '~', 'null', 'Null', 'NULL', 'nULL', 'true', 'True', 'TRUE', 'tRUE', 'false', 'False', 'FALSE',
      'yes', 'no', 'on', 'off', 'y', 'n', '2027-03-31', '2001-12-14t21:59:43.10-05:00', '12:30', '1:20:30',
      '123456789012345678901234567890', '0x123456789abcdef0123', '9007199254740993', '1e400', '-1e400',
      '+', '.', '..', 'a.b', '-a', '-1a', '1 2', '0x', '0o', '0o8',
    ];
    for (const s of samples) {
      it(s, () => {
        const text = `v: ${s}\n`;
        const docs = both(text);
        const v = at(docs[0]!.root!, 'v') as YScalar;
        assert.ok(Object.is(v.value, resolvePlainScalar(s)));
      });
    }
    it('2027-03-31 stays a string; quoted scalars are always strings', () => {
      const docs = both(`a: 2027-03-31\nb: '1'\nc: "true"\nd: 'null'\n`);
      assert.deepStrictEqual(toValue(docs[0]!.root), { a: '2027-03-31', b: '1', c: 'true', d: 'null' });
    });
  });

  describe('escapes in quoted scalars', () => {
    it('single and double quotes', () => {
      const text = `a: 'it''s'\nb: "tab\\there \\"q\\" back\\\\slash \\u00e9 \\x41 \\U0001F600 \\/ \\_ \\0"\nc: ''\nd: ""\n`;
      const docs = both(text);
      assert.deepStrictEqual(toValue(docs[0]!.root), {
        a: "it's",
        b: 'tab\there "q" back\\slash é A 😀 / \u00a0 \0',
        c: '',
        d: '',
      });
    });
    it('bails on an invalid escape and the yaml path reports it', () => {
      const text = 'a: "bad \\q escape"\n';
      assert.equal(parseFastYaml(text), null);
      const [doc] = parseYamlDocuments(text);
      assert.equal(doc!.errors.length, 1);
      assert.match(doc!.errors[0]!.message, /escape/i);
      assert.deepStrictEqual(doc!.errors[0]!.span, spanOf(text, '\\q'));
    });
  });

  describe('spans', () => {
    it('scalars, flow and block collections, documents (brief example)', () => {
      const text = BRIEF_EXAMPLE;
      const docs = both(text);
      const seg = docs[0]!.root as YMap;
      const desc = '"Customers who bought a lot but went quiet"';
      assert.deepStrictEqual(at(seg, 'description').span, spanOf(text, desc));
      assert.deepStrictEqual(seg.pairs[0]!.key.span, [0, 4]);
      assert.deepStrictEqual(at(seg, 'version').span, spanOf(text, '2', 'version'));
      // Block map: first key to the end of the last value.
      const lastValue = 'customer_lifecycle.dormant';
      const segEnd = spanOf(text, lastValue)[1];
      assert.deepStrictEqual(seg.span, [0, segEnd]);
      assert.deepStrictEqual(docs[0]!.span, [0, segEnd]);
      assert.deepStrictEqual(at(seg, 'where').span, [spanOf(text, 'all:')[0], segEnd]);
      // Block seq: first dash to the end of the last item.
      const all = at(seg, 'where', 'all') as YSeq;
      assert.deepStrictEqual(all.span, [spanOf(text, '- { attribute')[0], segEnd]);
      // Flow collections: bracket to bracket.
      const flow = '{ attribute: country, in: [DE, AT, CH] }';
      assert.deepStrictEqual(all.items[0]!.span, spanOf(text, flow));
      assert.deepStrictEqual(at(all, 0, 'in').span, spanOf(text, '[DE, AT, CH]'));
      assert.deepStrictEqual(at(all, 0, 'in', 2).span, spanOf(text, 'CH'));
      // A compact map in a sequence item starts at its first key.
      assert.deepStrictEqual(all.items[3]!.span, [spanOf(text, 'not:')[0], spanOf(text, '{ event: login, within: 14d }')[1]]);
      // Second document.
      const kpi = docs[1]!;
      const kpiStart = spanOf(text, 'kind: Kpi')[0];
      assert.deepStrictEqual(kpi.span, [kpiStart, spanOf(text, "'core']")[1]]);
      assert.deepStrictEqual(at(kpi.root!, 'tags', 1).span, spanOf(text, "'core'"));
      assert.deepStrictEqual(at(kpi.root!, 'target', 'by').span, spanOf(text, '2027-03-31'));
    });

    it('empty values: right after the `:` or the `-`', () => {
      const text = 'a:\nb:   # nothing\nc:\n  - \n  -\n  - x\nd:';
      const docs = both(text);
      const r = docs[0]!.root as YMap;
      const colon = (k: string) => text.indexOf(`${k}:`) + 2;
      assert.deepStrictEqual(at(r, 'a'), { kind: 'scalar', value: null, span: [colon('a'), colon('a')] });
      assert.deepStrictEqual(at(r, 'b').span, [colon('b'), colon('b')]);
      const dash1 = text.indexOf('- \n') + 1;
      const dash2 = text.indexOf('-\n') + 1;
      assert.deepStrictEqual(at(r, 'c', 0).span, [dash1, dash1]);
      assert.deepStrictEqual(at(r, 'c', 1).span, [dash2, dash2]);
      assert.deepStrictEqual(at(r, 'd').span, [text.length, text.length]);
      // The map ends with its (empty) last value, right after the last `:`.
      assert.deepStrictEqual(r.span, [0, text.length]);
    });

    it('empty documents: zero-length, right after `---`; none for an empty or comment-only file', () => {
      const text = '# header\n---\nkind: A\n---   # empty\n---\n';
      const docs = both(text);
      assert.equal(docs.length, 3);
      const second = text.indexOf('---   ') + 3;
      const third = text.lastIndexOf('---') + 3;
      assert.deepStrictEqual(docs[1], { root: null, span: [second, second], errors: [] });
      assert.deepStrictEqual(docs[2], { root: null, span: [third, third], errors: [] });
      assert.deepStrictEqual(both(''), []);
      assert.deepStrictEqual(both('# only\n\n# comments\n'), []);
      assert.deepStrictEqual(both('---\n'), [{ root: null, span: [3, 3], errors: [] }]);
    });

    it('block scalars: indicator to the end of the last content line', () => {
      const text = 'a: >-\n  folded\n  text\n\nb: |\n  kept\n\n  lines\n\n\nc: 1\n';
      const docs = both(text);
      assert.deepStrictEqual(at(docs[0]!.root!, 'a'), { kind: 'scalar', value: 'folded text', span: [3, spanOf(text, 'text')[1]] });
      assert.deepStrictEqual(at(docs[0]!.root!, 'b'), {
        kind: 'scalar',
        value: 'kept\n\nlines\n',
        span: [spanOf(text, '|')[0], spanOf(text, 'lines')[1]],
      });
    });

    it('CRLF: spans exclude the carriage return', () => {
      const text = 'a: x  \r\nb:\r\n- y\r\n';
      const docs = both(text);
      assert.deepStrictEqual(at(docs[0]!.root!, 'a').span, spanOf(text, 'x'));
      assert.deepStrictEqual(at(docs[0]!.root!, 'b').span, spanOf(text, '- y'));
    });
  });

  describe('yaml path: aliases, complex keys, errors', () => {
    it('aliases resolve to the anchored node', () => {
      const text = 'base: &b { event: purchase, within: 30d }\nother: *b\n';
      assert.equal(parseFastYaml(text), null);
      const [doc] = parseYamlDocuments(text);
      assert.deepStrictEqual(doc!.errors, []);
      assert.equal(at(doc!.root!, 'other'), at(doc!.root!, 'base'));
      assert.deepStrictEqual(at(doc!.root!, 'other').span, spanOf(text, '{ event: purchase, within: 30d }'));
      // The map ends at the alias (this occurrence), not at the anchor.
      assert.deepStrictEqual(doc!.root!.span, [0, spanOf(text, '*b')[1]]);
    });

    it('unresolved and recursive aliases are errors, not crashes', () => {
      const [a] = parseYamlDocuments('x: *nope\n');
      assert.deepStrictEqual(a!.errors.map((e) => e.span), [[3, 8]]);
      const [b] = parseYamlDocuments('x: &a { y: *a }\n');
      assert.equal(b!.errors.length, 1);
      assert.match(b!.errors[0]!.message, /recursive/);
    });

    // Issue 10.6: ten anchors each listing the previous one ten times is 10^10 nodes expanded.
    const billionLaughs = ['kind: Segment', 'name: bomb', 'version: 1', 'a0: &a0 [x, x, x, x, x, x, x, x, x, x]']
      .concat(Array.from({ length: 9 }, (_, i) => `a${i + 1}: &a${i + 1} [${Array(10).fill(`*a${i}`).join(', ')}]`))
      .concat(['where: { attribute: country, eq: *a9 }', ''])
      .join('\n');

    it('an alias bomb: one alias-limit error at the first alias past the limit, in milliseconds', () => {
      assert.equal(parseFastYaml(billionLaughs), null, 'the fast parser bails on anchors and aliases');
      const started = performance.now();
      const [doc] = parseYamlDocuments(billionLaughs);
      const elapsed = performance.now() - started;
      // a1 adds 10×11 nodes, a2 10×111 (1,220 so far); each *a2 in a3 adds 1,111: the 8th passes 10,000.
      const line = billionLaughs.split('\n')[6]!;
      const lineStart = billionLaughs.indexOf(line);
      const eighth = lineStart + line.split('*a2', 8).join('*a2').length;
      assert.deepStrictEqual(doc!.errors, [
        { span: [eighth, eighth + 3], code: 'alias-limit', message: 'alias *a2 expands the document past 10000 nodes (aliases of aliases multiply); write the values out or use fewer aliases' },
      ]);
      assert.ok(elapsed < 1000, `took ${elapsed} ms`);
      // Whatever walks the tree afterwards walks a bounded one.
      assert.ok(JSON.stringify(toValue(doc!.root)).length < 200_000);
    });

    it('the alias count is bounded too; ordinary use of aliases stays below both limits', () => {
      const many = 'x: &x 1\nl: [' + Array(1001).fill('*x').join(', ') + ']\n';
      const [doc] = parseYamlDocuments(many);
      assert.equal(doc!.errors.length, 1);
      assert.equal(doc!.errors[0]!.code, 'alias-limit');
      assert.match(doc!.errors[0]!.message, /at most 1000 aliases/);
      assert.equal(doc!.errors[0]!.span[0], 'x: &x 1\nl: ['.length + 1000 * 4);
      const fine = 'x: &x 1\nl: [' + Array(1000).fill('*x').join(', ') + ']\n';
      assert.deepStrictEqual(parseYamlDocuments(fine)[0]!.errors, []);
      // 9 × 1,111 nodes: under the expansion limit.
      const wide = 'a: &a [' + Array(10).fill('[' + Array(100).fill('x').join(', ') + ']').join(', ') + ']\nb: [' + Array(9).fill('*a').join(', ') + ']\n';
      assert.deepStrictEqual(parseYamlDocuments(wide)[0]!.errors, []);
    });

    it('complex keys become string keys with an error', () => {
      const text = '? [a, b]\n: v\n{ c: 1 }: w\n';
      const [doc] = parseYamlDocuments(text);
      const r = doc!.root as YMap;
      assert.deepStrictEqual(r.pairs[0]!.key, { kind: 'scalar', value: '[a, b]', span: spanOf(text, '[a, b]') });
      assert.deepStrictEqual(r.pairs[1]!.key, { kind: 'scalar', value: '{ c: 1 }', span: spanOf(text, '{ c: 1 }') });
      const complex = doc!.errors.filter((e) => e.message === 'complex mapping keys are not supported');
      assert.deepStrictEqual(complex.map((e) => e.span), [spanOf(text, '[a, b]'), spanOf(text, '{ c: 1 }')]);
    });

    it('duplicate key: the repeated key', () => {
      const text = 'kind: Segment\nname: a\nversion: 1\nname: b\n';
      assert.equal(parseFastYaml(text), null);
      const [doc] = parseYamlDocuments(text);
      assert.equal(doc!.errors.length, 1);
      assert.deepStrictEqual(doc!.errors[0]!.span, spanOf(text, 'name', 'version'));
      assert.match(doc!.errors[0]!.message, /Duplicate key name/);
    });

    it('unclosed quote: the opening quote', () => {
      const text = 'name: x\ndescription: "never closed\nowner: y\n';
      assert.equal(parseFastYaml(text), null);
      const [doc] = parseYamlDocuments(text);
      assert.equal(doc!.errors.length, 1);
      const q = text.indexOf('"');
      assert.deepStrictEqual(doc!.errors[0]!.span, [q, q + 1]);
      assert.equal(doc!.errors[0]!.message, 'Missing closing " quote');
    });

    it('bad indentation: the misaligned key', () => {
      const text = 'where:\n  all: 1\n any: 2\n';
      assert.equal(parseFastYaml(text), null);
      const [doc] = parseYamlDocuments(text);
      assert.ok(doc!.errors.length >= 1);
      const e = doc!.errors[0]!;
      assert.deepStrictEqual(e.span, [text.indexOf(' any'), text.indexOf('any')]);
      assert.match(e.message, /same column/);
    });

    it('tab indentation, a flow collection not indented enough', () => {
      const tab = 'a:\n\tb: 1\n';
      const [t] = parseYamlDocuments(tab);
      assert.deepStrictEqual(t!.errors[0]!.span, [3, 4]);
      assert.match(t!.errors[0]!.message, /Tabs/);
      const flow = 'a: [1,\n2]\n';
      const [f] = parseYamlDocuments(flow);
      assert.ok(f!.errors.some((e) => /indented/.test(e.message)));
    });

    it('messages are one line without yaml position suffixes', () => {
      for (const text of ['a: "x', 'a:\n  b: 1\n c: 2', '[a, , b]', 'a: b: c', '{ a: 1', ']]]', '%FOO\n---\n', 'a: !!bogus x']) {
        for (const d of parseYamlDocuments(text)) {
          for (const e of d.errors) {
            assert.ok(!/\n/.test(e.message) && !/at line \d+/.test(e.message), `${show(text)}: ${JSON.stringify(e.message)}`);
            assert.ok(e.span[0] <= e.span[1] && e.span[1] <= text.length, `${show(text)}: span ${e.span}`);
          }
        }
      }
    });
  });

  describe('never throws', () => {
    const nasty = [
      '', '\n', '---', '---\n', '...', '...\n', '--- ...', '# only a comment', '#', ' ', '\t', '\r', '\r\n', '\n\n\n',
      '\ufeff', '\ufeffa: 1', '\ufeff---\na: 1\n', 'a: 1\r\nb: 2\r\n', 'a: 1\rb: 2\r', '\ta: 1', 'a:\n\t- x', 'a: \t1',
      '[', ']', '{', '}', '[[[', ']]]', '{{{', '}}}', '[a, {b: [c, }', '{ a: [ }', '"', "'", '"\\', "'''", '"\\u12"', '"\\UFFFFFFFF"',
      ': ', '? ', '- - - -', '-', '- -', ':::', '&', '*', '!', '&a', '*a', '!!', '&a *a', '*a: *a', '&a [*a]', 'x: &a { y: *a }',
      '|', '>', '|-\n', '>+\n  x\n', 'a: |\n', 'a: |2\n   x', '%', '%YAML 1.2', '%YAML 1.1\n---\na: yes', '%TAG ! tag:x,2000:\n---\n!a b',
      '@', '`', 'a: @x', 'a: `x`', 'a: b: c: d', 'a:\n  - b\n c', 'a\n  b\nc', '- a\nb: c', '"a\nb"', "'a\n\nb'",
      '\u0000\u0001\u0002\u0003', '\u0085\u2028\u2029', '\ud800', 'a: \udfff', '\uffff\ufffe', 'a:\u00a0b',
      'x'.repeat(5000) + ': 1', 'a: ' + 'y'.repeat(100000), '- '.repeat(2000) + 'x', '['.repeat(10000), '{a: '.repeat(5000),
      Array.from({ length: 400 }, (_, i) => ' '.repeat(i) + 'k:').join('\n'), '[' .repeat(300) + ']'.repeat(300),
      'a: 1\na: 2\na: 3', '? a\n? a', '{a: 1, a: 2}', '<<: {a: 1}\nb: 2', '.nan: 1\n.nan: 2', '1: a\n1.0: b',
      'a: "\\\n  b"', 'a: >\n\n  x\n   y\n z', '--- |\n  x\n--- >\n y', '---\n...\n---\n...\n', 'a\n...\nb\n', '... # c',
      Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join(''),
      Array.from({ length: 2000 }, (_, i) => String.fromCharCode((i * 7919) % 65536)).join(''),
    ];
    it(`on ${nasty.length} nasty inputs`, function () {
      this.timeout(60_000);
      for (const text of nasty) {
        let docs: YDocument[] = [];
        assert.doesNotThrow(() => {
          docs = parseYamlDocuments(text);
        }, `threw on ${show(text)}`);
        assert.ok(Array.isArray(docs));
        for (const d of docs) {
          assert.ok(d.span[0] <= d.span[1] && d.span[1] <= text.length, `doc span ${d.span} for ${show(text)}`);
          for (const e of d.errors) assert.ok(e.span[0] <= e.span[1] && e.span[1] <= text.length);
        }
        agree(text);
      }
    });

    it('refuses very deep nesting instead of risking the process', () => {
      const [doc] = parseYamlDocuments('['.repeat(5000));
      assert.equal(doc!.root, null);
      assert.match(doc!.errors[0]!.message, /nested more than/);
    });
  });

  describe('differential, random documents', () => {
    const N = 600;
    const MUTATED = 1500;
    it(`${N} generated documents: fast path equal or bailed, and rarely bailing`, function () {
      this.timeout(120_000);
      const gen = new Gen(20270331);
      let handled = 0;
      const bailed: string[] = [];
      for (let i = 0; i < N; i++) {
        const text = gen.file();
        if (agree(text)) handled++;
        else bailed.push(text);
      }
      // The generator stays (mostly) inside the subset, so most documents must not bail.
      assert.ok(handled >= N * 0.8, `only ${handled}/${N} handled by the fast path; e.g. ${bailed.slice(0, 3).map(show).join('\n')}`);
    });

    it(`${MUTATED} mutated documents: fast path equal or bailed`, function () {
      this.timeout(120_000);
      const gen = new Gen(42);
      let handled = 0;
      for (let i = 0; i < MUTATED; i++) {
        const text = gen.mutate(gen.file());
        assert.doesNotThrow(() => parseYamlDocuments(text));
        if (agree(text)) handled++;
      }
      assert.ok(handled > 0);
    });
  });
});

// ---- a seeded generator of definition-like YAML --------------------------------------------------

type Tree = { t: 'scalar'; s: Scalar } | { t: 'map'; entries: [Scalar, Tree][] } | { t: 'seq'; items: Tree[] } | { t: 'text'; lines: string[] };
/** A scalar token: its plain text, and whether it may be written plain in block/flow context. */
type Scalar = { plain: string; block: boolean; flow: boolean };

const WORDS = ['kind', 'name', 'version', 'owner', 'where', 'all', 'any', 'not', 'event', 'within', 'gte', 'lte', 'sum', 'in',
  'stage', 'tags', 'metric', 'target', 'by', 'baseline', 'value', 'on', 'segment', 'trait', 'weight', 'description', 'x', 'a_b',
  'purchase', 'login', 'DE', 'AT', 'CH', 'retention', 'core', 'lifecycle-team', 'customer_lifecycle.dormant', 'über', '日本'];
const TOKENS: Scalar[] = [
  ...['90d', '14d', 'high_value_dormant', 'http://example.com/a?b=c', 'a b c', 'x#y', 'a:b', '-x', 'foo-bar', 'snake_case',
    'Customers who bought a lot', 'ends with dot.', 'é', '€5', 'a/b', 'with (parens)', 'x=y'].map((p) => ({ plain: p, block: true, flow: true })),
  ...['a, b', 'a [b]', 'x {y}', 'a]'].map((p) => ({ plain: p, block: true, flow: false })),
  ...['1', '-1', '+12', '0012', '-0', '1_000', '0o17', '0x1F', '+0x1', '1e3', '1E-3', '.5', '+.5', '1.', '1.0', '0.35', '1.5e+3',
    '.inf', '-.Inf', '.NaN', '~', 'null', 'Null', 'NULL', 'true', 'False', 'TRUE', 'yes', 'no', '2027-03-31', '2026-10-01',
    '12:30', '123456789012345678901234567890', '-.5e-2'].map((p) => ({ plain: p, block: true, flow: true })),
];
const NEEDS_QUOTES = [': colon first', '# hash first', '- dash space', "it's", 'say "hi"', '[bracket', '{brace', '&amp', '*star',
  '!bang', '|pipe', '>gt', '%pct', '@at', '`tick', '', ' padded ', 'a: b', 'a #b', 'tab\tinside', 'line\nbreak', 'back\\slash', '?q', ',c'];

class Gen {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0;
  }
  rand(): number {
    // mulberry32
    let t = (this.s = (this.s + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.rand() * n);
  }
  chance(p: number): boolean {
    return this.rand() < p;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }

  scalar(): Scalar {
    if (this.chance(0.15)) return { plain: this.pick(NEEDS_QUOTES), block: false, flow: false };
    if (this.chance(0.3)) {
      const w = this.pick(WORDS);
      return { plain: w, block: true, flow: true };
    }
    return this.pick(TOKENS);
  }
  key(): Scalar {
    if (this.chance(0.05)) return this.pick(TOKENS);
    if (this.chance(0.05)) return { plain: this.pick(NEEDS_QUOTES), block: false, flow: false };
    return { plain: this.pick(WORDS) + (this.chance(0.3) ? String(this.int(100)) : ''), block: true, flow: true };
  }
  tree(depth: number): Tree {
    const r = this.rand();
    if (depth <= 0 || r < 0.35) {
      if (this.chance(0.05)) return { t: 'text', lines: Array.from({ length: 1 + this.int(3) }, () => this.pick(WORDS) + ' ' + this.pick(WORDS)) };
      return { t: 'scalar', s: this.scalar() };
    }
    if (r < 0.7) {
      const n = this.chance(0.05) ? 0 : 1 + this.int(5);
      const seen = new Set<string>();
      const entries: [Scalar, Tree][] = [];
      for (let i = 0; i < n; i++) {
        const k = this.key();
        if (seen.has(k.plain)) continue;
        seen.add(k.plain);
        entries.push([k, this.tree(depth - 1)]);
      }
      return { t: 'map', entries };
    }
    const n = this.chance(0.05) ? 0 : 1 + this.int(4);
    return { t: 'seq', items: Array.from({ length: n }, () => this.tree(depth - 1)) };
  }

  quoted(s: string): string {
    if (!/[\n\t\\]/.test(s) && this.chance(0.5)) return `'${s.replace(/'/g, "''")}'`;
    let out = '"';
    for (const ch of s) {
      if (ch === '"') out += '\\"';
      else if (ch === '\\') out += '\\\\';
      else if (ch === '\n') out += '\\n';
      else if (ch === '\t') out += '\\t';
      else if (ch === 'é' && this.chance(0.5)) out += '\\u00e9';
      else if (ch === 'x' && this.chance(0.2)) out += '\\x78';
      else if (ch === ' ' && this.chance(0.1)) out += '\\ ';
      else out += ch;
    }
    return out + '"';
  }
  scalarText(s: Scalar, flow: boolean): string {
    const plainOk = flow ? s.flow : s.block;
    if (plainOk && this.chance(0.8)) return s.plain;
    if (!plainOk && this.chance(0.03)) return s.plain; // deliberately wrong sometimes
    return this.quoted(s.plain);
  }
  comment(): string {
    return this.chance(0.15) ? this.pick([' # c', '   # trailing: comment', ' #', ' # - [x]']) : '';
  }
  /** Interleaved full-line comments and blank lines. */
  noise(indent: number): string {
    if (!this.chance(0.12)) return '';
    const r = this.rand();
    if (r < 0.4) return '\n';
    if (r < 0.6) return ' '.repeat(this.int(indent + 3)) + '#' + (this.chance(0.5) ? ' note' : '') + '\n';
    return ' '.repeat(indent) + '# comment at the block indentation\n';
  }

  flow(tree: Tree, blockIndent: number, multi: boolean): string {
    const brk = (): string => {
      if (!multi || !this.chance(0.4)) return this.chance(0.7) ? ' ' : '';
      return (this.chance(0.2) ? ' # in flow' : '') + '\n' + ' '.repeat(blockIndent + 1 + this.int(4));
    };
    switch (tree.t) {
      case 'scalar':
        return this.scalarText(tree.s, true);
      case 'text':
        return this.quoted(tree.lines.join(' '));
      case 'map': {
        if (tree.entries.length === 0) return this.chance(0.5) ? '{}' : '{ }';
        const parts = tree.entries.map(([k, v]) => {
          const key = this.scalarText(k, true);
          const json = key.startsWith('"') && this.chance(0.3);
          return `${key}:${json ? '' : ' '}${this.flow(v, blockIndent, multi)}`;
        });
        const inner = parts.map((p, i) => (i === 0 ? '' : ',') + brk() + p).join('');
        return `{${inner}${this.chance(0.1) ? ',' : ''}${brk()}}`;
      }
      case 'seq': {
        if (tree.items.length === 0) return this.chance(0.5) ? '[]' : '[ ]';
        const inner = tree.items.map((it, i) => (i === 0 ? '' : ',') + brk() + this.flow(it, blockIndent, multi)).join('');
        return `[${inner}${this.chance(0.1) ? ',' : ''}${brk()}]`;
      }
    }
  }

  blockScalar(lines: string[], indent: number): string {
    const header = this.pick(['|', '|-', '>', '>-']);
    let out = header + this.comment() + '\n';
    lines.forEach((l, i) => {
      if (i > 0 && this.chance(0.2)) out += '\n';
      out += ' '.repeat(indent) + l + '\n';
    });
    if (this.chance(0.2)) out += '\n';
    return out;
  }

  /** The value after `key:` or `- ` (col = the column the value would start at if inline). */
  blockValue(tree: Tree, indent: number, parentIsMap: boolean): string {
    const step = this.pick([1, 2, 2, 2, 3, 4]);
    switch (tree.t) {
      case 'scalar':
        if (tree.s.plain === 'null' && this.chance(0.3)) return this.comment() + '\n';
        return ' ' + this.scalarText(tree.s, false) + this.comment() + '\n';
      case 'text':
        return ' ' + this.blockScalar(tree.lines, indent + step);
      case 'map':
      case 'seq': {
        const empty = tree.t === 'map' ? tree.entries.length === 0 : tree.items.length === 0;
        if (empty || this.chance(0.35)) return ' ' + this.flow(tree, indent, this.chance(0.3)) + this.comment() + '\n';
        const sameIndent = tree.t === 'seq' && parentIsMap && this.chance(0.4);
        return this.comment() + '\n' + this.noise(indent) + this.block(tree, sameIndent ? indent : indent + step);
      }
    }
  }

  /** A block collection at `indent`; `first` replaces the first line's indentation (compact forms). */
  block(tree: Tree, indent: number, first?: string): string {
    let out = '';
    if (tree.t === 'map') {
      tree.entries.forEach(([k, v], i) => {
        if (i > 0) out += this.noise(indent);
        out += (i === 0 && first !== undefined ? first : ' '.repeat(indent)) + this.scalarText(k, false) + ':';
        out += this.blockValue(v, indent, true);
      });
    } else if (tree.t === 'seq') {
      tree.items.forEach((item, i) => {
        if (i > 0) out += this.noise(indent);
        const dash = (i === 0 && first !== undefined ? first : ' '.repeat(indent)) + '-';
        const nonEmpty = (item.t === 'map' && item.entries.length > 0) || (item.t === 'seq' && item.items.length > 0);
        if (nonEmpty && this.chance(0.6)) {
          const gap = this.pick([1, 1, 1, 2, 3]);
          out += this.block(item, indent + 1 + gap, dash + ' '.repeat(gap));
        } else {
          out += dash + this.blockValue(item, indent, false);
        }
      });
    } else {
      const text = tree.t === 'scalar' ? this.scalarText(tree.s, false) : this.quoted(tree.lines.join(' '));
      out += (first ?? ' '.repeat(indent)) + text + '\n';
    }
    return out;
  }

  document(): string {
    const tree: Tree = { t: 'map', entries: [] };
    const seen = new Set<string>(['kind', 'name', 'version']);
    tree.entries.push([{ plain: 'kind', block: true, flow: true }, { t: 'scalar', s: { plain: this.pick(['Segment', 'Kpi', 'Trait']), block: true, flow: true } }]);
    tree.entries.push([{ plain: 'name', block: true, flow: true }, { t: 'scalar', s: { plain: 'n' + this.int(1000), block: true, flow: true } }]);
    tree.entries.push([{ plain: 'version', block: true, flow: true }, { t: 'scalar', s: { plain: String(1 + this.int(3)), block: true, flow: true } }]);
    const n = 1 + this.int(5);
    for (let i = 0; i < n; i++) {
      const k = this.key();
      if (seen.has(k.plain)) continue;
      seen.add(k.plain);
      tree.entries.push([k, this.tree(3)]);
    }
    if (this.chance(0.05)) return this.flow(tree, -1, this.chance(0.5)) + '\n';
    if (this.chance(0.05)) {
      const t = this.tree(3);
      return t.t === 'map' || t.t === 'seq' ? this.block(t, this.int(3)) : this.flow(t, -1, false) + '\n';
    }
    return this.block(tree, 0);
  }

  file(): string {
    let out = this.chance(0.3) ? '# A definition file\n' : '';
    const docs = 1 + this.int(3);
    for (let i = 0; i < docs; i++) {
      if (i > 0 || this.chance(0.3)) out += '---' + (this.chance(0.1) ? ' # doc' : '') + '\n';
      if (this.chance(0.05)) continue; // an empty document
      out += this.document();
      if (this.chance(0.05)) out += '...\n';
    }
    if (this.chance(0.1)) out += this.chance(0.5) ? '# trailing comment\n' : '\n\n';
    if (this.chance(0.1)) out = out.replace(/\n$/, '');
    if (this.chance(0.1)) out = out.replace(/\n/g, '\r\n');
    return out;
  }

  /** One to three random edits: characters, indentation, line order. */
  mutate(text: string): string {
    const edits = 1 + this.int(3);
    for (let e = 0; e < edits; e++) {
      const r = this.rand();
      const i = this.int(text.length + 1);
      if (r < 0.25) text = text.slice(0, i) + text.slice(i + 1);
      else if (r < 0.55) text = text.slice(0, i) + this.pick([' ', ':', '-', '#', "'", '"', '[', ']', '{', '}', ',', '\n', '&', '*', '!', '|', '>', '?', '\t', '\\', '...', '---\n', '\r']) + text.slice(i);
      else {
        const lines = text.split('\n');
        const l = this.int(lines.length);
        const r2 = this.rand();
        if (r2 < 0.3) lines[l] = ' ' + lines[l];
        else if (r2 < 0.6) lines[l] = lines[l]!.replace(/^ /, '');
        else if (r2 < 0.8) lines.splice(l, 0, lines[l]!);
        else if (l + 1 < lines.length) [lines[l], lines[l + 1]] = [lines[l + 1]!, lines[l]!];
        text = lines.join('\n');
      }
    }
    return text;
  }
}
