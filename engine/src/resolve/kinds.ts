// The per-kind rules: what each kind of definition resolves to, and the checks of its structure.
//
// `resolveDefinition` is the one switch over kinds (the memo core calls it once per definition):
// Entity and Events are their catalog checks (catalog-checks.ts); a Segment is its condition, a
// Trait, Score or Lifecycle a value expression per entity (below); a Kpi a metric and the SMART
// lint (kpi.ts); a Campaign its audience, events and lints (campaign.ts).

import type { IrCond, IrExpr } from '../ir/ir.js';
import type { Definition, EntityDef, LifecycleDef, ProfileExpr, Ref, ScoreDef, TraitDef } from '../model/types.js';
import { reservedNameProblem } from '../state-objects.js';
import { resolveCampaign } from './campaign.js';
import { resolveCohort } from './cohort.js';
import { checkEntity, checkEvents } from './catalog-checks.js';
import { aggregateExpr, attribute, cond, eventFilter } from './conditions.js';
import type { Body, ResolveContext, Typed } from './context.js';
import { entityFor, irEntity } from './entities.js';
import { resolveFunnel } from './funnel.js';
import { checkCosts } from './acquisition.js';
import { resolveDestination, resolveSync } from './sync.js';
import { kpiMetric, lintKpi } from './kpi.js';
import { kpiBreakdown } from './breakdown.js';

/** What a definition resolves to (entity, query, value type, campaign), with its diagnostics in `cx`. */
export function resolveDefinition(cx: ResolveContext, def: Definition): Body {
  // Its deployed view would collide with Tally's own objects (state-objects.ts).
  const reserved = reservedNameProblem(def.kind, def.name);
  if (reserved) cx.error('reserved-name', def.nameSpan, reserved);
  switch (def.kind) {
    case 'Entity':
      checkEntity(cx, def);
      return { entity: irEntity(def) };
    case 'Events':
      checkEvents(cx, def);
      return {};
    case 'Segment': {
      const entity = entityFor(cx, def, def.entity);
      if (!entity) return {};
      return { entity: irEntity(entity), query: { k: 'members', entity: irEntity(entity), where: cond(cx, def.where, entity) } };
    }
    case 'Trait': {
      const entity = entityFor(cx, def, def.entity);
      if (!entity) return {};
      const t = traitExpr(cx, def, entity);
      const type = t.type === 'unknown' ? def.type ?? 'string' : t.type;
      return { entity: irEntity(entity), valueType: type, query: { k: 'values', entity: irEntity(entity), value: t.expr, valueType: type } };
    }
    case 'Score': {
      const entity = entityFor(cx, def, def.entity);
      if (!entity) return {};
      const t = scoreExpr(cx, def, entity);
      return { entity: irEntity(entity), valueType: 'number', query: { k: 'values', entity: irEntity(entity), value: t.expr, valueType: 'number' } };
    }
    case 'Lifecycle': {
      const entity = entityFor(cx, def, def.entity);
      if (!entity) return {};
      const t = lifecycleExpr(cx, def, entity);
      return { entity: irEntity(entity), valueType: 'string', query: { k: 'values', entity: irEntity(entity), value: t.expr, valueType: 'string' } };
    }
    case 'Kpi': {
      const metric = kpiMetric(cx, def, def.metric, def.entity);
      lintKpi(cx, def);
      const breakdown = metric && def.breakdown ? kpiBreakdown(cx, def, metric) : undefined;
      return metric ? { query: breakdown ? { k: 'metric', metric, breakdown } : { k: 'metric', metric } } : {};
    }
    case 'Campaign':
      return resolveCampaign(cx, def);
    case 'Cohort':
      return resolveCohort(cx, def);
    case 'Funnel':
      return resolveFunnel(cx, def);
    case 'Costs':
      checkCosts(cx, def);
      return {};
    case 'Destination':
      return resolveDestination(cx, def);
    case 'Sync':
      return resolveSync(cx, def);
    default:
      return {};
  }
}

/** A trait's value: one aggregate over its events, checked against its declared `type`. */
export function traitExpr(cx: ResolveContext, def: TraitDef, entity: EntityDef): Typed {
  const none: Typed = { expr: { k: 'lit', value: null, type: def.type ?? 'unknown' }, type: def.type ?? 'unknown' };
  if (def.derived) return checkTraitType(cx, def, profileExpr(cx, def.derived.expr, entity) ?? none);
  if (!def.compute) {
    cx.error('missing-key', def.nameSpan, 'a trait needs `compute:`, for example `compute: { event: purchase, sum: amount }`');
    return none;
  }
  const res = eventFilter(cx, def.compute.query, entity);
  if (!res) return none;
  const t = aggregateExpr(cx, res.stream, res.filter, def.compute.agg, false);
  if (!t) return none;
  return checkTraitType(cx, def, t);
}

