// The JSON Schemas in schemas/ are the single source of truth for the shape of every definition
// (and the editor's hover docs). These tests pin down that they compile under ajv's strict mode,
// accept every example of the language contract (LANGUAGE.md), reject typical mistakes at the
// exact instance path, and document every key with a valid example.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import type { ErrorObject, ValidateFunction } from 'ajv';
import { parse, parseAllDocuments } from 'yaml';
import { execFileSync } from 'node:child_process';
import * as generated from '../engine/src/syntax/validators.generated.js';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type SchemaNode = { [key: string]: Json };

const SCHEMA_DIR = fileURLToPath(new URL('../schemas/', import.meta.url));
const BASE = 'https://tally.dev/schemas/';
const COMMON_ID = `${BASE}common.schema.json`;

const KIND_FILES: Record<string, string> = {
  Entity: 'entity',
  Events: 'events',
  Segment: 'segment',
  Trait: 'trait',
  Score: 'score',
  Lifecycle: 'lifecycle',
  Kpi: 'kpi',
  Campaign: 'campaign',
  Test: 'test',
  Cohort: 'cohort',
  Funnel: 'funnel',
  Costs: 'costs',
  Destination: 'destination',
  Sync: 'sync',
};
const FILES = ['common', 'project', ...Object.values(KIND_FILES)];

function loadSchema(file: string): SchemaNode {
  return JSON.parse(readFileSync(join(SCHEMA_DIR, `${file}.schema.json`), 'utf8')) as SchemaNode;
}

/** The ajv set-up the engine uses: strict mode, all errors, scalar unions allowed, hover keyword known. */
function makeAjv(): InstanceType<typeof Ajv2020> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addKeyword('markdownDescription');
  ajv.addSchema(loadSchema('common'));
  for (const file of FILES) if (file !== 'common') ajv.addSchema(loadSchema(file));
  return ajv;
}

function validator(ajv: InstanceType<typeof Ajv2020>, id: string): ValidateFunction {
  const v = ajv.getSchema(id);
  assert.ok(v, `no schema ${id}`);
  return v;
}

const errorsText = (errors: ErrorObject[] | null | undefined): string =>
  JSON.stringify(errors?.map((e) => ({ at: e.instancePath, [e.keyword]: e.params, msg: e.message })), null, 1);

/** Parse YAML the way the engine does (YAML 1.2 core schema), every document, failing on syntax errors. */
function yamlDocs(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.2', schema: 'core' }).map((doc) => {
    assert.deepEqual(doc.errors, [], `YAML errors in:\n${text}`);
    return doc.toJS();
  });
}

function kindValidator(ajv: InstanceType<typeof Ajv2020>, doc: unknown): ValidateFunction {
  const kind = (doc as { kind?: unknown }).kind;
  assert.equal(typeof kind, 'string', 'document has no kind');
  const file = KIND_FILES[kind as string];
  assert.ok(file, `unknown kind ${String(kind)}`);
  return validator(ajv, `${BASE}${file}.schema.json`);
}

// ---------------------------------------------------------------- LANGUAGE.md examples (verbatim)

const PROJECT_EXAMPLE = `
tally: 1                          # project file format
name: shop
definitions: ["definitions/**/*.yaml"]   # globs relative to the project root
warehouse:
  url: \${DATABASE_URL}            # \${VAR} interpolated from the environment; optional
deploy:
  schema: tally                   # where deployed objects and state live
timezone: UTC
`;

