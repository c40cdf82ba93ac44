// The wire between the language server and its clients: the params and results of Tally's custom
// requests (`tally/*`) and notifications, the previews' JSON shapes (also the CLI's), Tally's error
// codes, and the one map between a definition kind (`Segment`) and its preview kind (`segment`).
// Declared once here and imported by the engine (previews and campaigns produce these shapes), the
// server (which answers them) and the VS Code extension (which renders them), so the ends cannot
// drift. It imports nothing that imports it back: operations depend on the wire, not the reverse.
//
// The extension bundles no engine code: this module imports types only (erased by every bundler),
// and its few runtime values are plain constants with no imports, so importing them adds a few
// lines to the extension's bundle and nothing else.

import type { Diagnostic, Range } from './diagnostics.js';
import type { Kind } from './model/types.js';
import type { KpiEvaluation } from './kpi/status.js';
import type { Strategy } from './sql/compile.js';

export type { Range };

// ---- kinds -------------------------------------------------------------------------------------

/** The kinds a preview answers for, in the order messages list them. */
export const PREVIEW_KINDS = ['segment', 'trait', 'score', 'lifecycle', 'kpi', 'campaign', 'cohort', 'funnel', 'sync'] as const;
export type PreviewKind = (typeof PREVIEW_KINDS)[number];

/**
 * The one map between a definition kind and its preview kind (the kinds with live figures: a code
 * lens, a preview, a row in the definitions view). Key order is the order `tally/compiledSql`
 * lists its kinds in.
 */
export const PREVIEW_KIND_OF = { Segment: 'segment', Lifecycle: 'lifecycle', Kpi: 'kpi', Trait: 'trait', Score: 'score', Campaign: 'campaign', Cohort: 'cohort', Funnel: 'funnel', Sync: 'sync' } as const satisfies { readonly [K in Kind]?: PreviewKind };
export type PreviewableKind = keyof typeof PREVIEW_KIND_OF;

/** The definition kind of each preview kind (PREVIEW_KIND_OF read backwards). */
export const KIND_OF = Object.fromEntries(Object.entries(PREVIEW_KIND_OF).map(([kind, previewKind]) => [previewKind, kind])) as { readonly [P in PreviewKind]: PreviewableKind };

/** The preview kind of a definition kind (`Segment` -> `segment`), or undefined when it has none. */
export function previewKindOf(kind: string): PreviewKind | undefined {
  return Object.hasOwn(PREVIEW_KIND_OF, kind) ? PREVIEW_KIND_OF[kind as PreviewableKind] : undefined;
}

// ---- error codes -------------------------------------------------------------------------------

/**
 * Tally's error codes for its custom requests. JSON-RPC reserves -32768..-32000 and LSP
 * -32899..-32800 (vscode-languageserver's ErrorCodes and LSPErrorCodes name those); these small
 * positive codes are Tally's own.
 */
export const TallyErrorCodes = {
  /** No database: previews, plans and checks are off (data: `{offline: true, reason}`). */
  Offline: 1,
  /** Nothing to answer for: no project, or no definition of that kind and name. */
  NotFound: 2,
  /** The definition has errors; fix them to see live figures. */
  DefinitionHasErrors: 3,
  /** A query ran past its statement timeout. */
  Timeout: 4,
  /** The database refused or failed a query. */
  DatabaseFailed: 5,
} as const;
export type TallyErrorCode = (typeof TallyErrorCodes)[keyof typeof TallyErrorCodes];

/** The data of an `Offline` error. */
export interface OfflineData {
  readonly offline: true;
  readonly reason: string | undefined;
}

// ---- previews ----------------------------------------------------------------------------------
// The JSON of a preview: `tally/preview`'s result and `tally preview --format json` (the CLI
// contract, LANGUAGE.md §9); extra fields are allowed.

/** A preview: one shape per preview kind, told apart by `kind`. */
export type Preview = SegmentPreview | ValuesPreview | LifecyclePreview | KpiPreview | CampaignPreview | CohortPreview | FunnelPreview | SyncPreview;

export type Row = Record<string, unknown>;

