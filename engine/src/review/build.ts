// `tally review`: gathers the periodic review as one ReviewData (protocol.ts), which `--format
// json` prints and html.ts / markdown.ts / the editor's webview render. Nothing is computed here
// that another room already computes: KPI and lifecycle series come from series/ (one statement per
// definition over the whole range), statuses from kpi/status.ts, cohorts and funnels from the
// previews, campaigns from `tally report`, deploys from the history, stage moves from the recorded
// lifecycle snapshots. Read-only. A definition that cannot be shown (errors, a failed or timed-out
// query) becomes a note; nothing here throws on user input.
//
// The review's periods: those of `series` from the period containing `from` to the one containing
// `to`, each evaluated as of its end; a period that ends after the as-of instant (default now) is
// not over yet and is left out, so the last point is the latest complete period.
// "Change since the last review": the value at the last period end minus the value at the period
// end before it (a weekly review compares with last week's figure); the latest recorded
// `tally check` at or before the review's instant is shown beside it when there is one.

import type { Analysis } from '../project.js';
import type { Db } from '../db/db.js';
import type { CampaignDef, KpiDef, LifecycleDef } from '../model/types.js';
import { evaluateKpi, kpiFormat } from '../kpi/status.js';
import { readKpiHistory } from '../kpi/recorded.js';
import { preview } from '../preview/preview.js';
import { reportCampaign } from '../campaign/report.js';
import { readHistory } from '../state/deployed.js';
import { readStageMoves } from '../deploy/snapshot.js';
import { computeSeries } from '../series/series.js';
import { REVIEW_STAGES, type CohortPreview, type FunnelPreview, type ReviewCampaign, type ReviewData, type ReviewKpi, type ReviewLifecycle, type ReviewStage, type SeriesEvery, type SeriesResult } from '../protocol.js';

export interface ReviewOptions {
  /** The review's instant: periods ending after it are left out (default now). */
  readonly asOf: Date;
  /** First and last day (YYYY-MM-DD) the periods cover; defaults: `to` = the as-of day, `from` = 12 periods earlier. */
  readonly from?: string;
  readonly to?: string;
  readonly every?: SeriesEvery;
  /** Statement timeout per query (ms). */
  readonly timeoutMs?: number;
}

const DAY = 86_400_000;

