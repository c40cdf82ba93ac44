// Lowering: a YAML document (already schema-checked) -> a typed definition.
//
// The schema reports shape errors (unknown keys, wrong types); lowering reports what a schema cannot
// say well: "exactly one condition form", which operators fit which form, bad durations and instants.
// It is lenient: a broken part becomes `invalid` and the rest still lowers, so names stay known.

import type { DiagnosticSink, Span } from '../diagnostics.js';
import { getPair, type YMap, type YNode, type YScalar } from '../syntax/nodes.js';
import { badInstant, parseDuration, parseInstant, type Duration } from '../time.js';
import { suggestOperator } from '../suggest.js';
import { COMMON_SCHEMA } from '../syntax/schemas.js';
import { lowerCohort, lowerCohortAttribute } from './lower-cohort.js';
import { ACQUISITION_FORMS, lowerAcquisitionMetric, lowerCosts } from './lower-acquisition.js';
import { lowerDestination, lowerSync } from './lower-sync.js';
import {
  KINDS,
  OP_NAMES,
  VALUE_TYPES,
  type Aggregate,
  type AttributeDecl,
  type CampaignDef,
  type CampaignVariant,
  type Comparison,
  type ComparisonOp,
  type Condition,
  type Definition,
  type DefinitionBase,
  type FunnelDef,
  type FunnelStep,
  type EventQuery,
  type Kind,
  type KpiTarget,
  type KpiBreakdown,
  type Metric,
  type OpName,
  type Operator,
  type ProfileExpr,
  type Quantiles,
  type PropertyFilter,
  type Ref,
  type Scalar,
  type TableRef,
  type TimePoint,
  type ValueType,
  type WrittenInstant,
} from './types.js';

/** Every key a condition or a property filter accepts (the schema's), known or not as operators. */
const CONDITION_KEYS: ReadonlySet<string> = new Set(
  ['condition', 'propertyFilter'].flatMap((d) => Object.keys((((COMMON_SCHEMA.$defs as Record<string, { properties?: object }>)[d]?.properties) ?? {}))),
);

export const NAME_RE = /^[a-z][a-z0-9_]{0,62}$/;

const CONDITION_FORMS = ['all', 'any', 'not', 'attribute', 'event', 'segment', 'stage', 'trait', 'score'] as const;
const AGGREGATES = ['sum', 'avg', 'min', 'max'] as const;
const METRIC_FORMS = ['count', 'events', 'sum', 'avg', 'active', 'ratio', 'retention', 'churn', 'nps', 'count_distinct', 'conversion', ...ACQUISITION_FORMS] as const;

export class Lowerer {
  constructor(
    private readonly sink: DiagnosticSink,
    private readonly timezone: string,
  ) {}

  lowerDocument(root: YMap, file: string, doc: number): Definition | undefined {
    const kindPair = getPair(root, 'kind');
    const kind = kindPair && scalarString(kindPair.value);
    if (!kindPair || kind === undefined || !(KINDS as readonly string[]).includes(kind)) return undefined;
    const namePair = getPair(root, 'name');
    const name = namePair ? scalarString(namePair.value) : undefined;
    if (!namePair || name === undefined) return undefined;
    const versionPair = getPair(root, 'version');
    const version = versionPair?.value.kind === 'scalar' && typeof versionPair.value.value === 'number' ? versionPair.value.value : 0;
    const base: DefinitionBase = {
      kind: kind as Kind,
      name,
      version,
      description: this.optString(root, 'description'),
      owner: this.optString(root, 'owner'),
      tags: this.stringList(root, 'tags').map((r) => r.name),
      ...(this.optString(root, 'materialize') === 'table' ? { materialize: 'table' as const } : {}),
      file,
      doc,
      node: root,
      nameSpan: namePair.value.span,
      kindSpan: kindPair.value.span,
      versionSpan: versionPair ? versionPair.value.span : namePair.key.span,
    };
    switch (base.kind) {
      case 'Entity':
        return this.lowerEntity(base, root);
      case 'Events':
        return this.lowerEvents(base, root);
      case 'Segment':
        return { ...base, kind: 'Segment', entity: this.optRef(root, 'entity'), where: this.conditionAt(root, 'where') };
      case 'Trait':
        return this.lowerTrait(base, root);
      case 'Score':
        return this.lowerScore(base, root);
      case 'Lifecycle':
        return this.lowerLifecycle(base, root);
      case 'Kpi':
        return this.lowerKpi(base, root);
      case 'Campaign': {
        const audience = mapAt(root, 'audience');
        const trigger = mapAt(root, 'trigger');
        const goal = mapAt(root, 'goal');
        return {
          ...base,
          kind: 'Campaign',
          audience: audience ? { segment: this.optRef(audience, 'segment'), exclude: this.stringList(audience, 'exclude') } : undefined,
          trigger: trigger ? this.eventQuery(trigger, false, ['delay']) : undefined,
          goal: goal ? this.eventQuery(goal, false) : undefined,
          ...this.lowerCampaignPlan(root, trigger),
        };
      }
      case 'Test':
        return { ...base, kind: 'Test' };
      case 'Cohort':
        return lowerCohort(this, this.sink, base, root);
      case 'Funnel':
        return this.lowerFunnel(base, root);
      case 'Costs':
        return lowerCosts(this, base, root);
      case 'Destination':
        return lowerDestination(this, this.sink, base, root);
      case 'Sync':
        return lowerSync(this, this.sink, base, root);
    }
  }

  // ---- campaigns ---------------------------------------------------------------------------------

