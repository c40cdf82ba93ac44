// Series: a definition's figures over a range of periods, each evaluated as of its end (the next
// period's start, midnight in the project time zone), in ONE read-only statement per definition
// (series/sql.ts) under a statement timeout, like previews. A point equals the preview as of its
// `at`: the same compiled query, with T a column of the periods instead of a parameter.
// Bad requests are diagnostics with stable codes (series-*), never throws.

import type { Analysis } from '../project.js';
import type { Db } from '../db/db.js';
import type { Diagnostic, DiagnosticCode } from '../diagnostics.js';
import type { KpiDef, LifecycleDef, ScoreDef } from '../model/types.js';
import { KIND_OF, SERIES_EVERY, SERIES_KINDS, type SeriesEvery, type SeriesKind, type SeriesOutcome, type SeriesPoint, type SeriesResult } from '../protocol.js';
import { compileDistribution, compileMemberCount, compileMetric, compileValuePreview, type SqlOptions } from '../sql/compile.js';
import { compileMetricBreakdown } from '../sql/breakdown.js';
import { bandCase } from '../resolve/bands.js';
import { deadlineOf, direction, evaluateKpi, kpiFormat } from '../kpi/status.js';
import { groupLabel } from '../kpi/breakdown.js';
import { maskValue, piiColumns } from '../preview/preview.js';
import type { EntityDef } from '../model/types.js';
import { didYouMean } from '../suggest.js';
import { parseInstant } from '../time.js';
import { seriesOptions, seriesStatement } from './sql.js';
import { compileRaw } from '../sql/kysely.js';

export interface SeriesRequest {
  readonly kind: SeriesKind;
  readonly name: string;
  /** The first and last day the periods cover: dates (YYYY-MM-DD, in the project time zone) or ISO instants. */
  readonly from: string;
  readonly to: string;
  readonly every: SeriesEvery;
  /** The statement timeout (ms); 30 s by default. */
  readonly timeoutMs?: number;
}

/** The most periods one series evaluates (bounded work: 1,000 days is almost three years). */
export const MAX_SERIES_POINTS = 1000;

const DAY_MS = 86_400_000;
const PERIOD_DAYS: Record<SeriesEvery, number> = { day: 1, week: 7, month: 28 };

function argDiagnostic(code: DiagnosticCode, message: string): Diagnostic {
  return { file: '', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: 'error', code, message };
}

const num = (raw: unknown): number | null => (raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw));
const iso = (v: unknown): string => new Date(v as string | Date).toISOString();

/** Checks a request against the project: the kind, the name, the dates, the length. */
function checkRequest(analysis: Analysis, req: SeriesRequest): { diagnostics: Diagnostic[]; from?: Date; to?: Date } {
  const out: Diagnostic[] = [];
  if (!(SERIES_KINDS as readonly string[]).includes(req.kind)) {
    out.push(argDiagnostic('series-kind', `cannot compute a series of '${req.kind}'; kinds: ${SERIES_KINDS.join(', ')}`));
    return { diagnostics: out };
  }
  if (!(SERIES_EVERY as readonly string[]).includes(req.every)) out.push(argDiagnostic('series-every', `--every '${req.every}' is not a period; write ${SERIES_EVERY.join(', ')}`));
  const tz = analysis.project.config.timezone;
  const from = parseInstant(req.from, tz)?.date;
  const to = parseInstant(req.to, tz)?.date;
  if (!from) out.push(argDiagnostic('series-bad-date', `--from '${req.from}' is not a date; write an ISO date such as 2026-01-01`));
  if (!to) out.push(argDiagnostic('series-bad-date', `--to '${req.to}' is not a date; write an ISO date such as 2026-12-31`));
  if (from && to && from.getTime() > to.getTime()) out.push(argDiagnostic('series-range', `--from ${req.from} is after --to ${req.to}; the range is empty`));
  else if (from && to && out.length === 0) {
    const periods = Math.floor((to.getTime() - from.getTime()) / (PERIOD_DAYS[req.every] * DAY_MS)) + 1;
    if (periods > MAX_SERIES_POINTS) out.push(argDiagnostic('series-too-long', `${req.from}..${req.to} by ${req.every} is about ${periods} periods; a series has at most ${MAX_SERIES_POINTS} (shorten the range or use a longer --every)`));
  }
  const info = analysis.get(KIND_OF[req.kind], req.name);
  if (!info) {
    const names = analysis.ofKind(KIND_OF[req.kind]).map((i) => i.def.name);
    const dym = didYouMean(req.name, names);
    out.push(argDiagnostic('series-not-found', `no ${req.kind} named '${req.name}'${dym.text || (names.length ? `; there are: ${names.join(', ')}` : `; the project has no ${req.kind}s`)}`));
  } else if (info.hasErrors || !info.resolved.query) {
    out.push(argDiagnostic('series-invalid', `${req.kind} '${req.name}' has errors; run \`tally validate\` and fix them first`));
  }
  return { diagnostics: out, from, to };
}

