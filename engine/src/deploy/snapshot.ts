// Lifecycle snapshots in the deploy schema, append-only (tables created with the rest of Tally's
// state: state/ddl.ts):
//
//   <schema>.lifecycle_snapshots(day, lifecycle, version, fingerprint, stage, entities, taken_at)
//       the daily stage distribution of each deployed lifecycle (one per day and meaning).
//   <schema>.lifecycle_stage_changes(lifecycle, key, stage, since, taken_at)
//       per entity, a row whenever its stage differs from its last recorded one, so transitions
//       between any two snapshot days can be counted (who moved from active to dormant). An
//       entity's stage on day D is its latest row with since <= D, so a backfill of earlier days
//       (`tally snapshot --as-of`) stays correct, at the cost of some redundant rows.
//
// Snapshots evaluate what is deployed (the recorded sources, re-analysed) as of the given instant
// (default now); its UTC day is the snapshot's day. Written by deploy and `tally snapshot`, read
// by `tally history --lifecycle`.

import type { LifecycleDef } from '../model/types.js';
import type { Project } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import { compileValues } from '../sql/compile.js';
import type { Db } from '../db/db.js';
import { ensureState } from '../state/ddl.js';
import { deployLockKey } from '../state/locks.js';
import { readDeployed } from '../state/deployed.js';
import { deployedAnalysis } from '../state/deployed-project.js';
import { postgres } from '../sql/dialect.js';

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
  const s = postgres.quoteIdent(opts.schema);
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
    // The day's counts, recorded and read back in one pass over the stages.
    const dist = await tx.query<{ stage: string | null; n: number }>(
      `insert into ${s}.lifecycle_snapshots (day, lifecycle, version, fingerprint, stage, entities)
       select $1::date, $2, $3::int, $4, stage, count(*) from tally_stage_now group by stage
       returning stage, entities as n`,
      [day, name, info.def.version, info.fingerprint],
    );
    const stages: Record<string, number> = {};
    for (const st of (info.def as LifecycleDef).stages) stages[st.name.name] = 0;
    for (const r of dist.rows) if (r.stage !== null) stages[r.stage] = Number(r.n);
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
  const s = postgres.quoteIdent(schema);
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

/**
 * `tally snapshot`: in one transaction under the deploy schema's lock, creates the state tables
 * when missing and takes the day's snapshot of every deployed lifecycle (takeLifecycleSnapshot).
 */
export async function snapshotLifecycles(db: Db, project: Project, opts: { schema: string; asOf: Date; catalog?: Catalog }): Promise<SnapshotResult> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${deployLockKey(opts.schema)}::bigint)`);
    await ensureState(tx, opts.schema);
    return takeLifecycleSnapshot(tx, project, opts);
  });
}

/**
 * For the review: the recorded snapshot days of a lifecycle in [fromDay, toDay] and, when there are
 * two or more, the entities that moved between the first and the last of them (an entity's stage
 * on a day is its latest recorded change with since <= that day). Read-only; none when the state
 * tables do not exist.
 */
export async function readStageMoves(db: Db, schema: string, lifecycle: string, fromDay: string, toDay: string): Promise<{ days: string[]; moves: LifecycleHistory['transitions'][number] | null }> {
  const s = postgres.quoteIdent(schema);
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${s}.lifecycle_snapshots`]);
  if (!reg.rows[0]?.t) return { days: [], moves: null };
  const d = await db.query<{ day: string }>(
    `select distinct to_char(day, 'YYYY-MM-DD') as day from ${s}.lifecycle_snapshots where lifecycle = $1 and day between $2::date and $3::date order by 1`,
    [lifecycle, fromDay, toDay],
  );
  const days = d.rows.map((r) => r.day);
  if (days.length < 2) return { days, moves: null };
  const a = days[0]!;
  const b = days[days.length - 1]!;
  const r = await db.query<{ from: string | null; to: string | null; n: number }>(
    `with at_a as (select distinct on (key) key, stage from ${s}.lifecycle_stage_changes where lifecycle = $1 and since <= $2::date order by key, since desc, taken_at desc),
          at_b as (select distinct on (key) key, stage from ${s}.lifecycle_stage_changes where lifecycle = $1 and since <= $3::date order by key, since desc, taken_at desc)
     select a.stage as "from", b.stage as "to", count(*) as n from at_a a full join at_b b on a.key = b.key
      where a.stage is distinct from b.stage group by 1, 2 order by 3 desc, 1, 2`,
    [lifecycle, a, b],
  );
  return { days, moves: { from_day: a, to_day: b, moves: r.rows.map((x) => ({ from: x.from, to: x.to, entities: Number(x.n) })) } };
}
