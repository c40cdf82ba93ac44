// Resolution: names, references, cycles, types and the live catalog; the output is IR.
//
// One Resolver sees the whole model. Each definition resolves once (memoised); references to other
// segments, traits, scores and lifecycles inline their IR, and a reference back into a definition
// that is still being resolved is a cycle. Every reference site is recorded for go-to-definition,
// find-references and rename.

import { DiagnosticSink, type DiagnosticCode, type RawDiagnostic, type Span } from '../diagnostics.js';
import * as ir from '../ir/ir.js';
import type { IrCond, IrEntity, IrEventFilter, IrExpr, IrMetric, IrQuery, IrStream, IrTime } from '../ir/ir.js';
import type {
  Aggregate,
  CampaignDef,
  Condition,
  Definition,
  EntityDef,
  EventQuery,
  EventsDef,
  Kind,
  KpiDef,
  LifecycleDef,
  Metric,
  Operator,
  Ref,
  Scalar,
  ScoreDef,
  SegmentDef,
  TraitDef,
  ValueType,
} from '../model/types.js';
import { badInstant, intervalText, parseInstant, type Duration } from '../time.js';
import { findTable, tableNames, type Catalog, type CatalogTable, type CatalogType } from './catalog.js';
import { didYouMean } from './suggest.js';
import { bandCase } from './bands.js';
import { NameTable } from './names.js';
import { reservedNameProblem } from '../state-objects.js';

export type RefKind = 'Campaign' | 'Test' | 'Entity' | 'Events' | 'Segment' | 'Trait' | 'Score' | 'Lifecycle' | 'Kpi' | 'stage' | 'band' | 'attribute' | 'event-type' | 'property';

/** A place where a name is used, for navigation and rename. */
export interface RefSite {
  readonly kind: RefKind;
  /** For `stage` and `band`: "lifecycle.stage" / "score.band"; for attributes: "entity.attr"; else the name. */
  readonly target: string;
  readonly file: string;
  readonly span: Span;
  /** The definition the reference is written in. */
  readonly from: { kind: Kind; name: string };
}

export interface ResolvedDefinition {
  readonly def: Definition;
  readonly entity?: IrEntity;
  readonly query?: IrQuery;
  /** For a score: its bands as IR (band name -> condition on the score value). */
  readonly valueType?: ValueType;
  /** Direct dependencies: `Kind:name`. */
  readonly deps: ReadonlySet<string>;
  /** For a campaign: what `tally run`, `report` and `preview campaign` need. */
  readonly campaign?: ir.IrCampaign;
  /** Whether resolution reported an error for this definition (its SQL is not trustworthy). */
  readonly broken: boolean;
  /** Diagnostics of this definition's resolution (in its own file). */
  readonly diagnostics: readonly RawDiagnostic[];
  /** Reference sites written in this definition. */
  readonly refs: readonly RefSite[];
  /**
   * Every `Kind:name` looked up (found or not) and every kind whose whole membership mattered
   * (implicit entity/stream, did-you-mean candidates): what this resolution depends on. When none
   * of them changes, the resolution still holds (Project's incremental analysis).
   */
  readonly lookups: ReadonlySet<string>;
  readonly kindSets: ReadonlySet<Kind>;
  /** Kinds whose names (only) mattered: did-you-mean candidates of an unknown name. */
  readonly kindNames: ReadonlySet<Kind>;
  /**
   * Whether a cycle was met while resolving this definition or what it inlines: such a result
   * depends on the order definitions are resolved in (which one reports the cycle), so it is
   * never reused.
   */
  readonly cyclic: boolean;
}

export interface ResolveOptions {
  readonly catalog?: Catalog;
  readonly timezone: string;
  /** The wall-clock instant lints compare against (deadline already past). */
  readonly now: Date;
  /**
   * Resolutions that still hold (made with the same catalog, time zone and day, and nothing they
   * looked up has changed since: the caller, `Project`, knows which): returned as they are, so an
   * edit re-resolves only what it can affect.
   */
  readonly known?: ReadonlyMap<string, ResolvedDefinition>;
}

type Typed = { expr: IrExpr; type: ValueType | 'unknown' };
type Body = Omit<ResolvedDefinition, 'deps' | 'broken' | 'def' | 'diagnostics' | 'refs' | 'lookups' | 'kindSets' | 'kindNames' | 'cyclic'>;

const key = (kind: string, name: string) => `${kind}:${name}`;

interface Current {
  def: Definition;
  sink: DiagnosticSink;
  deps: Set<string>;
  errors: number;
  refs: RefSite[];
  lookups: Set<string>;
  kindSets: Set<Kind>;
  kindNames: Set<Kind>;
  cyclic: boolean;
}

export class Resolver {
  /** Diagnostics that belong to no single definition's resolution (duplicate names). */
  readonly globalDiagnostics: readonly RawDiagnostic[];
  /** Names defined more than once: which definition is meant is ambiguous, so none is usable. */
  readonly duplicated: ReadonlySet<string>;
  private readonly names: NameTable;
  /** What this resolver resolved itself (not taken from `known`), in resolution order. */
  private readonly done = new Map<string, ResolvedDefinition>();
  private readonly inProgress = new Set<string>();
  private current: Current | undefined;

  constructor(
    defs: readonly Definition[] | NameTable,
    private readonly options: ResolveOptions,
  ) {
    this.names = defs instanceof NameTable ? defs : new NameTable(defs);
    this.globalDiagnostics = this.names.diagnostics;
    this.duplicated = this.names.duplicated;
  }

  /** Every reference site of what this resolver resolved, in resolution order. */
  get refs(): RefSite[] {
    const out: RefSite[] = [];
    for (const r of this.done.values()) out.push(...r.refs);
    return out;
  }

  /** The resolutions this resolver made (not the reused ones), in resolution order. */
  get resolved(): IterableIterator<ResolvedDefinition> {
    return this.done.values();
  }

  definitions(kind: Kind): ReadonlyMap<string, Definition> {
    return this.names.definitions(kind);
  }

