// The typed model: definitions lowered from YAML, names not yet resolved.
//
// Every piece that a diagnostic, hover or rename may point at keeps its source span.

import type { Span } from '../diagnostics.js';
import type { YMap } from '../syntax/nodes.js';
import type { Duration } from '../time.js';

export const KINDS = ['Entity', 'Events', 'Segment', 'Trait', 'Score', 'Lifecycle', 'Kpi', 'Campaign', 'Test', 'Cohort', 'Funnel', 'Costs', 'Destination', 'Sync'] as const;
export type Kind = (typeof KINDS)[number];

export type ValueType = 'string' | 'number' | 'boolean' | 'timestamp';
export const VALUE_TYPES: readonly ValueType[] = ['string', 'number', 'boolean', 'timestamp'];

export type Scalar = string | number | boolean;

/** A name as written, with where it was written. */
export interface Ref {
  readonly name: string;
  readonly span: Span;
}

export interface DefinitionBase {
  readonly kind: Kind;
  readonly name: string;
  readonly version: number;
  readonly description?: string;
  readonly owner?: string;
  readonly tags: readonly string[];
  /** How a deploy stores a segment, trait, score or lifecycle: a view (default) or a table. */
  readonly materialize?: 'view' | 'table';
  /** Project-relative path of the file, with forward slashes. */
  readonly file: string;
  /** Index of the YAML document within its file. */
  readonly doc: number;
  readonly node: YMap;
  readonly nameSpan: Span;
  readonly kindSpan: Span;
  readonly versionSpan: Span;
}

export interface TableRef {
  readonly schema?: string;
  readonly name: string;
  readonly span: Span;
}

export interface AttributeDecl {
  readonly name: string;
  readonly column: string;
  readonly type?: ValueType;
  readonly span: Span;
}

export interface EntityDef extends DefinitionBase {
  readonly kind: 'Entity';
  readonly table: TableRef;
  readonly key: Ref;
  readonly createdAt?: Ref;
  readonly attributes: ReadonlyMap<string, AttributeDecl>;
  readonly pii: readonly Ref[];
}

export interface EventsDef extends DefinitionBase {
  readonly kind: 'Events';
  readonly entity?: Ref;
  readonly table: TableRef;
  readonly entityKey: Ref;
  readonly time: Ref;
  readonly type?: Ref;
  readonly properties?: Ref;
  readonly propertyTypes: ReadonlyMap<string, { type: ValueType; span: Span }>;
  readonly columns: ReadonlyMap<string, AttributeDecl>;
  /** `dedupe_on`: the values that make two rows one event (role names `key`/`type`/`time`, columns, properties). */
  readonly dedupeOn?: readonly Ref[];
  /** `currency:`: the column (or property) holding each row's currency and the properties that are amounts in it. */
  readonly currency?: { readonly column: Ref; readonly amounts: readonly Ref[] };
}

export type OpName =
  | 'eq' | 'ne' | 'in' | 'not_in' | 'gt' | 'gte' | 'lt' | 'lte' | 'between' | 'is_null'
  | 'contains' | 'starts_with' | 'within' | 'before' | 'after';
export const OP_NAMES: readonly OpName[] = [
  'eq', 'ne', 'in', 'not_in', 'gt', 'gte', 'lt', 'lte', 'between', 'is_null', 'contains', 'starts_with', 'within', 'before', 'after',
];

/** A point in time written in a condition: an absolute instant or `T - duration`. */
export type TimePoint = { readonly kind: 'instant'; readonly date: Date; readonly text: string } | { readonly kind: 'ago'; readonly duration: Duration };

