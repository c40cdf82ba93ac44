// IR -> SQL through Kysely: the query shapes. Engine-specific text comes from the dialect (dialect.ts).
//
// Two shapes for per-entity event aggregates, chosen per query (chooseStrategy); neither ever
// reads the events per row of the entities (test/shapes.test.ts checks EXPLAIN):
//  - pass (whenever there is an aggregate): one grouped scan of each stream, windowed and
//    type-filtered in WHERE (and restricted to the candidates of an attribute filter), computing
//    every aggregate with `FILTER (WHERE ...)`, LEFT JOINed to the entities;
//  - probe (one "any"/"none" conjunct and no other aggregate): EXISTS / NOT EXISTS, planned as one
//    hash semi-/anti-join.
// Previews are one statement each (a materialized CTE feeds the count, the sample and the bands).
// Literals are parameters (previews) or escaped inline literals (compile --out, deploy, fingerprints);
// T is a parameter or the database clock. Engine-specific text (the clock, intervals, JSON access,
// casts, text functions, `distinct on`, some aggregates, materialized CTEs) comes from the dialect
// (dialect.ts, `SqlOptions.dialect`, PostgreSQL by default); the query shapes are this file's own.

import { sql, type RawBuilder } from 'kysely';
import * as ir from '../ir/ir.js';
import type { IrAgg, IrCond, IrEntity, IrEventFilter, IrExpr, IrMetric, IrQuery, IrStream, IrTable, IrTime } from '../ir/ir.js';
import { compileRaw, type CompiledSql } from './kysely.js';
import { postgres, type Dialect } from './dialect.js';
import { conversionSql, funnelChainSql, funnelPreviewSql, hoistedConversionSql, type FunnelParts } from './funnel.js';
import { withRates, type CurrencyParts } from './currency.js';

export type Strategy = 'probe' | 'pass';

export interface SqlOptions {
  /** T: a fixed instant (sent as a parameter or inlined) or the database clock (`now()`), for views. */
  readonly asOf: { readonly kind: 'instant'; readonly at: Date } | { readonly kind: 'now' };
  /** Parameters (previews, checks) or inline escaped literals (compiled files, deploys, fingerprints). */
  readonly literals: 'param' | 'inline';
  /** Force a shape; by default the compiler chooses. */
  readonly strategy?: Strategy | 'auto';
  /** The SQL dialect; PostgreSQL by default. */
  readonly dialect?: Dialect;
  /**
   * T as an SQL expression, overriding `asOf`: a column of the periods a series evaluates the
   * query at (series/sql.ts), the query then correlated to it. Windows are T minus their exact length.
   */
  readonly asOfSql?: RawBuilder<unknown>;
  /**
   * With `asOfSql`: where the compiler may put T-free parts of the query (`name as materialized
   * (...)` CTEs) for the series statement to evaluate once instead of once per period; the query
   * refers to them by name. Only parts whose SQL does not mention T go here (retention's per-entity
   * first cohort event and first return; a funnel conversion's per-entity step times).
   */
  readonly hoist?: RawBuilder<unknown>[];
}

/** The marker of T as a column in a series' SQL: a hoisted part must not mention it. */
const SERIES_T_MARKER = '__tally_periods';

function dialectOf(opts: SqlOptions): Dialect {
  return opts.dialect ?? postgres;
}

type Sql = RawBuilder<unknown>;

const E = 'e'; // the entity row

interface Slot {
  readonly agg: IrAgg;
  readonly alias: string;
}

interface Pass {
  readonly alias: string;
  readonly stream: IrStream;
  readonly slots: Map<string, Slot>;
}

/** A quantile band joined in: its values over the whole population at T, ranked once (quantileJoins). */
interface QuantileJoin {
  readonly alias: string;
  readonly q: Extract<IrExpr, { k: 'quantile' }>;
}

class Ctx {
  readonly passes = new Map<string, Pass>();
  /** Quantile bands by structural key (the same band tested twice is one join). */
  readonly quantiles = new Map<string, QuantileJoin>();
  /** The pass shape's candidates: a subquery of entity keys every grouped scan is restricted to. */
  candidates?: Sql;
  /** The pass shape's "any"/"none" tests answered by the latest event's time (existsWindows). */
  windows?: Map<string, IrTime | null>;
  /**
   * Computed once per entity (repeatedExprs): structural key -> column of the inner select. While
   * `outer` is set, expressions with a column and the pass slots render as columns of it.
   */
  cse?: Map<string, string>;
  outer = false;
  /** The dialect every engine-specific fragment comes from. */
  readonly d: Dialect;
  private nextAlias = 0;
  constructor(
    readonly opts: SqlOptions,
    readonly entity: IrEntity | undefined,
    readonly strategy: Strategy,
  ) {
    this.d = dialectOf(opts);
  }

  alias(prefix: string): string {
    return `${prefix}${++this.nextAlias}`;
  }

  value(v: ir.IrLiteral): Sql {
    return this.opts.literals === 'inline' ? sql.lit(v) : sql.val(v);
  }

  time(t: IrTime): Sql {
    if (t.k === 'instant') return this.d.timestamp(this.value(t.iso));
    if (this.opts.asOfSql) return t.minusMs ? this.d.instantMinus(this.opts.asOfSql, t.minusMs) : this.opts.asOfSql;
    if (this.opts.asOf.kind === 'now') return t.minus ? this.d.nowMinus(t.minus) : this.d.now;
    return this.d.timestamp(this.value(new Date(this.opts.asOf.at.getTime() - t.minusMs).toISOString()));
  }

  get asOf(): Sql {
    return this.time({ k: 'asof', minusMs: 0 });
  }

  slotFor(agg: IrAgg): Slot {
    agg = normalizeAgg(agg);
    const streamKey = ir.structuralKey(agg.filter.stream);
    let pass = this.passes.get(streamKey);
    if (!pass) {
      pass = { alias: `p${this.passes.size + 1}`, stream: agg.filter.stream, slots: new Map() };
      this.passes.set(streamKey, pass);
    }
    const k = slotKey(agg);
    let slot = pass.slots.get(k);
    if (!slot) {
      slot = { agg, alias: `a${pass.slots.size + 1}` };
      pass.slots.set(k, slot);
    }
    return slot;
  }
}

/**
 * The latest (earliest) event time is `max` (`min`) of the time column: one slot for
 * `last: time`, `days_since: last` and a `max` of the time, instead of an ordered array_agg beside a max.
 */
function normalizeAgg(agg: IrAgg): IrAgg {
  if ((agg.fn === 'last' || agg.fn === 'first') && agg.value?.k === 'ecol' && agg.value.col === agg.filter.stream.time) {
    return { ...agg, fn: agg.fn === 'last' ? 'max' : 'min' };
  }
  return agg;
}

function slotKey(agg: IrAgg): string {
  const value = agg.value?.k === 'ecol' ? `ecol:${agg.value.col}` : ir.structuralKey(agg.value ?? null);
  return `${agg.fn}|${agg.zeroWhenNone}|${value}|${ir.structuralKey(agg.filter)}`;
}

/** Which events an "any"/"none" test is about, apart from its window. */
function existsGroup(f: IrEventFilter): string {
  return ir.structuralKey({ s: f.stream, t: f.types ? [...f.types].sort() : null });
}

/**
 * In the pass shape, "any event of these types in (T - w, T]" is "the latest such event is after
 * T - w": one `max(time)` per stream and type set, over the widest window its tests use (null: all
 * history, also when a window starts at a fixed instant), answers every such test, and shares its
 * slot with `last: time` and `days_since: last`. The map: group -> widest window.
 */
function existsWindows(root: unknown): Map<string, IrTime | null> {
  const out = new Map<string, IrTime | null>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    const c = v as IrCond;
    if (c.k === 'cmp' && isExistsTest(c) && c.a.k === 'agg' && c.a.agg.filter.where === null) {
      const f = c.a.agg.filter;
      const g = existsGroup(f);
      const since = f.since && f.since.k === 'asof' ? f.since : null;
      if (!out.has(g)) out.set(g, since);
      else {
        const cur = out.get(g)!;
        out.set(g, cur === null || since === null ? null : since.minusMs > (cur as { minusMs: number }).minusMs ? since : cur);
      }
      return;
    }
    if (c.k === ('quantile' as string)) return; // its own query's windows
    for (const child of Object.values(v as object)) if (typeof child === 'object') walk(child);
  };
  walk(root);
  return out;
}

/** An "any"/"none" test in the pass shape as a comparison with the latest matching event's time (see existsWindows). */
function latestEventTest(x: Ctx, c: IrCond): Sql | undefined {
  if (c.k !== 'cmp' || c.a.k !== 'agg' || c.b.k !== 'lit' || typeof c.b.value !== 'number' || !isExistsTest(c)) return undefined;
  const f = c.a.agg.filter;
  const g = existsGroup(f);
  if (f.where !== null || !x.windows?.has(g)) return undefined;
  const n = c.b.value;
  const any = (c.op === 'gte' && n === 1) || (c.op === 'gt' && n === 0) || (c.op === 'ne' && n === 0);
  const latest: IrAgg = { fn: 'max', filter: { ...f, since: x.windows.get(g)! }, value: { k: 'ecol', col: f.stream.time, type: 'timestamp' }, zeroWhenNone: false };
  const ref = aggregate(x, latest);
  const since = f.since ?? null;
  const test = since ? sql`(${ref} > ${x.time(since)})` : sql`(${ref} is not null)`;
  return any ? sql`(${test} is true)` : sql`(${test} is not true)`;
}

// ---- identifiers ---------------------------------------------------------------------------------

// Kysely builders are immutable, so one identifier's builder serves every query that names it:
// building (and freezing) the same nodes again per reference was a tenth of compile time. Bounded,
// for a long-running language server whose projects come and go.
const identifiers = new Map<string, Sql>();
const MAX_IDENTIFIERS = 50_000;

