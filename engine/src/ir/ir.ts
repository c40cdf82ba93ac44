// The IR: what a definition means, as plain readonly data tagged by `k`, with every name resolved.
//
// It knows tables and columns but nothing of SQL syntax, nor of any SQL dialect: durations are a
// count and a unit (`IrDuration`), never interval text; `sql/dialect.ts` renders them. `sql/` is
// the only reader that emits SQL.
// Expressions are evaluated per entity row (`col`) or per event row (`ecol`, `eprop`); an `agg`
// turns a filtered set of one entity's events into one value.

import type { ValueType } from '../model/types.js';
import type { Duration, DurationUnit } from '../time.js';

export interface IrTable {
  readonly schema?: string;
  readonly name: string;
}

export interface IrEntity {
  readonly name: string;
  readonly table: IrTable;
  readonly key: string;
  readonly createdAt?: string;
}

export interface IrStream {
  readonly name: string;
  readonly table: IrTable;
  readonly entityKey: string;
  readonly time: string;
  readonly typeColumn?: string;
  /** `dedupe_on`: the stream reads as if only the first row of each duplicate group existed (absent: every row). */
  readonly dedupe?: IrDedupe;
  /** Amounts in mixed currencies: each row's rate to the project currency (absent: no `currency:`). */
  readonly fx?: IrFx;
}

/**
 * Conversion to the project currency: a row's rate is 1 when its currency (`currency`, an
 * event-level expression or a cost column) is the project's `base`, else the latest rate of its
 * currency dated on or before the row's day (in the project time zone); NULL without one.
 */
export interface IrFx {
  readonly currency: IrExpr;
  readonly base: string;
  readonly rates: { readonly table: IrTable; readonly date: string; readonly currency: string; readonly rate: string };
}

/** The column a stream with `fx` carries: its row's rate (amounts read as amount × rate). */
export const FX_RATE = '__tally_rate';

/**
 * De-duplication of a stream at its source: rows equal on every `on` value (none of them NULL) are
 * one event; the first by time, then by `tiebreak` (the columns any form can read: the entity key,
 * the type column, the declared columns in name order, the properties column) is kept.
 */
export interface IrDedupe {
  /** Event-level expressions (`ecol`, `eprop`) whose equal values make rows duplicates. */
  readonly on: readonly IrExpr[];
  /** Columns ordering rows with equal time, after it. */
  readonly tiebreak: readonly string[];
  /** The jsonb properties column, ordered last (as jsonb). */
  readonly properties?: string;
}

/**
 * An instant: T minus a duration, or a fixed instant. `minusMs` is the length subtracted (0 for T
 * itself, which has no `minus`): windows are ordered by it, and T given as an instant moves by it;
 * `minus` is the same length as a count of units, for T = the database clock (`now() - interval`).
 */
export type IrTime =
  | { readonly k: 'asof'; readonly minusMs: number; readonly minus?: IrDuration }
  | { readonly k: 'instant'; readonly iso: string };

export type IrTimeUnit = 'seconds' | 'minutes' | 'hours' | 'days' | 'weeks';

/** A length of time, dialect-free: `count` `unit`s (`90 days`), and its exact length in milliseconds. */
export interface IrDuration {
  readonly count: number;
  readonly unit: IrTimeUnit;
  readonly ms: number;
}

export type IrLiteral = string | number | boolean | null;

export type IrExpr =
  | { readonly k: 'col'; readonly col: string; readonly type: ValueType | 'unknown' }
  | { readonly k: 'ecol'; readonly col: string; readonly type: ValueType | 'unknown' }
  | { readonly k: 'eprop'; readonly col: string; readonly key: string; readonly type: ValueType }
  | { readonly k: 'lit'; readonly value: IrLiteral; readonly type: ValueType | 'unknown' }
  | { readonly k: 'time'; readonly at: IrTime }
  | { readonly k: 'agg'; readonly agg: IrAgg }
  | { readonly k: 'case'; readonly whens: readonly { readonly when: IrCond; readonly then: IrExpr }[]; readonly else: IrExpr }
  | { readonly k: 'arith'; readonly op: '+' | '-' | '*' | '/'; readonly a: IrExpr; readonly b: IrExpr }
  | { readonly k: 'fn'; readonly fn: 'least' | 'greatest' | 'coalesce'; readonly args: readonly IrExpr[] }
  /** Fractional days from a timestamp expression to T. */
  | { readonly k: 'days-to-asof'; readonly from: IrExpr }
  /**
   * The quantile band (1..n) of `value` among the entities of `entity` existing at T whose value is
   * not NULL: with rank r (rank() ascending: equal values share the lowest rank) among c such
   * entities, 1 + floor(n·(r − 1) / c); NULL for a NULL value (docs/language.md). Numbers are
   * ranked rounded to 9 decimal places, so float noise in the last bits does not split a tie.
   */
  | { readonly k: 'quantile'; readonly n: number; readonly value: IrExpr; readonly valueType: 'number' | 'timestamp'; readonly entity: IrEntity };

