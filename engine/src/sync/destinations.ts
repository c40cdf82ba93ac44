// The folder and PostgreSQL-table destinations: each run's changes delivered in one step, then
// acknowledged (deliver.ts's invariant).
//
//   folder    one file per run, `<sync>-<run>.csv|jsonl`, written to a temporary name and renamed
//             into place, so a reader never sees half a file; acknowledged after the rename
//   postgres  one transaction on the destination database: entered and changed keys upserted
//             (key, fields jsonb, idempotency_key, synced_at), exited keys deleted; acknowledged
//             after the commit. A crash between commit and acknowledgement re-sends the same
//             changes next run, which upserts and deletes to the same result.

import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { connect, DbError } from '../db/db.js';
import type { IrDestination } from '../ir/ir.js';
import { postgres } from '../sql/dialect.js';
import { acknowledge, wireChange, type DeliveryContext, type DeliveryReport, type RecordedChange } from './deliver.js';

function csvCell(v: unknown): string {
  const t = v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t;
}

/** The file's text: JSON Lines (one wire change per line) or CSV (idempotency_key, op, key, changed, then each field). */
export function folderText(changes: readonly RecordedChange[], format: 'csv' | 'jsonl', fieldNames: readonly string[]): string {
  if (format === 'jsonl') return changes.map((c) => `${JSON.stringify(wireChange(c))}\n`).join('');
  const head = ['idempotency_key', 'op', 'key', 'changed', ...fieldNames].map(csvCell).join(',');
  const lines = changes.map((c) => [c.idempotencyKey, c.op, c.key, (c.changed ?? []).join(' '), ...fieldNames.map((f) => c.fields?.[f])].map(csvCell).join(','));
  return `${[head, ...lines].join('\n')}\n`;
}

export async function deliverFolder(ctx: DeliveryContext, dest: Extract<IrDestination, { k: 'folder' }>, projectRoot: string, changes: readonly RecordedChange[], fieldNames: readonly string[]): Promise<DeliveryReport & { file: string }> {
  const started = Date.now();
  const dir = resolvePath(projectRoot, dest.path);
  const file = join(dir, `${ctx.sync}-${ctx.runId}.${dest.format}`);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = join(dir, `.${ctx.sync}-${ctx.runId}.${process.pid}.tmp`);
    writeFileSync(tmp, folderText(changes, dest.format, fieldNames));
    renameSync(tmp, file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'error';
    return { delivered: 0, dead: 0, pending: changes.length, error: `cannot write into the folder ${dest.path} (${code}); nothing was marked delivered`, batches: 1, failures: [], file };
  }
  await acknowledge(ctx, 1, 1, changes, { outcome: 'acknowledged', status: null, error: null, response: `wrote ${dest.path}/${ctx.sync}-${ctx.runId}.${dest.format}`, durationMs: Date.now() - started });
  return { delivered: changes.length, dead: 0, pending: 0, error: null, batches: 1, failures: [], file };
}

export async function deliverTable(ctx: DeliveryContext, dest: Extract<IrDestination, { k: 'postgres' }>, url: string, changes: readonly RecordedChange[]): Promise<DeliveryReport> {
  const started = Date.now();
  const table = `${dest.table.schema ? `${postgres.quoteIdent(dest.table.schema)}.` : ''}${postgres.quoteIdent(dest.table.name)}`;
  const upserts = changes.filter((c) => c.op !== 'exit');
  const exits = changes.filter((c) => c.op === 'exit');
  try {
    const target = await connect(url, { baseDir: process.cwd(), create: true });
    try {
      await target.transaction(async (tx) => {
        if (dest.table.schema) await tx.query(`create schema if not exists ${postgres.quoteIdent(dest.table.schema)}`);
        await tx.query(`create table if not exists ${table} (key text primary key, fields jsonb, idempotency_key text not null, synced_at timestamptz not null default now())`);
        if (upserts.length)
          await tx.query(
            `insert into ${table} (key, fields, idempotency_key, synced_at) select k, f, i, now() from unnest($1::text[], $2::jsonb[], $3::text[]) as t(k, f, i)
             on conflict (key) do update set fields = excluded.fields, idempotency_key = excluded.idempotency_key, synced_at = excluded.synced_at`,
            [upserts.map((c) => c.key), upserts.map((c) => JSON.stringify(c.fields ?? {})), upserts.map((c) => c.idempotencyKey)],
          );
        if (exits.length) await tx.query(`delete from ${table} where key = any($1::text[])`, [exits.map((c) => c.key)]);
      });
    } finally {
      await target.close();
    }
  } catch (e) {
    const why = e instanceof DbError ? e.message : 'the destination database refused the changes';
    return { delivered: 0, dead: 0, pending: changes.length, error: `the destination table ${dest.table.schema ? `${dest.table.schema}.` : ''}${dest.table.name} (database from $${dest.urlEnv}) could not be written: ${why}; nothing was marked delivered`, batches: 1, failures: [] };
  }
  await acknowledge(ctx, 1, 1, changes, { outcome: 'acknowledged', status: null, error: null, response: `upserted ${upserts.length}, deleted ${exits.length}`, durationMs: Date.now() - started });
  return { delivered: changes.length, dead: 0, pending: 0, error: null, batches: 1, failures: [] };
}
