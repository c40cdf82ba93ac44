// KPI breakdowns (`breakdown:`, issue 13.1): every metric form per group, against
//  - the in-memory oracle (test/oracle/evaluate.ts) over the correctness data (NULL attribute
//    values, orphan keys, entities created after T, empty groups, a ratio with zero-denominator
//    groups): the groups are assigned here, in TypeScript, from the oracle's own per-entity values
//    (attributes, lifecycle stages, score bands, segment members), and each group's value is the
//    oracle's KPI value over a copy of the data holding only that group's customers (every other
//    event key is then an orphan, which counts for nothing);
//  - hand-written SQL for two cases;
// on PGlite and PostgreSQL; plus the lowering diagnostics, `check` failing on a group, and an
// EXPLAIN shape test (no per-row reads of the events table) on the example shop.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanguageService, Project, checkFails, checkText, checkMarkdown, checkJson, compileMetricBreakdown, compileMetric, type Analysis } from '../engine/src/index.js';
import { checkKpis } from '../engine/src/kpi/check.js';
import { preview, type KpiPreview } from '../engine/src/preview/preview.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { impactLine } from '../engine/src/deploy/plan-render.js';
import type { PlanItem } from '../engine/src/deploy/plan.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { DEFAULT_ANCHOR } from '../examples/shop/generate.js';
import { createTestDb, forEachBackend, postgresReachable, type TestDb } from './helpers/databases.js';
import { explainJson, perRowProbes, type PlanNode } from './helpers/explain-shape.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';
import { SHOP, shopDb, type ShopDb } from './helpers/shop.js';
import { EDGE, T, T2, generateData, loadData, type Customer } from './oracle/data.js';
import { Oracle, parseDefinitions } from './oracle/evaluate.js';

const DATA = generateData();
const TALLY = `tally: 1\nname: breakdowns\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n`;
const MODEL = model({
  attributes: { id: 'number', signed_up_at: SIGNED_UP_AT, created_at: 'timestamp', email: 'string', country: 'string', plan: 'string', score_hint: 'number', vip: 'boolean' },
  propertyTypes: 'amount: number, score: number',
});

const docs = (...xs: string[]) => xs.join('---\n');
const trait = (name: string, compute: string) => `kind: Trait\nname: ${name}\nversion: 1\ntype: number\ncompute: ${compute}\n`;
const PROFILE = docs(
  trait('ltv', '{ event: purchase, sum: amount }'),
  trait('purchases_90d', '{ event: purchase, within: 90d }'),
  trait('sessions_30d', '{ event: login, within: 30d }'),
  trait('days_since_login', '{ event: login, days_since: last }'),
  // No fallback band: entities scoring 30 or less have no band, the (null) group.
  `kind: Score
name: health
version: 1
components:
  - { trait: sessions_30d, weight: 0.3, from: 0, to: 6 }
  - { trait: days_since_login, weight: 0.3, from: 60, to: 0 }
  - { trait: purchases_90d, weight: 0.25, from: 0, to: 3 }
  - { trait: ltv, weight: 0.15, from: 0, to: 500 }
bands:
  - { name: healthy, gte: 60 }
  - { name: neutral, gt: 30 }
`,
  `kind: Lifecycle
name: lc
version: 1
stages:
  - { name: new, where: { attribute: signed_up_at, within: 7d } }
  - { name: churned, where: { not: { stream: events, within: 90d } } }
  - { name: dormant, where: { not: { stream: events, within: 30d } } }
  - { name: active }
`,
  'kind: Segment\nname: big\nversion: 1\nwhere: { trait: ltv, gte: 200 }\n',
  'kind: Segment\nname: de\nversion: 1\nwhere: { attribute: country, eq: DE }\n',
  'kind: Segment\nname: nobody\nversion: 1\nwhere: { attribute: country, eq: ZZ }\n',
);