  resolveAll(): ResolvedDefinition[] {
    const out: ResolvedDefinition[] = [];
    for (const m of this.names.byKind.values()) for (const d of m.values()) out.push(this.resolve(d));
    return out;
  }

  resolve(def: Definition): ResolvedDefinition {
    const id = key(def.kind, def.name);
    const existing = this.done.get(id);
    if (existing) return existing;
    const known = this.options.known?.get(id);
    if (known && known.def === def) return known;
    const outer = this.current;
    const sink = new DiagnosticSink(def.file);
    const cur: Current = { def, sink, deps: new Set(), errors: 0, refs: [], lookups: new Set(), kindSets: new Set(), kindNames: new Set(), cyclic: false };
    this.current = cur;
    this.inProgress.add(id);
    let result: Body = {};
    try {
      // Its deployed view would collide with Tally's own objects (state-objects.ts).
      const reserved = reservedNameProblem(def.kind, def.name);
      if (reserved) this.error('reserved-name', def.nameSpan, reserved);
      result = this.resolveBody(def);
    } finally {
      this.inProgress.delete(id);
      this.current = outer;
    }
    const resolved: ResolvedDefinition = {
      def,
      ...result,
      deps: cur.deps,
      broken: sink.items.some((d) => d.severity === 'error') || cur.errors > 0,
      diagnostics: sink.items,
      refs: cur.refs,
      lookups: cur.lookups,
      kindSets: cur.kindSets,
      kindNames: cur.kindNames,
      cyclic: cur.cyclic,
    };
    this.done.set(id, resolved);
    return resolved;
  }

  private noteKindSet(kind: Kind): void {
    this.current!.kindSets.add(kind);
  }

  private resolveBody(def: Definition): Body {
    switch (def.kind) {
      case 'Entity':
        this.checkEntity(def);
        return { entity: this.irEntity(def) };
      case 'Events':
        this.checkEvents(def);
        return {};
      case 'Segment': {
        const entity = this.entityFor(def, def.entity);
        if (!entity) return {};
        return { entity: this.irEntity(entity), query: { k: 'members', entity: this.irEntity(entity), where: this.segmentCond(def, entity) } };
      }
      case 'Trait': {
        const entity = this.entityFor(def, def.entity);
        if (!entity) return {};
        const t = this.traitExpr(def, entity);
        const type = t.type === 'unknown' ? def.type ?? 'string' : t.type;
        return { entity: this.irEntity(entity), valueType: type, query: { k: 'values', entity: this.irEntity(entity), value: t.expr, valueType: type } };
      }
      case 'Score': {
        const entity = this.entityFor(def, def.entity);
        if (!entity) return {};
        const t = this.scoreExpr(def, entity);
        return { entity: this.irEntity(entity), valueType: 'number', query: { k: 'values', entity: this.irEntity(entity), value: t.expr, valueType: 'number' } };
      }
      case 'Lifecycle': {
        const entity = this.entityFor(def, def.entity);
        if (!entity) return {};
        const t = this.lifecycleExpr(def, entity);
        return { entity: this.irEntity(entity), valueType: 'string', query: { k: 'values', entity: this.irEntity(entity), value: t.expr, valueType: 'string' } };
      }
      case 'Kpi': {
        const metric = this.metric(def, def.metric, def.entity);
        this.lintKpi(def);
        return metric ? { query: { k: 'metric', metric } } : {};
      }
      case 'Campaign':
        return this.resolveCampaign(def);
      default:
        return {};
    }
  }

  // ---- campaigns ---------------------------------------------------------------------------------

