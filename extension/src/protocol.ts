// The shapes of the Tally server's custom requests, as the extension reads them. Every field the
// extension renders is optional or checked, so an older or newer server never breaks the UI.

export interface DefinitionRef {
  readonly uri: string;
  readonly kind: string; // preview kind: segment, trait, score, lifecycle, kpi, campaign
  readonly name: string;
}

export interface Range {
  readonly start: { line: number; character: number };
  readonly end: { line: number; character: number };
}

/** `tally/definitions` */
export interface DefinitionsResult {
  readonly projects: { root: string; uri: string; files: string[]; connected: boolean; database: string | null; offline: string | null }[];
  readonly definitions: DefinitionEntry[];
}
export interface DefinitionEntry {
  readonly root: string;
  readonly kind: string; // Segment, Kpi, ... (the YAML kind)
  readonly name: string;
  readonly uri: string;
  readonly range: Range;
  readonly hasErrors: boolean;
  readonly live: string | null;
  readonly count: number | null;
  readonly status: string | null;
}

/** `tally/status` */
export interface StatusEntry {
  readonly root: string;
  readonly connected: boolean;
  readonly database: string | null;
  readonly offline: string | null;
  /** The instant every figure is shown at (ISO), from the setting `tally.asOf`; null: now. */
  readonly asOf?: string | null;
}

/** `tally/asOfChanged` (server -> client): the as-of changed; every figure shown is recomputed. */
export interface AsOfChanged {
  readonly asOf: string | null;
}

/** The server's error codes for `tally/*` requests (server/src/params.ts TallyErrorCodes). */
export const TallyErrorCodes = {
  Offline: 1,
  NotFound: 2,
  DefinitionHasErrors: 3,
  Timeout: 4,
  DatabaseFailed: 5,
} as const;

/** `tally/compiledSql` */
export interface CompiledSqlResult {
  readonly sql: string | null;
  /** The same SQL with line breaks (engine formatSql); absent from older servers. */
  readonly formatted?: string | null;
  readonly strategy: string | null;
  readonly broken: boolean;
  readonly fingerprint: string;
  /** T as an ISO instant (the editor's as-of), or null when T is the database clock (now()). */
  readonly asOf?: string | null;
}

/** `tally/plan` (added by the plan work): the same markdown CI posts. */
export interface PlanResult {
  readonly markdown: string;
  readonly text: string;
  readonly json: unknown;
}

/** `tally/check` */
export interface CheckResult {
  readonly kpis: {
    name: string;
    value: number | null;
    status: string;
    target?: unknown;
    expected?: number | null;
    gap?: number | null;
    owner?: string;
    format?: string;
    file?: string;
    /** The KPI's file as a URI (preferred over `file`, which is relative to the project). */
    uri?: string;
    range?: Range | null;
    /** One sentence about it (value, target, pace line, gap, owner), as CI annotations say it. */
    message?: string;
  }[];
  readonly markdown: string;
}

/** Messages from the extension to the preview webview. */
export type ToWebview =
  | { type: 'loading'; ref: DefinitionRef; label: string }
  | { type: 'data'; ref: DefinitionRef; preview: Record<string, unknown>; database: string | null; elapsedMs: number }
  | { type: 'error'; ref: DefinitionRef; title: string; message: string; actions: { command: string; label: string }[] };

/** Messages from the webview to the extension. */
export type FromWebview = { type: 'ready' } | { type: 'refresh' } | { type: 'command'; command: string };

/** The YAML kind for a preview kind and back. */
export const PREVIEW_KIND_OF: Record<string, string> = { Segment: 'segment', Trait: 'trait', Score: 'score', Lifecycle: 'lifecycle', Kpi: 'kpi', Campaign: 'campaign' };
