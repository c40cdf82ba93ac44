// Ordered funnels (docs/language.md "Funnels") against two oracles on PGlite and PostgreSQL: an
// in-memory evaluator of the greedy rule below and a hand-written SQL (per-entity lateral
// probes, slow and obvious), over generated events with planted edges: ties at one instant (a
// same-instant event is never the next step), events exactly at t + within (counted) and 1 ms
// later (not), events after T, orphan keys, entities created after T, the entrant's FIRST step-1
// event before the window, NULL properties under a step's `where`, and an empty funnel (no
// entrants: every conversion NULL). Plus diagnostics and an EXPLAIN shape test.
//
// Greedy rule: t0 = the entity's first step-1 event up to T (an entrant when t0 > T - within);
// t_k = the earliest step-k event with t_{k-1} < t_k <= min(T, t_{k-1} + within_k).

import assert from 'node:assert/strict';
import { LanguageService, Project, compileFunnel, compileMetric, loadCatalog, preview, type Catalog } from '../engine/src/index.js';
import type { FunnelPreview } from '../engine/src/protocol.js';
import type { Db } from '../engine/src/db/db.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';
import { DAY, Rng, loadData, type Customer, type Dataset, type Event } from './oracle/data.js';
import { perRowProbes, explainJson } from './helpers/explain-shape.js';

const T = new Date('2026-06-01T00:00:00Z');
const HOUR = 3_600_000;
const TALLY = 'tally: 1\nname: funnels\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const MODEL = model({ attributes: { signed_up_at: SIGNED_UP_AT, country: 'string' }, propertyTypes: 'amount: number' });

// ------------------------------------------------------------------------------------ the data

const ORPHAN = 999_999;

function generate(seed = 11, n = 400): Dataset {
  const rng = new Rng(seed);
  const customers: Customer[] = [];
  const events: Event[] = [];
  const at = (ms: number) => new Date(ms);
  const ev = (id: number, type: string, ms: number, properties: Record<string, unknown> | null = null) => events.push({ customer_id: id, event_name: type, occurred_at: at(ms), properties });
  for (let id = 1; id <= n; id++) {
    // Whole hours, so ties are frequent; some customers are created after T.
    const created = T.getTime() - rng.int(-5, 120) * DAY;
    customers.push({ id, email: `c${id}@x.test`, country: rng.chance(0.2) ? null : 'DE', plan: null, score_hint: null, vip: null, created_at: at(created) });
    let t = created + rng.int(0, 48) * HOUR;
    const k = rng.int(0, 9);
    for (let i = 0; i < k; i++) {
      const type = ['signup', 'login', 'login', 'purchase', 'purchase'][rng.int(0, 4)]!;
      const props = type === 'purchase' ? (rng.chance(0.15) ? null : rng.chance(0.1) ? {} : { amount: rng.int(1, 20) * 10 }) : null;
      ev(id, i === 0 ? 'signup' : type, t, i === 0 ? null : props);
      // 0 h apart: ties; whole days apart: window edges.
      t += rng.chance(0.25) ? 0 : rng.chance(0.3) ? rng.int(1, 10) * DAY : rng.int(1, 72) * HOUR;
    }
  }
  // Planted edges (ids above n).
  const plant = (id: number, createdMs: number, evs: [string, number, Record<string, unknown>?][]) => {
    customers.push({ id, email: `p${id}@x.test`, country: 'FR', plan: null, score_hint: null, vip: null, created_at: at(createdMs) });
    for (const [type, ms, p] of evs) ev(id, type, ms, p ?? null);
  };
  const t0 = T.getTime() - 20 * DAY;
  plant(n + 1, t0 - DAY, [['signup', t0], ['login', t0], ['login', t0 + 7 * DAY]]); // tie not counted; exactly +7d counted
  plant(n + 2, t0 - DAY, [['signup', t0], ['login', t0 + 7 * DAY + 1]]); // 1 ms late
  plant(n + 3, t0 - DAY, [['signup', t0], ['login', t0 + HOUR], ['purchase', T.getTime() + HOUR, { amount: 100 }]]); // purchase after T
  plant(n + 4, T.getTime() + DAY, [['signup', t0], ['login', t0 + HOUR]]); // created after T
  plant(n + 5, t0 - 400 * DAY, [['signup', T.getTime() - 200 * DAY], ['signup', t0], ['login', t0 + HOUR]]); // first signup before the window
  plant(n + 6, t0 - DAY, [['signup', t0], ['login', t0 + HOUR], ['purchase', t0 + 2 * HOUR, { amount: 100 }], ['purchase', t0 + 2 * HOUR, { amount: 100 }]]); // repeat at the same instant
  plant(n + 7, t0 - DAY, [['signup', t0], ['login', t0 + HOUR], ['purchase', t0 + HOUR + 14 * DAY, { amount: 100 }]]); // first purchase exactly +14d
  plant(n + 8, t0 - DAY, [['signup', T.getTime() - 30 * DAY]]); // first signup exactly at T - 30d: outside (T - 30d, T]
  plant(n + 9, t0 - DAY, [['signup', T.getTime()], ['login', T.getTime()]]); // signup exactly at T: entrant; login tie
  ev(ORPHAN, 'signup', t0);
  ev(ORPHAN, 'login', t0 + HOUR);
  return { customers, events };
}

