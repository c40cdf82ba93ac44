// Conditions and expressions -> IR: the `where` of segments and lifecycle stages, event filters,
// aggregates over events, attributes and event properties, and operators with their literals.
//
// A reference inside a condition (segment, stage, trait, score) inlines the referenced
// definition's IR through `guard`, so a definition's IR is self-contained (what its fingerprint
// hashes) and a reference back into a definition still being resolved is a `cycle`. A broken part
// becomes FALSE (and the resolution is broken), so the rest of the condition still resolves.

import type { Span } from '../diagnostics.js';
import * as ir from '../ir/ir.js';
import type { IrCond, IrEventFilter, IrExpr, IrTime } from '../ir/ir.js';
import type { Aggregate, Condition, EntityDef, EventQuery, EventsDef, Operator, Ref, Scalar, ValueType } from '../model/types.js';
import { badInstant, parseInstant } from '../time.js';
import { bandCase, bandNames, quantileBandCond } from './bands.js';
import { catalogTable, checkEventType } from './catalog-checks.js';
import type { ResolveContext, Typed } from './context.js';
import { irStream, streamFor } from './entities.js';
import { amountExpr, streamFx } from './currency.js';
import { didYouMean } from '../suggest.js';

/** A condition about one entity as IR. */
export function cond(cx: ResolveContext, c: Condition, entity: EntityDef): IrCond {
  switch (c.form) {
    case 'invalid':
      cx.markBroken();
      return ir.FALSE;
    case 'all':
      return ir.and(c.items.map((i) => cond(cx, i, entity)));
    case 'any':
      return ir.or(c.items.map((i) => cond(cx, i, entity)));
    case 'not':
      return ir.not(cond(cx, c.item, entity));
    case 'attribute': {
      const a = attribute(cx, entity, c.attribute);
      if (!a) return ir.FALSE;
      return operatorCond(cx, a, c.op) ?? ir.FALSE;
    }
    case 'segment': {
      const seg = cx.lookup('Segment', c.ref);
      if (!seg) return ir.FALSE;
      return cx.guard(seg, c.ref.span, ir.FALSE, (r) => {
        if (r?.entity && r.entity.name !== entity.name) {
          cx.error('entity-mismatch', c.ref.span, `segment '${seg.name}' is about ${r.entity.name}, not ${entity.name}`);
          return ir.FALSE;
        }
        return r?.query?.k === 'members' ? r.query.where : ir.FALSE;
      });
    }
    case 'stage': {
      const lc = cx.lookup('Lifecycle', c.lifecycle);
      if (!lc) return ir.FALSE;
      cx.site('stage', `${lc.name}.${c.stage.name}`, c.stage.span);
      const names = lc.stages.map((s) => s.name.name);
      if (!names.includes(c.stage.name)) {
        cx.unknown('unknown-stage', `stage in lifecycle '${lc.name}'`, c.stage, names);
        return ir.FALSE;
      }
      return cx.guard(lc, c.lifecycle.span, ir.FALSE, (r) => {
        if (r?.query?.k !== 'values') return ir.FALSE;
        return { k: 'cmp', op: 'eq', a: r.query.value, b: { k: 'lit', value: c.stage.name, type: 'string' } };
      });
    }
    case 'trait': {
      const t = cx.lookup('Trait', c.ref);
      if (!t) return ir.FALSE;
      return cx.guard(t, c.ref.span, ir.FALSE, (r) => {
        if (r?.query?.k !== 'values') return ir.FALSE;
        return operatorCond(cx, { expr: r.query.value, type: r.query.valueType }, c.op) ?? ir.FALSE;
      });
    }
    case 'trait-band': {
      const t = cx.lookup('Trait', c.ref);
      if (!t) return ir.FALSE;
      // (No reference site: a `band` site names a Score's band; q1..qN are not declared anywhere.)
      if (!t.quantiles) {
        cx.error('unknown-band', c.band.span, `trait '${t.name}' has no bands; give it \`bands: { quantiles: 5 }\` to test \`band: q1\` … \`q5\`, or compare it with an operator`);
        return ir.FALSE;
      }
      const bands = bandNames(t);
      if (!bands.includes(c.band.name)) {
        cx.unknown('unknown-band', `band in trait '${t.name}'`, c.band, bands);
        return ir.FALSE;
      }
      return cx.guard(t, c.ref.span, ir.FALSE, (r) => {
        if (r?.query?.k !== 'values') return ir.FALSE;
        return quantileBandCond(t.quantiles!.n, r.query.value, r.query.valueType === 'timestamp' ? 'timestamp' : 'number', r.query.entity, c.band.name);
      });
    }
    case 'score': {
      const s = cx.lookup('Score', c.ref);
      if (!s) return ir.FALSE;
      return cx.guard(s, c.ref.span, ir.FALSE, (r) => {
        if (r?.query?.k !== 'values') return ir.FALSE;
        if (c.band) {
          cx.site('band', `${s.name}.${c.band.name}`, c.band.span);
          const bands = bandNames(s);
          if (!bands.includes(c.band.name)) {
            cx.unknown('unknown-band', `band in score '${s.name}'`, c.band, bands);
            return ir.FALSE;
          }
          if (s.quantiles) return quantileBandCond(s.quantiles.n, r.query.value, 'number', r.query.entity, c.band.name);
          return { k: 'cmp', op: 'eq', a: bandCase(s, r.query.value), b: { k: 'lit', value: c.band.name, type: 'string' } };
        }
        if (!c.op) {
          cx.error('missing-operator', c.span, `a score condition needs \`band:\` (one of ${bandNames(s).join(', ') || 'its bands'}) or an operator such as \`gte: 70\``);
          return ir.FALSE;
        }
        const op = c.op;
        const outside = (v: unknown) => typeof v === 'number' && (v > 100 || v < 0);
        if ((op.op === 'gt' || op.op === 'gte' || op.op === 'lt' || op.op === 'lte' || op.op === 'eq') && outside(op.value))
          cx.warn('score-out-of-range', op.valueSpan, `scores run from 0 to 100, so \`${op.op}: ${String(op.value)}\` is ${op.op === 'eq' || (op.op === 'gt' || op.op === 'gte') === (op.value as number) > 100 ? 'never' : 'always'} true`);
        return operatorCond(cx, { expr: r.query.value, type: 'number' }, op) ?? ir.FALSE;
      });
    }
    case 'event': {
      const res = eventFilter(cx, c.query, entity);
      if (!res) return ir.FALSE;
      const agg = aggregateExpr(cx, res.stream, res.filter, c.agg, true);
      if (!agg) return ir.FALSE;
      if (!c.op) {
        if (c.agg.fn !== 'count') {
          cx.error('missing-operator', c.span, `\`${c.agg.fn}\` needs an operator to compare with, for example \`gte: 200\``);
          return ir.FALSE;
        }
        return { k: 'cmp', op: 'gte', a: agg.expr, b: { k: 'lit', value: 1, type: 'number' } };
      }
      return operatorCond(cx, agg, c.op) ?? ir.FALSE;
    }
  }
}

