// The shapes of the Tally server's custom requests, as the extension reads them: the wire's types
// are the engine's (engine/src/protocol.ts, declared once for the server and the extension); only
// the extension's own messages (a definition reference, the preview webview's messages) are
// declared here. The engine module is imported for types, plus its few import-free constants
// (error codes, the kind map), so no engine code enters the extension's bundles.

import type { Preview, PreviewKind } from '../../engine/src/protocol';

export type {
  AsOfChanged,
  CheckResult,
  CheckedKpi,
  CompiledSqlResult,
  DefinitionEntry,
  DefinitionsResult,
  PlanResult,
  Preview,
  PreviewKind,
  ProjectEntry,
  ReviewData,
  ReviewResult,
  Range,
  StatusEntry,
} from '../../engine/src/protocol';
export { PREVIEW_KINDS, TallyErrorCodes, previewKindOf } from '../../engine/src/protocol';

/** What a command is about: a definition by its preview kind and name, in a file. */
export interface DefinitionRef {
  readonly uri: string;
  /** A preview kind (segment, trait, score, lifecycle, kpi, campaign), or what a caller passed. */
  readonly kind: PreviewKind | string;
  readonly name: string;
}

/** Messages from the extension to the preview webview. */
export type ToWebview =
  | { type: 'loading'; ref: DefinitionRef; label: string }
  | { type: 'data'; ref: DefinitionRef; preview: Preview; database: string | null; elapsedMs: number }
  | { type: 'error'; ref: DefinitionRef; title: string; message: string; actions: { command: string; label: string }[] };

/** Messages from the webview to the extension. */
export type FromWebview = { type: 'ready' } | { type: 'refresh' } | { type: 'command'; command: string };
