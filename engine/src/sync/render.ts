// `tally sync`'s and `tally history --sync`'s text. Nothing here prints a secret: results carry
// none (only the names of environment variables), and receivers' answers arrive already
// truncated and escaped (webhook.ts recordable).

import { table } from '../text-table.js';
import type { SyncHistory } from './history.js';
import type { SyncResult } from './run.js';

export function syncText(r: SyncResult): string {
  if (!r.syncs.length) return 'tally sync: the project has no syncs (kind: Sync); nothing to deliver';
  const lines: string[] = [`tally sync as of ${r.as_of}${r.refused ? ' (refused: nothing computed, nothing sent)' : ''}`, ''];
  lines.push(
    table(
      ['sync', 'destination', 'mode', 'status', '+entered', '−exited', '~changed', 'sent', 'delivered', 'dead', 'pending', 'run'],
      r.syncs.map((s) => [s.sync, `${s.destination} (${s.destination_kind})`, s.mode, s.status, s.entered, s.exited, s.changed, s.changes, s.delivered, s.dead, s.pending, s.run_id ?? '']),
    ),
  );
  for (const s of r.syncs) {
    if (s.error) lines.push('', `${s.sync}: ${s.error}`);
    for (const f of s.failures) lines.push(`${s.sync}: ${f}`);
    if (s.preview?.length) {
      lines.push('', `${s.sync}: would send ${s.changes} change(s)${s.changes > s.preview.length ? ` (first ${s.preview.length})` : ''}:`);
      for (const p of s.preview) lines.push(`  ${p.op.padEnd(6)} ${p.key}${p.changed?.length ? ` (${p.changed.join(', ')})` : ''}`);
    }
  }
  return lines.join('\n');
}

export function syncHistoryText(h: SyncHistory, schema: string): string {
  if (!h.runs.length) return `no recorded runs of sync '${h.sync}' in ${schema} (tally sync records them)`;
  const out: string[] = [`sync '${h.sync}': ${h.runs.length} run(s), newest first`, ''];
  out.push(
    table(
      ['run', 'at', 'as of', 'v', 'destination', '+entered', '−exited', '~changed', 'sent', 'delivered', 'dead', 'end'],
      h.runs.map((r) => [r.run_id, r.at, r.as_of, r.version, r.destination, r.entered, r.exited, r.changed, r.changes, r.delivered, r.dead, r.status ?? 'unfinished (resumed by a later run)']),
    ),
  );
  const errors = h.runs.filter((r) => r.error);
  if (errors.length) out.push('', 'errors:', ...errors.map((r) => `  run ${r.run_id}: ${r.error}`));
  if (h.failures.length) {
    out.push('', 'failed attempts:');
    out.push(table(['run', 'batch', 'try', 'at', 'status', 'outcome', 'error', 'answer'], h.failures.map((f) => [f.run_id, f.batch, f.attempt, f.at, f.status ?? '', f.outcome, f.error ?? '', f.response ?? ''])));
  }
  if (h.dead_letters.length) {
    out.push('', 'dead letters (tried again by the next run):');
    out.push(table(['run', 'batch', 'key', 'op', 'idempotency key', 'reason'], h.dead_letters.map((d) => [d.run_id, d.batch, d.key, d.op, d.idempotency_key, d.reason])));
  }
  return out.join('\n');
}