/** An entity attribute: declared, else a column of the entity's table (checked when the catalog is known). */
export function attribute(cx: ResolveContext, entity: EntityDef, ref: Ref): Typed | undefined {
  cx.site('attribute', `${entity.name}.${ref.name}`, ref.span);
  const decl = entity.attributes.get(ref.name);
  const table = catalogTable(cx, entity.table, false);
  if (decl) {
    const col = table?.columns.get(decl.column);
    const type = decl.type ?? (col && col.type !== 'json' && col.type !== 'other' ? col.type : 'unknown');
    return { expr: { k: 'col', col: decl.column, type }, type };
  }
  if (table) {
    const col = table.columns.get(ref.name);
    if (!col) {
      cx.unknown('unknown-attribute', 'attribute', ref, new Set([...entity.attributes.keys(), ...table.columns.keys()]), ` on entity '${entity.name}' (table ${table.schema}.${table.name})`);
      return undefined;
    }
    const type = col.type === 'json' || col.type === 'other' ? 'unknown' : col.type;
    return { expr: { k: 'col', col: ref.name, type }, type };
  }
  // Offline: an undeclared attribute is taken to be a column of the same name. Flag likely typos.
  const dym = didYouMean(ref.name, [...entity.attributes.keys(), entity.key.name, ...(entity.createdAt ? [entity.createdAt.name] : [])]);
  if (dym.best) cx.warn('unknown-attribute', ref.span, `attribute '${ref.name}' is not declared on entity '${entity.name}'${dym.text}; with a database connected it is checked against the table`, { span: ref.span, text: dym.best });
  return { expr: { k: 'col', col: ref.name, type: 'unknown' }, type: 'unknown' };
}

