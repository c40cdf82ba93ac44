// KPIs: the metric as IR and the SMART lint.
//
// A metric is one value over the whole population as of T (counts of entities, events, sums,
// averages, active entities, NPS, churn, retention, ratios of two metrics); its stream's entity is
// the one the events belong to (`streamEntity`). The lint checks the target, deadline, owner,
// description, funnel stage and guardrail; `compare` is the comparison KPI status uses as well.

import * as ir from '../ir/ir.js';
import type { IrMetric } from '../ir/ir.js';
import type { KpiDef, Metric, Ref } from '../model/types.js';
import type { YMap, YNode, YPair } from '../syntax/nodes.js';
import { cond, eventFilter, property } from './conditions.js';
import type { ResolveContext } from './context.js';
import { conversionMetric } from './funnel.js';
import { entityFor, irEntity, streamEntity } from './entities.js';
import { attributeRetention } from './cohort.js';
import { acquisitionMetric } from './acquisition.js';

/** A KPI's metric as IR: one value over the whole population as of T (ratios of two metrics included). */
export function kpiMetric(cx: ResolveContext, def: KpiDef, m: Metric, entityRef: Ref | undefined): IrMetric | undefined {
  switch (m.form) {
    case 'invalid':
      cx.markBroken();
      return undefined;
    case 'count': {
      const entity = entityFor(cx, def, entityRef);
      if (!entity) return undefined;
      return { k: 'count', entity: irEntity(entity), where: cond(cx, m.where, entity) };
    }
    case 'events':
    case 'active': {
      const r = eventFilter(cx, m.query, undefined);
      const entity = r && streamEntity(cx, r.stream);
      return entity && { k: m.form, entity, filter: r.filter };
    }
    case 'churn': {
      const r = eventFilter(cx, m.query, undefined, { window: false });
      const entity = r && streamEntity(cx, r.stream);
      if (!entity || !m.query.within) return undefined;
      return { k: 'churn', entity, filter: r.filter, period: ir.duration(m.query.within) };
    }
    case 'sum':
    case 'avg':
    case 'nps': {
      const r = eventFilter(cx, m.query, undefined);
      const entity = r && streamEntity(cx, r.stream);
      if (!r || !entity) return undefined;
      const p = property(cx, r.stream, m.property);
      if (!p) return undefined;
      if (p.type !== 'number' && p.type !== 'unknown') {
        cx.error('type-mismatch', m.property.span, `\`${m.form}\` needs a number but property '${m.property.name}' is ${p.type}${p.expr.k === 'eprop' ? `; declare \`property_types: { ${m.property.name}: number }\`` : ''}`);
        return undefined;
      }
      return m.form === 'nps' ? { k: 'nps', entity, filter: r.filter, value: p.expr } : { k: m.form, entity, filter: r.filter, value: p.expr };
    }
    case 'count_distinct': {
      const r = eventFilter(cx, m.query, undefined);
      const entity = r && streamEntity(cx, r.stream);
      if (!r || !entity) return undefined;
      const p = property(cx, r.stream, m.property);
      return p && { k: 'count_distinct', entity, filter: r.filter, value: p.expr };
    }
    case 'ratio': {
      const n = kpiMetric(cx, def, m.numerator, entityRef);
      const d = kpiMetric(cx, def, m.denominator, entityRef);
      return n && d && { k: 'ratio', numerator: n, denominator: d };
    }
    case 'retention': {
      if (m.cohortAttribute) return attributeRetention(cx, def, m, entityRef);
      const c = eventFilter(cx, m.cohort, undefined, { window: false });
      const r = eventFilter(cx, m.returning, undefined, { window: false });
      const entity = c && streamEntity(cx, c.stream);
      if (!c || !r || !entity || !m.cohort.within) return undefined;
      if (m.returning.within) cx.warn('ignored-key', m.returning.withinSpan ?? m.returning.span, '`within` on the return events is ignored: `days` sets the return window');
      if (m.cohort.within.ms <= m.days * 86_400_000)
        cx.warn('empty-cohort-window', m.cohort.withinSpan ?? m.cohort.span, `the cohort window (${m.cohort.within.text}) is not longer than the ${m.days}-day return window, so the cohort is always empty; make it longer than ${m.days}d`);
      return { k: 'retention', entity, cohort: c.filter, cohortWithin: ir.duration(m.cohort.within), returning: r.filter, days: m.days };
    }
    case 'conversion':
      return conversionMetric(cx, m);
    case 'csat':
    case 'cost':
    case 'cac':
    case 'roas':
      return acquisitionMetric(cx, def, m, entityRef);
  }
}

/** SMART lint: a target with a deadline, owner, description, funnel stage and guardrail that make sense together. */
export function lintKpi(cx: ResolveContext, def: KpiDef): void {
  const t = def.target;
  if (!t) {
    cx.error('smart-no-target', def.nameSpan, 'a KPI needs a `target` (for example `target: { gte: 0.35, by: 2027-03-31 }`) so its status can be judged');
  } else {
    const byWritten = t.by !== undefined || hasKey(def.node, ['target', 'by']);
    if (!byWritten) cx.error('smart-not-time-bound', t.span, 'the target has no deadline: add `by: <date>` so it is time-bound');
    else if (t.by && t.by.date.getTime() < cx.options.now.getTime()) cx.warn('smart-deadline-past', t.by.span, `the deadline ${t.by.text} has already passed`);
    if (t.comparison && t.baseline && compare(t.baseline.value, t.comparison)) {
      const aim = t.comparison.op === 'gte' || t.comparison.op === 'gt' ? 'aim higher' : t.comparison.op === 'lte' || t.comparison.op === 'lt' ? 'aim lower' : 'set a target that needs work';
      cx.warn('smart-already-met', t.baseline.span, `the baseline (${t.baseline.value}) already meets the target; ${aim}`);
    }
    if (t.comparison && def.guardrail && t.comparison.op !== 'between' && t.comparison.op !== 'eq') {
      const dirT = t.comparison.op === 'gte' || t.comparison.op === 'gt' ? 1 : -1;
      const dirG = def.guardrail.op === 'gte' || def.guardrail.op === 'gt' ? 1 : -1;
      const tv = t.comparison.value as number;
      const gv = def.guardrail.value as number;
      if (dirT !== dirG) cx.warn('guardrail-direction', def.guardrail.span, `the guardrail points the other way from the target (${def.guardrail.op} vs ${t.comparison.op}); a guardrail is the floor (or ceiling) on the same side`);
      else if (dirT * (gv - tv) > 0) cx.warn('guardrail-stricter', def.guardrail.span, `the guardrail (${def.guardrail.op} ${gv}) is stricter than the target (${t.comparison.op} ${tv}): meeting the target would still fail CI`);
    }
    if (t.baseline && t.by && t.baseline.on.getTime() >= t.by.date.getTime()) cx.error('bad-value', t.baseline.span, 'the baseline date must be before the deadline');
  }
  if (!def.owner) cx.warn('smart-no-owner', def.nameSpan, 'no `owner`: say which team is accountable for this KPI');
  if (!def.description) cx.warn('smart-no-description', def.nameSpan, 'no `description`: say what this KPI measures and why it matters');
  if (!def.funnel) cx.warn('smart-no-funnel', def.nameSpan, 'no `funnel`: say which stage it serves (acquisition, activation, retention, revenue, referral)');
  if (!def.guardrail && !hasKey(def.node, ['guardrail'])) cx.warn('smart-no-guardrail', def.nameSpan, 'no `guardrail`: add a floor (or ceiling) that fails CI, for example `guardrail: { gte: 0.25 }`');
}

function hasKey(root: YMap, path: string[]): boolean {
  let node: YNode = root;
  for (const k of path) {
    if (node.kind !== 'map') return false;
    const p: YPair | undefined = node.pairs.find((x) => x.key.value === k);
    if (!p) return false;
    node = p.value;
  }
  return true;
}

/** Whether a value satisfies a comparison. */
export function compare(value: number, c: { op: string; value: number | readonly [number, number] }): boolean {
  const v = c.value;
  switch (c.op) {
    case 'gte':
      return value >= (v as number);
    case 'gt':
      return value > (v as number);
    case 'lte':
      return value <= (v as number);
    case 'lt':
      return value < (v as number);
    case 'eq':
      return value === v;
    case 'between':
      return value >= (v as [number, number])[0] && value <= (v as [number, number])[1];
    default:
      return false;
  }
}