  private lowerCampaignPlan(root: YMap, trigger: YMap | undefined): Pick<CampaignDef, 'channel' | 'schedule' | 'triggerDelay' | 'entry' | 'frequencyCap' | 'variants' | 'variantsComplete' | 'variantsSpan'> {
    const instant = (map: YMap, key: string): WrittenInstant | undefined => {
      const p = getPair(map, key);
      const text = p ? scalarString(p.value) : undefined;
      if (!p || text === undefined) return undefined;
      const parsed = parseInstant(text, this.timezone);
      if (!parsed) {
        const bad = badInstant(text, p.value.span, `'${text}' is not a date; write an ISO date such as 2027-01-05 or 2027-01-05T09:00:00Z`, this.timezone);
        this.sink.error('bad-instant', bad.span, bad.message);
        return undefined;
      }
      return { date: parsed.date, dateOnly: parsed.dateOnly, text, span: p.value.span };
    };
    const sched = mapAt(root, 'schedule');
    const delayPair = trigger ? getPair(trigger, 'delay') : undefined;
    const entryPair = getPair(root, 'entry');
    let entry: CampaignDef['entry'] = { kind: 'once' };
    if (entryPair?.value.kind === 'map') {
      const every = getPair(entryPair.value, 'every');
      const d = every ? this.duration(every.value) : undefined;
      if (d) entry = { kind: 'every', every: d };
    }
    const capNode = mapAt(root, 'frequency_cap');
    const capMax = capNode ? this.optNumber(capNode, 'max') : undefined;
    const capPer = capNode ? getPair(capNode, 'per') : undefined;
    const capDuration = capPer ? this.duration(capPer.value) : undefined;
    const variants: CampaignVariant[] = [];
    let variantsComplete = true;
    for (const item of seqAt(root, 'variants')) {
      const name = item.kind === 'map' ? this.optRef(item, 'name') : undefined;
      const weight = item.kind === 'map' ? this.optNumber(item, 'weight') : undefined;
      const h = item.kind === 'map' ? getPair(item, 'holdout') : undefined;
      const holdoutOk = !h || (h.value.kind === 'scalar' && typeof h.value.value === 'boolean');
      if (item.kind !== 'map' || !name || weight === undefined || weight < 0 || !holdoutOk) {
        variantsComplete = false;
        continue;
      }
      variants.push({ name, weight, holdout: h?.value.kind === 'scalar' && h.value.value === true, span: item.span });
    }
    return {
      channel: this.optString(root, 'channel'),
      schedule: sched ? { start: instant(sched, 'start'), end: instant(sched, 'end'), span: sched.span } : undefined,
      triggerDelay: delayPair ? this.duration(delayPair.value) : undefined,
      entry,
      frequencyCap: capNode && capMax !== undefined && Number.isInteger(capMax) && capMax >= 1 && capDuration ? { max: capMax, per: capDuration, span: capNode.span } : undefined,
      variants,
      variantsComplete,
      variantsSpan: getPair(root, 'variants')?.value.span,
    };
  }

  // ---- mapping kinds ---------------------------------------------------------------------------

  private lowerEntity(base: DefinitionBase, root: YMap): Definition {
    const attributes = new Map<string, AttributeDecl>();
    const attrs = mapAt(root, 'attributes');
    if (attrs) {
      for (const p of attrs.pairs) {
        const name = String(p.key.value);
        const v = p.value.kind === 'map' ? p.value : undefined;
        attributes.set(name, {
          name,
          column: (v && this.optString(v, 'column')) ?? name,
          type: v ? this.optType(v, 'type') : undefined,
          span: p.key.span,
        });
      }
    }
    return {
      ...base,
      kind: 'Entity',
      table: this.tableRef(root, 'table'),
      key: this.reqRef(root, 'key', 'id'),
      createdAt: this.optRef(root, 'created_at'),
      attributes,
      pii: this.stringList(root, 'pii'),
    };
  }

  private lowerEvents(base: DefinitionBase, root: YMap): Definition {
    const propertyTypes = new Map<string, { type: ValueType; span: Span }>();
    const pt = mapAt(root, 'property_types');
    if (pt) {
      for (const p of pt.pairs) {
        const t = scalarString(p.value);
        if (t && (VALUE_TYPES as readonly string[]).includes(t)) propertyTypes.set(String(p.key.value), { type: t as ValueType, span: p.key.span });
      }
    }
    const columns = new Map<string, AttributeDecl>();
    const cols = mapAt(root, 'columns');
    if (cols) {
      for (const p of cols.pairs) {
        const name = String(p.key.value);
        const v = p.value.kind === 'map' ? p.value : undefined;
        columns.set(name, { name, column: (v && this.optString(v, 'column')) ?? name, type: v ? this.optType(v, 'type') : undefined, span: p.key.span });
      }
    }
    return {
      ...base,
      kind: 'Events',
      entity: this.optRef(root, 'entity'),
      table: this.tableRef(root, 'table'),
      entityKey: this.reqRef(root, 'entity_key', 'customer_id'),
      time: this.reqRef(root, 'time', 'occurred_at'),
      type: this.optRef(root, 'type'),
      properties: this.optRef(root, 'properties'),
      propertyTypes,
      columns,
      ...(getPair(root, 'dedupe_on') ? { dedupeOn: this.stringList(root, 'dedupe_on') } : {}),
      ...this.currencyOf(root),
    };
  }

  /** An Events' `currency: { column, amounts }` (absent unless complete). */
  private currencyOf(root: YMap): { currency?: { column: Ref; amounts: Ref[] } } {
    const c = mapAt(root, 'currency');
    const column = c && this.optRef(c, 'column');
    const amounts = c ? this.stringList(c, 'amounts') : [];
    return column && amounts.length ? { currency: { column, amounts } } : {};
  }

  // ---- profile kinds ---------------------------------------------------------------------------

  private lowerTrait(base: DefinitionBase, root: YMap): Definition {
    const typePair = getPair(root, 'type');
    const computeNode = mapAt(root, 'compute');
    let compute: { query: EventQuery; agg: Aggregate; span: Span } | undefined;
    const derived = computeNode ? this.derivedTrait(computeNode) : undefined;
    if (computeNode && !derived) {
      const query = this.eventQuery(computeNode, true);
      const agg = this.aggregate(computeNode, true);
      compute = { query, agg: agg ?? { fn: 'count' }, span: computeNode.span };
    }
    const quantiles = this.quantiles(root);
    return {
      ...base,
      kind: 'Trait',
      entity: this.optRef(root, 'entity'),
      type: this.optType(root, 'type'),
      typeSpan: typePair?.value.span,
      compute,
      ...(derived ? { derived } : {}),
      ...(quantiles ? { quantiles } : {}),
    };
  }