export interface SegmentPreview {
  kind: 'segment';
  name: string;
  count: number;
  sample: Row[];
  entity: string;
  as_of: string;
  sql: string;
  /** With `detail`: the members per stage of the project's first lifecycle over this entity. */
  lifecycle?: { name: string; stages: Record<string, number> };
  /**
   * With `detail`: the deployed view `<deploy schema>.segment_<name>` and the deployed version's
   * size as of T (the same T as `count`), or null when not deployed.
   */
  deployed?: { view: string; count: number; version: number | null; same_definition: boolean } | null;
}
export interface ValuesPreview {
  kind: 'trait' | 'score';
  name: string;
  count: number;
  entities: number;
  sample: { key: unknown; value: unknown }[];
  bands?: Record<string, number>;
  as_of: string;
  sql: string;
}
/**
 * A cohort retention table: one row per cohort period (oldest first), one cell per column
 * (`D7`, `W3`, `M2`). A cell's `value` is returned / size (null for an empty cohort, and for a
 * cell whose window has begun for no possible member by T); `immature` marks a cell whose window
 * has not ended by T for every possible member of its period: its value is partial (returns
 * observed up to T), never a final figure.
 */
export interface CohortPreview {
  kind: 'cohort';
  name: string;
  entity: string;
  every: 'week' | 'month';
  /** The column labels, in order. */
  columns: string[];
  cohorts: { start: string; size: number; cells: { value: number | null; returned: number; immature: boolean }[] }[];
  timezone: string;
  as_of: string;
  sql: string;
}
export interface LifecyclePreview {
  kind: 'lifecycle';
  name: string;
  stages: Record<string, number>;
  total: number;
  as_of: string;
  sql: string;
}
export interface KpiPreview extends KpiEvaluation {
  kind: 'kpi';
  name: string;
  owner?: string;
  as_of: string;
  sql: string;
  /** With `detail`: the value and the pace line's value at evenly spaced instants ending at T. */
  series?: { at: string; value: number | null; expected: number | null }[];
  /** With `detail` and a baseline: the pace line from the baseline to the target at the deadline. */
  pace?: { from: { at: string; value: number }; to: { at: string; value: number } };
  /** With `detail`: how values read (engine/src/kpi/status.ts kpiFormat), for charts and tables. */
  format?: 'number' | 'percent' | 'currency';
  /** With `breakdown:`: what groups the entities (`attribute`, `segments`, `lifecycle`, `score`) and by which name(s). */
  breakdown?: { by: 'attribute' | 'segments' | 'lifecycle' | 'score' | 'trait'; name: string; top?: number; sql: string };
  /** With `breakdown:`: the metric per group, in display order (the NULL group last). */
  groups?: KpiGroup[];
}

/**
 * One group of a KPI breakdown. `group` is its label: the attribute value as text, the segment,
 * stage or band name, `(null)` for entities with no value, `(other)` for the values `top` merged
 * (the same labels the YAML `targets` are keyed by). `size`: its entities existing at T.
 */
export interface KpiGroup {
  group: string;
  kind: 'value' | 'null' | 'other';
  size: number;
  value: number | null;
  /** Only for a group with a target in `breakdown.targets`. */
  status?: KpiEvaluation['status'];
  target?: KpiEvaluation['target'];
  gap?: number | null;
}

/** One step of a funnel preview. */
export interface FunnelStepFigures {
  name: string;
  /** Entities that reached this step (step 1: the entrants). */
  reached: number;
  /** reached / the previous step's reached (step 1: reached / entrants); null when that is 0. */
  step_conversion: number | null;
  /** reached / entrants; null when there are no entrants. */
  overall_conversion: number | null;
  /** Median hours from the previous step's time to this step's (null for step 1 and when nobody reached it). */
  median_hours_from_previous: number | null;
}
export interface FunnelPreview {
  kind: 'funnel';
  name: string;
  entity: string;
  /** Entities whose first step-1 event is in (T - within, T]. */
  entrants: number;
  /** The entrants window, as written (`90d`). */
  within: string;
  steps: FunnelStepFigures[];
  as_of: string;
  sql: string;
}

/** What `tally sync` would deliver now (the working copy's definition, against the last delivered state). */
export interface SyncPreview {
  kind: 'sync';
  name: string;
  destination: string;
  mode: string;
  entering: number;
  leaving: number;
  changing: number;
  /** How many of those the mode sends. */
  sends: number;
  /** False before the first delivery (everyone enters). */
  delivered_before: boolean;
  as_of: string;
}

export interface HeldBack {
  exclusions: number;
  schedule: number;
  trigger: number;
  entry: number;
  frequency_cap: number;
}

export interface VariantCount {
  name: string;
  count: number;
  holdout: boolean;
  weight: number;
  /** The normalised weight. */
  share: number;
}

