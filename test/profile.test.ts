// The customer profile's entity forms (issue 14, part A) against an independent in-memory evaluator:
// traits from attributes, `days_since` an attribute, `expr` arithmetic (NULL operands, division by
// zero), score components from attributes, and quantile bands (`bands: { quantiles: N }`) with ties,
// NULL values, fewer entities than bands and entities created after T, on PGlite and PostgreSQL.
// Plus the EXPLAIN shape of a quantile band condition (no per-row probe over events), the
// diagnostics of misuse, and that an absent new key leaves the IR as it was.

import assert from 'node:assert/strict';
import { LanguageService, Project, compileMembers, compileMetric, compileValues, loadCatalog, preview, type Catalog, type SqlOptions, type Strategy } from '../engine/src/index.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { assertNoPerRowProbes } from './helpers/explain-shape.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';
import { DAY, EDGE, T, generateData, loadData, type Customer } from './oracle/data.js';
import { Oracle, parseDefinitions, type Value } from './oracle/evaluate.js';

const DATA = generateData();
const TALLY = 'tally: 1\nname: profile\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const MODEL = model({
  attributes: { id: 'number', signed_up_at: SIGNED_UP_AT, created_at: 'timestamp', email: 'string', country: 'string', plan: 'string', score_hint: 'number', vip: 'boolean' },
  propertyTypes: 'amount: number, score: number',
});

const trait = (name: string, type: string, compute: string, extra = '') => `kind: Trait\nname: ${name}\nversion: 1\ntype: ${type}\ncompute: ${compute}\n${extra}`;
const docs = (...xs: string[]) => xs.join('---\n');

/** Event traits the entity forms build on (the existing oracle evaluates these). */
const BASE = docs(trait('ltv', 'number', '{ event: purchase, sum: amount }'), trait('orders', 'number', '{ event: purchase }'), trait('sessions_30d', 'number', '{ event: login, within: 30d }'));

const PROFILE = docs(
  BASE,
  trait('hint', 'number', '{ attribute: score_hint }', 'bands: { quantiles: 4 }\n'),
  trait('plan_trait', 'string', '{ attribute: plan }'),
  trait('tenure', 'number', '{ days_since: { attribute: signed_up_at } }', 'bands: { quantiles: 3 }\n'),
  trait('per_order', 'number', '{ expr: { divide: [{ trait: ltv }, { trait: orders }] } }', 'bands: { quantiles: 5 }\n'),
  trait('hint_minus_5', 'number', '{ expr: { subtract: [{ attribute: score_hint }, 5] } }'),
  trait('mixed', 'number', '{ expr: { add: [{ trait: ltv }, { multiply: [{ attribute: score_hint }, 10] }, 1] } }'),
  trait('hint_ratio', 'number', '{ expr: { divide: [{ attribute: score_hint }, { trait: hint_minus_5 }] } }'),
  trait('per_tenure_day', 'number', '{ expr: { divide: [{ trait: ltv }, { days_since: { attribute: signed_up_at } }] } }'),
  `kind: Score
name: rfm
version: 1
components:
  - { trait: sessions_30d, weight: 1, from: 0, to: 6 }
  - { trait: orders, weight: 1, from: 0, to: 5 }
  - { attribute: score_hint, weight: 2, from: 0, to: 10 }
bands: { quantiles: 5 }
`,
  `kind: Score
name: coarse
version: 1
components:
  - { trait: orders, weight: 1, from: 0, to: 2 }
bands: { quantiles: 10 }
`,
);

// ------------------------------------------------------------------------------- the evaluator

type Expr = number | { trait: string } | { attribute: string } | { days_since: { attribute: string } } | Record<string, Expr[]>;

/** The entity forms of docs/language.md, evaluated in memory over the generated rows. */
class Profile {
  readonly oracle: Oracle;
  private readonly defs: Map<string, Record<string, unknown>>;
  constructor(yaml: string) {
    const parsed = parseDefinitions(MODEL, yaml) as Record<string, unknown>[];
    this.oracle = new Oracle(DATA, parsed as never);
    this.defs = new Map(parsed.filter((d) => d.kind === 'Trait' || d.kind === 'Score').map((d) => [`${String(d.kind)}:${String(d.name)}`, d]));
  }

  attribute(c: Customer, name: string): Value {
    if (name === 'signed_up_at') return c.created_at;
    return (c as unknown as Record<string, Value>)[name] ?? null;
  }

