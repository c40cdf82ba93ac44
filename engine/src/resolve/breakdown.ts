// A KPI's `breakdown:` -> IR: which groups the entities existing at T fall into (an attribute's
// values, segments, a lifecycle's stages, a score's bands), checked against the metric's entity,
// and the per-group targets' group names (a segment, stage or band the breakdown does not have is
// an error with "did you mean"; `(null)` / `(other)` where no such group can exist, a warning).

import * as ir from '../ir/ir.js';
import type { IrBreakdown, IrEntity, IrMetric } from '../ir/ir.js';
import { NULL_GROUP, OTHER_GROUP, type EntityDef, type KpiDef } from '../model/types.js';
import { bandCase } from './bands.js';
import { attribute } from './conditions.js';
import { costSources, hasCost } from './acquisition.js';
import { entityFor, irEntity } from './entities.js';
import type { ResolveContext } from './context.js';

/** The entities a metric's leaves are about (one, for a breakdown to apply). */
export function metricEntities(m: IrMetric, out = new Map<string, IrEntity>()): Map<string, IrEntity> {
  if (m.k === 'ratio') {
    metricEntities(m.numerator, out);
    metricEntities(m.denominator, out);
  } else if (m.k !== 'cost') out.set(m.k === 'conversion' ? m.funnel.entity.name : m.entity.name, m.k === 'conversion' ? m.funnel.entity : m.entity);
  return out;
}

function hasConversion(m: IrMetric): boolean {
  return m.k === 'conversion' || (m.k === 'ratio' && (hasConversion(m.numerator) || hasConversion(m.denominator)));
}

export function kpiBreakdown(cx: ResolveContext, def: KpiDef, metric: IrMetric): IrBreakdown | undefined {
  const b = def.breakdown;
  if (!b) return undefined;
  const by = b.by;
  if (by.k === 'invalid') {
    cx.markBroken();
    return undefined;
  }
  if (hasConversion(metric)) {
    cx.error('breakdown-unsupported', b.span, 'a funnel conversion KPI cannot have a breakdown yet; remove `breakdown:` or break down a ratio of counts instead');
    return undefined;
  }
  const entities = [...metricEntities(metric).values()];
  // Spend alone is about no entity: its groups are the KPI's entity's (the channel it was acquired through).
  if (entities.length === 0 && hasCost(metric)) {
    const e = entityFor(cx, def, def.entity);
    if (!e) return undefined;
    entities.push(irEntity(e));
  }
  if (entities.length !== 1) {
    cx.error('entity-mismatch', b.span, `a breakdown groups one entity's members, but this metric is about ${entities.map((e) => e.name).join(' and ')}`);
    return undefined;
  }
  const entity = entities[0]!;
  const entityDef = cx.peek('Entity', entity.name);
  if (!entityDef) return undefined;
  const mismatch = (what: string, name: string, other: string) => `${what} '${name}' is about ${other}, but the metric is about ${entity.name}`;
  let groups: readonly string[] | null = null;
  let out: IrBreakdown | undefined;
  switch (by.k) {
    case 'attribute': {
      const a = attribute(cx, entityDef as EntityDef, by.ref);
      if (!a) return undefined;
      out = { entity, by: { k: 'value', value: a.expr, known: null, top: b.top?.n ?? null } };
      break;
    }
    case 'lifecycle': {
      const lc = cx.lookup('Lifecycle', by.ref);
      if (!lc) return undefined;
      groups = lc.stages.map((s) => s.name.name);
      out = cx.guard(lc, by.ref.span, undefined, (r): IrBreakdown | undefined => {
        if (r?.entity && r.entity.name !== entity.name) {
          cx.error('entity-mismatch', by.ref.span, mismatch('lifecycle', lc.name, r.entity.name));
          return undefined;
        }
        return r?.query?.k === 'values' ? { entity, by: { k: 'value', value: r.query.value, known: groups, top: null } } : undefined;
      });
      break;
    }
    case 'score': {
      const s = cx.lookup('Score', by.ref);
      if (!s) return undefined;
      groups = [...s.bands.map((x) => x.name.name), NULL_GROUP];
      out = cx.guard(s, by.ref.span, undefined, (r): IrBreakdown | undefined => {
        if (r?.entity && r.entity.name !== entity.name) {
          cx.error('entity-mismatch', by.ref.span, mismatch('score', s.name, r.entity.name));
          return undefined;
        }
        return r?.query?.k === 'values' ? { entity, by: { k: 'value', value: bandCase(s, r.query.value), known: s.bands.map((x) => x.name.name), top: null } } : undefined;
      });
      break;
    }
    case 'trait': {
      // The trait's value per entity, grouped like an attribute's values (acquisition channel from the first touch, say).
      const t = cx.lookup('Trait', by.ref);
      if (!t) return undefined;
      out = cx.guard(t, by.ref.span, undefined, (r): IrBreakdown | undefined => {
        if (r?.entity && r.entity.name !== entity.name) {
          cx.error('entity-mismatch', by.ref.span, mismatch('trait', t.name, r.entity.name));
          return undefined;
        }
        return r?.query?.k === 'values' ? { entity, by: { k: 'value', value: r.query.value, known: null, top: b.top?.n ?? null } } : undefined;
      });
      break;
    }
    case 'segments': {
      groups = by.refs.map((r) => r.name);
      const segments: { name: string; where: ir.IrCond }[] = [];
      const seen = new Set<string>();
      for (const ref of by.refs) {
        if (seen.has(ref.name)) cx.error('duplicate-name', ref.span, `segment '${ref.name}' is listed twice`);
        seen.add(ref.name);
        const seg = cx.lookup('Segment', ref);
        if (!seg) continue;
        const where = cx.guard(seg, ref.span, undefined, (r): ir.IrCond | undefined => {
          if (r?.entity && r.entity.name !== entity.name) {
            cx.error('entity-mismatch', ref.span, mismatch('segment', seg.name, r.entity.name));
            return undefined;
          }
          return r?.query?.k === 'members' ? r.query.where : undefined;
        });
        if (where) segments.push({ name: ref.name, where });
      }
      if (segments.length !== by.refs.length) return undefined;
      out = { entity, by: { k: 'segments', segments } };
      break;
    }
  }
  if (out && hasCost(metric)) {
    const costs = costSources(metric);
    if (out.by.k !== 'value' || out.by.known) {
      cx.error('breakdown-unsupported', b.span, `spend has a channel, not a ${by.k}: break a \`cost\`, \`cac\` or \`roas\` KPI down by the attribute or trait that holds the acquisition channel (\`attribute: channel\` or \`trait: acquisition_channel\`)`);
      return undefined;
    }
    const noChannel = costs.find((c) => !c.channel);
    if (noChannel) {
      cx.error('breakdown-unsupported', b.span, `Costs '${noChannel.name}' maps no \`channel\` column, so its spend cannot be split by group; add \`channel:\` to it`);
      return undefined;
    }
  }
  for (const t of b.targets) {
    const g = t.group;
    if (groups) {
      if (!groups.includes(g.name)) cx.unknown('unknown-group', `group in this ${by.k} breakdown`, g, groups);
    } else if (g.name === OTHER_GROUP && !b.top) {
      cx.warn('unknown-group', g.span, `there is no \`${OTHER_GROUP}\` group without \`top\`: every value is its own group`);
    }
  }
  return out;
}