function memoIdentifier(key: string, build: () => Sql): Sql {
  let s = identifiers.get(key);
  if (s === undefined) {
    if (identifiers.size >= MAX_IDENTIFIERS) identifiers.clear();
    identifiers.set(key, (s = build()));
  }
  return s;
}

function table(t: IrTable): Sql {
  return t.schema ? memoIdentifier(`t\u0000${t.schema}\u0000${t.name}`, () => sql`${sql.id(t.schema!, t.name)}`) : memoIdentifier(`t\u0000${t.name}`, () => sql`${sql.id(t.name)}`);
}

/** The alias of a de-duplicated stream's rows inside its source subquery (streamRel). */
const DD = '__tally_dd';

/**
 * A stream as a FROM item: its table, or, with `dedupe_on`, the table read as if only the first
 * row of each duplicate group existed. Rows up to T are numbered per group (equal on every dedupe
 * value) by time, then by the IR's tiebreak columns, then the properties as jsonb; a row keeps when
 * it is the first, or when a dedupe value is NULL (a NULL is never a duplicate). One window pass
 * over the stream (a sort and a WindowAgg), never a probe per row; every form reads the stream
 * through here, so they all see the same rows. `time <= T` is pushed inside: every form reads only
 * events up to T, and a group's first row is at or before T exactly when some row of it is.
 */
function streamRel(x: Ctx, s: IrStream): Sql {
  const base = dedupedRel(x, s);
  return s.fx ? withRates(currencyParts(x), base, s.time, s.fx) : base;
}

/** The compiler's building blocks for currency conversion (sql/currency.ts). */
function currencyParts(x: Ctx): CurrencyParts {
  return { d: x.d, asOf: x.asOf, table, col, value: (v) => x.value(v), expr: (e, alias) => expr(x, e, alias) };
}

/** A cost source's rows (with their rate when it converts) and the amount in the project currency, alias `c`. */
function costRel(x: Ctx, c: ir.IrCosts): { rel: Sql; amount: Sql } {
  if (!c.fx) return { rel: table(c.table), amount: col('c', c.amount) };
  return { rel: withRates(currencyParts(x), table(c.table), c.time, c.fx), amount: sql`(${col('c', c.amount)} * ${col('c', ir.FX_RATE)})` };
}

function dedupedRel(x: Ctx, s: IrStream): Sql {
  if (!s.dedupe) return table(s.table);
  const d = s.dedupe;
  const on = d.on.map((e) => expr(x, e, DD));
  const order = [col(DD, s.time), ...d.tiebreak.map((c) => col(DD, c)), ...(d.properties ? [x.d.cast(col(DD, d.properties), 'jsonb')] : [])];
  const nulls = sql.join(on.map((o) => sql`${o} is null`), sql` or `);
  const numbered = sql`select ${sql.id(DD)}.*, row_number() over (partition by ${sql.join(on)} order by ${sql.join(order)}) as ${sql.id(DEDUPE_RANK)} from ${table(s.table)} as ${sql.id(DD)} where ${col(DD, s.time)} <= ${x.asOf}`;
  return sql`(select * from (${numbered}) as ${sql.id(DD)} where ${col(DD, DEDUPE_RANK)} = 1 or ${nulls})`;
}

/** The column numbering a de-duplicated stream's rows within their duplicate group. */
export const DEDUPE_RANK = '__tally_dup';

function col(alias: string, column: string): Sql {
  return memoIdentifier(`c\u0000${alias}\u0000${column}`, () => sql.id(alias, column));
}

// ---- expressions ---------------------------------------------------------------------------------

function expr(x: Ctx, e: IrExpr, ev?: string): Sql {
  if (x.outer && ev === undefined && x.cse) {
    const column = x.cse.get(ir.structuralKey(e));
    if (column) return col(E, column);
  }
  switch (e.k) {
    case 'col':
      return col(E, e.col);
    case 'ecol':
      return col(ev ?? 'ev', e.col);
    case 'eprop': {
      const text = x.d.jsonText(col(ev ?? 'ev', e.col), e.key);
      if (e.type === 'number') return x.d.cast(text, 'numeric');
      if (e.type === 'boolean') return x.d.cast(text, 'boolean');
      if (e.type === 'timestamp') return x.d.cast(text, 'timestamptz');
      return text;
    }
    case 'lit':
      return x.value(e.value);
    case 'time':
      return x.time(e.at);
    case 'agg':
      return aggregate(x, e.agg);
    case 'case': {
      const whens = e.whens.map((w) => sql`when ${cond(x, w.when, ev)} then ${expr(x, w.then, ev)}`);
      return sql`case ${sql.join(whens, sql` `)} else ${expr(x, e.else, ev)} end`;
    }
    case 'arith':
      // float8 division: counts are bigint, and bigint / integer truncates.
      if (e.op === '/') return sql`(${x.d.cast(expr(x, e.a, ev), 'float8')} / nullif(${expr(x, e.b, ev)}, 0))`;
      return sql`(${expr(x, e.a, ev)} ${sql.raw(e.op)} ${expr(x, e.b, ev)})`;
    case 'fn':
      return sql`${sql.raw(e.fn)}(${sql.join(e.args.map((a) => expr(x, a, ev)))})`;
    case 'days-to-asof':
      return x.d.daysBetween(expr(x, e.from, ev), x.asOf);
    case 'quantile': {
      const k = ir.structuralKey(e);
      let j = x.quantiles.get(k);
      if (!j) x.quantiles.set(k, (j = { alias: `q${x.quantiles.size + 1}`, q: e }));
      return x.outer ? col(E, `__tally_${j.alias}`) : col(j.alias, 'b');
    }
  }
}

/** `1 + floor(n·(rank − 1) / count)` over the rows of a select whose value column is `v` (NULLs filtered out before). */
function quantileBand(x: Ctx, n: number, v: Sql): Sql {
  return sql`1 + ${x.d.intDiv(sql`${sql.lit(n)} * (rank() over (order by ${v}) - 1)`, sql`count(*) over ()`)}`;
}

/**
 * The LEFT JOINs of the quantile bands: per band, the value of every entity existing at T (its own
 * grouped scans, never the outer query's candidates: a band is relative to the whole population),
 * NULLs dropped, ranked once with window functions; an entity with a NULL value gets no row, so its
 * band is NULL.
 */
function quantileJoins(x: Ctx): Sql[] {
  return [...x.quantiles.values()].map((j) => {
    const inner = new Ctx(x.opts, j.q.entity, 'pass');
    inner.windows = existsWindows(j.q.value);
    const value = expr(inner, j.q.value);
    const scope = entityScope(inner, j.q.entity, null);
    const values = sql`select ${col(E, j.q.entity.key)} as k, ${value} as v from ${scope.from} where ${scope.where}`;
    const ranked = j.q.valueType === 'number' ? x.d.rankNumber(col('qv', 'v')) : col('qv', 'v');
    return sql`left join (select ${col('qv', 'k')} as k, ${quantileBand(x, j.q.n, ranked)} as b from (${values}) as qv where ${col('qv', 'v')} is not null) as ${sql.id(j.alias)} on ${col(j.alias, 'k')} = ${col(E, x.entity!.key)}`;
  });
}

