// Previews: live figures for one definition as of T, read-only and under a statement timeout.
// The JSON shapes are the wire's (protocol.ts: the CLI contract, LANGUAGE.md §9); extra fields are allowed.

import type { Analysis } from '../project.js';
import { deadlineOf, evaluateKpi, kpiFormat } from '../kpi/status.js';
import type { IrBreakdown, IrMetric } from '../ir/ir.js';
import { compileMetricBreakdown, type BreakdownRow } from '../sql/breakdown.js';
import { evaluateGroups, splitTotal } from '../kpi/breakdown.js';
import { deployedKey, readDeployed } from '../state/deployed.js';
import { deployedAnalysis } from '../state/deployed-project.js';
import type { Catalog } from '../resolve/catalog.js';
import { previewSync } from '../sync/diff.js';
import type { EntityDef, FunnelDef, Kind, KpiDef, LifecycleDef, ScoreDef, TraitDef } from '../model/types.js';
import { PREVIEW_COUNT, compileDistribution, compileDistributionAmong, compileFunnel, compileMemberCount, compileMemberPreview, compileMetric, compileValuePreview, type SqlOptions } from '../sql/compile.js';
import type { Db } from '../db/db.js';
import { bandCase } from '../resolve/bands.js';
import { didYouMean } from '../suggest.js';
import { previewCampaign } from '../campaign/campaign.js';
import { KIND_OF, PREVIEW_KINDS, type CampaignPreview, type FunnelPreview, type FunnelStepFigures, type KpiPreview, type LifecyclePreview, type Preview, type PreviewKind, type Row, type SegmentPreview, type ValuesPreview } from '../protocol.js';
import { postgres } from '../sql/dialect.js';
import { previewCohort } from './cohort.js';

export interface PreviewOptions {
  readonly asOf: Date;
  readonly sampleSize?: number;
  readonly timeoutMs?: number;
  /**
   * Extras for editors: a segment's lifecycle breakdown and its size against the deployed view;
   * a KPI's value at several instants up to T with its pace line (the chart's series).
   */
  readonly detail?: boolean;
  /** The live catalog the analysis was made with (the deployed version is analysed with it too). */
  readonly catalog?: Catalog;
}

// The preview kinds, the kind <-> preview-kind map and the previews' JSON shapes are the wire's
// (protocol.ts), declared once.
export { KIND_OF, PREVIEW_KINDS, type PreviewKind };
export type { CohortPreview } from '../protocol.js';
export type { CampaignPreview, FunnelPreview, KpiPreview, LifecyclePreview, Preview, Row, SegmentPreview, ValuesPreview };

/** A preview that could not run, with what to do about it. */
export class PreviewError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid' | 'unsupported',
  ) {
    super(message);
  }
}

export function paramOptions(asOf: Date): SqlOptions {
  return { asOf: { kind: 'instant', at: asOf }, literals: 'param' };
}

/** Masks a PII value so a preview shows its shape, never its content. */
export function maskValue(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  const s = String(v);
  const at = s.indexOf('@');
  if (at > 0) return `${s[0]}***${s.slice(at)}`;
  return s.length <= 1 ? '*' : `${s[0]}***`;
}

export function piiColumns(entity: EntityDef): Set<string> {
  const out = new Set<string>();
  for (const p of entity.pii) out.add(entity.attributes.get(p.name)?.column ?? p.name);
  return out;
}