// ------------------------------------------------------------------------------ the oracles

interface StepSpec {
  readonly type: string;
  readonly withinMs?: number;
  readonly where?: (e: Event) => boolean;
}

interface Figures {
  reached: number[];
  medians: (number | null)[];
}

/** The greedy rule in memory. */
function evaluate(data: Dataset, asOf: Date, withinMs: number, steps: readonly StepSpec[]): Figures {
  const T_ = asOf.getTime();
  const existing = new Set(data.customers.filter((c) => c.created_at.getTime() <= T_).map((c) => c.id));
  const byKey = new Map<number, Event[]>();
  for (const e of data.events) if (existing.has(e.customer_id) && e.occurred_at.getTime() <= T_) (byKey.get(e.customer_id) ?? byKey.set(e.customer_id, []).get(e.customer_id)!).push(e);
  const reached = steps.map(() => 0);
  const diffs: number[][] = steps.map(() => []);
  for (const evs of byKey.values()) {
    const matches = (e: Event, s: StepSpec) => e.event_name === s.type && (!s.where || s.where(e));
    const firsts = evs.filter((e) => matches(e, steps[0]!)).map((e) => e.occurred_at.getTime());
    if (!firsts.length) continue;
    let prev = Math.min(...firsts);
    if (!(prev > T_ - withinMs)) continue;
    reached[0]!++;
    for (let k = 1; k < steps.length; k++) {
      const s = steps[k]!;
      const cands = evs.map((e) => (matches(e, s) ? e.occurred_at.getTime() : NaN)).filter((t) => t > prev && (s.withinMs === undefined || t <= prev + s.withinMs));
      if (!cands.length) break;
      const t = Math.min(...cands);
      reached[k]!++;
      diffs[k]!.push((t - prev) / HOUR);
      prev = t;
    }
  }
  const median = (xs: number[]) => {
    if (!xs.length) return null;
    const s = [...xs].sort((a, b) => a - b);
    const m = (s.length - 1) / 2;
    return (s[Math.floor(m)]! + s[Math.ceil(m)]!) / 2;
  };
  return { reached, medians: diffs.map((d, i) => (i === 0 ? null : median(d))) };
}

