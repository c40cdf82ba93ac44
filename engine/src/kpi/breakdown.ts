// A KPI's groups (`breakdown:`): the rows of the breakdown query as `KpiGroup`s, each group with a
// target in `breakdown.targets` judged like the KPI (status.ts): its own comparison and baseline,
// `by` inherited from the KPI's target when omitted. The KPI's guardrail is the overall value's
// floor, not each group's: a group's status is never `failed`. Groups without a target carry no status.

import type { KpiDef } from '../model/types.js';
import { NULL_GROUP } from '../model/types.js';
import type { KpiGroup } from '../protocol.js';
import type { BreakdownRow } from '../sql/breakdown.js';
import { evaluateKpi } from './status.js';

/** The KPI definition a group's target is judged by, or undefined when the group has no target. */
export function groupDef(def: KpiDef, group: string): KpiDef | undefined {
  const t = def.breakdown?.targets.find((x) => x.group.name === group);
  if (!t) return undefined;
  return { ...def, guardrail: undefined, target: { ...t.target, by: t.target.by ?? def.target?.by } };
}

/** The display label of a breakdown row (what targets are keyed by); `mask` hides PII values. */
export function groupLabel(row: Pick<BreakdownRow, 'label' | 'kind'>, mask?: (v: string) => string): string {
  if (row.kind === 'null' || row.label === null) return NULL_GROUP;
  if (row.kind === 'other') return row.label;
  return mask ? mask(row.label) : row.label;
}

/**
 * The breakdown's overall row (kind `total`, see compileMetricBreakdown's `withTotal`) as the KPI's
 * value, and the group rows without it; `total` undefined when the statement has no such row.
 */
export function splitTotal(rows: readonly BreakdownRow[]): { groups: BreakdownRow[]; total?: number | null } {
  const t = rows.find((r) => r.kind === 'total');
  const groups = rows.filter((r) => r.kind !== 'total');
  if (!t) return { groups };
  const raw = t.value;
  return { groups, total: raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw) };
}

export function evaluateGroups(def: KpiDef, rows: readonly BreakdownRow[], asOf: Date, mask?: (v: string) => string): KpiGroup[] {
  return rows.filter((r) => r.kind !== 'total').map((r) => {
    const group = groupLabel(r);
    const raw = r.value;
    const value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
    const out: KpiGroup = { group: mask && r.kind === 'value' ? groupLabel(r, mask) : group, kind: r.kind as KpiGroup['kind'], size: Number(r.size), value };
    const gdef = groupDef(def, group);
    if (gdef) {
      const e = evaluateKpi(gdef, value, asOf);
      out.status = e.status;
      if (e.target) out.target = e.target;
      out.gap = e.gap;
    }
    return out;
  });
}
