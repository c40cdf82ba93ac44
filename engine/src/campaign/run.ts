// `tally run`: enrolls the *deployed* campaigns' audiences as of T, append-only, in one
// transaction under the campaign lock (state/locks.ts): the enrollment insert and the per-reason
// counts come from one materialized evaluation (the hold-back rules: campaign.ts); each enrollment
// records the deployed version and fingerprint; a run that finds the working copy different from
// what is deployed refuses (deployed.ts). Running twice for the same T adds nothing.
//
// No statement joins the user's tables with Tally's own (ARCHITECTURE.md "Portability rules"): the
// audience is evaluated over the user's tables into a temporary table, then one statement over that
// table and Tally's (both local) applies the entry rule and the cap, inserts the enrollments and
// counts.

import { breakdown, campaignInfo, candidateOptions, inSchedule, triggerWindow, variantCounts, type GroupRow, type HeldBack, type VariantCount } from './campaign.js';
import type { Analysis } from '../project.js';
import type { Diagnostic } from '../diagnostics.js';
import { CANDIDATES_TABLE, compileCandidatesTable, compileEnroll, compileOutbox, type CandidateOptions, type EnrollOptions } from '../sql/campaign.js';
import type { IrCampaign } from '../ir/ir.js';
import { campaignLockKey } from '../state/locks.js';
import { ensureCampaignState } from '../state/ddl.js';
import type { Db } from '../db/db.js';
import { deployedCampaigns } from './deployed.js';
import type { Catalog } from '../resolve/catalog.js';
import { postgres } from '../sql/dialect.js';
/** `refused`: the working copy differs from what is deployed (see RunResult.diagnostics); nothing enrolled. */
export type RunStatus = 'enrolled' | 'already-run' | 'out-of-order' | 'outside-schedule' | 'refused';

export interface CampaignRunResult {
  campaign: string;
  /** The deployed version the run enrolled with (the working copy's when refused). */
  version: number;
  /** The deployed fingerprint the enrollments record (null when refused). */
  fingerprint: string | null;
  channel: string;
  status: RunStatus;
  /** The run's id (also for `already-run`: the earlier run at the same T). */
  run_id: number | null;
  enrolled: number;
  /** Non-holdout enrollments, i.e. rows written to the outbox. */
  sent: number;
  segment: number;
  variants: VariantCount[];
  held_back: HeldBack;
  trigger_window?: { from: string; to: string };
  message?: string;
}

export interface OutboxRow {
  run_id: number;
  campaign: string;
  version: number;
  channel: string;
  variant: string;
  entity_key: string;
  enrolled_at: string;
}

export interface RunResult {
  as_of: string;
  /** The working copy differs from what is deployed: nothing was enrolled (exit 1). */
  refused: boolean;
  /** Why it was refused, at the definitions that differ (errors). */
  diagnostics: Diagnostic[];
  campaigns: CampaignRunResult[];
  /** The outbox rows written by this run (empty when nothing new was enrolled). */
  outbox: OutboxRow[];
}

export interface RunOptions {
  readonly asOf: Date;
  /** Only this campaign; default all campaigns (in name order). */
  readonly campaign?: string;
  readonly who?: string | null;
  /**
   * The catalog the working copy was analysed with: the deployed sources are analysed with the same
   * one, so that both sides' fingerprints compare like with like (a column's type from the catalog
   * is part of the meaning).
   */
  readonly catalog?: Catalog;
}

const ZERO_HELD: HeldBack = { exclusions: 0, schedule: 0, trigger: 0, entry: 0, frequency_cap: 0 };

/**
 * `tally run`: enrolls each campaign's audience as of T, in one transaction under an advisory lock
 * on the deploy schema. It enrolls the deployed campaigns (deployed.ts): when the working
 * copy of a campaign or of anything it depends on differs from what is deployed, the whole run is
 * refused and nothing is written (`refused`, with diagnostics). A campaign already run at T is left alone (nothing is added); a T earlier
 * than the campaign's latest run is refused (`out-of-order`), so entry rules and caps always see
 * the whole history before T. Campaigns run in name order, so caps see earlier campaigns' sends.
 */
