// Lowering of the acquisition and satisfaction KPI forms (`csat`, `cost`, `cac`, `roas`) and of
// `kind: Costs` (a cost source): what the schema cannot say well (the rating scale's order, which
// of `attribute` and an event query says who was acquired, a window where one is needed).

import type { DiagnosticSink, Span } from '../diagnostics.js';
import { getPair, type YMap, type YNode } from '../syntax/nodes.js';
import type { Duration } from '../time.js';
import type { CostsDef, DefinitionBase, EventQuery, Metric, Ref, TableRef } from './types.js';

/** The readers of lower.ts's Lowerer this file uses (an interface, so no import cycle). */
interface Lowerer {
  optRef(map: YMap, key: string): Ref | undefined;
  eventQuery(node: YMap, allowAggregate: boolean, extra?: readonly string[]): EventQuery;
  duration(n: YNode): Duration | undefined;
}

export const ACQUISITION_FORMS = ['csat', 'cost', 'cac', 'roas'] as const;
export type AcquisitionForm = (typeof ACQUISITION_FORMS)[number];

/** `kind: Costs`: table, time, amount, optional channel. */
export function lowerCosts(l: Lowerer, base: DefinitionBase, root: YMap): CostsDef {
  const r = l.optRef(root, 'table');
  const dot = r ? r.name.indexOf('.') : -1;
  const table: TableRef = !r ? { name: '', span: root.span } : dot > 0 ? { schema: r.name.slice(0, dot), name: r.name.slice(dot + 1), span: r.span } : { name: r.name, span: r.span };
  return {
    ...base,
    kind: 'Costs',
    table,
    time: l.optRef(root, 'time') ?? { name: 'spent_on', span: root.span },
    amount: l.optRef(root, 'amount') ?? { name: 'amount', span: root.span },
    channel: l.optRef(root, 'channel'),
    currency: l.optRef(root, 'currency'),
  };
}

/** One of the forms above, from its mapping `v` (`keySpan`: the form's key, where a missing part is reported). */
export function lowerAcquisitionMetric(l: Lowerer, sink: DiagnosticSink, form: AcquisitionForm, v: YMap, keySpan: Span, span: Span): Metric {
  const invalid: Metric = { form: 'invalid', span };
  if (form === 'csat') {
    const property = l.optRef(v, 'property');
    if (!property) {
      sink.error('missing-property', keySpan, '`csat` needs `property`: the event property holding the rating (for example `property: rating`)');
      return invalid;
    }
    if (!getPair(v, 'within')) sink.error('missing-window', keySpan, '`csat` needs `within` (for example `within: 30d`): CSAT is measured over recent answers');
    const scale = readScale(sink, v);
    const satisfied = readSatisfied(sink, v, scale);
    if (!scale || !satisfied) return invalid;
    return { form, query: l.eventQuery(v, false, ['property', 'scale', 'satisfied']), property, scale, satisfied, span };
  }
  const costs = l.optRef(v, 'costs');
  const withinPair = getPair(v, 'within');
  const within = withinPair ? l.duration(withinPair.value) : undefined;
  if (!costs) sink.error('missing-key', keySpan, `\`${form}\` needs \`costs\`: the Costs definition the spend is read from`);
  if (!withinPair) sink.error('missing-window', keySpan, `\`${form}\` needs \`within\` (for example \`within: 30d\`): the window of the spend${form === 'cost' ? '' : form === 'cac' ? ' and of the acquisitions' : ' and of the revenue'}`);
  if (!costs || !within) return invalid;
  if (form === 'cost') return { form, costs, within, span };
  if (form === 'cac') {
    const p = getPair(v, 'acquired');
    if (!p) {
      sink.error('missing-key', keySpan, '`cac` needs `acquired`: who is a new customer, `{ attribute: signed_up_at }` or `{ event: purchase }` (the first one)');
      return invalid;
    }
    if (p.value.kind !== 'map') {
      sink.error('bad-value', p.value.span, '`acquired` takes a mapping: `{ attribute: signed_up_at }` or `{ event: purchase }`');
      return invalid;
    }
    const node = p.value;
    const attr = l.optRef(node, 'attribute');
    const events = getPair(node, 'event') ?? getPair(node, 'stream') ?? getPair(node, 'where');
    if (attr && events) {
      sink.error('metric-form', events.key.span, '`acquired` is a timestamp `attribute` or an event (`event`/`stream`, `where`), not both');
      return invalid;
    }
    if (attr) return { form, costs, within, acquired: { attribute: attr }, span };
    if (getPair(node, 'within')) sink.error('unexpected-key', getPair(node, 'within')!.key.span, '`within` goes on `cac` itself: it is the window of both the spend and the acquisitions');
    return { form, costs, within, acquired: { query: l.eventQuery(node, false) }, span };
  }
  const p = getPair(v, 'revenue');
  if (!p || p.value.kind !== 'map') {
    sink.error(p ? 'bad-value' : 'missing-key', p ? p.value.span : keySpan, '`roas` needs `revenue`: `{ event: purchase, property: amount }` (summed over the window)');
    return invalid;
  }
  const property = l.optRef(p.value, 'property');
  if (!property) {
    sink.error('missing-property', p.key.span, '`revenue` needs `property`: the event property to sum (for example `property: amount`)');
    return invalid;
  }
  if (getPair(p.value, 'within')) sink.error('unexpected-key', getPair(p.value, 'within')!.key.span, '`within` goes on `roas` itself: it is the window of both the revenue and the spend');
  return { form, costs, within, revenue: l.eventQuery(p.value, false, ['property']), property, span };
}

