// The oracle: a plain in-memory evaluation of LANGUAGE.md (§2 time, §4 conditions, §5 traits,
// scores and lifecycles, §6 KPIs) over the rows of data.ts. Written from the language contract
// only, never from the engine's SQL compiler or resolver, so that the two can disagree.
//
// Definitions are read straight from the YAML text (the `yaml` package), not through the engine.
//
// Semantics in one place:
// - As of A: events with time > A are invisible; entities with created_at > A do not exist.
// - `within: D` = (A - D, A]. `before: X` = value < X, `after: X` = value > X (X an ISO instant, or
//   a duration D meaning A - D). `between` is inclusive.
// - Two-valued logic: any comparison with a NULL operand is false (`is_null` excepted); `not` of a
//   false comparison is true.
// - Event aggregates: count (default; no operator = count >= 1); sum (0 over no values); avg/min/max
//   (NULL over no values). NULL property values are skipped by sum/avg/min/max.
// - Traits: count traits are 0 with no events (the engine's documented choice); every other
//   computation is NULL with no matching events.
// - Score: 100 * Σ w·clamp((v - from)/(to - from), 0, 1) / Σ w, NULL trait -> 0. Bands: first match.
// - Lifecycle: first stage whose `where` holds; the stage without `where` is the fallback.
// - KPIs: only entities that exist at A count. An event whose key has no entity row (an orphan key)
//   or whose entity is created after A counts for nothing, in every form (events, sum, avg, active,
//   retention cohorts and returns, churn, nps), as it does for segments, counts and lifecycles.

import { parseAllDocuments } from 'yaml';
import type { Customer, Dataset, Event } from './data.js';

const DAY = 86_400_000;
const UNIT: Record<string, number> = { m: 60_000, h: 3_600_000, d: DAY, w: 7 * DAY };

export type Value = string | number | boolean | Date | null;
type Def = Record<string, any>;

export function durationMs(text: string): number {
  const m = /^(\d+)([mhdw])$/.exec(String(text));
  if (!m) throw new Error(`oracle: bad duration ${text}`);
  return Number(m[1]) * UNIT[m[2]!]!;
}

/** Milliseconds to add to a UTC instant to get the wall-clock time in `tz`. */
function zoneOffset(utc: number, tz: string): number {
  if (tz === 'UTC') return 0;
  const f = new Intl.DateTimeFormat('en-GB', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
  const p = Object.fromEntries(f.formatToParts(new Date(utc)).filter((x) => x.type !== 'literal').map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year!, p.month! - 1, p.day!, p.hour!, p.minute!, p.second!) - Math.floor(utc / 1000) * 1000;
}

/** An ISO date (its midnight in the project time zone) or date-time (in the project zone unless it has an offset). */
export function instantMs(text: string, zone = 'UTC'): number {
  const s = String(text);
  const local = /^\d{4}-\d{2}-\d{2}$/.test(s) ? `${s}T00:00:00` : /[zZ]|[+-]\d\d:?\d\d$/.test(s) ? undefined : s.replace(' ', 'T');
  if (local !== undefined) {
    // A date (its midnight) or a date-time without offset: wall-clock time in the project zone.
    const wall = Date.parse(`${local}Z`);
    if (Number.isNaN(wall)) throw new Error(`oracle: bad instant ${s}`);
    // The UTC instant whose wall clock in the zone reads midnight (two steps settle DST changes).
    const first = wall - zoneOffset(wall, zone);
    return wall - zoneOffset(first, zone);
  }
  const ms = Date.parse(s);
  if (Number.isNaN(ms)) throw new Error(`oracle: bad instant ${s}`);
  return ms;
}

/** Parses definition YAML text (several documents) into plain objects. */
export function parseDefinitions(...texts: string[]): Def[] {
  const out: Def[] = [];
  for (const text of texts)
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length) throw new Error(`oracle: YAML error ${doc.errors[0]!.message}`);
      const v = doc.toJS();
      if (v) out.push(v as Def);
    }
  return out;
}

