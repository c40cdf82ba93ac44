// IR -> SQL through Kysely. The only module that writes SQL text.
//
// Two shapes for per-entity event aggregates, chosen per query:
//  - probe: each aggregate is a correlated subquery on the entity row (EXISTS / NOT EXISTS for
//    "any" / "none"), which the (entity_key, type, time) index answers cheaply when an attribute
//    filter has already made the population small;
//  - pass: one grouped scan of each stream, windowed and type-filtered in WHERE, computing every
//    aggregate with `FILTER (WHERE ...)`, LEFT JOINed to the entities: best for population-wide
//    segments, traits, scores and lifecycles.
// Literals are parameters (previews) or escaped inline literals (compile --out, deploy, fingerprints);
// T is a parameter or `now()`.

import { sql, type RawBuilder } from 'kysely';
import * as ir from '../ir/ir.js';
import type { IrAgg, IrCond, IrEntity, IrEventFilter, IrExpr, IrMetric, IrQuery, IrStream, IrTable, IrTime } from '../ir/ir.js';
import { compileRaw, type CompiledSql } from './kysely.js';

export type Strategy = 'probe' | 'pass';

export interface SqlOptions {
  /** T: a fixed instant (sent as a parameter or inlined) or the database clock (`now()`), for views. */
  readonly asOf: { readonly kind: 'instant'; readonly at: Date } | { readonly kind: 'now' };
  /** Parameters (previews, checks) or inline escaped literals (compiled files, deploys, fingerprints). */
  readonly literals: 'param' | 'inline';
  /** Force a shape; by default the compiler chooses. */
  readonly strategy?: Strategy | 'auto';
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

class Ctx {
  readonly passes = new Map<string, Pass>();
  private nextAlias = 0;
  constructor(
    readonly opts: SqlOptions,
    readonly entity: IrEntity | undefined,
    readonly strategy: Strategy,
  ) {}

  alias(prefix: string): string {
    return `${prefix}${++this.nextAlias}`;
  }

  value(v: ir.IrLiteral): Sql {
    return this.opts.literals === 'inline' ? sql.lit(v) : sql.val(v);
  }

  time(t: IrTime): Sql {
    if (t.k === 'instant') return sql`${this.value(t.iso)}::timestamptz`;
    if (this.opts.asOf.kind === 'now') {
      return t.minusMs === 0 ? sql`now()` : sql`(now() - ${sql.lit(t.interval ?? `${t.minusMs / 1000} seconds`)}::interval)`;
    }
    return sql`${this.value(new Date(this.opts.asOf.at.getTime() - t.minusMs).toISOString())}::timestamptz`;
  }

  get asOf(): Sql {
    return this.time({ k: 'asof', minusMs: 0 });
  }