export type Operator =
  | { readonly op: 'eq' | 'ne' | 'gt' | 'gte' | 'lt' | 'lte' | 'contains' | 'starts_with'; readonly value: Scalar; readonly span: Span; readonly valueSpan: Span }
  | { readonly op: 'in' | 'not_in'; readonly values: readonly Scalar[]; readonly span: Span; readonly valueSpan: Span }
  | { readonly op: 'between'; readonly low: Scalar; readonly high: Scalar; readonly span: Span; readonly valueSpan: Span }
  | { readonly op: 'is_null'; readonly value: boolean; readonly span: Span; readonly valueSpan: Span }
  | { readonly op: 'within'; readonly duration: Duration; readonly span: Span; readonly valueSpan: Span }
  | { readonly op: 'before' | 'after'; readonly point: TimePoint; readonly span: Span; readonly valueSpan: Span };

export interface PropertyFilter {
  readonly property: Ref;
  readonly op: Operator;
  readonly span: Span;
}

/** Which events: `event`/`stream`, `where`, `within`. Upper bound is always T. */
export interface EventQuery {
  readonly event?: Ref;
  readonly stream?: Ref;
  readonly within?: Duration;
  readonly withinSpan?: Span;
  readonly where: readonly PropertyFilter[];
  readonly span: Span;
}

export type Aggregate =
  | { readonly fn: 'count' }
  | { readonly fn: 'sum' | 'avg' | 'min' | 'max'; readonly property: Ref }
  | { readonly fn: 'count_distinct'; readonly property: Ref }
  | { readonly fn: 'last' | 'first'; readonly property: Ref /* `time` means the event time */ }
  | { readonly fn: 'days_since'; readonly which: 'last' | 'first'; readonly span: Span };

export type Condition =
  | { readonly form: 'all' | 'any'; readonly items: readonly Condition[]; readonly span: Span; readonly keySpan: Span }
  | { readonly form: 'not'; readonly item: Condition; readonly span: Span; readonly keySpan: Span }
  | { readonly form: 'attribute'; readonly attribute: Ref; readonly op: Operator; readonly span: Span }
  | { readonly form: 'event'; readonly query: EventQuery; readonly agg: Aggregate; readonly op?: Operator; readonly span: Span }
  | { readonly form: 'segment'; readonly ref: Ref; readonly span: Span }
  | { readonly form: 'stage'; readonly lifecycle: Ref; readonly stage: Ref; readonly span: Span }
  | { readonly form: 'trait'; readonly ref: Ref; readonly op: Operator; readonly span: Span }
  /** `{ trait: ltv, band: q5 }`: the trait's quantile band (the trait has `bands: { quantiles: N }`). */
  | { readonly form: 'trait-band'; readonly ref: Ref; readonly band: Ref; readonly span: Span }
  | { readonly form: 'score'; readonly ref: Ref; readonly band?: Ref; readonly op?: Operator; readonly span: Span }
  | { readonly form: 'invalid'; readonly span: Span };

export interface SegmentDef extends DefinitionBase {
  readonly kind: 'Segment';
  readonly entity?: Ref;
  readonly where: Condition;
}

export interface TraitDef extends DefinitionBase {
  readonly kind: 'Trait';
  readonly entity?: Ref;
  readonly type?: ValueType;
  readonly typeSpan?: Span;
  /** The event form; undefined for the entity forms (`derived`) and when `compute` is missing. */
  readonly compute: { readonly query: EventQuery; readonly agg: Aggregate; readonly span: Span } | undefined;
  /** The entity forms: `attribute`, `days_since: { attribute }`, `expr` (absent for event traits). */
  readonly derived?: { readonly expr: ProfileExpr; readonly span: Span };
  /** `bands: { quantiles: N }` (absent unless written). */
  readonly quantiles?: Quantiles;
}

/** An operand of a trait's entity forms: a number, a trait, an attribute, days since a timestamp attribute, arithmetic. */
export type ProfileExpr =
  | { readonly k: 'num'; readonly value: number; readonly span: Span }
  | { readonly k: 'attribute' | 'trait' | 'days_since'; readonly ref: Ref; readonly span: Span }
  | { readonly k: 'op'; readonly op: 'add' | 'subtract' | 'multiply' | 'divide'; readonly args: readonly ProfileExpr[]; readonly span: Span; readonly keySpan: Span }
  | { readonly k: 'invalid'; readonly span: Span };

