// KPI target status at T (LANGUAGE.md §6), a pure function of the value and the definition.
//
// met: the value satisfies the target. Else missed when T is past the deadline. Else, with a
// baseline, on_track when the value is at least as good as the straight pace line from
// (baseline.on, baseline.value) to (by, target) at T, at_risk otherwise; with no baseline, at_risk.
// A violated guardrail makes it failed, whatever the target says. A NULL value (an empty cohort, a
// zero denominator) meets nothing and violates nothing.

import type { Comparison, KpiDef, Metric } from '../model/types.js';
import { compare } from '../resolve/resolve.js';
import { formatValueAs } from '../format-values.js';

export type KpiStatus = 'met' | 'on_track' | 'at_risk' | 'missed' | 'failed';

export interface KpiEvaluation {
  readonly value: number | null;
  readonly status: KpiStatus;
  /** The pace line's value at T (null without a baseline and deadline). */
  readonly expected: number | null;
  /** value - (target or expected), in the direction where positive is good; null if unknown. */
  readonly gap: number | null;
  readonly guardrail_violated: boolean;
  readonly target?: { op: string; value: number | readonly [number, number]; by?: string };
}

/** +1 when higher is better, -1 when lower is better, 0 when closeness matters (eq, between). */
export function direction(c: Comparison): 1 | -1 | 0 {
  return c.op === 'gte' || c.op === 'gt' ? 1 : c.op === 'lte' || c.op === 'lt' ? -1 : 0;
}

function targetPoint(c: Comparison): number {
  return Array.isArray(c.value) ? ((c.value as number[])[0]! + (c.value as number[])[1]!) / 2 : (c.value as number);
}

/** The deadline instant: a bare date means the end of that day (the target is due *by* it). */
export function deadlineOf(def: KpiDef): Date | undefined {
  const by = def.target?.by;
  if (!by) return undefined;
  return by.dateOnly ? new Date(by.date.getTime() + 86_400_000) : by.date;
}

export function evaluateKpi(def: KpiDef, value: number | null, asOf: Date): KpiEvaluation {
  const t = def.target;
  const c = t?.comparison;
  const guardrail_violated = value !== null && def.guardrail !== undefined && !compare(value, def.guardrail);
  const deadline = deadlineOf(def);
  let expected: number | null = null;
  if (c && t?.baseline && deadline) {
    const start = t.baseline.on.getTime();
    const end = deadline.getTime();
    const goal = targetPoint(c);
    const f = end > start ? Math.min(1, Math.max(0, (asOf.getTime() - start) / (end - start))) : 1;
    expected = t.baseline.value + (goal - t.baseline.value) * f;
  }
  let status: KpiStatus;
  if (value !== null && c && compare(value, c)) status = 'met';
  else if (deadline && asOf.getTime() >= deadline.getTime()) status = 'missed';
  else if (value !== null && c && expected !== null) {
    const dir = direction(c);
    const good = dir === 1 ? value >= expected : dir === -1 ? value <= expected : Math.abs(value - targetPoint(c)) <= Math.abs(expected - targetPoint(c));
    status = good ? 'on_track' : 'at_risk';
  } else status = 'at_risk';
  if (guardrail_violated) status = 'failed';
  let gap: number | null = null;
  if (value !== null && c) {
    const ref = expected ?? targetPoint(c);
    const dir = direction(c);
    gap = dir === 0 ? -Math.abs(value - targetPoint(c)) : dir * (value - ref);
  }
  return {
    value,
    status,
    expected,
    gap,
    guardrail_violated,
    ...(c ? { target: { op: c.op, value: c.value, ...(t?.by ? { by: t.by.text } : {}) } } : {}),
  };
}

/** How a KPI's values read: its `format`, else percent for shares (retention, churn, CSAT, count/count ratios), currency for spend and CAC; ROAS is a number (revenue per unit spent). */
export function kpiFormat(def: KpiDef): 'number' | 'percent' | 'currency' {
  if (def.format) return def.format;
  const m = def.metric;
  if (m.form === 'retention' || m.form === 'churn' || m.form === 'csat') return 'percent';
  if (m.form === 'cost' || m.form === 'cac') return 'currency';
  const countLike = (x: Metric) => x.form === 'count' || x.form === 'active' || x.form === 'events';
  if (m.form === 'ratio' && countLike(m.numerator) && countLike(m.denominator)) return 'percent';
  if ((m.form === 'sum' || m.form === 'avg') && /revenue|amount|value|price/.test(m.property.name)) return 'currency';
  return 'number';
}

/** A KPI value for people: 0.312 -> "31.2%", 1234.5 -> "1,234.50", null -> "no data". */
export function formatKpiValue(def: KpiDef, v: number | null): string {
  return formatValueAs(v, kpiFormat(def));
}