const FORMS: Record<string, string> = {
  count: '{ count: { event: purchase, within: 90d } }',
  events: '{ events: { event: login, within: 30d } }',
  sum: '{ sum: { property: amount, event: purchase, within: 90d } }',
  avg: '{ avg: { property: amount, event: purchase, within: 90d } }',
  active: '{ active: { event: login, within: 30d } }',
  ratio_zero: '{ ratio: { numerator: { events: { event: purchase, within: 7d } }, denominator: { active: { event: signup, within: 5d } } } }',
  retention: '{ retention: { cohort: { event: signup, within: 120d }, return: { event: login }, days: 7 } }',
  churn: '{ churn: { event: login, within: 30d } }',
  nps: '{ nps: { event: survey, property: score, within: 90d } }',
  count_distinct: '{ count_distinct: { property: amount, event: purchase, within: 90d } }',
};

const BREAKDOWNS: Record<string, string> = {
  country: '{ attribute: country }',
  plan_top1: '{ attribute: plan, top: 1 }',
  lifecycle: '{ lifecycle: lc }',
  score: '{ score: health }',
  segments: '{ segments: [big, de, nobody] }',
};

const kpi = (metric: string, breakdown: string, extra = '') =>
  `kind: Kpi\nname: k\nversion: 1\nowner: growth\ndescription: test kpi\nfunnel: retention\nmetric: ${metric}\ntarget: { gte: 0, by: 2027-03-31 }\nbreakdown: ${breakdown}\n${extra}`;

interface Group {
  group: string;
  members: Customer[];
}

/** The groups in display order, assigned in TypeScript from the oracle's per-entity values. */
function oracleGroups(o: Oracle, by: string, at: number): Group[] {
  const existing = o.existing(at);
  const byValue = (value: (c: Customer) => string | null, known: string[] | null, top: number | null): Group[] => {
    const buckets = new Map<string | null, Customer[]>();
    for (const c of existing) {
      const v = value(c);
      buckets.set(v, [...(buckets.get(v) ?? []), c]);
    }
    const nulls = buckets.get(null) ?? [];
    const out: Group[] = [];
    if (known) out.push(...known.map((k) => ({ group: k, members: buckets.get(k) ?? [] })));
    else {
      const ranked = [...buckets.entries()].filter(([v]) => v !== null).sort((a, b) => b[1].length - a[1].length || (a[0]! < b[0]! ? -1 : 1));
      const kept = top === null ? ranked : ranked.slice(0, top);
      out.push(...kept.map(([v, m]) => ({ group: v!, members: m })));
      if (top !== null && ranked.length > top) out.push({ group: '(other)', members: ranked.slice(top).flatMap(([, m]) => m) });
    }
    if (nulls.length) out.push({ group: '(null)', members: nulls });
    return out;
  };
  switch (by) {
    case 'country':
      return byValue((c) => c.country, null, null);
    case 'plan_top1':
      return byValue((c) => c.plan, null, 1);
    case 'lifecycle': {
      const st = o.lifecycle('lc', at);
      return byValue((c) => st.get(c.id) ?? null, ['new', 'churned', 'dormant', 'active'], null);
    }
    case 'score': {
      const sc = o.score('health', at);
      return byValue((c) => o.bandOf('health', sc.get(c.id)!), ['healthy', 'neutral'], null);
    }
    case 'segments':
      return ['big', 'de', 'nobody'].map((s) => {
        const m = o.members(s, at);
        return { group: s, members: existing.filter((c) => m.has(c.id)) };
      });
  }
  throw new Error(by);
}

function close(a: number | null, b: number | null): boolean {
  if (a === null || b === null) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));
}

