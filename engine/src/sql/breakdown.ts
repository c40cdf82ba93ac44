// A KPI per group (`breakdown:`) in ONE set-based statement.
//
// The group is a property of the entity: `__tally_grp (k, gid)` maps every entity existing at T to
// its group id (one row per entity; for segments one row per (entity, segment), so groups may
// overlap), computed once (materialized). `__tally_groups (gid, label, kind)` lists the groups:
// an attribute's values present at T (ranked by size, ties by value; with `top` the rest merged
// into `(other)`), a lifecycle's stages or a score's bands in order (all of them, empty ones too),
// the segments in order, and the NULL group (gid 0) when some entity has no value.
// Every metric leaf is one grouped source keyed by gid: the events of a stream JOINed (hash) to
// `__tally_grp` on the entity key and grouped by gid (the join also applies the existence rule:
// `__tally_grp` holds only entities existing at T, so orphan keys and later entities drop out);
// retention, churn and NPS compute their per-entity rows once, then join to the groups the same
// way. Leaves are LEFT JOINed to the groups and combined per row like the overall metric (ratios:
// float8 division, NULL on a zero denominator; an empty group reads 0 for count/events/sum/active
// and NULL for avg/retention/churn/nps). No correlated per-row subquery over events.

import { sql, type RawBuilder } from 'kysely';
import * as ir from '../ir/ir.js';
import type { IrBreakdown, IrMetric } from '../ir/ir.js';
import { compileRaw } from './kysely.js';
import { postgres, type Dialect } from './dialect.js';
import { costRaw, eventExprRaw, eventFilterRaw, membersRaw, streamRaw, timeRaw, valuesRaw, type CompiledQuery, type SqlOptions } from './compile.js';

type Sql = RawBuilder<unknown>;

/** The row shape of a breakdown query, one per group in display order. */
export interface BreakdownRow {
  readonly gid: number;
  /** The group's value as text (NULL for the NULL group, `(other)` for the merged group). */
  readonly label: string | null;
  readonly kind: 'value' | 'null' | 'other';
  readonly size: number | string;
  readonly value: number | string | null;
}

export const OTHER_LABEL = '(other)';

class Builder {
  readonly ctes: Sql[] = [];
  readonly leaves = new Map<string, { alias: string; sql: Sql }>();
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
  /** A leaf source (one row per gid, column `v`), de-duplicated structurally; returns its value column. */
  leaf(m: unknown, build: (n: number) => Sql): Sql {
    const k = ir.structuralKey(m);
    let l = this.leaves.get(k);
    if (!l) {
      const n = this.leaves.size + 1;
      l = { alias: `l${n}`, sql: build(n) };
      this.leaves.set(k, l);
    }
    return sql.id(l.alias, 'v');
  }
}

const GRP = sql.id('__tally_grp');

