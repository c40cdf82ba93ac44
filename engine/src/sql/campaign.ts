// Campaign SQL: the audience as of T with why each member would be held back, enrollment inserts,
// and the per-variant conversion counts of a report. Segments, exclusions and event filters come
// from the compiler (compile.ts), so a campaign's audience is exactly the segment preview's members.
//
// Candidates (one row per member of the audience segment at T):
//   entity_key  the key's text form (what the assignment hash and the history store)
//   excluded    a member of any `exclude` segment at T
//   triggered   (triggered campaigns) a matching trigger event with time + delay in (since, T]
//   entered     the entry rule refuses it: `once` and enrolled before, or `every D` and enrolled in (T - D, T)
//   capped      on this channel, non-holdout enrollments in (T - per, T] already reach the cap's max
//   variant     the 0-based variant index by the contract's hash rule

import { sql, type RawBuilder } from 'kysely';
import type { IrCampaign } from '../ir/ir.js';
import { compileRaw, type CompiledSql } from './kysely.js';
import { eventFilterRaw, membersRaw, streamRaw, type SqlOptions } from './compile.js';
import { postgres } from './dialect.js';

type Sql = RawBuilder<unknown>;

export interface CandidateOptions {
  /** T as a parameter. */
  readonly asOf: Date;
  /**
   * The keys the history holds back (read first by compileHeldKeys, from Tally's own tables), or
   * null when the history tables do not exist yet. They reach the candidate query as array
   * parameters, so the query over the user's tables never reads Tally's state tables (ARCHITECTURE.md
   * "Portability rules").
   */
  readonly held: HeldKeys | null;
  /** Triggered campaigns: the exclusive lower bound of (trigger event time + delay). */
  readonly triggerSince: Date | null;
  /** The cumulative variant shares (assign.ts cumulativeShares). */
  readonly shares: readonly number[];
}

/** Keys held back by the campaign history at T (text keys, each once). */
export interface HeldKeys {
  /** The entry rule refuses them: `once` and enrolled before, or `every D` and enrolled in (T - D, T). */
  readonly entered: readonly string[];
  /** The frequency cap refuses them (null: the campaign has no cap). */
  readonly capped: readonly string[] | null;
}

// The statements below are PostgreSQL's (insert ... returning, arrays, typed parameters); the
// text a compiled query also writes (timestamps, intervals, materialized CTEs) and the assignment
// hash come from the dialect.
const dialect = postgres;

function ts(d: Date): Sql {
  return dialect.timestamp(sql.val(d.toISOString()));
}

/** u = h / 2^32 for `campaign:key` (h: the first 4 bytes of sha256 as a big-endian uint32). */
export function assignmentUnitSql(campaign: Sql, key: Sql): Sql {
  return dialect.assignmentUnit(campaign, key);
}

/** `select k, u` for a list of keys (text): the SQL side of the assignment, for tests and tools. */
export function compileAssignmentUnits(campaign: string, keys: readonly string[]): CompiledSql {
  return compileRaw(sql`select k, ${assignmentUnitSql(sql`${sql.val(campaign)}::text`, sql`k`)} as u from unnest(${sql.val(keys)}::text[]) with ordinality as t(k, i) order by i`);
}

/**
 * One row per audience member with its hold-back flags and variant. Set-based (issue 11): every
 * flag is a LEFT JOIN to a set computed once (the exclusion members, the triggered keys, the keys
 * that entered before, the capped keys), never a subquery per member, so a run or a preview over a
 * million members reads the events and the history once each. Each set has one row per key, so the
 * joins keep one row per member.
 */