const DEFINITION_EXAMPLES: Record<string, string> = {
  'data mapping (§3)': `
kind: Entity                 # the thing being segmented: usually a customer
name: customer
version: 1
table: customers             # [schema.]table in the warehouse
key: id
created_at: created_at       # optional column; enables "does not exist yet" at T
attributes:                  # optional typing/renaming; other columns come from the live catalog
  signed_up_at: { column: created_at, type: timestamp }
  country: { type: string }
pii: [email]                 # never shown unmasked in previews
---
kind: Events                 # a table of timestamped facts about entities
name: events
version: 1
entity: customer
table: events
entity_key: customer_id
time: occurred_at
type: event_name             # optional: column holding the event type
properties: properties       # optional jsonb column; its keys are addressable as properties
property_types: { amount: number }      # optional types of jsonb keys (untyped keys are strings)
columns: { revenue: { type: number } }  # optional: real columns usable as properties
`,
  'segment (§4)': `
kind: Segment
name: high_value_dormant
version: 2
entity: customer             # optional when the project has one Entity
where:
  all:
    - { attribute: country, in: [DE, AT, CH] }
    - { event: purchase, within: 90d, gte: 2 }
    - { event: purchase, sum: amount, gte: 200 }
    - not: { event: login, within: 14d }
    - { stage: customer_lifecycle.dormant }
`,
  'traits, scores, lifecycles (§5)': `
kind: Trait                  # a computed per-entity attribute (customer profile)
name: lifetime_value
version: 1
type: number
compute: { event: purchase, sum: amount }         # an event aggregate (also within/where), or
                                                  # last: time | first: time | days_since: last
---
kind: Score                  # e.g. a customer health score, 0..100
name: health
version: 1
components:                  # weighted, each normalised linearly to 0..1 and clamped
  - { trait: sessions_30d, weight: 0.5, from: 0, to: 20 }
  - { trait: days_since_login, weight: 0.5, from: 30, to: 0 }   # from > to inverts
bands:                       # first match wins; last band has no bound
  - { name: healthy, gte: 70 }
  - { name: neutral, gte: 40 }
  - { name: at_risk }
---
kind: Lifecycle              # every entity is in exactly one stage (contract)
name: customer_lifecycle
version: 1
stages:                      # evaluated in order; first match wins
  - { name: new, where: { attribute: signed_up_at, within: 7d } }
  - { name: churned, where: { not: { stream: events, within: 90d } } }
  - { name: dormant, where: { not: { stream: events, within: 30d } } }
  - { name: active }         # the last stage has no \`where\`: the fallback
`,
  'KPI (§6)': `
kind: Kpi
name: d30_retention
version: 1
owner: lifecycle-team                      # Specific: who owns it
description: Share of signups that come back within 30 days
funnel: retention                          # Relevant: acquisition|activation|retention|revenue|referral
metric:                                    # Measurable: exactly one metric form
  retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 }
target:                                    # Achievable + Time-bound
  gte: 0.35
  by: 2027-03-31
  baseline: { value: 0.28, on: 2026-10-01 }
guardrail: { gte: 0.25 }                   # hard floor: CI fails below it
`,
  'campaign (§7)': `
kind: Campaign
name: winback_dormant
version: 1
audience: { segment: high_value_dormant, exclude: [recently_contacted] }
channel: email                                  # email|sms|push|in_app|webhook
schedule: { start: 2027-01-05, end: 2027-02-05 } # or trigger: { event: cart_abandoned }
entry: once                                     # or { every: 30d }: may re-enter after 30d
frequency_cap: { max: 2, per: 7d }
variants:
  - { name: control, weight: 10, holdout: true }
  - { name: ten_off, weight: 45 }
  - { name: twenty_off, weight: 45 }
goal: { event: purchase, within: 14d }
`,
  'test (§10)': `
kind: Test
name: dormant_rule
version: 1
subject: { segment: high_value_dormant }   # or kpi / lifecycle / trait / score
as_of: 2026-06-01T00:00:00Z
given:                                      # rows per mapped table, in isolation from real data
  customers: [ { id: 1, country: DE, created_at: 2025-01-01 } ]
  events:    [ { customer_id: 1, event_name: purchase, occurred_at: 2026-03-01, properties: { amount: 250 } } ]
expect: { members: [1] }                    # or { count: N } / { value: X } / { stages: {...} }
`,
  // The alternatives the comments of the contract mention, spelled out.
  'alternatives named in comments': `
kind: Trait
name: last_login
version: 1
type: timestamp
compute: { event: login, last: time }
---
kind: Trait
name: first_purchase_at
version: 1
type: timestamp
compute: { event: purchase, first: time }
---
kind: Trait
name: days_since_login
version: 1
type: number
compute: { event: login, days_since: last }
---
kind: Trait
name: sessions_30d
version: 1
type: number
compute: { event: session_start, within: 30d, where: [{ property: duration, gte: 10 }] }
---
kind: Campaign
name: cart_reminder
version: 1
audience: { segment: all_customers }
channel: push
trigger: { event: cart_abandoned, delay: 1h, where: [{ property: cart_value, gte: 50 }] }
entry: { every: 30d }
variants:
  - { name: control, weight: 1, holdout: true, description: Nothing is sent }
  - { name: nudge, weight: 1 }
goal: { event: purchase, stream: events, within: 3d }
---
kind: Test
name: lifecycle_counts
version: 1
subject: { lifecycle: customer_lifecycle }
as_of: 2026-06-01
expect: { stages: { new: 1, active: 0, dormant: 2, churned: 0 } }
---
kind: Test
name: retention_value
version: 1
subject: { kpi: d30_retention }
as_of: 2026-06-01T12:30:00+02:00
given: { events: [] }
expect: { value: null }
---
kind: Test
name: ltv_values
version: 1
subject: { trait: lifetime_value }
as_of: 2026-06-01T00:00:00Z
expect: { count: 2, values: { "1": 250, "2": null } }
`,
};