export type CmpOp = 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte';

export type IrCond =
  | { readonly k: 'and' | 'or'; readonly items: readonly IrCond[] }
  /** Two-valued NOT: true when the inner condition is false *or unknown*. */
  | { readonly k: 'not'; readonly item: IrCond }
  | { readonly k: 'cmp'; readonly op: CmpOp; readonly a: IrExpr; readonly b: IrExpr }
  | { readonly k: 'in'; readonly negated: boolean; readonly a: IrExpr; readonly values: readonly IrExpr[] }
  | { readonly k: 'is-null'; readonly negated: boolean; readonly a: IrExpr }
  | { readonly k: 'text'; readonly op: 'contains' | 'starts_with'; readonly a: IrExpr; readonly b: IrExpr }
  | { readonly k: 'const'; readonly value: boolean };

/** Which events of one stream: types, window and property filters; the upper bound is always T. */
export interface IrEventFilter {
  readonly stream: IrStream;
  /** null: every type. */
  readonly types: readonly string[] | null;
  /** Exclusive lower bound (T - within); null: since the beginning. */
  readonly since: IrTime | null;
  readonly where: IrCond | null;
}

export type AggFn = 'count' | 'sum' | 'avg' | 'min' | 'max' | 'last' | 'first' | 'count_distinct';

/** One value per entity from its matching events. */
export interface IrAgg {
  readonly fn: AggFn;
  readonly filter: IrEventFilter;
  /** The event-level value aggregated (sum/avg/min/max) or taken (last/first). */
  readonly value?: IrExpr;
  /** True when an entity with no matching events gets 0 rather than NULL (count; sum in conditions). */
  readonly zeroWhenNone: boolean;
}

// ---- queries ---------------------------------------------------------------------------------

/** Members of a segment: the entity keys for which `where` holds at T. */
export interface IrMembersQuery {
  readonly k: 'members';
  readonly entity: IrEntity;
  readonly where: IrCond;
}

/** One value per entity (trait, score, lifecycle stage). */
export interface IrValuesQuery {
  readonly k: 'values';
  readonly entity: IrEntity;
  readonly value: IrExpr;
  readonly valueType: ValueType;
}

/**
 * A KPI's metric. Event-based forms carry the entity their stream belongs to: an event counts only
 * when its key is an entity that exists at T (an entity row with created_at <= T, or no created_at).
 */
export type IrMetric =
  | { readonly k: 'count'; readonly entity: IrEntity; readonly where: IrCond }
  | { readonly k: 'events'; readonly entity: IrEntity; readonly filter: IrEventFilter }
  | { readonly k: 'sum' | 'avg'; readonly entity: IrEntity; readonly filter: IrEventFilter; readonly value: IrExpr }
  | { readonly k: 'active'; readonly entity: IrEntity; readonly filter: IrEventFilter }
  /** Distinct non-NULL values of `value` over the matching events of existing entities (0 when none). */
  | { readonly k: 'count_distinct'; readonly entity: IrEntity; readonly filter: IrEventFilter; readonly value: IrExpr }
  | { readonly k: 'ratio'; readonly numerator: IrMetric; readonly denominator: IrMetric }
  /** Cohort: entities whose first cohort event c is in (T - within, T - days]; returned: a return event in (c, c + days]. */
  | { readonly k: 'retention'; readonly entity: IrEntity; readonly cohort: IrEventFilter; readonly cohortWithin: IrDuration; readonly returning: IrEventFilter; readonly days: number }
  /** As `retention`, the cohort instant c being an entity attribute (a timestamp) instead of a first event. */
  | { readonly k: 'attribute-retention'; readonly entity: IrEntity; readonly cohortAt: IrExpr; readonly cohortWithin: IrDuration; readonly returning: IrEventFilter; readonly days: number }
  /** Of entities active in (T - 2P, T - P], the share with no matching event in (T - P, T]. */
  | { readonly k: 'churn'; readonly entity: IrEntity; readonly filter: IrEventFilter; readonly period: IrDuration }
  | { readonly k: 'nps'; readonly entity: IrEntity; readonly filter: IrEventFilter; readonly value: IrExpr }
  /** reached step `to` / reached step `from` of a funnel (0-based step indexes, from <= to; step 0 reached = entrants). */
  | { readonly k: 'conversion'; readonly funnel: IrFunnel; readonly from: number; readonly to: number }
  /**
   * CSAT: of the matching events of existing entities whose rating `value` is not NULL and lies in
   * [low, high], the share with value `op` (gte/gt) `threshold`; NULL when there are none.
   */
  | { readonly k: 'csat'; readonly entity: IrEntity; readonly filter: IrEventFilter; readonly value: IrExpr; readonly low: number; readonly high: number; readonly op: 'gte' | 'gt'; readonly threshold: number }
  /** Spend: the sum of a cost source's amount over its rows with time in (T - within, T] (0 when none). */
  | { readonly k: 'cost'; readonly costs: IrCosts; readonly within: IrDuration };

