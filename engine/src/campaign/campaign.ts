// Campaigns (LANGUAGE.md §7): preview the audience, enroll it (`tally run`), report the results
// (`tally report`). The SQL comes from sql/campaign.ts (which reuses the segment compiler); the
// history lives in the deploy schema (state/ddl.ts, state/campaign-runs.ts); the statistics are in stats.ts.
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
import { didYouMean } from '../resolve/suggest.js';
import { compileAudienceCount, compileCandidateCounts, compileConversions, compileEnroll, compileOutbox, type CandidateOptions } from '../sql/campaign.js';
import { cumulativeShares } from './assign.js';
import { campaignLockKey } from '../state/locks.js';
import { campaignStateExists, hasFingerprints } from '../state/campaign-runs.js';
import { ensureCampaignState } from '../state/ddl.js';
import type { Db } from '../db/db.js';
import { quoteIdent } from '../state/ddl.js';
import { deployedCampaigns } from './deployed.js';
import type { Catalog } from '../resolve/catalog.js';
import { sampleRatioMismatch, twoProportionTest, wilsonInterval, type Interval } from './stats.js';

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

export interface HeldBack {
  exclusions: number;
  schedule: number;
  trigger: number;
  entry: number;
  frequency_cap: number;
}

export interface VariantCount {
  name: string;
  count: number;
  holdout: boolean;
  weight: number;
  /** The normalised weight. */
  share: number;
}

export interface CampaignPreview {
  kind: 'campaign';
  name: string;
  as_of: string;
  channel: string;
  /** Members of the audience segment at T. */
  segment: number;
  /** Who a run at T would enroll. */
  audience: number;
  variants: VariantCount[];
  held_back: HeldBack;
  /** Whether T is inside the schedule. */
  scheduled: boolean;
  /** Triggered campaigns: the window of (trigger time + delay) a run at T would read. */
  trigger_window?: { from: string; to: string };
  warnings: string[];
}

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

interface GroupRow {
  excluded: boolean;
  triggered: boolean;
  entered: boolean;
  capped: boolean;
  variant: number | null;
  count: number;
}

