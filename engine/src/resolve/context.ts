// What resolution produces and what a resolution rule may see.
//
// The memo core (resolve.ts, `Resolver`) resolves each definition once; the rules (entities.ts,
// catalog-checks.ts, conditions.ts, kinds.ts, kpi.ts, campaign.ts) are plain functions over a
// `ResolveContext`, the current resolution as the core exposes it. The context is the only way a
// rule reaches another definition (`lookup`, `peek`, `kindSet`, `guard`), and each of those records
// what was read, so Project's incremental analysis knows what every resolution depends on.

import type { RawDiagnostic, DiagnosticCode, Span } from '../diagnostics.js';
import type * as ir from '../ir/ir.js';
import type { IrEntity, IrExpr, IrQuery } from '../ir/ir.js';
import type { Definition, Kind, ProjectCurrency, Ref, ValueType } from '../model/types.js';
import type { Catalog } from './catalog.js';

export type RefKind = 'Campaign' | 'Test' | 'Cohort' | 'Entity' | 'Events' | 'Segment' | 'Trait' | 'Score' | 'Lifecycle' | 'Kpi' | 'Funnel' | 'Costs' | 'Destination' | 'Sync' | 'stage' | 'band' | 'attribute' | 'event-type' | 'property';

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
  /** For a sync: what `tally sync` and `tally plan` need. */
  readonly sync?: ir.IrSync;
  /** For a cohort table: what `tally preview cohort` and `compile` need. */
  readonly cohort?: ir.IrCohort;
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
  /** tally.yaml `currency:` (absent: amounts in a declared currency cannot be read). */
  readonly currency?: ProjectCurrency;
  /** The wall-clock instant lints compare against (deadline already past). */
  readonly now: Date;
  /**
   * Resolutions that still hold (made with the same catalog, time zone and day, and nothing they
   * looked up has changed since: the caller, `Project`, knows which): returned as they are, so an
   * edit re-resolves only what it can affect.
   */
  readonly known?: ReadonlyMap<string, ResolvedDefinition>;
}

/** A value expression with the type resolution knows for it. */
export type Typed = { expr: IrExpr; type: ValueType | 'unknown' };

/** What a rule returns for one definition; the core adds the rest of `ResolvedDefinition`. */
export type Body = Omit<ResolvedDefinition, 'deps' | 'broken' | 'def' | 'diagnostics' | 'refs' | 'lookups' | 'kindSets' | 'kindNames' | 'cyclic'>;

/** A definition of one kind, as `lookup` returns it. */
export type DefinitionOf<K extends Kind> = Extract<Definition, { kind: K }>;

/**
 * The current resolution, as a rule sees it. Every method acts on the definition being resolved:
 * its diagnostics, reference sites, dependencies and what it looked up.
 */
export interface ResolveContext {
  /** The catalog, time zone and clock of this analysis. */
  readonly options: Pick<ResolveOptions, 'catalog' | 'timezone' | 'now' | 'currency'>;

  error(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void;
  warn(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void;
  /** `no <what> named '<name>'`, with "did you mean" (and its quick fix) from `candidates`. */
  unknown(code: DiagnosticCode, what: string, ref: Ref, candidates: Iterable<string>, hint?: string): void;
  /** Records a reference site for navigation and rename. */
  site(kind: RefKind, target: string, span: Span): void;
  /** Counts an error reported elsewhere (a broken part, an unusable dependency): the result is broken. */
  markBroken(): void;

  /** Looks up a definition by reference: records the site, the lookup and the dependency; reports an unknown name. */
  lookup<K extends Kind>(kind: K, ref: Ref): DefinitionOf<K> | undefined;
  /** Looks up a definition by name without a site or a diagnostic (someone else reports); records the lookup. */
  peek<K extends Kind>(kind: K, name: string): DefinitionOf<K> | undefined;
  /** Every definition of a kind, when its whole membership matters (the implicit entity or stream); recorded. */
  kindSet(kind: Kind): ReadonlyMap<string, Definition>;
  /** Records a direct dependency on a definition reached through `kindSet` or `peek`. */
  dependOn(kind: Kind, name: string): void;
  /**
   * Resolves a referenced definition (so its diagnostics land in its own file) and runs `fn` with
   * its resolution, unless that would be a cycle: then reports `cycle` at `span` and returns `fallback`.
   */
  guard<T>(d: Definition, span: Span, fallback: T, fn: (resolved: ResolvedDefinition) => T): T;
}