/** The declared `type` must match what the computation yields; quantile bands need an ordered value. */
function checkTraitType(cx: ResolveContext, def: TraitDef, t: Typed): Typed {
  if (def.type && t.type !== 'unknown' && def.type !== t.type) {
    cx.error('type-mismatch', def.typeSpan ?? def.nameSpan, `this trait computes a ${t.type} but is declared \`type: ${def.type}\``, def.typeSpan ? { span: def.typeSpan, text: t.type } : undefined);
  }
  const type = t.type === 'unknown' ? def.type : t.type;
  if (def.quantiles && (type === 'string' || type === 'boolean')) cx.error('type-mismatch', def.quantiles.span, `quantile bands rank values, so they need a number or timestamp trait; this one is a ${type}`);
  return t;
}

const ARITH = { add: '+', subtract: '-', multiply: '*', divide: '/' } as const;

/**
 * A trait's entity forms as IR: an attribute (a column of the entity row), days since a timestamp
 * attribute, another trait (its IR inlined through `guard`, so a cycle between traits is reported
 * at the reference), numbers, and arithmetic (SQL semantics: NULL in, NULL out; a division by 0 is
 * NULL). Undefined when a part is broken (reported).
 */
export function profileExpr(cx: ResolveContext, e: ProfileExpr, entity: EntityDef): Typed | undefined {
  switch (e.k) {
    case 'invalid':
      cx.markBroken();
      return undefined;
    case 'num':
      return { expr: { k: 'lit', value: e.value, type: 'number' }, type: 'number' };
    case 'attribute':
      return attribute(cx, entity, e.ref);
    case 'days_since': {
      const a = attribute(cx, entity, e.ref);
      if (!a) return undefined;
      if (a.type !== 'timestamp' && a.type !== 'unknown') {
        cx.error('type-mismatch', e.ref.span, `\`days_since\` counts days from a timestamp, but attribute '${e.ref.name}' is a ${a.type}`);
        return undefined;
      }
      return { expr: { k: 'days-to-asof', from: a.expr }, type: 'number' };
    }
    case 'trait': {
      const t = cx.lookup('Trait', e.ref);
      if (!t) return undefined;
      return cx.guard(t, e.ref.span, undefined as Typed | undefined, (r) => {
        if (r?.entity && r.entity.name !== entity.name) {
          cx.error('entity-mismatch', e.ref.span, `trait '${t.name}' is about ${r.entity.name}, not ${entity.name}`);
          return undefined;
        }
        return r?.query?.k === 'values' ? { expr: r.query.value, type: r.query.valueType } : undefined;
      });
    }
    case 'op': {
      const args = e.args.map((a) => profileExpr(cx, a, entity));
      let ok = true;
      e.args.forEach((a, i) => {
        const t = args[i];
        if (!t) ok = false;
        else if (t.type !== 'number' && t.type !== 'unknown') {
          cx.error('type-mismatch', a.span, `\`${e.op}\` needs numbers, but this is a ${t.type}${t.type === 'timestamp' ? '; use `days_since: { attribute: … }` for a number of days' : ''}`);
          ok = false;
        }
      });
      if (!ok) return undefined;
      const op = ARITH[e.op];
      const [first, ...rest] = args as Typed[];
      const expr = rest.reduce<IrExpr>((acc, b) => ({ k: 'arith', op, a: acc, b: b.expr }), first!.expr);
      return { expr, type: 'number' };
    }
  }
}

/** A score's value: 0 to 100, the weighted sum of its components (traits mapped linearly onto 0..1, clamped). */
export function scoreExpr(cx: ResolveContext, def: ScoreDef, entity: EntityDef): Typed {
  if (def.components.length === 0) {
    cx.error('missing-key', def.nameSpan, 'a score needs `components`: weighted traits');
    return { expr: { k: 'lit', value: null, type: 'number' }, type: 'number' };
  }
  const totalWeight = def.components.reduce((s, c) => s + c.weight, 0);
  if (!(totalWeight > 0)) cx.error('bad-value', def.nameSpan, 'the components\' weights must add up to more than 0');
  let sum: IrExpr | undefined;
  for (const c of def.components) {
    const value = c.attribute ? attributeComponent(cx, c.attribute, entity) : c.trait ? traitComponent(cx, c.trait) : undefined;
    if (!value) continue;
    if (c.from === c.to) {
      cx.error('bad-value', c.span, '`from` and `to` must differ: they map the trait linearly onto 0..1');
      continue;
    }
    // x = clamp((v - from) / (to - from), 0, 1), a missing value counts as 0.
    const scaled: IrExpr = {
      k: 'arith',
      op: '/',
      a: { k: 'arith', op: '-', a: value, b: { k: 'lit', value: c.from, type: 'number' } },
      b: { k: 'lit', value: c.to - c.from, type: 'number' },
    };
    const x: IrExpr = {
      k: 'fn',
      fn: 'coalesce',
      args: [{ k: 'fn', fn: 'least', args: [{ k: 'fn', fn: 'greatest', args: [scaled, { k: 'lit', value: 0, type: 'number' }] }, { k: 'lit', value: 1, type: 'number' }] }, { k: 'lit', value: 0, type: 'number' }],
    };
    const term: IrExpr = { k: 'arith', op: '*', a: { k: 'lit', value: (100 * c.weight) / (totalWeight || 1), type: 'number' }, b: x };
    sum = sum ? { k: 'arith', op: '+', a: sum, b: term } : term;
  }
  checkBands(cx, def);
  return { expr: sum ?? { k: 'lit', value: null, type: 'number' }, type: 'number' };
}

