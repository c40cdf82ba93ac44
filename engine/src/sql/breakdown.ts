// A KPI per group (`breakdown:`) in ONE set-based statement.
//
// The group is a property of the entity: `__tally_grp (k, gid)` maps every entity existing at T to
// its group id (one row per entity; for segments one row per (entity, segment), so groups may
// overlap). `__tally_groups (gid, label, kind, n)` lists the groups with their sizes: an
// attribute's values present at T (ranked by size, ties by value; with `top` the rest merged into
// `(other)`), a lifecycle's stages or a score's bands in order (all of them, empty ones too), the
// segments in order, and the NULL group (gid 0) when some entity has no value.
// By a value (attribute, stage, band) the entities' values are read once (`__tally_base`,
// materialized) and counted once per value (`__tally_vals`, which gives the ranking and the sizes);
// `__tally_grp` is then only a mapping the planner inlines into each leaf (a hash join of the
// leaf's events to `__tally_base` and a tiny one to the ranking). By segments, `__tally_grp` is the
// segments' members, computed once (materialized).
// Every metric leaf is one grouped source keyed by gid (a CTE `__tally_l<n>`): the events of a
// stream (one scan per stream, shared by all its events/sum/avg/active/count_distinct leaves, each
// with its own FILTER, as in the KPI's own SQL) JOINed (hash) to `__tally_grp` on the entity key
// and grouped by gid (the join also applies
// the existence rule: `__tally_grp` holds only entities existing at T, so orphan keys and later
// entities drop out); retention, churn and NPS compute their per-entity rows once, then join to the
// groups the same way. Leaves are LEFT JOINed to the groups and combined per row like the overall
// metric (ratios: float8 division, NULL on a zero denominator; an empty group reads 0 for
// count/events/sum/active and NULL for avg/retention/churn/nps). No correlated per-row subquery
// over events.
// The overall value (`withTotal`): by a value the groups partition the existing entities, so when
// every leaf's columns add up across groups (counts, sums, a ratio's numerator and denominator;
// not avg or count_distinct) the KPI's own value is one more row (gid -1, kind `total`) from the
// leaves' column sums: the same statement, no second scan of the events.

import { sql, type RawBuilder } from 'kysely';
import * as ir from '../ir/ir.js';
import type { IrBreakdown, IrMetric } from '../ir/ir.js';
import { compileRaw } from './kysely.js';
import { postgres, type Dialect } from './dialect.js';
import { costRaw, eventExprRaw, eventFilterRaw, membersRaw, sharedScanRaw, streamRaw, timeRaw, valuesRaw, type CompiledQuery, type SqlOptions } from './compile.js';

type Sql = RawBuilder<unknown>;

/** The row shape of a breakdown query, one per group in display order. */
export interface BreakdownRow {
  readonly gid: number;
  /** The group's value as text (NULL for the NULL group, `(other)` for the merged group). */
  readonly label: string | null;
  readonly kind: 'value' | 'null' | 'other' | 'total';
  readonly size: number | string;
  readonly value: number | string | null;
}

export const OTHER_LABEL = '(other)';

type StreamMetric = Extract<IrMetric, { k: 'events' | 'sum' | 'avg' | 'active' | 'count_distinct' }>;

/** One scan of a stream joined to the groups, shared by every events/sum/avg/active/count_distinct leaf over it. */
interface StreamSource {
  readonly alias: string;
  readonly stream: ir.IrStream;
  readonly leaves: Map<string, { leaf: StreamMetric; col: string }>;
}

