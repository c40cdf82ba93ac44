// The server's workspace: one engine Project per tally.yaml root, open buffers over disk,
// live database state (connection, catalog, preview cache) per project.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Project, PROJECT_FILE, analyzeLive, connectInWorker, resolveDatabaseUrl, unsetVariablesMessage, LanguageService, type Analysis, type Catalog, type Db, type Kind } from '../../engine/src/index.js';

export interface ProjectState {
  readonly root: string;
  readonly project: Project;
  readonly service: LanguageService;
  catalog?: Catalog;
  db?: Db;
  dbLabel?: string;
  /** Why previews are off, when they are. */
  offline?: string;
  connecting?: Promise<void>;
  nextConnectAttempt: number;
  /** Live one-line summaries for lenses and hovers, keyed by kind:name:fingerprint. */
  readonly live: Map<string, { text: string; at: number; data: unknown }>;
}

export function uriToPath(uri: string): string | undefined {
  try {
    return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
  } catch {
    return undefined;
  }
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

const SKIP = new Set(['node_modules', '.git', '.tally', 'dist', 'out']);

/** tally.yaml roots under a folder (bounded depth). */
export function findProjectRoots(folder: string, depth = 6): string[] {
  const out: string[] = [];
  const walk = (dir: string, d: number) => {
    if (d > depth) return;
    if (existsSync(join(dir, PROJECT_FILE))) out.push(dir);
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) if (e.isDirectory() && !SKIP.has(e.name) && !e.name.startsWith('.')) walk(join(dir, e.name), d + 1);
  };
  walk(folder, 0);
  return out;
}

export interface WorkspaceOptions {
  /** A database URL from the client's settings (overrides env and tally.yaml). */
  databaseUrl?: string;
  previewTimeoutMs: number;
  /**
   * The editor's as-of: the one instant T of every figure the server shows (lenses, hovers,
   * previews, the definitions list, plan, checks, compiled SQL) and of the lints; undefined is now.
   */
  asOf?: Date;
  log(message: string): void;
}

export class Workspace {
  readonly projects = new Map<string, ProjectState>();
  readonly open = new Map<string, string>(); // path -> buffer text

  constructor(readonly options: WorkspaceOptions) {}

  addRoot(root: string): ProjectState {
    const existing = this.projects.get(root);
    if (existing) return existing;
    const project = Project.load(root);
    const state: ProjectState = {
      root,
      project,
      service: undefined as unknown as LanguageService,
      nextConnectAttempt: 0,
      live: new Map(),
    };
    const service = new LanguageService(project, () => this.analysis(state), (kind, name) => this.liveText(state, kind, name));
    service.catalogProvider = () => state.catalog;
    service.asOfProvider = () => this.options.asOf;
    (state as { service: LanguageService }).service = service;
    this.projects.set(root, state);
    // Buffers opened before the root was known win over disk.
    for (const [path, text] of this.open) if (this.owner(path) === state) this.setText(path, text);
    return state;
  }

  analysis(state: ProjectState): Analysis {
    return state.project.analyze({ catalog: state.catalog, now: this.options.asOf });
  }

  /** The project a file belongs to: the nearest tally.yaml root above it. */
  owner(path: string): ProjectState | undefined {
    let best: ProjectState | undefined;
    for (const s of this.projects.values()) if ((path === s.root || path.startsWith(s.root + sep)) && (!best || s.root.length > best.root.length)) best = s;
    return best;
  }

  /** Discovers a root for a file opened outside the known roots. */
  ensureOwner(path: string): ProjectState | undefined {
    const o = this.owner(path);
    if (o) return o;
    let dir = dirname(path);
    for (let i = 0; i < 20; i++) {
      if (existsSync(join(dir, PROJECT_FILE))) return this.addRoot(dir);
      const up = dirname(dir);
      if (up === dir) break;
      dir = up;
    }
    return undefined;
  }

  rel(state: ProjectState, path: string): string {
    return relative(state.root, path).split(sep).join('/');
  }