  slotFor(agg: IrAgg): Slot {
    const streamKey = ir.structuralKey(agg.filter.stream);
    let pass = this.passes.get(streamKey);
    if (!pass) {
      pass = { alias: `p${this.passes.size + 1}`, stream: agg.filter.stream, slots: new Map() };
      this.passes.set(streamKey, pass);
    }
    const k = ir.structuralKey(agg);
    let slot = pass.slots.get(k);
    if (!slot) {
      slot = { agg, alias: `a${pass.slots.size + 1}` };
      pass.slots.set(k, slot);
    }
    return slot;
  }
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

function col(alias: string, column: string): Sql {
  return memoIdentifier(`c\u0000${alias}\u0000${column}`, () => sql.id(alias, column));
}

// ---- expressions ---------------------------------------------------------------------------------

function expr(x: Ctx, e: IrExpr, ev?: string): Sql {
  switch (e.k) {
    case 'col':
      return col(E, e.col);
    case 'ecol':
      return col(ev ?? 'ev', e.col);
    case 'eprop': {
      const text = sql`(${col(ev ?? 'ev', e.col)} ->> ${sql.lit(e.key)})`;
      if (e.type === 'number') return sql`${text}::numeric`;
      if (e.type === 'boolean') return sql`${text}::boolean`;
      if (e.type === 'timestamp') return sql`${text}::timestamptz`;
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
      if (e.op === '/') return sql`(${expr(x, e.a, ev)}::float8 / nullif(${expr(x, e.b, ev)}, 0))`;
      return sql`(${expr(x, e.a, ev)} ${sql.raw(e.op)} ${expr(x, e.b, ev)})`;
    case 'fn':
      return sql`${sql.raw(e.fn)}(${sql.join(e.args.map((a) => expr(x, a, ev)))})`;
    case 'days-to-asof':
      return sql`(extract(epoch from (${x.asOf} - ${expr(x, e.from, ev)})) / 86400.0)`;
  }
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
      return sql`${expr(x, c.a, ev)} ${sql.raw(CMP[c.op])} ${expr(x, c.b, ev)}`;
    }
    case 'in': {
      const list = sql.join(c.values.map((v) => expr(x, v, ev)));
      return c.negated ? sql`${expr(x, c.a, ev)} not in (${list})` : sql`${expr(x, c.a, ev)} in (${list})`;
    }
    case 'is-null':
      return c.negated ? sql`${expr(x, c.a, ev)} is not null` : sql`${expr(x, c.a, ev)} is null`;
    case 'text':
      return c.op === 'contains' ? sql`strpos(${expr(x, c.a, ev)}, ${expr(x, c.b, ev)}) > 0` : sql`starts_with(${expr(x, c.a, ev)}, ${expr(x, c.b, ev)})`;
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
  const body = sql`select 1 from ${table(f.stream.table)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')}`;
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
      return sql`(array_agg(${v} order by ${col(ev, agg.filter.stream.time)} ${sql.raw(agg.fn === 'last' ? 'desc' : 'asc')})${f})[1]`;
  }
}

function aggregate(x: Ctx, agg: IrAgg): Sql {
  if (x.strategy === 'pass') {
    const slot = x.slotFor(agg);
    const pass = [...x.passes.values()].find((p) => [...p.slots.values()].includes(slot))!;
    const ref = col(pass.alias, slot.alias);
    return agg.zeroWhenNone ? sql`coalesce(${ref}, 0)` : ref;
  }
  const f = agg.filter;
  let sub: Sql;
  if (agg.fn === 'last' || agg.fn === 'first') {
    sub = sql`(select ${expr(x, agg.value!, 'ev')} from ${table(f.stream.table)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')} order by ${col('ev', f.stream.time)} ${sql.raw(agg.fn === 'last' ? 'desc' : 'asc')} limit 1)`;
  } else {
    sub = sql`(select ${aggValue(x, agg, 'ev')} from ${table(f.stream.table)} as ev where ${col('ev', f.stream.entityKey)} = ${col(E, x.entity!.key)} and ${eventFilter(x, f, 'ev')})`;
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
    if (allTyped) {
      const types = [...new Set(slots.flatMap((sl) => sl.agg.filter.types!))].sort();
      pushed.push(types.length === 1 ? sql`${col('ev', s.typeColumn!)} = ${x.value(types[0]!)}` : sql`${col('ev', s.typeColumn!)} in (${sql.join(types.map((t) => x.value(t)))})`);
    }
    if (slots.every((sl) => sl.agg.filter.since)) {
      const widest = slots.reduce((w, sl) => (sl.agg.filter.since!.k === 'asof' && w.k === 'asof' && (sl.agg.filter.since as { minusMs: number }).minusMs > w.minusMs ? sl.agg.filter.since! : w), slots[0]!.agg.filter.since!);
      if (slots.every((sl) => sl.agg.filter.since!.k === 'asof')) pushed.push(sql`${col('ev', s.time)} > ${x.time(widest)}`);
    }
    const only = slots.length === 1;
    const cols = slots.map((sl) => {
      const f = sl.agg.filter;
      // With one slot the scan's WHERE already is its filter, unless it has more than what was pushed.
      const needsFilter = !only || f.where !== null || (f.types !== null && !allTyped);
      const value = aggValue(x, sl.agg, 'ev', needsFilter ? eventFilter(x, f, 'ev', { upper: false }) : undefined);
      return sql`${value} as ${sql.id(sl.alias)}`;
    });
    joins.push(
      sql`left join (select ${col('ev', s.entityKey)} as k, ${sql.join(cols)} from ${table(s.table)} as ev where ${sql.join(pushed, sql` and `)} group by ${col('ev', s.entityKey)}) as ${sql.id(pass.alias)} on ${col(pass.alias, 'k')} = ${col(E, x.entity!.key)}`,
    );
  }
  return joins.length ? sql.join(joins, sql` `) : sql``;
}

// ---- choosing the shape --------------------------------------------------------------------------

function countAggs(c: IrCond | IrExpr, acc = { n: 0 }): { n: number } {
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    if ((v as { k?: string }).k === 'agg') {
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

/** Probe when a top-level conjunct filters on entity columns alone (selective), or there is at most one aggregate. */
export function chooseStrategy(where: IrCond): Strategy {
  const conjuncts = where.k === 'and' ? where.items : [where];
  const selective = conjuncts.some((c) => !hasAgg(c) && c.k !== 'const' && !(c.k === 'not'));
  if (selective) return 'probe';
  return countAggs(where).n <= 1 ? 'probe' : 'pass';
}

// ---- queries -------------------------------------------------------------------------------------

function existsAtT(x: Ctx, entity: IrEntity): Sql | undefined {
  // Written as an OR (not coalesce) so the planner can estimate it from the column's statistics.
  return entity.createdAt ? sql`(${col(E, entity.createdAt)} <= ${x.asOf} or ${col(E, entity.createdAt)} is null)` : undefined;
}

/** FROM + WHERE for entities satisfying `where` at T; the caller picks the columns. */
function entityScope(x: Ctx, entity: IrEntity, where: IrCond | null): { from: Sql; where: Sql } {
  const parts: Sql[] = [];
  const exists = existsAtT(x, entity);
  if (exists) parts.push(exists);
  if (where && !(where.k === 'const' && where.value)) parts.push(cond(x, where));
  // Joins must be rendered after the conditions (which register the slots).
  const joins = passJoins(x);
  return { from: x.passes.size ? sql`${table(entity.table)} as ${sql.id(E)} ${joins}` : sql`${table(entity.table)} as ${sql.id(E)}`, where: parts.length ? sql.join(parts, sql` and `) : sql`true` };
}

function membersSql(x: Ctx, q: ir.IrMembersQuery, select: Sql): Sql {
  const scope = entityScope(x, q.entity, q.where);
  return sql`select ${select} from ${scope.from} where ${scope.where}`;
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
  return { ...compileRaw(membersSql(x, q, sql`${col(E, q.entity.key)} as key`)), strategy };
}

/** `select count(*)` of the members at T. */
export function compileMemberCount(q: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  return { ...compileRaw(membersSql(x, q, sql`count(*) as count`)), strategy };
}

/** Up to `limit` member rows (all entity columns), ordered by key. */
export function compileMemberSample(q: ir.IrMembersQuery, opts: SqlOptions, limit: number): CompiledQuery {
  const strategy = strategyFor(opts, () => chooseStrategy(q.where));
  const x = new Ctx(opts, q.entity, strategy);
  const inner = membersSql(x, q, sql`${sql.id(E)}.*`);
  return { ...compileRaw(sql`${inner} order by ${col(E, q.entity.key)} limit ${sql.lit(Math.max(0, Math.floor(limit)))}`), strategy };
}

/** `select key, value` for every entity existing at T (trait, score, lifecycle stage). */
export function compileValues(q: ir.IrValuesQuery, opts: SqlOptions): CompiledQuery {
  const strategy = strategyFor(opts, () => 'pass');
  const x = new Ctx(opts, q.entity, strategy);
  const value = expr(x, q.value);
  const scope = entityScope(x, q.entity, null);
  return { ...compileRaw(sql`select ${col(E, q.entity.key)} as key, ${value} as value from ${scope.from} where ${scope.where}`), strategy };
}

/** Counts per value (the lifecycle's stage distribution, a score's bands). */
export function compileDistribution(q: ir.IrValuesQuery, opts: SqlOptions): CompiledQuery {
  const inner = compileValuesRaw(q, opts);
  return { ...compileRaw(sql`select value, count(*) as count from (${inner.raw}) as v group by value order by value`), strategy: inner.strategy };
}

/** Counts per value among a segment's members at T (a segment's lifecycle breakdown). */
export function compileDistributionAmong(q: ir.IrValuesQuery, members: ir.IrMembersQuery, opts: SqlOptions): CompiledQuery {
  const inner = compileValuesRaw(q, opts);
  const x = new Ctx(opts, members.entity, strategyFor(opts, () => chooseStrategy(members.where)));
  const keys = membersSql(x, members, sql`${col(E, members.entity.key)}`);
  return { ...compileRaw(sql`select value, count(*) as count from (${inner.raw}) as v where v.key in (${keys}) group by value order by value`), strategy: inner.strategy };
}

function compileValuesRaw(q: ir.IrValuesQuery, opts: SqlOptions): { raw: Sql; strategy: Strategy } {
  const strategy = strategyFor(opts, () => 'pass');
  const x = new Ctx(opts, q.entity, strategy);
  const value = expr(x, q.value);
  const scope = entityScope(x, q.entity, null);
  return { raw: sql`select ${col(E, q.entity.key)} as key, ${value} as value from ${scope.from} where ${scope.where}`, strategy };
}

/** Summary of a values query: how many entities, how many have a value, and a sample ordered by key. */
export function compileValueSample(q: ir.IrValuesQuery, opts: SqlOptions, limit: number): { stats: CompiledQuery; sample: CompiledQuery } {
  const a = compileValuesRaw(q, opts);
  const b = compileValuesRaw(q, opts);
  return {
    stats: { ...compileRaw(sql`select count(*) as entities, count(value) as count from (${a.raw}) as v`), strategy: a.strategy },
    sample: { ...compileRaw(sql`select key, value from (${b.raw}) as v where value is not null order by key limit ${sql.lit(Math.max(0, Math.floor(limit)))}`), strategy: b.strategy },
  };
}

// ---- metrics -------------------------------------------------------------------------------------

function metricSql(x: Ctx, m: IrMetric): Sql {
  switch (m.k) {
    case 'count': {
      const inner = new Ctx(x.opts, m.entity, chooseStrategy(m.where));
      return sql`(${membersSql(inner, { k: 'members', entity: m.entity, where: m.where }, sql`count(*)`)})`;
    }
    case 'events':
      return sql`(select count(*) from ${table(m.filter.stream.table)} as ev where ${eventFilter(x, m.filter, 'ev')})`;
    case 'sum':
      return sql`(select coalesce(sum(${expr(x, m.value, 'ev')}), 0) from ${table(m.filter.stream.table)} as ev where ${eventFilter(x, m.filter, 'ev')})`;
    case 'avg':
      return sql`(select avg(${expr(x, m.value, 'ev')}) from ${table(m.filter.stream.table)} as ev where ${eventFilter(x, m.filter, 'ev')})`;
    case 'active':
      return sql`(select count(distinct ${col('ev', m.filter.stream.entityKey)}) from ${table(m.filter.stream.table)} as ev where ${eventFilter(x, m.filter, 'ev')})`;
    case 'ratio':
      return sql`(${metricSql(x, m.numerator)}::float8 / nullif(${metricSql(x, m.denominator)}::float8, 0))`;
    case 'retention': {
      const c = m.cohort;
      const r = m.returning;
      const days = sql`${sql.lit(`${m.days} days`)}::interval`;
      const lower = x.time({ k: 'asof', minusMs: m.cohortWithin.ms, interval: m.cohortWithin.interval });
      const upper = x.time({ k: 'asof', minusMs: m.days * 86_400_000, interval: `${m.days} days` });
      const firsts = sql`select ${col('ev', c.stream.entityKey)} as k, min(${col('ev', c.stream.time)}) as c from ${table(c.stream.table)} as ev where ${eventFilter(x, c, 'ev')} group by ${col('ev', c.stream.entityKey)}`;
      const returned = sql`exists (select 1 from ${table(r.stream.table)} as rv where ${col('rv', r.stream.entityKey)} = ${col('co', 'k')} and ${col('rv', r.stream.time)} > ${col('co', 'c')} and ${col('rv', r.stream.time)} <= ${col('co', 'c')} + ${days} and ${eventFilter(x, r, 'rv')})`;
      return sql`(select (count(*) filter (where ${returned}))::float8 / nullif(count(*), 0) from (${firsts}) as co where ${col('co', 'c')} > ${lower} and ${col('co', 'c')} <= ${upper})`;
    }
    case 'churn': {
      const f = m.filter;
      const p1 = x.time({ k: 'asof', minusMs: 2 * m.period.ms, interval: `${2 * (m.period.ms / 86_400_000)} days` });
      const p0 = x.time({ k: 'asof', minusMs: m.period.ms, interval: m.period.interval });
      const prior = sql`select distinct ${col('ev', f.stream.entityKey)} as k from ${table(f.stream.table)} as ev where ${col('ev', f.stream.time)} > ${p1} and ${col('ev', f.stream.time)} <= ${p0} and ${eventFilter(x, f, 'ev')}`;
      const stillActive = sql`exists (select 1 from ${table(f.stream.table)} as cv where ${col('cv', f.stream.entityKey)} = ${col('pr', 'k')} and ${col('cv', f.stream.time)} > ${p0} and ${eventFilter(x, f, 'cv')})`;
      return sql`(select (count(*) filter (where not ${stillActive}))::float8 / nullif(count(*), 0) from (${prior}) as pr)`;
    }
    case 'nps': {
      const f = m.filter;
      const score = expr(x, m.value, 'ev');
      const latest = sql`select distinct on (${col('ev', f.stream.entityKey)}) ${score} as score from ${table(f.stream.table)} as ev where ${eventFilter(x, f, 'ev')} and ${score} is not null order by ${col('ev', f.stream.entityKey)}, ${col('ev', f.stream.time)} desc`;
      return sql`(select ((count(*) filter (where score >= 9)) - (count(*) filter (where score <= 6)))::float8 * 100 / nullif(count(*), 0) from (${latest}) as nps)`;
    }
  }
}

/** `select <value> as value` for a KPI metric at T. */
export function compileMetric(m: IrMetric, opts: SqlOptions): CompiledQuery {
  const x = new Ctx(opts, undefined, 'probe');
  return compileRaw(sql`select (${metricSql(x, m)})::float8 as value`);
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
  const o = cond(x, onlyA);
  const n = cond(x, onlyB);
  const scope = entityScope(x, a.entity, shared.length ? ir.and(shared) : null);
  return {
    ...compileRaw(
      sql`select count(*) filter (where o) as before, count(*) filter (where n) as after, count(*) filter (where n and not o) as entering, count(*) filter (where o and not n) as leaving from (select ${o} as o, ${n} as n from ${scope.from} where ${scope.where}) as t`,
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
  const o = expr(x, a.value);
  const n = expr(x, b.value);
  const scope = entityScope(x, a.entity, null);
  return { ...compileRaw(sql`select ${col(E, a.entity.key)} as key, ${o} as o, ${n} as n from ${scope.from} where ${scope.where}`), strategy };
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

/** A (schema-qualified) table reference. */
export function tableRaw(t: IrTable): RawBuilder<unknown> {
  return table(t);
}