export interface CampaignPreview {
  kind: 'campaign';
  name: string;
  as_of: string;
  channel: string;
  /** Members of the audience segment at T. */
  segment: number;
  /** Who a run at T would enroll. */
  audience: number;
  variants: VariantCount[];
  held_back: HeldBack;
  /** Whether T is inside the schedule. */
  scheduled: boolean;
  /** Triggered campaigns: the window of (trigger time + delay) a run at T would read. */
  trigger_window?: { from: string; to: string };
  warnings: string[];
}

// ---- requests ----------------------------------------------------------------------------------

/** `tally/preview`: live figures of one definition as of T (read-only, under a timeout). */
export interface PreviewParams {
  /** A file of the project (the first project when absent). */
  readonly uri?: string;
  readonly kind: PreviewKind;
  readonly name: string;
  /** T as an ISO instant; absent: the editor's as-of, else now. */
  readonly asOf?: string;
  /** The editor's extras (a KPI's series and pace line, a segment's breakdown and deployed size). */
  readonly detail?: boolean;
}
export type PreviewResult = Preview;

/** `tally/compiledSql`: a definition's SQL as `tally compile` writes it. */
export interface CompiledSqlParams {
  readonly uri?: string;
  /** A preview kind, any case (`segment`, `Segment`). */
  readonly kind: string;
  readonly name: string;
  readonly asOf?: string;
}
export interface CompiledSqlResult {
  readonly sql: string | null;
  /** The same SQL with line breaks and indentation (engine formatSql); only whitespace differs. */
  readonly formatted: string | null;
  readonly strategy: Strategy | null;
  readonly broken: boolean;
  readonly fingerprint: string;
  /** T as an ISO instant (the editor's as-of), or null when T is the database clock (now()). */
  readonly asOf: string | null;
}

/** `tally/plan`: the workspace against the deployed state, the same renderings as `tally plan`. */
export interface PlanParams {
  readonly uri?: string;
  readonly asOf?: string;
  readonly allowDrop?: boolean;
}
export interface PlanResult {
  readonly root: string;
  readonly refused: boolean;
  /** The workspace has errors: nothing was planned (`markdown` lists them). */
  readonly blocked: boolean;
  /** The markdown CI posts. */
  readonly markdown: string;
  readonly text: string;
  /** `tally plan --format json`. */
  readonly json: unknown;
}

/** `tally/check`: every KPI's status as of T, the same renderings as `tally check`. */
export interface CheckParams {
  readonly uri?: string;
  readonly asOf?: string;
  /** `tally check --fail-on`: statuses, comma-separated. */
  readonly failOn?: string;
}
export interface CheckedKpi {
  readonly name: string;
  readonly value: number | null;
  readonly status: string;
  readonly target?: unknown;
  readonly expected?: number | null;
  readonly gap?: number | null;
  readonly owner?: string;
  readonly format?: string;
  /** The KPI's file, relative to the project. */
  readonly file: string;
  readonly line?: number;
  /** The KPI's file as a URI (preferred over `file`). */
  readonly uri: string;
  /** Its `name:` value, or null when the KPI is not found any more. */
  readonly range: Range | null;
  /** One sentence about it (value, target, pace line, gap, owner), as CI annotations say it. */
  readonly message: string;
  /** With `breakdown:`: what groups the entities, and the value (and status, with a target) per group. */
  readonly breakdown?: string;
  readonly groups?: readonly KpiGroup[];
}
export interface CheckResult {
  readonly root: string;
  readonly kpis: readonly CheckedKpi[];
  readonly passed: boolean;
  readonly markdown: string;
  readonly text: string;
  /** The rest of `tally check --format json` (as_of, fail_on, invalid). */
  readonly [field: string]: unknown;
}

/** `tally/definitions`: every definition of the workspace with its cached live figure. */
export interface DefinitionsParams {
  /** Also start the missing previews (each answer sends `tally/liveChanged`). */
  readonly compute?: boolean;
}
export interface DefinitionsResult {
  readonly projects: readonly ProjectEntry[];
  readonly definitions: readonly DefinitionEntry[];
}
export interface ProjectEntry {
  readonly root: string;
  readonly uri: string;
  /** Every definition file, as URIs. */
  readonly files: readonly string[];
  readonly connected: boolean;
  readonly database: string | null;
  readonly offline: string | null;
}
export interface DefinitionEntry {
  readonly root: string;
  /** The YAML kind: Segment, Kpi, ... */
  readonly kind: Kind;
  readonly name: string;
  readonly uri: string;
  readonly range: Range;
  readonly hasErrors: boolean;
  /** The code lens line, when a figure is cached. */
  readonly live: string | null;
  readonly count: number | null;
  readonly status: string | null;
}