function readScale(sink: DiagnosticSink, v: YMap): readonly [number, number] | undefined {
  const p = getPair(v, 'scale');
  if (!p) return [1, 5];
  const items = p.value.kind === 'seq' ? p.value.items : [];
  const nums = items.map((i) => (i.kind === 'scalar' && typeof i.value === 'number' && Number.isFinite(i.value) ? i.value : NaN));
  if (nums.length !== 2 || nums.some((n) => Number.isNaN(n))) {
    sink.error('bad-value', p.value.span, '`scale` takes two numbers: [low, high], for example [1, 5]');
    return undefined;
  }
  if (nums[0]! >= nums[1]!) {
    sink.error('bad-value', p.value.span, `\`scale\` is [low, high] but ${nums[0]} >= ${nums[1]}`);
    return undefined;
  }
  return [nums[0]!, nums[1]!];
}

function readSatisfied(sink: DiagnosticSink, v: YMap, scale: readonly [number, number] | undefined): { op: 'gte' | 'gt'; value: number } | undefined {
  const p = getPair(v, 'satisfied');
  if (!p) {
    if (scale && (scale[0] > 4 || scale[1] < 4)) {
      sink.error('missing-key', getPair(v, 'scale')!.key.span, `the default \`satisfied: { gte: 4 }\` is outside the scale [${scale[0]}, ${scale[1]}]; say which ratings are satisfied`);
      return undefined;
    }
    return { op: 'gte', value: 4 };
  }
  const node = p.value;
  const pair = node.kind === 'map' && node.pairs.length === 1 ? node.pairs[0]! : undefined;
  const op = pair ? String(pair.key.value) : '';
  const value = pair?.value.kind === 'scalar' && typeof pair.value.value === 'number' && Number.isFinite(pair.value.value) ? pair.value.value : undefined;
  if (!pair || (op !== 'gte' && op !== 'gt') || value === undefined) {
    sink.error('bad-value', node.span, '`satisfied` is one comparison: `{ gte: 4 }` or `{ gt: 3 }`');
    return undefined;
  }
  if (scale && (op === 'gte' ? value > scale[1] : value >= scale[1])) sink.warning('bad-value', pair.value.span, `no rating on the scale [${scale[0]}, ${scale[1]}] is ${op === 'gte' ? 'at least' : 'above'} ${value}, so CSAT is always 0`);
  return { op, value };
}