/** A cost source (`kind: Costs`): one row per spend, not about an entity. */
export interface IrCosts {
  readonly name: string;
  readonly table: IrTable;
  readonly time: string;
  readonly amount: string;
  readonly channel?: string;
  /** The amount converts to the project currency (absent: read as it is). */
  readonly fx?: IrFx;
}

/**
 * A cohort retention table (`kind: Cohort`). Cohorts: the last `count` periods (ISO weeks from
 * Monday 00:00, or calendar months, in `timezone`) up to T; a member is an entity existing at T
 * whose cohort instant c (a timestamp attribute, or its first matching event up to T) lies in the
 * period and is <= T. Cells: returned within (c, c + n days] (`days`), or in the i-th week or
 * month after c (`weeks`, `months`), counting return events up to T only.
 */
export interface IrCohort {
  readonly entity: IrEntity;
  readonly source: { readonly k: 'attribute'; readonly value: IrExpr } | { readonly k: 'event'; readonly filter: IrEventFilter };
  readonly every: 'week' | 'month';
  readonly count: number;
  /** The project time zone (an IANA name) periods are cut in. */
  readonly timezone: string;
  readonly returning: IrEventFilter;
  readonly returns: { readonly unit: 'days'; readonly offsets: readonly number[] } | { readonly unit: 'weeks' | 'months'; readonly count: number };
}

/**
 * An ordered funnel. Entrants: existing entities whose first step-0 event t_0 is in (T - within, T].
 * Step k (k >= 1) is reached at t_k, the earliest step-k event with t_{k-1} < t_k <= T and, when the
 * step has a window, t_k <= t_{k-1} + within (greedy, strict order).
 */
export interface IrFunnel {
  readonly name: string;
  readonly entity: IrEntity;
  readonly within: IrDuration;
  /** Each step's events (`since` null: the funnel sets the windows); `within` after the previous step. */
  readonly steps: readonly { readonly name: string; readonly filter: IrEventFilter; readonly within: IrDuration | null }[];
}


/**
 * A KPI's breakdown: how the entities existing at T fall into groups. `value`: one group per value
 * of a per-entity expression (an attribute: `known` null, every value present, `top` largest kept;
 * a lifecycle's stage or a score's band: `known` lists every group in order); NULL is its own group.
 * `segments`: one (possibly overlapping) group per segment, in order.
 */
export interface IrBreakdown {
  readonly entity: IrEntity;
  readonly by:
    | { readonly k: 'value'; readonly value: IrExpr; readonly known: readonly string[] | null; readonly top: number | null }
    | { readonly k: 'segments'; readonly segments: readonly { readonly name: string; readonly where: IrCond }[] };
}

/** A KPI's query: its metric, and its breakdown only when it has one (absent: the IR and fingerprint are as before). */
export type IrMetricQuery = { readonly k: 'metric'; readonly metric: IrMetric; readonly breakdown?: IrBreakdown };

export type IrQuery = IrMembersQuery | IrValuesQuery | IrMetricQuery | { readonly k: 'funnel'; readonly funnel: IrFunnel };

/** A campaign, resolved (LANGUAGE.md §7); campaign/run.ts and campaign/report.ts enroll and report with it. */
export interface IrCampaign {
  readonly name: string;
  readonly entity: IrEntity;
  /** The audience segment's members at T. */
  readonly audience: IrMembersQuery;
  readonly exclude: readonly IrMembersQuery[];
  readonly channel: string;
  /** Enrollment happens while start <= T and (T <= end, or T < end when `endExclusive`). */
  readonly schedule: { readonly start: string | null; readonly end: string | null; readonly endExclusive: boolean } | null;
  /** The trigger events (their own `since` is null: the run sets the window). */
  readonly trigger: { readonly filter: IrEventFilter; readonly delay: IrDuration } | null;
  readonly entry: { readonly kind: 'once' } | { readonly kind: 'every'; readonly every: IrDuration };
  readonly frequencyCap: { readonly max: number; readonly per: IrDuration } | null;
  readonly variants: readonly { readonly name: string; readonly weight: number; readonly holdout: boolean }[];
  /** The goal events (`since` null); a conversion is one in (enrolled_at, enrolled_at + within]. */
  readonly goal: { readonly filter: IrEventFilter; readonly within: IrDuration } | null;
}