class Builder {
  readonly ctes: Sql[] = [];
  /** The leaf sources in order (`l<n>`, one row per gid); a stream source's SQL is built once all its leaves are known. */
  readonly sources: { alias: string; sql: () => Sql }[] = [];
  private readonly byKey = new Map<string, string>();
  private readonly streams = new Map<string, StreamSource>();
  /** Columns of each leaf alias, summed for the total row. */
  readonly columns = new Map<string, string[]>();
  readonly d: Dialect;
  constructor(
    readonly opts: SqlOptions,
    readonly bd: IrBreakdown,
  ) {
    this.d = opts.dialect ?? postgres;
  }
  value(v: ir.IrLiteral): Sql {
    return this.opts.literals === 'inline' ? sql.lit(v) : sql.val(v);
  }
  private add(build: (n: number) => Sql): string {
    const n = this.sources.length + 1;
    const alias = `l${n}`;
    this.sources.push({ alias, sql: () => build(n) });
    return alias;
  }
  /**
   * A leaf source (one row per gid; columns `v`, or `a` and `n` for a ratio of counts),
   * de-duplicated structurally; returns its alias (`l<n>`), which the caller reads columns of.
   */
  leaf(m: unknown, build: (n: number) => Sql): string {
    const k = ir.structuralKey(m);
    let alias = this.byKey.get(k);
    if (!alias) this.byKey.set(k, (alias = this.add(build)));
    return alias;
  }
  /** An events/sum/avg/active/count_distinct leaf: a column of its stream's one shared scan. */
  streamCol(m: StreamMetric): Sql {
    const sk = ir.structuralKey(m.filter.stream);
    let src = this.streams.get(sk);
    if (!src) {
      const leaves = new Map<string, { leaf: StreamMetric; col: string }>();
      const alias = this.add(() => streamSourceSql(this, src!));
      src = { alias, stream: m.filter.stream, leaves };
      this.streams.set(sk, src);
    }
    const lk = ir.structuralKey(m);
    let slot = src.leaves.get(lk);
    if (!slot) src.leaves.set(lk, (slot = { leaf: m, col: `v${src.leaves.size + 1}` }));
    this.columns.set(src.alias, [...src.leaves.values()].map((l) => l.col));
    return sql.id(src.alias, slot.col);
  }
}

const GRP = sql.id('__tally_grp');

