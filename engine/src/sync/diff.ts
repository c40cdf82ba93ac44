// The diff of a sync: who entered, exited or changed since the last delivered state (sql/sync.ts,
// one statement), each change with the field names that changed and its idempotency key. The same
// function serves `tally sync` (which records and delivers the changes) and `tally plan` (which
// counts them), so the plan a reviewer approves is what is delivered.
//
// Idempotency key: sha256 over the sync name, the entity key, the change (enter, exit, change),
// the state it moves to (the fields, canonical JSON; none for an exit) and the previous delivered
// change's key. The chain makes a re-entry with the same fields a new key (its previous key is the
// exit's), while the same pending change computed again (a run resumed after a crash) gets the
// same key: a receiver de-duplicates on it.

import { createHash } from 'node:crypto';
import type { IrSync } from '../ir/ir.js';
import type { Db } from '../db/db.js';
import { compileSyncDiff, compileSyncDiffCounts, type SyncSqlOptions } from '../sql/sync.js';
import { postgres } from '../sql/dialect.js';
import { hasCampaignState, hasSyncState } from '../state/ddl.js';
import type { SyncPreview } from '../protocol.js';

export type SyncOp = 'enter' | 'exit' | 'change';

export interface SyncChange {
  readonly key: string;
  readonly op: SyncOp;
  /** The state it moves to (null for an exit). */
  readonly fields: Record<string, unknown> | null;
  /** For a change: the names of the fields whose value differs from the delivered one. */
  readonly changed: readonly string[] | null;
  readonly idempotencyKey: string;
  /** The key of the delivered change this one follows (null: never delivered before). */
  readonly prevKey: string | null;
}

export interface SyncDiff {
  /** The changes the sync's mode delivers, by key. */
  readonly changes: readonly SyncChange[];
  /** Every difference, whether or not the mode delivers it. */
  readonly entered: number;
  readonly exited: number;
  readonly changed: number;
}

/** Which differences a mode delivers: mirror all, upsert no exits, add_only entries only. */
export function modeDelivers(mode: IrSync['mode'], op: SyncOp): boolean {
  if (mode === 'mirror') return true;
  if (mode === 'upsert') return op !== 'exit';
  return op === 'enter';
}

/** JSON with object keys sorted (the canonical form hashed into idempotency keys). */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v ?? null);
}

export function idempotencyKey(sync: string, key: string, op: SyncOp, fields: Record<string, unknown> | null, prevKey: string | null): string {
  return createHash('sha256')
    .update(canonicalJson([sync, key, op, op === 'exit' ? null : fields, prevKey]))
    .digest('hex')
    .slice(0, 40);
}

function asObject(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string') return JSON.parse(v) as Record<string, unknown>;
  return v as Record<string, unknown>;
}

/** The names of the fields whose values differ (a field absent on one side counts as changed). */
export function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown> | null): string[] {
  const names = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  return [...names].filter((n) => canonicalJson(before?.[n]) !== canonicalJson(after?.[n])).sort();
}

/** Runs the diff for `sync` as of T (inside the caller's transaction). */
export async function syncDiff(tx: Db, sync: IrSync, opts: SyncSqlOptions): Promise<SyncDiff> {
  const q = compileSyncDiff(sync, opts);
  const rows = (await tx.query<{ key: string; op: SyncOp; fields: unknown; before: unknown; prev_key: string | null }>(q.sql, q.parameters)).rows;
  const changes: SyncChange[] = [];
  let entered = 0;
  let exited = 0;
  let changed = 0;
  for (const r of rows) {
    if (r.op === 'enter') entered++;
    else if (r.op === 'exit') exited++;
    else changed++;
    if (!modeDelivers(sync.mode, r.op)) continue;
    const fields = r.op === 'exit' ? null : asObject(r.fields);
    changes.push({
      key: String(r.key),
      op: r.op,
      fields,
      changed: r.op === 'change' ? changedFields(asObject(r.before), fields) : null,
      idempotencyKey: idempotencyKey(sync.name, String(r.key), r.op, fields, r.prev_key),
      prevKey: r.prev_key,
    });
  }
  return { changes, entered, exited, changed };
}

/** Only the counts of the same diff (tally plan): entered, exited, changed, and what the mode delivers. */
export async function syncDiffCounts(tx: Db, sync: IrSync, opts: SyncSqlOptions): Promise<{ entered: number; exited: number; changed: number; delivered: number }> {
  const q = compileSyncDiffCounts(sync, opts);
  const rows = (await tx.query<{ op: SyncOp; n: number }>(q.sql, q.parameters)).rows;
  const n = (op: SyncOp) => Number(rows.find((r) => r.op === op)?.n ?? 0);
  const delivered = (['enter', 'exit', 'change'] as const).filter((op) => modeDelivers(sync.mode, op)).reduce((a, op) => a + n(op), 0);
  return { entered: n('enter'), exited: n('exit'), changed: n('change'), delivered };
}

/** `tally preview sync NAME` and the editor's lens: the counts of the diff, read-only. */
export async function previewSync(db: Db, sync: IrSync, opts: { schema: string; asOf: Date; timeoutMs?: number }): Promise<SyncPreview> {
  return db.transaction(
    async (tx) => {
      const hasState = await hasSyncState(tx, opts.schema);
      const hasEnrollments = await hasCampaignState(tx, opts.schema);
      const c = await syncDiffCounts(tx, sync, { asOf: { kind: 'instant', at: opts.asOf }, literals: 'param', stateSchema: opts.schema, hasState, hasEnrollments });
      let before = false;
      if (hasState) before = (await tx.query(`select 1 from ${postgres.quoteIdent(opts.schema)}.sync_runs where sync = $1 limit 1`, [sync.name])).rows.length > 0;
      return { kind: 'sync', name: sync.name, destination: `${sync.destination.name} (${sync.destination.k})`, mode: sync.mode, entering: c.entered, leaving: c.exited, changing: c.changed, sends: c.delivered, delivered_before: before, as_of: opts.asOf.toISOString() };
    },
    { readOnly: true, timeoutMs: opts.timeoutMs ?? 5000 },
  );
}
