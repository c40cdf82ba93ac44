// Funnels: a `kind: Funnel` as IR (steps as event filters of the entity's streams, windows as
// dialect-free durations) and a KPI's `conversion` metric over one (which steps it divides).

import * as ir from '../ir/ir.js';
import type { IrFunnel, IrMetric } from '../ir/ir.js';
import type { FunnelDef, Metric, Ref } from '../model/types.js';
import type { Body, ResolveContext } from './context.js';
import { entityFor, irEntity } from './entities.js';
import { eventFilter } from './conditions.js';

/** A funnel's IR, or nothing (with diagnostics) when a step or its entity does not resolve. */
export function resolveFunnel(cx: ResolveContext, def: FunnelDef): Body {
  const entity = entityFor(cx, def, def.entity);
  if (!entity) return {};
  const steps: IrFunnel['steps'][number][] = [];
  let ok = def.within !== undefined && def.steps.length >= 2;
  const names = new Set<string>();
  for (const step of def.steps) {
    if (names.has(step.name.name)) ok = false; // duplicate-step, reported by lowering
    names.add(step.name.name);
    const r = eventFilter(cx, step.query, entity, { window: false });
    if (!r) {
      ok = false;
      continue;
    }
    if (r.stream.entity && r.stream.entity.name !== entity.name) {
      cx.error('entity-mismatch', step.query.stream?.span ?? step.name.span, `step '${step.name.name}' reads Events '${r.stream.name}', whose events belong to entity '${r.stream.entity.name}', not '${entity.name}'`);
      ok = false;
      continue;
    }
    steps.push({ name: step.name.name, filter: r.filter, within: step.query.within ? ir.duration(step.query.within) : null });
  }
  if (!ok || !def.within) {
    cx.markBroken();
    return { entity: irEntity(entity) };
  }
  const funnel: IrFunnel = { name: def.name, entity: irEntity(entity), within: ir.duration(def.within), steps };
  return { entity: irEntity(entity), query: { k: 'funnel', funnel } };
}

/** `conversion: { funnel, step? | from?/to? }` as IR: reached `to` / reached `from` (step indexes). */
export function conversionMetric(cx: ResolveContext, m: Extract<Metric, { form: 'conversion' }>): IrMetric | undefined {
  const def = cx.lookup('Funnel', m.funnel);
  if (!def) {
    cx.markBroken();
    return undefined;
  }
  const funnel = cx.guard(def, m.funnel.span, undefined as IrFunnel | undefined, (r) => (r.query?.k === 'funnel' && !r.broken ? r.query.funnel : undefined));
  const names = def.steps.map((s) => s.name.name);
  const index = (ref: Ref | undefined): number | undefined => {
    if (!ref) return undefined;
    const i = names.indexOf(ref.name);
    if (i < 0) cx.unknown('unknown-step', `step in funnel '${def.name}'`, ref, names);
    return i;
  };
  let from: number | undefined;
  let to: number | undefined;
  if (m.step) {
    to = index(m.step);
    from = to !== undefined && to > 0 ? to - 1 : to;
  } else if (m.from && m.to) {
    from = index(m.from);
    to = index(m.to);
    if (from !== undefined && to !== undefined && from >= 0 && to >= 0 && from >= to) {
      cx.error('conversion-order', m.to.span, `step '${m.to.name}' is not after step '${m.from.name}' in funnel '${def.name}' (steps: ${names.join(' → ')}); \`to\` is the later step`);
      to = -1;
    }
  } else {
    from = 0;
    to = names.length - 1;
  }
  if (!funnel || from === undefined || to === undefined || from < 0 || to < 0) {
    cx.markBroken();
    return undefined;
  }
  return { k: 'conversion', funnel, from, to };
}