/** The inline condition examples of §4, plus one of every other form and operator. */
const CONDITION_EXAMPLES = `
- { event: purchase, within: 90d, gte: 2 }
- { event: purchase, sum: amount, gte: 200 }
- { stream: events, within: 30d }
- { attribute: country, ne: DE }
- not: { attribute: country, eq: DE }
- any: [ { segment: vip }, { trait: lifetime_value, between: [100, 500] } ]
- { score: health, band: at_risk }
- { score: health, lt: 40 }
- { attribute: plan, not_in: [free, trial] }
- { attribute: country, is_null: true }
- { attribute: email_domain, contains: gmail }
- { attribute: plan, starts_with: team_ }
- { attribute: signed_up_at, before: 2026-01-01 }
- { attribute: signed_up_at, after: 30d }
- { attribute: signed_up_at, before: 2026-01-01T09:00:00Z }
- { event: purchase, avg: amount, gt: 50 }
- { event: purchase, min: amount, gte: 1 }
- { event: purchase, max: amount, lte: 1000 }
- { event: purchase, within: 30d, where: [ { property: currency, in: [EUR, CHF] }, { property: paid_at, within: 7d } ] }
`;

/** One example of every metric form of §6. */
const METRIC_EXAMPLES = `
- count: { segment: high_value_dormant }
- events: { event: purchase, where: [ { property: amount, gte: 10 } ], within: 30d }
- sum: { property: amount, event: purchase, within: 30d }
- avg: { property: amount, stream: events, within: 30d }
- active: { stream: events, within: 1d }
- ratio: { numerator: { count: { segment: paying } }, denominator: { active: { stream: events, within: 30d } } }
- retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 }
- churn: { stream: events, within: 30d }
- nps: { event: nps_response, property: score, within: 90d }
`;

// ---------------------------------------------------------------- walking schemas

interface Visit {
  file: string;
  id: string;
  pointer: string; // JSON pointer of the node inside its file
  node: SchemaNode;
  key?: string; // the property name when the node is a `properties` entry
  parent?: SchemaNode; // the object schema holding that property
  parentPointer?: string;
  isDef: boolean;
}

function walk(file: string, schema: SchemaNode, visit: (v: Visit) => void): void {
  const id = schema.$id as string;
  const go = (node: Json | undefined, pointer: string, extra: Partial<Visit>): void => {
    if (!node || typeof node !== 'object' || Array.isArray(node)) return;
    visit({ file, id, pointer, node, isDef: false, ...extra });
    const props = node.properties as SchemaNode | undefined;
    if (props) {
      for (const [key, sub] of Object.entries(props)) {
        go(sub, `${pointer}/properties/${key}`, { key, parent: node, parentPointer: pointer });
      }
    }
    const defs = node.$defs as SchemaNode | undefined;
    if (defs) for (const [name, sub] of Object.entries(defs)) go(sub, `${pointer}/$defs/${name}`, { isDef: true });
    go(node.items, `${pointer}/items`, {});
    go(node.additionalProperties, `${pointer}/additionalProperties`, {});
    go(node.not, `${pointer}/not`, {});
  };
  go(schema, '', {});
}

function allVisits(): Visit[] {
  const out: Visit[] = [];
  for (const file of FILES) walk(file, loadSchema(file), (v) => out.push(v));
  return out;
}

