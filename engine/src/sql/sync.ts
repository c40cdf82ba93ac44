// A sync's diff as one statement (sync/diff.ts runs it; `tally sync` delivers it, `tally plan`
// counts it): the current state (the source's members at T, each with its fields as one jsonb
// object, computed in one grouped pass over the events: valuesRowRaw) full-joined with the last
// delivered state (per key, the latest acknowledged change: sync_changes joined with sync_acks).
//
//   enter    a member at T that is absent from the delivered state (never delivered, or exited)
//   exit     present in the delivered state, not a member at T
//   change   in both, with fields that differ (jsonb equality: key order and number spelling do
//            not matter)
//
// Timestamps are sent as UTC ISO text, so the delivered values do not depend on the session's
// time zone.

import { sql, type RawBuilder } from 'kysely';
import type { IrSync, IrTime } from '../ir/ir.js';
import { membersRaw, timeRaw, valuesRowRaw, type CompiledQuery, type SqlOptions } from './compile.js';
import { compileRaw } from './kysely.js';
import { postgres } from './dialect.js';

export interface SyncSqlOptions extends SqlOptions {
  /** The deploy schema holding Tally's state (sync_changes, sync_acks, campaign_enrollments). */
  readonly stateSchema: string;
  /** Whether the sync tables exist (a plan before the first sync reads an empty delivered state). */
  readonly hasState: boolean;
  /** Whether campaign_enrollments exists (a campaign source before any run has no members). */
  readonly hasEnrollments: boolean;
}

const T: IrTime = { k: 'asof', minusMs: 0 };

function stateTable(o: SyncSqlOptions, name: string): RawBuilder<unknown> {
  return sql.raw(`${postgres.quoteIdent(o.stateSchema)}.${postgres.quoteIdent(name)}`);
}

/** The members at T, as a subquery selecting `key` (text for a campaign source). */
function sourceRaw(s: IrSync, o: SyncSqlOptions): RawBuilder<unknown> {
  if (s.source.k === 'segment') return membersRaw(s.source.members, o);
  if (!o.hasEnrollments) return sql`select null::text as key where false`;
  return sql`select distinct ce.entity_key as key from ${stateTable(o, 'campaign_enrollments')} as ce where ce.campaign = ${s.source.campaign} and ce.variant = ${s.source.variant} and ce.enrolled_at <= ${timeRaw(T, o)}`;
}

/** The current state: `key` (text) and `fields` (jsonb) of every member at T. */
export function currentStateRaw(s: IrSync, o: SyncSqlOptions): RawBuilder<unknown> {
  const src = sourceRaw(s, o);
  if (!s.fields.length) return sql`select m.key::text as key, '{}'::jsonb as fields from (${src}) as m`;
  const pairs = s.fields.map((f, i) => {
    const v = sql.ref(`f.v${i}`);
    const value = f.type === 'timestamp' ? sql`to_char(${v} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')` : v;
    return sql`${sql.lit(f.name)}::text, ${value}`;
  });
  const values = valuesRowRaw(s.entity, s.fields.map((f) => f.value), o);
  // Same-typed keys for a segment (a hash join on the entity key); enrollments store keys as text.
  const on = s.source.k === 'segment' ? sql`f.key = m.key` : sql`f.key::text = m.key`;
  return sql`select m.key::text as key, jsonb_build_object(${sql.join(pairs)}) as fields from (${src}) as m join (${values}) as f on ${on}`;
}

/** The delivered state: per key, the latest acknowledged change (op, fields, idempotency key). */
function deliveredRaw(s: IrSync, o: SyncSqlOptions): RawBuilder<unknown> {
  if (!o.hasState) return sql`select null::text as key, null::text as op, null::jsonb as fields, null::text as idempotency_key where false`;
  return sql`select distinct on (c.key) c.key, c.op, c.fields, c.idempotency_key from ${stateTable(o, 'sync_changes')} as c join ${stateTable(o, 'sync_acks')} as a on a.change_id = c.id where c.sync = ${s.name} order by c.key, a.id desc`;
}

/** The diff rows: `key, op (enter|exit|change), fields (the state it moves to), before, prev_key`, by key. */
export function syncDiffRaw(s: IrSync, o: SyncSqlOptions): RawBuilder<unknown> {
  return sql`with cur as (${currentStateRaw(s, o)}), last as (${deliveredRaw(s, o)})
select coalesce(cur.key, l.key) as key,
  case when cur.key is null then 'exit' when l.key is null or l.op = 'exit' then 'enter' else 'change' end as op,
  cur.fields as fields,
  case when l.op <> 'exit' then l.fields end as before,
  l.idempotency_key as prev_key
from cur full join last as l on l.key = cur.key
where (cur.key is null and l.op <> 'exit') or (cur.key is not null and (l.key is null or l.op = 'exit' or cur.fields <> l.fields))`;
}

export function compileSyncDiff(s: IrSync, o: SyncSqlOptions): CompiledQuery {
  return compileRaw(sql`${syncDiffRaw(s, o)} order by 1, 2`);
}

/** Counts per op of the same diff (tally plan's impact). */
export function compileSyncDiffCounts(s: IrSync, o: SyncSqlOptions): CompiledQuery {
  return compileRaw(sql`select d.op, count(*) as n from (${syncDiffRaw(s, o)}) as d group by d.op`);
}