/** The default first day: 12 periods before `to` (12 weeks, 12 months, 30 days). */
export function defaultFrom(to: string, every: SeriesEvery): string {
  const d = new Date(`${to}T00:00:00Z`);
  if (every === 'month') d.setUTCMonth(d.getUTCMonth() - 12);
  else d.setTime(d.getTime() - (every === 'week' ? 12 * 7 : 30) * DAY);
  return d.toISOString().slice(0, 10);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function buildReview(db: Db, analysis: Analysis, opts: ReviewOptions): Promise<ReviewData> {
  const config = analysis.project.config;
  const schema = config.deploySchema;
  const every = opts.every ?? 'week';
  // The day before the as-of instant's end: the last period containing it may still be complete.
  const to = opts.to ?? new Date(opts.asOf.getTime() - 1).toISOString().slice(0, 10);
  const from = opts.from ?? defaultFrom(to, every);
  const notes: string[] = [];
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const asOfMs = opts.asOf.getTime();

  const series = async (kind: 'kpi' | 'lifecycle', name: string): Promise<SeriesResult | undefined> => {
    try {
      const out = await computeSeries(db, analysis, { kind, name, from, to, every, timeoutMs });
      if (!out.result) {
        const why = out.diagnostics.map((d) => d.message).join('; ');
        notes.push(`${kind} ${name}: no series${why ? `: ${why}` : ''}`);
        return undefined;
      }
      return { ...out.result, points: out.result.points.filter((p) => new Date(p.at).getTime() <= asOfMs) };
    } catch (e) {
      notes.push(`${kind} ${name}: the series failed: ${message(e)}`);
      return undefined;
    }
  };

  // KPIs, grouped by funnel stage.
  const byStage = new Map<ReviewStage, ReviewKpi[]>();
  const last = { at: '' };
  let firstStart = '';
  const seen = (sr: SeriesResult) => {
    const start = sr.points[0]?.start;
    if (start && (!firstStart || start < firstStart)) firstStart = start;
  };
  for (const info of analysis.ofKind('Kpi')) {
    const def = info.def as KpiDef;
    if (info.hasErrors) {
      notes.push(`KPI ${def.name} has errors and is left out (run \`tally validate\`)`);
      continue;
    }
    const s = await series('kpi', def.name);
    if (!s) continue;
    seen(s);
    const k = reviewKpi(def, s);
    const check = await lastCheck(db, schema, def.name, k.points.length ? new Date(k.points[k.points.length - 1]!.at) : opts.asOf).catch(() => undefined);
    if (check) k.last_check = check;
    if (k.points.length && k.points[k.points.length - 1]!.at > last.at) last.at = k.points[k.points.length - 1]!.at;
    const list = byStage.get(k.stage) ?? [];
    list.push(k);
    byStage.set(k.stage, list);
  }
  const stages = REVIEW_STAGES.filter((s) => byStage.has(s)).map((stage) => ({ stage, kpis: byStage.get(stage)! }));

  // Lifecycles: the stages per period end (computed), the moves between recorded snapshots.
  const lifecycles: ReviewLifecycle[] = [];
  for (const info of analysis.ofKind('Lifecycle')) {
    const def = info.def as LifecycleDef;
    if (info.hasErrors) {
      notes.push(`lifecycle ${def.name} has errors and is left out`);
      continue;
    }
    const s = await series('lifecycle', def.name);
    if (!s) continue;
    seen(s);
    const names = s.groups ?? def.stages.map((st) => st.name.name);
    const points = s.points.map((p) => ({ at: p.at, stages: Object.fromEntries(names.map((n) => [n, Number(p.groups?.[n] ?? 0)])) }));
    const lastDay = (points[points.length - 1]?.at ?? opts.asOf.toISOString()).slice(0, 10);
    let transitions: ReviewLifecycle['transitions'] = null;
    let snapshotDays = 0;
    try {
      const m = await readStageMoves(db, schema, def.name, (s.points[0]?.start ?? s.from).slice(0, 10), lastDay);
      transitions = m.moves;
      snapshotDays = m.days.length;
    } catch (e) {
      notes.push(`lifecycle ${def.name}: the recorded snapshots could not be read: ${message(e)}`);
    }
    lifecycles.push({ name: def.name, ...(def.description ? { description: def.description } : {}), ...(def.owner ? { owner: def.owner } : {}), stages: names, points, transitions, snapshot_days: snapshotDays });
    if (points.length && points[points.length - 1]!.at > last.at) last.at = points[points.length - 1]!.at;
  }

  // The review's instant: the last complete period end (the as-of when there is none).
  const reviewAt = last.at ? new Date(last.at) : opts.asOf;

  const cohorts: CohortPreview[] = [];
  for (const info of analysis.ofKind('Cohort')) {
    if (info.hasErrors) {
      notes.push(`cohort ${info.def.name} has errors and is left out`);
      continue;
    }
    try {
      cohorts.push((await preview(db, analysis, 'cohort', info.def.name, { asOf: reviewAt, timeoutMs })) as CohortPreview);
    } catch (e) {
      notes.push(`cohort ${info.def.name}: ${message(e)}`);
    }
  }
  const funnels: FunnelPreview[] = [];
  for (const info of analysis.ofKind('Funnel')) {
    if (info.hasErrors) {
      notes.push(`funnel ${info.def.name} has errors and is left out`);
      continue;
    }
    try {
      funnels.push((await preview(db, analysis, 'funnel', info.def.name, { asOf: reviewAt, timeoutMs })) as FunnelPreview);
    } catch (e) {
      notes.push(`funnel ${info.def.name}: ${message(e)}`);
    }
  }
  const campaigns: ReviewCampaign[] = [];
  for (const info of analysis.ofKind('Campaign')) {
    const def = info.def as CampaignDef;
    if (info.hasErrors) {
      notes.push(`campaign ${def.name} has errors and is left out`);
      continue;
    }
    try {
      const r = await reportCampaign(db, analysis, def.name, { asOf: reviewAt, timeoutMs });
      if (!r.variants.some((v) => v.enrolled > 0)) {
        notes.push(`campaign ${def.name}: nobody is enrolled by ${reviewAt.toISOString()} (\`tally run\` enrolls)`);
        continue;
      }
      campaigns.push({
        name: def.name,
        ...(def.owner ? { owner: def.owner } : {}),
        goal: r.goal ? `${r.goal.event ?? `any ${r.goal.stream} event`} within ${r.goal.within}` : null,
        holdout: r.holdout,
        variants: r.variants.map((v) => ({ name: v.name, holdout: v.holdout, enrolled: v.enrolled, converted: v.converted, rate: v.rate, low: v.interval?.low ?? null, high: v.interval?.high ?? null })),
        p_value: r.p_value,
        srm_mismatch: r.srm?.mismatch ?? false,
        notes: r.notes,
      });
    } catch (e) {
      notes.push(`campaign ${def.name}: ${message(e)}`);
    }
  }

  // What was deployed between the first period's start and the review's instant.
  const fromIso = firstStart || new Date(`${from}T00:00:00Z`).toISOString();
  const rangeFrom = new Date(fromIso).getTime();
  let deploys: ReviewData['deploys'] = [];
  try {
    deploys = (await readHistory(db, schema))
      .filter((d) => {
        const t = new Date(d.at).getTime();
        return t > rangeFrom && t <= reviewAt.getTime();
      })
      .map((d) => ({ id: d.id, at: d.at, who: d.who, git_commit: d.git_commit, definitions: d.definitions.map((x) => ({ kind: x.kind, name: x.name, version: x.version, dropped: x.dropped })) }));
  } catch (e) {
    notes.push(`the deploy history could not be read: ${message(e)}`);
  }

  return {
    kind: 'review',
    project: config.name,
    from: fromIso,
    to: reviewAt.toISOString(),
    every,
    as_of: reviewAt.toISOString(),
    timezone: config.timezone,
    stages,
    lifecycles,
    cohorts,
    funnels,
    campaigns,
    deploys,
    notes,
  };
}

/** One KPI's review entry from its series: status, pace line and gap as of the last period end (kpi/status.ts). */
export function reviewKpi(def: KpiDef, s: Pick<SeriesResult, 'points' | 'target' | 'baseline'>): ReviewKpi {
  const points = s.points.map((p) => ({ at: p.at, value: p.value, expected: p.pace ?? null }));
  const lastPoint = points[points.length - 1];
  const prev = points[points.length - 2];
  const ev = evaluateKpi(def, lastPoint?.value ?? null, lastPoint ? new Date(lastPoint.at) : new Date(0));
  const stage = (REVIEW_STAGES as readonly string[]).includes(def.funnel ?? '') ? (def.funnel as ReviewStage) : 'other';
  const delta = lastPoint && prev && lastPoint.value !== null && prev.value !== null ? lastPoint.value - prev.value : null;
  return {
    name: def.name,
    ...(def.description ? { description: def.description } : {}),
    ...(def.owner ? { owner: def.owner } : {}),
    stage,
    format: kpiFormat(def),
    ...(def.unit ? { unit: def.unit } : {}),
    points,
    ...(ev.target ? { target: { op: ev.target.op, value: Array.isArray(ev.target.value) ? [ev.target.value[0]!, ev.target.value[1]!] : (ev.target.value as number), ...(ev.target.by ? { by: ev.target.by } : {}) } } : {}),
    ...(s.baseline ? { baseline: { at: s.baseline.on, value: s.baseline.value } } : {}),
    value: ev.value,
    status: ev.status,
    expected: ev.expected,
    gap: ev.gap,
    change: lastPoint && prev ? { previous_at: prev.at, previous: prev.value, delta } : null,
  };
}

async function lastCheck(db: Db, schema: string, kpi: string, at: Date): Promise<ReviewKpi['last_check'] | undefined> {
  const h = await readKpiHistory(db, schema, kpi);
  const upTo = h.filter((p) => new Date(p.as_of).getTime() <= at.getTime());
  const p = upTo[upTo.length - 1];
  return p ? { as_of: new Date(p.as_of).toISOString(), value: p.value, status: p.status } : undefined;
}