export async function preview(db: Db, analysis: Analysis, kind: PreviewKind, name: string, opts: PreviewOptions): Promise<Preview> {
  const info = analysis.get(KIND_OF[kind], name);
  if (!info) {
    const names = analysis.ofKind(KIND_OF[kind]).map((i) => i.def.name);
    const dym = didYouMean(name, names);
    throw new PreviewError(`no ${kind} named '${name}'${dym.text || (names.length ? `; there are: ${names.join(', ')}` : `; the project has no ${kind}s`)}`, 'not-found');
  }
  if (kind === 'campaign' && !info.hasErrors && info.resolved.campaign) return previewCampaign(db, analysis, name, { asOf: opts.asOf, timeoutMs: opts.timeoutMs });
  if (kind === 'cohort' && !info.hasErrors && info.resolved.cohort) return previewCohort(db, info.resolved.cohort, name, opts);
  if (kind === 'sync' && !info.hasErrors && info.resolved.sync) return previewSync(db, info.resolved.sync, { schema: analysis.project.config.deploySchema, asOf: opts.asOf, timeoutMs: opts.timeoutMs });
  if (info.hasErrors || !info.resolved.query) {
    throw new PreviewError(`${kind} '${name}' has errors; run \`tally validate\` and fix them first`, 'invalid');
  }
  const q = info.resolved.query;
  const sqlOpts = paramOptions(opts.asOf);
  const asOfIso = opts.asOf.toISOString();
  const limit = opts.sampleSize ?? 10;
  const run = <T>(fn: (tx: Db) => Promise<T>) => db.transaction(fn, { readOnly: true, timeoutMs: opts.timeoutMs ?? 5000 });

  if (kind === 'segment' && q.k === 'members') {
    // One statement: the members are evaluated once for the count and the sample.
    const one = compileMemberPreview(q, sqlOpts, limit);
    const entity = analysis.get('Entity', q.entity.name)!.def as EntityDef;
    const pii = piiColumns(entity);
    const lifecycle = opts.detail ? analysis.ofKind('Lifecycle').find((l) => !l.hasErrors && l.resolved.query?.k === 'values' && l.resolved.query.entity.name === q.entity.name) : undefined;
    return run(async (tx) => {
      const r = await tx.query<Row>(one.sql, one.parameters);
      const sample = r.rows
        .filter((row) => row[q.entity.key] !== null && row[q.entity.key] !== undefined)
        .slice(0, Math.max(0, limit))
        .map((row) => {
          const { [PREVIEW_COUNT]: _count, ...rest } = row;
          return maskRow(rest, pii);
        });
      const out: SegmentPreview = {
        kind: 'segment',
        name,
        count: Number(r.rows[0]?.[PREVIEW_COUNT] ?? 0),
        sample,
        entity: q.entity.name,
        as_of: asOfIso,
        sql: one.sql,
      };
      if (lifecycle && lifecycle.resolved.query?.k === 'values') {
        const d = compileDistributionAmong(lifecycle.resolved.query, q, sqlOpts);
        const stages: Record<string, number> = {};
        for (const st of (lifecycle.def as LifecycleDef).stages) stages[st.name.name] = 0;
        for (const r of (await tx.query<{ value: string | null; count: number }>(d.sql, d.parameters)).rows) if (r.value !== null) stages[r.value] = Number(r.count);
        out.lifecycle = { name: lifecycle.def.name, stages };
      }
      if (opts.detail) out.deployed = await deployedSegment(tx, analysis, name, info.fingerprint, out.count, opts);
      return out;
    });
  }
  if ((kind === 'trait' || kind === 'score') && q.k === 'values') {
    // One statement: the values are evaluated once for the totals, the sample and a score's bands.
    const quantiles = (info.def as ScoreDef | TraitDef).quantiles;
    const banded = (kind === 'score' && (info.def as ScoreDef).bands.length > 0) || quantiles !== undefined;
    const one = compileValuePreview(q, sqlOpts, limit, quantiles ? { quantiles: quantiles.n } : banded ? bandCase(info.def as ScoreDef, { k: 'col', col: 'value', type: 'number' }) : undefined);
    return run(async (tx) => {
      const r = await tx.query<{ entities: number; count: number; buckets?: unknown; key: unknown; value: unknown }>(one.sql, one.parameters);
      const first = r.rows[0];
      const out: ValuesPreview = {
        kind,
        name,
        count: Number(first?.count ?? 0),
        entities: Number(first?.entities ?? 0),
        sample: r.rows.filter((row) => row.key !== null && row.key !== undefined).slice(0, Math.max(0, limit)).map((row) => ({ key: row.key, value: row.value })),
        as_of: asOfIso,
        sql: one.sql,
      };
      if (banded) {
        const counts = (typeof first?.buckets === 'string' ? JSON.parse(first.buckets) : first?.buckets ?? {}) as Record<string, unknown>;
        const bands: Record<string, number> = {};
        if (quantiles) for (let i = 1; i <= quantiles.n; i++) bands[`q${i}`] = Number(counts[String(i)] ?? 0);
        else for (const band of (info.def as ScoreDef).bands) bands[band.name.name] = Number(counts[band.name.name] ?? 0);
        out.bands = bands;
      }
      return out;
    });
  }
  if (kind === 'lifecycle' && q.k === 'values') {
    const dist = compileDistribution(q, sqlOpts);
    return run(async (tx) => {
      const r = await tx.query<{ value: string | null; count: number }>(dist.sql, dist.parameters);
      const stages: Record<string, number> = {};
      for (const s of (info.def as LifecycleDef).stages) stages[s.name.name] = 0;
      let total = 0;
      for (const row of r.rows) {
        if (row.value !== null) stages[row.value] = Number(row.count);
        total += Number(row.count);
      }
      return { kind: 'lifecycle', name, stages, total, as_of: asOfIso, sql: dist.sql };
    });
  }
  if (kind === 'kpi' && q.k === 'metric') {
    const m = compileMetric(q.metric, sqlOpts);
    return run(async (tx) => {
      const def = info.def as KpiDef;
      // With a breakdown whose groups add up to the KPI, its one statement also answers the value.
      const groups = q.breakdown && def.breakdown ? await kpiGroups(tx, analysis, def, q.metric, q.breakdown, opts.asOf) : undefined;
      let value: number | null;
      if (groups?.total !== undefined) value = groups.total;
      else {
        const r = await tx.query<{ value: number | null }>(m.sql, m.parameters);
        const raw = r.rows[0]?.value;
        value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
      }
      const out: KpiPreview = { kind: 'kpi', name, ...evaluateKpi(def, value, opts.asOf), ...(def.owner ? { owner: def.owner } : {}), as_of: asOfIso, sql: m.sql };
      if (opts.detail) Object.assign(out, await kpiSeries(tx, def, q.metric, opts.asOf, value));
      if (groups) Object.assign(out, { breakdown: groups.breakdown, groups: groups.groups });
      return out;
    });
  }
  if (kind === 'funnel' && q.k === 'funnel') {
    const f = compileFunnel(q.funnel, sqlOpts);
    const def = info.def as FunnelDef;
    return run(async (tx) => {
      const row = (await tx.query<Row>(f.sql, f.parameters)).rows[0] ?? {};
      return { ...funnelFigures(q.funnel.steps.map((st) => st.name), row), kind: 'funnel', name, entity: q.funnel.entity.name, within: def.within?.text ?? '', as_of: asOfIso, sql: f.sql } satisfies FunnelPreview;
    });
  }
  throw new PreviewError(`cannot preview ${kind} '${name}'`, 'unsupported');
}