  /** A trait's entity forms (`attribute`, `days_since: { attribute }`, `expr`); undefined for the event form. */
  private derivedTrait(node: YMap): { expr: ProfileExpr; span: Span } | undefined {
    const forms = node.pairs.filter((p) => p.key.value === 'attribute' || p.key.value === 'expr' || (p.key.value === 'days_since' && p.value.kind === 'map'));
    if (!forms.length) return undefined;
    if (forms.length > 1) this.sink.error('conflicting-aggregate', forms[1]!.key.span, `one computation at a time; this has ${forms.map((p) => p.key.value).join(' and ')}`);
    const form = forms[0]!;
    for (const p of node.pairs) {
      if (p === form || forms.includes(p)) continue;
      this.sink.error('unexpected-key', p.key.span, `\`${String(p.key.value)}\` does not belong with \`${String(form.key.value)}\`: a trait is computed either from events or from the entity (attributes, other traits)`);
    }
    const expr = form.key.value === 'expr' ? this.profileExpr(form.value) : this.profileExpr(node, String(form.key.value));
    return { expr, span: node.span };
  }

  /** One operand of `expr` (or the trait's compute mapping itself, reading only `only`). */
  private profileExpr(n: YNode, only?: string): ProfileExpr {
    if (n.kind === 'scalar' && typeof n.value === 'number' && Number.isFinite(n.value)) return { k: 'num', value: n.value, span: n.span };
    if (n.kind !== 'map' || n.pairs.length === 0) {
      this.sink.error('bad-value', n.span, 'an operand is a number, `{ trait: name }`, `{ attribute: name }`, `{ days_since: { attribute: name } }` or `{ add | subtract | multiply | divide: [a, b] }`');
      return { k: 'invalid', span: n.span };
    }
    const pairs = only ? n.pairs.filter((p) => p.key.value === only) : n.pairs;
    const p = pairs[0]!;
    if (!only && pairs.length > 1) {
      this.sink.error('unexpected-key', pairs[1]!.key.span, 'one operand per mapping: nest operations, e.g. `{ add: [{ trait: a }, { multiply: [{ trait: b }, 2] }] }`');
    }
    const key = String(p.key.value);
    switch (key) {
      case 'trait':
      case 'attribute': {
        const ref = this.optRef(n, key);
        return ref ? { k: key, ref, span: n.span } : { k: 'invalid', span: n.span };
      }
      case 'days_since': {
        const inner = p.value.kind === 'map' ? p.value : undefined;
        const ref = inner ? this.optRef(inner, 'attribute') : undefined;
        if (!ref) {
          this.sink.error('bad-value', p.value.span, 'here `days_since` takes a timestamp attribute: `{ days_since: { attribute: signed_up_at } }`');
          return { k: 'invalid', span: n.span };
        }
        return { k: 'days_since', ref, span: n.span };
      }
      case 'add':
      case 'subtract':
      case 'multiply':
      case 'divide': {
        const two = key === 'subtract' || key === 'divide';
        if (p.value.kind !== 'seq' || p.value.items.length < 2 || (two && p.value.items.length !== 2)) {
          this.sink.error('bad-value', p.value.span, `\`${key}\` takes ${two ? 'exactly two' : 'two or more'} operands in a list, e.g. \`${key}: [{ trait: lifetime_value }, 2]\``);
          return { k: 'invalid', span: n.span };
        }
        return { k: 'op', op: key, args: p.value.items.map((i) => this.profileExpr(i)), span: n.span, keySpan: p.key.span };
      }
      default:
        // The schema reports the unknown key with did-you-mean.
        return { k: 'invalid', span: n.span };
    }
  }

  /** `bands: { quantiles: N }`; undefined when absent or written as a list (a score's named bands). */
  private quantiles(root: YMap): Quantiles | undefined {
    const p = getPair(root, 'bands');
    if (!p || p.value.kind !== 'map') return undefined;
    const n = this.optNumber(p.value, 'quantiles');
    return n !== undefined && Number.isInteger(n) && n >= 2 && n <= 100 ? { n, span: p.value.span } : undefined;
  }

  private lowerScore(base: DefinitionBase, root: YMap): Definition {
    const components = seqAt(root, 'components')
      .filter((n): n is YMap => n.kind === 'map')
      .map((m) => ({
        ...this.componentSource(m),
        weight: this.optNumber(m, 'weight') ?? 1,
        from: this.optNumber(m, 'from') ?? 0,
        to: this.optNumber(m, 'to') ?? 1,
        span: m.span,
      }));
    const bands = seqAt(root, 'bands')
      .filter((n): n is YMap => n.kind === 'map')
      .map((m) => ({ name: this.reqRef(m, 'name', ''), gte: this.optNumber(m, 'gte'), gt: this.optNumber(m, 'gt'), span: m.span }));
    const quantiles = this.quantiles(root);
    return { ...base, kind: 'Score', entity: this.optRef(root, 'entity'), components, bands, ...(quantiles ? { quantiles } : {}) };
  }

  /** A score component's value: exactly one of `trait` and `attribute`. */
  private componentSource(m: YMap): { trait?: Ref; attribute?: Ref } {
    const trait = this.optRef(m, 'trait');
    const attribute = this.optRef(m, 'attribute');
    if (trait && attribute) {
      this.sink.error('conflicting-aggregate', getPair(m, 'attribute')!.key.span, 'a component scores one value: a `trait` or an `attribute`, not both');
      return { trait };
    }
    if (attribute) return { attribute };
    if (!trait) this.sink.error('missing-key', m.span, 'a component needs `trait:` or `attribute:`, e.g. `{ trait: sessions_30d, weight: 1, from: 0, to: 20 }`');
    return { trait: trait ?? { name: '', span: m.span } };
  }

  private lowerLifecycle(base: DefinitionBase, root: YMap): Definition {
    const stages = seqAt(root, 'stages')
      .filter((n): n is YMap => n.kind === 'map')
      .map((m) => ({
        name: this.reqRef(m, 'name', ''),
        where: getPair(m, 'where') ? this.conditionAt(m, 'where') : undefined,
        span: m.span,
      }));
    return { ...base, kind: 'Lifecycle', entity: this.optRef(root, 'entity'), stages };
  }