/** Quantile bands `q1`..`qN` over the entities existing at T (docs/language.md). */
export interface Quantiles {
  readonly n: number;
  readonly span: Span;
}

export interface ScoreComponent {
  /** Exactly one of `trait` and `attribute` (lowering reports otherwise). */
  readonly trait?: Ref;
  readonly attribute?: Ref;
  readonly weight: number;
  readonly from: number;
  readonly to: number;
  readonly span: Span;
}

export interface ScoreBand {
  readonly name: Ref;
  readonly gte?: number;
  readonly gt?: number;
  readonly span: Span;
}

export interface ScoreDef extends DefinitionBase {
  readonly kind: 'Score';
  readonly entity?: Ref;
  readonly components: readonly ScoreComponent[];
  readonly bands: readonly ScoreBand[];
  /** `bands: { quantiles: N }` (then `bands` is empty). */
  readonly quantiles?: Quantiles;
}

export interface LifecycleStage {
  readonly name: Ref;
  readonly where?: Condition;
  readonly span: Span;
}

export interface LifecycleDef extends DefinitionBase {
  readonly kind: 'Lifecycle';
  readonly entity?: Ref;
  readonly stages: readonly LifecycleStage[];
}

export type Metric =
  | { readonly form: 'count'; readonly where: Condition; readonly span: Span }
  | { readonly form: 'events' | 'active' | 'churn'; readonly query: EventQuery; readonly span: Span }
  | { readonly form: 'sum' | 'avg' | 'count_distinct'; readonly query: EventQuery; readonly property: Ref; readonly span: Span }
  | { readonly form: 'ratio'; readonly numerator: Metric; readonly denominator: Metric; readonly span: Span }
  | { readonly form: 'retention'; readonly cohort: EventQuery; readonly returning: EventQuery; readonly days: number; readonly span: Span; readonly cohortAttribute?: CohortAttribute }
  | { readonly form: 'nps'; readonly query: EventQuery; readonly property: Ref; readonly span: Span }
  /** A Funnel's conversion: end to end, one step's step conversion, or reached `to` / reached `from`. */
  | { readonly form: 'conversion'; readonly funnel: Ref; readonly step?: Ref; readonly from?: Ref; readonly to?: Ref; readonly span: Span }
  /** CSAT: satisfied / rated responses in the window (every response; NULL and out-of-scale ratings left out). */
  | { readonly form: 'csat'; readonly query: EventQuery; readonly property: Ref; readonly scale: readonly [number, number]; readonly satisfied: { readonly op: 'gte' | 'gt'; readonly value: number }; readonly span: Span }
  /** Spend of a cost source in the window. */
  | { readonly form: 'cost'; readonly costs: Ref; readonly within: Duration; readonly span: Span }
  /** Spend / customers acquired in the window (a timestamp attribute, or the first matching event, in the window). */
  | { readonly form: 'cac'; readonly costs: Ref; readonly within: Duration; readonly acquired: { readonly attribute: Ref } | { readonly query: EventQuery }; readonly span: Span }
  /** Revenue (a sum over matching events) / spend in the window. */
  | { readonly form: 'roas'; readonly costs: Ref; readonly within: Duration; readonly revenue: EventQuery; readonly property: Ref; readonly span: Span }
  | { readonly form: 'invalid'; readonly span: Span };

export type ComparisonOp = 'gte' | 'gt' | 'lte' | 'lt' | 'eq' | 'between';

export interface Comparison {
  readonly op: ComparisonOp;
  /** For `between`, [low, high]. */
  readonly value: number | readonly [number, number];
  readonly span: Span;
}