/** A score component over a trait: its value (a number). */
function traitComponent(cx: ResolveContext, ref: Ref): IrExpr | undefined {
  const t = cx.lookup('Trait', ref);
  if (!t) return undefined;
  return cx.guard(t, ref.span, undefined as IrExpr | undefined, (r) => {
    if (r?.query?.k !== 'values') return undefined;
    if (r.query.valueType !== 'number') {
      cx.error('type-mismatch', ref.span, `trait '${t.name}' is a ${r.query.valueType}; score components need numbers`);
      return undefined;
    }
    return r.query.value;
  });
}

/** A score component over an entity attribute: its column (a number). */
function attributeComponent(cx: ResolveContext, ref: Ref, entity: EntityDef): IrExpr | undefined {
  const a = attribute(cx, entity, ref);
  if (!a) return undefined;
  if (a.type !== 'number' && a.type !== 'unknown') {
    cx.error('type-mismatch', ref.span, `attribute '${ref.name}' is a ${a.type}; score components need numbers`);
    return undefined;
  }
  return a.expr;
}

/** Score bands: first match wins, so each needs a bound below the earlier ones, and the last one is the fallback. */
export function checkBands(cx: ResolveContext, def: ScoreDef): void {
  const seen = new Set<string>();
  def.bands.forEach((b, i) => {
    if (seen.has(b.name.name)) cx.error('duplicate-name', b.name.span, `band '${b.name.name}' appears twice`);
    seen.add(b.name.name);
    const last = i === def.bands.length - 1;
    const bounded = b.gte !== undefined || b.gt !== undefined;
    if (!last && !bounded) cx.error('unreachable-band', b.span, `band '${b.name.name}' has no bound, so the bands after it can never match; give it \`gte:\` or move it last`);
    if (last && bounded) cx.warn('band-fallback', b.span, `the last band has a bound, so scores below it get no band; drop the bound to make '${b.name.name}' the fallback`);
    // First match wins: a band whose bound is not below an earlier band's bound can never match.
    const lower = (x: typeof b) => (x.gte !== undefined ? x.gte : x.gt !== undefined ? x.gt : undefined);
    const mine = lower(b);
    if (mine !== undefined) {
      const shadow = def.bands.slice(0, i).find((e) => {
        const theirs = lower(e);
        return theirs !== undefined && (theirs < mine || (theirs === mine && (e.gte !== undefined || b.gt !== undefined)));
      });
      if (shadow) cx.error('unreachable-band', b.span, `band '${b.name.name}' can never match: band '${shadow.name.name}' comes first and already takes every score ${shadow.gte !== undefined ? '>=' : '>'} ${lower(shadow)}; order bands from the highest bound down`);
    }
    if (mine !== undefined && (mine > 100 || mine < 0)) cx.warn('band-out-of-range', b.span, `scores are 0 to 100, so a bound of ${mine} ${mine > 100 ? 'is never reached' : 'always holds'}`);
  });
}

/**
 * A lifecycle's value, and where its stage order is decided: the stages become one CASE in the
 * order they are written, so an entity is in the first stage whose `where` holds (first match
 * wins); the last stage takes no `where` and catches everyone else (the ELSE). The SQL of
 * previews, deployed views and `stage:` conditions is compiled from this CASE.
 */
export function lifecycleExpr(cx: ResolveContext, def: LifecycleDef, entity: EntityDef): Typed {
  const none: Typed = { expr: { k: 'lit', value: null, type: 'string' }, type: 'string' };
  if (def.stages.length === 0) {
    cx.error('missing-key', def.nameSpan, 'a lifecycle needs `stages`; the last one has no `where` and catches everyone else');
    return none;
  }
  const seen = new Set<string>();
  const whens: { when: IrCond; then: IrExpr }[] = [];
  let fallback: IrExpr | undefined;
  def.stages.forEach((s, i) => {
    if (seen.has(s.name.name)) cx.error('duplicate-name', s.name.span, `stage '${s.name.name}' appears twice`);
    seen.add(s.name.name);
    const last = i === def.stages.length - 1;
    const then: IrExpr = { k: 'lit', value: s.name.name, type: 'string' };
    if (last) {
      if (s.where) cx.error('lifecycle-fallback', s.span, `the last stage is the fallback that catches everyone else, so it takes no \`where\`; add a stage after '${s.name.name}' or drop its \`where\``);
      fallback = then;
    } else if (!s.where) {
      cx.error('unreachable-stage', s.span, `stage '${s.name.name}' has no \`where\`, so it catches everyone and the stages after it are unreachable; only the last stage may omit \`where\``);
    } else {
      whens.push({ when: cond(cx, s.where, entity), then });
    }
  });
  return { expr: { k: 'case', whens, else: fallback ?? { k: 'lit', value: null, type: 'string' } }, type: 'string' };
}