  eval(e: Expr, c: Customer, asOf: number): Value {
    if (typeof e === 'number') return e;
    if ('trait' in e) return this.trait(e.trait as string, asOf).get(c.id) ?? null;
    if ('attribute' in e) return this.attribute(c, e.attribute as string);
    if ('days_since' in e) {
      const v = this.attribute(c, (e.days_since as { attribute: string }).attribute);
      return v === null ? null : (asOf - (v as Date).getTime()) / DAY;
    }
    const [op, args] = Object.entries(e)[0]! as [string, Expr[]];
    const vs = args.map((a) => this.eval(a, c, asOf));
    if (vs.some((v) => v === null)) return null;
    const ns = vs as number[];
    if (op === 'add') return ns.reduce((a, b) => a + b);
    if (op === 'multiply') return ns.reduce((a, b) => a * b);
    if (op === 'subtract') return ns[0]! - ns[1]!;
    if (op === 'divide') return ns[1] === 0 ? null : ns[0]! / ns[1]!;
    throw new Error(`evaluator: ${op}`);
  }

  trait(name: string, asOf: number): Map<number, Value> {
    const d = this.defs.get(`Trait:${name}`)!;
    const compute = d.compute as Record<string, unknown>;
    const entityForm = 'attribute' in compute || 'expr' in compute || typeof compute.days_since === 'object';
    if (!entityForm) return this.oracle.trait(name, asOf);
    const e = ('expr' in compute ? compute.expr : compute) as Expr;
    return new Map(this.oracle.existing(asOf).map((c) => [c.id, this.eval(e, c, asOf)]));
  }

  score(name: string, asOf: number): Map<number, number> {
    const d = this.defs.get(`Score:${name}`)!;
    const comps = d.components as { trait?: string; attribute?: string; weight: number; from: number; to: number }[];
    const wsum = comps.reduce((s, x) => s + x.weight, 0);
    const out = new Map<number, number>();
    for (const c of this.oracle.existing(asOf)) {
      let s = 0;
      for (const comp of comps) {
        const v = comp.trait ? (this.trait(comp.trait, asOf).get(c.id) ?? null) : this.attribute(c, comp.attribute!);
        if (v !== null) s += comp.weight * Math.min(1, Math.max(0, ((v as number) - comp.from) / (comp.to - comp.from)));
      }
      out.set(c.id, (100 * s) / wsum);
    }
    return out;
  }

  /**
   * The band rule, written from the definition rather than from the SQL: among the n entities
   * with a value, an entity whose value has `below` entities strictly below it is in band
   * 1 + floor(N·below / n); a NULL value is in no band.
   */
  bands(values: Map<number, Value>, n: number): Map<number, number | null> {
    // Numbers are ranked rounded to 9 decimal places (docs/language.md).
    const key = (v: number | Date) => (typeof v === 'number' ? Math.round(v * 1e9) / 1e9 : v.getTime());
    const nums = [...values.values()].filter((v): v is number | Date => v !== null).map(key);
    const out = new Map<number, number | null>();
    for (const [id, v] of values) {
      if (v === null) out.set(id, null);
      else {
        const below = nums.filter((x) => x < key(v as number | Date)).length;
        out.set(id, 1 + Math.floor((n * below) / nums.length));
      }
    }
    return out;
  }
}

const close = (a: number, b: number) => Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));

function sameValue(got: unknown, want: Value): boolean {
  if (want === null) return got === null || got === undefined;
  if (got === null || got === undefined) return false;
  if (typeof want === 'number') return close(Number(got), want);
  if (want instanceof Date) return new Date(got as string).getTime() === want.getTime();
  return got === want;
}

/** An instant at which exactly three customers exist (fewer entities than any band count here). */
const FEW = (() => {
  const times = DATA.customers.map((c) => c.created_at.getTime()).sort((a, b) => a - b);
  return new Date(times[2]!);
})();

// ------------------------------------------------------------------------------- the cases

const TRAITS = ['hint', 'plan_trait', 'tenure', 'per_order', 'hint_minus_5', 'mixed', 'hint_ratio', 'per_tenure_day'];

interface BandCase {
  name: string;
  where: string;
  /** The evaluator's members. */
  expect: (p: Profile, asOf: number) => Set<number>;
  asOf?: Date;
}