  /** The audience's segments, the trigger's and goal's events, and the static campaign lints. */
  private resolveCampaign(def: CampaignDef): Body {
    const segs = [def.audience?.segment, ...(def.audience?.exclude ?? [])].filter((r): r is Ref => !!r);
    let entity: EntityDef | undefined;
    const members: (ir.IrMembersQuery | undefined)[] = [];
    for (const r of segs) {
      const seg = this.lookup('Segment', r);
      if (!seg) {
        members.push(undefined);
        continue;
      }
      const q = this.guard(seg, r.span, undefined, () => this.resolve(seg).query);
      const m = q?.k === 'members' ? q : undefined;
      if (m && entity && m.entity.name !== entity.name) {
        this.error('entity-mismatch', r.span, `segment '${seg.name}' is about ${m.entity.name}, not ${entity.name} like the audience`);
        this.current!.errors++;
      }
      if (m && !entity) entity = this.definitions('Entity').get(m.entity.name) as EntityDef | undefined;
      members.push(m);
    }
    this.noteKindSet('Entity'); // whether there is exactly one entity decides the fallback below
    if (!entity && this.definitions('Entity').size === 1) entity = this.entityFor(def, undefined);
    const trigger = def.trigger ? this.eventFilter(def.trigger, entity, { window: false }) : undefined;
    const goal = def.goal ? this.eventFilter(def.goal, entity, { window: false }, 'goal') : undefined;

    // Static lints: variants, holdout, schedule.
    const vspan = def.variantsSpan ?? def.nameSpan;
    const total = def.variants.reduce((a, v) => a + v.weight, 0);
    const seen = new Set<string>();
    for (const v of def.variants) {
      if (seen.has(v.name.name)) this.error('duplicate-variant', v.name.span, `another variant is already named '${v.name.name}'; variant names are unique within a campaign`);
      seen.add(v.name.name);
    }
    const lintVariants = def.variantsComplete && def.variants.length > 0;
    if (lintVariants && !(total > 0)) this.error('bad-weights', vspan, 'the variant weights add up to 0; give at least one variant a positive weight (weights are normalised by their sum)');
    const holdouts = def.variants.filter((v) => v.holdout);
    if (lintVariants && !holdouts.length) this.warn('no-holdout', vspan, 'no holdout variant: without one there is no lift to measure; add e.g. `{ name: control, weight: 10, holdout: true }`');
    if (holdouts.length > 1) this.error('multiple-holdouts', holdouts[1]!.name.span, `more than one holdout (${holdouts.map((h) => h.name.name).join(', ')}); lift is measured against one holdout, so merge them`);
    const holdoutWeight = holdouts.reduce((a, v) => a + v.weight, 0);
    if (total > 0 && holdoutWeight / total > 0.5) this.warn('holdout-too-large', holdouts[0]!.span, `the holdout gets ${((holdoutWeight / total) * 100).toFixed(1)}% of the audience (over 50%): most of the audience would receive nothing`);
    const start = def.schedule?.start;
    const end = def.schedule?.end;
    const endAt = end ? end.date.getTime() + (end.dateOnly ? 86_400_000 : 0) : undefined;
    if (start && end && endAt !== undefined && (end.dateOnly ? endAt <= start.date.getTime() : endAt < start.date.getTime()))
      this.error('schedule-ends-before-start', end.span, `the schedule ends (${end.text}) before it starts (${start.text})`);

    const audience = members[0];
    if (!entity || !audience || !def.channel || !lintVariants || members.some((m) => !m)) return {};
    if (def.trigger && !trigger) return {};
    if (def.goal && !goal) return {};
    const campaign: ir.IrCampaign = {
      name: def.name,
      entity: this.irEntity(entity),
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

  // ---- diagnostics helpers ---------------------------------------------------------------------

  private error(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void {
    this.current!.sink.error(code, span, message, fix);
  }

  private warn(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void {
    this.current!.sink.warning(code, span, message, fix);
  }

  private unknown(code: DiagnosticCode, what: string, ref: Ref, candidates: Iterable<string>, hint = ''): void {
    const dym = didYouMean(ref.name, candidates);
    this.error(code, ref.span, `no ${what} named '${ref.name}'${dym.text}${hint}`, dym.best ? { span: ref.span, text: dym.best } : undefined);
  }

  private site(kind: RefKind, target: string, span: Span): void {
    const d = this.current!.def;
    this.current!.refs.push({ kind, target, file: d.file, span, from: { kind: d.kind, name: d.name } });
  }

  /** Looks up a definition by reference, records the site and the dependency, reports unknown names. */
  private lookup<K extends Kind>(kind: K, ref: Ref): Extract<Definition, { kind: K }> | undefined {
    this.site(kind, ref.name, ref.span);
    const d = this.definitions(kind).get(ref.name);
    this.current!.lookups.add(key(kind, ref.name));
    if (!d) {
      this.current!.kindNames.add(kind); // the did-you-mean candidates
      this.unknown('unknown-reference', kind === 'Kpi' ? 'KPI' : kind.toLowerCase(), ref, this.definitions(kind).keys());
      return undefined;
    }
    this.current!.deps.add(key(kind, ref.name));
    return d as Extract<Definition, { kind: K }>;
  }

  /** Runs `fn` for a referenced definition unless that would be a cycle. */
  private guard<T>(d: Definition, span: Span, fallback: T, fn: () => T): T {
    const id = key(d.kind, d.name);
    if (this.inProgress.has(id)) {
      this.error('cycle', span, `${this.current!.def.kind.toLowerCase()} '${this.current!.def.name}' depends on itself through ${d.kind.toLowerCase()} '${d.name}'; break the cycle`);
      this.current!.errors++;
      this.current!.cyclic = true;
      return fallback;
    }
    // Resolve the referenced definition on its own first, so its diagnostics land in its own file.
    const r = this.resolve(d);
    if (r.broken) this.current!.errors++;
    if (r.cyclic) this.current!.cyclic = true;
    return fn();
  }

  // ---- entities and streams --------------------------------------------------------------------

  private irEntity(e: EntityDef): IrEntity {
    return { name: e.name, table: { schema: e.table.schema, name: e.table.name }, key: e.key.name, createdAt: e.createdAt?.name };
  }

  private entityFor(def: Definition, ref: Ref | undefined): EntityDef | undefined {
    const entities = this.definitions('Entity');
    if (ref) return this.lookup('Entity', ref);
    this.noteKindSet('Entity');
    if (entities.size === 1) {
      const only = entities.values().next().value as EntityDef;
      this.current!.deps.add(key('Entity', only.name));
      return only;
    }
    if (entities.size === 0) this.error('no-entity', def.nameSpan, 'the project has no `kind: Entity`; map the table of customers (or accounts) first');
    else this.error('ambiguous-entity', def.nameSpan, `the project has ${entities.size} entities (${[...entities.keys()].join(', ')}); say which with \`entity:\``);
    this.current!.errors++;
    return undefined;
  }

  private catalogTable(t: { schema?: string; name: string; span: Span }, report: boolean): CatalogTable | undefined {
    const catalog = this.options.catalog;
    if (!catalog || !t.name) return undefined;
    const found = findTable(catalog, t.schema, t.name);
    if (!found && report) {
      this.unknown('unknown-table', 'table', { name: t.schema ? `${t.schema}.${t.name}` : t.name, span: t.span }, tableNames(catalog), ' in the database');
    }
    return found;
  }

  private checkColumn(table: CatalogTable | undefined, ref: Ref | undefined, what: string, expected?: CatalogType[]): void {
    if (!table || !ref) return;
    const col = table.columns.get(ref.name);
    if (!col) {
      this.unknown('unknown-column', `column`, ref, table.columns.keys(), ` in table ${table.schema}.${table.name} (${what})`);
      return;
    }
    if (expected && !expected.includes(col.type)) {
      this.error('type-mismatch', ref.span, `${what} '${ref.name}' is ${col.pgType}; it must be ${expected.join(' or ')}`);
    }
  }

  private checkEntity(e: EntityDef): void {
    const t = this.catalogTable(e.table, true);
    this.checkColumn(t, e.key, 'the key');
    this.checkColumn(t, e.createdAt, 'created_at', ['timestamp']);
    for (const a of e.attributes.values()) {
      if (!t) continue;
      const col = t.columns.get(a.column);
      if (!col) this.unknown('unknown-column', 'column', { name: a.column, span: a.span }, t.columns.keys(), ` in table ${t.schema}.${t.name}`);
      else if (a.type && col.type !== a.type && col.type !== 'other')
        this.warn('type-mismatch', a.span, `attribute '${a.name}' is declared ${a.type} but column '${a.column}' is ${col.pgType}`);
    }
    for (const p of e.pii) {
      if (!e.attributes.has(p.name) && t && !t.columns.has(p.name)) this.unknown('unknown-column', 'attribute or column', p, [...e.attributes.keys(), ...t.columns.keys()], ' (pii)');
    }
  }

  private checkEvents(ev: EventsDef): void {
    const entity = ev.entity ? this.lookup('Entity', ev.entity) : this.entityFor(ev, undefined);
    void entity;
    const t = this.catalogTable(ev.table, true);
    this.checkColumn(t, ev.entityKey, 'entity_key');
    this.checkColumn(t, ev.time, 'the time column', ['timestamp']);
    this.checkColumn(t, ev.type, 'the type column', ['string']);
    this.checkColumn(t, ev.properties, 'the properties column', ['json']);
    for (const c of ev.columns.values()) {
      if (!t) continue;
      const col = t.columns.get(c.column);
      if (!col) this.unknown('unknown-column', 'column', { name: c.column, span: c.span }, t.columns.keys(), ` in table ${t.schema}.${t.name}`);
      else if (c.type && col.type !== c.type && col.type !== 'other')
        this.warn('type-mismatch', c.span, `column '${c.name}' is declared ${c.type} but is ${col.pgType} in the database`);
    }
  }

  /**
   * The entity a stream's keys belong to (its `entity:`, else the project's only entity), without
   * reporting: the Events definition reports its own problems; a KPI over it is just unusable.
   */
  private streamEntity(s: EventsDef): IrEntity | undefined {
    const entities = this.definitions('Entity');
    let e: EntityDef | undefined;
    if (s.entity) {
      e = entities.get(s.entity.name) as EntityDef | undefined;
      this.current!.lookups.add(key('Entity', s.entity.name));
    } else {
      this.noteKindSet('Entity');
      if (entities.size === 1) e = entities.values().next().value as EntityDef;
    }
    if (!e) {
      this.current!.errors++;
      return undefined;
    }
    this.current!.deps.add(key('Entity', e.name));
    return this.irEntity(e);
  }

  private irStream(s: EventsDef): IrStream {
    return { name: s.name, table: { schema: s.table.schema, name: s.table.name }, entityKey: s.entityKey.name, time: s.time.name, typeColumn: s.type?.name };
  }

  /** The stream an event query reads: `stream:`, else the entity's only stream (with a type column when `event:` is given). */
  private streamFor(q: EventQuery, entity: EntityDef | undefined): EventsDef | undefined {
    if (q.stream) return this.lookup('Events', q.stream);
    this.noteKindSet('Events');
    const all = [...this.definitions('Events').values()] as EventsDef[];
    let candidates = entity ? all.filter((s) => (s.entity ? s.entity.name === entity.name : true)) : all;
    if (q.event) candidates = candidates.filter((s) => s.type);
    if (candidates.length === 1) {
      this.current!.deps.add(key('Events', candidates[0]!.name));
      return candidates[0];
    }
    const at = q.event?.span ?? q.span;
    if (candidates.length === 0) {
      this.error(
        'no-stream',
        at,
        all.length === 0
          ? 'the project has no `kind: Events`; map the events table first'
          : q.event
            ? 'no Events definition has a `type` column, so `event:` cannot pick a type; add `type:` to the Events or use `stream:`'
            : 'no Events definition belongs to this entity',
      );
    } else this.error('ambiguous-stream', at, `several Events could hold these events (${candidates.map((c) => c.name).join(', ')}); say which with \`stream:\``);
    this.current!.errors++;
    return undefined;
  }

  private eventFilter(q: EventQuery, entity: EntityDef | undefined, opts: { window: boolean } = { window: true }, role?: 'goal'): { filter: IrEventFilter; stream: EventsDef } | undefined {
    const stream = this.streamFor(q, entity);
    if (!stream) {
      // Still check the filters' shapes against nothing, so the rest reports.
      return undefined;
    }
    if (q.event) {
      this.site('event-type', `${stream.name}.${q.event.name}`, q.event.span);
      if (!stream.type) this.error('no-type-column', q.event.span, `Events '${stream.name}' has no \`type\` column, so it cannot filter by event type`);
      const known = this.options.catalog?.eventTypes.get(stream.name);
      if (known && known.length && !known.includes(q.event.name)) {
        const dym = didYouMean(q.event.name, known);
        const goalNote = role === 'goal' ? ', so no enrollment can convert' : '';
        this.warn('unknown-event-type', q.event.span, `no '${q.event.name}' events in ${stream.name} yet${goalNote}${dym.text}`, dym.best ? { span: q.event.span, text: dym.best } : undefined);
      }
    }
    const where: IrCond[] = [];
    for (const f of q.where) {
      const prop = this.property(stream, f.property);
      if (!prop) continue;
      const c = this.operatorCond(prop, f.op);
      if (c) where.push(c);
    }
    const since: IrTime | null = opts.window && q.within ? { k: 'asof', minusMs: q.within.ms, interval: intervalText(q.within) } : null;
    return {
      stream,
      filter: { stream: this.irStream(stream), types: q.event ? [q.event.name] : null, since, where: where.length ? ir.and(where) : null },
    };
  }

  /** An event property: `time`, a declared column, a typed or untyped jsonb key. */
  private property(stream: EventsDef, ref: Ref): Typed | undefined {
    this.site('property', `${stream.name}.${ref.name}`, ref.span);
    if (ref.name === 'time') return { expr: { k: 'ecol', col: stream.time.name, type: 'timestamp' }, type: 'timestamp' };
    const col = stream.columns.get(ref.name);
    if (col) {
      const catalogCol = this.catalogTable(stream.table, false)?.columns.get(col.column);
      const type = col.type ?? (catalogCol && catalogCol.type !== 'json' && catalogCol.type !== 'other' ? catalogCol.type : 'unknown');
      return { expr: { k: 'ecol', col: col.column, type }, type };
    }
    if (stream.properties) {
      const declared = stream.propertyTypes.get(ref.name)?.type;
      if (!declared) {
        // An undeclared key is a string property; one close to a declared name is most likely a typo.
        const seen = this.options.catalog?.propertyKeys.get(stream.name);
        const dym = didYouMean(ref.name, [...stream.propertyTypes.keys(), ...stream.columns.keys()]);
        if (dym.best && !(seen && seen.includes(ref.name))) {
          this.error('unknown-property', ref.span, `property '${ref.name}' is not declared on Events '${stream.name}'${dym.text}`, { span: ref.span, text: dym.best });
          return undefined;
        }
      }
      const type = declared ?? 'string';
      return { expr: { k: 'eprop', col: stream.properties.name, key: ref.name, type }, type };
    }
    this.unknown('unknown-property', 'property', ref, [...stream.columns.keys(), 'time'], `: Events '${stream.name}' has no \`properties\` column; declare it under \`columns:\``);
    return undefined;
  }

  // ---- attributes ------------------------------------------------------------------------------

  private attribute(entity: EntityDef, ref: Ref): Typed | undefined {
    this.site('attribute', `${entity.name}.${ref.name}`, ref.span);
    const decl = entity.attributes.get(ref.name);
    const table = this.catalogTable(entity.table, false);
    if (decl) {
      const col = table?.columns.get(decl.column);
      const type = decl.type ?? (col && col.type !== 'json' && col.type !== 'other' ? col.type : 'unknown');
      return { expr: { k: 'col', col: decl.column, type }, type };
    }
    if (table) {
      const col = table.columns.get(ref.name);
      if (!col) {
        this.unknown('unknown-attribute', 'attribute', ref, new Set([...entity.attributes.keys(), ...table.columns.keys()]), ` on entity '${entity.name}' (table ${table.schema}.${table.name})`);
        return undefined;
      }
      const type = col.type === 'json' || col.type === 'other' ? 'unknown' : col.type;
      return { expr: { k: 'col', col: ref.name, type }, type };
    }
    // Offline: an undeclared attribute is taken to be a column of the same name. Flag likely typos.
    const dym = didYouMean(ref.name, [...entity.attributes.keys(), entity.key.name, ...(entity.createdAt ? [entity.createdAt.name] : [])]);
    if (dym.best) this.warn('unknown-attribute', ref.span, `attribute '${ref.name}' is not declared on entity '${entity.name}'${dym.text}; with a database connected it is checked against the table`, { span: ref.span, text: dym.best });
    return { expr: { k: 'col', col: ref.name, type: 'unknown' }, type: 'unknown' };
  }

  // ---- conditions ------------------------------------------------------------------------------

  private segmentCond(def: SegmentDef, entity: EntityDef): IrCond {
    return this.cond(def.where, entity);
  }

  cond(c: Condition, entity: EntityDef): IrCond {
    switch (c.form) {
      case 'invalid':
        this.current!.errors++;
        return ir.FALSE;
      case 'all':
        return ir.and(c.items.map((i) => this.cond(i, entity)));
      case 'any':
        return ir.or(c.items.map((i) => this.cond(i, entity)));
      case 'not':
        return ir.not(this.cond(c.item, entity));
      case 'attribute': {
        const a = this.attribute(entity, c.attribute);
        if (!a) return ir.FALSE;
        return this.operatorCond(a, c.op) ?? ir.FALSE;
      }
      case 'segment': {
        const seg = this.lookup('Segment', c.ref);
        if (!seg) return ir.FALSE;
        return this.guard(seg, c.ref.span, ir.FALSE, () => {
          const r = this.resolve(seg);
          if (r?.entity && r.entity.name !== entity.name) {
            this.error('entity-mismatch', c.ref.span, `segment '${seg.name}' is about ${r.entity.name}, not ${entity.name}`);
            return ir.FALSE;
          }
          return r?.query?.k === 'members' ? r.query.where : ir.FALSE;
        });
      }
      case 'stage': {
        const lc = this.lookup('Lifecycle', c.lifecycle);
        if (!lc) return ir.FALSE;
        this.site('stage', `${lc.name}.${c.stage.name}`, c.stage.span);
        const names = lc.stages.map((s) => s.name.name);
        if (!names.includes(c.stage.name)) {
          this.unknown('unknown-stage', `stage in lifecycle '${lc.name}'`, c.stage, names);
          return ir.FALSE;
        }
        return this.guard(lc, c.lifecycle.span, ir.FALSE, () => {
          const r = this.resolve(lc);
          if (r?.query?.k !== 'values') return ir.FALSE;
          return { k: 'cmp', op: 'eq', a: r.query.value, b: { k: 'lit', value: c.stage.name, type: 'string' } };
        });
      }
      case 'trait': {
        const t = this.lookup('Trait', c.ref);
        if (!t) return ir.FALSE;
        return this.guard(t, c.ref.span, ir.FALSE, () => {
          const r = this.resolve(t);
          if (r?.query?.k !== 'values') return ir.FALSE;
          return this.operatorCond({ expr: r.query.value, type: r.query.valueType }, c.op) ?? ir.FALSE;
        });
      }
      case 'score': {
        const s = this.lookup('Score', c.ref);
        if (!s) return ir.FALSE;
        return this.guard(s, c.ref.span, ir.FALSE, () => {
          const r = this.resolve(s);
          if (r?.query?.k !== 'values') return ir.FALSE;
          if (c.band) {
            this.site('band', `${s.name}.${c.band.name}`, c.band.span);
            const bands = s.bands.map((b) => b.name.name);
            if (!bands.includes(c.band.name)) {
              this.unknown('unknown-band', `band in score '${s.name}'`, c.band, bands);
              return ir.FALSE;
            }
            return { k: 'cmp', op: 'eq', a: this.bandExpr(s, r.query.value), b: { k: 'lit', value: c.band.name, type: 'string' } };
          }
          if (!c.op) {
            this.error('missing-operator', c.span, `a score condition needs \`band:\` (one of ${s.bands.map((b) => b.name.name).join(', ') || 'its bands'}) or an operator such as \`gte: 70\``);
            return ir.FALSE;
          }
          const op = c.op;
          const outside = (v: unknown) => typeof v === 'number' && (v > 100 || v < 0);
          if ((op.op === 'gt' || op.op === 'gte' || op.op === 'lt' || op.op === 'lte' || op.op === 'eq') && outside(op.value))
            this.warn('score-out-of-range', op.valueSpan, `scores run from 0 to 100, so \`${op.op}: ${String(op.value)}\` is ${op.op === 'eq' || (op.op === 'gt' || op.op === 'gte') === (op.value as number) > 100 ? 'never' : 'always'} true`);
          return this.operatorCond({ expr: r.query.value, type: 'number' }, op) ?? ir.FALSE;
        });
      }
      case 'event': {
        const res = this.eventFilter(c.query, entity);
        if (!res) return ir.FALSE;
        const agg = this.aggregateExpr(res.stream, res.filter, c.agg, true);
        if (!agg) return ir.FALSE;
        if (!c.op) {
          if (c.agg.fn !== 'count') {
            this.error('missing-operator', c.span, `\`${c.agg.fn}\` needs an operator to compare with, for example \`gte: 200\``);
            return ir.FALSE;
          }
          return { k: 'cmp', op: 'gte', a: agg.expr, b: { k: 'lit', value: 1, type: 'number' } };
        }
        return this.operatorCond(agg, c.op) ?? ir.FALSE;
      }
    }
  }

  /** sum/avg/min/max/last/first/days_since/count over the filtered events of one entity. */
  private aggregateExpr(stream: EventsDef, filter: IrEventFilter, agg: Aggregate, inCondition: boolean): Typed | undefined {
    if (agg.fn === 'count') return { expr: { k: 'agg', agg: { fn: 'count', filter, zeroWhenNone: true } }, type: 'number' };
    if (agg.fn === 'days_since') {
      const time: IrExpr = { k: 'ecol', col: stream.time.name, type: 'timestamp' };
      const inner: IrExpr = { k: 'agg', agg: { fn: agg.which === 'last' ? 'max' : 'min', filter, value: time, zeroWhenNone: false } };
      return { expr: { k: 'days-to-asof', from: inner }, type: 'number' };
    }
    const prop = this.property(stream, agg.property);
    if (!prop) return undefined;
    if ((agg.fn === 'sum' || agg.fn === 'avg') && prop.type !== 'number' && prop.type !== 'unknown') {
      this.error(
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
  private operatorCond(v: Typed, op: Operator): IrCond | undefined {
    const type = v.type;
    const a = v.expr;
    const typeName = type === 'unknown' ? 'of unknown type' : `a ${type}`;
    const bad = (msg: string) => {
      this.error('type-mismatch', op.span, msg);
      return undefined;
    };
    const ordering = op.op === 'gt' || op.op === 'gte' || op.op === 'lt' || op.op === 'lte' || op.op === 'between';
    const lit = (s: Scalar, span: Span): IrExpr | undefined => {
      if (type === 'timestamp') {
        if (typeof s !== 'string') {
          this.error('type-mismatch', span, `compare a timestamp with an ISO instant such as 2026-01-01, not ${JSON.stringify(s)}`);
          return undefined;
        }
        const i = parseInstant(s, this.options.timezone);
        if (!i) {
          const bad = badInstant(s, span, `'${s}' is not an ISO instant (2026-01-01 or 2026-01-01T09:00:00Z)`, this.options.timezone);
          this.error('bad-instant', bad.span, bad.message);
          return undefined;
        }
        return { k: 'time', at: { k: 'instant', iso: i.date.toISOString() } };
      }
      if (type === 'number' && typeof s !== 'number') {
        this.error('type-mismatch', span, `this value is a number; ${JSON.stringify(s)} is not`);
        return undefined;
      }
      if (type === 'boolean' && typeof s !== 'boolean') {
        this.error('type-mismatch', span, `this value is true/false; ${JSON.stringify(s)} is not`);
        return undefined;
      }
      if (type === 'string' && typeof s === 'number' && ordering) {
        this.error('type-mismatch', span, `this value is text, so \`${op.op}\` would compare ${s} as text ('10' < '9'); compare with a quoted text value, or use a number attribute`);
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
          { k: 'cmp', op: 'gt', a, b: { k: 'time', at: { k: 'asof', minusMs: op.duration.ms, interval: intervalText(op.duration) } } },
          { k: 'cmp', op: 'lte', a, b: { k: 'time', at: { k: 'asof', minusMs: 0 } } },
        ]);
      }
      case 'before':
      case 'after': {
        if (type !== 'timestamp' && type !== 'unknown') return bad(`\`${op.op}\` applies to timestamps, but this is ${typeName}`);
        const at: IrTime =
          op.point.kind === 'instant'
            ? { k: 'instant', iso: op.point.date.toISOString() }
            : { k: 'asof', minusMs: op.point.duration.ms, interval: intervalText(op.point.duration) };
        return { k: 'cmp', op: op.op === 'before' ? 'lt' : 'gt', a, b: { k: 'time', at } };
      }
    }
  }

  // ---- traits, scores, lifecycles --------------------------------------------------------------

  private traitExpr(def: TraitDef, entity: EntityDef): Typed {
    const none: Typed = { expr: { k: 'lit', value: null, type: def.type ?? 'unknown' }, type: def.type ?? 'unknown' };
    if (!def.compute) {
      this.error('missing-key', def.nameSpan, 'a trait needs `compute:`, for example `compute: { event: purchase, sum: amount }`');
      return none;
    }
    const res = this.eventFilter(def.compute.query, entity);
    if (!res) return none;
    const t = this.aggregateExpr(res.stream, res.filter, def.compute.agg, false);
    if (!t) return none;
    if (def.type && t.type !== 'unknown' && def.type !== t.type) {
      this.error('type-mismatch', def.typeSpan ?? def.nameSpan, `this trait computes a ${t.type} but is declared \`type: ${def.type}\``, def.typeSpan ? { span: def.typeSpan, text: t.type } : undefined);
    }
    return t;
  }

  private scoreExpr(def: ScoreDef, entity: EntityDef): Typed {
    if (def.components.length === 0) {
      this.error('missing-key', def.nameSpan, 'a score needs `components`: weighted traits');
      return { expr: { k: 'lit', value: null, type: 'number' }, type: 'number' };
    }
    const totalWeight = def.components.reduce((s, c) => s + c.weight, 0);
    if (!(totalWeight > 0)) this.error('bad-value', def.nameSpan, 'the components\' weights must add up to more than 0');
    let sum: IrExpr | undefined;
    for (const c of def.components) {
      const t = this.lookup('Trait', c.trait);
      if (!t) continue;
      const value = this.guard(t, c.trait.span, undefined as IrExpr | undefined, () => {
        const r = this.resolve(t);
        if (r?.query?.k !== 'values') return undefined;
        if (r.query.valueType !== 'number') {
          this.error('type-mismatch', c.trait.span, `trait '${t.name}' is a ${r.query.valueType}; score components need numbers`);
          return undefined;
        }
        return r.query.value;
      });
      if (!value) continue;
      if (c.from === c.to) {
        this.error('bad-value', c.span, '`from` and `to` must differ: they map the trait linearly onto 0..1');
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
    this.checkBands(def);
    return { expr: sum ?? { k: 'lit', value: null, type: 'number' }, type: 'number' };
  }

  private checkBands(def: ScoreDef): void {
    const seen = new Set<string>();
    def.bands.forEach((b, i) => {
      if (seen.has(b.name.name)) this.error('duplicate-name', b.name.span, `band '${b.name.name}' appears twice`);
      seen.add(b.name.name);
      const last = i === def.bands.length - 1;
      const bounded = b.gte !== undefined || b.gt !== undefined;
      if (!last && !bounded) this.error('unreachable-band', b.span, `band '${b.name.name}' has no bound, so the bands after it can never match; give it \`gte:\` or move it last`);
      if (last && bounded) this.warn('band-fallback', b.span, `the last band has a bound, so scores below it get no band; drop the bound to make '${b.name.name}' the fallback`);
      // First match wins: a band whose bound is not below an earlier band's bound can never match.
      const lower = (x: typeof b) => (x.gte !== undefined ? x.gte : x.gt !== undefined ? x.gt : undefined);
      const mine = lower(b);
      if (mine !== undefined) {
        const shadow = def.bands.slice(0, i).find((e) => {
          const theirs = lower(e);
          return theirs !== undefined && (theirs < mine || (theirs === mine && (e.gte !== undefined || b.gt !== undefined)));
        });
        if (shadow) this.error('unreachable-band', b.span, `band '${b.name.name}' can never match: band '${shadow.name.name}' comes first and already takes every score ${shadow.gte !== undefined ? '>=' : '>'} ${lower(shadow)}; order bands from the highest bound down`);
      }
      if (mine !== undefined && (mine > 100 || mine < 0)) this.warn('band-out-of-range', b.span, `scores are 0 to 100, so a bound of ${mine} ${mine > 100 ? 'is never reached' : 'always holds'}`);
    });
  }

  bandExpr(def: ScoreDef, score: IrExpr): IrExpr {
    return bandCase(def, score);
  }

  private lifecycleExpr(def: LifecycleDef, entity: EntityDef): Typed {
    const none: Typed = { expr: { k: 'lit', value: null, type: 'string' }, type: 'string' };
    if (def.stages.length === 0) {
      this.error('missing-key', def.nameSpan, 'a lifecycle needs `stages`; the last one has no `where` and catches everyone else');
      return none;
    }
    const seen = new Set<string>();
    const whens: { when: IrCond; then: IrExpr }[] = [];
    let fallback: IrExpr | undefined;
    def.stages.forEach((s, i) => {
      if (seen.has(s.name.name)) this.error('duplicate-name', s.name.span, `stage '${s.name.name}' appears twice`);
      seen.add(s.name.name);
      const last = i === def.stages.length - 1;
      const then: IrExpr = { k: 'lit', value: s.name.name, type: 'string' };
      if (last) {
        if (s.where) this.error('lifecycle-fallback', s.span, `the last stage is the fallback that catches everyone else, so it takes no \`where\`; add a stage after '${s.name.name}' or drop its \`where\``);
        fallback = then;
      } else if (!s.where) {
        this.error('unreachable-stage', s.span, `stage '${s.name.name}' has no \`where\`, so it catches everyone and the stages after it are unreachable; only the last stage may omit \`where\``);
      } else {
        whens.push({ when: this.cond(s.where, entity), then });
      }
    });
    return { expr: { k: 'case', whens, else: fallback ?? { k: 'lit', value: null, type: 'string' } }, type: 'string' };
  }

  // ---- KPIs ------------------------------------------------------------------------------------

  private metric(def: KpiDef, m: Metric, entityRef: Ref | undefined): IrMetric | undefined {
    switch (m.form) {
      case 'invalid':
        this.current!.errors++;
        return undefined;
      case 'count': {
        const entity = this.entityFor(def, entityRef);
        if (!entity) return undefined;
        return { k: 'count', entity: this.irEntity(entity), where: this.cond(m.where, entity) };
      }
      case 'events':
      case 'active': {
        const r = this.eventFilter(m.query, undefined);
        const entity = r && this.streamEntity(r.stream);
        return entity && { k: m.form, entity, filter: r.filter };
      }
      case 'churn': {
        const r = this.eventFilter(m.query, undefined, { window: false });
        const entity = r && this.streamEntity(r.stream);
        if (!entity || !m.query.within) return undefined;
        return { k: 'churn', entity, filter: r.filter, period: { ms: m.query.within.ms, interval: intervalText(m.query.within) } };
      }
      case 'sum':
      case 'avg':
      case 'nps': {
        const r = this.eventFilter(m.query, undefined);
        const entity = r && this.streamEntity(r.stream);
        if (!r || !entity) return undefined;
        const p = this.property(r.stream, m.property);
        if (!p) return undefined;
        if (p.type !== 'number' && p.type !== 'unknown') {
          this.error('type-mismatch', m.property.span, `\`${m.form}\` needs a number but property '${m.property.name}' is ${p.type}${p.expr.k === 'eprop' ? `; declare \`property_types: { ${m.property.name}: number }\`` : ''}`);
          return undefined;
        }
        return m.form === 'nps' ? { k: 'nps', entity, filter: r.filter, value: p.expr } : { k: m.form, entity, filter: r.filter, value: p.expr };
      }
      case 'ratio': {
        const n = this.metric(def, m.numerator, entityRef);
        const d = this.metric(def, m.denominator, entityRef);
        return n && d && { k: 'ratio', numerator: n, denominator: d };
      }
      case 'retention': {
        const c = this.eventFilter(m.cohort, undefined, { window: false });
        const r = this.eventFilter(m.returning, undefined, { window: false });
        const entity = c && this.streamEntity(c.stream);
        if (!c || !r || !entity || !m.cohort.within) return undefined;
        if (m.returning.within) this.warn('ignored-key', m.returning.withinSpan ?? m.returning.span, '`within` on the return events is ignored: `days` sets the return window');
        if (m.cohort.within.ms <= m.days * 86_400_000)
          this.warn('empty-cohort-window', m.cohort.withinSpan ?? m.cohort.span, `the cohort window (${m.cohort.within.text}) is not longer than the ${m.days}-day return window, so the cohort is always empty; make it longer than ${m.days}d`);
        return { k: 'retention', entity, cohort: c.filter, cohortWithin: { ms: m.cohort.within.ms, interval: intervalText(m.cohort.within) }, returning: r.filter, days: m.days };
      }
    }
  }

  /** SMART lint. */
  private lintKpi(def: KpiDef): void {
    const t = def.target;
    if (!t) {
      this.error('smart-no-target', def.nameSpan, 'a KPI needs a `target` (for example `target: { gte: 0.35, by: 2027-03-31 }`) so its status can be judged');
    } else {
      const byWritten = t.by !== undefined || hasKey(def.node, ['target', 'by']);
      if (!byWritten) this.error('smart-not-time-bound', t.span, 'the target has no deadline: add `by: <date>` so it is time-bound');
      else if (t.by && t.by.date.getTime() < this.options.now.getTime()) this.warn('smart-deadline-past', t.by.span, `the deadline ${t.by.text} has already passed`);
      if (t.comparison && t.baseline && compare(t.baseline.value, t.comparison)) {
        const aim = t.comparison.op === 'gte' || t.comparison.op === 'gt' ? 'aim higher' : t.comparison.op === 'lte' || t.comparison.op === 'lt' ? 'aim lower' : 'set a target that needs work';
        this.warn('smart-already-met', t.baseline.span, `the baseline (${t.baseline.value}) already meets the target; ${aim}`);
      }
      if (t.comparison && def.guardrail && t.comparison.op !== 'between' && t.comparison.op !== 'eq') {
        const dirT = t.comparison.op === 'gte' || t.comparison.op === 'gt' ? 1 : -1;
        const dirG = def.guardrail.op === 'gte' || def.guardrail.op === 'gt' ? 1 : -1;
        const tv = t.comparison.value as number;
        const gv = def.guardrail.value as number;
        if (dirT !== dirG) this.warn('guardrail-direction', def.guardrail.span, `the guardrail points the other way from the target (${def.guardrail.op} vs ${t.comparison.op}); a guardrail is the floor (or ceiling) on the same side`);
        else if (dirT * (gv - tv) > 0) this.warn('guardrail-stricter', def.guardrail.span, `the guardrail (${def.guardrail.op} ${gv}) is stricter than the target (${t.comparison.op} ${tv}): meeting the target would still fail CI`);
      }
      if (t.baseline && t.by && t.baseline.on.getTime() >= t.by.date.getTime()) this.error('bad-value', t.baseline.span, 'the baseline date must be before the deadline');
    }
    if (!def.owner) this.warn('smart-no-owner', def.nameSpan, 'no `owner`: say which team is accountable for this KPI');
    if (!def.description) this.warn('smart-no-description', def.nameSpan, 'no `description`: say what this KPI measures and why it matters');
    if (!def.funnel) this.warn('smart-no-funnel', def.nameSpan, 'no `funnel`: say which stage it serves (acquisition, activation, retention, revenue, referral)');
    if (!def.guardrail && !hasKey(def.node, ['guardrail'])) this.warn('smart-no-guardrail', def.nameSpan, 'no `guardrail`: add a floor (or ceiling) that fails CI, for example `guardrail: { gte: 0.25 }`');
  }
}

function hasKey(root: import('../syntax/nodes.js').YMap, path: string[]): boolean {
  let node: import('../syntax/nodes.js').YNode = root;
  for (const k of path) {
    if (node.kind !== 'map') return false;
    const p: import("../syntax/nodes.js").YPair | undefined = node.pairs.find((x) => x.key.value === k);
    if (!p) return false;
    node = p.value;
  }
  return true;
}

/** Whether a value satisfies a comparison. */
export function compare(value: number, c: { op: string; value: number | readonly [number, number] }): boolean {
  const v = c.value;
  switch (c.op) {
    case 'gte':
      return value >= (v as number);
    case 'gt':
      return value > (v as number);
    case 'lte':
      return value <= (v as number);
    case 'lt':
      return value < (v as number);
    case 'eq':
      return value === v;
    case 'between':
      return value >= (v as [number, number])[0] && value <= (v as [number, number])[1];
    default:
      return false;
  }
}

/** A duration as IR (0 when absent, e.g. a trigger without `delay`). */
function irDuration(d: Duration | undefined): ir.IrDuration {
  return d ? { ms: d.ms, interval: intervalText(d) } : { ms: 0, interval: '0 seconds' };
}