/** The events an event query selects (stream, types, window, property filters) as an IR filter. */
export function eventFilter(cx: ResolveContext, q: EventQuery, entity: EntityDef | undefined, opts: { window: boolean } = { window: true }, role?: 'goal'): { filter: IrEventFilter; stream: EventsDef } | undefined {
  const stream = streamFor(cx, q, entity);
  if (!stream) {
    // Still check the filters' shapes against nothing, so the rest reports.
    return undefined;
  }
  if (q.event) {
    cx.site('event-type', `${stream.name}.${q.event.name}`, q.event.span);
    if (!stream.type) cx.error('no-type-column', q.event.span, `Events '${stream.name}' has no \`type\` column, so it cannot filter by event type`);
    checkEventType(cx, stream, q.event, role);
  }
  const where: IrCond[] = [];
  for (const f of q.where) {
    const prop = property(cx, stream, f.property);
    if (!prop) continue;
    const c = operatorCond(cx, prop, f.op);
    if (c) where.push(c);
  }
  const since: IrTime | null = opts.window && q.within ? { k: 'asof', minusMs: q.within.ms, minus: ir.duration(q.within) } : null;
  return {
    stream,
    filter: { stream: irStream(stream, streamFx(cx, stream)), types: q.event ? [q.event.name] : null, since, where: where.length ? ir.and(where) : null },
  };
}

/** An event property: `time`, a declared column, a typed or untyped jsonb key. */
export function property(cx: ResolveContext, stream: EventsDef, ref: Ref): Typed | undefined {
  const p = rawProperty(cx, stream, ref);
  if (!p || !stream.currency) return p;
  const converted = amountExpr(cx, stream, ref, p.expr);
  return converted && { expr: converted, type: p.type };
}

function rawProperty(cx: ResolveContext, stream: EventsDef, ref: Ref): Typed | undefined {
  cx.site('property', `${stream.name}.${ref.name}`, ref.span);
  if (ref.name === 'time') return { expr: { k: 'ecol', col: stream.time.name, type: 'timestamp' }, type: 'timestamp' };
  const col = stream.columns.get(ref.name);
  if (col) {
    const catalogCol = catalogTable(cx, stream.table, false)?.columns.get(col.column);
    const type = col.type ?? (catalogCol && catalogCol.type !== 'json' && catalogCol.type !== 'other' ? catalogCol.type : 'unknown');
    return { expr: { k: 'ecol', col: col.column, type }, type };
  }
  if (stream.properties) {
    const declared = stream.propertyTypes.get(ref.name)?.type;
    if (!declared) {
      // An undeclared key is a string property; one close to a declared name is most likely a typo.
      const seen = cx.options.catalog?.propertyKeys.get(stream.name);
      const dym = didYouMean(ref.name, [...stream.propertyTypes.keys(), ...stream.columns.keys()]);
      if (dym.best && !(seen && seen.includes(ref.name))) {
        cx.error('unknown-property', ref.span, `property '${ref.name}' is not declared on Events '${stream.name}'${dym.text}`, { span: ref.span, text: dym.best });
        return undefined;
      }
    }
    const type = declared ?? 'string';
    return { expr: { k: 'eprop', col: stream.properties.name, key: ref.name, type }, type };
  }
  cx.unknown('unknown-property', 'property', ref, [...stream.columns.keys(), 'time'], `: Events '${stream.name}' has no \`properties\` column; declare it under \`columns:\``);
  return undefined;
}

/** sum/avg/min/max/last/first/days_since/count/count_distinct over the filtered events of one entity. */
export function aggregateExpr(cx: ResolveContext, stream: EventsDef, filter: IrEventFilter, agg: Aggregate, inCondition: boolean): Typed | undefined {
  if (agg.fn === 'count') return { expr: { k: 'agg', agg: { fn: 'count', filter, zeroWhenNone: true } }, type: 'number' };
  if (agg.fn === 'days_since') {
    const time: IrExpr = { k: 'ecol', col: stream.time.name, type: 'timestamp' };
    const inner: IrExpr = { k: 'agg', agg: { fn: agg.which === 'last' ? 'max' : 'min', filter, value: time, zeroWhenNone: false } };
    return { expr: { k: 'days-to-asof', from: inner }, type: 'number' };
  }
  const prop = property(cx, stream, agg.property);
  if (!prop) return undefined;
  // Distinct non-NULL values; 0 when there are no matching events (or none carries the property).
  if (agg.fn === 'count_distinct') return { expr: { k: 'agg', agg: { fn: 'count_distinct', filter, value: prop.expr, zeroWhenNone: true } }, type: 'number' };
  if ((agg.fn === 'sum' || agg.fn === 'avg') && prop.type !== 'number' && prop.type !== 'unknown') {
    cx.error(
      'type-mismatch',
      agg.property.span,
      `\`${agg.fn}\` needs a number but property '${agg.property.name}' is ${prop.type}${prop.expr.k === 'eprop' ? `; declare it in the Events' \`property_types: { ${agg.property.name}: number }\`` : ''}`,
    );
    return undefined;
  }
  const zero = inCondition && agg.fn === 'sum';
  return { expr: { k: 'agg', agg: { fn: agg.fn, filter, value: prop.expr, zeroWhenNone: zero } }, type: agg.fn === 'sum' || agg.fn === 'avg' ? 'number' : prop.type };
}

