// Campaigns -> `IrCampaign` (LANGUAGE.md §7): the audience and exclusion segments as members
// queries (inlined through `guard`, so a campaign's IR is self-contained), the trigger's and
// goal's event filters, schedule, entry, frequency cap and variants, and the static lints
// (variant names and weights, holdouts, schedule). Data lints (an empty audience) need the
// database and live in campaign/.

import * as ir from '../ir/ir.js';
import type { CampaignDef, EntityDef, Ref } from '../model/types.js';
import type { Duration } from '../time.js';
import { eventFilter } from './conditions.js';
import type { Body, ResolveContext } from './context.js';
import { entityFor, irEntity } from './entities.js';

/** The audience's segments, the trigger's and goal's events, and the static campaign lints. */
export function resolveCampaign(cx: ResolveContext, def: CampaignDef): Body {
  const segs = [def.audience?.segment, ...(def.audience?.exclude ?? [])].filter((r): r is Ref => !!r);
  let entity: EntityDef | undefined;
  const members: (ir.IrMembersQuery | undefined)[] = [];
  for (const r of segs) {
    const seg = cx.lookup('Segment', r);
    if (!seg) {
      members.push(undefined);
      continue;
    }
    const q = cx.guard(seg, r.span, undefined, (resolved) => resolved.query);
    const m = q?.k === 'members' ? q : undefined;
    if (m && entity && m.entity.name !== entity.name) {
      cx.error('entity-mismatch', r.span, `segment '${seg.name}' is about ${m.entity.name}, not ${entity.name} like the audience`);
      cx.markBroken();
    }
    if (m && !entity) entity = cx.kindSet('Entity').get(m.entity.name) as EntityDef | undefined;
    members.push(m);
  }
  const entities = cx.kindSet('Entity'); // whether there is exactly one entity decides the fallback below
  if (!entity && entities.size === 1) entity = entityFor(cx, def, undefined);
  const trigger = def.trigger ? eventFilter(cx, def.trigger, entity, { window: false }) : undefined;
  const goal = def.goal ? eventFilter(cx, def.goal, entity, { window: false }, 'goal') : undefined;

  // Static lints: variants, holdout, schedule.
  const vspan = def.variantsSpan ?? def.nameSpan;
  const total = def.variants.reduce((a, v) => a + v.weight, 0);
  const seen = new Set<string>();
  for (const v of def.variants) {
    if (seen.has(v.name.name)) cx.error('duplicate-variant', v.name.span, `another variant is already named '${v.name.name}'; variant names are unique within a campaign`);
    seen.add(v.name.name);
  }
  const lintVariants = def.variantsComplete && def.variants.length > 0;
  if (lintVariants && !(total > 0)) cx.error('bad-weights', vspan, 'the variant weights add up to 0; give at least one variant a positive weight (weights are normalised by their sum)');
  const holdouts = def.variants.filter((v) => v.holdout);
  if (lintVariants && !holdouts.length) cx.warn('no-holdout', vspan, 'no holdout variant: without one there is no lift to measure; add e.g. `{ name: control, weight: 10, holdout: true }`');
  if (holdouts.length > 1) cx.error('multiple-holdouts', holdouts[1]!.name.span, `more than one holdout (${holdouts.map((h) => h.name.name).join(', ')}); lift is measured against one holdout, so merge them`);
  const holdoutWeight = holdouts.reduce((a, v) => a + v.weight, 0);
  if (total > 0 && holdoutWeight / total > 0.5) cx.warn('holdout-too-large', holdouts[0]!.span, `the holdout gets ${((holdoutWeight / total) * 100).toFixed(1)}% of the audience (over 50%): most of the audience would receive nothing`);
  const start = def.schedule?.start;
  const end = def.schedule?.end;
  const endAt = end ? end.date.getTime() + (end.dateOnly ? 86_400_000 : 0) : undefined;
  if (start && end && endAt !== undefined && (end.dateOnly ? endAt <= start.date.getTime() : endAt < start.date.getTime()))
    cx.error('schedule-ends-before-start', end.span, `the schedule ends (${end.text}) before it starts (${start.text})`);

  const audience = members[0];
  if (!entity || !audience || !def.channel || !lintVariants || members.some((m) => !m)) return {};
  if (def.trigger && !trigger) return {};
  if (def.goal && !goal) return {};
  const campaign: ir.IrCampaign = {
    name: def.name,
    entity: irEntity(entity),
    audience,
    exclude: members.slice(1) as ir.IrMembersQuery[],
    channel: def.channel,
    schedule: def.schedule
      ? { start: start ? start.date.toISOString() : null, end: endAt !== undefined ? new Date(endAt).toISOString() : null, endExclusive: !!end?.dateOnly }
      : null,
    trigger: trigger ? { filter: trigger.filter, delay: irDuration(def.triggerDelay) } : null,
    entry: def.entry.kind === 'every' ? { kind: 'every', every: irDuration(def.entry.every) } : { kind: 'once' },
    frequencyCap: def.frequencyCap ? { max: def.frequencyCap.max, per: irDuration(def.frequencyCap.per) } : null,
    variants: def.variants.map((v) => ({ name: v.name.name, weight: v.weight, holdout: v.holdout })),
    goal: goal && def.goal?.within ? { filter: goal.filter, within: irDuration(def.goal.within) } : null,
  };
  return { entity: campaign.entity, campaign };
}

/** A duration as IR (0 when absent, e.g. a trigger without `delay`). */
function irDuration(d: Duration | undefined): ir.IrDuration {
  return d ? ir.duration(d) : ir.NO_DURATION;
}