/** The CTEs that define the groups: `__tally_grp (k, gid)` and `__tally_groups (gid, label, kind)`. */
function groupCtes(b: Builder, bd: IrBreakdown): Sql[] {
  const e = bd.entity;
  const lit = (n: number) => sql.lit(n);
  if (bd.by.k === 'segments') {
    const rows = bd.by.segments.map((s, i) => sql`(${lit(i + 1)}, ${b.value(s.name)}, 'value')`);
    const members = bd.by.segments.map((s, i) => sql`select s.key as k, ${lit(i + 1)} as gid from (${membersRaw({ k: 'members', entity: e, where: s.where }, b.opts)}) as s`);
    return [
      b.d.materializedCte('__tally_grp', sql.join(members, sql` union all `)),
      sql`__tally_groups as (select g.gid, ${b.d.cast(sql`g.label`, 'text')} as label, g.kind from (values ${sql.join(rows)}) as g(gid, label, kind))`,
    ];
  }
  const base = b.d.materializedCte('__tally_base', sql`select b.key as k, b.value as v from (${valuesRaw({ k: 'values', entity: e, value: bd.by.value, valueType: 'string' }, b.opts)}) as b`);
  const nullGroup = sql`select 0, ${b.d.cast(sql`null`, 'text')}, 'null' where exists (select 1 from __tally_base where v is null)`;
  if (bd.by.known) {
    const rows = bd.by.known.map((name, i) => sql`(${lit(i + 1)}, ${b.value(name)})`);
    return [
      base,
      sql`__tally_known as (select g.gid, ${b.d.cast(sql`g.label`, 'text')} as label from (values ${sql.join(rows)}) as g(gid, label))`,
      sql`__tally_groups as (select gid, label, 'value' as kind from __tally_known union all ${nullGroup})`,
      b.d.materializedCte('__tally_grp', sql`select b.k, coalesce(g.gid, 0) as gid from __tally_base as b left join __tally_known as g on g.label = ${b.d.cast(sql`b.v`, 'text')}`),
    ];
  }
  const top = bd.by.top;
  const label = b.d.cast(sql`v`, 'text');
  const ranked = sql`__tally_ranked as (select v, n, row_number() over (order by n desc, v) as r from (select v, count(*) as n from __tally_base where v is not null group by v) as s)`;
  if (top === null) {
    return [
      base,
      ranked,
      sql`__tally_groups as (select r as gid, ${label} as label, 'value' as kind from __tally_ranked union all ${nullGroup})`,
      b.d.materializedCte('__tally_grp', sql`select b.k, coalesce(rk.r, 0) as gid from __tally_base as b left join __tally_ranked as rk on rk.v = b.v`),
    ];
  }
  return [
    base,
    ranked,
    sql`__tally_groups as (select r as gid, ${label} as label, 'value' as kind from __tally_ranked where r <= ${lit(top)} union all select ${lit(top + 1)}, ${b.value(OTHER_LABEL)}, 'other' where exists (select 1 from __tally_ranked where r > ${lit(top)}) union all ${nullGroup})`,
    b.d.materializedCte('__tally_grp', sql`select b.k, case when b.v is null then 0 when rk.r <= ${lit(top)} then rk.r else ${lit(top + 1)} end as gid from __tally_base as b left join __tally_ranked as rk on rk.v = b.v`),
  ];
}

/** events / sum / avg / active of one leaf: the matching events joined to their entity's group. */
function streamLeaf(b: Builder, m: Extract<IrMetric, { k: 'events' | 'sum' | 'avg' | 'active' | 'count_distinct' }>): Sql {
  const f = m.filter;
  const key = sql.id('ev', f.stream.entityKey);
  const agg =
    m.k === 'events'
      ? sql`count(*)`
      : m.k === 'active'
        ? sql`count(distinct ${key})`
        : m.k === 'count_distinct'
          ? sql`count(distinct ${eventExprRaw(m.value, b.opts, 'ev')})`
          : sql`${sql.raw(m.k)}(${eventExprRaw(m.value, b.opts, 'ev')})`;
  return sql`select g.gid, ${agg} as v from ${streamRaw(f.stream, b.opts)} as ev join ${GRP} as g on g.k = ${key} where ${eventFilterRaw(f, b.opts, 'ev')} group by g.gid`;
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
  return sql`select g.gid, ${b.d.cast(sql`count(rt.k)`, 'float8')} / nullif(count(*), 0) as v from ${co} as co join ${GRP} as g on g.k = co.k left join ${ret} as rt on rt.k = co.k group by g.gid`;
}

function churnLeaf(b: Builder, m: Extract<IrMetric, { k: 'churn' }>): Sql {
  const f = m.filter;
  const p1 = timeRaw({ k: 'asof', minusMs: 2 * m.period.ms, minus: { count: 2 * (m.period.ms / 86_400_000), unit: 'days', ms: 2 * m.period.ms } }, b.opts);
  const p0 = timeRaw({ k: 'asof', minusMs: m.period.ms, minus: m.period }, b.opts);
  const t = sql.id('ev', f.stream.time);
  const key = sql.id('ev', f.stream.entityKey);
  const perKey = sql`select ${key} as k, ${b.d.boolOr(sql`${t} > ${p0}`)} as recent from ${streamRaw(f.stream, b.opts)} as ev where ${t} > ${p1} and ${eventFilterRaw(f, b.opts, 'ev')} group by ${key} having ${b.d.boolOr(sql`${t} <= ${p0}`)}`;
  return sql`select g.gid, ${b.d.cast(sql`(count(*) filter (where not p.recent))`, 'float8')} / nullif(count(*), 0) as v from (${perKey}) as p join ${GRP} as g on g.k = p.k group by g.gid`;
}

