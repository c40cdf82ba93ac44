// `tally sync`: for each sync (name order), the diff of the *deployed* definitions as of T against
// the last delivered state, recorded (sync_runs + sync_changes, one transaction under the sync
// lock), then delivered (deliver.ts, destinations.ts), then the run's end recorded. A sync
// delivers what is deployed, as a campaign run enrolls what is deployed: the same check
// (campaign/deployed.ts checkDeployed) refuses the whole command when a sync or anything it
// depends on differs from what is deployed, and so does an unset secret variable (`secret-unset`,
// an error here). A dry run computes and reports, and writes nothing.

import type { Analysis } from '../project.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Db } from '../db/db.js';
import type { IrSync } from '../ir/ir.js';
import type { DestinationDef } from '../model/types.js';
import type { Catalog } from '../resolve/catalog.js';
import { checkDeployed } from '../campaign/deployed.js';
import { toDiagnostic } from '../project.js';
import { postgres } from '../sql/dialect.js';
import { ensureSyncState, hasCampaignState, hasSyncState } from '../state/ddl.js';
import { syncLockKey } from '../state/locks.js';
import { syncDiff, type SyncChange } from './diff.js';
import { deliverWebhook, type DeliveryReport, type RecordedChange } from './deliver.js';
import { deliverFolder, deliverTable } from './destinations.js';

export type SyncStatus = 'delivered' | 'up-to-date' | 'partial' | 'failed' | 'refused' | 'dry-run';

export interface SyncRunResult {
  sync: string;
  version: number;
  destination: string;
  destination_kind: 'webhook' | 'folder' | 'postgres';
  mode: IrSync['mode'];
  status: SyncStatus;
  run_id: number | null;
  /** Every difference since the last delivered state (whether or not the mode delivers it). */
  entered: number;
  exited: number;
  changed: number;
  /** The changes the mode delivers (recorded for the run). */
  changes: number;
  delivered: number;
  dead: number;
  pending: number;
  batches: number;
  failures: string[];
  error: string | null;
  /** A dry run's first changes (key, op, changed field names; never field values). */
  preview?: { key: string; op: string; changed: readonly string[] | null }[];
}

export interface SyncResult {
  as_of: string;
  refused: boolean;
  diagnostics: Diagnostic[];
  syncs: SyncRunResult[];
}

export interface SyncOptions {
  readonly asOf: Date;
  /** Only this sync; default every sync (in name order). */
  readonly sync?: string;
  readonly dryRun?: boolean;
  readonly who?: string | null;
  readonly catalog?: Catalog;
  /** Where secrets and destination URLs are read from (the process environment in the CLI). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Waits between delivery tries (tests). */
  readonly sleep?: (ms: number) => Promise<void>;
}

const PREVIEW = 20;

/** The environment variable a destination needs, and where the working copy names it. */
function neededEnv(def: DestinationDef): { name: string; span: readonly [number, number] } | undefined {
  const t = def.target;
  if (t?.k === 'webhook' && t.webhook.secretEnv) return { name: t.webhook.secretEnv.name, span: t.webhook.secretEnv.span };
  if (t?.k === 'postgres') return { name: t.urlEnv.name, span: t.urlEnv.span };
  return undefined;
}