describe('breakdown oracle (self-checks)', () => {
  it('the data holds what the breakdown cases need: NULL attributes, orphans, later entities, empty groups, zero denominators', () => {
    const defs = parseDefinitions(MODEL, PROFILE, kpi(FORMS.ratio_zero!, BREAKDOWNS.plan_top1!));
    const o = new Oracle(DATA, defs);
    const at = T.getTime();
    assert.ok(o.existing(at).some((c) => c.country === null) && o.existing(at).some((c) => c.plan === null), 'NULL attribute values');
    assert.ok(!DATA.customers.some((c) => c.id === EDGE.orphan), 'orphan keys');
    assert.ok(!o.existsAt(EDGE.importedAfterT, at), 'an entity created after T');
    const groups = oracleGroups(o, 'segments', at);
    assert.equal(groups.find((g) => g.group === 'nobody')!.members.length, 0, 'an empty segment group');
    assert.ok(oracleGroups(o, 'score', at).some((g) => g.group === '(null)'), 'entities in no band');
    const values = oracleGroups(o, 'country', at).map((g) => new Oracle({ customers: g.members, events: DATA.events }, defs).kpi('k', at).value);
    assert.ok(values.some((v) => v === null) && values.some((v) => v !== null), `a ratio with zero-denominator groups: ${values.join(', ')}`);
  });
});

