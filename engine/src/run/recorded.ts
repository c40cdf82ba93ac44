// What Tally records over time, next to the deploy history in the deploy schema, append-only:
//
//   <schema>.kpi_checks(id, checked_at, as_of, kpi, version, fingerprint, value, status, expected,
//                       gap, git_commit, who)
//       one row per KPI per `tally check` (a re-run for the same instant and meaning adds nothing),
//       so a KPI's value can be charted against its pace line later.
//   <schema>.lifecycle_snapshots(day, lifecycle, version, fingerprint, stage, entities, taken_at)
//       the daily stage distribution of each deployed lifecycle (one per day and meaning).
//   <schema>.lifecycle_stage_changes(lifecycle, key, stage, since, taken_at)
//       per entity, a row whenever its stage differs from its last recorded one, so transitions
//       between any two snapshot days can be counted (who moved from active to dormant). An
//       entity's stage on day D is its latest row with since <= D, so a backfill of earlier days
//       (`tally snapshot --as-of`) stays correct, at the cost of some redundant rows.
//
// Snapshots evaluate what is deployed (the recorded sources, re-analysed) as of the given instant
// (default now); its UTC day is the snapshot's day.

import type { KpiStatus } from '../kpi-status.js';
import type { LifecycleDef } from '../model/types.js';
import type { Analysis, Project } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import { compileValues } from '../sql/compile.js';
import type { CheckResult } from './check.js';
import type { Db } from './db.js';
import { quoteIdent, readDeployed } from './deploy-state.js';
import { deployedAnalysis } from './deployed-project.js';

/** Creates the recorded-over-time tables and their append-only triggers (inside ensureState). */
export function recordedTablesSql(s: string): string {
  return `
create table if not exists ${s}.kpi_checks (
  id bigserial primary key,
  checked_at timestamptz not null default clock_timestamp(),
  as_of timestamptz not null,
  kpi text not null,
  version int,
  fingerprint text not null,
  value float8,
  status text not null,
  expected float8,
  gap float8,
  git_commit text,
  who text
);
create index if not exists kpi_checks_kpi_as_of on ${s}.kpi_checks (kpi, as_of);
create table if not exists ${s}.lifecycle_snapshots (
  day date not null,
  lifecycle text not null,
  version int,
  fingerprint text not null,
  stage text,
  entities bigint not null,
  taken_at timestamptz not null default transaction_timestamp()
);
create index if not exists lifecycle_snapshots_day on ${s}.lifecycle_snapshots (lifecycle, day);
create table if not exists ${s}.lifecycle_stage_changes (
  lifecycle text not null,
  key text not null,
  stage text,
  since date not null,
  taken_at timestamptz not null default transaction_timestamp()
);
create index if not exists lifecycle_stage_changes_key on ${s}.lifecycle_stage_changes (lifecycle, key, since);
${['kpi_checks', 'lifecycle_snapshots', 'lifecycle_stage_changes']
  .map(
    (t) => `create or replace trigger tally_append_only_rows before update or delete on ${s}.${t}
  for each row execute function ${s}.tally_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.${t}
  for each statement execute function ${s}.tally_append_only();`,
  )
  .join('\n')}
`;
}

export interface RecordChecksOptions {
  readonly schema: string;
  readonly who?: string | null;
  readonly gitCommit?: string | null;
}