export interface KpiTarget {
  readonly comparison?: Comparison;
  readonly by?: { readonly date: Date; readonly dateOnly: boolean; readonly text: string; readonly span: Span };
  readonly baseline?: { readonly value: number; readonly on: Date; readonly text: string; readonly span: Span };
  readonly span: Span;
}

export interface KpiDef extends DefinitionBase {
  readonly kind: 'Kpi';
  readonly entity?: Ref;
  readonly funnel?: string;
  readonly unit?: string;
  /** How values read: `percent` (0.35 -> 35%), `currency`, `number`; inferred when absent. */
  readonly format?: 'number' | 'percent' | 'currency';
  readonly metric: Metric;
  readonly target?: KpiTarget;
  readonly guardrail?: Comparison;
  /** `breakdown:`: the KPI per group (absent: no breakdown, and the IR/fingerprint are as before). */
  readonly breakdown?: KpiBreakdown;
}

/** The group label of entities whose attribute (or score band) is NULL. */
export const NULL_GROUP = '(null)';
/** The group label of the values `top` merges. */
export const OTHER_GROUP = '(other)';

/** A KPI's `breakdown:`: what groups the entities, `top`, and per-group targets keyed by group label. */
export interface KpiBreakdown {
  readonly by:
    | { readonly k: 'attribute' | 'lifecycle' | 'score' | 'trait'; readonly ref: Ref }
    | { readonly k: 'segments'; readonly refs: readonly Ref[] }
    | { readonly k: 'invalid' };
  readonly top?: { readonly n: number; readonly span: Span };
  readonly targets: readonly { readonly group: Ref; readonly target: KpiTarget }[];
  readonly span: Span;
}

/** An instant written in a definition (a bare date is midnight in the project time zone). */
export interface WrittenInstant {
  readonly date: Date;
  readonly dateOnly: boolean;
  readonly text: string;
  readonly span: Span;
}

export interface CampaignVariant {
  readonly name: Ref;
  readonly weight: number;
  readonly holdout: boolean;
  readonly span: Span;
}

/** A campaign (LANGUAGE.md §7): audience, schedule or trigger, entry, cap, variants, goal. */
export interface CampaignDef extends DefinitionBase {
  readonly kind: 'Campaign';
  readonly audience?: { readonly segment?: Ref; readonly exclude: readonly Ref[] };
  readonly trigger?: EventQuery;
  readonly goal?: EventQuery;
  readonly channel?: string;
  readonly schedule?: { readonly start?: WrittenInstant; readonly end?: WrittenInstant; readonly span: Span };
  /** After the trigger event, wait this long before enrolling. */
  readonly triggerDelay?: Duration;
  /** `once` (the default) or re-entry `every` duration after the previous enrollment. */
  readonly entry: { readonly kind: 'once' } | { readonly kind: 'every'; readonly every: Duration };
  readonly frequencyCap?: { readonly max: number; readonly per: Duration; readonly span: Span };
  readonly variants: readonly CampaignVariant[];
  /** False when a variant did not lower (a schema error there): weight lints are skipped. */
  readonly variantsComplete: boolean;
  readonly variantsSpan?: Span;
}

/** A retention cohort read from a timestamp attribute (`cohort: { attribute: signed_up_at, within: 90d }`). */
export interface CohortAttribute {
  readonly attribute: Ref;
  readonly within: Duration;
  readonly withinSpan: Span;
}

/** A cohort retention table (`kind: Cohort`). */
export interface CohortDef extends DefinitionBase {
  readonly kind: 'Cohort';
  readonly entity?: Ref;
  /** The cohort instant: a timestamp attribute, or the entity's first matching event. */
  readonly cohort: { readonly attribute: Ref } | { readonly query: EventQuery } | undefined;
  readonly every: 'week' | 'month';
  readonly count: number;
  readonly returning: EventQuery | undefined;
  /** The columns: day offsets, or k weeks or months. */
  readonly returns: { readonly unit: 'days'; readonly offsets: readonly number[] } | { readonly unit: 'weeks' | 'months'; readonly count: number } | undefined;
  readonly cohortSpan: Span;
  readonly returnsSpan: Span;
}