export async function runSync(db: Db, analysis: Analysis, opts: SyncOptions): Promise<SyncResult> {
  const names = opts.sync ? [opts.sync] : analysis.ofKind('Sync').map((i) => i.def.name).sort();
  const schema = analysis.project.config.deploySchema;
  const s = postgres.quoteIdent(schema);
  const asOfIso = opts.asOf.toISOString();
  const sqlBase = { asOf: { kind: 'instant' as const, at: opts.asOf }, literals: 'param' as const, stateSchema: schema };

  // 1. Check, diff and record, in one transaction under the sync lock.
  const planned = await db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${syncLockKey(schema)}::bigint)`);
    if (!opts.dryRun) await ensureSyncState(tx, schema);
    const hasState = opts.dryRun ? await hasSyncState(tx, schema) : true;
    const hasEnrollments = await hasCampaignState(tx, schema);
    const check = await checkDeployed(tx, analysis, 'Sync', names, {
      schema,
      catalog: opts.catalog,
      now: opts.asOf,
      usable: (info) => !!info.resolved.sync,
      fix: 'a sync delivers what is deployed: deploy it first (`tally plan`, then `tally deploy`)',
      verb: (kind) => (kind === 'Segment' || kind === 'Campaign' ? 'reads its audience from it' : kind === 'Destination' ? 'delivers to it' : 'depends on it'),
    });
    const diagnostics = [...check.diagnostics];
    // Secrets: an unset variable refuses (the editor only warns), at the working copy's destination.
    for (const name of names) {
      const ir = check.ok.get(name)?.info.resolved.sync;
      const dest = ir ? analysis.get('Destination', ir.destination.name) : undefined;
      const need = dest ? neededEnv(dest.def as DestinationDef) : undefined;
      if (dest && need && !opts.env[need.name]) {
        const file = analysis.project.file(dest.def.file);
        if (file)
          diagnostics.push(
            toDiagnostic({ code: 'secret-unset', severity: 'error', file: dest.def.file, span: need.span as [number, number], message: `the environment variable ${need.name} is not set; sync '${name}' cannot deliver to '${dest.def.name}' without it (nothing was sent)` }, file.lines),
          );
      }
    }
    if (diagnostics.length) return { refused: true as const, diagnostics, reasons: check.reasons, runs: [] };
    const runs: { name: string; version: number; ir: IrSync; entered: number; exited: number; changed: number; changes: readonly RecordedChange[] | readonly SyncChange[]; runId: number | null }[] = [];
    for (const name of names) {
      const ok = check.ok.get(name)!;
      const ir = ok.info.resolved.sync!;
      const diff = await syncDiff(tx, ir, { ...sqlBase, hasState, hasEnrollments });
      let runId: number | null = null;
      let changes: readonly RecordedChange[] | readonly SyncChange[] = diff.changes;
      if (!opts.dryRun && diff.changes.length) {
        runId = Number(
          (
            await tx.query<{ id: number }>(
              `insert into ${s}.sync_runs (sync, version, fingerprint, destination, mode, as_of, who, entered, exited, changed) values ($1, $2, $3, $4, $5, $6::timestamptz, $7, $8, $9, $10) returning id`,
              [name, ok.version, ok.fingerprint, ir.destination.name, ir.mode, asOfIso, opts.who ?? null, diff.entered, diff.exited, diff.changed],
            )
          ).rows[0]!.id,
        );
        const c = diff.changes;
        const ids = await tx.query<{ id: number; seq: number }>(
          `insert into ${s}.sync_changes (run_id, sync, seq, key, op, fields, changed, idempotency_key, prev_key)
           select $1, $2, * from unnest($3::int[], $4::text[], $5::text[], $6::jsonb[], $7::jsonb[], $8::text[], $9::text[]) returning id, seq`,
          [
            runId,
            name,
            c.map((_, i) => i + 1),
            c.map((x) => x.key),
            c.map((x) => x.op),
            c.map((x) => (x.fields ? JSON.stringify(x.fields) : null)),
            c.map((x) => (x.changed ? JSON.stringify(x.changed) : null)),
            c.map((x) => x.idempotencyKey),
            c.map((x) => x.prevKey),
          ],
        );
        const bySeq = new Map(ids.rows.map((r) => [Number(r.seq), Number(r.id)]));
        changes = c.map((x, i) => ({ ...x, id: bySeq.get(i + 1)!, seq: i + 1 }));
      }
      runs.push({ name, version: ok.version, ir, entered: diff.entered, exited: diff.exited, changed: diff.changed, changes, runId });
    }
    return { refused: false as const, diagnostics: [], reasons: check.reasons, runs };
  });

  if (planned.refused) {
    const syncs = names.map((name): SyncRunResult => {
      const def = analysis.get('Sync', name);
      const ir = def?.resolved.sync;
      return {
        ...empty(name, def?.def.version ?? 0, ir),
        status: 'refused',
        error: planned.reasons.get(name) ?? planned.diagnostics.find((d) => d.message.includes(`'${name}'`))?.message ?? 'not run: another sync in this command is refused',
      };
    });
    return { as_of: asOfIso, refused: true, diagnostics: planned.diagnostics, syncs };
  }

  // 2. Deliver each run, recording every attempt; 3. record the run's end.
  const out: SyncRunResult[] = [];
  for (const r of planned.runs) {
    const base = { ...empty(r.name, r.version, r.ir), entered: r.entered, exited: r.exited, changed: r.changed, changes: r.changes.length, run_id: r.runId };
    if (opts.dryRun) {
      out.push({ ...base, status: 'dry-run', pending: r.changes.length, preview: r.changes.slice(0, PREVIEW).map((c) => ({ key: c.key, op: c.op, changed: c.changed })) });
      continue;
    }
    if (!r.changes.length || r.runId === null) {
      out.push({ ...base, status: 'up-to-date' });
      continue;
    }
    const changes = r.changes as RecordedChange[];
    const ctx = { db, schema, runId: r.runId, sync: r.name, sleep: opts.sleep };
    const dest = r.ir.destination;
    let report: DeliveryReport;
    if (dest.k === 'webhook') report = await deliverWebhook(ctx, dest, dest.secretEnv ? opts.env[dest.secretEnv] ?? null : null, changes);
    else if (dest.k === 'folder') report = await deliverFolder(ctx, dest, analysis.project.root, changes, r.ir.fields.map((f) => f.name));
    else report = await deliverTable(ctx, dest, opts.env[dest.urlEnv] ?? '', changes);
    const status: SyncStatus = report.error ? 'failed' : report.dead ? 'partial' : 'delivered';
    await db.query(`insert into ${s}.sync_run_ends (run_id, status, delivered, dead, pending, error) values ($1, $2, $3, $4, $5, $6)`, [r.runId, status, report.delivered, report.dead, report.pending, report.error]);
    out.push({ ...base, status, delivered: report.delivered, dead: report.dead, pending: report.pending, batches: report.batches, failures: [...report.failures], error: report.error });
  }
  return { as_of: asOfIso, refused: false, diagnostics: [], syncs: out };
}

function empty(name: string, version: number, ir: IrSync | undefined): SyncRunResult {
  return {
    sync: name,
    version,
    destination: ir?.destination.name ?? '',
    destination_kind: ir?.destination.k ?? 'webhook',
    mode: ir?.mode ?? 'mirror',
    status: 'up-to-date',
    run_id: null,
    entered: 0,
    exited: 0,
    changed: 0,
    changes: 0,
    delivered: 0,
    dead: 0,
    pending: 0,
    batches: 0,
    failures: [],
    error: null,
  };
}