/** The same rule as a hand-written SQL: per entrant, one lateral probe per step (slow, obvious). */
function handSql(asOf: Date, withinMs: number, steps: readonly { type: string; within?: string; where?: string }[]): string {
  const Tl = `'${asOf.toISOString()}'::timestamptz`;
  const parts = [
    `with f as (select c.id as k, (select min(e.occurred_at) from events e where e.customer_id = c.id and e.event_name = '${steps[0]!.type}' and e.occurred_at <= ${Tl}${steps[0]!.where ? ` and ${steps[0]!.where}` : ''}) as t0 from customers c where c.created_at <= ${Tl})`,
  ];
  let from = `(select k, t0 from f where t0 > ${Tl} - interval '${withinMs / HOUR} hours') s0`;
  const cols: string[] = ['count(s0.t0) as n0'];
  for (let i = 1; i < steps.length; i++) {
    const s = steps[i]!;
    from += ` left join lateral (select min(e.occurred_at) as t${i} from events e where e.customer_id = s0.k and e.event_name = '${s.type}' and e.occurred_at <= ${Tl} and e.occurred_at > s${i - 1}.t${i - 1}${s.within ? ` and e.occurred_at <= s${i - 1}.t${i - 1} + interval '${s.within}'` : ''}${s.where ? ` and ${s.where}` : ''}) s${i} on true`;
    cols.push(`count(s${i}.t${i}) as n${i}`, `percentile_cont(0.5) within group (order by extract(epoch from (s${i}.t${i} - s${i - 1}.t${i - 1})) / 3600.0) as m${i}`);
  }
  return `${parts[0]} select ${cols.join(', ')} from ${from}`;
}

// ---------------------------------------------------------------------------------- the cases

const amountGte50 = (e: Event) => {
  const a = e.properties?.amount;
  return typeof a === 'number' && a >= 50;
};

const CASES = [
  {
    name: 'windows',
    yaml: `kind: Funnel\nname: windows\nversion: 1\nwithin: 30d\nsteps:\n  - { name: s, event: signup }\n  - { name: l, event: login, within: 7d }\n  - { name: p, event: purchase, within: 14d, where: [{ property: amount, gte: 50 }] }\n  - { name: r, event: purchase, within: 30d }\n`,
    within: 30 * DAY,
    steps: [{ type: 'signup' }, { type: 'login', withinMs: 7 * DAY }, { type: 'purchase', withinMs: 14 * DAY, where: amountGte50 }, { type: 'purchase', withinMs: 30 * DAY }] as StepSpec[],
    hand: [{ type: 'signup' }, { type: 'login', within: '7 days' }, { type: 'purchase', within: '14 days', where: `(e.properties ->> 'amount')::numeric >= 50` }, { type: 'purchase', within: '30 days' }],
  },
  {
    name: 'open',
    yaml: `kind: Funnel\nname: open\nversion: 1\nwithin: 90d\nsteps:\n  - { name: s, event: signup }\n  - { name: p, event: purchase }\n  - { name: r, event: purchase }\n  - { name: l, event: login }\n`,
    within: 90 * DAY,
    steps: [{ type: 'signup' }, { type: 'purchase' }, { type: 'purchase' }, { type: 'login' }] as StepSpec[],
    hand: [{ type: 'signup' }, { type: 'purchase' }, { type: 'purchase' }, { type: 'login' }],
  },
  {
    name: 'hourly',
    yaml: `kind: Funnel\nname: hourly\nversion: 1\nwithin: 480h\nsteps:\n  - { name: l, event: login }\n  - { name: p, event: purchase, within: 36h }\n`,
    within: 480 * HOUR,
    steps: [{ type: 'login' }, { type: 'purchase', withinMs: 36 * HOUR }] as StepSpec[],
    hand: [{ type: 'login' }, { type: 'purchase', within: '36 hours' }],
  },
];

const INSTANTS = [T, new Date(T.getTime() - 13 * DAY - 5 * HOUR), new Date('2024-01-01T00:00:00Z')];

const KPIS = `kind: Kpi\nname: e2e\nversion: 1\nmetric: { conversion: { funnel: windows } }\ntarget: { gte: 0.1, by: 2027-01-01 }\n---\nkind: Kpi\nname: step_p\nversion: 1\nmetric: { conversion: { funnel: windows, step: p } }\ntarget: { gte: 0.1, by: 2027-01-01 }\n---\nkind: Kpi\nname: l_to_r\nversion: 1\nmetric: { conversion: { funnel: windows, from: l, to: r } }\ntarget: { gte: 0.1, by: 2027-01-01 }\n---\nkind: Kpi\nname: first_step\nversion: 1\nmetric: { conversion: { funnel: windows, step: s } }\ntarget: { gte: 0.1, by: 2027-01-01 }\n`;