const CMP: Record<ir.CmpOp, string> = { eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

function cond(x: Ctx, c: IrCond, ev?: string): Sql {
  switch (c.k) {
    case 'const':
      return c.value ? sql`true` : sql`false`;
    case 'and':
    case 'or':
      return sql`(${sql.join(
        c.items.map((i) => cond(x, i, ev)),
        c.k === 'and' ? sql` and ` : sql` or `,
      )})`;
    case 'not': {
      const probe = x.strategy === 'probe' && ev === undefined ? existsProbe(x, c.item, true) : undefined;
      if (probe) return probe;
      return ir.mayBeNull(c.item) ? sql`(${cond(x, c.item, ev)}) is not true` : sql`not ${cond(x, c.item, ev)}`;
    }
    case 'cmp': {
      if (x.strategy === 'probe' && ev === undefined) {
        const probe = existsProbe(x, c, false);
        if (probe) return probe;
      }
      if (x.strategy === 'pass' && ev === undefined) {
        const latest = latestEventTest(x, c);
        if (latest) return latest;
      }
      return sql`${expr(x, c.a, ev)} ${sql.raw(CMP[c.op])} ${expr(x, c.b, ev)}`;
    }
    case 'in': {
      const list = sql.join(c.values.map((v) => expr(x, v, ev)));
      return c.negated ? sql`${expr(x, c.a, ev)} not in (${list})` : sql`${expr(x, c.a, ev)} in (${list})`;
    }
    case 'is-null':
      return c.negated ? sql`${expr(x, c.a, ev)} is not null` : sql`${expr(x, c.a, ev)} is null`;
    case 'text':
      return c.op === 'contains' ? x.d.contains(expr(x, c.a, ev), expr(x, c.b, ev)) : x.d.startsWith(expr(x, c.a, ev), expr(x, c.b, ev));
  }
}

/** `count >= 1` -> EXISTS, `count = 0` -> NOT EXISTS (negated flips), when the shape is probe. */
function existsProbe(x: Ctx, c: IrCond, negated: boolean): Sql | undefined {
  if (c.k !== 'cmp' || c.a.k !== 'agg' || c.a.agg.fn !== 'count' || c.b.k !== 'lit' || typeof c.b.value !== 'number') return undefined;
  const n = c.b.value;
  let any: boolean;
  if ((c.op === 'gte' && n === 1) || (c.op === 'gt' && n === 0) || (c.op === 'ne' && n === 0)) any = true;
  else if ((c.op === 'eq' && n === 0) || (c.op === 'lt' && n === 1) || (c.op === 'lte' && n === 0)) any = false;
  else return undefined;
  if (negated) any = !any;
  const f = c.a.agg.filter;
  const body = sql`select 1 from ${streamRel(x, f.stream)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')}`;
  return any ? sql`exists (${body})` : sql`not exists (${body})`;
}

/** The WHERE of one event filter for event alias `ev`: time <= T, window, types, properties. */
function eventFilter(x: Ctx, f: IrEventFilter, ev: string, opts: { upper?: boolean } = {}): Sql {
  const parts: Sql[] = [];
  if (opts.upper !== false) parts.push(sql`${col(ev, f.stream.time)} <= ${x.asOf}`);
  if (f.since) parts.push(sql`${col(ev, f.stream.time)} > ${x.time(f.since)}`);
  if (f.types && f.stream.typeColumn) {
    parts.push(
      f.types.length === 1
        ? sql`${col(ev, f.stream.typeColumn)} = ${x.value(f.types[0]!)}`
        : sql`${col(ev, f.stream.typeColumn)} in (${sql.join(f.types.map((t) => x.value(t)))})`,
    );
  }
  if (f.where) parts.push(cond(x, f.where, ev));
  return parts.length ? sql.join(parts, sql` and `) : sql`true`;
}

/** The aggregate call for one slot; `filter` goes inside, right after the call (before any subscript). */
function aggValue(x: Ctx, agg: IrAgg, ev: string, filter?: Sql): Sql {
  const v = agg.value ? expr(x, agg.value, ev) : sql`*`;
  const f = filter ? sql` filter (where ${filter})` : sql``;
  switch (agg.fn) {
    case 'count':
      return sql`count(*)${f}`;
    case 'sum':
      // A sum over matching events is 0 even when none carries the property; NULL (as a trait)
      // only when there are no matching events at all.
      if (!agg.zeroWhenNone) return sql`coalesce(sum(${v})${f}, case when count(*)${f} > 0 then 0 end)`;
      return sql`sum(${v})${f}`;
    case 'avg':
    case 'min':
    case 'max':
      return sql`${sql.raw(agg.fn)}(${v})${f}`;
    case 'last':
    case 'first':
      return x.d.firstOf(v, col(ev, agg.filter.stream.time), agg.fn === 'last', f);
    case 'count_distinct':
      // Distinct non-NULL values (count ignores NULLs); 0, not NULL, with none (zeroWhenNone).
      return sql`count(distinct ${v})${f}`;
  }
}

function aggregate(x: Ctx, agg: IrAgg): Sql {
  if (x.strategy === 'pass') {
    const slot = x.slotFor(agg);
    const pass = [...x.passes.values()].find((p) => [...p.slots.values()].includes(slot))!;
    const ref = x.outer ? col(E, `__tally_${pass.alias}_${slot.alias}`) : col(pass.alias, slot.alias);
    return agg.zeroWhenNone ? sql`coalesce(${ref}, 0)` : ref;
  }
  const f = agg.filter;
  let sub: Sql;
  if (agg.fn === 'last' || agg.fn === 'first') {
    sub = sql`(select ${expr(x, agg.value!, 'ev')} from ${streamRel(x, f.stream)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')} order by ${col('ev', f.stream.time)} ${sql.raw(agg.fn === 'last' ? 'desc' : 'asc')} limit 1)`;
  } else {
    sub = sql`(select ${aggValue(x, agg, 'ev')} from ${streamRel(x, f.stream)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')})`;
  }
  return agg.zeroWhenNone && agg.fn !== 'count' ? sql`coalesce(${sub}, 0)` : sub;
}

/** The LEFT JOINs of the pass shape: one grouped, windowed scan per stream. */
function passJoins(x: Ctx): Sql {
  const joins: Sql[] = [];
  for (const pass of x.passes.values()) {
    const slots = [...pass.slots.values()];
    const s = pass.stream;
    // Push the union of the slots' types and the widest window into the scan's WHERE.
    const pushed: Sql[] = [sql`${col('ev', s.time)} <= ${x.asOf}`];
    const allTyped = s.typeColumn && slots.every((sl) => sl.agg.filter.types);
    const types = allTyped ? [...new Set(slots.flatMap((sl) => sl.agg.filter.types!))].sort() : [];
    if (allTyped) {
      pushed.push(types.length === 1 ? sql`${col('ev', s.typeColumn!)} = ${x.value(types[0]!)}` : sql`${col('ev', s.typeColumn!)} in (${sql.join(types.map((t) => x.value(t)))})`);
    }
    let pushedSince: IrTime | undefined;
    if (slots.every((sl) => sl.agg.filter.since)) {
      const widest = slots.reduce((w, sl) => (sl.agg.filter.since!.k === 'asof' && w.k === 'asof' && (sl.agg.filter.since as { minusMs: number }).minusMs > w.minusMs ? sl.agg.filter.since! : w), slots[0]!.agg.filter.since!);
      if (slots.every((sl) => sl.agg.filter.since!.k === 'asof')) {
        pushed.push(sql`${col('ev', s.time)} > ${x.time(widest)}`);
        pushedSince = widest;
      }
    }
    if (x.candidates) pushed.push(sql`${col('ev', s.entityKey)} in (${x.candidates})`);
    const cols = slots.map((sl) => {
      const f = sl.agg.filter;
      // The slot's FILTER holds only what the scan's WHERE does not already say: its types when
      // narrower than the pushed ones, its window when narrower than the pushed one, its property tests.
      const parts: Sql[] = [];
      if (f.since && !(pushedSince && ir.structuralKey(f.since) === ir.structuralKey(pushedSince))) parts.push(sql`${col('ev', s.time)} > ${x.time(f.since)}`);
      if (f.types && s.typeColumn && !(allTyped && [...new Set(f.types)].sort().join('\u0000') === types.join('\u0000'))) {
        parts.push(f.types.length === 1 ? sql`${col('ev', s.typeColumn)} = ${x.value(f.types[0]!)}` : sql`${col('ev', s.typeColumn)} in (${sql.join(f.types.map((t) => x.value(t)))})`);
      }
      if (f.where) parts.push(cond(x, f.where, 'ev'));
      const value = aggValue(x, sl.agg, 'ev', parts.length ? sql.join(parts, sql` and `) : undefined);
      return sql`${value} as ${sql.id(sl.alias)}`;
    });
    joins.push(
      sql`left join (select ${col('ev', s.entityKey)} as k, ${sql.join(cols)} from ${streamRel(x, s)} as ev where ${sql.join(pushed, sql` and `)} group by ${col('ev', s.entityKey)}) as ${sql.id(pass.alias)} on ${col(pass.alias, 'k')} = ${col(E, x.entity!.key)}`,
    );
  }
  joins.push(...quantileJoins(x));
  return joins.length ? sql.join(joins, sql` `) : sql``;
}

// ---- choosing the shape --------------------------------------------------------------------------

function countAggs(c: IrCond | IrExpr, acc = { n: 0 }): { n: number } {
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    // A quantile band is one value per entity from its own join: counted once, its insides are not this query's.
    if ((v as { k?: string }).k === 'agg' || (v as { k?: string }).k === 'quantile') {
      acc.n++;
      return;
    }
    for (const child of Object.values(v as object)) if (typeof child === 'object') walk(child);
  };
  walk(c);
  return acc;
}

function hasAgg(c: IrCond | IrExpr): boolean {
  return countAggs(c).n > 0;
}

/** `count >= 1` / `count = 0` (and their equivalents) of one event filter: an EXISTS / NOT EXISTS when probing. */
function isExistsTest(c: IrCond): boolean {
  if (c.k === 'not') return isExistsTest(c.item);
  if (c.k !== 'cmp' || c.a.k !== 'agg' || c.a.agg.fn !== 'count' || c.b.k !== 'lit' || typeof c.b.value !== 'number') return false;
  const n = c.b.value;
  return (c.op === 'gte' && n === 1) || (c.op === 'gt' && n === 0) || (c.op === 'ne' && n === 0) || (c.op === 'eq' && n === 0) || (c.op === 'lt' && n === 1) || (c.op === 'lte' && n === 0);
}

/**
 * No correlated per-row subquery over events, ever: `probe` only when the one aggregate is a
 * top-level "any"/"none" conjunct (EXISTS / NOT EXISTS, which PostgreSQL plans as one hash semi-
 * or anti-join over the matching events), or when there is no aggregate at all (the shapes are
 * then the same SQL). Anything else is `pass`: one grouped scan per stream (two EXISTS let the
 * planner probe the second per row of the first), even when an attribute filter is selective (a
 * correlated probe per candidate was measured against it, see ARCHITECTURE.md).
 */
export function chooseStrategy(where: IrCond): Strategy {
  const total = countAggs(where).n;
  if (total === 0) return 'probe';
  const conjuncts = where.k === 'and' ? where.items : [where];
  return total === 1 && conjuncts.some((c) => isExistsTest(c)) ? 'probe' : 'pass';
}

// ---- queries -------------------------------------------------------------------------------------

function existsAtT(x: Ctx, entity: IrEntity): Sql | undefined {
  // Written as an OR (not coalesce) so the planner can estimate it from the column's statistics.
  return entity.createdAt ? sql`(${col(E, entity.createdAt)} <= ${x.asOf} or ${col(E, entity.createdAt)} is null)` : undefined;
}

/**
 * When top-level conjuncts filter on entity columns alone, the keys they leave: the pass shape
 * reads only these entities' events (`entity_key in (...)`), which the planner joins by hash or, for
 * a few candidates, through the (entity_key, type, time) index, one range per candidate for all
 * aggregates at once instead of one probe per aggregate.
 */
function candidateKeys(x: Ctx, entity: IrEntity, where: IrCond): Sql | undefined {
  const conjuncts = (where.k === 'and' ? where.items : [where]).filter((c) => c.k !== 'const' && countAggs(c).n === 0);
  if (!conjuncts.length) return undefined;
  const parts = [...(existsAtT(x, entity) ? [existsAtT(x, entity)!] : []), ...conjuncts.map((c) => cond(x, c))];
  return sql`select ${col(E, entity.key)} from ${table(entity.table)} as ${sql.id(E)} where ${sql.join(parts, sql` and `)}`;
}