function candidatesRaw(c: IrCampaign, o: CandidateOptions): Sql {
  const opts: SqlOptions = { asOf: { kind: 'instant', at: o.asOf }, literals: 'param' };
  const name = sql`${sql.val(c.name)}::text`;
  const joins: Sql[] = [];

  // One LEFT JOIN per exclusion segment, each on the entity key (a co-located join on a distributed
  // layout), never an uncorrelated `key in (select ...)` or a union of them.
  let excluded: Sql = sql`false`;
  if (c.exclude.length) {
    c.exclude.forEach((q, i) => joins.push(sql`left join (${membersRaw(q, opts)}) as ${sql.id(`xs${i}`)} on ${sql.id(`xs${i}`, 'key')} = s.key`));
    excluded = sql.join(c.exclude.map((_, i) => sql`${sql.id(`xs${i}`, 'key')} is not null`), sql` or `);
  }

  let triggered: Sql = sql`true`;
  if (c.trigger) {
    const f = c.trigger.filter;
    const delayMs = c.trigger.delay.ms;
    const upper = ts(new Date(o.asOf.getTime() - delayMs));
    const lower = o.triggerSince ? sql` and ${sql.id('ev', f.stream.time)} > ${ts(new Date(o.triggerSince.getTime() - delayMs))}` : sql``;
    joins.push(
      sql`left join (select distinct ${sql.id('ev', f.stream.entityKey)} as key from ${streamRaw(f.stream, opts)} as ev where ${eventFilterRaw(f, opts, 'ev')} and ${sql.id('ev', f.stream.time)} <= ${upper}${lower}) as tr on tr.key = s.key`,
    );
    triggered = sql`tr.key is not null`;
  }

  // The history's hold-backs arrive as parameters (compileHeldKeys): this statement reads no state table.
  let entered: Sql = sql`false`;
  let capped: Sql = sql`false`;
  if (o.held) {
    joins.push(sql`left join unnest(${sql.val(o.held.entered)}::text[]) as ent(entity_key) on ent.entity_key = s.key::text collate "C"`);
    entered = sql`ent.entity_key is not null`;
    if (o.held.capped) {
      joins.push(sql`left join unnest(${sql.val(o.held.capped)}::text[]) as cap(entity_key) on cap.entity_key = s.key::text collate "C"`);
      capped = sql`cap.entity_key is not null`;
    }
  }

  const keyText = sql`s.key::text`;
  const u = assignmentUnitSql(name, keyText);
  const whens = o.shares.map((s, i) => sql`when u < ${sql.val(s)}::float8 then ${sql.lit(i)}`);
  const variant = whens.length ? sql`case ${sql.join(whens, sql` `)} else ${sql.lit(o.shares.length - 1)} end` : sql`null::int`;

  return sql`select entity_key, excluded, triggered, entered, capped, ${variant} as variant from (select ${keyText} as entity_key, ${excluded} as excluded, ${triggered} as triggered, ${entered} as entered, ${capped} as capped, ${u} as u
      from (${membersRaw(c.audience, opts)}) as s ${joins.length ? sql.join(joins, sql` `) : sql``} where s.key is not null) as c`;
}

/** Counts of the audience by hold-back reason and variant (for previews). */
export function compileCandidateCounts(c: IrCampaign, o: CandidateOptions): CompiledSql {
  return compileRaw(sql`select excluded, triggered, entered, capped, variant, count(*) as count from (${candidatesRaw(c, o)}) as cand group by 1, 2, 3, 4, 5`);
}

/**
 * The keys the campaign history holds back at T, read from Tally's own tables only (one row:
 * `entered text[]`, `capped text[]` or null): the first statement of a preview or a run, whose
 * result the candidate query takes as parameters.
 */
export function compileHeldKeys(c: IrCampaign, stateSchema: string, asOf: Date): CompiledSql {
  const h = heldSets(c, stateSchema, asOf);
  const entered = sql`(select coalesce(array_agg(k.entity_key), '{}'::text[]) from (${h.entered}) as k)`;
  const capped = h.capped ? sql`(select coalesce(array_agg(k.entity_key), '{}'::text[]) from (${h.capped}) as k)` : sql`null::text[]`;
  return compileRaw(sql`select ${entered} as entered, ${capped} as capped`);
}

/**
 * The two sets the history holds back, as queries over Tally's tables (one `entity_key` per row,
 * each once): the entry rule's and the cap's (null without a cap).
 */