forEachBackend('KPI breakdowns', (backend) => {
  let tdb: TestDb | undefined;
  let catalog: Catalog;

  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await loadData(tdb.db, DATA);
    const p = new Project('/virtual/bd', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(tdb.db, p.analyze({ now: T }).definitions);
  });

  after(async () => {
    await tdb?.drop();
  });

  function analyze(yaml: string, at: Date): Analysis {
    const p = new Project('/virtual/bd', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/profile.yaml', PROFILE);
    p.setFile('definitions/kpi.yaml', yaml);
    const a = p.analyze({ now: at, catalog });
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.file}:${d.range.start.line + 1} ${d.code} ${d.message}`), []);
    return a;
  }

  for (const [form, metric] of Object.entries(FORMS)) {
    for (const [by, breakdown] of Object.entries(BREAKDOWNS)) {
      for (const at of form === 'count' || form === 'sum' || by === 'country' ? [T, T2] : [T]) {
        it(`${form} by ${by}${at === T2 ? ' @ T2' : ''}`, async function () {
          this.timeout(60_000);
          const yaml = kpi(metric, breakdown);
          const a = analyze(yaml, at);
          const p = (await preview(tdb!.db, a, 'kpi', 'k', { asOf: at, sampleSize: 0 })) as KpiPreview;
          const defs = parseDefinitions(MODEL, PROFILE, yaml);
          const o = new Oracle(DATA, defs);
          const ms = at.getTime();
          assert.ok(close(p.value, o.kpi('k', ms).value), `overall ${p.value} vs oracle ${o.kpi('k', ms).value}`);
          const expected = oracleGroups(o, by, ms).map((g) => ({ group: g.group, size: g.members.length, value: new Oracle({ customers: g.members, events: DATA.events }, defs).kpi('k', ms).value }));
          const got = p.groups!.map((g) => ({ group: g.group, size: g.size, value: g.value }));
          assert.deepEqual(
            got.map((g) => `${g.group}:${g.size}`),
            expected.map((g) => `${g.group}:${g.size}`),
            'groups and sizes',
          );
          for (let i = 0; i < got.length; i++) assert.ok(close(got[i]!.value, expected[i]!.value), `${got[i]!.group}: engine ${got[i]!.value} vs oracle ${expected[i]!.value}`);
          // Inline literals (what `compile` writes) give the same rows.
          const q = a.get('Kpi', 'k')!.resolved.query;
          assert.ok(q?.k === 'metric' && q.breakdown);
          const inline = compileMetricBreakdown(q.metric, q.breakdown, { asOf: { kind: 'instant', at }, literals: 'inline' });
          assert.equal(inline.parameters.length, 0);
          const r = await tdb!.db.query<{ size: string; value: number | null }>(inline.sql, []);
          assert.deepEqual(
            r.rows.map((x) => Number(x.size)),
            expected.map((g) => g.size),
          );
          // The total row (one statement for groups and value): there exactly when the groups
          // partition the entities and the metric adds up; equal to the KPI's own SQL.
          const withTotal = compileMetricBreakdown(q.metric, q.breakdown, { asOf: { kind: 'instant', at }, literals: 'param' }, { withTotal: true });
          assert.equal(withTotal.total, by !== 'segments' && form !== 'avg' && form !== 'count_distinct', 'whether the statement carries the total');
          const rows = (await tdb!.db.query<{ kind: string; size: string; value: number | null }>(withTotal.sql, withTotal.parameters)).rows;
          const totals = rows.filter((x) => x.kind === 'total');
          assert.equal(totals.length, withTotal.total ? 1 : 0);
          assert.deepEqual(rows.filter((x) => x.kind !== 'total').map((x) => Number(x.size)), expected.map((g) => g.size), 'the group rows are unchanged by the total row');
          if (withTotal.total) {
            const own = compileMetric(q.metric, { asOf: { kind: 'instant', at }, literals: 'param' });
            const v = (await tdb!.db.query<{ value: number | null }>(own.sql, own.parameters)).rows[0]!.value;
            const t = totals[0]!.value;
            assert.ok(close(t === null ? null : Number(t), v === null ? null : Number(v)), `total row ${t} vs the KPI's SQL ${v}`);
            assert.equal(Number(totals[0]!.size), o.existing(ms).length, 'the total row counts the existing entities');
          }
        });
      }
    }
  }

  it('matches hand-written SQL: revenue by country (NULL group), and a ratio with zero denominators by plan', async () => {
    const db = tdb!.db;
    const sumA = analyze(kpi(FORMS.sum!, BREAKDOWNS.country!), T);
    const sum = (await preview(db, sumA, 'kpi', 'k', { asOf: T, sampleSize: 0 })) as KpiPreview;
    const hand = await db.query<{ country: string | null; n: string; v: string }>(
      `with c as (select id, country from customers where created_at <= $1::timestamptz or created_at is null),
            s as (select c.country, sum((e.properties->>'amount')::numeric) as v from events e join c on c.id = e.customer_id
                  where e.event_name = 'purchase' and e.occurred_at <= $1::timestamptz and e.occurred_at > $1::timestamptz - interval '90 days' group by c.country)
       select c.country, count(*) as n, coalesce((select s.v from s where s.country is not distinct from c.country), 0) as v from c group by c.country`,
      [T.toISOString()],
    );
    const handMap = new Map(hand.rows.map((r) => [r.country ?? '(null)', [Number(r.n), Number(r.v)]]));
    assert.equal(sum.groups!.length, handMap.size);
    for (const g of sum.groups!) assert.ok(close(g.value, handMap.get(g.group)![1]!) && g.size === handMap.get(g.group)![0], `${g.group}: ${g.size}/${g.value} vs ${handMap.get(g.group)}`);

    const ratioA = analyze(kpi(FORMS.ratio_zero!, '{ attribute: plan }'), T);
    const ratio = (await preview(db, ratioA, 'kpi', 'k', { asOf: T, sampleSize: 0 })) as KpiPreview;
    const hand2 = await db.query<{ plan: string | null; v: number | null }>(
      `with c as (select id, plan from customers where created_at <= $1::timestamptz or created_at is null),
            n as (select c.plan, count(*) as x from events e join c on c.id = e.customer_id where e.event_name = 'purchase' and e.occurred_at <= $1::timestamptz and e.occurred_at > $1::timestamptz - interval '7 days' group by c.plan),
            d as (select c.plan, count(distinct c.id) as x from events e join c on c.id = e.customer_id where e.event_name = 'signup' and e.occurred_at <= $1::timestamptz and e.occurred_at > $1::timestamptz - interval '5 days' group by c.plan),
            g as (select distinct plan from c)
       select g.plan, coalesce(n.x, 0)::float8 / nullif(coalesce(d.x, 0), 0)::float8 as v from g left join n on n.plan is not distinct from g.plan left join d on d.plan is not distinct from g.plan`,
      [T.toISOString()],
    );
    const m2 = new Map(hand2.rows.map((r) => [r.plan ?? '(null)', r.v === null ? null : Number(r.v)]));
    assert.equal(ratio.groups!.length, m2.size);
    for (const g of ratio.groups!) assert.ok(close(g.value, m2.get(g.group)!), `${g.group}: ${g.value} vs ${m2.get(g.group)}`);
    assert.ok(ratio.groups!.some((g) => g.value === null), 'a zero-denominator group reads NULL');
  });

  it('check: a group with a missed target fails the check, named in text, markdown and json', async () => {
    const yaml = kpi(FORMS.active!, '{ lifecycle: lc, targets: { active: { gte: 1000000, by: 2026-01-01 }, new: { gte: 0 } } }');
    const a = analyze(yaml, T);
    const r = await checkKpis(tdb!.db, a, { asOf: T });
    const k = r.kpis[0]!;
    assert.equal(k.status, 'met');
    assert.deepEqual(
      k.groups!.map((g) => [g.group, g.status ?? null]),
      [
        ['new', 'met'],
        ['churned', null],
        ['dormant', null],
        ['active', 'missed'],
      ],
    );
    assert.equal(k.groups!.find((g) => g.group === 'new')!.target!.by, '2027-03-31', '`by` inherited from the KPI target');
    assert.ok(checkFails(r, ['failed', 'missed']));
    assert.ok(!checkFails(r, ['failed']));
    const ctx = { analysis: a, root: '/virtual/bd', cwd: '/virtual/bd', failOn: ['failed', 'missed'] as const };
    assert.match(checkText(r, { ...ctx, failOn: [...ctx.failOn] }), /check failed .*k\[active\] missed/);
    assert.match(checkMarkdown(r, { ...ctx, failOn: [...ctx.failOn] }), /\| active \| .* ⛔ missed \|/);
    const json = checkJson(r, { ...ctx, failOn: [...ctx.failOn] }) as { passed: boolean; kpis: { groups: unknown[] }[] };
    assert.equal(json.passed, false);
    assert.equal(json.kpis[0]!.groups.length, 4);
  });
});