/** `tally/status`: one entry per project. */
export interface StatusEntry {
  readonly root: string;
  readonly connected: boolean;
  readonly database: string | null;
  readonly offline: string | null;
  /** The instant every figure is shown at (ISO), from the setting `tally.asOf`; null: now. */
  readonly asOf: string | null;
}

// ---- notifications (server -> client) ----------------------------------------------------------

/** `tally/asOfChanged`: the as-of changed; every figure shown is recomputed. */
export interface AsOfChanged {
  readonly asOf: string | null;
}
/** `tally/liveChanged`: a live figure landed in the cache. */
export interface LiveChanged {
  readonly root: string;
  readonly kind: Kind;
  readonly name: string;
}
/** `tally/definitionsChanged`: files appeared or disappeared; a list of definitions is stale. */
export interface DefinitionsChanged {
  readonly roots: readonly string[];
}

/** The blocked plan's `json` (the workspace has errors). */
export interface BlockedPlanJson {
  readonly refused: true;
  readonly changes: readonly [];
  readonly diagnostics: readonly Diagnostic[];
}

// ---- series (tally series; engine/src/series/) ----------------------------------------------------

/** How long each period of a series is; periods are aligned to the project time zone's calendar. */
export type SeriesEvery = 'day' | 'week' | 'month';
export const SERIES_EVERY: readonly SeriesEvery[] = ['day', 'week', 'month'];
/** What a series can be computed of: a KPI's value, a segment's size, a lifecycle's stages, a score's bands. */
export type SeriesKind = 'kpi' | 'segment' | 'lifecycle' | 'score';
export const SERIES_KINDS: readonly SeriesKind[] = ['kpi', 'segment', 'lifecycle', 'score'];

/**
 * One period of a series, evaluated as of its end `at` (the start of the next period, midnight in
 * the project time zone): `value` equals `tally preview <kind> NAME --as-of <at>` (a KPI's value, a
 * segment's count, a lifecycle's or a score's total with a value). `groups`: a lifecycle's count per
 * stage, a score's count per band, a KPI's value per breakdown group. `pace`: a KPI's pace line at
 * `at`; `status`: the KPI's status at `at` (met, on_track, at_risk, missed, failed: kpi/status.ts).
 */
export interface SeriesPoint {
  /** ISO instant of the period's end: the instant the period is evaluated as of. */
  at: string;
  /** ISO instant of the period's start (the previous point's `at`). */
  start: string;
  value: number | null;
  groups?: Record<string, number | null>;
  pace?: number | null;
  status?: string;
}

/** `tally series ... --format json`: a definition's figures over a range of periods. */
export interface SeriesResult {
  kind: SeriesKind;
  name: string;
  every: SeriesEvery;
  /** The first period's start and the last period's end (ISO instants). */
  from: string;
  to: string;
  /** The project time zone the periods are aligned to. */
  timezone: string;
  points: SeriesPoint[];
  /** A KPI's `unit`, when it declares one. */
  unit?: string;
  /** How a KPI's values read (kpi/status.ts kpiFormat). */
  format?: 'number' | 'percent' | 'currency';
  /** A KPI's direction: +1 higher is better, -1 lower is better, 0 closeness (kpi/status.ts direction). */
  direction?: 1 | -1 | 0;
  /** A KPI's target: the comparison and its deadline (ISO instant: a bare `by` date means the end of that day). */
  target?: { op: string; value: number | [number, number]; by?: string; due?: string };
  /** A KPI's baseline: its value at `on` (ISO instant). */
  baseline?: { value: number; on: string };
  /** The pace line: straight from the baseline to the target value at the deadline. */
  pace?: { from: { at: string; value: number }; to: { at: string; value: number } };
  owner?: string;
  /** A KPI's funnel stage (AARRR) when it declares one. */
  funnel?: string;
  /** The names of `groups` in display order (stages, bands, breakdown groups). */
  groups?: string[];
  /** The single statement the series ran (parameters as $n). */
  sql: string;
}

/** What `computeSeries` returns: a result, or diagnostics saying why not (never a throw on user input). */
export interface SeriesOutcome {
  readonly result?: SeriesResult;
  readonly diagnostics: readonly Diagnostic[];
}