/**
 * The deployed version of a segment and its size as of T; null when it is not deployed. The view
 * counts as of the database clock, so the size at T is the recorded definition's evaluated at T
 * (the working copy's own count when the definition is unchanged): an editor previewing as of
 * another day compares like with like. The view's count is the fallback for a recorded version
 * that no longer analyses.
 */
async function deployedSegment(tx: Db, analysis: Analysis, name: string, fingerprint: string, count: number, opts: PreviewOptions): Promise<SegmentPreview['deployed']> {
  const schema = analysis.project.config.deploySchema;
  const view = `${postgres.quoteIdent(schema)}.${postgres.quoteIdent(`segment_${name}`)}`;
  const reg = await tx.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [view]);
  if (!reg.rows[0]?.t) return null;
  const state = await readDeployed(tx, schema, { withSource: true });
  const row = state.definitions.get(deployedKey('segment', name));
  const same = row?.fingerprint === fingerprint;
  const label = { view: `${schema}.segment_${name}`, version: row?.version ?? null, same_definition: same };
  if (same) return { ...label, count };
  const old = row ? deployedAnalysis(analysis.project, state, { catalog: opts.catalog, now: opts.asOf }).analysis?.get('Segment', name) : undefined;
  const q = old && !old.hasErrors ? old.resolved.query : undefined;
  const c = q?.k === 'members' ? compileMemberCount(q, paramOptions(opts.asOf)) : { sql: `select count(*) as count from ${view}`, parameters: [] };
  const r = await tx.query<{ count: number }>(c.sql, c.parameters);
  return { ...label, count: Number(r.rows[0]?.count ?? 0) };
}