describe('breakdown lowering and resolution', () => {
  const diags = (yaml: string) => {
    const p = new Project('/virtual/bd', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/profile.yaml', PROFILE);
    p.setFile('definitions/kpi.yaml', yaml);
    return p
      .analyze({ now: T })
      .diagnostics.filter((d) => d.file === 'definitions/kpi.yaml' && !d.code.startsWith('smart-'))
      .map((d) => `${d.severity} ${d.code} ${d.message}`);
  };

  it('exactly one grouping; top only with an attribute; unknown groups with did-you-mean', () => {
    const funnel = '---\nkind: Funnel\nname: f\nversion: 1\nwithin: 30d\nsteps:\n  - { name: a, event: signup }\n  - { name: b, event: login }\n';
    assert.deepEqual(diags(kpi('{ conversion: { funnel: f } }', '{ attribute: country }', funnel)).filter((d) => d.startsWith('error')).map((d) => d.split(' ')[1]), ['breakdown-unsupported']);
    assert.deepEqual(diags(kpi(FORMS.count!, '{ top: 3 }')), ['error missing-breakdown a breakdown needs one of `attribute`, `segments`, `lifecycle`, `score` or `trait` (for example `attribute: country`)']);
    assert.match(diags(kpi(FORMS.count!, '{ attribute: country, lifecycle: lc }')).join('\n'), /conflicting-breakdown .*`attribute` and `lifecycle`/);
    assert.match(diags(kpi(FORMS.count!, '{ lifecycle: lc, top: 2 }')).join('\n'), /unexpected-key `top` merges/);
    assert.match(diags(kpi(FORMS.count!, '{ lifecycle: lc, targets: { actve: { gte: 1 } } }')).join('\n'), /error unknown-group .*actve.*did you mean 'active'/);
    assert.match(diags(kpi(FORMS.count!, '{ attribute: country, targets: { (other): { gte: 1 } } }')).join('\n'), /warning unknown-group there is no `\(other\)` group/);
    assert.deepEqual(diags(kpi(FORMS.count!, '{ attribute: country, top: 2, targets: { DE: { gte: 1 }, (null): { gte: 0 }, (other): { gte: 1 } } }')), []);
    assert.match(diags(kpi(FORMS.count!, '{ segments: [big, bgi] }')).join('\n'), /unknown-reference .*bgi/);
    assert.match(diags(kpi(FORMS.count!, '{ lifecycle: lc, targets: { active: { gte: 1, gt: 2 } } }')).join('\n'), /conflicting-comparison .*target of group 'active'/);
  });

  it('a breakdown changes the fingerprint; without one the IR has no breakdown key', () => {
    const fp = (yaml: string) => {
      const p = new Project('/virtual/bd', TALLY);
      p.setFile('definitions/model.yaml', MODEL);
      p.setFile('definitions/profile.yaml', PROFILE);
      p.setFile('definitions/kpi.yaml', yaml);
      const a = p.analyze({ now: T });
      return { fp: a.get('Kpi', 'k')!.fingerprint, q: a.get('Kpi', 'k')!.resolved.query! };
    };
    const plain = fp(kpi(FORMS.count!, '{ attribute: country }').replace(/breakdown: .*\n/, ''));
    assert.ok(!('breakdown' in plain.q));
    assert.notEqual(fp(kpi(FORMS.count!, '{ attribute: country }')).fp, plain.fp);
    assert.notEqual(fp(kpi(FORMS.count!, '{ attribute: country }')).fp, fp(kpi(FORMS.count!, '{ attribute: plan }')).fp);
  });
});

describe('breakdown in tally plan', () => {
  it('shows the groups before and after, changed groups first', () => {
    const g = (group: string, value: number | null, status?: 'met' | 'missed') => ({ group, kind: 'value' as const, size: 1, value, ...(status ? { status } : {}) });
    const item = {
      kind: 'kpi',
      name: 'k',
      status: 'changed',
      impact: { k: 'kpi', before: { value: 1, status: 'met', groups: [g('DE', 1, 'met'), g('FR', 2), g('(other)', 3)] }, after: { value: 1, status: 'met', groups: [g('DE', 1, 'met'), g('FR', 2), g('(other)', 4), g('(null)', null)] } },
    } as unknown as PlanItem;
    const line = impactLine(item, undefined, true);
    assert.match(line, /by group: \(other\) 3 -> 4, \(null\) n\/a -> n\/a, DE 1 \(met\) -> 1 \(met\), FR 2 -> 2$/);
  });
});

describe('breakdown in the editor', () => {
  const text = kpi(FORMS.count!, '{ segments: [big, de] }').replace('breakdown: { segments: [big, de] }\n', 'breakdown:\n  segments: [big, de]\n  top: 3\n');
  const p = new Project('/virtual/bd', TALLY);
  p.setFile('definitions/model.yaml', MODEL);
  p.setFile('definitions/profile.yaml', PROFILE);
  p.setFile('definitions/kpi.yaml', text);
  const svc = new LanguageService(p, () => p.analyze({ now: T }));
  const file = 'definitions/kpi.yaml';

  it('hovers `breakdown` and its keys with the schema docs', () => {
    assert.match(svc.hoverAt(file, text.indexOf('breakdown:') + 2)!.markdown, /per group.*\(null\)/s);
    assert.match(svc.hoverAt(file, text.indexOf('top:') + 1)!.markdown, /largest groups.*\(other\)/s);
  });

  it('completes the breakdown keys and segment names', () => {
    const keys = svc.completionsAt(file, text.indexOf('  segments:') + 2).map((c) => c.label);
    for (const k of ['attribute', 'lifecycle', 'score', 'targets']) assert.ok(keys.includes(k), `${k} in ${keys.join(', ')}`);
    const names = svc.completionsAt(file, text.indexOf('big')).map((c) => c.label);
    assert.deepEqual(names.sort(), ['big', 'de', 'nobody']);
  });

  it('go-to-definition and references reach the segments of a breakdown', () => {
    const defs = svc.definitionAt(file, text.indexOf('de]') + 1);
    assert.equal(defs.length, 1);
    assert.equal(defs[0]!.file, 'definitions/profile.yaml');
  });
});

describe('breakdown query shape [postgres]', function () {
  this.timeout(300_000);
  let shop: ShopDb | undefined;
  let tmp: string;
  let analysis: Analysis;
  const EXTRA = docs(
    kpi('{ churn: { stream: events, within: 30d } }', '{ lifecycle: customer_lifecycle }').replace('name: k', 'name: shape_churn_by_stage'),
    kpi('{ retention: { cohort: { event: signup, within: 60d }, return: { event: login }, days: 7 } }', '{ attribute: country, top: 3 }').replace('name: k', 'name: shape_retention_by_country'),
    kpi('{ nps: { event: survey, property: score, within: 90d } }', '{ attribute: plan }').replace('name: k', 'name: shape_nps_by_plan'),
    kpi('{ ratio: { numerator: { sum: { property: amount, event: purchase, within: 30d } }, denominator: { active: { stream: events, within: 30d } } } }', '{ attribute: country }').replace('name: k', 'name: shape_arpu_by_country'),
    kpi('{ count: { event: purchase, within: 90d, gte: 2 } }', '{ attribute: plan }').replace('name: k', 'name: shape_count_by_plan'),
  );

  before(async function () {
    if (!(await postgresReachable())) this.skip();
    tmp = mkdtempSync(join(tmpdir(), 'tally-breakdown-shape-'));
    shop = await shopDb('postgres', tmp, 5_000);
    const project = Project.load(SHOP);
    project.setFile('definitions/zz_breakdown_shape.yaml', EXTRA);
    analysis = project.analyze({ now: DEFAULT_ANCHOR });
    assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message), []);
  });

  after(async () => {
    await shop?.drop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('no breakdown reads the events table per row (SubPlan or repeated scan)', async () => {
    const problems: string[] = [];
    let checked = 0;
    await shop!.withDb(async (db) => {
      for (const d of analysis.definitions) {
        if (d.kind !== 'Kpi') continue;
        const q = analysis.get('Kpi', d.name)!.resolved.query;
        if (q?.k !== 'metric' || !q.breakdown) continue;
        // activation_by_plan's cohort count probes per member of its 7-to-37-day cohort by design
        // (the same choice as activation_rate: see kpi-shape.test.ts); bounded by the cohort.
        const c = compileMetricBreakdown(q.metric, q.breakdown, { asOf: { kind: 'instant', at: DEFAULT_ANCHOR }, literals: 'param' });
        const found = perRowProbes(await explainJson(db, c.sql, c.parameters), { eventsTables: ['events'] });
        if (d.name === 'activation_by_plan') assert.ok(found.every((f) => /SubPlan|ran \d+ times/.test(f)));
        else for (const p of found) problems.push(`${d.name}: ${p}`);
        checked++;
      }
    });
    assert.ok(checked >= 7, `checked ${checked}`);
    assert.deepEqual(problems, []);
  });

  it('groups and the overall value in one statement: one scan of the events per stream, one of the entities', async () => {
    // revenue_by_country (one leaf) and shape_arpu_by_country (two leaves over one stream: one shared scan).
    const scans = (n: PlanNode, rel: string): number => (n['Relation Name'] === rel ? 1 : 0) + (n.Plans ?? []).reduce((a, c) => a + scans(c, rel), 0);
    await shop!.withDb(async (db) => {
      for (const [name, events] of [['revenue_by_country', 1], ['shape_arpu_by_country', 1]] as const) {
        const q = analysis.get('Kpi', name)!.resolved.query;
        assert.ok(q?.k === 'metric' && q.breakdown, name);
        const c = compileMetricBreakdown(q.metric, q.breakdown, { asOf: { kind: 'instant', at: DEFAULT_ANCHOR }, literals: 'param' }, { withTotal: true });
        assert.ok(c.total, `${name}: the statement carries the overall value`);
        const plan = await explainJson(db, c.sql, c.parameters);
        assert.deepEqual(perRowProbes(plan, { eventsTables: ['events'] }), [], name);
        assert.equal(scans(plan, 'events'), events, `${name}: scans of the events (one per stream)`);
        assert.equal(scans(plan, 'customers'), 1, `${name}: scans of the customers (the groups' values, read once)`);
      }
    });
  });
});
