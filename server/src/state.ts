// The language server's state, one explicit object handed to every feature (diagnostics,
// navigation, previews, operations, settings): the connection, the workspace, the settings the
// client may change, and the conversions between LSP's URIs and positions and the engine's files
// and offsets. Features keep their own caches and timers; what two features share lives here.

import { join } from 'node:path';
import type { Connection } from 'vscode-languageserver/node.js';
import type { Span } from '../../engine/src/index.js';
import { pathToUri, uriToPath, type ProjectState, type Workspace } from './workspace.js';

/** A definition file of a project (or, from firstProject, the project alone: rel is ''). */
export interface FileOfProject {
  readonly state: ProjectState;
  readonly rel: string;
}

export class ServerState {
  /** Set when the client initializes (onInitialize): no request is handled before it. */
  workspace!: Workspace;
  /**
   * None by default: analysis is incremental (an edit re-resolves only what it can reach, ~0.3 ms
   * at 1,000 files), so diagnostics go out right after the change is applied; `debounceMs` > 0
   * coalesces bursts of changes for clients that send many.
   */
  debounceMs: number;
  /** The statement timeout of each preview query (the setting tally.previewTimeoutMs). */
  previewTimeoutMs = 5000;
  /** Whether the client can be asked to refresh its code lenses (workspace/codeLens/refresh). */
  lensRefresh = false;
  /** Whether the user was told once that previews are off. */
  toldOffline = false;
  /** Bumped whenever the editor's as-of changes: figures computed under an older one are not cached. */
  asOfEpoch = 0;
  /** uri -> JSON of the diagnostics last published for it. */
  readonly published = new Map<string, string>();
  private readonly uris = new Map<string, string>();

  constructor(
    readonly connection: Connection,
    options: { readonly debounceMs?: number },
  ) {
    this.debounceMs = options.debounceMs ?? 0;
  }

  log(message: string): void {
    this.connection.console.log(message);
  }

  /** The definition file a URI names, with its project; undefined for anything else. */
  at(uri: string): FileOfProject | undefined {
    const path = uriToPath(uri);
    if (!path) return undefined;
    const state = this.workspace.ensureOwner(path);
    if (!state) return undefined;
    const rel = this.workspace.rel(state, path);
    return state.project.file(rel) ? { state, rel } : undefined;
  }

  /** The first project of the workspace (requests without a `uri`). */
  firstProject(): FileOfProject | undefined {
    const s = this.workspace.projects.values().next().value as ProjectState | undefined;
    return s ? { state: s, rel: '' } : undefined;
  }

  /** The file a request names, else the first project. */
  fileOrFirst(uri: string | undefined): FileOfProject | undefined {
    return (uri ? this.at(uri) : undefined) ?? this.firstProject();
  }

  offsetOf(state: ProjectState, rel: string, position: { line: number; character: number }): number {
    return state.project.file(rel)!.lines.offset(position);
  }

  rangeOf(state: ProjectState, rel: string, span: Span) {
    const f = state.project.file(rel);
    if (!f) return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return f.lines.range(span);
  }

  /** A project file's URI (cached: publishing diagnostics asks for it per file). */
  uriFor(state: ProjectState, rel: string): string {
    const k = `${state.root}\0${rel}`;
    let u = this.uris.get(k);
    if (!u) this.uris.set(k, (u = pathToUri(join(state.root, rel))));
    return u;
  }
}