/** FROM + WHERE for entities satisfying `where` at T; the caller picks the columns. */
function entityScope(x: Ctx, entity: IrEntity, where: IrCond | null): { from: Sql; where: Sql } {
  const parts: Sql[] = [];
  const exists = existsAtT(x, entity);
  if (exists) parts.push(exists);
  if (where && !(where.k === 'const' && where.value)) parts.push(cond(x, where));
  if (x.strategy === 'pass' && where) x.candidates = candidateKeys(x, entity, where);
  // Joins must be rendered after the conditions (which register the slots).
  const joins = passJoins(x);
  return { from: x.passes.size || x.quantiles.size ? sql`${table(entity.table)} as ${sql.id(E)} ${joins}` : sql`${table(entity.table)} as ${sql.id(E)}`, where: parts.length ? sql.join(parts, sql` and `) : sql`true` };
}

function membersSql(x: Ctx, q: ir.IrMembersQuery, select: Sql): Sql {
  x.windows ??= existsWindows(q.where);
  const repeated = x.strategy === 'pass' ? repeatedExprs(q.where) : [];
  if (repeated.length) return membersSqlOnce(x, q, select, repeated);
  const scope = entityScope(x, q.entity, q.where);
  return sql`select ${select} from ${scope.from} where ${scope.where}`;
}

/**
 * Expressions over several aggregates that a condition uses more than once (a score tested
 * against two bands), none inside another: computed once per entity. (One aggregate compared
 * twice, `days_since` between two bounds, is cheaper to repeat than to fence.)
 */
function repeatedExprs(where: IrCond): IrExpr[] {
  const counts = new Map<string, { e: IrExpr; n: number }>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    const e = v as IrExpr;
    if (e.k === 'quantile') return; // computed in its own join
    if ((e.k === 'arith' || e.k === 'case' || e.k === 'fn') && countAggs(e).n > 1) {
      const k = ir.structuralKey(e);
      const c = counts.get(k);
      if (c) {
        c.n++;
        return; // its insides are counted once, with it
      }
      counts.set(k, { e, n: 1 });
    }
    for (const child of Object.values(v as object)) if (typeof child === 'object') walk(child);
  };
  walk(where);
  const many = [...counts.values()].filter((c) => c.n > 1).map((c) => c.e);
  const keys = many.map((e) => ir.structuralKey(e));
  // Keep the outermost: drop one that is inside another repeated expression.
  return many.filter((_e, i) => !keys.some((k, j) => j !== i && k.length > keys[i]!.length && k.includes(keys[i]!)));
}

/**
 * The pass shape with repeated expressions computed once: an inner select (the entities existing
 * at T, the grouped scans, every aggregate and each repeated expression as a column; `offset 0` so
 * the planner keeps it a subquery instead of pasting the expressions back into the condition),
 * filtered outside by the condition that reads those columns.
 */
function membersSqlOnce(x: Ctx, q: ir.IrMembersQuery, select: Sql, repeated: IrExpr[]): Sql {
  x.cse = new Map(repeated.map((e, i) => [ir.structuralKey(e), `__tally_x${i + 1}`]));
  const computed = repeated.map((e, i) => sql`${expr(x, e)} as ${sql.id(`__tally_x${i + 1}`)}`);
  // Conjuncts on entity columns alone filter inside (before the joins), the rest outside.
  const conjuncts = (q.where.k === 'and' ? q.where.items : [q.where]).filter((c) => !(c.k === 'const' && c.value));
  const plain = conjuncts.filter((c) => countAggs(c).n === 0);
  const rest = conjuncts.filter((c) => countAggs(c).n > 0);
  x.outer = true;
  const where = rest.length ? sql.join(rest.map((c) => cond(x, c)), sql` and `) : sql`true`;
  x.outer = false;
  const innerWhere = [...(existsAtT(x, q.entity) ? [existsAtT(x, q.entity)!] : []), ...plain.map((c) => cond(x, c))];
  x.candidates = candidateKeys(x, q.entity, q.where);
  const joins = passJoins(x);
  const slots = [
    ...[...x.passes.values()].flatMap((p) => [...p.slots.values()].map((sl) => sql`${col(p.alias, sl.alias)} as ${sql.id(`__tally_${p.alias}_${sl.alias}`)}`)),
    ...[...x.quantiles.values()].map((j) => sql`${col(j.alias, 'b')} as ${sql.id(`__tally_${j.alias}`)}`),
  ];
  const inner = sql`select ${sql.id(E)}.*, ${sql.join([...slots, ...computed])} from ${table(q.entity.table)} as ${sql.id(E)} ${joins} where ${innerWhere.length ? sql.join(innerWhere, sql` and `) : sql`true`} offset 0`;
  return sql`select ${select} from (${inner}) as ${sql.id(E)} where ${where}`;
}

export interface CompiledQuery extends CompiledSql {
  readonly strategy?: Strategy;
}

function strategyFor(opts: SqlOptions, decide: () => Strategy): Strategy {
  return opts.strategy && opts.strategy !== 'auto' ? opts.strategy : decide();
}

/** `select key from <entity> where <segment>`: the members at T. */
export function compileMembers(q: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  return { ...compileRaw(membersSql(x, q, sql`${col(E, q.entity.key)} as key`), dialectOf(opts)), strategy };
}

/** `select count(*)` of the members at T. */
export function compileMemberCount(q: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  return { ...compileRaw(membersSql(x, q, sql`count(*) as count`), dialectOf(opts)), strategy };
}

/** Up to `limit` member rows (all entity columns), ordered by key. */
export function compileMemberSample(q: ir.IrMembersQuery, opts: SqlOptions, limit: number): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  const inner = membersSql(x, q, sql`${sql.id(E)}.*`);
  return { ...compileRaw(sql`${inner} order by ${col(E, q.entity.key)} limit ${sql.lit(Math.max(0, Math.floor(limit)))}`, dialectOf(opts)), strategy };
}

/** `select key, value` for every entity existing at T (trait, score, lifecycle stage). */
export function compileValues(q: ir.IrValuesQuery, opts: SqlOptions): CompiledQuery {
  const strategy = strategyFor(opts, () => 'pass');
  const x = new Ctx(opts, q.entity, strategy);
  x.windows = existsWindows(q.value);
  const value = expr(x, q.value);
  const scope = entityScope(x, q.entity, null);
  return { ...compileRaw(sql`select ${col(E, q.entity.key)} as key, ${value} as value from ${scope.from} where ${scope.where}`, dialectOf(opts)), strategy };
}

/** Counts per value (the lifecycle's stage distribution, a score's bands). */
export function compileDistribution(q: ir.IrValuesQuery, opts: SqlOptions): CompiledQuery {
  const inner = compileValuesRaw(q, opts);
  return { ...compileRaw(sql`select value, count(*) as count from (${inner.raw}) as v group by value order by value`, dialectOf(opts)), strategy: inner.strategy };
}

/** Counts per value among a segment's members at T (a segment's lifecycle breakdown). */
export function compileDistributionAmong(q: ir.IrValuesQuery, members: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery {
  const inner = compileValuesRaw(q, opts);
  const x = new Ctx(opts, members.entity, strategyFor(opts, () => chooseStrategy(members.where)));
  const keys = membersSql(x, members, sql`${col(E, members.entity.key)}`);
  return { ...compileRaw(sql`select value, count(*) as count from (${inner.raw}) as v where v.key in (${keys}) group by value order by value`, dialectOf(opts)), strategy: inner.strategy };
}

function compileValuesRaw(q: ir.IrValuesQuery, opts: SqlOptions): { raw: Sql; strategy: Strategy } {
  const strategy = strategyFor(opts, () => 'pass');
  const x = new Ctx(opts, q.entity, strategy);
  x.windows = existsWindows(q.value);
  const value = expr(x, q.value);
  const scope = entityScope(x, q.entity, null);
  return { raw: sql`select ${col(E, q.entity.key)} as key, ${value} as value from ${scope.from} where ${scope.where}`, strategy };
}

/** Summary of a values query: how many entities, how many have a value, and a sample ordered by key. */
export function compileValueSample(q: ir.IrValuesQuery, opts: SqlOptions, limit: number): { stats: CompiledQuery; sample: CompiledQuery } {
  const a = compileValuesRaw(q, opts);
  const b = compileValuesRaw(q, opts);
  return {
    stats: { ...compileRaw(sql`select count(*) as entities, count(value) as count from (${a.raw}) as v`, dialectOf(opts)), strategy: a.strategy },
    sample: { ...compileRaw(sql`select key, value from (${b.raw}) as v where value is not null order by key limit ${sql.lit(Math.max(0, Math.floor(limit)))}`, dialectOf(opts)), strategy: b.strategy },
  };
}

// ---- previews: one evaluation feeds the count and the sample --------------------------------------

/** The count column of the preview statements; the sample's own columns follow it. */
export const PREVIEW_COUNT = '__tally_count';

function limitLit(limit: number): Sql {
  return sql.lit(Math.max(0, Math.floor(limit)));
}

/**
 * A segment preview in one statement: the members' keys are computed once (a materialized CTE),
 * counted, and the first `limit` of them by key joined back to their entity rows. Returns one row
 * per sampled member, each carrying the count in `__tally_count` and then every entity column; with
 * no sample (no members, or limit 0) one row with the count and NULL entity columns.
 */
export function compileMemberPreview(q: ir.IrMembersQuery, opts: SqlOptions, limit: number): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  const members = membersSql(x, q, sql`${col(E, q.entity.key)} as k`);
  const key = q.entity.key;
  return {
    ...compileRaw(
      sql`with ${x.d.materializedCte('m', members)} select t.n as ${sql.id(PREVIEW_COUNT)}, ${sql.id(E)}.* from (select count(*) as n from m) as t left join (select k from m order by k limit ${limitLit(limit)}) as s on true left join ${table(q.entity.table)} as ${sql.id(E)} on ${col(E, key)} = ${col('s', 'k')} order by ${col('s', 'k')}`,
      dialectOf(opts),
    ),
    strategy,
  };
}