function heldSets(c: IrCampaign, stateSchema: string, asOf: Date): { entered: Sql; capped: Sql | null } {
  const en = sql.id(stateSchema, 'campaign_enrollments');
  const T = ts(asOf);
  const since = c.entry.kind === 'every' ? sql` and en.enrolled_at > ${ts(new Date(asOf.getTime() - c.entry.every.ms))}` : sql``;
  const entered = sql`select distinct en.entity_key from ${en} as en where en.campaign = ${sql.val(c.name)}::text and en.enrolled_at < ${T}${since}`;
  if (!c.frequencyCap) return { entered, capped: null };
  const from = ts(new Date(asOf.getTime() - c.frequencyCap.per.ms));
  const capped = sql`select en.entity_key from ${en} as en where en.channel = ${sql.val(c.channel)}::text and not en.holdout and en.enrolled_at > ${from} and en.enrolled_at <= ${T}
                   group by en.entity_key having count(*) >= ${sql.val(c.frequencyCap.max)}::int`;
  return { entered, capped };
}

/** The temporary table a run evaluates its candidates into (dropped at the end of each campaign's run). */
export const CANDIDATES_TABLE = 'tally_candidates';

/**
 * A run's first statement over the user's tables: the candidates (without the history's hold-backs:
 * `o.held` is ignored, entered and capped are false here) into a temporary table. It reads the
 * user's tables only, so on a distributed layout the audience is evaluated on the workers.
 */
export function compileCandidatesTable(c: IrCampaign, o: CandidateOptions): CompiledSql {
  return compileRaw(sql`create temporary table ${sql.id(CANDIDATES_TABLE)} on commit drop as ${candidatesRaw(c, { ...o, held: null })}`);
}

export interface EnrollOptions {
  readonly asOf: Date;
  readonly stateSchema: string;
  readonly runId: number;
  readonly version: number;
  /** The deployed campaign's fingerprint, recorded with each enrollment. */
  readonly fingerprint: string;
}

/**
 * A run's second statement: the history's hold-backs joined to the temporary table (both local:
 * Tally's tables and the temporary table only), the enrollments (the candidates held back by
 * nothing) inserted, and the same counts as compileCandidateCounts returned, from one evaluation.
 */
export function compileEnroll(c: IrCampaign, o: EnrollOptions): CompiledSql {
  const en = sql.id(o.stateSchema, 'campaign_enrollments');
  const names = c.variants.map((v) => v.name);
  const holdouts = c.variants.map((v) => v.holdout);
  const h = heldSets(c, o.stateSchema, o.asOf);
  const capJoin = h.capped ? sql` left join (${h.capped}) as cap on cap.entity_key = t.entity_key` : sql``;
  const capped = h.capped ? sql`cap.entity_key is not null` : sql`false`;
  const cand = sql`select t.entity_key, t.excluded, t.triggered, ent.entity_key is not null as entered, ${capped} as capped, t.variant
      from ${sql.id(CANDIDATES_TABLE)} as t left join (${h.entered}) as ent on ent.entity_key = t.entity_key${capJoin}`;
  return compileRaw(sql`with ${dialect.materializedCte('cand', cand)},
    ins as (insert into ${en} (run_id, campaign, version, channel, entity_key, variant, holdout, enrolled_at, fingerprint)
      select ${sql.val(o.runId)}::bigint, ${sql.val(c.name)}::text, ${sql.val(o.version)}::int, ${sql.val(c.channel)}::text, cand.entity_key,
             (${sql.val(names)}::text[])[cand.variant + 1], (${sql.val(holdouts)}::boolean[])[cand.variant + 1], ${ts(o.asOf)}, ${sql.val(o.fingerprint)}::text
        from cand
       where not cand.excluded and cand.triggered and not cand.entered and not cand.capped and cand.variant is not null
      returning 1)
    select excluded, triggered, entered, capped, variant, count(*) as count from cand group by 1, 2, 3, 4, 5`);
}

/** Copies a run's non-holdout enrollments to the outbox. */
export function compileOutbox(stateSchema: string, runId: number): CompiledSql {
  const en = sql.id(stateSchema, 'campaign_enrollments');
  const ob = sql.id(stateSchema, 'campaign_outbox');
  return compileRaw(
    sql`insert into ${ob} (run_id, campaign, version, channel, variant, entity_key, enrolled_at)
        select run_id, campaign, version, channel, variant, entity_key, enrolled_at from ${en} where run_id = ${sql.val(runId)}::bigint and not holdout`,
  );
}