/** The query a series evaluates per period and how a row of it becomes a point's value and groups. */
interface Plan {
  readonly inner: string;
  /** T-free CTEs of the query, evaluated once for every period (SqlOptions.hoist). */
  readonly hoisted?: readonly string[];
  /** Folds the rows of one period into its value and groups. */
  readonly point: (rows: readonly Record<string, unknown>[]) => { value: number | null; groups?: Record<string, number | null> };
  readonly groups?: string[];
}

function planFor(analysis: Analysis, req: SeriesRequest): Plan | Diagnostic {
  const info = analysis.get(KIND_OF[req.kind], req.name)!;
  const q = info.resolved.query!;
  const opts = seriesOptions();
  if (req.kind === 'segment' && q.k === 'members') {
    return { inner: compileMemberCount(q, opts).sql, point: (rows) => ({ value: Number(rows[0]?.count ?? 0) }) };
  }
  if (req.kind === 'lifecycle' && q.k === 'values') {
    const stages = (info.def as LifecycleDef).stages.map((s) => s.name.name);
    return {
      inner: compileDistribution(q, opts).sql,
      groups: stages,
      point: (rows) => {
        const groups: Record<string, number | null> = Object.fromEntries(stages.map((s) => [s, 0]));
        let total = 0;
        for (const r of rows) {
          if (r.count === null || r.count === undefined) continue;
          if (r.value !== null && r.value !== undefined) groups[String(r.value)] = Number(r.count);
          total += Number(r.count);
        }
        return { value: total, groups };
      },
    };
  }
  if (req.kind === 'score' && q.k === 'values') {
    const def = info.def as ScoreDef;
    const quantiles = def.quantiles;
    const banded = def.bands.length > 0 || quantiles !== undefined;
    const names = quantiles ? Array.from({ length: quantiles.n }, (_x, i) => `q${i + 1}`) : def.bands.map((b) => b.name.name);
    const inner = compileValuePreview(q, opts, 0, quantiles ? { quantiles: quantiles.n } : banded ? bandCase(def, { k: 'col', col: 'value', type: 'number' }) : undefined).sql;
    return {
      inner,
      ...(banded ? { groups: names } : {}),
      point: (rows) => {
        const first = rows[0];
        const value = Number(first?.count ?? 0);
        if (!banded) return { value };
        const counts = (typeof first?.buckets === 'string' ? JSON.parse(first.buckets) : first?.buckets ?? {}) as Record<string, unknown>;
        const groups: Record<string, number | null> = {};
        names.forEach((n, i) => (groups[n] = Number(counts[quantiles ? String(i + 1) : n] ?? 0)));
        return { value, groups };
      },
    };
  }
  if (req.kind === 'kpi' && q.k === 'metric') {
    const def = info.def as KpiDef;
    const hoist: NonNullable<SqlOptions['hoist']> = [];
    const metric = compileMetric(q.metric, { ...opts, hoist }).sql;
    const hoisted = hoist.map((h) => compileRaw(h).sql);
    if (!q.breakdown || !def.breakdown) return { inner: metric, hoisted, point: (rows) => ({ value: num(rows[0]?.value) }) };
    // The groups in the same statement: the breakdown query's rows folded into one JSON array per period.
    const bd = compileMetricBreakdown(q.metric, q.breakdown, opts).sql;
    const entity = analysis.get('Entity', q.breakdown.entity.name)?.def as EntityDef | undefined;
    const by = def.breakdown.by;
    const pii = by.k === 'attribute' && entity && q.breakdown.by.k === 'value' && q.breakdown.by.value.k === 'col' && piiColumns(entity).has(q.breakdown.by.value.col);
    const mask = pii ? (v: string) => String(maskValue(v)) : undefined;
    return {
      hoisted,
      inner: `select m.value, (select json_agg(json_build_object('label', b.label, 'kind', b.kind, 'value', b.value)) from (${bd}) as b) as groups from (${metric}) as m`,
      point: (rows) => {
        const r = rows[0];
        const list = (typeof r?.groups === 'string' ? JSON.parse(r.groups) : r?.groups ?? []) as { label: string | null; kind: 'value' | 'null' | 'other'; value: unknown }[];
        const groups: Record<string, number | null> = {};
        for (const g of list) groups[groupLabel(g, mask)] = num(g.value);
        return { value: num(r?.value), groups };
      },
    };
  }
  return argDiagnostic('series-kind', `cannot compute a series of ${req.kind} '${req.name}'`);
}