/**
 * A trait or score preview in one statement: every entity's value computed once (a materialized
 * CTE); one row per sampled entity (non-NULL values, by key) with `entities` (existing at T),
 * `count` (with a value) and, given `bucket` (an expression over the value, written as the entity
 * column `value`, e.g. a score's band), `buckets`: a JSON object of counts per non-NULL bucket.
 * With no sample, one row with the totals and a NULL key.
 */
export function compileValuePreview(q: ir.IrValuesQuery, opts: SqlOptions, limit: number, bucket?: IrExpr | { readonly quantiles: number }): CompiledQuery {
  const inner = compileValuesRaw(q, opts);
  const x = new Ctx(opts, q.entity, 'pass');
  // Quantile bands (1..N, keyed by number): ranked once over the non-NULL values of the CTE.
  const buckets = bucket && 'quantiles' in bucket
    ? sql`, (select ${x.d.jsonObjectAgg(sql`b.bucket`, sql`b.n`)} from (select r.bucket, count(*) as n from (select ${quantileBand(x, bucket.quantiles, q.valueType === 'number' ? x.d.rankNumber(sql`v.value`) : sql`v.value`)} as bucket from v where v.value is not null) as r group by r.bucket) as b) as buckets`
    : bucket
    ? sql`, (select ${x.d.jsonObjectAgg(sql`b.bucket`, sql`b.n`)} from (select ${expr(x, bucket)} as bucket, count(*) as n from v as ${sql.id(E)} group by 1) as b where b.bucket is not null) as buckets`
    : sql``;
  return {
    ...compileRaw(
      sql`with ${x.d.materializedCte('v', inner.raw)} select t.entities, t.count${buckets}, s.key, s.value from (select count(*) as entities, count(value) as count from v) as t left join (select key, value from v where value is not null order by key limit ${limitLit(limit)}) as s on true order by s.key`,
      dialectOf(opts),
    ),
    strategy: inner.strategy,
  };
}

// ---- metrics -------------------------------------------------------------------------------------
//
// A KPI is one row. Its leaves are computed in single-row sources, cross-joined, and combined in
// the select list (ratios: float8 division, NULL on a zero denominator). Every source is set-based:
// one scan (or one grouped scan) of the events it needs, never a probe per entity.
//  - events / sum / avg / active over one stream share one source: a flat scan with each leaf as
//    `agg(...) FILTER (WHERE ...)`, or, when an `active` leaf needs per-entity counts, one grouped
//    scan per entity key aggregated again (so dau_mau reads the login events once);
//  - `count` leaves over one entity share one scan of the entities (`count(*) FILTER (WHERE ...)`,
//    the conditions' event aggregates in the pass shape: one grouped scan per stream);
//  - retention, churn and nps are one source each (see their functions).
// Existence: an event counts only when its key is an entity that exists at T (a semi-join to the
// entity table with created_at <= T), so orphan keys and entities created after T count for nothing.

type StreamLeaf = Extract<IrMetric, { k: 'events' | 'sum' | 'avg' | 'active' }>;

interface StreamSource {
  readonly alias: string;
  readonly entity: IrEntity;
  readonly stream: IrStream;
  readonly leaves: Map<string, { readonly leaf: StreamLeaf; readonly col: string }>;
}

interface CountSource {
  readonly alias: string;
  readonly entity: IrEntity;
  readonly leaves: Map<string, { readonly where: IrCond; readonly col: string }>;
}

/** The sources of one KPI's row, collected while its value expression is built. */
class MetricRow {
  private readonly streams = new Map<string, StreamSource>();
  private readonly counts = new Map<string, CountSource>();
  private readonly singles: { alias: string; sql: Sql }[] = [];
  private next = 0;
  constructor(readonly x: Ctx) {}

  private alias(): string {
    return `m${++this.next}`;
  }

  streamLeaf(leaf: StreamLeaf): Sql {
    const k = ir.structuralKey([leaf.entity, leaf.filter.stream]);
    let src = this.streams.get(k);
    if (!src) this.streams.set(k, (src = { alias: this.alias(), entity: leaf.entity, stream: leaf.filter.stream, leaves: new Map() }));
    const lk = ir.structuralKey(leaf);
    let slot = src.leaves.get(lk);
    if (!slot) src.leaves.set(lk, (slot = { leaf, col: `v${src.leaves.size + 1}` }));
    return col(src.alias, slot.col);
  }

  countLeaf(entity: IrEntity, where: IrCond): Sql {
    const k = ir.structuralKey(entity);
    let src = this.counts.get(k);
    if (!src) this.counts.set(k, (src = { alias: this.alias(), entity, leaves: new Map() }));
    const lk = ir.structuralKey(where);
    let slot = src.leaves.get(lk);
    if (!slot) src.leaves.set(lk, (slot = { where, col: `v${src.leaves.size + 1}` }));
    return col(src.alias, slot.col);
  }

  /** A source that is one row with one column `v`. */
  single(body: Sql): Sql {
    const alias = this.alias();
    this.singles.push({ alias, sql: body });
    return col(alias, 'v');
  }

  from(): Sql {
    const parts: { alias: string; sql: Sql }[] = [
      ...[...this.streams.values()].map((s) => ({ alias: s.alias, sql: streamSourceSql(this.x, s) })),
      ...[...this.counts.values()].map((s) => ({ alias: s.alias, sql: countSourceSql(this.x, s) })),
      ...this.singles,
    ].sort((a, b) => Number(a.alias.slice(1)) - Number(b.alias.slice(1)));
    return sql.join(
      parts.map((p) => sql`(${p.sql}) as ${sql.id(p.alias)}`),
      sql` cross join `,
    );
  }
}

/** `exists (select 1 from <entity> where key = <keyRef> and it exists at T)`: the existence rule. */
function entityExists(x: Ctx, entity: IrEntity, keyRef: Sql): Sql {
  const parts: Sql[] = [sql`${col(E, entity.key)} = ${keyRef}`];
  const atT = existsAtT(x, entity);
  if (atT) parts.push(atT);
  return sql`exists (select 1 from ${table(entity.table)} as ${sql.id(E)} where ${sql.join(parts, sql` and `)})`;
}

/** The WHERE pushed into a stream source's scan: time <= T, the union of the types, the widest window. */
function pushedFilter(x: Ctx, stream: IrStream, filters: readonly IrEventFilter[]): { where: Sql; exact: (f: IrEventFilter) => boolean } {
  const parts: Sql[] = [sql`${col('ev', stream.time)} <= ${x.asOf}`];
  const allTyped = !!stream.typeColumn && filters.every((f) => f.types);
  const types = allTyped ? [...new Set(filters.flatMap((f) => f.types!))].sort() : [];
  if (allTyped) parts.push(types.length === 1 ? sql`${col('ev', stream.typeColumn!)} = ${x.value(types[0]!)}` : sql`${col('ev', stream.typeColumn!)} in (${sql.join(types.map((t) => x.value(t)))})`);
  const sinces = filters.map((f) => f.since);
  const relative = sinces.every((s) => s && s.k === 'asof');
  const widest = relative ? (sinces as { k: 'asof'; minusMs: number }[]).reduce((w, s) => (s.minusMs > w.minusMs ? s : w)) : undefined;
  if (widest) parts.push(sql`${col('ev', stream.time)} > ${x.time(widest)}`);
  // A filter needs no FILTER clause when the pushed WHERE already is exactly that filter.
  const exact = (f: IrEventFilter) =>
    f.where === null && ir.structuralKey(f.since) === ir.structuralKey(widest ?? null) && (allTyped ? types.length === 1 : f.types === null);
  return { where: sql.join(parts, sql` and `), exact };
}

function filterClause(x: Ctx, f: IrEventFilter, exact: boolean): Sql | undefined {
  return exact ? undefined : eventFilter(x, f, 'ev', { upper: false });
}

function withFilter(call: Sql, filter: Sql | undefined): Sql {
  return filter ? sql`${call} filter (where ${filter})` : call;
}

/**
 * events / sum / avg / active of one stream in one scan. Without `active`: a flat scan semi-joined
 * to the existing entities. With it: one grouped scan per key, semi-joined, aggregated again.
 */
function streamSourceSql(x: Ctx, src: StreamSource): Sql {
  const leaves = [...src.leaves.values()];
  const s = src.stream;
  const pushed = pushedFilter(x, s, leaves.map((l) => l.leaf.filter));
  const key = col('ev', s.entityKey);
  const scan = sql`from ${streamRel(x, s)} as ev where ${pushed.where}`;
  if (!leaves.some((l) => l.leaf.k === 'active')) {
    const cols = leaves.map(({ leaf, col: c }) => {
      const f = filterClause(x, leaf.filter, pushed.exact(leaf.filter));
      const v = leaf.k === 'events' || leaf.k === 'active' ? sql`count(*)` : sql`${sql.raw(leaf.k)}(${expr(x, leaf.value, 'ev')})`;
      const call = withFilter(v, f);
      return sql`${leaf.k === 'sum' ? sql`coalesce(${call}, 0)` : call} as ${sql.id(c)}`;
    });
    return sql`select ${sql.join(cols)} ${scan} and ${entityExists(x, src.entity, key)}`;
  }
  const inner: Sql[] = [sql`${key} as k`];
  const outer: Sql[] = [];
  for (const { leaf, col: c } of leaves) {
    const f = filterClause(x, leaf.filter, pushed.exact(leaf.filter));
    const g = (suffix: string) => col('g', `${c}${suffix}`);
    if (leaf.k === 'events' || leaf.k === 'active') {
      inner.push(sql`${withFilter(sql`count(*)`, f)} as ${sql.id(`${c}n`)}`);
      outer.push(leaf.k === 'events' ? sql`coalesce(sum(${g('n')}), 0) as ${sql.id(c)}` : sql`count(*) filter (where ${g('n')} > 0) as ${sql.id(c)}`);
    } else {
      const v = expr(x, leaf.value, 'ev');
      inner.push(sql`${withFilter(sql`sum(${v})`, f)} as ${sql.id(`${c}s`)}`);
      if (leaf.k === 'sum') outer.push(sql`coalesce(sum(${g('s')}), 0) as ${sql.id(c)}`);
      else {
        inner.push(sql`${withFilter(sql`count(${v})`, f)} as ${sql.id(`${c}n`)}`);
        outer.push(sql`sum(${g('s')}) / nullif(sum(${g('n')}), 0) as ${sql.id(c)}`);
      }
    }
  }
  return sql`select ${sql.join(outer)} from (select ${sql.join(inner)} ${scan} group by ${key}) as g where ${entityExists(x, src.entity, col('g', 'k'))}`;
}