/** One step of a funnel: an event condition, `within` after the previous step's time. */
export interface FunnelStep {
  readonly name: Ref;
  readonly query: EventQuery;
  readonly span: Span;
}

/** An ordered funnel (docs/language.md "Funnels"): entrants by their first step-1 event in (T - within, T]. */
export interface FunnelDef extends DefinitionBase {
  readonly kind: 'Funnel';
  readonly entity?: Ref;
  readonly within?: Duration;
  readonly withinSpan?: Span;
  readonly steps: readonly FunnelStep[];
}

/** A cost source (`kind: Costs`): spend by date (and channel), read by the `cost`, `cac` and `roas` KPI forms. */
export interface CostsDef extends DefinitionBase {
  readonly kind: 'Costs';
  readonly table: TableRef;
  readonly time: Ref;
  readonly amount: Ref;
  readonly channel?: Ref;
  /** The column holding each row's currency code (the amount converts to the project currency). */
  readonly currency?: Ref;
}

// ---- activation: destinations and syncs (docs/language.md "Destinations and syncs") ----------

/** A webhook destination's settings, defaults applied by lowering (waits in milliseconds). */
export interface WebhookSettings {
  readonly url: string;
  readonly urlSpan: Span;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  /** The environment variable holding the signing secret (never the secret). */
  readonly secretEnv?: Ref;
  readonly batchSize: number;
  /** Requests per second (undefined: no limit). */
  readonly rateLimit?: number;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoffMs: number;
}

/** Where a Sync delivers (`kind: Destination`): exactly one of webhook, folder, postgres. */
export interface DestinationDef extends DefinitionBase {
  readonly kind: 'Destination';
  readonly target:
    | { readonly k: 'webhook'; readonly webhook: WebhookSettings }
    | { readonly k: 'folder'; readonly path: string; readonly pathSpan: Span; readonly format: 'csv' | 'jsonl' }
    | { readonly k: 'postgres'; readonly urlEnv: Ref; readonly table: Ref }
    | undefined;
}

export type SyncMode = 'mirror' | 'upsert' | 'add_only';

/** An audience kept in sync with a Destination (`kind: Sync`). */
export interface SyncDef extends DefinitionBase {
  readonly kind: 'Sync';
  readonly source: { readonly k: 'segment'; readonly segment: Ref } | { readonly k: 'campaign'; readonly campaign: Ref; readonly variant: Ref } | undefined;
  readonly fields: { readonly attributes: readonly Ref[]; readonly traits: readonly Ref[]; readonly scores: readonly Ref[] };
  readonly mode: SyncMode;
  readonly destination?: Ref;
}

/** Tests are read from their document by the fixture runner (fixtures/fixtures.ts). */
export interface OtherDef extends DefinitionBase {
  readonly kind: 'Test';
}

export type Definition = EntityDef | EventsDef | SegmentDef | TraitDef | ScoreDef | LifecycleDef | KpiDef | CampaignDef | CohortDef | FunnelDef | CostsDef | DestinationDef | SyncDef | OtherDef;

export interface ProjectConfig {
  readonly name: string;
  readonly definitions: readonly string[];
  readonly warehouseUrl?: string;
  readonly deploySchema: string;
  readonly timezone: string;
  /** `currency:`: the project currency and its rates table (absent: no conversion configured). */
  readonly currency?: ProjectCurrency;
}

/** The project currency (tally.yaml `currency:`): amounts in other currencies convert through `rates`. */
export interface ProjectCurrency {
  readonly code: string;
  readonly rates?: { readonly table: string; readonly date: string; readonly currency: string; readonly rate: string };
}