/** An operator applied to a typed value; checks that the operator and its literals fit the type. */
export function operatorCond(cx: ResolveContext, v: Typed, op: Operator): IrCond | undefined {
  const type = v.type;
  const a = v.expr;
  const typeName = type === 'unknown' ? 'of unknown type' : `a ${type}`;
  const bad = (msg: string) => {
    cx.error('type-mismatch', op.span, msg);
    return undefined;
  };
  const ordering = op.op === 'gt' || op.op === 'gte' || op.op === 'lt' || op.op === 'lte' || op.op === 'between';
  const lit = (s: Scalar, span: Span): IrExpr | undefined => {
    if (type === 'timestamp') {
      if (typeof s !== 'string') {
        cx.error('type-mismatch', span, `compare a timestamp with an ISO instant such as 2026-01-01, not ${JSON.stringify(s)}`);
        return undefined;
      }
      const i = parseInstant(s, cx.options.timezone);
      if (!i) {
        const bad = badInstant(s, span, `'${s}' is not an ISO instant (2026-01-01 or 2026-01-01T09:00:00Z)`, cx.options.timezone);
        cx.error('bad-instant', bad.span, bad.message);
        return undefined;
      }
      return { k: 'time', at: { k: 'instant', iso: i.date.toISOString() } };
    }
    if (type === 'number' && typeof s !== 'number') {
      cx.error('type-mismatch', span, `this value is a number; ${JSON.stringify(s)} is not`);
      return undefined;
    }
    if (type === 'boolean' && typeof s !== 'boolean') {
      cx.error('type-mismatch', span, `this value is true/false; ${JSON.stringify(s)} is not`);
      return undefined;
    }
    if (type === 'string' && typeof s === 'number' && ordering) {
      cx.error('type-mismatch', span, `this value is text, so \`${op.op}\` would compare ${s} as text ('10' < '9'); compare with a quoted text value, or use a number attribute`);
      return undefined;
    }
    if (type === 'string' && typeof s !== 'string') return { k: 'lit', value: String(s), type: 'string' };
    return { k: 'lit', value: s, type: type === 'unknown' ? (typeof s as ValueType) : type };
  };
  switch (op.op) {
    case 'eq':
    case 'ne':
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte': {
      if (type === 'boolean' && op.op !== 'eq' && op.op !== 'ne') return bad(`\`${op.op}\` does not order true/false; use eq or ne`);
      const b = lit(op.value, op.valueSpan);
      return b && { k: 'cmp', op: op.op, a, b };
    }
    case 'in':
    case 'not_in': {
      const values: IrExpr[] = [];
      for (const s of op.values) {
        const b = lit(s, op.valueSpan);
        if (!b) return undefined;
        values.push(b);
      }
      return { k: 'in', negated: op.op === 'not_in', a, values };
    }
    case 'between': {
      if (type === 'boolean') return bad('`between` does not apply to true/false');
      const lo = lit(op.low, op.valueSpan);
      const hi = lit(op.high, op.valueSpan);
      if (!lo || !hi) return undefined;
      return ir.and([
        { k: 'cmp', op: 'gte', a, b: lo },
        { k: 'cmp', op: 'lte', a, b: hi },
      ]);
    }
    case 'is_null':
      return { k: 'is-null', negated: !op.value, a };
    case 'contains':
    case 'starts_with': {
      if (type !== 'string' && type !== 'unknown') return bad(`\`${op.op}\` applies to text, but this is ${typeName}`);
      return { k: 'text', op: op.op, a, b: { k: 'lit', value: String(op.value), type: 'string' } };
    }
    case 'within': {
      if (type !== 'timestamp' && type !== 'unknown') return bad(`\`within\` applies to timestamps, but this is ${typeName}`);
      return ir.and([
        { k: 'cmp', op: 'gt', a, b: { k: 'time', at: { k: 'asof', minusMs: op.duration.ms, minus: ir.duration(op.duration) } } },
        { k: 'cmp', op: 'lte', a, b: { k: 'time', at: { k: 'asof', minusMs: 0 } } },
      ]);
    }
    case 'before':
    case 'after': {
      if (type !== 'timestamp' && type !== 'unknown') return bad(`\`${op.op}\` applies to timestamps, but this is ${typeName}`);
      const at: IrTime =
        op.point.kind === 'instant'
          ? { k: 'instant', iso: op.point.date.toISOString() }
          : { k: 'asof', minusMs: op.point.duration.ms, minus: ir.duration(op.point.duration) };
      return { k: 'cmp', op: op.op === 'before' ? 'lt' : 'gt', a, b: { k: 'time', at } };
    }
  }
}