  /** Applies a buffer or disk text; returns the project it changed. */
  setText(path: string, text: string): ProjectState | undefined {
    const state = this.ensureOwner(path);
    if (!state) return undefined;
    const rel = this.rel(state, path);
    if (rel === PROJECT_FILE) {
      state.project.setProjectFile(text);
      // New globs may select other files.
      for (const f of state.project.discover()) if (!state.project.file(f)) this.loadFromDisk(state, f);
      for (const f of state.project.filePaths) if (!state.project.isDefinitionFile(f)) state.project.deleteFile(f);
    } else if (state.project.isDefinitionFile(rel)) state.project.setFile(rel, text);
    else return undefined;
    return state;
  }

  private loadFromDisk(state: ProjectState, rel: string): void {
    const abs = join(state.root, rel);
    const text = this.open.get(abs) ?? (existsSync(abs) ? readFileSync(abs, 'utf8') : undefined);
    if (text !== undefined) state.project.setFile(rel, text);
  }

  /**
   * A file changed, appeared or disappeared on disk. An open buffer wins over a change on disk;
   * a deletion wins over a buffer (an editor may keep a closed tab's document alive for minutes;
   * typing in it again, or saving it, brings the file back).
   */
  diskChanged(path: string, deleted: boolean): ProjectState | undefined {
    if (this.open.has(path) && !deleted) return undefined;
    const state = this.ensureOwner(path);
    if (!state) return undefined;
    const rel = this.rel(state, path);
    // Gone from disk (also when its editor closes after the file was deleted: the delete event,
    // ignored while the buffer was open, is not sent again).
    if (deleted || !existsSync(path)) {
      if (rel === PROJECT_FILE) return undefined;
      if (!state.project.file(rel)) return undefined;
      state.project.deleteFile(rel);
      return state;
    }
    return this.setText(path, readFileSync(path, 'utf8'));
  }

  /** Connects (once, lazily, retrying every 30 s) and loads the catalog; never throws. */
  async connect(state: ProjectState): Promise<void> {
    if (state.db || state.connecting) return state.connecting;
    if (Date.now() < state.nextConnectAttempt) return;
    state.connecting = (async () => {
      const url = resolveDatabaseUrl({ setting: this.options.databaseUrl, warehouseUrl: state.project.config.warehouseUrl, projectRoot: state.root });
      // A named database that cannot be used: offline, saying why (never the embedded one instead).
      const unset = unsetVariablesMessage(url, ['set tally.databaseUrl']);
      if (unset) {
        state.offline = unset;
        state.nextConnectAttempt = Date.now() + 30_000;
        return;
      }
      if (url.source === 'embedded default' && url.embeddedMissing) {
        state.offline = `no database configured and the embedded one (${url.label}) is empty: set tally.databaseUrl, TALLY_DATABASE_URL or DATABASE_URL, or run \`tally demo\``;
        state.nextConnectAttempt = Date.now() + 30_000;
        return;
      }
      try {
        // PGlite runs in-process: give it a worker thread so previews never block diagnostics.
        const db = await connectInWorker(url.url, { baseDir: state.root, timezone: state.project.config.timezone, create: false });
        state.catalog = (await analyzeLive(db, state.project, { now: this.options.asOf, timeoutMs: 2000 })).catalog;
        state.db = db;
        state.dbLabel = `${url.label} (${url.source})`;
        state.offline = undefined;
        this.options.log(`connected to ${state.dbLabel}`);
      } catch (e) {
        state.offline = `cannot reach the database ${url.label} (from ${url.source}): ${(e as Error).message}`;
        state.nextConnectAttempt = Date.now() + 30_000;
      }
    })().finally(() => {
      state.connecting = undefined;
    });
    return state.connecting;
  }

  /** Forgets a connection that failed mid-use, so the next request reconnects later. */
  async dropConnection(state: ProjectState, reason: string): Promise<void> {
    const db = state.db;
    state.db = undefined;
    state.offline = reason;
    state.nextConnectAttempt = Date.now() + 5_000;
    await db?.close().catch(() => undefined);
  }

  liveText(state: ProjectState, kind: Kind, name: string): string | undefined {
    const info = this.analysis(state).get(kind, name);
    if (!info) return undefined;
    return state.live.get(`${kind}:${name}:${info.fingerprint}`)?.text;
  }

  async close(): Promise<void> {
    for (const s of this.projects.values()) await s.db?.close().catch(() => undefined);
  }
}