const close = (a: number | null, b: number | null, what: string) => {
  if (a === null || b === null) return assert.equal(a, b, what);
  assert.ok(Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);
};

function project(catalog?: Catalog, asOf = T) {
  const p = new Project('/virtual/funnels', TALLY);
  p.setFile('definitions/model.yaml', MODEL);
  p.setFile('definitions/funnels.yaml', CASES.map((c) => c.yaml).join('---\n'));
  p.setFile('definitions/kpis.yaml', KPIS);
  return p.analyze({ now: asOf, catalog });
}

const DATA = generate();

forEachBackend('funnels against the oracles', (backend) => {
  let tdb: TestDb;
  let catalog: Catalog;
  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await loadData(tdb.db, DATA);
    catalog = await loadCatalog(tdb.db, project().definitions);
  });
  after(async () => tdb?.drop());

  const run = async (db: Db, sql: string, params: readonly unknown[]) => (await db.query<Record<string, unknown>>(sql, [...params])).rows[0]!;
  const num = (v: unknown) => (v === null || v === undefined ? null : Number(v));

  for (const c of CASES) {
    for (const asOf of INSTANTS) {
      it(`${c.name} as of ${asOf.toISOString()}: preview = in-memory oracle = hand-written SQL`, async function () {
        this.timeout(60_000);
        const analysis = project(catalog, asOf);
        assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error'), []);
        const p = (await preview(tdb.db, analysis, 'funnel', c.name, { asOf })) as FunnelPreview;
        const want = evaluate(DATA, asOf, c.within, c.steps);
        const hand = await run(tdb.db, handSql(asOf, c.within, c.hand), []);
        c.steps.forEach((_s, i) => {
          assert.equal(p.steps[i]!.reached, want.reached[i], `${c.name} step ${i} reached`);
          assert.equal(num(hand[`n${i}`]), want.reached[i], `hand SQL step ${i} reached`);
          close(p.steps[i]!.median_hours_from_previous, want.medians[i]!, `${c.name} step ${i} median`);
          if (i > 0) close(num(hand[`m${i}`]), want.medians[i]!, `hand SQL step ${i} median`);
          const prev = i === 0 ? want.reached[0]! : want.reached[i - 1]!;
          close(p.steps[i]!.step_conversion, prev === 0 ? null : want.reached[i]! / prev, 'step conversion');
          close(p.steps[i]!.overall_conversion, want.reached[0] === 0 ? null : want.reached[i]! / want.reached[0]!, 'overall conversion');
        });
        assert.equal(p.entrants, want.reached[0]);
        if (asOf.getFullYear() === 2024) assert.equal(p.entrants, 0, 'no entrants before the data: an empty funnel');
        else assert.ok(want.reached[1]! > 0, 'the case is not vacuous');
      });
    }
  }

  it('the planted edges land where the rule says', async () => {
    const analysis = project(catalog, T);
    const f = analysis.get('Funnel', 'windows')!.resolved.query!;
    assert.equal(f.k, 'funnel');
    // One entity at a time: the data of one planted id only.
    const n = DATA.customers.length - 9;
    const only = (id: number) => ({ customers: DATA.customers.filter((c) => c.id === id), events: DATA.events.filter((e) => e.customer_id === id || e.customer_id === ORPHAN) });
    const w = CASES[0]!;
    const reached = (id: number) => evaluate(only(id), T, w.within, w.steps).reached;
    assert.deepEqual(reached(n + 1), [1, 1, 0, 0], 'same-instant login not counted, +7d exactly counted');
    assert.deepEqual(reached(n + 2), [1, 0, 0, 0], '1 ms past the window');
    assert.deepEqual(reached(n + 3), [1, 1, 0, 0], 'a purchase after T');
    assert.deepEqual(reached(n + 4), [0, 0, 0, 0], 'created after T');
    assert.deepEqual(reached(n + 5), [0, 0, 0, 0], 'first signup before the window');
    assert.deepEqual(reached(n + 6), [1, 1, 1, 0], 'a repeat purchase at the same instant is not a repeat');
    assert.deepEqual(reached(n + 7), [1, 1, 1, 0], 'first purchase exactly +14d');
    assert.deepEqual(reached(n + 8), [0, 0, 0, 0], 'first signup exactly at T - within');
    assert.deepEqual(reached(n + 9), [1, 0, 0, 0], 'signup at T enters; a login at the same instant does not count');
  });

  for (const asOf of INSTANTS) {
    it(`conversion KPIs as of ${asOf.toISOString()} = oracle (NULL with no entrants)`, async () => {
      const analysis = project(catalog, asOf);
      const w = CASES[0]!;
      const want = evaluate(DATA, asOf, w.within, w.steps).reached;
      const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
      const expected: Record<string, number | null> = { e2e: ratio(want[3]!, want[0]!), step_p: ratio(want[2]!, want[1]!), l_to_r: ratio(want[3]!, want[1]!), first_step: ratio(want[0]!, want[0]!) };
      for (const [name, value] of Object.entries(expected)) {
        const q = analysis.get('Kpi', name)!.resolved.query!;
        assert.equal(q.k, 'metric');
        for (const literals of ['param', 'inline'] as const) {
          const m = compileMetric((q as { metric: Parameters<typeof compileMetric>[0] }).metric, { asOf: { kind: 'instant', at: asOf }, literals });
          close(num((await run(tdb.db, m.sql, m.parameters)).value), value, `${name} (${literals})`);
        }
      }
    });
  }

  // The shape at scale (20k customers) is test/kpi-shape.test.ts's too.
  it('reads the events table once per step, never per row (EXPLAIN)', async () => {
    const analysis = project(catalog, T);
    for (const c of CASES) {
      const q = analysis.get('Funnel', c.name)!.resolved.query!;
      if (q.k !== 'funnel') assert.fail('not a funnel');
      const sql = compileFunnel(q.funnel, { asOf: { kind: 'instant', at: T }, literals: 'param' });
      const plan = await explainJson(tdb.db, sql.sql, sql.parameters);
      assert.deepEqual(perRowProbes(plan, { eventsTables: ['events'] }), [], c.name);
      assert.ok(!JSON.stringify(plan).includes('"SubPlan'), `${c.name}: no SubPlan at all`);
    }
  });
});

