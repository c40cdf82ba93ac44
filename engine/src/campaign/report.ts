// `tally report`: a campaign's results as of T: conversion per variant with Wilson intervals, lift
// and p-values against the holdout, the sample-ratio-mismatch check (stats.ts), per version when
// the enrollments span versions. Read-only.

import { campaignInfo, SRM_ALPHA } from './campaign.js';
import type { Analysis } from '../project.js';
import type { IrCampaign } from '../ir/ir.js';
import { compileConversions, compileEnrollments, enrollmentArrays, type EnrollmentRow } from '../sql/campaign.js';
import { campaignStateExists, hasFingerprints } from '../state/campaign-runs.js';
import type { Db } from '../db/db.js';
import { sampleRatioMismatch, twoProportionTest, wilsonInterval, type Interval } from './stats.js';
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
  /**
   * `no-enrollments`: nobody is enrolled in the campaign as of T (it never ran, or its runs enrolled
   * nobody), so there is nothing to report: `tally report` says so (a warning; exit 0). Otherwise `ok`.
   */
  status: 'ok' | 'no-enrollments';
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
      // Two statements (ARCHITECTURE.md "Portability rules"): the enrollments from Tally's tables,
      // then the conversions over the user's events with the enrollments as parameters.
      const eq = compileEnrollments(c, schema, opts.asOf, { fingerprints: await hasFingerprints(tx, schema) });
      const e = enrollmentArrays((await tx.query<EnrollmentRow>(eq.sql, eq.parameters)).rows);
      let r: { rows: ConversionRow[] } = { rows: [] };
      if (e.n > 0) {
        const q = compileConversions(c, opts.asOf, e.arrays);
        // One row per group (version, variant, holdout, fingerprint): variantResults and the
        // per-version results add them up per variant.
        const counted = await tx.query<{ gid: number; enrolled: number; converted: number | null; open: number }>(q.sql, q.parameters);
        r = {
          rows: counted.rows.map((x) => {
            const g = e.groups[Number(x.gid)]!;
            return { version: Number(g.version), variant: g.variant, holdout: g.holdout, enrolled: Number(x.enrolled), converted: x.converted === null ? null : Number(x.converted), open: Number(x.open), fingerprints: g.fingerprint ? [g.fingerprint] : [] };
          }),
        };
      }
      return { rows: r.rows.map((x) => ({ ...x, version: Number(x.version) })), runs: e.runs };
    },
    { readOnly: true, timeoutMs: opts.timeoutMs ?? 60_000 },
  );
  const notes: string[] = [];
  const { variants, holdout, best } = variantResults(c, rows, notes);
  const open = variants.reduce((a, v) => a + v.open, 0);
  if (open > 0 && c.goal) notes.push(`${open} enrollment${open === 1 ? ' is' : 's are'} still inside the ${c.goal.within.count} ${c.goal.within.unit} goal window at ${asOfIso}: their conversions may still come`);
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
  if (!variants.some((v) => v.enrolled > 0))
    notes.push(`nobody is enrolled as of ${asOfIso} (${runs ? `${runs} run${runs === 1 ? '' : 's'} recorded, none enrolled anyone` : 'no run recorded'}): nothing to report; run \`tally run\` first`);
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
    goal: c.goal ? { event: c.goal.filter.types?.[0] ?? null, stream: c.goal.filter.stream.name, within: `${c.goal.within.count} ${c.goal.within.unit}` } : null,
    holdout: holdout?.name ?? null,
    variants,
    p_value: best?.p_value ?? null,
    comparison: best && holdout ? { treatment: best.name, holdout: holdout.name } : null,
    srm,
    runs,
    versions,
    spans_versions: spans,
    status: variants.some((v) => v.enrolled > 0) ? 'ok' : 'no-enrollments',
    notes,
  };
}