export async function computeSeries(db: Db, analysis: Analysis, req: SeriesRequest): Promise<SeriesOutcome> {
  const checked = checkRequest(analysis, req);
  if (checked.diagnostics.length || !checked.from || !checked.to) return { diagnostics: checked.diagnostics };
  const plan = planFor(analysis, req);
  if ('code' in plan) return { diagnostics: [plan] };
  const tz = analysis.project.config.timezone;
  const stmt = seriesStatement(plan.inner, req.every, checked.from, checked.to, tz, plan.hoisted);
  const rows = await db.transaction((tx) => tx.query<Record<string, unknown>>(stmt.sql, stmt.parameters), { readOnly: true, timeoutMs: req.timeoutMs ?? 30_000 });
  // Rows come ordered by period; a period's rows are adjacent.
  const byPeriod: { start: string; at: string; rows: Record<string, unknown>[] }[] = [];
  for (const r of rows.rows) {
    const at = iso(r.__tally_at);
    const last = byPeriod[byPeriod.length - 1];
    if (last && last.at === at) last.rows.push(r);
    else byPeriod.push({ start: iso(r.__tally_start), at, rows: [r] });
  }
  const info = analysis.get(KIND_OF[req.kind], req.name)!;
  const kpi = req.kind === 'kpi' ? (info.def as KpiDef) : undefined;
  const groupNames = plan.groups ? [...plan.groups] : [];
  const points: SeriesPoint[] = byPeriod.map((p) => {
    const { value, groups } = plan.point(p.rows);
    const point: SeriesPoint = { at: p.at, start: p.start, value, ...(groups ? { groups } : {}) };
    if (groups) for (const g of Object.keys(groups)) if (!groupNames.includes(g)) groupNames.push(g);
    if (kpi) {
      const e = evaluateKpi(kpi, value, new Date(p.at));
      point.pace = e.expected;
      point.status = e.status;
    }
    return point;
  });
  const result: SeriesResult = {
    kind: req.kind,
    name: req.name,
    every: req.every,
    from: byPeriod[0]?.start ?? checked.from.toISOString(),
    to: byPeriod[byPeriod.length - 1]?.at ?? checked.to.toISOString(),
    timezone: tz,
    points,
    ...(groupNames.length ? { groups: groupNames } : {}),
    ...(kpi ? kpiFacts(kpi) : {}),
    sql: stmt.sql,
  };
  return { result, diagnostics: [] };
}

/** A KPI's target, baseline, pace line, direction and labels beside its series. */
function kpiFacts(def: KpiDef): Partial<SeriesResult> {
  const t = def.target;
  const c = t?.comparison;
  const due = deadlineOf(def);
  const out: Partial<SeriesResult> = { format: kpiFormat(def) };
  if (def.unit) out.unit = def.unit;
  if (def.owner) out.owner = def.owner;
  if (def.funnel) out.funnel = def.funnel;
  if (c) {
    out.direction = direction(c);
    out.target = { op: c.op, value: Array.isArray(c.value) ? [(c.value as number[])[0]!, (c.value as number[])[1]!] : (c.value as number), ...(t?.by ? { by: t.by.text } : {}), ...(due ? { due: due.toISOString() } : {}) };
  }
  if (t?.baseline) out.baseline = { value: t.baseline.value, on: t.baseline.on.toISOString() };
  if (c && t?.baseline && due) {
    const goal = Array.isArray(c.value) ? ((c.value as number[])[0]! + (c.value as number[])[1]!) / 2 : (c.value as number);
    out.pace = { from: { at: t.baseline.on.toISOString(), value: t.baseline.value }, to: { at: due.toISOString(), value: goal } };
  }
  return out;
}