export async function runCampaigns(db: Db, analysis: Analysis, opts: RunOptions): Promise<RunResult> {
  const names = opts.campaign ? [opts.campaign] : analysis.ofKind('Campaign').map((i) => i.def.name).sort();
  const campaigns = names.map((n) => campaignInfo(analysis, n));
  const schema = analysis.project.config.deploySchema;
  const s = postgres.quoteIdent(schema);
  const asOfIso = opts.asOf.toISOString();
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${campaignLockKey(schema)}::bigint)`);
    await ensureCampaignState(tx, schema);
    const deployed = await deployedCampaigns(tx, analysis, names, { schema, catalog: opts.catalog, now: opts.asOf });
    if (deployed.diagnostics.length) {
      const campaignsOut = campaigns.map(({ def, ir: c }): CampaignRunResult => ({
        campaign: c.name,
        version: def.version,
        fingerprint: null,
        channel: c.channel,
        status: 'refused',
        run_id: null,
        enrolled: 0,
        sent: 0,
        segment: 0,
        variants: variantCounts(c, []),
        held_back: { ...ZERO_HELD },
        message: deployed.reasons.get(c.name) ?? 'not run: the run is refused because another campaign in it differs from what is deployed',
      }));
      return { as_of: asOfIso, refused: true, diagnostics: [...deployed.diagnostics], campaigns: campaignsOut, outbox: [] };
    }
    const results: CampaignRunResult[] = [];
    const newRuns: number[] = [];
    for (const name of names) {
      const { version, fingerprint, ir: c } = deployed.campaigns.get(name)!;
      const base = { campaign: c.name, version, fingerprint, channel: c.channel, segment: 0, variants: variantCounts(c, []), held_back: { ...ZERO_HELD }, enrolled: 0, sent: 0 };
      const same = await tx.query<{ id: number; enrolled: number; sent: number }>(`select id, enrolled, sent from ${s}.campaign_runs where campaign = $1 and as_of = $2::timestamptz`, [c.name, asOfIso]);
      if (same.rows[0]) {
        const r = same.rows[0];
        results.push({ ...base, status: 'already-run', run_id: Number(r.id), enrolled: Number(r.enrolled), sent: Number(r.sent), message: `run ${r.id} already enrolled this campaign at this instant; nothing added` });
        continue;
      }
      const later = await tx.query<{ as_of: string | null }>(`select max(as_of) as as_of from ${s}.campaign_runs where campaign = $1`, [c.name]);
      const latest = later.rows[0]?.as_of;
      if (latest && Date.parse(latest) > opts.asOf.getTime()) {
        results.push({ ...base, status: 'out-of-order', run_id: null, message: `its latest run is at ${new Date(latest).toISOString()}, after ${asOfIso}; runs move forward in time` });
        continue;
      }
      if (!inSchedule(c, opts.asOf)) {
        results.push({ ...base, status: 'outside-schedule', run_id: null, message: `${asOfIso} is outside the schedule; nobody enrolled` });
        continue;
      }
      const o = await candidateOptions(tx, c, schema, opts.asOf, { heldKeys: false });
      const runId = Number((await tx.query<{ id: number }>(`select nextval(pg_get_serial_sequence($1, 'id')) as id`, [`${s}.campaign_runs`])).rows[0]!.id);
      const rows = await enroll(tx, c, o, { asOf: opts.asOf, stateSchema: schema, runId, version, fingerprint });
      const b = breakdown(c, rows, true);
      const sent = c.variants.reduce((a, v, i) => a + (v.holdout ? 0 : b.perVariant[i]!), 0);
      const ob = compileOutbox(schema, runId);
      await tx.query(ob.sql, ob.parameters);
      await tx.query(`insert into ${s}.campaign_runs (id, campaign, version, as_of, who, enrolled, sent, fingerprint) values ($1, $2, $3, $4::timestamptz, $5, $6, $7, $8)`, [
        runId,
        c.name,
        version,
        asOfIso,
        opts.who ?? null,
        b.audience,
        sent,
        fingerprint,
      ]);
      newRuns.push(runId);
      const r: CampaignRunResult = { ...base, status: 'enrolled', run_id: runId, enrolled: b.audience, sent, segment: b.segment, variants: variantCounts(c, b.perVariant), held_back: b.held };
      const w = triggerWindow(o);
      if (w) r.trigger_window = w;
      results.push(r);
    }
    const outbox = newRuns.length
      ? (
          await tx.query<OutboxRow>(
            `select run_id, campaign, version, channel, variant, entity_key, enrolled_at from ${s}.campaign_outbox where run_id = any($1::bigint[]) order by run_id, entity_key`,
            [newRuns],
          )
        ).rows.map((r) => ({ ...r, run_id: Number(r.run_id), version: Number(r.version) }))
      : [];
    return { as_of: asOfIso, refused: false, diagnostics: [], campaigns: results, outbox };
  });
}

/**
 * One campaign's enrollment, in statements that each read either the user's tables or Tally's (and
 * the temporary table): the candidates into a temporary table, the hold-backs + insert + counts
 * from it, and the table dropped (the transaction may run more campaigns).
 */
export async function enroll(tx: Db, c: IrCampaign, o: CandidateOptions, e: EnrollOptions): Promise<GroupRow[]> {
  const cand = compileCandidatesTable(c, o);
  await tx.query(cand.sql, cand.parameters);
  const q = compileEnroll(c, e);
  const rows = (await tx.query<GroupRow>(q.sql, q.parameters)).rows;
  await tx.query(`drop table ${postgres.quoteIdent(CANDIDATES_TABLE)}`);
  return rows;
}
