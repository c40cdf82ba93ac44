// Campaigns (LANGUAGE.md §7): what a campaign is at T (the hold-back rules below, shared by
// run.ts and this file) and its preview, the audience a `tally run` now would enroll, written
// nowhere; and the campaigns' data lints. `tally run` is run.ts, `tally report` report.ts. The SQL
// comes from sql/campaign.ts (which reuses the segment compiler); the history lives in the deploy
// schema (state/ddl.ts, state/campaign-runs.ts); the statistics are in stats.ts.
//
// Who is enrolled at T, in this order of hold-back reasons (a member is counted under the first):
//   1. exclusions:    a member of an `exclude` segment at T;
//   2. schedule:      T outside [start, end] (a date-only end includes that whole day);
//   3. trigger:       (triggered campaigns) no trigger event with time + delay in (since, T], where
//                     `since` is this campaign's previous run's as-of, or T - 1 day on its first run;
//   4. entry:         `once`: enrolled in this campaign before (any version); `every: D`: enrolled
//                     in (T - D, T), so it may re-enter D after its previous enrollment;
//   5. frequency_cap: its non-holdout enrollments on this channel (all campaigns) in (T - per, T]
//                     already number `max` (holdouts receive nothing, so they do not count; the cap
//                     is checked before assignment, so holdout and treatment face the same rule).
// The rest is enrolled at T with the variant of the contract's hash rule (assign.ts).

import { toDiagnostic, type Analysis, type DefinitionInfo } from '../project.js';
import type { Diagnostic } from '../diagnostics.js';
import type { IrCampaign } from '../ir/ir.js';
import type { CampaignDef } from '../model/types.js';
import { didYouMean } from '../suggest.js';
import { compileAudienceCount, compileCandidateCounts, compileHeldKeys, type CandidateOptions, type HeldKeys } from '../sql/campaign.js';
import { cumulativeShares } from './assign.js';
import { campaignStateExists } from '../state/campaign-runs.js';
import type { Db } from '../db/db.js';
import type { CampaignPreview, HeldBack, VariantCount } from '../protocol.js';
import { postgres } from '../sql/dialect.js';

/** The look-back of a triggered campaign's first run: trigger events in (T - 1 day, T]. */
export const FIRST_TRIGGER_WINDOW_MS = 86_400_000;

/** Sample-ratio mismatch is flagged below this p-value. */
export const SRM_ALPHA = 0.001;

/** A campaign that cannot be previewed, run or reported, with what to do about it. */
export class CampaignError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid',
  ) {
    super(message);
  }
}

// A campaign preview's JSON shape is the wire's (protocol.ts).
export type { CampaignPreview, HeldBack, VariantCount };

/** The campaign's definition and IR, or a CampaignError. */
export function campaignInfo(analysis: Analysis, name: string): { info: DefinitionInfo; def: CampaignDef; ir: IrCampaign } {
  const info = analysis.get('Campaign', name);
  if (!info) {
    const names = analysis.ofKind('Campaign').map((i) => i.def.name);
    const dym = didYouMean(name, names);
    throw new CampaignError(`no campaign named '${name}'${dym.text || (names.length ? `; there are: ${names.join(', ')}` : '; the project has no campaigns')}`, 'not-found');
  }
  if (info.hasErrors || !info.resolved.campaign) throw new CampaignError(`campaign '${name}' has errors; run \`tally validate\` and fix them first`, 'invalid');
  return { info, def: info.def as CampaignDef, ir: info.resolved.campaign };
}

/** Whether T lies inside the campaign's schedule (always, without one). */
export function inSchedule(c: IrCampaign, asOf: Date): boolean {
  const s = c.schedule;
  if (!s) return true;
  const t = asOf.getTime();
  if (s.start !== null && t < Date.parse(s.start)) return false;
  if (s.end !== null && (s.endExclusive ? t >= Date.parse(s.end) : t > Date.parse(s.end))) return false;
  return true;
}

export interface GroupRow {
  excluded: boolean;
  triggered: boolean;
  entered: boolean;
  capped: boolean;
  variant: number | null;
  count: number;
}

export function breakdown(c: IrCampaign, rows: readonly GroupRow[], scheduled: boolean): { segment: number; audience: number; held: HeldBack; perVariant: number[] } {
  const held: HeldBack = { exclusions: 0, schedule: 0, trigger: 0, entry: 0, frequency_cap: 0 };
  const perVariant = c.variants.map(() => 0);
  let segment = 0;
  let audience = 0;
  for (const r of rows) {
    const n = Number(r.count);
    segment += n;
    if (r.excluded) held.exclusions += n;
    else if (!scheduled) held.schedule += n;
    else if (!r.triggered) held.trigger += n;
    else if (r.entered) held.entry += n;
    else if (r.capped) held.frequency_cap += n;
    else if (r.variant !== null && r.variant !== undefined) {
      audience += n;
      perVariant[Number(r.variant)]! += n;
    }
  }
  return { segment, audience, held, perVariant };
}

export function variantCounts(c: IrCampaign, perVariant: readonly number[]): VariantCount[] {
  const total = c.variants.reduce((a, v) => a + (v.weight > 0 ? v.weight : 0), 0);
  return c.variants.map((v, i) => ({ name: v.name, count: perVariant[i] ?? 0, holdout: v.holdout, weight: v.weight, share: total > 0 ? Math.max(0, v.weight) / total : 0 }));
}

