// Funnel SQL: one grouped scan per step joined on the entity key (no per-row probes).
//
// fs0: each existing entity's first step-0 event t0 (all events up to T), kept when t0 > T - within.
// fsk: the earliest step-k event strictly after t_{k-1} (and within the step's window, and <= T):
//      one scan of the step's events (fenced with `offset 0`, so never an index probe per entrant;
//      steps with the same events share one scan, a materialized CTE `fe<n>`) hash-joined to
//      fs{k-1} on the key, grouped by key (greedy, strict order).
// The preview counts each step and the median time from the previous one; a KPI's conversion
// divides two counts. compile.ts supplies the building blocks (`FunnelParts`), so this file needs
// nothing of it (no import cycle).

import { sql, type RawBuilder } from 'kysely';
import { structuralKey, type IrEntity, type IrEventFilter, type IrFunnel, type IrStream, type IrTime } from '../ir/ir.js';
import type { Dialect } from './dialect.js';

type Sql = RawBuilder<unknown>;

/** What funnel SQL needs from the compiler context (compile.ts). */
export interface FunnelParts {
  readonly d: Dialect;
  readonly asOf: Sql;
  time(t: IrTime): Sql;
  /** A stream's rows (its table, or its de-duplicated rows under `dedupe_on`). */
  stream(s: IrStream): Sql;
  col(alias: string, column: string): Sql;
  /** The WHERE of an event filter for alias `ev` (time <= T, types, property filters). */
  filter(f: IrEventFilter, ev: string): Sql;
  /** The existence rule for the key expression `key`. */
  exists(entity: IrEntity, key: Sql): Sql;
}

/** The structural identity of a step's scan (its stream and event filter). */
function scanKey(f: IrEventFilter): string {
  return structuralKey(f);
}

/** `with fs0 as (...), ..., fs<last> as (...)`: the steps up to `last` (0-based), each `k, t` (and `p`, the previous step's time). */
export function funnelCtes(f: IrFunnel, last: number, x: FunnelParts): Sql {
  const first = f.steps[0]!;
  const s0 = first.filter.stream;
  const key0 = x.col('ev', s0.entityKey);
  const t0 = x.col('ev', s0.time);
  const lower = x.time({ k: 'asof', minusMs: f.within.ms, minus: f.within });
  const firsts = sql`select ${key0} as k, min(${t0}) as t from ${x.stream(s0)} as ev where ${x.filter(first.filter, 'ev')} group by ${key0} having min(${t0}) > ${lower}`;
  const ctes: Sql[] = [];
  // The step's events in one scan: every later step is after t0 > T - within, so that bound is
  // pushed in; `offset 0` keeps it one scan (no index probe per entrant: the join is by hash).
  // Steps with the same events (e.g. a first and a repeat purchase) share one scan, a materialized CTE.
  const scanOf = (step: (typeof f.steps)[number]) => {
    const s = step.filter.stream;
    const t = x.col('ev', s.time);
    return sql`select ${x.col('ev', s.entityKey)} as k, ${t} as t from ${x.stream(s)} as ev where ${t} > ${lower} and ${x.filter(step.filter, 'ev')}`;
  };
  const uses = new Map<string, number>();
  for (let i = 1; i <= last; i++) uses.set(scanKey(f.steps[i]!.filter), (uses.get(scanKey(f.steps[i]!.filter)) ?? 0) + 1);
  const shared = new Map<string, string>();
  for (let i = 1; i <= last; i++) {
    const k = scanKey(f.steps[i]!.filter);
    if (uses.get(k)! > 1 && !shared.has(k)) {
      const name = `fe${shared.size + 1}`;
      shared.set(k, name);
      ctes.push(x.d.materializedCte(name, scanOf(f.steps[i]!)));
    }
  }
  ctes.push(x.d.materializedCte('fs0', sql`select g.k, g.t from (${firsts}) as g where ${x.exists(f.entity, x.col('g', 'k'))}`));
  for (let i = 1; i <= last; i++) {
    const step = f.steps[i]!;
    const name = shared.get(scanKey(step.filter));
    const events = name ? sql.raw(name) : sql`(${scanOf(step)} offset 0)`;
    const on: Sql[] = [sql`e.k = p.k`, sql`e.t > p.t`];
    if (step.within) on.push(sql`e.t <= p.t + ${x.d.interval(step.within)}`);
    ctes.push(x.d.materializedCte(`fs${i}`, sql`select p.k, p.t as p, min(e.t) as t from ${sql.raw(`fs${i - 1}`)} as p join ${events} as e on ${sql.join(on, sql` and `)} group by p.k, p.t`));
  }
  return sql`with ${sql.join(ctes)}`;
}