/** Appends one row per evaluated KPI; a KPI already recorded for this instant and meaning is skipped. Returns rows added. */
export async function recordChecks(tx: Db, analysis: Analysis, result: CheckResult, opts: RecordChecksOptions): Promise<number> {
  const s = quoteIdent(opts.schema);
  const rows = result.kpis.map((k) => {
    const info = analysis.get('Kpi', k.name)!;
    return { kpi: k.name, version: info.def.version, fingerprint: info.fingerprint, value: k.value, status: k.status, expected: k.expected, gap: k.gap };
  });
  if (!rows.length) return 0;
  const r = await tx.query<{ n: number }>(
    `with input as (
       select * from unnest($2::text[], $3::int[], $4::text[], $5::float8[], $6::text[], $7::float8[], $8::float8[])
         as t(kpi, version, fingerprint, value, status, expected, gap)
     ), ins as (
       insert into ${s}.kpi_checks (as_of, kpi, version, fingerprint, value, status, expected, gap, git_commit, who)
       select $1::timestamptz, i.kpi, i.version, i.fingerprint, i.value, i.status, i.expected, i.gap, $9, $10 from input i
        where not exists (select 1 from ${s}.kpi_checks c where c.kpi = i.kpi and c.fingerprint = i.fingerprint and c.as_of = $1::timestamptz)
       returning 1
     ) select count(*) as n from ins`,
    [
      result.as_of,
      rows.map((r) => r.kpi),
      rows.map((r) => r.version),
      rows.map((r) => r.fingerprint),
      rows.map((r) => r.value),
      rows.map((r) => r.status),
      rows.map((r) => r.expected),
      rows.map((r) => r.gap),
      opts.gitCommit ?? null,
      opts.who ?? null,
    ],
  );
  return Number(r.rows[0]?.n ?? 0);
}

export interface KpiHistoryPoint {
  readonly as_of: string;
  readonly value: number | null;
  readonly status: KpiStatus;
  readonly expected: number | null;
  readonly version: number | null;
}