function inBand(p: Profile, values: (asOf: number) => Map<number, Value>, n: number, band: number, asOf: number): Set<number> {
  const b = p.bands(values(asOf), n);
  return new Set([...b].filter(([, v]) => v === band).map(([id]) => id));
}

const BAND_CASES: BandCase[] = [
  ...[1, 2, 3, 4, 5].map((k) => ({ name: `score rfm band q${k}`, where: `{ score: rfm, band: q${k} }`, expect: (p: Profile, a: number) => inBand(p, (x) => p.score('rfm', x), 5, k, a) })),
  ...[1, 2, 3, 4].map((k) => ({ name: `trait hint (NULLs, ties) band q${k}`, where: `{ trait: hint, band: q${k} }`, expect: (p: Profile, a: number) => inBand(p, (x) => p.trait('hint', x), 4, k, a) })),
  ...[1, 5].map((k) => ({ name: `trait per_order (divide by zero is NULL) band q${k}`, where: `{ trait: per_order, band: q${k} }`, expect: (p: Profile, a: number) => inBand(p, (x) => p.trait('per_order', x), 5, k, a) })),
  ...[1, 2, 3].map((k) => ({ name: `trait tenure band q${k}`, where: `{ trait: tenure, band: q${k} }`, expect: (p: Profile, a: number) => inBand(p, (x) => p.trait('tenure', x), 3, k, a) })),
  // Few distinct values (0, 1, 2+ orders clamp to 3 scores): most bands are empty, ties fill the rest.
  ...[1, 2, 6, 10].map((k) => ({ name: `score coarse (heavy ties) band q${k}`, where: `{ score: coarse, band: q${k} }`, expect: (p: Profile, a: number) => inBand(p, (x) => p.score('coarse', x), 10, k, a) })),
  {
    name: 'band relative to everyone, not to the other conjuncts',
    where: '{ all: [{ attribute: country, eq: DE }, { score: rfm, band: q5 }] }',
    expect: (p, a) => new Set([...inBand(p, (x) => p.score('rfm', x), 5, 5, a)].filter((id) => DATA.customers.find((c) => c.id === id)!.country === 'DE')),
  },
  {
    name: 'not in a band includes NULL values',
    where: '{ not: { trait: hint, band: q4 } }',
    expect: (p, a) => {
      const top = inBand(p, (x) => p.trait('hint', x), 4, 4, a);
      return new Set(p.oracle.existing(a).map((c) => c.id).filter((id) => !top.has(id)));
    },
  },
  {
    name: 'two bands of one score and an event aggregate',
    where: '{ all: [{ any: [{ score: rfm, band: q4 }, { score: rfm, band: q5 }] }, { event: purchase, within: 90d }] }',
    expect: (p, a) => {
      const top = new Set([...inBand(p, (x) => p.score('rfm', x), 5, 4, a), ...inBand(p, (x) => p.score('rfm', x), 5, 5, a)]);
      return new Set([...top].filter((id) => p.oracle.matching(id, { event: 'purchase', within: '90d' } as never, a, a - 90 * DAY).length > 0));
    },
  },
  ...[1, 4, 7, 10].map((k) => ({ name: `fewer entities than bands: coarse q${k} with 3 customers`, where: `{ score: coarse, band: q${k} }`, asOf: FEW, expect: (p: Profile, a: number) => inBand(p, (x) => p.score('coarse', x), 10, k, a) })),
];