/** A value a sync sends with each member: an attribute, a trait or a score, by name. */
export interface IrSyncField {
  readonly name: string;
  readonly from: 'attribute' | 'trait' | 'score';
  readonly value: IrExpr;
  readonly type: ValueType;
}

/** Where a sync delivers (secrets are never here: only the names of environment variables). */
export type IrDestination =
  | {
      readonly k: 'webhook';
      readonly name: string;
      readonly url: string;
      readonly headers: readonly { readonly name: string; readonly value: string }[];
      readonly secretEnv: string | null;
      readonly batchSize: number;
      /** Requests per second (null: no limit). */
      readonly rateLimit: number | null;
      readonly timeoutMs: number;
      readonly maxAttempts: number;
      readonly backoffMs: number;
    }
  | { readonly k: 'folder'; readonly name: string; readonly path: string; readonly format: 'csv' | 'jsonl' }
  | { readonly k: 'postgres'; readonly name: string; readonly urlEnv: string; readonly table: IrTable };

/** A sync (`kind: Sync`), resolved: who (members at T), what (fields), how (mode), where. */
export interface IrSync {
  readonly name: string;
  readonly entity: IrEntity;
  readonly source: { readonly k: 'segment'; readonly segment: string; readonly members: IrMembersQuery } | { readonly k: 'campaign'; readonly campaign: string; readonly variant: string };
  readonly fields: readonly IrSyncField[];
  readonly mode: 'mirror' | 'upsert' | 'add_only';
  readonly destination: IrDestination;
}

// ---- helpers ---------------------------------------------------------------------------------

const TIME_UNITS: Record<DurationUnit, IrTimeUnit> = { m: 'minutes', h: 'hours', d: 'days', w: 'weeks' };

/** A written duration (`90d`) as IR. */
export function duration(d: Duration): IrDuration {
  return { count: d.count, unit: TIME_UNITS[d.unit], ms: d.ms };
}

/** No time at all (a trigger without `delay`). */
export const NO_DURATION: IrDuration = { count: 0, unit: 'seconds', ms: 0 };

export const TRUE: IrCond = { k: 'const', value: true };
export const FALSE: IrCond = { k: 'const', value: false };

export function and(items: IrCond[]): IrCond {
  const flat: IrCond[] = [];
  for (const i of items) {
    if (i.k === 'const' && i.value) continue;
    if (i.k === 'const' && !i.value) return FALSE;
    if (i.k === 'and') flat.push(...i.items);
    else flat.push(i);
  }
  return flat.length === 0 ? TRUE : flat.length === 1 ? flat[0]! : { k: 'and', items: flat };
}

export function or(items: IrCond[]): IrCond {
  const flat: IrCond[] = [];
  for (const i of items) {
    if (i.k === 'const' && !i.value) continue;
    if (i.k === 'const' && i.value) return TRUE;
    if (i.k === 'or') flat.push(...i.items);
    else flat.push(i);
  }
  return flat.length === 0 ? FALSE : flat.length === 1 ? flat[0]! : { k: 'or', items: flat };
}

export function not(item: IrCond): IrCond {
  if (item.k === 'const') return { k: 'const', value: !item.value };
  if (item.k === 'not' && !mayBeNull(item.item)) return item.item;
  return { k: 'not', item };
}

/** Whether a condition can evaluate to SQL NULL (only then does NOT need `IS NOT TRUE`). */
export function mayBeNull(c: IrCond): boolean {
  switch (c.k) {
    case 'const':
    case 'is-null':
    case 'not':
      return false;
    case 'and':
    case 'or':
      return c.items.some(mayBeNull);
    case 'cmp':
    case 'text':
      return exprMayBeNull(c.a) || exprMayBeNull(c.b);
    case 'in':
      return exprMayBeNull(c.a) || c.values.some(exprMayBeNull);
  }
}

export function exprMayBeNull(e: IrExpr): boolean {
  switch (e.k) {
    case 'lit':
      return e.value === null;
    case 'time':
      return false;
    case 'agg':
      return !e.agg.zeroWhenNone;
    case 'fn':
      return e.fn === 'coalesce' ? e.args.every(exprMayBeNull) : e.args.some(exprMayBeNull);
    case 'arith':
      return true; // division by zero is guarded with nullif
    case 'case':
      return exprMayBeNull(e.else) || e.whens.some((w) => exprMayBeNull(w.then));
    case 'days-to-asof':
      return exprMayBeNull(e.from);
    default:
      return true;
  }
}

/** A stable structural key, for de-duplicating aggregates and for fingerprints. */
export function structuralKey(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => (v instanceof Map ? [...v.entries()] : v));
}
