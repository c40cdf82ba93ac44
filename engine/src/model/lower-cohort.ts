// Lowering of `kind: Cohort` (a cohort retention table) and of the KPI retention form's attribute
// cohort: what the schema cannot say well (exactly one cohort source, exactly one offset form,
// ascending distinct day offsets).

import type { DiagnosticSink } from '../diagnostics.js';
import { getPair, type YMap, type YNode } from '../syntax/nodes.js';
import type { Duration } from '../time.js';
import type { CohortAttribute, CohortDef, DefinitionBase, EventQuery, Ref } from './types.js';

/** The readers of lower.ts's Lowerer this file uses (an interface, so no import cycle). */
interface Lowerer {
  optRef(map: YMap, key: string): Ref | undefined;
  optString(map: YMap, key: string): string | undefined;
  eventQuery(node: YMap, allowAggregate: boolean, extra?: readonly string[]): EventQuery;
  duration(n: YNode): Duration | undefined;
}

const RETURN_FORMS = ['days', 'weeks', 'months'] as const;

export function lowerCohort(l: Lowerer, sink: DiagnosticSink, base: DefinitionBase, root: YMap): CohortDef {
  const cohortPair = getPair(root, 'cohort');
  const cohortNode = cohortPair?.value.kind === 'map' ? cohortPair.value : undefined;
  let cohort: CohortDef['cohort'];
  let every: CohortDef['every'] = 'week';
  let count = 0;
  if (cohortNode) {
    const attr = getPair(cohortNode, 'attribute');
    const hasEvents = !!getPair(cohortNode, 'event') || !!getPair(cohortNode, 'stream');
    if (attr && (hasEvents || getPair(cohortNode, 'where'))) {
      const second = getPair(cohortNode, 'event') ?? getPair(cohortNode, 'stream') ?? getPair(cohortNode, 'where')!;
      sink.error('cohort-form', second.key.span, 'a cohort comes from a timestamp `attribute` or from an event (`event`/`stream`, `where`), not both');
    } else if (!attr && !hasEvents) {
      sink.error('cohort-form', cohortNode.span, 'say where the cohort instant comes from: `attribute: <timestamp attribute>` or `event: <type>` (the first such event)');
    } else if (attr) {
      const ref = l.optRef(cohortNode, 'attribute');
      if (ref) cohort = { attribute: ref };
    } else {
      const sub: YMap = { ...cohortNode, pairs: cohortNode.pairs.filter((p) => p.key.value !== 'every' && p.key.value !== 'count') };
      cohort = { query: l.eventQuery(sub, false) };
    }
    const e = l.optString(cohortNode, 'every');
    if (e === 'week' || e === 'month') every = e;
    count = intAt(cohortNode, 'count') ?? 0;
  }
  const retPair = getPair(root, 'return');
  const returning: EventQuery | undefined = retPair?.value.kind === 'map' ? l.eventQuery(retPair.value, false) : undefined;
  const returnsPair = getPair(root, 'returns');
  let returns: CohortDef['returns'];
  if (returnsPair?.value.kind === 'map') {
    const node = returnsPair.value;
    const present = node.pairs.filter((p) => (RETURN_FORMS as readonly string[]).includes(String(p.key.value)));
    if (present.length !== 1) {
      sink.error(
        'returns-form',
        present.length ? present[1]!.key.span : node.span,
        present.length ? `\`returns\` has exactly one form; this one has ${present.map((p) => p.key.value).join(' and ')}` : '`returns` needs one of: `days: [1, 7, 30]`, `weeks: 12`, `months: 6`',
      );
    }
    const p = present[0];
    if (p && p.key.value === 'days') {
      const items = p.value.kind === 'seq' ? p.value.items : [];
      const offsets = items.map((i) => (i.kind === 'scalar' && typeof i.value === 'number' && Number.isInteger(i.value) && i.value >= 1 ? i.value : NaN));
      if (offsets.length && offsets.every((n) => !Number.isNaN(n))) {
        const bad = offsets.findIndex((n, i) => i > 0 && n <= offsets[i - 1]!);
        if (bad > 0) sink.error('bad-value', items[bad]!.span, `day offsets are ascending and distinct: ${offsets[bad]} comes after ${offsets[bad - 1]}`);
        else if (present.length === 1) returns = { unit: 'days', offsets };
      }
    } else if (p) {
      const k = p.value.kind === 'scalar' && typeof p.value.value === 'number' && Number.isInteger(p.value.value) && p.value.value >= 1 ? p.value.value : undefined;
      if (k !== undefined && present.length === 1) returns = { unit: p.key.value as 'weeks' | 'months', count: k };
    }
  }
  return {
    ...base,
    kind: 'Cohort',
    entity: l.optRef(root, 'entity'),
    cohort,
    every,
    count,
    returning,
    returns,
    cohortSpan: cohortPair?.value.span ?? base.nameSpan,
    returnsSpan: returnsPair?.value.span ?? base.nameSpan,
  };
}

/** The KPI retention form's `cohort: { attribute: signed_up_at, within: 90d }`, or undefined for the event form. */
export function lowerCohortAttribute(l: Lowerer, sink: DiagnosticSink, cohort: YMap): CohortAttribute | 'invalid' | undefined {
  const attr = getPair(cohort, 'attribute');
  if (!attr) return undefined;
  const other = getPair(cohort, 'event') ?? getPair(cohort, 'stream') ?? getPair(cohort, 'where');
  if (other) {
    sink.error('cohort-form', other.key.span, 'a cohort comes from a timestamp `attribute` or from an event (`event`/`stream`, `where`), not both');
    return 'invalid';
  }
  const ref = l.optRef(cohort, 'attribute');
  const w = getPair(cohort, 'within');
  const within = w ? l.duration(w.value) : undefined;
  if (!ref || !w || !within) return 'invalid';
  return { attribute: ref, within, withinSpan: w.value.span };
}

function intAt(map: YMap, key: string): number | undefined {
  const v: YNode | undefined = getPair(map, key)?.value;
  return v?.kind === 'scalar' && typeof v.value === 'number' && Number.isInteger(v.value) ? v.value : undefined;
}