  // ---- funnels ---------------------------------------------------------------------------------

  private lowerFunnel(base: DefinitionBase, root: YMap): FunnelDef {
    const withinPair = getPair(root, 'within');
    const within = withinPair ? this.duration(withinPair.value) : undefined;
    const steps: FunnelStep[] = [];
    const seen = new Map<string, Span>();
    const stepsPair = getPair(root, 'steps');
    const items = stepsPair?.value.kind === 'seq' ? stepsPair.value.items : [];
    items.forEach((item, i) => {
      if (item.kind !== 'map') return; // the schema reports it
      const name = this.optRef(item, 'name');
      if (!name) return;
      if (seen.has(name.name)) this.sink.error('duplicate-step', name.span, `this funnel already has a step named '${name.name}'; step names are unique within a funnel`);
      seen.set(name.name, name.span);
      const w = getPair(item, 'within');
      if (i === 0 && w) this.sink.error('unexpected-key', w.key.span, 'the first step has no previous step: its window is the funnel\'s `within` (entrants)');
      const query = this.eventQuery(item, false, ['name']);
      steps.push({ name, query: i === 0 && w ? { ...query, within: undefined, withinSpan: undefined } : query, span: item.span });
    });
    if (stepsPair && items.length < 2)
      this.sink.error('funnel-steps', stepsPair.value.span, `a funnel needs at least two steps (it has ${items.length}): an entry step and one to convert to`);
    return { ...base, kind: 'Funnel', entity: this.optRef(root, 'entity'), within, withinSpan: withinPair?.value.span, steps };
  }

  // ---- KPIs ------------------------------------------------------------------------------------

  private lowerKpi(base: DefinitionBase, root: YMap): Definition {
    const metricPair = getPair(root, 'metric');
    const metric: Metric = metricPair ? this.metric(metricPair.value) : { form: 'invalid', span: base.nameSpan };
    const targetNode = mapAt(root, 'target');
    const target: KpiTarget | undefined = targetNode ? this.kpiTarget(targetNode, 'target') : undefined;
    const breakdownNode = mapAt(root, 'breakdown');
    const guardNode = mapAt(root, 'guardrail');
    return {
      ...base,
      kind: 'Kpi',
      entity: this.optRef(root, 'entity'),
      funnel: this.optString(root, 'funnel'),
      unit: this.optString(root, 'unit'),
      format: ((f) => (f === 'number' || f === 'percent' || f === 'currency' ? f : undefined))(this.optString(root, 'format')),
      metric,
      target,
      guardrail: guardNode ? this.comparison(guardNode, ['gte', 'gt', 'lte', 'lt'], 'guardrail') : undefined,
      ...(breakdownNode ? { breakdown: this.breakdown(breakdownNode) } : {}),
    };
  }

  private kpiTarget(targetNode: YMap, what: string): KpiTarget {
    const byPair = getPair(targetNode, 'by');
    let by: KpiTarget['by'];
    if (byPair) {
      const text = scalarString(byPair.value);
      const parsed = text !== undefined ? parseInstant(text, this.timezone) : undefined;
      if (text !== undefined && !parsed) {
        const bad = badInstant(text, byPair.value.span, `'${text}' is not a date; write an ISO date such as 2027-03-31`, this.timezone);
        this.sink.error('bad-instant', bad.span, bad.message);
      }
      if (parsed && text !== undefined) by = { date: parsed.date, dateOnly: parsed.dateOnly, text, span: byPair.value.span };
    }
    const baseNode = mapAt(targetNode, 'baseline');
    let baseline: KpiTarget['baseline'];
    if (baseNode) {
      const value = this.optNumber(baseNode, 'value');
      const onPair = getPair(baseNode, 'on');
      const onText = onPair ? scalarString(onPair.value) : undefined;
      const on = onText !== undefined ? parseInstant(onText, this.timezone) : undefined;
      if (onPair && onText !== undefined && !on) {
        const bad = badInstant(onText, onPair.value.span, `'${onText}' is not a date; write an ISO date such as 2026-10-01`, this.timezone);
        this.sink.error('bad-instant', bad.span, bad.message);
      }
      if (value !== undefined && on && onText !== undefined) baseline = { value, on: on.date, text: onText, span: baseNode.span };
    }
    return { comparison: this.comparison(targetNode, ['gte', 'gt', 'lte', 'lt', 'eq', 'between'], what), by, baseline, span: targetNode.span };
  }