/** One row: `n0..n<N-1>` (entities reached per step) and `m1..m<N-1>` (median hours from the previous step). */
export function funnelPreviewSql(f: IrFunnel, x: FunnelParts): Sql {
  const cols: Sql[] = [];
  const from: Sql[] = [];
  f.steps.forEach((_s, i) => {
    if (i === 0) {
      from.push(sql`(select count(*) as n from fs0) as a0`);
      cols.push(sql`a0.n as n0`);
      return;
    }
    const hours = sql`(${x.d.daysBetween(sql`fs.p`, sql`fs.t`)} * 24)`;
    from.push(sql`(select count(*) as n, ${x.d.median(hours)} as m from ${sql.raw(`fs${i}`)} as fs) as ${sql.raw(`a${i}`)}`);
    cols.push(sql`${sql.raw(`a${i}`)}.n as ${sql.raw(`n${i}`)}`, sql`${sql.raw(`a${i}`)}.m as ${sql.raw(`m${i}`)}`);
  });
  return sql`${funnelCtes(f, f.steps.length - 1, x)} select ${sql.join(cols)} from ${sql.join(from, sql` cross join `)}`;
}

/** One row, one column `v`: reached step `to` / reached step `from` (NULL when nobody reached `from`). */
export function conversionSql(f: IrFunnel, from: number, to: number, x: FunnelParts): Sql {
  const n = (i: number) => sql`(select count(*) from ${sql.raw(`fs${i}`)})`;
  return sql`${funnelCtes(f, to, x)} select ${x.d.cast(n(to), 'float8')} / nullif(${n(from)}, 0) as v`;
}

/**
 * A series' funnel (T-free, computed once for all periods): every entity's first step-0 event ever
 * (`t0`) and, step by step, the earliest step-k event strictly after t<k-1> within the step's window
 * (`t1..t<last>`, NULL when none), over all events. `filter` is the step's event filter without the
 * `time <= T` bound. As of T an entity reached step k exactly when t0 > T - within and tk <= T: the
 * greedy chain bounded by T is the unbounded chain's prefix up to T (each tk is the earliest match).
 */
export function funnelChainSql(f: IrFunnel, last: number, x: FunnelParts, filter: (f: IrEventFilter, ev: string) => Sql): Sql {
  const s0 = f.steps[0]!.filter.stream;
  let chain = sql`select ${x.col('ev', s0.entityKey)} as k, min(${x.col('ev', s0.time)}) as t0 from ${x.stream(s0)} as ev where ${filter(f.steps[0]!.filter, 'ev')} group by ${x.col('ev', s0.entityKey)}`;
  for (let i = 1; i <= last; i++) {
    const step = f.steps[i]!;
    const s = step.filter.stream;
    const prev = Array.from({ length: i }, (_v, j) => sql.raw(`p.t${j}`));
    const pt = sql.raw(`p.t${i - 1}`);
    const on: Sql[] = [sql`e.k = p.k`, sql`e.t > ${pt}`];
    if (step.within) on.push(sql`e.t <= ${pt} + ${x.d.interval(step.within)}`);
    const events = sql`select ${x.col('ev', s.entityKey)} as k, ${x.col('ev', s.time)} as t from ${x.stream(s)} as ev where ${filter(step.filter, 'ev')}`;
    chain = sql`select p.k, ${sql.join(prev)}, min(e.t) as ${sql.raw(`t${i}`)} from (${chain}) as p left join (${events}) as e on ${sql.join(on, sql` and `)} group by p.k, ${sql.join(prev)}`;
  }
  return chain;
}

/** Per period over a hoisted funnelChainSql `chain`: reached step `to` / reached step `from` as of T (conversionSql's value). */
export function hoistedConversionSql(f: IrFunnel, from: number, to: number, chain: string, x: FunnelParts): Sql {
  const lower = x.time({ k: 'asof', minusMs: f.within.ms, minus: f.within });
  const reached = (i: number) => sql`count(*) filter (where ${sql.raw(`h.t${i}`)} <= ${x.asOf})`;
  return sql`select ${x.d.cast(reached(to), 'float8')} / nullif(${reached(from)}, 0) as v from ${sql.id(chain)} as h where h.t0 > ${lower} and h.t0 <= ${x.asOf} and ${x.exists(f.entity, sql`h.k`)}`;
}