/**
 * Counts of entities (existing at T) satisfying conditions. Population-wide: one scan of the
 * entities in the pass shape, the conjuncts every condition shares in WHERE, the rest as
 * `count(*) FILTER (WHERE ...)`. Under a selective shared conjunct: one probing count per leaf.
 */
function countSourceSql(x: Ctx, src: CountSource): Sql {
  const leaves = [...src.leaves.values()];
  const conjuncts = (c: IrCond) => (c.k === 'and' ? c.items : [c]);
  const keysOf = (c: IrCond) => new Set(conjuncts(c).map((i) => ir.structuralKey(i)));
  const sets = leaves.map((l) => keysOf(l.where));
  const shared = conjuncts(leaves[0]!.where).filter((c) => sets.every((s) => s.has(ir.structuralKey(c))));
  const sharedKeys = new Set(shared.map((c) => ir.structuralKey(c)));
  const rests = leaves.map((l) => ir.and(conjuncts(l.where).filter((c) => !sharedKeys.has(ir.structuralKey(c)))));
  if (countStrategy(shared) === 'probe') {
    // One count per leaf, its probes in WHERE (a semi-join the planner can run as an index-only
    // nested loop); inside `count(*) FILTER (WHERE exists ...)` they would be a SubPlan per row.
    const cols = leaves.map((l) => sql`(${membersSql(new Ctx(x.opts, src.entity, 'probe'), { k: 'members', entity: src.entity, where: l.where }, sql`count(*)`)}) as ${sql.id(l.col)}`);
    return sql`select ${sql.join(cols)}`;
  }
  const cx = new Ctx(x.opts, src.entity, 'pass');
  const cols = rests.map((rest, i) => {
    const call = rest.k === 'const' && rest.value ? sql`count(*)` : sql`count(*) filter (where ${cond(cx, rest)})`;
    return sql`${call} as ${sql.id(leaves[i]!.col)}`;
  });
  const scope = entityScope(cx, src.entity, shared.length ? ir.and(shared) : null);
  return sql`select ${sql.join(cols)} from ${scope.from} where ${scope.where}`;
}

/**
 * Probe only when a shared conjunct filters on entity columns alone (a cohort such as "signed up
 * 7 to 37 days ago"): at 1M customers an index probe per member of a 7% cohort ran 5.8x faster
 * than any grouped scan of the purchases. Otherwise the pass shape: a probe per entity of the
 * whole population is what made repurchase_rate 2.36x a grouped pass.
 */
function countStrategy(shared: readonly IrCond[]): Strategy {
  return shared.some((c) => !hasAgg(c) && c.k !== 'const' && c.k !== 'not') ? 'probe' : 'pass';
}

/**
 * Retention in one grouped scan of the cohort events and one join to the return events: the cohort
 * is each existing entity's first cohort event c (events after T - days cannot be a first event in
 * the window, so the scan stops there), kept when c > T - within; an entity returned when a return
 * event lies in (c, c + days] (a hash join on the key, the window bounds pushed into the scan).
 */
function retentionSql(x: Ctx, m: Extract<IrMetric, { k: 'retention' }>): Sql {
  const c = m.cohort;
  const r = m.returning;
  const returnWindow: ir.IrDuration = { count: m.days, unit: 'days', ms: m.days * 86_400_000 };
  const days = x.d.interval(returnWindow);
  const lower = x.time({ k: 'asof', minusMs: m.cohortWithin.ms, minus: m.cohortWithin });
  const upper = x.time({ k: 'asof', minusMs: returnWindow.ms, minus: returnWindow });
  const hoisted = hoistedRetention(x, m, days);
  if (hoisted) {
    // Per period: the cohort is the entities whose first cohort event is in (T - W, T - N days]
    // (the first up to T - N is the first ever when it is that early), returned when their first
    // return in (c, c + N days] is at or before T.
    return sql`select ${x.d.cast(sql`count(*) filter (where p.fr <= ${x.asOf})`, 'float8')} / nullif(count(*), 0) as v from ${sql.id(hoisted)} as p where p.c > ${lower} and p.c <= ${upper} and ${entityExists(x, m.entity, col('p', 'k'))}`;
  }
  const ckey = col('ev', c.stream.entityKey);
  const firsts = sql`select ${ckey} as k, min(${col('ev', c.stream.time)}) as c from ${streamRel(x, c.stream)} as ev where ${eventFilter(x, c, 'ev')} and ${col('ev', c.stream.time)} <= ${upper} group by ${ckey} having min(${col('ev', c.stream.time)}) > ${lower}`;
  const cohort = sql`select g.k, g.c from (${firsts}) as g where ${entityExists(x, m.entity, col('g', 'k'))}`;
  const rt = col('rv', r.stream.time);
  const returned = sql`select distinct co.k from co join ${streamRel(x, r.stream)} as rv on ${col('rv', r.stream.entityKey)} = co.k and ${rt} > co.c and ${rt} <= co.c + ${days} where ${rt} > ${lower} and ${eventFilter(x, r, 'rv')}`;
  return sql`with co as (${cohort}), ret as (${returned}) select ${x.d.cast(sql`count(ret.k)`, 'float8')} / nullif(count(*), 0) as v from co left join ret on ret.k = co.k`;
}

/**
 * A series' retention: every entity's first cohort event ever (c) and its first return in
 * (c, c + N days] (fr), computed once for all periods as a hoisted CTE; undefined (evaluate per
 * period) unless the query is compiled for a series, neither stream is de-duplicated (the
 * de-duplicated rows depend on T) and the filters have no window of their own.
 */
function hoistedRetention(x: Ctx, m: Extract<IrMetric, { k: 'retention' }>, days: Sql): string | undefined {
  const hoist = x.opts.hoist;
  const c = m.cohort;
  const r = m.returning;
  if (!hoist || !x.opts.asOfSql || c.stream.dedupe || r.stream.dedupe || c.since || r.since) return undefined;
  const ckey = col('ev', c.stream.entityKey);
  const ct = col('ev', c.stream.time);
  const rt = col('rv', r.stream.time);
  const firsts = sql`select ${ckey} as k, min(${ct}) as c from ${table(c.stream.table)} as ev where ${eventFilter(x, c, 'ev', { upper: false })} group by ${ckey}`;
  const body = sql`select f.k, f.c, min(${rt}) as fr from (${firsts}) as f left join ${table(r.stream.table)} as rv on ${col('rv', r.stream.entityKey)} = f.k and ${rt} > f.c and ${rt} <= f.c + ${days} and ${eventFilter(x, r, 'rv', { upper: false })} group by f.k, f.c`;
  if (compileRaw(body, x.d).sql.includes(SERIES_T_MARKER)) return undefined;
  const name = `__tally_h${hoist.length + 1}`;
  hoist.push(x.d.materializedCte(name, body));
  return name;
}

/** Retention whose cohort instant is an entity attribute: one scan of the entities, one join to the return events. */
function attributeRetentionSql(x: Ctx, m: Extract<IrMetric, { k: 'attribute-retention' }>): Sql {
  const r = m.returning;
  const returnWindow: ir.IrDuration = { count: m.days, unit: 'days', ms: m.days * 86_400_000 };
  const days = x.d.interval(returnWindow);
  const lower = x.time({ k: 'asof', minusMs: m.cohortWithin.ms, minus: m.cohortWithin });
  const upper = x.time({ k: 'asof', minusMs: returnWindow.ms, minus: returnWindow });
  const c = expr(x, m.cohortAt);
  const parts: Sql[] = [sql`${c} > ${lower}`, sql`${c} <= ${upper}`];
  const atT = existsAtT(x, m.entity);
  if (atT) parts.push(atT);
  const cohort = sql`select ${col(E, m.entity.key)} as k, ${c} as c from ${table(m.entity.table)} as ${sql.id(E)} where ${sql.join(parts, sql` and `)}`;
  const rt = col('rv', r.stream.time);
  const returned = sql`select distinct co.k from co join ${streamRel(x, r.stream)} as rv on ${col('rv', r.stream.entityKey)} = co.k and ${rt} > co.c and ${rt} <= co.c + ${days} where ${rt} > ${lower} and ${eventFilter(x, r, 'rv')}`;
  return sql`with co as (${cohort}), ret as (${returned}) select ${x.d.cast(sql`count(ret.k)`, 'float8')} / nullif(count(*), 0) as v from co left join ret on ret.k = co.k`;
}

/** The columns of a cohort table: label and return window (lo, hi] relative to a cohort instant. */
function cohortColumns(q: ir.IrCohort): { label: string; lo: (x: Ctx, c: Sql, tz: Sql) => Sql; hi: (x: Ctx, c: Sql, tz: Sql) => Sql }[] {
  const days = (n: number) => (x: Ctx, c: Sql) => (n === 0 ? c : sql`(${c} + ${x.d.interval({ count: n, unit: 'days', ms: n * 86_400_000 })})`);
  const r = q.returns;
  if (r.unit === 'days') return r.offsets.map((n) => ({ label: `D${n}`, lo: days(0), hi: days(n) }));
  const out = [];
  for (let i = 1; i <= r.count; i++) {
    if (r.unit === 'weeks') out.push({ label: `W${i}`, lo: days((i - 1) * 7), hi: days(i * 7) });
    else out.push({ label: `M${i}`, lo: (x: Ctx, c: Sql, tz: Sql) => (i === 1 ? c : x.d.addLocal(c, i - 1, 'months', tz)), hi: (x: Ctx, c: Sql, tz: Sql) => x.d.addLocal(c, i, 'months', tz) });
  }
  return out;
}