function breakdown(c: IrCampaign, rows: readonly GroupRow[], scheduled: boolean): { segment: number; audience: number; held: HeldBack; perVariant: number[] } {
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

function variantCounts(c: IrCampaign, perVariant: readonly number[]): VariantCount[] {
  const total = c.variants.reduce((a, v) => a + (v.weight > 0 ? v.weight : 0), 0);
  return c.variants.map((v, i) => ({ name: v.name, count: perVariant[i] ?? 0, holdout: v.holdout, weight: v.weight, share: total > 0 ? Math.max(0, v.weight) / total : 0 }));
}

/** The previous run's as-of (latest before T) of a campaign, if any. */
async function previousRun(tx: Db, schema: string | null, campaign: string, asOf: Date): Promise<Date | null> {
  if (!schema) return null;
  const r = await tx.query<{ as_of: string | null }>(`select max(as_of) as as_of from ${quoteIdent(schema)}.campaign_runs where campaign = $1 and as_of < $2::timestamptz`, [campaign, asOf.toISOString()]);
  const v = r.rows[0]?.as_of;
  return v ? new Date(v) : null;
}

async function candidateOptions(tx: Db, c: IrCampaign, schema: string | null, asOf: Date): Promise<CandidateOptions> {
  let triggerSince: Date | null = null;
  if (c.trigger) triggerSince = (await previousRun(tx, schema, c.name, asOf)) ?? new Date(asOf.getTime() - FIRST_TRIGGER_WINDOW_MS);
  return { asOf, stateSchema: schema, triggerSince, shares: cumulativeShares(c.variants.map((v) => v.weight)) ?? [] };
}

function triggerWindow(o: CandidateOptions): { from: string; to: string } | undefined {
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

// ---- tally run -----------------------------------------------------------------------------------

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
  const s = quoteIdent(schema);
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
      const o = await candidateOptions(tx, c, schema, opts.asOf);
      const runId = Number((await tx.query<{ id: number }>(`select nextval(pg_get_serial_sequence($1, 'id')) as id`, [`${s}.campaign_runs`])).rows[0]!.id);
      const q = compileEnroll(c, { ...o, stateSchema: schema, runId, version, fingerprint });
      const rows = (await tx.query<GroupRow>(q.sql, q.parameters)).rows;
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

// ---- tally report --------------------------------------------------------------------------------

export interface VariantResult {
  name: string;
  holdout: boolean;
  enrolled: number;
  /** null without a goal. */
  converted: number | null;
  /** converted / enrolled; null when nobody is enrolled (or without a goal). */
  rate: number | null;
  /** Wilson score 95% interval of the rate. */
  interval: Interval | null;
  /** Enrollments whose goal window is still open at T (they may still convert). */
  open: number;
  /** The normalised weight in the current definition (0 for a variant no longer defined). */
  share: number;
  /** Against the holdout (treatments only): absolute lift p - p_holdout with its 95% Wald interval, and relative lift. */
  lift: { absolute: number; interval: Interval; relative: number | null } | null;
  /** Two-sided pooled two-proportion z-test against the holdout (treatments only). */
  p_value: number | null;
  z: number | null;
}

/** The results of the enrollments recorded under one version of the campaign. */
export interface VersionReport {
  version: number;
  /** The deployed fingerprints these enrollments were computed with (empty for rows recorded before fingerprints were). */
  fingerprints: string[];
  enrolled: number;
  variants: VariantResult[];
  /** This version's best treatment against its holdout. */
  p_value: number | null;
  comparison: { treatment: string; holdout: string } | null;
}

export interface CampaignReport {
  campaign: string;
  as_of: string;
  version: number;
  /** `event` null: any event of `stream` (a stream goal). */
  goal: { event: string | null; stream: string; within: string } | null;
  holdout: string | null;
  /** All enrollments up to T, whatever version recorded them (see `versions`). */
  variants: VariantResult[];
  /** The headline p-value: the best treatment (highest rate) against the holdout; null when there is none. */
  p_value: number | null;
  comparison: { treatment: string; holdout: string } | null;
  srm: { chi_square: number; df: number; p_value: number; mismatch: boolean; expected: Record<string, number> } | null;
  runs: number;
  /** The same results per recorded version, oldest first (one entry when all enrollments share a version). */
  versions: VersionReport[];
  /** Whether the enrollments span more than one version (the totals then mix them; a note says so). */
  spans_versions: boolean;
  notes: string[];
}

interface ConversionRow {
  version: number;
  variant: string;
  holdout: boolean;
  enrolled: number;
  converted: number | null;
  open: number;
  fingerprints: string[] | null;
}

/** Per-variant results of some enrollments (all of them, or one version's), with lift and p-values against the holdout. */
function variantResults(c: IrCampaign, rows: readonly ConversionRow[], notes: string[] | null): { variants: VariantResult[]; holdout: VariantResult | undefined; best: VariantResult | undefined } {
  const byName = new Map<string, { holdout: boolean; enrolled: number; converted: number; open: number }>();
  for (const r of rows) {
    const acc = byName.get(r.variant) ?? { holdout: false, enrolled: 0, converted: 0, open: 0 };
    acc.holdout ||= Boolean(r.holdout);
    acc.enrolled += Number(r.enrolled);
    acc.converted += Number(r.converted ?? 0);
    acc.open += Number(r.open ?? 0);
    byName.set(r.variant, acc);
  }
  const total = c.variants.reduce((a, v) => a + (v.weight > 0 ? v.weight : 0), 0);
  const names = [...c.variants.map((v) => v.name), ...[...byName.keys()].filter((n) => !c.variants.some((v) => v.name === n)).sort()];
  const variants: VariantResult[] = names.map((n) => {
    const v = c.variants.find((x) => x.name === n);
    const r = byName.get(n);
    const enrolled = r?.enrolled ?? 0;
    const converted = c.goal ? (r?.converted ?? 0) : null;
    if (!v) notes?.push(`variant '${n}' is no longer defined; its ${enrolled} enrollments are reported as recorded`);
    return {
      name: n,
      holdout: r ? r.holdout : Boolean(v?.holdout),
      enrolled,
      converted,
      rate: converted !== null && enrolled > 0 ? converted / enrolled : null,
      interval: converted !== null ? wilsonInterval(converted, enrolled) : null,
      open: r?.open ?? 0,
      share: v && total > 0 ? Math.max(0, v.weight) / total : 0,
      lift: null,
      p_value: null,
      z: null,
    };
  });
  const holdout = variants.find((v) => v.holdout && c.variants.some((d) => d.name === v.name && d.holdout)) ?? variants.find((v) => v.holdout);
  let best: VariantResult | undefined;
  if (!c.goal) notes?.push('no goal: conversions are not counted');
  else if (!holdout) notes?.push('no holdout variant: no lift or p-value');
  else if (holdout.enrolled === 0) notes?.push(`the holdout '${holdout.name}' has no enrollments yet: no lift or p-value`);
  else {
    for (const v of variants) {
      if (v === holdout || v.holdout || v.converted === null) continue;
      if (v.enrolled === 0) {
        notes?.push(`variant '${v.name}' has no enrollments yet`);
        continue;
      }
      const t = twoProportionTest(v.converted, v.enrolled, holdout.converted!, holdout.enrolled);
      if (!t) continue;
      v.lift = { absolute: t.difference, interval: t.interval, relative: holdout.rate ? t.difference / holdout.rate : null };
      v.p_value = t.pValue;
      v.z = t.z;
      if (!best || (v.rate ?? -1) > (best.rate ?? -1)) best = v;
    }
  }
  return { variants, holdout, best };
}

/**
 * `tally report`: per variant, enrollments up to T and conversions (a goal event with time in
 * (enrolled_at, enrolled_at + within], events up to T only), each enrollment being one trial;
 * lift and the z-test against the holdout; the SRM check against the current weights; the same per
 * recorded version, with a note when the enrollments span versions. Read-only.
 */
export async function reportCampaign(db: Db, analysis: Analysis, name: string, opts: { asOf: Date; timeoutMs?: number }): Promise<CampaignReport> {
  const { def, ir: c } = campaignInfo(analysis, name);
  const schema = analysis.project.config.deploySchema;
  const asOfIso = opts.asOf.toISOString();
  const { rows, runs } = await db.transaction(
    async (tx) => {
      if (!(await campaignStateExists(tx, schema))) return { rows: [] as ConversionRow[], runs: 0 };
      const q = compileConversions(c, schema, opts.asOf, { fingerprints: await hasFingerprints(tx, schema) });
      const r = await tx.query<ConversionRow>(q.sql, q.parameters);
      const n = await tx.query<{ n: number }>(`select count(*) as n from ${quoteIdent(schema)}.campaign_runs where campaign = $1 and as_of <= $2::timestamptz`, [c.name, asOfIso]);
      return { rows: r.rows.map((x) => ({ ...x, version: Number(x.version) })), runs: Number(n.rows[0]?.n ?? 0) };
    },
    { readOnly: true, timeoutMs: opts.timeoutMs ?? 60_000 },
  );
  const notes: string[] = [];
  const { variants, holdout, best } = variantResults(c, rows, notes);
  const open = variants.reduce((a, v) => a + v.open, 0);
  if (open > 0 && c.goal) notes.push(`${open} enrollment${open === 1 ? ' is' : 's are'} still inside the ${c.goal.within.interval} goal window at ${asOfIso}: their conversions may still come`);
  const defined = variants.filter((v) => c.variants.some((d) => d.name === v.name));
  const srmCheck = sampleRatioMismatch(
    defined.map((v) => v.enrolled),
    defined.map((v) => c.variants.find((d) => d.name === v.name)!.weight),
  );
  const srm = srmCheck
    ? {
        chi_square: srmCheck.chiSquare,
        df: srmCheck.df,
        p_value: srmCheck.pValue,
        mismatch: srmCheck.pValue < SRM_ALPHA,
        expected: Object.fromEntries(defined.map((v, i) => [v.name, srmCheck.expected[i]!])),
      }
    : null;
  if (srm?.mismatch) notes.push(`sample ratio mismatch: the split differs from the weights (chi-square ${srm.chi_square.toFixed(2)}, p = ${srm.p_value.toExponential(2)} < ${SRM_ALPHA}); check the enrollment pipeline before trusting the results`);
  if (!variants.some((v) => v.enrolled > 0)) notes.push(`nobody is enrolled as of ${asOfIso}; run \`tally run\` first`);
  const versionNumbers = [...new Set(rows.map((r) => r.version))].sort((a, b) => a - b);
  const versions: VersionReport[] = versionNumbers.map((version) => {
    const own = rows.filter((r) => r.version === version);
    const v = variantResults(c, own, null);
    return {
      version,
      fingerprints: [...new Set(own.flatMap((r) => r.fingerprints ?? []))].sort(),
      enrolled: own.reduce((a, r) => a + Number(r.enrolled), 0),
      variants: v.variants,
      p_value: v.best?.p_value ?? null,
      comparison: v.best && v.holdout ? { treatment: v.best.name, holdout: v.holdout.name } : null,
    };
  });
  const spans = versions.length > 1;
  if (spans) {
    notes.unshift(
      `the enrollments span versions ${versions.map((v) => `${v.version} (${v.enrolled})`).join(', ')}: the totals mix them; each version is reported on its own${versions.some((v) => !v.fingerprints.length) ? ' (enrollments recorded before fingerprints were carry none)' : ''}`,
    );
  }
  return {
    campaign: c.name,
    as_of: asOfIso,
    version: def.version,
    goal: c.goal ? { event: c.goal.filter.types?.[0] ?? null, stream: c.goal.filter.stream.name, within: c.goal.within.interval } : null,
    holdout: holdout?.name ?? null,
    variants,
    p_value: best?.p_value ?? null,
    comparison: best && holdout ? { treatment: best.name, holdout: holdout.name } : null,
    srm,
    runs,
    versions,
    spans_versions: spans,
    notes,
  };
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