/** The CTEs that define the groups: `__tally_grp (k, gid)` and `__tally_groups (gid, label, kind, n)`. */
function groupCtes(b: Builder, bd: IrBreakdown): Sql[] {
  const e = bd.entity;
  const lit = (n: number) => sql.lit(n);
  if (bd.by.k === 'segments') {
    const rows = bd.by.segments.map((s, i) => sql`(${lit(i + 1)}, ${b.value(s.name)}, 'value')`);
    const members = bd.by.segments.map((s, i) => sql`select s.key as k, ${lit(i + 1)} as gid from (${membersRaw({ k: 'members', entity: e, where: s.where }, b.opts)}) as s`);
    return [
      b.d.materializedCte('__tally_grp', sql.join(members, sql` union all `)),
      sql`__tally_groups as (select g.gid, ${b.d.cast(sql`g.label`, 'text')} as label, g.kind, coalesce(sz.n, 0) as n from (values ${sql.join(rows)}) as g(gid, label, kind) left join (select gid, count(*) as n from ${GRP} group by gid) as sz on sz.gid = g.gid)`,
    ];
  }
  const base = b.d.materializedCte('__tally_base', sql`select b.key as k, b.value as v from (${valuesRaw({ k: 'values', entity: e, value: bd.by.value, valueType: 'string' }, b.opts)}) as b`);
  // Entities per value (NULL included): the ranking and every group's size, from one pass over the values.
  const vals = sql`__tally_vals as (select v, count(*) as n from __tally_base group by v)`;
  const nullGroup = sql`select 0, ${b.d.cast(sql`null`, 'text')}, 'null', n from __tally_vals where v is null`;
  if (bd.by.known) {
    const rows = bd.by.known.map((name, i) => sql`(${lit(i + 1)}, ${b.value(name)})`);
    // A value outside the known names counts in the NULL group (gid 0), which is listed when some value is NULL.
    return [
      base,
      vals,
      sql`__tally_known as (select g.gid, ${b.d.cast(sql`g.label`, 'text')} as label from (values ${sql.join(rows)}) as g(gid, label))`,
      sql`__tally_sizes as (select coalesce(g.gid, 0) as gid, sum(s.n) as n from __tally_vals as s left join __tally_known as g on g.label = ${b.d.cast(sql`s.v`, 'text')} group by coalesce(g.gid, 0))`,
      sql`__tally_groups as (select k.gid, k.label, 'value' as kind, coalesce(sz.n, 0) as n from __tally_known as k left join __tally_sizes as sz on sz.gid = k.gid union all select 0, ${b.d.cast(sql`null`, 'text')}, 'null', sz.n from __tally_sizes as sz where sz.gid = 0 and exists (select 1 from __tally_vals where v is null))`,
      b.d.inlinedCte('__tally_grp', sql`select b.k, coalesce(g.gid, 0) as gid from __tally_base as b left join __tally_known as g on g.label = ${b.d.cast(sql`b.v`, 'text')}`),
    ];
  }
  const top = bd.by.top;
  const label = b.d.cast(sql`v`, 'text');
  const ranked = sql`__tally_ranked as (select v, n, row_number() over (order by n desc, v) as r from __tally_vals where v is not null)`;
  if (top === null) {
    return [
      base,
      vals,
      ranked,
      sql`__tally_groups as (select r as gid, ${label} as label, 'value' as kind, n from __tally_ranked union all ${nullGroup})`,
      b.d.inlinedCte('__tally_grp', sql`select b.k, coalesce(rk.r, 0) as gid from __tally_base as b left join __tally_ranked as rk on rk.v = b.v`),
    ];
  }
  return [
    base,
    vals,
    ranked,
    sql`__tally_groups as (select r as gid, ${label} as label, 'value' as kind, n from __tally_ranked where r <= ${lit(top)} union all select ${lit(top + 1)}, ${b.value(OTHER_LABEL)}, 'other', sum(n) from __tally_ranked where r > ${lit(top)} having count(*) > 0 union all ${nullGroup})`,
    b.d.inlinedCte('__tally_grp', sql`select b.k, case when b.v is null then 0 when rk.r <= ${lit(top)} then rk.r else ${lit(top + 1)} end as gid from __tally_base as b left join __tally_ranked as rk on rk.v = b.v`),
  ];
}

/**
 * The stream leaves of one stream in one scan: its events (the pushed WHERE: time <= T, the union
 * of the types, the widest window) joined to their entity's group, one aggregate per leaf (with
 * its own FILTER when the pushed WHERE is wider than its filter), grouped by gid.
 */
function streamSourceSql(b: Builder, src: StreamSource): Sql {
  const leaves = [...src.leaves.values()];
  const key = sql.id('ev', src.stream.entityKey);
  const one = leaves.length === 1;
  const shared = sharedScanRaw(src.stream, leaves.map((l) => l.leaf.filter), b.opts);
  const cols = leaves.map(({ leaf: m, col }) => {
    const f = one ? undefined : shared.filter(m.filter);
    const w = (call: Sql) => (f ? sql`${call} filter (where ${f})` : call);
    const agg =
      m.k === 'events'
        ? w(sql`count(*)`)
        : m.k === 'active'
          ? w(sql`count(distinct ${key})`)
          : m.k === 'count_distinct'
            ? w(sql`count(distinct ${eventExprRaw(m.value, b.opts, 'ev')})`)
            : w(sql`${sql.raw(m.k)}(${eventExprRaw(m.value, b.opts, 'ev')})`);
    return sql`${agg} as ${sql.id(col)}`;
  });
  const where = one ? eventFilterRaw(leaves[0]!.leaf.filter, b.opts, 'ev') : shared.where;
  return sql`select g.gid, ${sql.join(cols)} from ${streamRaw(src.stream, b.opts)} as ev join ${GRP} as g on g.k = ${key} where ${where} group by g.gid`;
}