function npsLeaf(b: Builder, m: Extract<IrMetric, { k: 'nps' }>): Sql {
  const f = m.filter;
  const score = eventExprRaw(m.value, b.opts, 'ev');
  const key = sql.id('ev', f.stream.entityKey);
  // The latest scored response of every respondent (existing or not: the join to the groups keeps the existing ones).
  const latest = sql`select ${b.d.distinctOn(key)} ${key} as k, ${score} as score from ${streamRaw(f.stream, b.opts)} as ev where ${eventFilterRaw(f, b.opts, 'ev')} and ${score} is not null order by ${key}, ${sql.id('ev', f.stream.time)} desc`;
  return sql`select g.gid, ${b.d.cast(sql`((count(*) filter (where n.score >= 9)) - (count(*) filter (where n.score <= 6)))`, 'float8')} * 100 / nullif(count(*), 0) as v from (${latest}) as n join ${GRP} as g on g.k = n.k group by g.gid`;
}

function csatLeaf(b: Builder, m: Extract<IrMetric, { k: 'csat' }>): Sql {
  const f = m.filter;
  const rating = eventExprRaw(m.value, b.opts, 'ev');
  const key = sql.id('ev', f.stream.entityKey);
  const satisfied = sql`${rating} ${sql.raw(m.op === 'gte' ? '>=' : '>')} ${b.value(m.threshold)}`;
  return sql`select g.gid, ${b.d.cast(sql`(count(*) filter (where ${satisfied}))`, 'float8')} / nullif(count(*), 0) as v from ${streamRaw(f.stream, b.opts)} as ev join ${GRP} as g on g.k = ${key} where ${eventFilterRaw(f, b.opts, 'ev')} and ${rating} >= ${b.value(m.low)} and ${rating} <= ${b.value(m.high)} group by g.gid`;
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

function value(b: Builder, m: IrMetric): Sql {
  switch (m.k) {
    case 'count':
      return sql`coalesce(${b.leaf(m, () => countLeaf(b, m))}, 0)`;
    case 'events':
    case 'sum':
    case 'active':
    case 'count_distinct':
      return sql`coalesce(${b.leaf(m, () => streamLeaf(b, m))}, 0)`;
    case 'avg':
      return b.leaf(m, () => streamLeaf(b, m));
    case 'ratio':
      return sql`(${b.d.cast(value(b, m.numerator), 'float8')} / nullif(${b.d.cast(value(b, m.denominator), 'float8')}, 0))`;
    case 'retention':
    case 'attribute-retention':
      return b.leaf(m, (n) => retentionLeaf(b, m, n));
    case 'churn':
      return b.leaf(m, () => churnLeaf(b, m));
    case 'nps':
      return b.leaf(m, () => npsLeaf(b, m));
    case 'csat':
      return b.leaf(m, () => csatLeaf(b, m));
    case 'cost':
      return sql`coalesce(${b.leaf(m, () => costLeaf(b, m))}, 0)`;
    case 'conversion':
      // The resolver refuses a breakdown of a funnel conversion (`breakdown-unsupported`).
      throw new Error('internal: a conversion KPI has no breakdown');
  }
}

/**
 * `gid, label, kind, size, value`: the metric per group at T, one row per group in display order
 * (an attribute's groups by size, then `(other)`; stages, bands and segments in written order;
 * the NULL group last). `size` is the group's entities existing at T.
 */
export function compileMetricBreakdown(m: IrMetric, bd: IrBreakdown, opts: SqlOptions): CompiledQuery {
  const b = new Builder(opts, bd);
  const groups = groupCtes(b, bd);
  const v = value(b, m);
  const joins = [...b.leaves.values()].map((l) => sql` left join (${l.sql}) as ${sql.id(l.alias)} on ${sql.id(l.alias, 'gid')} = gr.gid`);
  const ctes = [...groups, ...b.ctes];
  return compileRaw(
    sql`with ${sql.join(ctes, sql`, `)} select gr.gid, gr.label, gr.kind, coalesce(sz.n, 0) as size, ${b.d.cast(sql`(${v})`, 'float8')} as value from __tally_groups as gr left join (select gid, count(*) as n from ${GRP} group by gid) as sz on sz.gid = gr.gid${sql.join(joins, sql``)} order by case when gr.kind = 'null' then 1 else 0 end, gr.gid`,
    b.d,
  );
}