// ---- the periodic review (`tally review`, `tally/review`) ---------------------------------------

/** The AARRR funnel stages a KPI's `funnel:` names, in funnel order; `other` holds KPIs without one. */
export const REVIEW_STAGES = ['acquisition', 'activation', 'retention', 'revenue', 'referral', 'other'] as const;
export type ReviewStage = (typeof REVIEW_STAGES)[number];

/**
 * Everything the review shows, as plain JSON (`tally review --format json`); the HTML, markdown and
 * the editor's webview are renderings of it, and every chart's numbers are read from it.
 */
export interface ReviewData {
  kind: 'review';
  /** The project's name (tally.yaml), for the title. */
  project: string;
  /** The period ends run from `from` to `to` (ISO instants), one per `every`. */
  from: string;
  to: string;
  every: 'day' | 'week' | 'month';
  /** The instant the review is evaluated at (= `to`). */
  as_of: string;
  timezone: string;
  /** KPIs grouped by funnel stage, stages in AARRR order, only stages with KPIs. */
  stages: { stage: ReviewStage; kpis: ReviewKpi[] }[];
  lifecycles: ReviewLifecycle[];
  cohorts: CohortPreview[];
  funnels: FunnelPreview[];
  campaigns: ReviewCampaign[];
  /** Deploys recorded in (from, to], newest first. */
  deploys: ReviewDeploy[];
  /** What could not be shown and why (a definition with errors, no recorded history, a failed query). */
  notes: string[];
}

export interface ReviewPoint {
  /** The period end (ISO instant). */
  at: string;
  value: number | null;
  /** The pace line's value at `at` (null without a baseline and deadline). */
  expected: number | null;
}

export interface ReviewKpi {
  name: string;
  description?: string;
  owner?: string;
  stage: ReviewStage;
  format: 'number' | 'percent' | 'currency';
  unit?: string;
  /** One point per period end, oldest first; the last is as of `to`. */
  points: ReviewPoint[];
  target?: { op: string; value: number | [number, number]; by?: string };
  baseline?: { at: string; value: number };
  /** Status, pace-line value and gap as of `to` (kpi/status.ts). */
  value: number | null;
  status: 'met' | 'on_track' | 'at_risk' | 'missed' | 'failed';
  expected: number | null;
  gap: number | null;
  /**
   * The change since the last review: the value as of `to` minus the value at the previous period
   * end (`previous_at` = `to` minus one `every`); null when either is null or there is one period.
   */
  change: { previous_at: string; previous: number | null; delta: number | null } | null;
  /** The latest `tally check` recorded at or before `to`, when any (kpi_checks). */
  last_check?: { as_of: string; value: number | null; status: string };
}

export interface ReviewLifecycle {
  name: string;
  description?: string;
  owner?: string;
  /** The stages in written order. */
  stages: string[];
  /** Per period end, the entities in each stage (computed from the data, as of each period end). */
  points: { at: string; stages: Record<string, number> }[];
  /**
   * Moves between stages from recorded snapshots (`tally snapshot`, deploy) taken in [from, to]: the
   * first and the last snapshot day of the range; null when fewer than two days are recorded.
   */
  transitions: { from_day: string; to_day: string; moves: { from: string | null; to: string | null; entities: number }[] } | null;
  /** Recorded snapshot days in [from, to]. */
  snapshot_days: number;
}

export interface ReviewCampaign {
  name: string;
  owner?: string;
  goal: string | null;
  holdout: string | null;
  /** One row per variant: conversion with its Wilson 95% interval. */
  variants: { name: string; holdout: boolean; enrolled: number; converted: number | null; rate: number | null; low: number | null; high: number | null }[];
  p_value: number | null;
  srm_mismatch: boolean;
  notes: string[];
}

export interface ReviewDeploy {
  id: number;
  at: string;
  who: string | null;
  git_commit: string | null;
  definitions: { kind: string; name: string; version: number; dropped: boolean }[];
}

/** `tally/review`: the review of one project, as data and as the webview's HTML (theme colours). */
export interface ReviewParams {
  readonly uri?: string;
  readonly from?: string;
  readonly to?: string;
  readonly every?: 'day' | 'week' | 'month';
}
export interface ReviewResult {
  readonly root: string;
  readonly data: ReviewData;
  /** The page, styled with the editor's theme variables (`--vscode-*`), no script. */
  readonly html: string;
}