forEachBackend('profile: entity traits, arithmetic, quantile bands', (backend) => {
  let tdb: TestDb | undefined;
  let catalog: Catalog;
  const profile = new Profile(PROFILE);

  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await loadData(tdb.db, DATA);
    const p = new Project('/virtual/proj', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(tdb.db, p.analyze({ now: T }).definitions);
  });
  after(async () => {
    await tdb?.drop();
  });

  const analysis = (extra = '', now = T) => {
    const p = new Project('/virtual/proj', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/profile.yaml', PROFILE + extra);
    const a = p.analyze({ now, catalog });
    const errors = a.diagnostics.filter((d) => d.severity === 'error');
    assert.deepEqual(errors.map((d) => `${d.range.start.line + 1} ${d.code} ${d.message}`), []);
    return a;
  };

  for (const name of TRAITS) {
    it(`trait ${name}: every entity's value`, async () => {
      const a = analysis();
      const q = a.get('Trait', name)!.resolved.query!;
      assert.equal(q.k, 'values');
      const want = profile.trait(name, T.getTime());
      for (const literals of ['param', 'inline'] as const) {
        const c = compileValues(q as never, { asOf: { kind: 'instant', at: T }, literals });
        const rows = (await tdb!.db.query<{ key: unknown; value: unknown }>(c.sql, c.parameters)).rows;
        assert.equal(rows.length, want.size, 'one row per entity existing at T');
        for (const r of rows) assert.ok(sameValue(r.value, want.get(Number(r.key))!), `${name} of ${String(r.key)}: ${String(r.value)} vs ${String(want.get(Number(r.key)))}`);
      }
      // The planted rows: created after T has no row; a NULL attribute gives NULL.
      assert.ok(!want.has(EDGE.createdAfterT));
    });
  }

  it('division by zero and NULL operands are NULL (planted rows)', () => {
    const ratio = profile.trait('hint_ratio', T.getTime());
    assert.equal(DATA.customers.find((c) => c.id === EDGE.noAmountOnly)!.score_hint, 5);
    assert.equal(ratio.get(EDGE.noAmountOnly), null, 'score_hint / (score_hint - 5) at 5');
    const perOrder = profile.trait('per_order', T.getTime());
    assert.equal(perOrder.get(EDGE.noEvents), null, 'ltv / orders with no orders');
    assert.ok([...profile.trait('hint', T.getTime()).values()].some((v) => v === null), 'some NULL attribute');
  });

  it('score with an attribute component: every entity', async () => {
    const a = analysis();
    const q = a.get('Score', 'rfm')!.resolved.query!;
    const c = compileValues(q as never, { asOf: { kind: 'instant', at: T }, literals: 'param' });
    const want = profile.score('rfm', T.getTime());
    const rows = (await tdb!.db.query<{ key: unknown; value: unknown }>(c.sql, c.parameters)).rows;
    assert.equal(rows.length, want.size);
    for (const r of rows) assert.ok(close(Number(r.value), want.get(Number(r.key))!), `rfm of ${String(r.key)}`);
  });

  for (const c of BAND_CASES) {
    const asOf = c.asOf ?? T;
    it(`${c.name}${c.asOf ? ` @ ${asOf.toISOString()}` : ''}`, async () => {
      const a = analysis(`---\nkind: Segment\nname: s\nversion: 1\nwhere: ${c.where}\n`, asOf);
      const q = a.get('Segment', 's')!.resolved.query!;
      assert.equal(q.k, 'members');
      const want = [...c.expect(profile, asOf.getTime())].sort((x, y) => x - y);
      for (const literals of ['param', 'inline'] as const) {
        for (const strategy of ['probe', 'pass', 'auto'] as Strategy[]) {
          const opts: SqlOptions = { asOf: { kind: 'instant', at: asOf }, literals, strategy };
          const sqlq = compileMembers(q as never, opts);
          const got = (await tdb!.db.query<{ key: unknown }>(sqlq.sql, sqlq.parameters)).rows.map((r) => Number(r.key)).sort((x, y) => x - y);
          assert.deepEqual(got, want, `${literals}/${strategy}`);
        }
      }
    });
  }

  it('the bands are not vacuous: ties share a band, some bands are empty, every band of a spread score is used', () => {
    const hint = profile.bands(profile.trait('hint', T.getTime()), 4);
    const byValue = new Map<number, Set<number | null>>();
    for (const [id, b] of hint) {
      const v = profile.trait('hint', T.getTime()).get(id);
      if (v === null) continue;
      byValue.set(v as number, (byValue.get(v as number) ?? new Set()).add(b));
    }
    assert.ok([...byValue.values()].every((s) => s.size === 1), 'equal values, one band');
    assert.ok([...byValue.keys()].length < DATA.customers.length / 2, 'the attribute has ties');
    const coarse = profile.bands(profile.score('coarse', T.getTime()), 10);
    assert.ok(new Set(coarse.values()).size < 10, 'heavy ties leave bands empty');
    const few = profile.bands(profile.score('coarse', FEW.getTime()), 10);
    assert.equal(few.size, 3);
  });

  it('preview: band counts of a quantile score and a quantile trait', async () => {
    const a = analysis();
    for (const [kind, name, n, values] of [
      ['score', 'rfm', 5, () => profile.score('rfm', T.getTime())],
      ['trait', 'hint', 4, () => profile.trait('hint', T.getTime())],
      ['trait', 'per_order', 5, () => profile.trait('per_order', T.getTime())],
    ] as const) {
      const pv = await preview(tdb!.db, a, kind, name, { asOf: T, sampleSize: 5 });
      assert.ok(pv.kind === kind);
      const want: Record<string, number> = {};
      for (let i = 1; i <= n; i++) want[`q${i}`] = 0;
      for (const b of profile.bands(values() as Map<number, Value>, n).values()) if (b !== null) want[`q${b}`]!++;
      assert.deepEqual((pv as { bands?: Record<string, number> }).bands, want, `${kind} ${name}`);
    }
  });

  it('KPI: count of a quantile band and a ratio of two bands (one row, set-based)', async () => {
    const kpi = (name: string, metric: string) => `---\nkind: Kpi\nname: ${name}\nversion: 1\nowner: growth\ndescription: test kpi\nfunnel: retention\nmetric: ${metric}\ntarget: { gte: 0, by: 2027-03-31 }\n`;
    const a = analysis(kpi('top', '{ count: { score: rfm, band: q5 } }') + kpi('share', '{ ratio: { numerator: { count: { trait: hint, band: q4 } }, denominator: { count: { all: [{ attribute: country, eq: DE }, { not: { score: rfm, band: q1 } }] } } } }'));
    const at = T.getTime();
    const top = inBand(profile, (x) => profile.score('rfm', x), 5, 5, at).size;
    const hint4 = inBand(profile, (x) => profile.trait('hint', x), 4, 4, at).size;
    const q1 = inBand(profile, (x) => profile.score('rfm', x), 5, 1, at);
    const de = profile.oracle.existing(at).filter((c) => c.country === 'DE' && !q1.has(c.id)).length;
    for (const [name, want] of [['top', top], ['share', hint4 / de]] as const) {
      const q = a.get('Kpi', name)!.resolved.query!;
      if (q.k !== 'metric') assert.fail(q.k);
      const m = compileMetric(q.metric, { asOf: { kind: 'instant', at: T }, literals: 'param' });
      const v = Number((await tdb!.db.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]!.value);
      assert.ok(close(v, want), `${name}: ${v} vs ${want}`);
    }
  });

  it('EXPLAIN: a quantile band condition reads the events in grouped scans, never per row', async function () {
    if (backend !== 'postgres') this.skip();
    const a = analysis('---\nkind: Segment\nname: s\nversion: 1\nwhere: { all: [{ attribute: country, eq: DE }, { score: rfm, band: q5 }, { trait: per_order, band: q1 }] }\n');
    const q = a.get('Segment', 's')!.resolved.query!;
    const c = compileMembers(q as never, { asOf: { kind: 'instant', at: T }, literals: 'param' });
    assert.match(c.sql, /rank\(\) over \(order by/);
    await assertNoPerRowProbes(tdb!.db, c.sql, c.parameters, { eventsTables: ['events'], label: 's' });
  });
});

// ------------------------------------------------------------------------------- offline: diagnostics, IR

describe('profile: diagnostics and IR', () => {
  const diags = (yaml: string) => {
    const p = new Project('/virtual/proj', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/d.yaml', yaml);
    return p.analyze({ now: T }).diagnostics.map((d) => `${d.code}: ${d.message}`);
  };

  it('a cycle between traits is an error at the reference', () => {
    const d = diags(docs(trait('a', 'number', '{ expr: { add: [{ trait: b }, 1] } }'), trait('b', 'number', '{ expr: { multiply: [{ trait: a }, 2] } }')));
    assert.ok(d.some((x) => x.startsWith('cycle:')), d.join('\n'));
  });

  it('a trait referring to itself is a cycle', () => {
    const d = diags(trait('a', 'number', '{ expr: { add: [{ trait: a }, 1] } }'));
    assert.ok(d.some((x) => x.startsWith('cycle:')), d.join('\n'));
  });

  it('misuse: event keys with an entity form, arithmetic on text, days_since of a number, bands of a text trait, unknown names', () => {
    const d = diags(
      docs(
        trait('t1', 'number', '{ attribute: score_hint, event: purchase }'),
        trait('t2', 'number', '{ expr: { add: [{ attribute: plan }, 1] } }'),
        trait('t3', 'number', '{ days_since: { attribute: score_hint } }'),
        trait('t4', 'string', '{ attribute: plan }', 'bands: { quantiles: 5 }\n'),
        trait('t5', 'number', '{ expr: { divide: [{ trait: lifetim_value }, 2] } }'),
        trait('t6', 'number', '{ expr: { subtract: [1, 2, 3] } }'),
        trait('t7', 'string', '{ attribute: score_hint }'),
        trait('lifetime_value', 'number', '{ event: purchase, sum: amount }'),
        `kind: Segment\nname: s1\nversion: 1\nwhere: { trait: lifetime_value, band: q1 }\n`,
        `kind: Score\nname: sc\nversion: 1\ncomponents:\n  - { attribute: plan, weight: 1, from: 0, to: 1 }\n  - { weight: 1, from: 0, to: 1 }\nbands: { quantiles: 5 }\n`,
        `kind: Segment\nname: s2\nversion: 1\nwhere: { score: sc, band: q6 }\n`,
      ),
    );
    const has = (prefix: string, text: string) => assert.ok(d.some((x) => x.startsWith(prefix) && x.includes(text)), `${prefix} ${text}\n${d.join('\n')}`);
    has('unexpected-key:', '`event` does not belong with `attribute`');
    has('type-mismatch:', '`add` needs numbers');
    has('type-mismatch:', '`days_since` counts days from a timestamp');
    has('type-mismatch:', 'quantile bands rank values');
    has('unknown-reference:', "did you mean 'lifetime_value'");
    has('bad-value:', '`subtract` must NOT have more than 2 items');
    has('type-mismatch:', 'this trait computes a number');
    has('unknown-band:', "trait 'lifetime_value' has no bands");
    has('type-mismatch:', "attribute 'plan' is a string; score components need numbers");
    has('missing-key:', 'a component needs `trait:` or `attribute:`');
    has('unknown-band:', "'q6'");
  });

  it('a quantile band is in the IR only where a condition tests it; the score/trait values are as without bands', () => {
    const a = (bands: string) => {
      const p = new Project('/virtual/proj', TALLY);
      p.setFile('definitions/model.yaml', MODEL);
      p.setFile('definitions/d.yaml', trait('ltv', 'number', '{ event: purchase, sum: amount }', bands));
      return p.analyze({ now: T });
    };
    const plain = a('');
    const banded = a('bands: { quantiles: 5 }\n');
    assert.deepEqual(banded.get('Trait', 'ltv')!.resolved.query, plain.get('Trait', 'ltv')!.resolved.query);
    assert.notEqual(banded.get('Trait', 'ltv')!.fingerprint, plain.get('Trait', 'ltv')!.fingerprint, 'the bands are part of the meaning');
  });
});

describe('profile: editor', () => {
  const open = (text: string) => {
    const p = new Project('/virtual/proj', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/d.yaml', text);
    return new LanguageService(p, () => p.analyze({ now: T }));
  };
  const labels = (svc: LanguageService, file: string, offset: number) => svc.completionsAt(file, offset).map((c) => c.label);
  const DEFS = docs(
    trait('ltv', 'number', '{ event: purchase, sum: amount }', 'bands: { quantiles: 3 }\n'),
    `kind: Score\nname: rfm\nversion: 1\ncomponents:\n  - { attribute: score_hint, weight: 1, from: 0, to: 10 }\nbands: { quantiles: 4 }\n`,
  );

  it('completes quantile band names after `score:` and after `trait:`', () => {
    for (const [cond, want] of [
      ['{ score: rfm, band: ', ['q1', 'q2', 'q3', 'q4']],
      ['{ trait: ltv, band: ', ['q1', 'q2', 'q3']],
    ] as const) {
      const text = `${DEFS}---\nkind: Segment\nname: s\nversion: 1\nwhere: ${cond}q }\n`;
      const svc = open(text);
      const offset = text.indexOf(`${cond}q`) + cond.length;
      const file = 'definitions/d.yaml';
      assert.deepEqual(labels(svc, file, offset), want, cond);
    }
  });

  it('hovers document the new keys from the schema descriptions', () => {
    const text = `${trait('t', 'number', '{ expr: { divide: [{ attribute: score_hint }, 2] } }', 'bands: { quantiles: 5 }\n')}`;
    const svc = open(text);
    const file = 'definitions/d.yaml';
    const hover = (needle: string) => svc.hoverAt(file, text.indexOf(needle) + 1)?.markdown ?? '';
    assert.match(hover('expr'), /Arithmetic over traits, attributes and numbers/);
    assert.match(hover('divide'), /NULL when the second is 0/);
    assert.match(hover('quantiles'), /2 to 100/);
  });
});