/** A KPI's recorded checks, oldest first (the latest row per instant). Empty when none are recorded. */
export async function readKpiHistory(db: Db, schema: string, kpi: string): Promise<KpiHistoryPoint[]> {
  const s = quoteIdent(schema);
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${s}.kpi_checks`]);
  if (!reg.rows[0]?.t) return [];
  const r = await db.query<{ as_of: string; value: number | null; status: KpiStatus; expected: number | null; version: number | null }>(
    `select distinct on (as_of) as_of, value, status, expected, version from ${s}.kpi_checks where kpi = $1 order by as_of, id desc`,
    [kpi],
  );
  return r.rows.map((x) => ({ as_of: x.as_of, value: x.value === null ? null : Number(x.value), status: x.status, expected: x.expected === null ? null : Number(x.expected), version: x.version === null ? null : Number(x.version) }));
}

export interface SnapshotResult {
  readonly day: string;
  /** Lifecycles snapshotted now, with their distribution and how many entities changed stage since their last record. */
  readonly taken: { lifecycle: string; version: number; stages: Record<string, number>; changed: number }[];
  /** Lifecycles already snapshotted for this day (same meaning): nothing added. */
  readonly skipped: string[];
  /** Deployed lifecycles that cannot be evaluated (their deployed source no longer compiles). */
  readonly problems: string[];
}

/** The UTC day of an instant, `YYYY-MM-DD`. */
export function dayOf(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Records today's (the as-of day's) stage distribution of every deployed lifecycle, inside the
 * caller's transaction (which holds the deploy lock). Idempotent per day and meaning.
 */
export async function takeLifecycleSnapshot(tx: Db, project: Project, opts: { schema: string; asOf: Date; catalog?: Catalog }): Promise<SnapshotResult> {
  const s = quoteIdent(opts.schema);
  const day = dayOf(opts.asOf);
  const state = await readDeployed(tx, opts.schema, { withSource: true });
  const { analysis, problems } = deployedAnalysis(project, state, { catalog: opts.catalog, now: opts.asOf });
  const out: SnapshotResult = { day, taken: [], skipped: [], problems: [] };
  for (const info of analysis?.ofKind('Lifecycle') ?? []) {
    const name = info.def.name;
    const q = info.resolved.query;
    if (info.hasErrors || !q || q.k !== 'values') {
      out.problems.push(`${name}: ${problems.get(`lifecycle:${name}`) ?? 'it has errors'}`);
      continue;
    }
    const seen = await tx.query(`select 1 from ${s}.lifecycle_snapshots where day = $1::date and lifecycle = $2 and fingerprint = $3 limit 1`, [day, name, info.fingerprint]);
    if (seen.rows.length) {
      out.skipped.push(name);
      continue;
    }
    const c = compileValues(q, { asOf: { kind: 'instant', at: opts.asOf }, literals: 'inline' });
    await tx.exec(`create temporary table tally_stage_now on commit drop as select key::text as key, value::text as stage from (${c.sql}) as v`);
    const dist = await tx.query<{ stage: string | null; n: number }>(`select stage, count(*) as n from tally_stage_now group by stage`);
    const stages: Record<string, number> = {};
    for (const st of (info.def as LifecycleDef).stages) stages[st.name.name] = 0;
    for (const r of dist.rows) if (r.stage !== null) stages[r.stage] = Number(r.n);
    await tx.query(
      `insert into ${s}.lifecycle_snapshots (day, lifecycle, version, fingerprint, stage, entities)
       select $1::date, $2, $3::int, $4, stage, count(*) from tally_stage_now group by stage`,
      [day, name, info.def.version, info.fingerprint],
    );
    const changed = await tx.query<{ n: number }>(
      `with latest as (
         select distinct on (key) key, stage from ${s}.lifecycle_stage_changes where lifecycle = $2 and since <= $1::date order by key, since desc, taken_at desc
       ), ins as (
         insert into ${s}.lifecycle_stage_changes (lifecycle, key, stage, since)
         select $2, n.key, n.stage, $1::date from tally_stage_now n left join latest l on l.key = n.key
          where l.key is null or l.stage is distinct from n.stage
         returning 1
       ) select count(*) as n from ins`,
      [day, name],
    );
    await tx.exec('drop table tally_stage_now');
    out.taken.push({ lifecycle: name, version: info.def.version, stages, changed: Number(changed.rows[0]?.n ?? 0) });
  }
  return out;
}

export interface LifecycleHistory {
  readonly lifecycle: string;
  /** Per snapshot day, oldest first: the stage counts. */
  readonly days: { day: string; stages: Record<string, number> }[];
  /** Between each pair of consecutive snapshot days: how many entities moved from one stage to another. */
  readonly transitions: { from_day: string; to_day: string; moves: { from: string | null; to: string | null; entities: number }[] }[];
}

/** The recorded snapshots of a lifecycle and the stage transitions between consecutive days. */
export async function readLifecycleHistory(db: Db, schema: string, lifecycle: string): Promise<LifecycleHistory> {
  const s = quoteIdent(schema);
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${s}.lifecycle_snapshots`]);
  if (!reg.rows[0]?.t) return { lifecycle, days: [], transitions: [] };
  const snaps = await db.query<{ day: string; stage: string | null; entities: number }>(
    `select to_char(day, 'YYYY-MM-DD') as day, stage, entities from ${s}.lifecycle_snapshots sn
      where lifecycle = $1 and taken_at = (select max(taken_at) from ${s}.lifecycle_snapshots x where x.lifecycle = sn.lifecycle and x.day = sn.day)
      order by day, stage`,
    [lifecycle],
  );
  const byDay = new Map<string, Record<string, number>>();
  for (const r of snaps.rows) {
    let m = byDay.get(r.day);
    if (!m) byDay.set(r.day, (m = {}));
    m[r.stage ?? '(none)'] = Number(r.entities);
  }
  const days = [...byDay.entries()].map(([day, stages]) => ({ day, stages }));
  const transitions: LifecycleHistory['transitions'] = [];
  for (let i = 1; i < days.length; i++) {
    const a = days[i - 1]!.day;
    const b = days[i]!.day;
    const r = await db.query<{ from: string | null; to: string | null; n: number }>(
      `with at_a as (select distinct on (key) key, stage from ${s}.lifecycle_stage_changes where lifecycle = $1 and since <= $2::date order by key, since desc, taken_at desc),
            at_b as (select distinct on (key) key, stage from ${s}.lifecycle_stage_changes where lifecycle = $1 and since <= $3::date order by key, since desc, taken_at desc)
       select a.stage as "from", b.stage as "to", count(*) as n from at_a a full join at_b b on a.key = b.key
        where a.stage is distinct from b.stage group by 1, 2 order by 3 desc, 1, 2`,
      [lifecycle, a, b],
    );
    transitions.push({ from_day: a, to_day: b, moves: r.rows.map((x) => ({ from: x.from, to: x.to, entities: Number(x.n) })) });
  }
  return { lifecycle, days, transitions };
}
