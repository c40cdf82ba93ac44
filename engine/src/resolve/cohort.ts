// Cohort retention tables (`kind: Cohort`) and the KPI retention form's attribute cohort -> IR.
//
// The cohort instant is a timestamp attribute of the entity or the entity's first matching event;
// the return events must belong to the same entity. Periods are cut in the project time zone,
// which the IR carries (dialect-free: sql/ renders the truncation).

import * as ir from '../ir/ir.js';
import type { IrCohort, IrEntity, IrExpr, IrMetric } from '../ir/ir.js';
import type { CohortDef, EntityDef, KpiDef, Metric, Ref } from '../model/types.js';
import { attribute, eventFilter } from './conditions.js';
import type { Body, ResolveContext } from './context.js';
import { entityFor, irEntity, streamEntity } from './entities.js';

export function resolveCohort(cx: ResolveContext, def: CohortDef): Body {
  if (!def.cohort || !def.returning || !def.returns || def.count < 1) {
    cx.markBroken();
    return {};
  }
  let entity: IrEntity | undefined;
  let source: IrCohort['source'] | undefined;
  if ('attribute' in def.cohort) {
    const e = entityFor(cx, def, def.entity);
    if (!e) return {};
    entity = irEntity(e);
    const at = timestampAttribute(cx, e, def.cohort.attribute);
    if (at) source = { k: 'attribute', value: at };
  } else {
    const declared = def.entity ? cx.lookup('Entity', def.entity) : undefined;
    const r = eventFilter(cx, def.cohort.query, declared, { window: false });
    entity = r && streamEntity(cx, r.stream);
    if (r && entity && declared && entity.name !== declared.name) {
      cx.error('entity-mismatch', def.cohort.query.span, `the cohort events (Events '${r.stream.name}') belong to entity '${entity.name}', not '${declared.name}'`);
      return {};
    }
    if (r) source = { k: 'event', filter: r.filter };
  }
  if (!entity || !source) return {};
  const ret = eventFilter(cx, def.returning, undefined, { window: false });
  const retEntity = ret && streamEntity(cx, ret.stream);
  if (!ret || !retEntity) return {};
  if (retEntity.name !== entity.name) {
    cx.error('entity-mismatch', def.returning.span, `the return events (Events '${ret.stream.name}') belong to entity '${retEntity.name}', but the cohorts are of '${entity.name}'`);
    return {};
  }
  const cohort: IrCohort = {
    entity,
    source,
    every: def.every,
    count: def.count,
    timezone: cx.options.timezone,
    returning: ret.filter,
    returns: def.returns.unit === 'days' ? { unit: 'days', offsets: [...def.returns.offsets] } : { unit: def.returns.unit, count: def.returns.count },
  };
  return { entity, cohort };
}

/** A timestamp attribute as the cohort instant; a type error when the attribute is known not to be one. */
function timestampAttribute(cx: ResolveContext, e: EntityDef, ref: Ref): IrExpr | undefined {
  const a = attribute(cx, e, ref);
  if (!a) return undefined;
  if (a.type !== 'timestamp' && a.type !== 'unknown') {
    cx.error('type-mismatch', ref.span, `the cohort instant must be a timestamp, but attribute '${ref.name}' is ${a.type}`);
    return undefined;
  }
  return a.expr;
}

/** The KPI retention form with `cohort: { attribute: ..., within: ... }`. */
export function attributeRetention(cx: ResolveContext, def: KpiDef, m: Extract<Metric, { form: 'retention' }>, entityRef: Ref | undefined): IrMetric | undefined {
  const c = m.cohortAttribute!;
  const e = entityFor(cx, def, entityRef);
  if (!e) return undefined;
  const at = timestampAttribute(cx, e, c.attribute);
  const r = eventFilter(cx, m.returning, undefined, { window: false });
  const retEntity = r && streamEntity(cx, r.stream);
  if (!at || !r || !retEntity) return undefined;
  if (retEntity.name !== e.name) {
    cx.error('entity-mismatch', m.returning.span, `the return events (Events '${r.stream.name}') belong to entity '${retEntity.name}', but the cohort is of '${e.name}'`);
    return undefined;
  }
  if (m.returning.within) cx.warn('ignored-key', m.returning.withinSpan ?? m.returning.span, '`within` on the return events is ignored: `days` sets the return window');
  if (c.within.ms <= m.days * 86_400_000)
    cx.warn('empty-cohort-window', c.withinSpan, `the cohort window (${c.within.text}) is not longer than the ${m.days}-day return window, so the cohort is always empty; make it longer than ${m.days}d`);
  return { k: 'attribute-retention', entity: irEntity(e), cohortAt: at, cohortWithin: ir.duration(c.within), returning: r.filter, days: m.days };
}
