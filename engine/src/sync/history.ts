// `tally history --sync NAME`: the sync's runs (newest first) with what each computed, delivered
// and gave up on, its failed attempts (status, error, the receiver's answer as recorded) and its
// dead letters. Reads only; an absent history is an empty one.

import type { Db } from '../db/db.js';
import { postgres } from '../sql/dialect.js';
import { hasSyncState } from '../state/ddl.js';

export interface SyncHistoryRun {
  run_id: number;
  at: string;
  as_of: string;
  version: number;
  destination: string;
  mode: string;
  who: string | null;
  entered: number;
  exited: number;
  changed: number;
  changes: number;
  delivered: number;
  dead: number;
  /** The recorded end (null: the run never finished: killed or crashed; its undelivered changes are sent by a later run). */
  status: string | null;
  error: string | null;
}

export interface SyncHistoryFailure {
  run_id: number;
  batch: number;
  attempt: number;
  at: string;
  status: number | null;
  outcome: string;
  error: string | null;
  response: string | null;
}

export interface SyncDeadLetter {
  run_id: number;
  batch: number;
  key: string;
  op: string;
  idempotency_key: string;
  reason: string;
  at: string;
}

export interface SyncHistory {
  sync: string;
  runs: SyncHistoryRun[];
  failures: SyncHistoryFailure[];
  dead_letters: SyncDeadLetter[];
}

const LIMIT = 200;

export async function readSyncHistory(db: Db, schema: string, sync: string): Promise<SyncHistory> {
  if (!(await hasSyncState(db, schema))) return { sync, runs: [], failures: [], dead_letters: [] };
  const s = postgres.quoteIdent(schema);
  const runs = await db.query<SyncHistoryRun>(
    `select r.id as run_id, r.at, r.as_of, r.version, r.destination, r.mode, r.who, r.entered, r.exited, r.changed,
       (select count(*) from ${s}.sync_changes c where c.run_id = r.id) as changes,
       (select count(*) from ${s}.sync_acks a where a.run_id = r.id) as delivered,
       (select count(*) from ${s}.sync_dead_letters d where d.run_id = r.id) as dead,
       e.status, e.error
     from ${s}.sync_runs r
     left join lateral (select status, error from ${s}.sync_run_ends e where e.run_id = r.id order by e.at desc limit 1) e on true
     where r.sync = $1 order by r.id desc limit ${LIMIT}`,
    [sync],
  );
  const failures = await db.query<SyncHistoryFailure>(
    `select t.run_id, t.batch, t.attempt, t.at, t.status, t.outcome, t.error, t.response from ${s}.sync_attempts t join ${s}.sync_runs r on r.id = t.run_id
     where r.sync = $1 and t.outcome <> 'acknowledged' order by t.id desc limit ${LIMIT}`,
    [sync],
  );
  const dead = await db.query<SyncDeadLetter>(
    `select d.run_id, d.batch, c.key, c.op, c.idempotency_key, d.reason, d.at from ${s}.sync_dead_letters d join ${s}.sync_changes c on c.id = d.change_id
     where c.sync = $1 order by d.id desc limit ${LIMIT}`,
    [sync],
  );
  const num = <T extends object>(rows: T[], keys: (keyof T)[]) => rows.map((r) => ({ ...r, ...Object.fromEntries(keys.map((k) => [k, r[k] === null ? null : Number(r[k])])) }) as T);
  return {
    sync,
    runs: num(runs.rows, ['run_id', 'version', 'entered', 'exited', 'changed', 'changes', 'delivered', 'dead']),
    failures: num(failures.rows, ['run_id', 'batch', 'attempt', 'status']),
    dead_letters: num(dead.rows, ['run_id', 'batch']),
  };
}
