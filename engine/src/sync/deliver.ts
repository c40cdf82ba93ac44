// Delivering a run's changes to its destination, batch by batch, with every attempt on the record.
//
// The invariant: a change is delivered exactly when a sync_acks row names it, and that row is
// written only after the destination acknowledged it (a webhook's 2xx; a folder's file renamed
// into place; a destination table's transaction committed), in its own committed transaction.
// So a crash or a kill at any point loses no acknowledged change and marks nothing that was not
// acknowledged; the next run recomputes the diff against the acknowledged state and sends what is
// left, with the same idempotency keys (diff.ts), so a receiver that de-duplicates on them sees
// every change once (at-least-once delivery).
//
// Webhooks: batches go one at a time, in key order; each is retried with exponential backoff
// (`backoff`, doubled per try; a 429's Retry-After when longer, at most a minute) up to
// `max_attempts`, then its changes become dead letters (the next run tries them again); a
// rejection (4xx other than 408/429) dead-letters the batch at once with the answer recorded; a
// receiver that cannot be reached ends the run with one error and leaves the rest pending.

import type { Db } from '../db/db.js';
import type { IrDestination } from '../ir/ir.js';
import { postgres } from '../sql/dialect.js';
import type { SyncChange } from './diff.js';
import { describeUrl, postJson, type AttemptResult } from './webhook.js';

/** A change as recorded for a run (its sync_changes id and its place in the run). */
export interface RecordedChange extends SyncChange {
  readonly id: number;
  readonly seq: number;
}

export interface DeliveryReport {
  readonly delivered: number;
  readonly dead: number;
  readonly pending: number;
  /** The one error that ended the run early (unreachable receiver), or null. */
  readonly error: string | null;
  readonly batches: number;
  /** Batches that were rejected or gave up, with why. */
  readonly failures: readonly string[];
}

export interface DeliveryContext {
  readonly db: Db;
  readonly schema: string;
  readonly runId: number;
  readonly sync: string;
  /** Waits between tries (tests pass a fast clock; default setTimeout). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const MAX_RETRY_AFTER_MS = 60_000;

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

function q(ctx: DeliveryContext, table: string): string {
  return `${postgres.quoteIdent(ctx.schema)}.${postgres.quoteIdent(table)}`;
}

/** The wire form of one change (the webhook body's `changes` items, a folder file's lines). */
export function wireChange(c: SyncChange): Record<string, unknown> {
  return { idempotency_key: c.idempotencyKey, op: c.op, key: c.key, fields: c.fields, ...(c.changed ? { changed: c.changed } : {}) };
}

async function recordAttempt(tx: Db, ctx: DeliveryContext, batch: number, attempt: number, changes: number, r: Pick<AttemptResult, 'outcome' | 'status' | 'error' | 'response' | 'durationMs'>): Promise<void> {
  await tx.query(`insert into ${q(ctx, 'sync_attempts')} (run_id, batch, attempt, changes, status, outcome, error, response, duration_ms) values ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [
    ctx.runId,
    batch,
    attempt,
    changes,
    r.status,
    r.outcome,
    r.error,
    r.response,
    r.durationMs,
  ]);
}

/** Marks a batch delivered: its acknowledging attempt and one sync_acks row per change, in one transaction. */
export async function acknowledge(ctx: DeliveryContext, batch: number, attempt: number, changes: readonly RecordedChange[], r: Pick<AttemptResult, 'outcome' | 'status' | 'error' | 'response' | 'durationMs'>): Promise<void> {
  await ctx.db.transaction(async (tx) => {
    await recordAttempt(tx, ctx, batch, attempt, changes.length, r);
    await tx.query(`insert into ${q(ctx, 'sync_acks')} (run_id, change_id, batch) select $1, id, $2 from unnest($3::bigint[]) as t(id)`, [ctx.runId, batch, changes.map((c) => c.id)]);
  });
}

async function deadLetter(ctx: DeliveryContext, batch: number, changes: readonly RecordedChange[], reason: string): Promise<void> {
  await ctx.db.query(`insert into ${q(ctx, 'sync_dead_letters')} (run_id, change_id, batch, reason) select $1, id, $2, $3 from unnest($4::bigint[]) as t(id)`, [ctx.runId, batch, reason, changes.map((c) => c.id)]);
}

/** Delivers to a webhook (see the header). Never throws for the receiver's behaviour. */
export async function deliverWebhook(ctx: DeliveryContext, dest: Extract<IrDestination, { k: 'webhook' }>, secret: string | null, changes: readonly RecordedChange[]): Promise<DeliveryReport> {
  const sleep = ctx.sleep ?? defaultSleep;
  const minGap = dest.rateLimit ? 1000 / dest.rateLimit : 0;
  let lastStart = 0;
  let delivered = 0;
  let dead = 0;
  const failures: string[] = [];
  const batches = Math.ceil(changes.length / dest.batchSize);
  for (let b = 0; b < batches; b++) {
    const batch = changes.slice(b * dest.batchSize, (b + 1) * dest.batchSize);
    const number = b + 1;
    const body = JSON.stringify({ sync: ctx.sync, run: ctx.runId, batch: number, changes: batch.map(wireChange) });
    for (let attempt = 1; ; attempt++) {
      if (minGap) {
        const wait = lastStart + minGap - Date.now();
        if (wait > 0) await sleep(wait);
      }
      lastStart = Date.now();
      const r = await postJson({ url: dest.url, headers: dest.headers, secret, timeoutMs: dest.timeoutMs }, body);
      if (r.outcome === 'acknowledged') {
        await acknowledge(ctx, number, attempt, batch, r);
        delivered += batch.length;
        break;
      }
      await recordAttempt(ctx.db, ctx, number, attempt, batch.length, r);
      if (r.outcome === 'rejected') {
        const why = `rejected by the receiver (${r.status})${r.response ? `: ${r.response}` : ''}`;
        await deadLetter(ctx, number, batch, why);
        dead += batch.length;
        failures.push(`batch ${number}: ${why}`);
        break;
      }
      if (attempt >= dest.maxAttempts) {
        if (r.outcome === 'unreachable') {
          const pending = changes.length - delivered - dead;
          return { delivered, dead, pending, error: `the receiver ${describeUrl(dest.url)} cannot be reached (${r.error ?? 'unreachable'}) after ${attempt} tries; nothing more was sent: ${pending} change(s) stay pending for the next run`, batches, failures };
        }
        const why = `gave up after ${attempt} tries: ${r.error ?? 'no acknowledgement'}`;
        await deadLetter(ctx, number, batch, why);
        dead += batch.length;
        failures.push(`batch ${number}: ${why}`);
        break;
      }
      let wait = dest.backoffMs * 2 ** (attempt - 1);
      if (r.retryAfterMs !== null) wait = Math.max(wait, Math.min(r.retryAfterMs, MAX_RETRY_AFTER_MS));
      await sleep(wait);
    }
  }
  return { delivered, dead, pending: changes.length - delivered - dead, error: null, batches, failures };
}