/**
 * A report's first statement, over Tally's own tables only: the campaign's enrollments up to T,
 * one row per (version, variant, holdout, fingerprint, enrolled_at) with the keys enrolled there
 * as an array (`keys text[]`, `enrolled_at` as ISO-8601 text with microseconds), and how many runs
 * of the campaign are recorded up to T (`runs`, on every row; one row with null group columns when
 * nobody is enrolled). A run enrolls everyone at its as-of, so the rows are few (groups x runs):
 * one hash aggregate, no sort, no window, one instant formatted per row rather than per
 * enrollment. enrollmentArrays turns the rows into the arrays compileConversions takes.
 */
export function compileEnrollments(c: IrCampaign, stateSchema: string, asOf: Date, o: { fingerprints?: boolean } = {}): CompiledSql {
  const en = sql.id(stateSchema, 'campaign_enrollments');
  const fp = o.fingerprints === false ? sql`null::text` : sql`fingerprint`;
  return compileRaw(sql`select r.runs, g.version, g.variant, g.holdout, g.fingerprint, to_char(g.enrolled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as enrolled_at, g.keys
      from (select count(*) as runs from ${sql.id(stateSchema, 'campaign_runs')} as r where r.campaign = ${sql.val(c.name)}::text and r.as_of <= ${ts(asOf)}) as r
      left join (select version, variant, holdout, ${fp} as fingerprint, enrolled_at, array_agg(entity_key) as keys
                   from ${en} where campaign = ${sql.val(c.name)}::text and enrolled_at <= ${ts(asOf)}
                  group by version, variant, holdout, ${fp}, enrolled_at) as g on true`);
}

/** A row of compileEnrollments. */
export interface EnrollmentRow {
  readonly runs: number | string;
  /** Null on the one row of a campaign nobody is enrolled in. */
  readonly version: number | null;
  readonly variant: string | null;
  readonly holdout: boolean | null;
  readonly fingerprint: string | null;
  readonly enrolled_at: string | null;
  readonly keys: readonly string[] | null;
}

/** The enrollments compileEnrollments read, as the arrays compileConversions takes. */
export interface EnrollmentArrays {
  readonly keys: readonly string[];
  /** ISO-8601 instants (microseconds kept). */
  readonly times: readonly string[];
  /** Each enrollment's index into `groups`. */
  readonly gids: readonly number[];
  /** The earliest of `times` (null when there are none): the goal events are read after it. */
  readonly since: string | null;
}

/** A group of enrollments that share version, variant, holdout flag and fingerprint. */
export interface EnrollmentGroup {
  readonly version: number;
  readonly variant: string;
  readonly holdout: boolean;
  readonly fingerprint: string | null;
}

/** compileEnrollments' rows as parallel arrays (position i is one enrollment) and the groups `gids` index. */
export function enrollmentArrays(rows: readonly EnrollmentRow[]): { n: number; runs: number; arrays: EnrollmentArrays; groups: EnrollmentGroup[] } {
  const keys: string[] = [];
  const times: string[] = [];
  const gids: number[] = [];
  const groups: EnrollmentGroup[] = [];
  const index = new Map<string, number>();
  let since: string | null = null;
  for (const r of rows) {
    if (r.keys === null || r.enrolled_at === null || r.variant === null) continue;
    // Fixed-width ISO-8601 text in UTC (compileEnrollments' to_char): the text order is the time order.
    if (since === null || r.enrolled_at < since) since = r.enrolled_at;
    const g: EnrollmentGroup = { version: Number(r.version), variant: r.variant, holdout: Boolean(r.holdout), fingerprint: r.fingerprint ?? null };
    const id = JSON.stringify([g.version, g.variant, g.holdout, g.fingerprint]);
    let gid = index.get(id);
    if (gid === undefined) {
      gid = groups.push(g) - 1;
      index.set(id, gid);
    }
    for (const k of r.keys) {
      keys.push(k);
      times.push(r.enrolled_at);
      gids.push(gid);
    }
  }
  return { n: keys.length, runs: Number(rows[0]?.runs ?? 0), arrays: { keys, times, gids, since }, groups };
}