function retentionLeaf(b: Builder, m: Extract<IrMetric, { k: 'retention' | 'attribute-retention' }>, n: number): Sql {
  const r = m.returning;
  const returnWindow: ir.IrDuration = { count: m.days, unit: 'days', ms: m.days * 86_400_000 };
  const days = b.d.interval(returnWindow);
  const lower = timeRaw({ k: 'asof', minusMs: m.cohortWithin.ms, minus: m.cohortWithin }, b.opts);
  const upper = timeRaw({ k: 'asof', minusMs: returnWindow.ms, minus: returnWindow }, b.opts);
  const co = sql.id(`__tally_co${n}`);
  const ret = sql.id(`__tally_ret${n}`);
  if (m.k === 'retention') {
    const c = m.cohort;
    const ct = sql.id('ev', c.stream.time);
    const ckey = sql.id('ev', c.stream.entityKey);
    b.ctes.push(
      sql`${co} as (select ${ckey} as k, min(${ct}) as c from ${streamRaw(c.stream, b.opts)} as ev where ${eventFilterRaw(c, b.opts, 'ev')} and ${ct} <= ${upper} group by ${ckey} having min(${ct}) > ${lower})`,
    );
  } else {
    // The cohort instant is an entity attribute: the existing entities whose instant is in (T - within, T - days].
    const at = valuesRaw({ k: 'values', entity: m.entity, value: m.cohortAt, valueType: 'timestamp' }, b.opts);
    b.ctes.push(sql`${co} as (select a.key as k, a.value as c from (${at}) as a where a.value > ${lower} and a.value <= ${upper})`);
  }
  const rt = sql.id('rv', r.stream.time);
  b.ctes.push(
    sql`${ret} as (select distinct co.k from ${co} as co join ${streamRaw(r.stream, b.opts)} as rv on ${sql.id('rv', r.stream.entityKey)} = co.k and ${rt} > co.c and ${rt} <= co.c + ${days} where ${rt} > ${lower} and ${eventFilterRaw(r, b.opts, 'rv')})`,
  );
  return sql`select g.gid, count(rt.k) as a, count(*) as n from ${co} as co join ${GRP} as g on g.k = co.k left join ${ret} as rt on rt.k = co.k group by g.gid`;
}

function churnLeaf(b: Builder, m: Extract<IrMetric, { k: 'churn' }>): Sql {
  const f = m.filter;
  const p1 = timeRaw({ k: 'asof', minusMs: 2 * m.period.ms, minus: { count: 2 * (m.period.ms / 86_400_000), unit: 'days', ms: 2 * m.period.ms } }, b.opts);
  const p0 = timeRaw({ k: 'asof', minusMs: m.period.ms, minus: m.period }, b.opts);
  const t = sql.id('ev', f.stream.time);
  const key = sql.id('ev', f.stream.entityKey);
  const perKey = sql`select ${key} as k, ${b.d.boolOr(sql`${t} > ${p0}`)} as recent from ${streamRaw(f.stream, b.opts)} as ev where ${t} > ${p1} and ${eventFilterRaw(f, b.opts, 'ev')} group by ${key} having ${b.d.boolOr(sql`${t} <= ${p0}`)}`;
  return sql`select g.gid, count(*) filter (where not p.recent) as a, count(*) as n from (${perKey}) as p join ${GRP} as g on g.k = p.k group by g.gid`;
}

function npsLeaf(b: Builder, m: Extract<IrMetric, { k: 'nps' }>): Sql {
  const f = m.filter;
  const score = eventExprRaw(m.value, b.opts, 'ev');
  const key = sql.id('ev', f.stream.entityKey);
  // The latest scored response of every respondent (existing or not: the join to the groups keeps the existing ones).
  const latest = sql`select ${b.d.distinctOn(key)} ${key} as k, ${score} as score from ${streamRaw(f.stream, b.opts)} as ev where ${eventFilterRaw(f, b.opts, 'ev')} and ${score} is not null order by ${key}, ${sql.id('ev', f.stream.time)} desc`;
  return sql`select g.gid, (count(*) filter (where n.score >= 9)) - (count(*) filter (where n.score <= 6)) as a, count(*) as n from (${latest}) as n join ${GRP} as g on g.k = n.k group by g.gid`;
}