/**
 * A cohort table in one statement: the members with their cohort instant c and period p (one scan
 * of the entities, or one grouped scan of the cohort events for a first event), LEFT JOINed once to
 * the return events (the widest window pushed into the join), reduced to one row per member with a
 * flag per column (`bool_or`), then counted per period with `count(*) FILTER`; the periods come
 * from a series so empty cohorts are rows too. Columns: `start`, `size`, and per column j `n<j>`
 * (returned), `v<j>` (returned / size, NULL for an empty cohort), `im<j>` (immature: the window of
 * the period's last possible member ends after T), `fu<j>` (no member's window has begun by T).
 */
export function compileCohort(q: ir.IrCohort, opts: SqlOptions): CompiledQuery {
  const x = new Ctx(opts, q.entity, 'pass');
  const d = x.d;
  const tz = x.value(q.timezone);
  const T = x.asOf;
  const oldest = d.periodStart(q.every, T, tz, sql.lit(q.count - 1));
  const trunc = (c: Sql) => d.periodStart(q.every, c, tz);
  let members: Sql;
  if (q.source.k === 'attribute') {
    const c = expr(x, q.source.value);
    const parts: Sql[] = [sql`${c} >= ${oldest}`, sql`${c} <= ${T}`];
    const atT = existsAtT(x, q.entity);
    if (atT) parts.push(atT);
    // As timestamptz, so a `timestamp` column (read in the session's zone, the project's) and a
    // `timestamptz` one truncate alike.
    const ct = d.cast(c, 'timestamptz');
    members = sql`select ${col(E, q.entity.key)} as k, ${ct} as c, ${trunc(ct)} as p from ${table(q.entity.table)} as ${sql.id(E)} where ${sql.join(parts, sql` and `)}`;
  } else {
    const f = q.source.filter;
    const key = col('ev', f.stream.entityKey);
    const t = col('ev', f.stream.time);
    const firsts = sql`select ${key} as k, min(${t}) as c from ${streamRel(x, f.stream)} as ev where ${eventFilter(x, f, 'ev')} group by ${key} having min(${t}) >= ${oldest}`;
    members = sql`select g.k, g.c, ${trunc(sql`g.c`)} as p from (${firsts}) as g where ${entityExists(x, q.entity, col('g', 'k'))}`;
  }
  const cols = cohortColumns(q);
  const r = q.returning;
  const rt = col('rv', r.stream.time);
  const c = sql`co.c`;
  const flags = cols.map((k, j) => {
    const lo = k.lo(x, c, tz);
    const test = lo === c ? sql`${rt} <= ${k.hi(x, c, tz)}` : sql`${rt} > ${lo} and ${rt} <= ${k.hi(x, c, tz)}`;
    return sql`${d.boolOr(test)} as ${sql.id(`r${j + 1}`)}`;
  });
  const widest = cols[cols.length - 1]!.hi(x, c, tz);
  const perMember = sql`select co.k, co.p, ${sql.join(flags)} from co left join ${streamRel(x, r.stream)} as rv on ${col('rv', r.stream.entityKey)} = co.k and ${rt} > co.c and ${rt} <= ${widest} and ${rt} > ${oldest} and ${eventFilter(x, r, 'rv')} group by co.k, co.p`;
  const periods = sql`select ${d.periodStart(q.every, T, tz, sql`s.i`)} as p from ${d.series(q.count, 's', 'i')}`;
  const p = sql`per.p`;
  const end = q.every === 'week' ? d.addLocal(p, 1, 'weeks', tz) : d.addLocal(p, 1, 'months', tz);
  const cells = cols.map((k, j) => {
    const n = sql`count(m.k) filter (where ${sql.ref(`m.r${j + 1}`)})`;
    return sql`${n} as ${sql.id(`n${j + 1}`)}, ${d.cast(n, 'float8')} / nullif(count(m.k), 0) as ${sql.id(`v${j + 1}`)}, ${k.hi(x, end, tz)} > ${T} as ${sql.id(`im${j + 1}`)}, ${k.lo(x, p, tz)} >= ${T} as ${sql.id(`fu${j + 1}`)}`;
  });
  return {
    ...compileRaw(
      sql`with co as (${members}), m as (${perMember}), per as (${periods}) select per.p as start, count(m.k) as size, ${sql.join(cells)} from per left join m on m.p = per.p group by per.p order by per.p`,
      dialectOf(opts),
    ),
    strategy: 'pass',
  };
}

/** Churn in one grouped scan of (T - 2P, T]: active in the prior period, and whether active since. */
function churnSql(x: Ctx, m: Extract<IrMetric, { k: 'churn' }>): Sql {
  const f = m.filter;
  // T - 2P in days (fractional for a period in hours or minutes), as the SQL has always said it.
  const p1 = x.time({ k: 'asof', minusMs: 2 * m.period.ms, minus: { count: 2 * (m.period.ms / 86_400_000), unit: 'days', ms: 2 * m.period.ms } });
  const p0 = x.time({ k: 'asof', minusMs: m.period.ms, minus: m.period });
  const t = col('ev', f.stream.time);
  const key = col('ev', f.stream.entityKey);
  const perKey = sql`select ${key} as k, ${x.d.boolOr(sql`${t} > ${p0}`)} as recent from ${streamRel(x, f.stream)} as ev where ${t} > ${p1} and ${eventFilter(x, f, 'ev')} group by ${key} having ${x.d.boolOr(sql`${t} <= ${p0}`)}`;
  return sql`select ${x.d.cast(sql`(count(*) filter (where not g.recent))`, 'float8')} / nullif(count(*), 0) as v from (${perKey}) as g where ${entityExists(x, m.entity, col('g', 'k'))}`;
}

/** Distinct non-NULL values of a property over the matching events of existing entities (one scan). */
function countDistinctSql(x: Ctx, m: Extract<IrMetric, { k: 'count_distinct' }>): Sql {
  const f = m.filter;
  const key = col('ev', f.stream.entityKey);
  return sql`select count(distinct ${expr(x, m.value, 'ev')}) as v from ${streamRel(x, f.stream)} as ev where ${eventFilter(x, f, 'ev')} and ${entityExists(x, m.entity, key)}`;
}

/** NPS over each existing respondent's latest scored response in the window (one sorted scan). */
function npsSql(x: Ctx, m: Extract<IrMetric, { k: 'nps' }>): Sql {
  const f = m.filter;
  const score = expr(x, m.value, 'ev');
  const key = col('ev', f.stream.entityKey);
  const latest = sql`select ${x.d.distinctOn(key)} ${score} as score from ${streamRel(x, f.stream)} as ev where ${eventFilter(x, f, 'ev')} and ${score} is not null and ${entityExists(x, m.entity, key)} order by ${key}, ${col('ev', f.stream.time)} desc`;
  return sql`select ${x.d.cast(sql`((count(*) filter (where score >= 9)) - (count(*) filter (where score <= 6)))`, 'float8')} * 100 / nullif(count(*), 0) as v from (${latest}) as nps`;
}

/**
 * CSAT: of the matching responses of existing entities whose rating is in [low, high] (so not
 * NULL), the share that is satisfied; NULL with none (one scan; every response counts).
 */
function csatSql(x: Ctx, m: Extract<IrMetric, { k: 'csat' }>): Sql {
  const f = m.filter;
  const rating = expr(x, m.value, 'ev');
  const key = col('ev', f.stream.entityKey);
  const satisfied = sql`${rating} ${sql.raw(m.op === 'gte' ? '>=' : '>')} ${x.value(m.threshold)}`;
  return sql`select ${x.d.cast(sql`(count(*) filter (where ${satisfied}))`, 'float8')} / nullif(count(*), 0) as v from ${streamRel(x, f.stream)} as ev where ${eventFilter(x, f, 'ev')} and ${rating} >= ${x.value(m.low)} and ${rating} <= ${x.value(m.high)} and ${entityExists(x, m.entity, key)}`;
}

/** Spend: the cost source's amount summed over its rows in (T - within, T]; 0 with none (NULL amounts count as nothing). */
function costSql(x: Ctx, m: Extract<IrMetric, { k: 'cost' }>): Sql {
  const t = col('c', m.costs.time);
  const since = x.time({ k: 'asof', minusMs: m.within.ms, minus: m.within });
  const c = costRel(x, m.costs);
  return sql`select coalesce(sum(${c.amount}), 0) as v from ${c.rel} as c where ${t} > ${since} and ${t} <= ${x.asOf}`;
}

function metricValue(row: MetricRow, m: IrMetric): Sql {
  switch (m.k) {
    case 'count':
      return row.countLeaf(m.entity, m.where);
    case 'events':
    case 'sum':
    case 'avg':
    case 'active':
      return row.streamLeaf(m);
    case 'ratio':
      return sql`(${row.x.d.cast(metricValue(row, m.numerator), 'float8')} / nullif(${row.x.d.cast(metricValue(row, m.denominator), 'float8')}, 0))`;
    case 'retention':
      return row.single(retentionSql(row.x, m));
    case 'attribute-retention':
      return row.single(attributeRetentionSql(row.x, m));
    case 'churn':
      return row.single(churnSql(row.x, m));
    case 'nps':
      return row.single(npsSql(row.x, m));
    case 'count_distinct':
      return row.single(countDistinctSql(row.x, m));
    case 'conversion': {
      const chain = hoistedFunnel(row.x, m.funnel, m.to);
      return row.single(chain ? hoistedConversionSql(m.funnel, m.from, m.to, chain, funnelParts(row.x)) : conversionSql(m.funnel, m.from, m.to, funnelParts(row.x)));
    }
    case 'csat':
      return row.single(csatSql(row.x, m));
    case 'cost':
      return row.single(costSql(row.x, m));
  }
}