/**
 * Per (version, variant): enrollments up to T, how many converted (a goal event with time in
 * (enrolled_at, enrolled_at + within], and <= T), how many windows are still open at T, and the
 * fingerprints the enrollments were recorded with.
 *
 * The enrollments arrive as array parameters (compileEnrollments), so this statement reads the
 * user's tables only (ARCHITECTURE.md "Portability rules").
 *
 * Set-based (issue 11), without a join the planner could turn into a loop: the enrollments and the
 * goal events (read once, from the earliest enrollment on) form one timeline per key, sorted by
 * time with a goal before an enrollment at the same instant; each enrollment's next goal is the
 * minimum goal time among the rows after it (a window), and it converted when that is within its
 * window. One sort (keys compared bytewise: `collate "C"`, only equality matters), whatever the statistics say (a correlated EXISTS per enrollment was quadratic:
 * 19.5 s at 4,709 enrollments over 151k events; a semi-join on the key turned into a nested loop
 * on fresh tables without statistics).
 */
export function compileConversions(c: IrCampaign, asOf: Date, e: EnrollmentArrays): CompiledSql {
  const opts: SqlOptions = { asOf: { kind: 'instant', at: asOf }, literals: 'param' };
  const T = ts(asOf);
  const enr = sql`select * from unnest(${sql.val(e.keys)}::text[], ${sql.val(e.times)}::timestamptz[], ${sql.val(e.gids)}::int[]) as en(entity_key, enrolled_at, gid)`;
  if (!c.goal) {
    return compileRaw(sql`select gid, count(*) as enrolled, null::bigint as converted, 0::bigint as open from (${enr}) as en group by gid`);
  }
  const f = c.goal.filter;
  const within = dialect.interval(c.goal.within);
  const key = sql.id('ev', f.stream.entityKey);
  const time = sql.id('ev', f.stream.time);
  const goals = sql`select ${key}::text as k, ${time} as t from ${streamRaw(f.stream, opts)} as ev
     where ${eventFilterRaw(f, opts, 'ev')}${e.since === null ? sql`` : sql` and ${time} > ${dialect.timestamp(sql.val(e.since))}`} and ${key} is not null`;
  // The earliest enrollment comes as a parameter (not a min over the unnested arrays): the
  // enrollments are not materialized, and the planner sees the goal scan's bound.
  return compileRaw(sql`with enr as (${enr}),
    timeline as (
      select entity_key as k, enrolled_at as t, 1 as ord, gid from enr
      union all
      select k, t, 0 as ord, null::int from (${goals}) as g),
    nx as (
      select t, ord, gid,
             min(t) filter (where ord = 0) over (partition by k collate "C" order by t, ord rows between 1 following and unbounded following) as next_goal
        from timeline)
    select gid, count(*) as enrolled,
           count(*) filter (where next_goal <= t + ${within}) as converted,
           count(*) filter (where t + ${within} > ${T}) as open
      from nx where ord = 1 group by gid`);
}

/** Members of the audience segment at T minus the members of its exclusions: `select count(*) as n` (one LEFT JOIN per exclusion, on the key). */
export function compileAudienceCount(c: IrCampaign, asOf: Date): CompiledSql {
  const opts: SqlOptions = { asOf: { kind: 'instant', at: asOf }, literals: 'param' };
  const joins = c.exclude.map((q, i) => sql` left join (${membersRaw(q, opts)}) as ${sql.id(`xs${i}`)} on ${sql.id(`xs${i}`, 'key')} = s.key`);
  // A null key is in no exclusion: it is left out once there are exclusions, as a campaign's candidates leave it out.
  const kept = [sql`s.key is not null`, ...c.exclude.map((_, i) => sql`${sql.id(`xs${i}`, 'key')} is null`)];
  if (!joins.length) return compileRaw(sql`select count(*) as n from (${membersRaw(c.audience, opts)}) as s`);
  return compileRaw(sql`select count(*) as n from (${membersRaw(c.audience, opts)}) as s${sql.join(joins, sql``)} where ${sql.join(kept, sql` and `)}`);
}