function csatLeaf(b: Builder, m: Extract<IrMetric, { k: 'csat' }>): Sql {
  const f = m.filter;
  const rating = eventExprRaw(m.value, b.opts, 'ev');
  const key = sql.id('ev', f.stream.entityKey);
  const satisfied = sql`${rating} ${sql.raw(m.op === 'gte' ? '>=' : '>')} ${b.value(m.threshold)}`;
  return sql`select g.gid, count(*) filter (where ${satisfied}) as a, count(*) as n from ${streamRaw(f.stream, b.opts)} as ev join ${GRP} as g on g.k = ${key} where ${eventFilterRaw(f, b.opts, 'ev')} and ${rating} >= ${b.value(m.low)} and ${rating} <= ${b.value(m.high)} group by g.gid`;
}

/**
 * Spend per group: a cost row belongs to the group whose label is its channel (as text; a NULL
 * channel to the NULL group; with `top`, a channel merged into `(other)` to it). A channel no
 * entity has is in no group. Only for a breakdown by value without fixed groups (an attribute or
 * a trait): the resolver refuses the others (`breakdown-unsupported`).
 */
function costLeaf(b: Builder, m: Extract<IrMetric, { k: 'cost' }>): Sql {
  const by = b.bd.by;
  if (by.k !== 'value' || by.known || !m.costs.channel) throw new Error('internal: a cost breakdown needs an attribute or trait and a channel column');
  const ch = sql.id('c', m.costs.channel);
  const t = sql.id('c', m.costs.time);
  const since = timeRaw({ k: 'asof', minusMs: m.within.ms, minus: m.within }, b.opts);
  const asOf = timeRaw({ k: 'asof', minusMs: 0 }, b.opts);
  const gid = by.top === null ? sql`rk.r` : sql`case when rk.r <= ${sql.lit(by.top)} then rk.r else ${sql.lit(by.top + 1)} end`;
  const c = costRaw(m.costs, b.opts);
  return sql`select case when ${ch} is null then 0 when rk.r is null then null else ${gid} end as gid, sum(${c.amount}) as v from ${c.rel} as c left join __tally_ranked as rk on ${b.d.cast(sql`rk.v`, 'text')} = ${b.d.cast(ch, 'text')} where ${t} > ${since} and ${t} <= ${asOf} group by 1`;
}

function countLeaf(b: Builder, m: Extract<IrMetric, { k: 'count' }>): Sql {
  if (m.where.k === 'const' && m.where.value) return sql`select gid, count(*) as v from ${GRP} group by gid`;
  return sql`select g.gid, count(*) as v from ${GRP} as g join (${membersRaw({ k: 'members', entity: m.entity, where: m.where }, b.opts)}) as mm on mm.key = g.k group by g.gid`;
}

/** A leaf's column. */
const leafCol = (alias: string, column: string) => sql.id(alias, column);

/** `a / n` of a ratio-of-counts leaf (retention, churn; NPS times 100): float8, NULL on no rows. */
function countRatio(b: Builder, alias: string, times100 = false): Sql {
  b.columns.set(alias, ['a', 'n']);
  return sql`(${b.d.cast(leafCol(alias, 'a'), 'float8')}${times100 ? sql` * 100` : sql``} / nullif(${leafCol(alias, 'n')}, 0))`;
}