/** Inline code and fenced YAML blocks in a markdown description. */
function codeSnippets(text: string): string[] {
  const fenced: string[] = [];
  const rest = text.replace(/```yaml\n([\s\S]*?)```/g, (_m, body: string) => {
    fenced.push(body);
    return '';
  });
  const inline = [...rest.matchAll(/`([^`]+)`/g)].map((m) => m[1] as string);
  return [...fenced, ...inline];
}

// ---------------------------------------------------------------- tests

describe('JSON Schemas (schemas/*.schema.json)', () => {
  describe('compilation', () => {
    it('has one schema per kind, plus common and project, with the expected $id', () => {
      const present = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort();
      assert.deepEqual(present, FILES.map((f) => `${f}.schema.json`).sort());
      for (const file of FILES) {
        const schema = loadSchema(file);
        assert.equal(schema.$id, `${BASE}${file}.schema.json`);
        assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema');
      }
    });

    it('compiles every schema and every $defs entry in strict mode', () => {
      const ajv = makeAjv();
      for (const file of FILES) {
        const schema = loadSchema(file);
        if (file !== 'common') validator(ajv, schema.$id as string);
        for (const name of Object.keys((schema.$defs as SchemaNode | undefined) ?? {})) {
          validator(ajv, `${schema.$id as string}#/$defs/${name}`);
        }
      }
      assert.ok(Object.keys(loadSchema('common').$defs as SchemaNode).length >= 20);
    });

    it('the generated standalone validators are up to date with schemas/ (scripts/generate-validators.mjs --check)', function () {
      this.timeout(60_000);
      const root = fileURLToPath(new URL('..', import.meta.url));
      // Throws (a non-zero exit) when the checked-in module differs from what schemas/ give now.
      execFileSync(process.execPath, ['scripts/generate-validators.mjs', '--check'], { cwd: root, stdio: 'pipe' });
    });

    it('the generated validators judge documents exactly as ajv compiling schemas/ at run time (errors and all)', () => {
      const ajv = new Ajv2020({ allErrors: true, strict: false, allowUnionTypes: true, verbose: true });
      for (const file of FILES) ajv.addSchema(loadSchema(file));
      const docs: [string, unknown][] = [];
      for (const f of readdirSync(fileURLToPath(new URL('../examples/shop/definitions/', import.meta.url)))) {
        for (const d of parseAllDocuments(readFileSync(fileURLToPath(new URL(`../examples/shop/definitions/${f}`, import.meta.url)), 'utf8'))) docs.push([f, d.toJS()]);
      }
      // And broken ones: every key of each document in turn set to a wrong type, an unknown key added.
      const broken: [string, unknown][] = [];
      for (const [f, doc] of docs) {
        const obj = doc as Record<string, unknown>;
        for (const k of Object.keys(obj)) broken.push([`${f}:${k}`, { ...obj, [k]: k === 'kind' ? obj[k] : [{ nope: 1 }], equals: 2 }]);
      }
      const exported = generated as unknown as Record<string, ((d: unknown) => boolean) & { errors?: ErrorObject[] | null }>;
      let compared = 0;
      for (const [label, doc] of [...docs, ...broken]) {
        const kind = (doc as { kind?: string }).kind;
        const file = kind ? KIND_FILES[kind] : undefined;
        if (!file) continue;
        const runtime = validator(ajv, loadSchema(file).$id as string);
        const standalone = exported[file]!;
        const a = runtime(doc);
        const b = standalone(doc);
        assert.equal(b, a, label);
        const strip = (errs: ErrorObject[] | null | undefined) => (errs ?? []).map((e) => [e.instancePath, e.schemaPath, e.keyword, JSON.stringify(e.params), e.message, Object.keys((e.parentSchema as { properties?: object } | undefined)?.properties ?? {}).join(',')]);
        assert.deepEqual(strip(standalone.errors), strip(runtime.errors), label);
        compared++;
      }
      assert.ok(compared > 100, `${compared} documents compared`);
    });

    it('each kind schema pins its kind with a const', () => {
      for (const [kind, file] of Object.entries(KIND_FILES)) {
        const props = loadSchema(file).properties as SchemaNode;
        assert.deepEqual((props.kind as SchemaNode).const, kind);
        assert.deepEqual((loadSchema(file).required as Json[]).slice(0, 3), ['kind', 'name', 'version']);
      }
    });

    it('uses no oneOf/anyOf/allOf (one precise error per mistake)', () => {
      for (const v of allVisits()) {
        for (const k of ['oneOf', 'anyOf', 'allOf', 'if']) {
          assert.equal(v.node[k], undefined, `${v.file}#${v.pointer} uses ${k}`);
        }
      }
    });
  });

  describe('LANGUAGE.md examples are valid', () => {
    const ajv = makeAjv();

    it('tally.yaml (§1)', () => {
      const [doc] = yamlDocs(PROJECT_EXAMPLE);
      const v = validator(ajv, `${BASE}project.schema.json`);
      assert.ok(v(doc), errorsText(v.errors));
    });

    for (const [label, text] of Object.entries(DEFINITION_EXAMPLES)) {
      it(label, () => {
        const docs = yamlDocs(text);
        assert.ok(docs.length >= 1);
        for (const doc of docs) {
          const v = kindValidator(ajv, doc);
          assert.ok(v(doc), `${(doc as { name: string }).name}: ${errorsText(v.errors)}`);
        }
      });
    }

    it('dates arrive as strings (YAML 1.2 core schema)', () => {
      const [doc] = yamlDocs(DEFINITION_EXAMPLES['KPI (§6)'] as string) as [{ target: { by: unknown; baseline: { on: unknown } } }];
      assert.equal(doc.target.by, '2027-03-31');
      assert.equal(doc.target.baseline.on, '2026-10-01');
    });

    it('every condition form and operator (§4)', () => {
      const v = validator(ajv, `${COMMON_ID}#/$defs/condition`);
      for (const c of parse(CONDITION_EXAMPLES, { version: '1.2', schema: 'core' }) as unknown[]) {
        assert.ok(v(c), `${JSON.stringify(c)}: ${errorsText(v.errors)}`);
      }
    });

    it('every metric form (§6)', () => {
      const v = validator(ajv, `${COMMON_ID}#/$defs/metric`);
      for (const m of parse(METRIC_EXAMPLES, { version: '1.2', schema: 'core' }) as unknown[]) {
        assert.ok(v(m), `${JSON.stringify(m)}: ${errorsText(v.errors)}`);
      }
    });
  });

  describe('invalid documents are rejected at the right place', () => {
    const ajv = makeAjv();
    const SEGMENT = `
kind: Segment
name: high_value_dormant
version: 2
where:
  all:
    - { attribute: country, in: [DE, AT, CH] }
    - { event: purchase, within: 90d, gte: 2 }
    - not: { event: login, within: 14d }
`;
    const CAMPAIGN = DEFINITION_EXAMPLES['campaign (§7)'] as string;

    /** Apply `edit` to the parsed example, validate, and return the errors. */
    function errorsFor(text: string, edit: (doc: any) => void): ErrorObject[] {
      const [doc] = yamlDocs(text);
      edit(doc);
      const v = kindValidator(ajv, doc);
      assert.equal(v(doc), false, 'expected the document to be rejected');
      return v.errors ?? [];
    }

    /** Exactly one error, at `instancePath`, from `keyword`. */
    function expectOne(errors: ErrorObject[], instancePath: string, keyword: string): ErrorObject {
      assert.equal(errors.length, 1, errorsText(errors));
      const [e] = errors as [ErrorObject];
      assert.equal(e.instancePath, instancePath, errorsText(errors));
      assert.equal(e.keyword, keyword, errorsText(errors));
      return e;
    }

    it('an unknown key in a condition', () => {
      const e = expectOne(
        errorsFor(SEGMENT, (d) => {
          d.where.all[0] = { atribute: 'country', in: ['DE'] };
        }),
        '/where/all/0',
        'additionalProperties',
      );
      assert.equal(e.params.additionalProperty, 'atribute');
    });

    it('an unknown key in a nested `not` condition', () => {
      const e = expectOne(
        errorsFor(SEGMENT, (d) => {
          d.where.all[2].not.whitin = '14d';
        }),
        '/where/all/2/not',
        'additionalProperties',
      );
      assert.equal(e.params.additionalProperty, 'whitin');
    });

    it('a bad duration `90 days`', () => {
      expectOne(
        errorsFor(SEGMENT, (d) => {
          d.where.all[1].within = '90 days';
        }),
        '/where/all/1/within',
        'pattern',
      );
    });

    it('a bad name `High-Value`', () => {
      expectOne(
        errorsFor(SEGMENT, (d) => {
          d.name = 'High-Value';
        }),
        '/name',
        'pattern',
      );
    });

    it('`version: 0`', () => {
      expectOne(
        errorsFor(SEGMENT, (d) => {
          d.version = 0;
        }),
        '/version',
        'minimum',
      );
    });

    it('a variant weight of -1', () => {
      expectOne(
        errorsFor(CAMPAIGN, (d) => {
          d.variants[1].weight = -1;
        }),
        '/variants/1/weight',
        'minimum',
      );
    });

    it('a typo in a top-level key', () => {
      const e = expectOne(
        errorsFor(SEGMENT, (d) => {
          d.wehre = d.where;
          delete d.where;
        }).filter((x) => x.keyword !== 'required'),
        '',
        'additionalProperties',
      );
      assert.equal(e.params.additionalProperty, 'wehre');
    });

    it('a missing required key', () => {
      const e = expectOne(
        errorsFor(SEGMENT, (d) => {
          delete d.where;
        }),
        '',
        'required',
      );
      assert.equal(e.params.missingProperty, 'where');
    });

    it('an unknown key in an event property filter', () => {
      expectOne(
        errorsFor(SEGMENT, (d) => {
          d.where.all[1].where = [{ property: 'amount', gte: 1, op: 'x' }];
        }),
        '/where/all/1/where/0',
        'additionalProperties',
      );
    });

    it('operator values of the wrong shape', () => {
      expectOne(errorsFor(SEGMENT, (d) => void (d.where.all[0].in = [])), '/where/all/0/in', 'minItems');
      expectOne(errorsFor(SEGMENT, (d) => void (d.where.all[0] = { trait: 'ltv', between: [1, 2, 3] })), '/where/all/0/between', 'maxItems');
      expectOne(errorsFor(SEGMENT, (d) => void (d.where.all[0] = { attribute: 'x', is_null: 'yes' })), '/where/all/0/is_null', 'type');
      expectOne(errorsFor(SEGMENT, (d) => void (d.where.all[0] = { attribute: 'x', before: 'last week' })), '/where/all/0/before', 'pattern');
      expectOne(errorsFor(SEGMENT, (d) => void (d.where.all[0] = { stage: 'dormant' })), '/where/all/0/stage', 'pattern');
    });

    it('closed sets: channel, funnel, trait days_since, kind', () => {
      expectOne(errorsFor(CAMPAIGN, (d) => void (d.channel = 'fax')), '/channel', 'enum');
      expectOne(errorsFor(DEFINITION_EXAMPLES['KPI (§6)'] as string, (d) => void (d.funnel = 'growth')), '/funnel', 'enum');
      expectOne(
        errorsFor('kind: Trait\nname: t\nversion: 1\ntype: number\ncompute: { event: login, days_since: middle }', () => {}),
        '/compute/days_since',
        'enum',
      );
      expectOne(errorsFor('kind: Trait\nname: t\nversion: 1\ntype: integer\ncompute: {}', () => {}), '/type', 'enum');
    });

    it('KPI target, guardrail and metric shapes', () => {
      const KPI = DEFINITION_EXAMPLES['KPI (§6)'] as string;
      expectOne(errorsFor(KPI, (d) => void (d.target.by = '31/03/2027')), '/target/by', 'pattern');
      expectOne(errorsFor(KPI, (d) => void (d.guardrail = { eq: 0.3 })), '/guardrail', 'additionalProperties');
      expectOne(errorsFor(KPI, (d) => void delete d.target.baseline.on), '/target/baseline', 'required');
      expectOne(
        errorsFor(KPI, (d) => void (d.metric = { ratio: { numerator: { active: { within: '30d' } } } })),
        '/metric/ratio',
        'required',
      );
      expectOne(
        errorsFor(KPI, (d) => void (d.metric = { ratio: { numerator: { actives: {} }, denominator: { active: { stream: 'events', within: '30d' } } } })),
        '/metric/ratio/numerator',
        'additionalProperties',
      );
    });

    it('campaign entry, cap and goal', () => {
      expectOne(errorsFor(CAMPAIGN, (d) => void (d.entry = 'twice')), '/entry', 'pattern');
      expectOne(errorsFor(CAMPAIGN, (d) => void (d.entry = { every: '30 days' })), '/entry/every', 'pattern');
      expectOne(errorsFor(CAMPAIGN, (d) => void (d.frequency_cap.max = 0)), '/frequency_cap/max', 'minimum');
      expectOne(errorsFor(CAMPAIGN, (d) => void delete d.goal.within), '/goal', 'required');
    });

    it('test subject names exactly one definition', () => {
      const TEST = DEFINITION_EXAMPLES['test (§10)'] as string;
      expectOne(errorsFor(TEST, (d) => void (d.subject.kpi = 'x')), '/subject', 'maxProperties');
      expectOne(errorsFor(TEST, (d) => void (d.subject = {})), '/subject', 'minProperties');
      expectOne(errorsFor(TEST, (d) => void (d.given.events = [1])), '/given/events/0', 'type');
    });

    it('tally.yaml', () => {
      const v = validator(ajv, `${BASE}project.schema.json`);
      const [doc] = yamlDocs(PROJECT_EXAMPLE) as [any];
      doc.tally = 2;
      doc.warehouse.uri = 'x';
      assert.equal(v(doc), false);
      assert.deepEqual(
        v.errors?.map((e) => [e.instancePath, e.keyword]),
        [
          ['/tally', 'const'],
          ['/warehouse', 'additionalProperties'],
        ],
      );
    });
  });

  describe('documentation (editor hover)', () => {
    const visits = allVisits();

    it('every kind schema has a title and a description', () => {
      for (const file of FILES) {
        const schema = loadSchema(file);
        assert.equal(typeof schema.title, 'string', `${file}: title`);
        assert.ok(typeof schema.description === 'string' && schema.description.length > 20, `${file}: description`);
      }
    });

    it('every property and every $defs entry has a description', () => {
      let checked = 0;
      for (const v of visits) {
        if (v.key === undefined && !v.isDef) continue;
        const where = `${v.file}.schema.json#${v.pointer}`;
        assert.equal(typeof v.node.description, 'string', `${where} has no description`);
        assert.ok((v.node.description as string).length >= 20, `${where}: description too short`);
        checked++;
      }
      assert.ok(checked > 150, `only ${checked} properties checked`);
    });

    it('property descriptions carry an example; markdownDescription mirrors description', () => {
      for (const v of visits) {
        const where = `${v.file}.schema.json#${v.pointer}`;
        const desc = v.node.description;
        if (typeof desc !== 'string') continue;
        if (v.key !== undefined) assert.match(desc, /Examples?:/, `${where}: no example`);
        if (/[`*]/.test(desc)) assert.equal(v.node.markdownDescription, desc, `${where}: markdownDescription`);
        else assert.equal(v.node.markdownDescription, undefined, `${where}: stray markdownDescription`);
      }
    });

    it('every object with known keys has additionalProperties: false', () => {
      for (const v of visits) {
        if (v.node.properties) {
          assert.equal(v.node.additionalProperties, false, `${v.file}.schema.json#${v.pointer}`);
        }
      }
    });

    it('the YAML examples in descriptions are themselves valid', () => {
      const ajv = makeAjv();
      let checked = 0;
      const failures: string[] = [];
      const check = (id: string, pointer: string, value: unknown, snippet: string, where: string): void => {
        const v = validator(ajv, `${id}#${pointer}`);
        if (!v(value)) failures.push(`${where}: example \`${snippet}\` is invalid: ${errorsText(v.errors)}`);
        checked++;
      };
      for (const v of visits) {
        const desc = v.node.description;
        if (typeof desc !== 'string') continue;
        const where = `${v.file}.schema.json#${v.pointer}`;
        const isObject = v.node.type === 'object';
        for (const snippet of codeSnippets(desc)) {
          const s = snippet.trim();
          if (v.key !== undefined && s.startsWith(`${v.key}:`)) {
            const parsed = parse(s, { version: '1.2', schema: 'core' }) as Record<string, unknown>;
            check(v.id, v.pointer, parsed[v.key], s, where);
          } else if (s.startsWith('{')) {
            const parsed = parse(s, { version: '1.2', schema: 'core' }) as unknown;
            // An object example illustrates the node itself if it is an object, else its parent object.
            if (isObject) check(v.id, v.pointer, parsed, s, where);
            else if (v.parentPointer !== undefined) check(v.id, v.parentPointer, parsed, s, where);
          } else if (v.pointer === '' && /^(kind|tally):/.test(s)) {
            check(v.id, '', parse(s, { version: '1.2', schema: 'core' }), s, where);
          }
        }
      }
      assert.deepEqual(failures, []);
      assert.ok(checked > 150, `only ${checked} examples checked`);
    });
  });
});