/** The compiler context's building blocks for funnel SQL (sql/funnel.ts). */
function funnelParts(x: Ctx): FunnelParts {
  return {
    d: x.d,
    asOf: x.asOf,
    time: (t) => x.time(t),
    stream: (st) => streamRel(x, st),
    col,
    filter: (f, ev) => eventFilter(x, f, ev),
    exists: (entity, key) => entityExists(x, entity, key),
  };
}

/**
 * A series' funnel up to step `last`: each entity's step times over all events (funnelChainSql),
 * computed once for all periods as a hoisted CTE; undefined (evaluate per period) unless the query
 * is compiled for a series, no step's stream is de-duplicated (its rows depend on T) and no step
 * filter has a window of its own or otherwise mentions T.
 */
function hoistedFunnel(x: Ctx, f: ir.IrFunnel, last: number): string | undefined {
  const hoist = x.opts.hoist;
  const steps = f.steps.slice(0, last + 1);
  if (!hoist || !x.opts.asOfSql || steps.some((s) => s.filter.stream.dedupe || s.filter.since)) return undefined;
  const body = funnelChainSql(f, last, funnelParts(x), (ef, ev) => eventFilter(x, ef, ev, { upper: false }));
  if (compileRaw(body, x.d).sql.includes(SERIES_T_MARKER)) return undefined;
  const name = `__tally_h${hoist.length + 1}`;
  hoist.push(x.d.materializedCte(name, body));
  return name;
}

/** A funnel's figures at T in one statement: `n0..` reached per step, `m1..` median hours from the previous step. */
export function compileFunnel(f: ir.IrFunnel, opts: SqlOptions): CompiledQuery {
  return compileRaw(funnelPreviewSql(f, funnelParts(new Ctx(opts, undefined, 'pass'))), dialectOf(opts));
}

/** `select <value> as value` for a KPI metric at T: one row from set-based sources (see above). */
export function compileMetric(m: IrMetric, opts: SqlOptions): CompiledQuery {
  const row = new MetricRow(new Ctx(opts, undefined, 'pass'));
  const value = metricValue(row, m);
  return compileRaw(sql`select ${row.x.d.cast(sql`(${value})`, 'float8')} as value from ${row.from()}`, dialectOf(opts));
}

/** The canonical SQL of any query (what `compile --out` writes and fingerprints hash). */
export function compileQuery(q: IrQuery, opts: SqlOptions): CompiledQuery {
  switch (q.k) {
    case 'members':
      return compileMembers(q, opts);
    case 'values':
      return compileValues(q, opts);
    case 'metric':
      return compileMetric(q.metric, opts);
    case 'funnel':
      return compileFunnel(q.funnel, opts);
  }
}

// ---- two versions side by side (tally plan) ---------------------------------------------------------

function sameEntity(a: IrEntity, b: IrEntity): boolean {
  return ir.structuralKey(a) === ir.structuralKey(b);
}

/**
 * Two versions of a segment over the same entity in one scan, for `tally plan`: `before`, `after`,
 * `entering` (members only after) and `leaving` (members only before). The top-level conjuncts
 * both versions share filter in WHERE (planned as usual: semi-joins, indexes); only the differing
 * ones are evaluated per candidate, as two flags. In the pass shape both share one grouped scan per
 * stream. Undefined when the entities differ, or when probing with nothing shared (every entity
 * would be probed row by row; the caller compares two member sets instead).
 */
export function compileMembersChange(a: ir.IrMembersQuery, b: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery | undefined {
  if (!sameEntity(a.entity, b.entity)) return undefined;
  const conjuncts = (c: IrCond) => (c.k === 'and' ? c.items : [c]);
  const keysB = new Set(conjuncts(b.where).map((c) => ir.structuralKey(c)));
  const shared = conjuncts(a.where).filter((c) => keysB.has(ir.structuralKey(c)));
  const sharedKeys = new Set(shared.map((c) => ir.structuralKey(c)));
  const onlyA = ir.and(conjuncts(a.where).filter((c) => !sharedKeys.has(ir.structuralKey(c))));
  const onlyB = ir.and(conjuncts(b.where).filter((c) => !sharedKeys.has(ir.structuralKey(c))));
  const strategy = strategyFor(opts, () => (chooseStrategy(a.where) === 'pass' || chooseStrategy(b.where) === 'pass' ? 'pass' : 'probe'));
  if (strategy === 'probe' && !shared.length) return undefined;
  const x = new Ctx(opts, a.entity, strategy);
  x.windows = existsWindows([a.where, b.where]);
  const o = cond(x, onlyA);
  const n = cond(x, onlyB);
  const scope = entityScope(x, a.entity, shared.length ? ir.and(shared) : null);
  return {
    ...compileRaw(
      sql`select count(*) filter (where o) as before, count(*) filter (where n) as after, count(*) filter (where n and not o) as entering, count(*) filter (where o and not n) as leaving from (select ${o} as o, ${n} as n from ${scope.from} where ${scope.where}) as t`,
      dialectOf(opts),
    ),
    strategy,
  };
}

/**
 * Two versions of a trait, score or lifecycle over the same entity in one scan: `key, o, n` (the
 * old and the new value) for every entity existing at T; undefined when the entities differ.
 */
export function compileValuesChange(a: ir.IrValuesQuery, b: ir.IrValuesQuery, opts: SqlOptions): CompiledQuery | undefined {
  if (!sameEntity(a.entity, b.entity)) return undefined;
  const strategy = strategyFor(opts, () => 'pass');
  const x = new Ctx(opts, a.entity, strategy);
  x.windows = existsWindows([a.value, b.value]);
  const o = expr(x, a.value);
  const n = expr(x, b.value);
  const scope = entityScope(x, a.entity, null);
  return { ...compileRaw(sql`select ${col(E, a.entity.key)} as key, ${o} as o, ${n} as n from ${scope.from} where ${scope.where}`, dialectOf(opts)), strategy };
}

// ---- building blocks for campaign SQL (sql/campaign.ts) -----------------------------------------

/** A segment's members at T as a subquery selecting `key` (the same SQL as compileMembers). */
export function membersRaw(q: ir.IrMembersQuery, opts: SqlOptions): RawBuilder<unknown> {
  const x = new Ctx(opts, q.entity, strategyFor(opts, () => chooseStrategy(q.where)));
  return membersSql(x, q, sql`${col(E, q.entity.key)} as key`);
}

/** The WHERE of an event filter for event alias `ev`: time <= T, its window, types and property filters. */
export function eventFilterRaw(f: IrEventFilter, opts: SqlOptions, ev: string): RawBuilder<unknown> {
  return eventFilter(new Ctx(opts, undefined, 'probe'), f, ev);
}

/** A stream's rows as a FROM item (its table, or its de-duplicated rows up to T: streamRel). */
export function streamRaw(s: IrStream, opts: SqlOptions): RawBuilder<unknown> {
  return streamRel(new Ctx(opts, undefined, 'probe'), s);
}

/** A cost source's rows as a FROM item (alias it `c`) and its amount in the project currency. */
export function costRaw(c: ir.IrCosts, opts: SqlOptions): { rel: RawBuilder<unknown>; amount: RawBuilder<unknown> } {
  return costRel(new Ctx(opts, undefined, 'probe'), c);
}

/** A (schema-qualified) table reference. */
export function tableRaw(t: IrTable): RawBuilder<unknown> {
  return table(t);
}

// ---- building blocks for KPI breakdowns (sql/breakdown.ts) ---------------------------------------

/** Every entity existing at T with its value, as a subquery selecting `key, value` (compileValues' SQL). */
export function valuesRaw(q: ir.IrValuesQuery, opts: SqlOptions): RawBuilder<unknown> {
  return compileValuesRaw(q, opts).raw;
}

/**
 * Every entity existing at T with several per-entity values computed in one pass (a sync's fields:
 * attributes, traits, scores), as a subquery selecting `key, v0, v1, …` (compileValues' shape).
 */
export function valuesRowRaw(entity: IrEntity, values: readonly IrExpr[], opts: SqlOptions): RawBuilder<unknown> {
  const x = new Ctx(opts, entity, strategyFor(opts, () => 'pass'));
  x.windows = existsWindows(values);
  const cols = values.map((v, i) => sql`${expr(x, v)} as ${sql.id(`v${i}`)}`);
  const scope = entityScope(x, entity, null);
  return sql`select ${col(E, entity.key)} as key${cols.length ? sql`, ${sql.join(cols)}` : sql``} from ${scope.from} where ${scope.where}`;
}

/** An event-level expression over event alias `ev` (a sum's or an NPS score's value). */
export function eventExprRaw(e: IrExpr, opts: SqlOptions, ev: string): RawBuilder<unknown> {
  return expr(new Ctx(opts, undefined, 'probe'), e, ev);
}

/** An instant relative to T (or fixed), as T is given in the options. */
export function timeRaw(t: IrTime, opts: SqlOptions): RawBuilder<unknown> {
  return new Ctx(opts, undefined, 'probe').time(t);
}

/**
 * One scan of a stream shared by several event filters over event alias `ev`: the WHERE pushed
 * into it (time <= T, the union of the types, the widest window) and each filter's FILTER clause
 * (undefined when the pushed WHERE already is exactly that filter), as the KPI's own SQL reads it.
 */
export function sharedScanRaw(stream: IrStream, filters: readonly IrEventFilter[], opts: SqlOptions): { where: RawBuilder<unknown>; filter: (f: IrEventFilter) => RawBuilder<unknown> | undefined } {
  const x = new Ctx(opts, undefined, 'probe');
  const pushed = pushedFilter(x, stream, filters);
  return { where: pushed.where, filter: (f) => filterClause(x, f, pushed.exact(f)) };
}