function value(b: Builder, m: IrMetric): Sql {
  const additive = (alias: string) => {
    b.columns.set(alias, ['v']);
    return leafCol(alias, 'v');
  };
  switch (m.k) {
    case 'count':
      return sql`coalesce(${additive(b.leaf(m, () => countLeaf(b, m)))}, 0)`;
    case 'events':
    case 'sum':
    case 'active':
    case 'count_distinct':
      return sql`coalesce(${b.streamCol(m)}, 0)`;
    case 'avg':
      return b.streamCol(m);
    case 'ratio':
      return sql`(${b.d.cast(value(b, m.numerator), 'float8')} / nullif(${b.d.cast(value(b, m.denominator), 'float8')}, 0))`;
    case 'retention':
    case 'attribute-retention':
      return countRatio(b, b.leaf(m, (n) => retentionLeaf(b, m, n)));
    case 'churn':
      return countRatio(b, b.leaf(m, () => churnLeaf(b, m)));
    case 'nps':
      return countRatio(b, b.leaf(m, () => npsLeaf(b, m)), true);
    case 'csat':
      return countRatio(b, b.leaf(m, () => csatLeaf(b, m)));
    case 'cost':
      return sql`coalesce(${additive(b.leaf(m, () => costLeaf(b, m)))}, 0)`;
    case 'conversion':
      // The resolver refuses a breakdown of a funnel conversion (`breakdown-unsupported`).
      throw new Error('internal: a conversion KPI has no breakdown');
  }
}

/** Whether the metric's leaves all add up across groups (no avg, no count_distinct): then a total row is exact. */
function additive(m: IrMetric): boolean {
  if (m.k === 'ratio') return additive(m.numerator) && additive(m.denominator);
  return m.k !== 'avg' && m.k !== 'count_distinct' && m.k !== 'conversion';
}

export interface BreakdownOptions {
  /**
   * Also the overall value, as one more row (gid -1, kind `total`, size: the entities existing at
   * T) when the groups partition the entities (a breakdown by a value, not by segments) and the
   * metric adds up across groups; `total` on the result says whether the row is there.
   */
  readonly withTotal?: boolean;
}

/**
 * `gid, label, kind, size, value`: the metric per group at T, one row per group in display order
 * (an attribute's groups by size, then `(other)`; stages, bands and segments in written order;
 * the NULL group last; the total row, when asked for and exact, after it). `size` is the group's
 * entities existing at T.
 */
export function compileMetricBreakdown(m: IrMetric, bd: IrBreakdown, opts: SqlOptions, o: BreakdownOptions = {}): CompiledQuery & { readonly total: boolean } {
  const b = new Builder(opts, bd);
  const groups = groupCtes(b, bd);
  const v = value(b, m);
  const leaves = b.sources;
  // Built now (a retention leaf adds its cohort CTEs to b.ctes as it is built).
  const leafCtes = leaves.map((l) => sql`${sql.id(`__tally_${l.alias}`)} as (${l.sql()})`);
  const ctes = [...groups, ...b.ctes, ...leafCtes];
  const joins = leaves.map((l) => sql` left join ${sql.id(`__tally_${l.alias}`)} as ${sql.id(l.alias)} on ${sql.id(l.alias, 'gid')} = gr.gid`);
  const rows = sql`select gr.gid, gr.label, gr.kind, gr.n as size, ${b.d.cast(sql`(${v})`, 'float8')} as value from __tally_groups as gr${sql.join(joins, sql``)}`;
  const total = !!o.withTotal && bd.by.k === 'value' && additive(m);
  let body = rows;
  if (total) {
    // The same value expression over each leaf's column sums (aliased like the leaves).
    const sums = leaves.map((l) => sql`(select ${sql.join((b.columns.get(l.alias) ?? []).map((c) => sql`sum(${sql.id(c)}) as ${sql.id(c)}`))} from ${sql.id(`__tally_${l.alias}`)}) as ${sql.id(l.alias)}`);
    const from = sums.length ? sql` from ${sql.join(sums, sql` cross join `)}` : sql``;
    body = sql`${rows} union all select -1, ${b.d.cast(sql`null`, 'text')}, 'total', (select coalesce(sum(n), 0) from __tally_vals), ${b.d.cast(sql`(${v})`, 'float8')}${from}`;
  }
  return {
    ...compileRaw(sql`with ${sql.join(ctes, sql`, `)} select * from (${body}) as r order by case r.kind when 'null' then 1 when 'total' then 2 else 0 end, r.gid`, b.d),
    total,
  };
}