describe('funnel diagnostics', () => {
  const diags = (yaml: string, extra = '') => {
    const p = new Project('/virtual/f', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/f.yaml', yaml);
    if (extra) p.setFile('definitions/k.yaml', extra);
    return p.analyze({ now: T }).diagnostics.filter((d) => d.severity === 'error').map((d) => `${d.code}: ${d.message}`);
  };
  const F = `kind: Funnel\nname: f\nversion: 1\nwithin: 30d\nsteps:\n  - { name: a, event: signup }\n  - { name: b, event: login, within: 7d }\n`;
  const kpi = (m: string) => `kind: Kpi\nname: k\nversion: 1\nmetric: { conversion: ${m} }\ntarget: { gte: 0.1, by: 2027-01-01 }\n`;

  it('a clean funnel and its KPIs have no errors', () => {
    assert.deepEqual(diags(F, kpi('{ funnel: f, step: b }')), []);
  });
  it('fewer than two steps', () => {
    assert.match(diags(`kind: Funnel\nname: f\nversion: 1\nwithin: 30d\nsteps:\n  - { name: a, event: signup }\n`).join('\n'), /funnel-steps: a funnel needs at least two steps/);
  });
  it('duplicate step names', () => {
    assert.match(diags(F + '  - { name: b, event: purchase }\n').join('\n'), /duplicate-step/);
  });
  it('unknown step fields, with did-you-mean', () => {
    assert.match(diags(F.replace('within: 7d }', 'witin: 7d }')).join('\n'), /unknown-key.*witin.*within/);
  });
  it('`within` on the first step', () => {
    assert.match(diags(F.replace('event: signup }', 'event: signup, within: 3d }')).join('\n'), /unexpected-key: the first step has no previous step/);
  });
  it('missing `within`', () => {
    assert.match(diags(F.replace('within: 30d\n', '')).join('\n'), /missing-key|within/);
  });
  it('unknown funnel and unknown step, with did-you-mean', () => {
    assert.match(diags(F, kpi('{ funnel: g }')).join('\n'), /unknown-reference.*'g'.*'f'/);
    assert.match(diags(F, kpi('{ funnel: f, step: bb }')).join('\n'), /unknown-step.*'bb'.*did you mean 'b'/);
  });
  it('an edit to the funnel re-resolves the KPIs that measure it (incremental analysis)', () => {
    const p = new Project('/virtual/f', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/f.yaml', F);
    p.setFile('definitions/k.yaml', kpi('{ funnel: f, step: b }'));
    const errors = () => p.analyze({ now: T }).diagnostics.filter((d) => d.severity === 'error').map((d) => d.code);
    const before = p.analyze({ now: T }).get('Kpi', 'k')!.fingerprint;
    assert.deepEqual(errors(), []);
    p.setFile('definitions/f.yaml', F.replace('within: 7d', 'within: 8d'));
    assert.notEqual(p.analyze({ now: T }).get('Kpi', 'k')!.fingerprint, before, 'the KPI inlines its funnel');
    p.setFile('definitions/f.yaml', F.replace('name: b,', 'name: c,'));
    assert.deepEqual(errors(), ['unknown-step']);
  });
  it('step with from/to, from without to, from after to', () => {
    assert.match(diags(F, kpi('{ funnel: f, step: b, from: a }')).join('\n'), /conversion-form/);
    assert.match(diags(F, kpi('{ funnel: f, from: a }')).join('\n'), /conversion-form/);
    assert.match(diags(F, kpi('{ funnel: f, from: b, to: a }')).join('\n'), /conversion-order/);
  });
});

describe('funnels in the editor', () => {
  const text = 'kind: Funnel\nname: f\nversion: 1\nwithin: 30d\nsteps:\n  - { name: a, event: signup }\n  - { name: b, event: login, within: 7d }\n---\nkind: Kpi\nname: k\nversion: 1\nmetric: { conversion: { funnel: f, step: b } }\ntarget: { gte: 0.1, by: 2027-01-01 }\n';
  const service = () => {
    const p = new Project('/virtual/e', TALLY);
    p.setFile('definitions/model.yaml', MODEL);
    p.setFile('definitions/f.yaml', text);
    return new LanguageService(p, () => p.analyze({ now: T }));
  };
  const at = (needle: string, d = 1) => text.indexOf(needle) + d;

  it('hover docs come from the schema; a conversion names its funnel, which go-to-definition finds', () => {
    const s = service();
    assert.match(JSON.stringify(s.hoverAt('definitions/f.yaml', at('steps'))), /The steps in order/);
    assert.match(JSON.stringify(s.hoverAt('definitions/f.yaml', at('within: 7d'))), /after the previous step/);
    assert.match(JSON.stringify(s.hoverAt('definitions/f.yaml', at('conversion'))), /Funnel's conversion/);
    assert.deepEqual(s.definitionAt('definitions/f.yaml', at('funnel: f', 8)).map((l) => l.span), [[text.indexOf('name: f') + 6, text.indexOf('name: f') + 7]]);
  });

  it('completes step keys from the schema', () => {
    const s = service();
    const labels = s.completionsAt('definitions/f.yaml', text.indexOf('name: b') - 2).map((c) => c.label);
    // The keys the step does not have yet.
    for (const k of ['stream', 'where']) assert.ok(labels.includes(k), `${k} in ${labels.join(', ')}`);
  });
});