/** A KPI's groups (`breakdown:`): one set-based query (sql/breakdown.ts), each group judged by its target. */
async function kpiGroups(tx: Db, analysis: Analysis, def: KpiDef, metric: IrMetric, bd: IrBreakdown, asOf: Date): Promise<Required<Pick<KpiPreview, 'breakdown' | 'groups'>> & { total?: number | null }> {
  const c = compileMetricBreakdown(metric, bd, paramOptions(asOf), { withTotal: true });
  const r = splitTotal((await tx.query<BreakdownRow>(c.sql, c.parameters)).rows);
  const by = def.breakdown!.by;
  const name = by.k === 'segments' ? by.refs.map((x) => x.name).join(', ') : by.k === 'invalid' ? '' : by.ref.name;
  // A breakdown by a PII attribute shows the values' shape only.
  const entity = analysis.get('Entity', bd.entity.name)?.def as EntityDef | undefined;
  const pii = by.k === 'attribute' && entity && bd.by.k === 'value' && bd.by.value.k === 'col' && piiColumns(entity).has(bd.by.value.col);
  return {
    breakdown: { by: by.k === 'invalid' ? 'attribute' : by.k, name, ...(def.breakdown!.top ? { top: def.breakdown!.top.n } : {}), sql: c.sql },
    groups: evaluateGroups(def, r.groups, asOf, pii ? (v) => String(maskValue(v)) : undefined),
    ...(r.total !== undefined ? { total: r.total } : {}),
  };
}

const SERIES_POINTS = 8;

/**
 * A KPI's value at evenly spaced instants ending at T (from its baseline date, or 90 days back),
 * each with the pace line's value there, plus the pace line itself from baseline to deadline.
 */
async function kpiSeries(tx: Db, def: KpiDef, metric: IrMetric, asOf: Date, valueAtT: number | null): Promise<Pick<KpiPreview, 'series' | 'pace' | 'format'>> {
  const baseline = def.target?.baseline;
  const end = asOf.getTime();
  const start = baseline && baseline.on.getTime() < end ? baseline.on.getTime() : end - 90 * 86_400_000;
  const series: NonNullable<KpiPreview['series']> = [];
  for (let i = 0; i < SERIES_POINTS; i++) {
    const at = new Date(start + ((end - start) * i) / (SERIES_POINTS - 1));
    let value = valueAtT;
    if (i < SERIES_POINTS - 1) {
      const m = compileMetric(metric, paramOptions(at));
      const raw = (await tx.query<{ value: number | null }>(m.sql, m.parameters)).rows[0]?.value;
      value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
    }
    series.push({ at: at.toISOString(), value, expected: evaluateKpi(def, value, at).expected });
  }
  const deadline = deadlineOf(def);
  const c = def.target?.comparison;
  const goal = c ? (Array.isArray(c.value) ? ((c.value as number[])[0]! + (c.value as number[])[1]!) / 2 : (c.value as number)) : undefined;
  const pace = baseline && deadline && goal !== undefined ? { from: { at: baseline.on.toISOString(), value: baseline.value }, to: { at: deadline.toISOString(), value: goal } } : undefined;
  return { series, ...(pace ? { pace } : {}), format: kpiFormat(def) };
}

/** The per-step figures from a funnel row (`n0..`, `m1..`): counts, step and overall conversion, medians. */
export function funnelFigures(names: readonly string[], row: Row): Pick<FunnelPreview, 'entrants' | 'steps'> {
  const num = (v: unknown) => (v === null || v === undefined || !Number.isFinite(Number(v)) ? null : Number(v));
  const reached = names.map((_n, i) => num(row[`n${i}`]) ?? 0);
  const entrants = reached[0] ?? 0;
  const ratio = (a: number, b: number) => (b === 0 ? null : a / b);
  const steps: FunnelStepFigures[] = names.map((n, i) => ({
    name: n,
    reached: reached[i]!,
    step_conversion: ratio(reached[i]!, i === 0 ? entrants : reached[i - 1]!),
    overall_conversion: ratio(reached[i]!, entrants),
    median_hours_from_previous: i === 0 ? null : num(row[`m${i}`]),
  }));
  return { entrants, steps };
}

function maskRow(r: Row, pii: Set<string>): Row {
  if (!pii.size) return r;
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) out[k] = pii.has(k) ? maskValue(v) : v;
  return out;
}