const OPS = ['eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'between', 'is_null', 'contains', 'starts_with', 'within', 'before', 'after'] as const;
type Op = { op: (typeof OPS)[number]; arg: any };

function opOf(node: Def, allowWithin = true): Op | undefined {
  const found = OPS.filter((o) => o in node && (allowWithin || o !== 'within'));
  if (found.length > 1) throw new Error(`oracle: several operators in ${JSON.stringify(node)}`);
  return found.length ? { op: found[0]!, arg: node[found[0]!] } : undefined;
}

type VType = 'string' | 'number' | 'boolean' | 'timestamp';

/** Does `value` (of type `type`) satisfy the operator, as of A? Two-valued: NULL compares false. */
export function compareValue(value: Value, type: VType, op: Op, asOf: number, tz = 'UTC'): boolean {
  if (op.op === 'is_null') return op.arg === true ? value === null : value !== null;
  if (value === null) return false;
  const pointOf = (x: any): number => (/^\d+[mhdw]$/.test(String(x)) ? asOf - durationMs(String(x)) : instantMs(String(x), tz));
  const norm = (x: any): number | string | boolean => {
    if (type === 'timestamp') return pointOf(x);
    if (type === 'number') {
      if (typeof x !== 'number') throw new Error(`oracle: number operand expected, got ${JSON.stringify(x)}`);
      return x;
    }
    if (type === 'boolean') {
      if (typeof x !== 'boolean') throw new Error(`oracle: boolean operand expected, got ${JSON.stringify(x)}`);
      return x;
    }
    return String(x);
  };
  const v: number | string | boolean = value instanceof Date ? value.getTime() : (value as number | string | boolean);
  const ordered = () => {
    if (type === 'string' || type === 'boolean') throw new Error(`oracle: ordering on ${type} is not tested (collation-dependent)`);
  };
  switch (op.op) {
    case 'eq':
      return v === norm(op.arg);
    case 'ne':
      return v !== norm(op.arg);
    case 'in':
      return (op.arg as any[]).some((x) => v === norm(x));
    case 'not_in':
      return !(op.arg as any[]).some((x) => v === norm(x));
    case 'gt':
      ordered();
      return (v as number) > (norm(op.arg) as number);
    case 'gte':
      ordered();
      return (v as number) >= (norm(op.arg) as number);
    case 'lt':
      ordered();
      return (v as number) < (norm(op.arg) as number);
    case 'lte':
      ordered();
      return (v as number) <= (norm(op.arg) as number);
    case 'between':
      ordered();
      return (v as number) >= (norm(op.arg[0]) as number) && (v as number) <= (norm(op.arg[1]) as number);
    case 'contains':
      return String(v).includes(String(op.arg));
    case 'starts_with':
      return String(v).startsWith(String(op.arg));
    case 'within': {
      if (type !== 'timestamp') throw new Error('oracle: within on a non-timestamp');
      return (v as number) > asOf - durationMs(op.arg) && (v as number) <= asOf;
    }
    case 'before':
      if (type !== 'timestamp') throw new Error('oracle: before on a non-timestamp');
      return (v as number) < pointOf(op.arg);
    case 'after':
      if (type !== 'timestamp') throw new Error('oracle: after on a non-timestamp');
      return (v as number) > pointOf(op.arg);
  }
}

// ---------------------------------------------------------------------------------------------

export interface KpiResult {
  value: number | null;
  status: 'met' | 'on_track' | 'at_risk' | 'missed' | 'failed';
}

/** The end of a date's day: the next day's midnight in the project zone. */
function nextMidnight(date: string, zone: string): number {
  const d = new Date(Date.parse(`${date}T00:00:00Z`) + DAY).toISOString().slice(0, 10);
  return instantMs(d, zone);
}

export class Oracle {
  private readonly defs = new Map<string, Def>();
  private readonly eventsByCustomer = new Map<number, Event[]>();
  private readonly memo = new Map<string, unknown>();
  private readonly customersById = new Map<number, Customer>();
  private readonly entity: Def;
  private readonly stream: Def;

  constructor(
    private readonly data: Dataset,
    definitions: Def[],
    private readonly tz = 'UTC',
    /** false: count every event key (the defect of issue 10.2), only to show the planted rows matter. */
    private readonly existenceRule = true,
  ) {
    for (const d of definitions) this.defs.set(`${d.kind}:${d.name}`, d);
    const entities = definitions.filter((d) => d.kind === 'Entity');
    const streams = definitions.filter((d) => d.kind === 'Events');
    if (entities.length !== 1 || streams.length !== 1) throw new Error('oracle: expects one Entity and one Events');
    this.entity = entities[0]!;
    this.stream = streams[0]!;
    if (this.entity.table !== 'customers' || this.stream.table !== 'events') throw new Error('oracle: maps customers/events only');
    for (const c of data.customers) this.customersById.set(c.id, c);
    for (const e of data.events) {
      let l = this.eventsByCustomer.get(e.customer_id);
      if (!l) this.eventsByCustomer.set(e.customer_id, (l = []));
      l.push(e);
    }
    for (const l of this.eventsByCustomer.values()) l.sort((a, b) => a.occurred_at.getTime() - b.occurred_at.getTime());
  }

  private def(kind: string, name: string): Def {
    const d = this.defs.get(`${kind}:${name}`);
    if (!d) throw new Error(`oracle: no ${kind} ${name}`);
    return d;
  }

  private cached<X>(key: string, fn: () => X): X {
    if (!this.memo.has(key)) this.memo.set(key, fn());
    return this.memo.get(key) as X;
  }

  /** Entities that exist at A (created_at <= A). */
  existing(asOf: number): Customer[] {
    return this.data.customers.filter((c) => c.created_at.getTime() <= asOf);
  }

  // ------------------------------------------------------------------------- attributes, events

  private attribute(c: Customer, name: string): { value: Value; type: VType } {
    const decl = this.entity.attributes?.[name];
    const column: string = decl?.column ?? name;
    const types: Record<string, VType> = { id: 'number', email: 'string', country: 'string', plan: 'string', score_hint: 'number', vip: 'boolean', created_at: 'timestamp' };
    const type: VType = decl?.type ?? types[column];
    if (!(column in c)) throw new Error(`oracle: no column ${column}`);
    return { value: (c as unknown as Record<string, Value>)[column] ?? null, type };
  }

  private propertyType(p: string): VType {
    return (this.stream.property_types?.[p] as VType | undefined) ?? 'string';
  }

  /** A property's value as the language sees it: JSON null and a missing key are both NULL. */
  private property(e: Event, p: string): Value {
    const raw = e.properties?.[p];
    if (raw === undefined || raw === null) return null;
    const type = this.propertyType(p);
    if (type === 'number') {
      if (typeof raw !== 'number') throw new Error(`oracle: non-numeric ${p} in the data`);
      return raw;
    }
    if (type === 'string') return typeof raw === 'string' ? raw : JSON.stringify(raw);
    throw new Error(`oracle: property type ${type} not used`);
  }

  /** Matching events of one entity for an event query `{event?, stream?, within?, where?}` as of A. */
  matching(customerId: number, q: Def, asOf: number, lower?: number): Event[] {
    if (q.stream !== undefined && q.stream !== this.stream.name) throw new Error(`oracle: unknown stream ${q.stream}`);
    const from = q.within !== undefined ? asOf - durationMs(q.within) : -Infinity;
    const lo = lower !== undefined ? Math.max(from, lower) : from;
    const filters: Def[] = q.where ?? [];
    return (this.eventsByCustomer.get(customerId) ?? []).filter((e) => {
      const ts = e.occurred_at.getTime();
      if (ts > asOf || ts <= lo) return false;
      if (q.event !== undefined && e.event_name !== q.event) return false;
      return filters.every((f) => compareValue(this.property(e, f.property), this.propertyType(f.property), opOf(f)!, asOf, this.tz));
    });
  }

  /** Whether an entity with this key exists at A: it has a row and created_at <= A. */
  existsAt(id: number, asOf: number): boolean {
    const c = this.customersById.get(id);
    return c !== undefined && c.created_at.getTime() <= asOf;
  }

  /** The keys with events whose entity exists at A (the only keys a KPI counts). */
  private countedKeys(asOf: number): number[] {
    return [...this.eventsByCustomer.keys()].filter((id) => !this.existenceRule || this.existsAt(id, asOf));
  }

  private allMatching(q: Def, asOf: number): Event[] {
    const out: Event[] = [];
    for (const id of this.countedKeys(asOf)) out.push(...this.matching(id, q, asOf));
    return out;
  }

  private aggregate(events: Event[], fn: 'count' | 'sum' | 'avg' | 'min' | 'max', p?: string): number | null {
    if (fn === 'count') return events.length;
    const vals = events.map((e) => this.property(e, p!)).filter((v): v is number => v !== null) as number[];
    if (fn === 'sum') return vals.reduce((s, x) => s + x, 0);
    if (!vals.length) return null;
    if (fn === 'avg') return vals.reduce((s, x) => s + x, 0) / vals.length;
    return fn === 'min' ? Math.min(...vals) : Math.max(...vals);
  }

  // ------------------------------------------------------------------------- conditions

  holds(cond: Def, c: Customer, asOf: number): boolean {
    if ('all' in cond) return (cond.all as Def[]).every((x) => this.holds(x, c, asOf));
    if ('any' in cond) return (cond.any as Def[]).some((x) => this.holds(x, c, asOf));
    if ('not' in cond) return !this.holds(cond.not, c, asOf);
    if ('attribute' in cond) {
      const { value, type } = this.attribute(c, cond.attribute);
      return compareValue(value, type, opOf(cond)!, asOf, this.tz);
    }
    if ('event' in cond || 'stream' in cond) {
      const events = this.matching(c.id, cond, asOf);
      const fn = (['sum', 'avg', 'min', 'max'] as const).find((f) => f in cond) ?? 'count';
      const value = this.aggregate(events, fn, fn === 'count' ? undefined : cond[fn]);
      const op = opOf(cond, false);
      if (!op) {
        if (fn !== 'count') throw new Error('oracle: an aggregate without an operator is not tested');
        return (value as number) >= 1;
      }
      return compareValue(value, 'number', op, asOf, this.tz);
    }
    if ('segment' in cond) return this.members('' + cond.segment, asOf).has(c.id);
    if ('stage' in cond) {
      const [lc, stage] = String(cond.stage).split('.');
      return this.lifecycle(lc!, asOf).get(c.id) === stage;
    }
    if ('trait' in cond) {
      const d = this.def('Trait', cond.trait);
      const v = this.trait(cond.trait, asOf).get(c.id) ?? null;
      return compareValue(v, d.type as VType, opOf(cond)!, asOf, this.tz);
    }
    if ('score' in cond) {
      const v = this.score(cond.score, asOf).get(c.id)!;
      if ('band' in cond) return this.bandOf(cond.score, v) === cond.band;
      return compareValue(v, 'number', opOf(cond)!, asOf, this.tz);
    }
    throw new Error(`oracle: unknown condition ${JSON.stringify(cond)}`);
  }

  /** A segment's members at A. */
  members(name: string, asOf: number): Set<number> {
    return this.cached(`seg:${name}:${asOf}`, () => {
      const d = this.def('Segment', name);
      return new Set(this.existing(asOf).filter((c) => this.holds(d.where, c, asOf)).map((c) => c.id));
    });
  }

  /** Entities satisfying a bare condition at A. */
  satisfying(cond: Def, asOf: number): Set<number> {
    return new Set(this.existing(asOf).filter((c) => this.holds(cond, c, asOf)).map((c) => c.id));
  }

  // ------------------------------------------------------------------------- traits, scores, lifecycles

  /** Trait values of every existing entity at A. */
  trait(name: string, asOf: number): Map<number, Value> {
    return this.cached(`trait:${name}:${asOf}`, () => {
      const d = this.def('Trait', name);
      const q: Def = d.compute;
      const out = new Map<number, Value>();
      for (const c of this.existing(asOf)) {
        const evs = this.matching(c.id, q, asOf);
        let v: Value;
        const fn = (['sum', 'avg', 'min', 'max'] as const).find((f) => f in q);
        if (fn) v = evs.length ? this.aggregate(evs, fn, q[fn]) : null;
        else if ('last' in q || 'first' in q) {
          const which = 'last' in q ? 'last' : 'first';
          const p: string = q[which];
          if (!evs.length) v = null;
          else {
            const edge = which === 'last' ? evs[evs.length - 1]! : evs[0]!;
            if (p === 'time') v = edge.occurred_at;
            else {
              const tied = evs.filter((e) => e.occurred_at.getTime() === edge.occurred_at.getTime()).map((e) => this.property(e, p));
              if (new Set(tied.map((x) => JSON.stringify(x))).size > 1) throw new Error(`oracle: ambiguous ${which} ${p} for ${c.id} (tie)`);
              v = this.property(edge, p);
            }
          }
        } else if ('days_since' in q) {
          if (!evs.length) v = null;
          else {
            const e = q.days_since === 'last' ? evs[evs.length - 1]! : evs[0]!;
            v = (asOf - e.occurred_at.getTime()) / DAY;
          }
        } else v = evs.length; // count: 0 with no events
        out.set(c.id, v);
      }
      return out;
    });
  }

  score(name: string, asOf: number): Map<number, number> {
    return this.cached(`score:${name}:${asOf}`, () => {
      const d = this.def('Score', name);
      const comps: Def[] = d.components;
      const wsum = comps.reduce((s, x) => s + x.weight, 0);
      const traits = comps.map((x) => this.trait(x.trait, asOf));
      const out = new Map<number, number>();
      for (const c of this.existing(asOf)) {
        let s = 0;
        comps.forEach((comp, i) => {
          const v = traits[i]!.get(c.id) ?? null;
          let x = 0;
          if (v !== null) {
            if (typeof v !== 'number') throw new Error('oracle: score over a non-number trait');
            x = Math.min(1, Math.max(0, (v - comp.from) / (comp.to - comp.from)));
          }
          s += comp.weight * x;
        });
        out.set(c.id, (100 * s) / wsum);
      }
      return out;
    });
  }

  bandOf(score: string, v: number): string | null {
    const d = this.def('Score', score);
    for (const b of d.bands ?? []) {
      if ('gte' in b && !(v >= b.gte)) continue;
      if ('gt' in b && !(v > b.gt)) continue;
      return b.name;
    }
    return null;
  }

  lifecycle(name: string, asOf: number): Map<number, string> {
    return this.cached(`lc:${name}:${asOf}`, () => {
      const d = this.def('Lifecycle', name);
      const out = new Map<number, string>();
      for (const c of this.existing(asOf)) {
        const st = (d.stages as Def[]).find((s) => s.where === undefined || this.holds(s.where, c, asOf));
        if (!st) throw new Error(`oracle: no stage for ${c.id}`);
        out.set(c.id, st.name);
      }
      return out;
    });
  }

  // ------------------------------------------------------------------------- KPIs

  metric(m: Def, asOf: number): number | null {
    if ('count' in m) return this.satisfying(m.count, asOf).size;
    if ('events' in m) return this.allMatching(m.events, asOf).length;
    if ('sum' in m) return this.aggregate(this.allMatching(m.sum, asOf), 'sum', m.sum.property);
    if ('avg' in m) return this.aggregate(this.allMatching(m.avg, asOf), 'avg', m.avg.property);
    if ('active' in m) return new Set(this.allMatching(m.active, asOf).map((e) => e.customer_id)).size;
    if ('count_distinct' in m) {
      const q = m.count_distinct;
      return new Set(this.allMatching(q, asOf).map((e) => this.property(e, q.property)).filter((v) => v !== null).map(String)).size;
    }
    if ('ratio' in m) {
      const n = this.metric(m.ratio.numerator, asOf);
      const d = this.metric(m.ratio.denominator, asOf);
      return n === null || d === null || d === 0 ? null : n / d;
    }
    if ('retention' in m) {
      const { cohort, returned } = this.retention(m.retention, asOf);
      return cohort.size === 0 ? null : returned.size / cohort.size;
    }
    if ('churn' in m) {
      const { active, churned } = this.churn(m.churn, asOf);
      return active.size === 0 ? null : churned.size / active.size;
    }
    if ('nps' in m) {
      const latest = this.npsResponses(m.nps, asOf);
      if (!latest.size) return null;
      let pro = 0;
      let det = 0;
      for (const s of latest.values()) {
        if (s >= 9) pro++;
        else if (s <= 6) det++;
      }
      return ((pro - det) / latest.size) * 100;
    }
    throw new Error(`oracle: unknown metric ${JSON.stringify(m)}`);
  }

  /** Cohort: first cohort event c (over all events up to A) in (A - W, A - N days]; returned: a return event in (c, c + N days]. */
  retention(r: Def, asOf: number): { cohort: Set<number>; returned: Set<number> } {
    const W = durationMs(r.cohort.within);
    const N = r.days * DAY;
    const { within: _w, ...cohortQ } = r.cohort;
    const cohort = new Set<number>();
    const returned = new Set<number>();
    for (const id of this.countedKeys(asOf)) {
      const first = this.matching(id, cohortQ, asOf)[0];
      if (!first) continue;
      const c = first.occurred_at.getTime();
      if (!(c > asOf - W && c <= asOf - N)) continue;
      cohort.add(id);
      if (this.matching(id, r.return, c + N, c).length) returned.add(id);
    }
    return { cohort, returned };
  }

  /** Active: a matching event in (A - 2P, A - P]; churned: of those, none in (A - P, A]. */
  churn(q: Def, asOf: number): { active: Set<number>; churned: Set<number> } {
    const P = durationMs(q.within);
    const { within: _w, ...rest } = q;
    const active = new Set<number>();
    const churned = new Set<number>();
    for (const id of this.countedKeys(asOf)) {
      const evs = this.matching(id, rest, asOf);
      if (!evs.some((e) => e.occurred_at.getTime() > asOf - 2 * P && e.occurred_at.getTime() <= asOf - P)) continue;
      active.add(id);
      if (!evs.some((e) => e.occurred_at.getTime() > asOf - P)) churned.add(id);
    }
    return { active, churned };
  }

  /** Each responder's latest response in the window. */
  npsResponses(q: Def, asOf: number): Map<number, number> {
    const out = new Map<number, number>();
    for (const id of this.countedKeys(asOf)) {
      const evs = this.matching(id, q, asOf);
      if (!evs.length) continue;
      const last = evs[evs.length - 1]!;
      const tied = evs.filter((e) => e.occurred_at.getTime() === last.occurred_at.getTime()).map((e) => this.property(e, q.property));
      if (new Set(tied).size > 1) throw new Error(`oracle: ambiguous latest NPS response for ${id}`);
      const s = this.property(last, q.property);
      if (s === null) throw new Error('oracle: NPS response without a score is not tested');
      out.set(id, s as number);
    }
    return out;
  }

  kpi(name: string, asOf: number): KpiResult {
    const d = this.def('Kpi', name);
    const value = this.metric(d.metric, asOf);
    const cmp = (v: number, c: Def): boolean => {
      if ('gte' in c) return v >= c.gte;
      if ('gt' in c) return v > c.gt;
      if ('lte' in c) return v <= c.lte;
      if ('lt' in c) return v < c.lt;
      if ('eq' in c) return v === c.eq;
      if ('between' in c) return v >= c.between[0] && v <= c.between[1];
      throw new Error('oracle: no comparison');
    };
    const target: Def | undefined = d.target;
    let status: KpiResult['status'];
    // `by`: a bare date is due at the end of that day (in the project zone, UTC here).
    const deadline = target?.by === undefined ? undefined : /^\d{4}-\d{2}-\d{2}$/.test(String(target.by)) ? nextMidnight(String(target.by), this.tz) : instantMs(target.by, this.tz);
    if (value !== null && target && cmp(value, target)) status = 'met';
    else if (deadline !== undefined && asOf >= deadline) status = 'missed';
    else if (value !== null && target?.baseline && deadline !== undefined) {
      const goal: number = target.gte ?? target.gt ?? target.lte ?? target.lt;
      if (goal === undefined) throw new Error('oracle: pace line only for gte/gt/lte/lt');
      const b0 = instantMs(target.baseline.on, this.tz);
      const f = Math.min(1, Math.max(0, (asOf - b0) / (deadline - b0)));
      const expected = target.baseline.value + (goal - target.baseline.value) * f;
      const up = 'gte' in target || 'gt' in target;
      status = (up ? value >= expected : value <= expected) ? 'on_track' : 'at_risk';
    } else status = 'at_risk';
    if (value !== null && d.guardrail && !cmp(value, d.guardrail)) status = 'failed';
    return { value, status };
  }
}
