// The acquisition and satisfaction KPI forms -> IR, and the Costs rule.
//
// `csat` is its own metric (one scan of the survey events). The spend forms are built from leaves
// the compiler already has plus one new leaf, `cost` (the sum of a cost source's amount in the
// window): `cac` = cost / count of the entities acquired in the window (a timestamp attribute in
// the window, or a first matching event in it), `roas` = sum of the revenue property / cost. So a
// breakdown, the NULL on a zero denominator and the existence rule come from the ratio and its
// leaves, the same as for every other form.

import * as ir from '../ir/ir.js';
import type { IrCosts, IrMetric } from '../ir/ir.js';
import type { CostsDef, KpiDef, Metric, Ref } from '../model/types.js';
import { attribute, eventFilter, property } from './conditions.js';
import { catalogTable, checkColumn } from './catalog-checks.js';
import type { ResolveContext } from './context.js';
import { entityFor, irEntity, streamEntity } from './entities.js';
import { costsFx } from './currency.js';

/** The Costs rule: its table and columns exist, with a date/timestamp time and a number amount. */
export function checkCosts(cx: ResolveContext, def: CostsDef): void {
  const t = catalogTable(cx, def.table, true);
  checkColumn(cx, t, def.time, 'the time column', ['timestamp']);
  checkColumn(cx, t, def.amount, 'the amount column', ['number']);
  checkColumn(cx, t, def.channel, 'the channel column');
  checkColumn(cx, t, def.currency, 'the currency column', ['string']);
}

function irCosts(def: CostsDef): IrCosts {
  return { name: def.name, table: { schema: def.table.schema, name: def.table.name }, time: def.time.name, amount: def.amount.name, ...(def.channel ? { channel: def.channel.name } : {}) };
}

function costLeaf(cx: ResolveContext, ref: Ref, within: NonNullable<Extract<Metric, { form: 'cost' }>['within']>): IrMetric | undefined {
  const def = cx.lookup('Costs', ref);
  if (!def) return undefined;
  const fx = costsFx(cx, def, ref);
  if (fx === 'refused') return undefined;
  return { k: 'cost', costs: fx ? { ...irCosts(def), fx } : irCosts(def), within: ir.duration(within) };
}

type AcquisitionMetric = Extract<Metric, { form: 'csat' | 'cost' | 'cac' | 'roas' }>;

export function acquisitionMetric(cx: ResolveContext, def: KpiDef, m: AcquisitionMetric, entityRef: Ref | undefined): IrMetric | undefined {
  switch (m.form) {
    case 'csat': {
      const r = eventFilter(cx, m.query, undefined);
      const entity = r && streamEntity(cx, r.stream);
      if (!r || !entity) return undefined;
      const p = property(cx, r.stream, m.property);
      if (!p) return undefined;
      if (p.type !== 'number' && p.type !== 'unknown') {
        cx.error('type-mismatch', m.property.span, `\`csat\` needs a number rating but property '${m.property.name}' is ${p.type}${p.expr.k === 'eprop' ? `; declare \`property_types: { ${m.property.name}: number }\`` : ''}`);
        return undefined;
      }
      return { k: 'csat', entity, filter: r.filter, value: p.expr, low: m.scale[0], high: m.scale[1], op: m.satisfied.op, threshold: m.satisfied.value };
    }
    case 'cost':
      return costLeaf(cx, m.costs, m.within);
    case 'cac': {
      const cost = costLeaf(cx, m.costs, m.within);
      const since: ir.IrTime = { k: 'asof', minusMs: m.within.ms, minus: ir.duration(m.within) };
      if ('attribute' in m.acquired) {
        const entity = entityFor(cx, def, entityRef);
        if (!entity) return undefined;
        const a = attribute(cx, entity, m.acquired.attribute);
        if (!a) return undefined;
        if (a.type !== 'timestamp' && a.type !== 'unknown') {
          cx.error('type-mismatch', m.acquired.attribute.span, `\`acquired\` needs a timestamp attribute (when the customer was acquired), but '${m.acquired.attribute.name}' is a ${a.type}`);
          return undefined;
        }
        // (T - within, T]: the same window as the spend; NULL is never acquired.
        const where = ir.and([
          { k: 'cmp', op: 'gt', a: a.expr, b: { k: 'time', at: since } },
          { k: 'cmp', op: 'lte', a: a.expr, b: { k: 'time', at: { k: 'asof', minusMs: 0 } } },
        ]);
        return cost && { k: 'ratio', numerator: cost, denominator: { k: 'count', entity: irEntity(entity), where } };
      }
      // The first matching event ever (up to T) lies in the window.
      const r = eventFilter(cx, m.acquired.query, undefined, { window: false });
      const entity = r && streamEntity(cx, r.stream);
      if (!r || !entity) return undefined;
      const first: ir.IrExpr = { k: 'agg', agg: { fn: 'min', filter: r.filter, value: { k: 'ecol', col: r.stream.time.name, type: 'timestamp' }, zeroWhenNone: false } };
      const where: ir.IrCond = { k: 'cmp', op: 'gt', a: first, b: { k: 'time', at: since } };
      return cost && { k: 'ratio', numerator: cost, denominator: { k: 'count', entity, where } };
    }
    case 'roas': {
      const cost = costLeaf(cx, m.costs, m.within);
      const r = eventFilter(cx, { ...m.revenue, within: m.within }, undefined);
      const entity = r && streamEntity(cx, r.stream);
      if (!r || !entity) return undefined;
      const p = property(cx, r.stream, m.property);
      if (!p) return undefined;
      if (p.type !== 'number' && p.type !== 'unknown') {
        cx.error('type-mismatch', m.property.span, `\`revenue\` sums a number but property '${m.property.name}' is ${p.type}${p.expr.k === 'eprop' ? `; declare \`property_types: { ${m.property.name}: number }\`` : ''}`);
        return undefined;
      }
      return cost && { k: 'ratio', numerator: { k: 'sum', entity, filter: r.filter, value: p.expr }, denominator: cost };
    }
  }
}

/** Whether a metric reads a cost source (a breakdown then needs groups that are channels). */
export function hasCost(m: IrMetric): boolean {
  return m.k === 'cost' || (m.k === 'ratio' && (hasCost(m.numerator) || hasCost(m.denominator)));
}

/** The cost sources a metric reads. */
export function costSources(m: IrMetric, out: IrCosts[] = []): IrCosts[] {
  if (m.k === 'cost') out.push(m.costs);
  else if (m.k === 'ratio') {
    costSources(m.numerator, out);
    costSources(m.denominator, out);
  }
  return out;
}