  /** `breakdown:`: exactly one of attribute | segments | lifecycle | score, `top` (attribute only), per-group targets. */
  private breakdown(node: YMap): KpiBreakdown {
    const forms = node.pairs.filter((p) => ['attribute', 'segments', 'lifecycle', 'score', 'trait'].includes(String(p.key.value)));
    let by: KpiBreakdown['by'] = { k: 'invalid' };
    if (forms.length === 0) this.sink.error('missing-breakdown', node.span, 'a breakdown needs one of `attribute`, `segments`, `lifecycle`, `score` or `trait` (for example `attribute: country`)');
    else if (forms.length > 1) this.sink.error('conflicting-breakdown', forms[1]!.key.span, `a breakdown groups by one thing; it has ${forms.map((p) => `\`${p.key.value}\``).join(' and ')}: keep one`);
    else {
      const k = String(forms[0]!.key.value) as 'attribute' | 'segments' | 'lifecycle' | 'score' | 'trait';
      if (k === 'segments') {
        const refs = this.stringList(node, 'segments');
        if (refs.length) by = { k, refs };
      } else {
        const ref = this.optRef(node, k);
        if (ref) by = { k, ref };
      }
    }
    const topPair = getPair(node, 'top');
    const n = this.optNumber(node, 'top');
    let top: KpiBreakdown['top'];
    if (topPair && n !== undefined && Number.isInteger(n) && n >= 1) {
      if (by.k !== 'attribute' && by.k !== 'trait' && by.k !== 'invalid') this.sink.error('unexpected-key', topPair.key.span, `\`top\` merges the small groups of an attribute or trait; a ${by.k} breakdown lists each of its groups`);
      else top = { n, span: topPair.value.span };
    }
    const targetsNode = mapAt(node, 'targets');
    const targets: { group: Ref; target: KpiTarget }[] = [];
    for (const p of targetsNode?.pairs ?? []) {
      const text = scalarString(p.key);
      if (text === undefined || p.value.kind !== 'map') continue;
      targets.push({ group: { name: text, span: textSpan(p.key as YScalar, text) }, target: this.kpiTarget(p.value, `target of group '${text}'`) });
    }
    return { by, ...(top ? { top } : {}), targets, span: node.span };
  }

  private comparison(node: YMap, allowed: ComparisonOp[], what: string): Comparison | undefined {
    const present = node.pairs.filter((p) => (allowed as string[]).includes(String(p.key.value)));
    if (present.length === 0) {
      this.sink.error('missing-comparison', node.span, `the ${what} needs one comparison: ${allowed.join(', ')} (for example \`gte: 0.35\`)`);
      return undefined;
    }
    if (present.length > 1) {
      this.sink.error('conflicting-comparison', present[1]!.key.span, `the ${what} has more than one comparison (${present.map((p) => p.key.value).join(', ')}); keep one`);
    }
    const p = present[0]!;
    const op = String(p.key.value) as ComparisonOp;
    if (op === 'between') {
      const items = p.value.kind === 'seq' ? p.value.items : [];
      const nums = items.map((i) => (i.kind === 'scalar' && typeof i.value === 'number' ? i.value : NaN));
      if (nums.length !== 2 || nums.some((n) => !Number.isFinite(n))) {
        this.sink.error('bad-value', p.value.span, '`between` takes two numbers: [low, high]');
        return undefined;
      }
      if (nums[0]! > nums[1]!) this.sink.error('bad-value', p.value.span, `\`between\` is [low, high] but ${nums[0]} > ${nums[1]}`);
      return { op, value: [nums[0]!, nums[1]!], span: p.value.span };
    }
    const v = p.value.kind === 'scalar' ? p.value.value : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      this.sink.error('bad-value', p.value.span, `the ${what}'s \`${op}\` takes a finite number`);
      return undefined;
    }
    return { op, value: v, span: p.value.span };
  }

  metric(node: YNode): Metric {
    if (node.kind !== 'map') return { form: 'invalid', span: node.span };
    const present = node.pairs.filter((p) => (METRIC_FORMS as readonly string[]).includes(String(p.key.value)));
    if (present.length !== 1) {
      this.sink.error(
        'metric-form',
        present.length ? present[1]!.key.span : node.span,
        present.length
          ? `a metric has exactly one form; this one has ${present.map((p) => p.key.value).join(' and ')}`
          : `a metric needs one of: ${METRIC_FORMS.join(', ')}`,
      );
      if (!present.length) return { form: 'invalid', span: node.span };
    }
    const pair = present[0]!;
    const form = String(pair.key.value) as (typeof METRIC_FORMS)[number];
    const v = pair.value;
    const span = node.span;
    if (form === 'count') return { form, where: this.condition(v), span };
    if (v.kind !== 'map') {
      this.sink.error('bad-value', v.span, `\`${form}\` takes a mapping`);
      return { form: 'invalid', span };
    }
    switch (form) {
      case 'csat':
      case 'cost':
      case 'cac':
      case 'roas':
        return lowerAcquisitionMetric(this, this.sink, form, v, pair.key.span, span);
      case 'events':
      case 'active':
      case 'churn':
        if (form !== 'events' && !getPair(v, 'within'))
          this.sink.error('missing-window', pair.key.span, `\`${form}\` needs \`within\` (for example \`within: 30d\`)`);
        return { form, query: this.eventQuery(v, false), span };
      case 'sum':
      case 'avg':
      case 'count_distinct':
      case 'nps': {
        const property = this.optRef(v, 'property');
        if (!property) {
          this.sink.error('missing-property', pair.key.span, `\`${form}\` needs \`property\`: the event property to ${form === 'nps' ? 'read the 0-10 score from' : form === 'count_distinct' ? 'count the distinct values of' : 'aggregate'}`);
          return { form: 'invalid', span };
        }
        return { form, query: this.eventQuery(v, false, ['property']), property, span };
      }
      case 'ratio': {
        const num = getPair(v, 'numerator');
        const den = getPair(v, 'denominator');
        if (!num || !den) {
          this.sink.error('missing-key', pair.key.span, '`ratio` needs both `numerator` and `denominator` metrics');
          return { form: 'invalid', span };
        }
        return { form, numerator: this.metric(num.value), denominator: this.metric(den.value), span };
      }
      case 'retention': {
        const cohort = mapAt(v, 'cohort');
        const ret = mapAt(v, 'return');
        const days = this.optNumber(v, 'days');
        if (!cohort || !ret || days === undefined) {
          this.sink.error('missing-key', pair.key.span, '`retention` needs `cohort` (with `within`), `return` and `days`');
          return { form: 'invalid', span };
        }
        if (!Number.isInteger(days) || days < 1) this.sink.error('bad-value', getPair(v, 'days')!.value.span, '`days` is a whole number of days, at least 1');
        const byAttribute = lowerCohortAttribute(this, this.sink, cohort);
        if (byAttribute === 'invalid') return { form: 'invalid', span };
        if (byAttribute) return { form, cohort: { where: [], span: cohort.span }, returning: this.eventQuery(ret, false), days, span, cohortAttribute: byAttribute };
        if (!getPair(cohort, 'within')) this.sink.error('missing-window', cohort.span, 'the cohort needs `within`: how far back signups count (for example `within: 90d`)');
        return { form, cohort: this.eventQuery(cohort, false), returning: this.eventQuery(ret, false), days, span };
      }
      case 'conversion': {
        const funnel = this.optRef(v, 'funnel');
        if (!funnel) {
          this.sink.error('missing-key', pair.key.span, '`conversion` needs `funnel`: the Funnel to measure');
          return { form: 'invalid', span };
        }
        const step = this.optRef(v, 'step');
        const from = this.optRef(v, 'from');
        const to = this.optRef(v, 'to');
        if (step && (from || to)) {
          this.sink.error('conversion-form', getPair(v, from ? 'from' : 'to')!.key.span, '`conversion` takes `step` or `from`/`to`, not both');
          return { form: 'invalid', span };
        }
        if (!from !== !to) {
          this.sink.error('conversion-form', getPair(v, from ? 'from' : 'to')!.key.span, '`from` and `to` go together: reached `to` / reached `from`');
          return { form: 'invalid', span };
        }
        return { form, funnel, step, from, to, span };
      }
    }
  }

  // ---- conditions ------------------------------------------------------------------------------

  conditionAt(map: YMap, key: string): Condition {
    const p = getPair(map, key);
    if (!p) return { form: 'invalid', span: map.span };
    return this.condition(p.value);
  }

  condition(node: YNode): Condition {
    if (node.kind !== 'map') {
      if (node.kind === 'scalar' && node.value === null) this.sink.error('empty-condition', node.span, 'this condition is empty; write one form such as `{ attribute: country, eq: DE }`');
      else this.sink.error('bad-condition', node.span, 'a condition is a mapping such as `{ attribute: country, eq: DE }` or `{ event: purchase, within: 30d }`');
      return { form: 'invalid', span: node.span };
    }
    const keys = node.pairs.map((p) => String(p.key.value));
    const forms = CONDITION_FORMS.filter((f) => keys.includes(f));
    // `stream:` alone is the event form too.
    if (!forms.includes('event') && keys.includes('stream')) forms.push('event');
    if (forms.length !== 1) {
      if (forms.length === 0) {
        this.sink.error('condition-form', node.span, `a condition needs exactly one form: ${CONDITION_FORMS.join(', ')} (or stream)`);
      } else {
        const second = getPair(node, forms[1] === 'event' && !keys.includes('event') ? 'stream' : forms[1]!)!;
        this.sink.error('condition-form', second.key.span, `a condition has exactly one form; this one mixes ${forms.join(' and ')}: split it into an \`all:\` list`);
      }
      return { form: 'invalid', span: node.span };
    }
    const form = forms[0]!;
    const span = node.span;
    switch (form) {
      case 'all':
      case 'any': {
        const p = getPair(node, form)!;
        this.onlyKeys(node, [form], `\`${form}\``);
        if (p.value.kind !== 'seq') {
          this.sink.error('bad-value', p.value.span, `\`${form}\` takes a list of conditions`);
          return { form: 'invalid', span };
        }
        if (p.value.items.length === 0) this.sink.warning('empty-list', p.value.span, `an empty \`${form}\` is always ${form === 'all' ? 'true' : 'false'}`);
        return { form, items: p.value.items.map((i) => this.condition(i)), span, keySpan: p.key.span };
      }
      case 'not': {
        const p = getPair(node, 'not')!;
        this.onlyKeys(node, ['not'], '`not`');
        return { form, item: this.condition(p.value), span, keySpan: p.key.span };
      }
      case 'segment':
      case 'trait':
      case 'score':
      case 'attribute': {
        const ref = this.optRef(node, form);
        if (!ref) return { form: 'invalid', span };
        if (form === 'segment') {
          this.noOperators(node, 'a `segment` condition is true for the segment\'s members; it takes no operator');
          this.onlyKeys(node, ['segment'], '`segment`');
          return { form, ref, span };
        }
        const band = form === 'score' || form === 'trait' ? this.optRef(node, 'band') : undefined;
        const op = this.operatorOf(node, (form === 'score' || form === 'trait') && band !== undefined ? 'none' : 'one', `\`${form}\``);
        this.onlyKeys(node, [form, ...(form === 'score' || form === 'trait' ? ['band'] : []), ...OP_NAMES], `\`${form}\``);
        if (form === 'score') return { form, ref, band, op, span };
        if (form === 'trait' && band) return { form: 'trait-band', ref, band, span };
        if (!op) return { form: 'invalid', span };
        return form === 'trait' ? { form, ref, op, span } : { form, attribute: ref, op, span };
      }
      case 'stage': {
        const p = getPair(node, 'stage')!;
        this.noOperators(node, 'a `stage` condition takes no operator');
        this.onlyKeys(node, ['stage'], '`stage`');
        const text = scalarString(p.value);
        const dot = text?.indexOf('.') ?? -1;
        if (text === undefined || dot <= 0 || dot === text.length - 1) {
          this.sink.error('bad-stage-ref', p.value.span, '`stage` is written `lifecycle.stage`, for example `customer_lifecycle.dormant`');
          return { form: 'invalid', span };
        }
        const start = textSpan(p.value as YScalar, text)[0];
        return {
          form,
          lifecycle: { name: text.slice(0, dot), span: [start, start + dot] },
          stage: { name: text.slice(dot + 1), span: [start + dot + 1, start + text.length] },
          span,
        };
      }
      case 'event': {
        const query = this.eventQuery(node, true, [...OP_NAMES.filter((o) => o !== 'within'), ...AGGREGATES, 'count_distinct']);
        const agg = this.aggregate(node, false) ?? { fn: 'count' as const };
        const op = this.operatorOf(node, 'optional', 'an event condition', ['within']);
        return { form, query, agg, op, span };
      }
    }
  }

  /** Reads event/stream/within/where from a mapping; `extra` are keys the caller handles. */
  eventQuery(node: YMap, allowAggregate: boolean, extra: readonly string[] = []): EventQuery {
    const known = ['event', 'stream', 'within', 'where', ...extra, ...(allowAggregate ? [...AGGREGATES, 'count_distinct', 'last', 'first', 'days_since'] : [])];
    this.onlyKeys(node, known, 'an event query');
    const event = this.optRef(node, 'event');
    const stream = this.optRef(node, 'stream');
    if (!event && !stream) this.sink.error('missing-event', node.span, 'say which events: `event: <type>` and/or `stream: <Events name>`');
    const withinPair = getPair(node, 'within');
    const within = withinPair ? this.duration(withinPair.value) : undefined;
    const where: PropertyFilter[] = [];
    const wherePair = getPair(node, 'where');
    if (wherePair) {
      if (wherePair.value.kind !== 'seq') this.sink.error('bad-value', wherePair.value.span, '`where` takes a list of property filters such as `- { property: amount, gte: 100 }`');
      else
        for (const item of wherePair.value.items) {
          if (item.kind !== 'map') {
            this.sink.error('bad-value', item.span, 'a property filter is a mapping such as `{ property: amount, gte: 100 }`');
            continue;
          }
          const property = this.optRef(item, 'property');
          this.onlyKeys(item, ['property', ...OP_NAMES], 'a property filter');
          const op = this.operatorOf(item, 'one', 'a property filter');
          if (property && op) where.push({ property, op, span: item.span });
        }
    }
    return { event, stream, within, withinSpan: withinPair?.value.span, where, span: node.span };
  }

  /** sum/avg/min/max: p; last/first: p|time; days_since: last|first. */
  aggregate(node: YMap, forTrait: boolean): Aggregate | undefined {
    const names = forTrait ? [...AGGREGATES, 'count_distinct', 'last', 'first', 'days_since'] : [...AGGREGATES, 'count_distinct'];
    const present = node.pairs.filter((p) => names.includes(String(p.key.value)));
    if (present.length > 1) {
      this.sink.error('conflicting-aggregate', present[1]!.key.span, `one aggregate at a time; this has ${present.map((p) => p.key.value).join(' and ')}`);
    }
    const p = present[0];
    if (!p) return undefined;
    const fn = String(p.key.value);
    if (fn === 'count_distinct') return this.countDistinct(p.key.span, p.value);
    const text = scalarString(p.value);
    if (text === undefined || text === '') {
      this.sink.error('bad-value', p.value.span, fn === 'days_since' ? '`days_since` is `last` or `first`' : `\`${fn}\` names an event property, for example \`${fn}: amount\``);
      return undefined;
    }
    if (fn === 'days_since') {
      if (text !== 'last' && text !== 'first') {
        this.sink.error('bad-value', p.value.span, '`days_since` is `last` (days since the latest matching event) or `first`');
        return undefined;
      }
      return { fn: 'days_since', which: text, span: p.value.span };
    }
    return { fn: fn as 'sum', property: { name: text, span: p.value.span } };
  }

  /** `count_distinct: { property: p }` (the trait and condition aggregate). */
  private countDistinct(keySpan: Span, v: YNode): Aggregate | undefined {
    if (v.kind !== 'map') {
      const text = scalarString(v);
      this.sink.error('bad-value', v.span, `\`count_distinct\` takes a mapping: \`count_distinct: { property: ${text && /^[A-Za-z_][A-Za-z0-9_]*$/.test(text) ? text : 'sku'} }\``);
      return undefined;
    }
    const property = this.optRef(v, 'property');
    if (!property) {
      this.sink.error('missing-property', keySpan, '`count_distinct` needs `property`: the event property whose distinct values are counted, for example `count_distinct: { property: sku }`');
      return undefined;
    }
    return { fn: 'count_distinct', property };
  }

  /** The operator of a condition: `one` required, `optional`, or `none` allowed. */
  private operatorOf(node: YMap, mode: 'one' | 'optional' | 'none', what: string, exclude: readonly string[] = []): Operator | undefined {
    const ops = node.pairs.filter((p) => (OP_NAMES as readonly string[]).includes(String(p.key.value)) && !exclude.includes(String(p.key.value)));
    if (mode === 'none') {
      if (ops.length) this.sink.error('unexpected-operator', ops[0]!.key.span, `with \`band\`, a ${what === '`trait`' ? 'trait' : 'score'} condition takes no operator; use one or the other`);
      return undefined;
    }
    if (ops.length === 0) {
      // An unknown key that reads as an operator (`equals`) already has its diagnostic, with the
      // operator to use, from the schema stage: one message, at the key.
      const misspelt = node.pairs.some((p) => !CONDITION_KEYS.has(String(p.key.value)) && suggestOperator(String(p.key.value), OP_NAMES) !== undefined);
      if (mode === 'one' && !misspelt) this.sink.error('missing-operator', node.span, `${what} needs one operator: ${OP_NAMES.join(', ')}`);
      return undefined;
    }
    if (ops.length > 1) {
      this.sink.error('conflicting-operator', ops[1]!.key.span, `one operator per condition; this has ${ops.map((p) => p.key.value).join(' and ')}: use \`between\` or an \`all:\` list`);
    }
    const p = ops[0]!;
    return this.operator(String(p.key.value) as OpName, p.value, [p.key.span[0], p.value.span[1]]);
  }

  private operator(op: OpName, v: YNode, span: Span): Operator | undefined {
    const valueSpan = v.span;
    switch (op) {
      case 'in':
      case 'not_in': {
        if (v.kind !== 'seq' || v.items.length === 0) {
          this.sink.error('bad-value', v.span, `\`${op}\` takes a non-empty list, for example \`${op}: [DE, AT]\``);
          return undefined;
        }
        const values: Scalar[] = [];
        for (const i of v.items) {
          const s = this.scalarValue(i, op);
          if (s !== undefined) values.push(s);
        }
        return values.length === v.items.length ? { op, values, span, valueSpan } : undefined;
      }
      case 'between': {
        if (v.kind !== 'seq' || v.items.length !== 2) {
          this.sink.error('bad-value', v.span, '`between` takes two values: [low, high] (both inclusive)');
          return undefined;
        }
        const low = this.scalarValue(v.items[0]!, op);
        const high = this.scalarValue(v.items[1]!, op);
        if (low === undefined || high === undefined) return undefined;
        if (typeof low === 'number' && typeof high === 'number' && low > high)
          this.sink.warning('empty-range', v.span, `\`between: [${low}, ${high}]\` is empty: low is above high`);
        return { op, low, high, span, valueSpan };
      }
      case 'is_null': {
        if (v.kind !== 'scalar' || typeof v.value !== 'boolean') {
          this.sink.error('bad-value', v.span, '`is_null` takes true or false');
          return undefined;
        }
        return { op, value: v.value, span, valueSpan };
      }
      case 'within': {
        const duration = this.duration(v);
        return duration ? { op, duration, span, valueSpan } : undefined;
      }
      case 'before':
      case 'after': {
        const text = scalarString(v);
        if (text === undefined) {
          this.sink.error('bad-value', v.span, `\`${op}\` takes an ISO instant (2026-01-01 or 2026-01-01T09:00:00Z) or a duration meaning T minus it (30d)`);
          return undefined;
        }
        const d = parseDuration(text);
        let point: TimePoint | undefined;
        if (d) point = { kind: 'ago', duration: d };
        else {
          const i = parseInstant(text, this.timezone);
          if (i) point = { kind: 'instant', date: i.date, text };
        }
        if (!point) {
          const looksLikeDate = /^\d{4}\D/.test(text);
          const bad = badInstant(
            text,
            v.span,
            looksLikeDate
              ? `'${text}' is not a valid ISO date or instant; write 2026-01-01 or 2026-01-01T09:00:00Z`
              : `'${text}' is neither an ISO instant (2026-01-01, 2026-01-01T09:00:00Z) nor a duration (30d)`,
            this.timezone,
          );
          this.sink.error('bad-instant', bad.span, bad.message);
          return undefined;
        }
        return { op, point, span, valueSpan };
      }
      default: {
        const value = this.scalarValue(v, op);
        if (value === undefined) return undefined;
        if ((op === 'contains' || op === 'starts_with') && typeof value !== 'string') {
          this.sink.error('type-mismatch', v.span, `\`${op}\` compares text; quote the value`);
          return undefined;
        }
        return { op, value, span, valueSpan };
      }
    }
  }

  private scalarValue(n: YNode, op: string): Scalar | undefined {
    if (n.kind !== 'scalar' || n.value === null) {
      this.sink.error('bad-value', n.span, n.kind === 'scalar' ? `\`${op}\` needs a value; to test for a missing value use \`is_null: true\`` : `\`${op}\` takes a plain value here, not a ${n.kind === 'map' ? 'mapping' : 'list'}`);
      return undefined;
    }
    if (typeof n.value === 'number' && !Number.isFinite(n.value)) {
      this.sink.error('bad-value', n.span, 'numbers must be finite');
      return undefined;
    }
    return n.value;
  }

  duration(n: YNode): Duration | undefined {
    const text = scalarString(n);
    const d = text !== undefined ? parseDuration(text) : undefined;
    if (!d) {
      const shown = n.kind === 'scalar' ? String(n.value) : n.kind;
      this.sink.error('bad-duration', n.span, `'${shown}' is not a duration; write a positive whole number and a unit: 30m, 12h, 90d or 4w`);
    }
    return d;
  }

  // ---- small readers ---------------------------------------------------------------------------

  private noOperators(node: YMap, message: string): void {
    const op = node.pairs.find((p) => (OP_NAMES as readonly string[]).includes(String(p.key.value)));
    if (op) this.sink.error('unexpected-operator', op.key.span, message);
  }

  /** Keys the schema allows on a condition but that this form does not use. */
  private onlyKeys(node: YMap, allowed: readonly string[], what: string): void {
    for (const p of node.pairs) {
      const k = String(p.key.value);
      if (!allowed.includes(k)) this.sink.error('unexpected-key', p.key.span, `\`${k}\` does not belong in ${what}`);
    }
  }

  optString(map: YMap, key: string): string | undefined {
    const p = getPair(map, key);
    return p ? scalarString(p.value) : undefined;
  }

  private optNumber(map: YMap, key: string): number | undefined {
    const p = getPair(map, key);
    return p && p.value.kind === 'scalar' && typeof p.value.value === 'number' && Number.isFinite(p.value.value) ? p.value.value : undefined;
  }

  private optType(map: YMap, key: string): ValueType | undefined {
    const t = this.optString(map, key);
    return t && (VALUE_TYPES as readonly string[]).includes(t) ? (t as ValueType) : undefined;
  }

  optRef(map: YMap, key: string): Ref | undefined {
    const p = getPair(map, key);
    if (!p) return undefined;
    const text = scalarString(p.value);
    return text !== undefined ? { name: text, span: textSpan(p.value as YScalar, text) } : undefined;
  }

  private reqRef(map: YMap, key: string, fallback: string): Ref {
    return this.optRef(map, key) ?? { name: fallback, span: map.span };
  }

  private tableRef(map: YMap, key: string): TableRef {
    const r = this.optRef(map, key);
    if (!r) return { name: '', span: map.span };
    const dot = r.name.indexOf('.');
    return dot > 0 ? { schema: r.name.slice(0, dot), name: r.name.slice(dot + 1), span: r.span } : { name: r.name, span: r.span };
  }

  stringList(map: YMap, key: string): Ref[] {
    const p = getPair(map, key);
    if (!p || p.value.kind !== 'seq') return [];
    const out: Ref[] = [];
    for (const i of p.value.items) {
      const t = scalarString(i);
      if (t !== undefined) out.push({ name: t, span: textSpan(i as YScalar, t) });
    }
    return out;
  }
}

/** A scalar's text: strings as they are, numbers and booleans printed (so `name: 123` still names something). */
export function scalarString(n: YNode | undefined): string | undefined {
  if (!n || n.kind !== 'scalar' || n.value === null) return undefined;
  return typeof n.value === 'string' ? n.value : String(n.value);
}

/** The span of a scalar's text without its quotes (for rename and go-to-definition). */
function textSpan(n: YScalar, text: string): Span {
  const width = n.span[1] - n.span[0];
  if (width === text.length + 2) return [n.span[0] + 1, n.span[1] - 1];
  return n.span;
}

function mapAt(map: YMap, key: string): YMap | undefined {
  const p = getPair(map, key);
  return p && p.value.kind === 'map' ? p.value : undefined;
}

function seqAt(map: YMap, key: string): YNode[] {
  const p = getPair(map, key);
  return p && p.value.kind === 'seq' ? p.value.items : [];
}