/** The previous run's as-of (latest before T) of a campaign, if any. */
async function previousRun(tx: Db, schema: string | null, campaign: string, asOf: Date): Promise<Date | null> {
  if (!schema) return null;
  const r = await tx.query<{ as_of: string | null }>(`select max(as_of) as as_of from ${postgres.quoteIdent(schema)}.campaign_runs where campaign = $1 and as_of < $2::timestamptz`, [campaign, asOf.toISOString()]);
  const v = r.rows[0]?.as_of;
  return v ? new Date(v) : null;
}

/**
 * What the candidate query needs from Tally's own tables (the previous run, the keys the entry rule
 * and the cap hold back), read with statements over those tables alone, so the candidate query
 * reads the user's tables only (ARCHITECTURE.md "Portability rules").
 */
export async function candidateOptions(tx: Db, c: IrCampaign, schema: string | null, asOf: Date, o: { heldKeys?: boolean } = {}): Promise<CandidateOptions> {
  let triggerSince: Date | null = null;
  if (c.trigger) triggerSince = (await previousRun(tx, schema, c.name, asOf)) ?? new Date(asOf.getTime() - FIRST_TRIGGER_WINDOW_MS);
  let held: HeldKeys | null = null;
  // A run joins the hold-backs to its temporary table instead (run.ts): `heldKeys: false`.
  if (schema && o.heldKeys !== false) {
    const q = compileHeldKeys(c, schema, asOf);
    const row = (await tx.query<{ entered: string[] | null; capped: string[] | null }>(q.sql, q.parameters)).rows[0];
    held = { entered: (row?.entered ?? []).map(String), capped: c.frequencyCap ? (row?.capped ?? []).map(String) : null };
  }
  return { asOf, held, triggerSince, shares: cumulativeShares(c.variants.map((v) => v.weight)) ?? [] };
}

export function triggerWindow(o: CandidateOptions): { from: string; to: string } | undefined {
  return o.triggerSince ? { from: o.triggerSince.toISOString(), to: o.asOf.toISOString() } : undefined;
}

/** `tally preview campaign NAME`: who a run at T would enroll, the split and the hold-backs. Read-only. */
export async function previewCampaign(db: Db, analysis: Analysis, name: string, opts: { asOf: Date; timeoutMs?: number }): Promise<CampaignPreview> {
  const { ir: c } = campaignInfo(analysis, name);
  const schema = analysis.project.config.deploySchema;
  return db.transaction(
    async (tx) => {
      const state = (await campaignStateExists(tx, schema)) ? schema : null;
      const o = await candidateOptions(tx, c, state, opts.asOf);
      const q = compileCandidateCounts(c, o);
      const rows = (await tx.query<GroupRow>(q.sql, q.parameters)).rows;
      const scheduled = inSchedule(c, opts.asOf);
      const b = breakdown(c, rows, scheduled);
      const warnings: string[] = [];
      if (!scheduled) warnings.push(`${opts.asOf.toISOString()} is outside the schedule: a run now enrolls nobody`);
      if (b.segment - b.held.exclusions === 0) warnings.push('the audience is empty: no member of the segment is left after exclusions');
      const out: CampaignPreview = {
        kind: 'campaign',
        name,
        as_of: opts.asOf.toISOString(),
        channel: c.channel,
        segment: b.segment,
        audience: b.audience,
        variants: variantCounts(c, b.perVariant),
        held_back: b.held,
        scheduled,
        warnings,
      };
      const w = triggerWindow(o);
      if (w) out.trigger_window = w;
      return out;
    },
    { readOnly: true, timeoutMs: opts.timeoutMs ?? 30_000 },
  );
}

// ---- data lints ------------------------------------------------------------------------------------

/**
 * Data lints for campaigns, when a database is connected: `empty-audience` (warning) when no member
 * of the audience segment is left after exclusions as of T. (A goal or trigger event type that
 * never occurs in the data is the resolver's `unknown-event-type` warning.)
 */
export async function campaignDataLints(db: Db, analysis: Analysis, asOf: Date, timeoutMs = 10_000): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  for (const info of analysis.ofKind('Campaign')) {
    const c = info.resolved.campaign;
    const def = info.def as CampaignDef;
    const ref = def.audience?.segment;
    const file = analysis.project.file(def.file);
    if (info.hasErrors || !c || !ref || !file) continue;
    const q = compileAudienceCount(c, asOf);
    let n: number;
    try {
      n = Number((await db.transaction((tx) => tx.query<{ n: number }>(q.sql, q.parameters), { readOnly: true, timeoutMs })).rows[0]?.n ?? 0);
    } catch {
      continue; // too slow or unreadable: no lint
    }
    if (n === 0) {
      const what = c.exclude.length ? `segment '${ref.name}' minus its exclusions` : `segment '${ref.name}'`;
      out.push(toDiagnostic({ code: 'empty-audience', severity: 'warning', message: `the audience is empty as of ${asOf.toISOString()}: ${what} has no members, so a run would enroll nobody`, file: def.file, span: ref.span }, file.lines));
    }
  }
  return out;
}
