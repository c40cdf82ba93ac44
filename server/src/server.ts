// `tally lsp --stdio`: LSP wiring and engine -> LSP type conversion. Every answer comes from the
// engine's Project and LanguageService; this file only converts offsets, URIs and result types,
// schedules work (debounced diagnostics, cancellable previews) and keeps the preview cache.

import {
  CancellationToken,
  LSPErrorCodes,
  CodeLens,
  CompletionItemKind,
  DiagnosticSeverity,
  DidChangeWatchedFilesNotification,
  FileChangeType,
  InsertTextFormat,
  ProposedFeatures,
  ResponseError,
  SymbolKind,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  type Connection,
  type DocumentSymbol,
  type InitializeParams,
  type TextEdit,
} from 'vscode-languageserver/node.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  preview,
  paramOptions,
  PreviewError,
  DbError,
  formatKpiValue,
  PREVIEW_KINDS,
  CANONICAL_SQL,
  formatSql,
  type Diagnostic,
  type Kind,
  type KpiDef,
  type PreviewKind,
  type Span,
  type SymbolInfo,
  type CompletionItem as EngineCompletion,
  planProject,
  toDiagnostic,
  LineIndex,
  planMarkdown,
  planText,
  planJson,
  blockedPlanMarkdown,
  checkKpis,
  checkJson,
  checkMarkdown,
  checkText,
  kpiSentence,
  checkFails,
  parseFailOn,
} from '../../engine/src/index.js';
import { findProjectRoots, pathToUri, uriToPath, Workspace, type ProjectState } from './workspace.js';

const LENS_KINDS: Record<string, PreviewKind> = { Segment: 'segment', Lifecycle: 'lifecycle', Kpi: 'kpi', Trait: 'trait', Score: 'score', Campaign: 'campaign' };

export interface ServerOptions {
  readonly debounceMs?: number;
}

export function startServer(options: ServerOptions = {}): Connection {
  const connection = createConnection(ProposedFeatures.all, process.stdin, process.stdout);
  const documents = new TextDocuments(TextDocument);
  let workspace: Workspace;
  // None by default: analysis is incremental (an edit re-resolves only what it can reach, ~0.3 ms
  // at 1,000 files), so diagnostics go out right after the change is applied; `debounceMs` > 0
  // coalesces bursts of changes for clients that send many.
  let debounceMs = options.debounceMs ?? 0;
  let previewTimeoutMs = 5000;
  let toldOffline = false;
  let lensRefresh = false;
  const published = new Map<string, string>(); // uri -> JSON of what was last published
  const log = (m: string) => connection.console.log(m);

  connection.onInitialize((params: InitializeParams) => {
    const init = (params.initializationOptions ?? {}) as { databaseUrl?: string; previewTimeoutMs?: number; debounceMs?: number };
    previewTimeoutMs = init.previewTimeoutMs ?? previewTimeoutMs;
    debounceMs = init.debounceMs ?? debounceMs;
    workspace = new Workspace({ databaseUrl: init.databaseUrl, previewTimeoutMs, log });
    const folders = params.workspaceFolders?.map((f) => uriToPath(f.uri)).filter((p): p is string => !!p) ?? [];
    const root = params.rootUri ? uriToPath(params.rootUri) : undefined;
    for (const f of folders.length ? folders : root ? [root] : []) for (const r of findProjectRoots(f)) workspace.addRoot(r);
    lensRefresh = Boolean(params.capabilities.workspace?.codeLens?.refreshSupport);
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        completionProvider: { triggerCharacters: [':', ' ', '.', '[', ','], resolveProvider: false },
        hoverProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        renameProvider: { prepareProvider: true },
        documentSymbolProvider: true,
        workspaceSymbolProvider: true,
        codeLensProvider: { resolveProvider: false },
      },
      serverInfo: { name: 'tally', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    connection.client.register(DidChangeWatchedFilesNotification.type, { watchers: [{ globPattern: '**/*.{yaml,yml}' }] }).catch(() => undefined);
    // Diagnostics from the files alone first, before anything touches the database (whose worker
    // start and catalog queries may take seconds, or never answer); the catalog checks are a
    // second publish when the catalog is loaded (connectAll).
    for (const s of workspace.projects.values()) publishDiagnostics(s);
    setImmediate(() => void connectAll());
  });

  async function connectAll(): Promise<void> {
    for (const s of workspace.projects.values()) {
      await workspace.connect(s);
      if (s.offline && !toldOffline) {
        toldOffline = true;
        connection.window.showInformationMessage(`Tally: live previews are off: ${s.offline}. Diagnostics, completion and navigation work offline.`);
        log(`previews off: ${s.offline}`);
      }
      if (s.catalog) scheduleDiagnostics(s); // catalog checks now apply
    }
  }

  // ---- documents -------------------------------------------------------------------------------

  const timers = new Map<ProjectState, NodeJS.Timeout | NodeJS.Immediate>();
  function scheduleDiagnostics(state: ProjectState): void {
    const pending = timers.get(state);
    if (pending && debounceMs <= 0) return; // already due at the next turn of the event loop
    clearTimeout(pending as NodeJS.Timeout);
    const run = () => {
      timers.delete(state);
      publishDiagnostics(state);
    };
    // setImmediate: after the message being handled, without a timer's clamping and its delay on a busy machine.
    timers.set(state, debounceMs > 0 ? setTimeout(run, debounceMs) : setImmediate(run));
  }

  const uris = new Map<string, string>();
  function uriFor(state: ProjectState, rel: string): string {
    const k = `${state.root}\0${rel}`;
    let u = uris.get(k);
    if (!u) uris.set(k, (u = pathToUri(join(state.root, rel))));
    return u;
  }

  /** Per project: each file's diagnostics as last published (the engine's list, compared by identity). */
  const publishedLists = new Map<ProjectState, Map<string, readonly Diagnostic[]>>();
  /** Documents just opened: published once even without diagnostics, so the client knows they were checked. */
  const openedUris = new Set<string>();

  /**
   * Publishes the files whose diagnostics changed since the last publish: the analysis keeps an
   * unchanged file's list as the same array, so an edit costs the files it affected, not the
   * project. Uses the catalog when it is loaded, never waits for it.
   */
  function publishDiagnostics(state: ProjectState): void {
    const analysis = workspace.analysis(state);
    const byFile = analysis.diagnosticsByFile;
    let last = publishedLists.get(state);
    if (!last) publishedLists.set(state, (last = new Map()));
    const files = new Set([...byFile.keys(), ...last.keys()]);
    for (const uri of openedUris) {
      const path = uriToPath(uri);
      const owner = path ? workspace.owner(path) : undefined;
      if (!owner || !owner.project.file(workspace.rel(owner, path!))) openedUris.delete(uri); // not a definition file
      else if (owner === state) files.add(workspace.rel(state, path!));
    }
    for (const rel of files) {
      const engineList = byFile.get(rel);
      const uri = uriFor(state, rel);
      const forced = openedUris.delete(uri) && !published.has(uri);
      if (!forced && last.get(rel) === engineList) continue;
      if (engineList) last.set(rel, engineList);
      else last.delete(rel);
      const list = (engineList ?? []).map((d) => ({
        range: d.range,
        severity: d.severity === 'error' ? DiagnosticSeverity.Error : d.severity === 'warning' ? DiagnosticSeverity.Warning : d.severity === 'information' ? DiagnosticSeverity.Information : DiagnosticSeverity.Hint,
        code: d.code,
        source: 'tally',
        message: d.message,
        ...(d.fix ? { data: { fix: d.fix } } : {}),
      }));
      const json = JSON.stringify(list);
      if (published.get(uri) === json) continue;
      if (!list.length && !published.has(uri) && !forced) continue;
      published.set(uri, json);
      void connection.sendDiagnostics({ uri, diagnostics: list });
    }
  }

  documents.onDidOpen((e) => {
    openedUris.add(e.document.uri);
  });

  documents.onDidChangeContent((e) => {
    const path = uriToPath(e.document.uri);
    if (!path) return;
    workspace.open.set(path, e.document.getText());
    const state = workspace.setText(path, e.document.getText());
    if (state) {
      if (!state.db && !state.connecting && !state.offline) void connectAll();
      scheduleDiagnostics(state);
      refreshLenses(state);
    }
  });

  documents.onDidClose((e) => {
    const path = uriToPath(e.document.uri);
    if (!path) return;
    workspace.open.delete(path);
    const state = workspace.diskChanged(path, false);
    if (state) {
      scheduleDiagnostics(state);
      if (!existsSync(path)) void connection.sendNotification('tally/definitionsChanged', { roots: [state.root] });
    }
  });

  connection.onDidChangeWatchedFiles((p) => {
    const touched = new Set<ProjectState>();
    for (const c of p.changes) {
      const path = uriToPath(c.uri);
      if (!path) continue;
      if (c.type === FileChangeType.Created && path.endsWith('tally.yaml') && !workspace.owner(path)) {
        touched.add(workspace.addRoot(path.slice(0, -'/tally.yaml'.length)));
        continue;
      }
      const s = workspace.diskChanged(path, c.type === FileChangeType.Deleted);
      if (s) touched.add(s);
      if (c.type === FileChangeType.Deleted) {
        // A deleted file must not keep stale diagnostics.
        published.delete(c.uri);
        void connection.sendDiagnostics({ uri: c.uri, diagnostics: [] });
      }
    }
    for (const s of touched) scheduleDiagnostics(s);
    // Files appeared or disappeared: editors listing the definitions (a tree view) ask again.
    if (touched.size) void connection.sendNotification('tally/definitionsChanged', { roots: [...touched].map((s) => s.root) });
  });

  // ---- positions -------------------------------------------------------------------------------

  function at(uri: string): { state: ProjectState; rel: string } | undefined {
    const path = uriToPath(uri);
    if (!path) return undefined;
    const state = workspace.ensureOwner(path);
    if (!state) return undefined;
    const rel = workspace.rel(state, path);
    return state.project.file(rel) ? { state, rel } : undefined;
  }

  function offsetOf(state: ProjectState, rel: string, position: { line: number; character: number }): number {
    return state.project.file(rel)!.lines.offset(position);
  }

  function rangeOf(state: ProjectState, rel: string, span: Span) {
    const f = state.project.file(rel);
    if (!f) return { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };
    return f.lines.range(span);
  }

  const COMPLETION_KIND: Record<EngineCompletion['kind'], CompletionItemKind> = {
    key: CompletionItemKind.Property,
    value: CompletionItemKind.EnumMember,
    reference: CompletionItemKind.Reference,
    snippet: CompletionItemKind.Snippet,
    kind: CompletionItemKind.Class,
    property: CompletionItemKind.Field,
    event: CompletionItemKind.Event,
  };

  connection.onCompletion((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return [];
    const items = a.state.service.completionsAt(a.rel, offsetOf(a.state, a.rel, p.position));
    return items.map((i) => ({
      label: i.label,
      kind: COMPLETION_KIND[i.kind],
      detail: i.detail,
      documentation: i.documentation ? { kind: 'markdown' as const, value: i.documentation } : undefined,
      sortText: i.sortText,
      insertTextFormat: i.snippet ? InsertTextFormat.Snippet : InsertTextFormat.PlainText,
      ...(i.replace
        ? { textEdit: { range: rangeOf(a.state, a.rel, i.replace), newText: i.insertText ?? i.label } }
        : { insertText: i.insertText ?? i.label }),
    }));
  });

  connection.onHover((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return null;
    const h = a.state.service.hoverAt(a.rel, offsetOf(a.state, a.rel, p.position));
    return h ? { contents: { kind: 'markdown', value: h.markdown }, range: rangeOf(a.state, a.rel, h.span) } : null;
  });

  connection.onDefinition((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service.definitionAt(a.rel, offsetOf(a.state, a.rel, p.position)).map((l) => ({ uri: pathToUri(join(a.state.root, l.file)), range: rangeOf(a.state, l.file, l.span) }));
  });

  connection.onReferences((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service
      .referencesAt(a.rel, offsetOf(a.state, a.rel, p.position), p.context.includeDeclaration)
      .map((l) => ({ uri: pathToUri(join(a.state.root, l.file)), range: rangeOf(a.state, l.file, l.span) }));
  });

  connection.onPrepareRename((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return null;
    const r = a.state.service.prepareRename(a.rel, offsetOf(a.state, a.rel, p.position));
    if ('error' in r) throw new ResponseError(-32803, r.error);
    return { range: rangeOf(a.state, a.rel, r.span), placeholder: r.placeholder };
  });

  connection.onRenameRequest((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return null;
    const r = a.state.service.renameAt(a.rel, offsetOf(a.state, a.rel, p.position), p.newName);
    if (r.error || !r.edits) throw new ResponseError(-32803, r.error ?? 'cannot rename');
    const changes: Record<string, TextEdit[]> = {};
    for (const [file, edits] of r.edits) changes[pathToUri(join(a.state.root, file))] = edits.map((e) => ({ range: rangeOf(a.state, file, e.span), newText: e.text }));
    return { changes };
  });

  const SYMBOL_KIND: Record<string, SymbolKind> = {
    Entity: SymbolKind.Class,
    Events: SymbolKind.Event,
    Segment: SymbolKind.Array,
    Trait: SymbolKind.Property,
    Score: SymbolKind.Number,
    Lifecycle: SymbolKind.Enum,
    Kpi: SymbolKind.Constant,
    Campaign: SymbolKind.Function,
    Test: SymbolKind.Method,
    stage: SymbolKind.EnumMember,
    band: SymbolKind.EnumMember,
  };

  function toDocumentSymbol(state: ProjectState, s: SymbolInfo): DocumentSymbol {
    return {
      name: s.name,
      detail: s.detail,
      kind: SYMBOL_KIND[s.kind] ?? SymbolKind.Object,
      range: rangeOf(state, s.file, s.span),
      selectionRange: rangeOf(state, s.file, s.selectionSpan),
      children: s.children?.map((c) => toDocumentSymbol(state, c)),
    };
  }

  connection.onDocumentSymbol((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return [];
    return a.state.service.documentSymbols(a.rel).map((s) => toDocumentSymbol(a.state, s));
  });

  connection.onWorkspaceSymbol((p) => {
    const out = [];
    for (const s of workspace.projects.values())
      for (const sym of s.service.workspaceSymbols(p.query))
        out.push({ name: sym.name, kind: SYMBOL_KIND[sym.kind] ?? SymbolKind.Object, containerName: sym.kind, location: { uri: pathToUri(join(s.root, sym.file)), range: rangeOf(s, sym.file, sym.selectionSpan) } });
    return out;
  });

  // ---- live previews ---------------------------------------------------------------------------

  const inflight = new Map<string, { fingerprint: string; promise: Promise<unknown> }>();
  /** Projects whose connection a preview's timeout ended (the next request reconnects). */
  const endedByTimeout = new Map<ProjectState, string>();

  /** Runs (or reuses) a preview; a newer fingerprint for the same definition supersedes an older one. */
  async function livePreview(state: ProjectState, kind: PreviewKind, name: string, asOf?: Date, detail = false): Promise<unknown> {
    await workspace.connect(state);
    // Another preview's timeout ended the connection while this one waited: the same answer.
    const ended = endedByTimeout.get(state);
    if (!state.db && !state.offline && ended) throw new ResponseError(4, ended);
    endedByTimeout.delete(state);
    if (!state.db) throw new ResponseError(1, `previews are off: ${state.offline ?? 'no database'}`, { offline: true, reason: state.offline });
    const analysis = workspace.analysis(state);
    const info = analysis.get(PREVIEW_DEF_KIND[kind], name);
    if (!info) throw new ResponseError(2, `no ${kind} named '${name}'`);
    if (info.hasErrors) throw new ResponseError(3, `${kind} '${name}' has errors; fix them to see live figures`);
    const key = `${info.def.kind}:${name}`;
    const cacheKey = `${key}:${info.fingerprint}`;
    const cached = state.live.get(cacheKey);
    // Previews at another instant or with the editor's extras (series, breakdown) bypass the cache;
    // a detailed preview as of now still refreshes the lens figure.
    const uncached = Boolean(asOf) || detail;
    if (!uncached && cached && Date.now() - cached.at < 60_000) return cached.data;
    const running = inflight.get(key);
    if (!uncached && running && running.fingerprint === info.fingerprint) return running.promise;
    const entry: { fingerprint: string; promise: Promise<unknown> } = { fingerprint: info.fingerprint, promise: Promise.resolve() };
    const db = state.db;
    entry.promise = (async () => {
      try {
        const result = await preview(db, analysis, kind, name, { asOf: asOf ?? new Date(), timeoutMs: previewTimeoutMs, sampleSize: 10, detail });
        if (!asOf) {
          // Drop superseded versions of this definition from the cache.
          for (const k of state.live.keys()) if (k.startsWith(`${key}:`) && k !== cacheKey) state.live.delete(k);
          state.live.set(cacheKey, { text: lensText(info.def.kind, result, info.def as KpiDef), at: Date.now(), data: result });
          void connection.sendNotification('tally/liveChanged', { root: state.root, kind: info.def.kind, name });
        }
        return result;
      } catch (e) {
        // Only the connection this preview used (a newer one may be up already).
        if (e instanceof DbError && e.code === 'db-unreachable' && state.db === db) await workspace.dropConnection(state, e.message);
        // A query past its timeout ends the database worker (engine db-thread.ts; the previews
        // queued on it report the timeout too): reconnect at once (no offline back-off), so the
        // figure comes back as soon as the limit is raised.
        if (e instanceof DbError && e.code === 'db-timeout' && state.db === db) {
          state.db = undefined;
          state.nextConnectAttempt = 0;
          endedByTimeout.set(state, e.message);
          await db.close().catch(() => undefined);
          void workspace.connect(state).catch(() => undefined); // back before the next question
        }
        if (e instanceof PreviewError) throw new ResponseError(2, e.message);
        if (e instanceof DbError) throw new ResponseError(e.code === 'db-timeout' ? 4 : 5, e.message);
        throw e;
      } finally {
        if (inflight.get(key) === entry) inflight.delete(key);
      }
    })();
    if (!uncached) inflight.set(key, entry);
    return entry.promise;
  }

  connection.onRequest('tally/preview', async (p: { uri: string; kind: string; name: string; asOf?: string; detail?: boolean }, token: CancellationToken) => {
    const a = at(p.uri) ?? firstProject();
    if (!a) throw new ResponseError(2, 'no Tally project (tally.yaml) for this file');
    if (!(PREVIEW_KINDS as readonly string[]).includes(p.kind)) throw new ResponseError(2, `cannot preview '${p.kind}'`);
    const kind = PREVIEW_DEF_KIND[p.kind as PreviewKind];
    const fingerprint = workspace.analysis(a.state).get(kind, p.name)?.fingerprint;
    const work = livePreview(a.state, p.kind as PreviewKind, p.name, p.asOf ? new Date(p.asOf) : undefined, p.detail === true);
    // Answer at once when the client cancels, or when an edit changes the definition meanwhile:
    // stale figures are never returned (the query itself finishes in the background, read-only).
    return new Promise((resolve, reject) => {
      let settled = false;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearInterval(poll);
        sub.dispose();
        f();
      };
      const sub = token.onCancellationRequested(() => finish(() => reject(new ResponseError(LSPErrorCodes.RequestCancelled, 'preview cancelled'))));
      const poll = setInterval(() => {
        const now = workspace.analysis(a.state).get(kind, p.name)?.fingerprint;
        if (now !== fingerprint) finish(() => reject(new ResponseError(LSPErrorCodes.ContentModified, `${p.kind} '${p.name}' changed while its preview ran; ask again`)));
      }, 50);
      work.then(
        (v) => finish(() => resolve(v)),
        (e: unknown) => finish(() => reject(e)),
      );
    });
  });

  connection.onRequest('tally/compiledSql', (p: { uri: string; kind: string; name: string; asOf?: string }) => {
    const a = at(p.uri) ?? firstProject();
    if (!a) throw new ResponseError(2, 'no Tally project (tally.yaml) for this file');
    const kind = (Object.keys(LENS_KINDS).find((k) => k.toLowerCase() === p.kind.toLowerCase()) ?? p.kind) as Kind;
    const analysis = workspace.analysis(a.state);
    const info = analysis.get(kind, p.name);
    if (!info) throw new ResponseError(2, `no ${p.kind} named '${p.name}'`);
    const q = analysis.sqlFor(kind, p.name, p.asOf ? { asOf: { kind: 'instant', at: new Date(p.asOf) }, literals: 'inline' } : { ...CANONICAL_SQL, strategy: 'auto' });
    // `formatted`: the same SQL with line breaks and indentation, for people (only whitespace differs).
    return { sql: q?.sql ?? null, formatted: q?.sql ? formatSql(q.sql) : null, strategy: q?.strategy ?? null, broken: info.hasErrors, fingerprint: info.fingerprint };
  });

  // ---- plan and check (the same engine calls and renderings as `tally plan` / `tally check`) -----

  /** The project for a request, connected; a ResponseError saying what to do when it cannot be. */
  async function connectedProject(uri: string | undefined): Promise<ProjectState> {
    const a = (uri ? at(uri) : undefined) ?? firstProject();
    if (!a) throw new ResponseError(2, 'no Tally project (tally.yaml) in this workspace');
    await workspace.connect(a.state);
    if (!a.state.db) throw new ResponseError(1, `no database: ${a.state.offline ?? 'not connected'}`, { offline: true, reason: a.state.offline });
    return a.state;
  }

  function dbFailure(e: unknown): never {
    if (e instanceof DbError) throw new ResponseError(e.code === 'db-timeout' ? 4 : 5, e.message);
    throw e;
  }

  connection.onRequest('tally/plan', async (p: { uri?: string; asOf?: string; allowDrop?: boolean } | undefined) => {
    const state = await connectedProject(p?.uri);
    const analysis = workspace.analysis(state);
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) {
      const markdown = blockedPlanMarkdown(errors);
      return { root: state.root, refused: true, blocked: true, markdown, text: markdown, json: { refused: true, changes: [], diagnostics: errors } };
    }
    try {
      const plan = await planProject(state.db!, analysis, {
        schema: state.project.config.deploySchema,
        asOf: p?.asOf ? new Date(p.asOf) : new Date(),
        allowDrop: p?.allowDrop === true,
        catalog: state.catalog,
        timeoutMs: Math.max(previewTimeoutMs, 30_000),
      });
      const diagnostics = plan.diagnostics.map((d) => toDiagnostic(d, state.project.file(d.file)?.lines ?? new LineIndex('')));
      return { root: state.root, refused: plan.refused, blocked: false, markdown: planMarkdown(plan, analysis), text: planText(plan, analysis), json: planJson(plan, diagnostics) };
    } catch (e) {
      dbFailure(e);
    }
  });

  connection.onRequest('tally/check', async (p: { uri?: string; asOf?: string; failOn?: string } | undefined) => {
    const state = await connectedProject(p?.uri);
    const analysis = workspace.analysis(state);
    const failOn = parseFailOn(p?.failOn);
    if ('error' in failOn) throw new ResponseError(2, failOn.error);
    try {
      const result = await checkKpis(state.db!, analysis, { asOf: p?.asOf ? new Date(p.asOf) : new Date(), timeoutMs: Math.max(previewTimeoutMs, 30_000) });
      const ctx = { analysis, root: state.root, cwd: state.root, failOn: failOn.statuses };
      const json = checkJson(result, ctx) as { kpis: { name: string; file: string }[] };
      // Where each KPI is written, as an LSP location (its `name:` value), and the sentence CI
      // annotations say about it, for the Problems panel.
      const kpis = json.kpis.map((k, i) => {
        const def = analysis.get('Kpi', k.name)?.def;
        return { ...k, uri: uriFor(state, k.file), range: def ? rangeOf(state, def.file, def.nameSpan) : null, message: kpiSentence(result.kpis[i]!, ctx) };
      });
      return { ...json, kpis, root: state.root, passed: !checkFails(result, failOn.statuses), markdown: checkMarkdown(result, ctx), text: checkText(result, ctx) };
    } catch (e) {
      dbFailure(e);
    }
  });

  connection.onRequest('tally/status', () => {
    return [...workspace.projects.values()].map((s) => ({ root: s.root, connected: Boolean(s.db), database: s.dbLabel ?? null, offline: s.offline ?? null }));
  });

  // Every definition of the workspace with its cached live figure, for an editor's tree view;
  // `compute: true` also starts the missing previews (each answer sends `tally/liveChanged`).
  connection.onRequest('tally/definitions', (p: { compute?: boolean } | undefined) => {
    const projects = [];
    const definitions = [];
    for (const s of workspace.projects.values()) {
      const analysis = workspace.analysis(s);
      projects.push({ root: s.root, uri: pathToUri(s.root), files: [...s.project.filePaths].map((f) => uriFor(s, f)), connected: Boolean(s.db), database: s.dbLabel ?? null, offline: s.offline ?? null });
      for (const info of analysis.infos) {
        const def = info.def;
        const live = s.live.get(`${def.kind}:${def.name}:${info.fingerprint}`);
        const data = live?.data as { count?: unknown; status?: unknown } | undefined;
        definitions.push({
          root: s.root,
          kind: def.kind,
          name: def.name,
          uri: uriFor(s, def.file),
          range: rangeOf(s, def.file, def.nameSpan),
          hasErrors: info.hasErrors,
          live: live?.text ?? null,
          count: typeof data?.count === 'number' ? data.count : null,
          status: typeof data?.status === 'string' ? data.status : null,
        });
        const pk = LENS_KINDS[def.kind];
        if (p?.compute && pk && !live && !info.hasErrors && (s.db || !s.offline)) void livePreview(s, pk, def.name).catch(() => undefined);
      }
    }
    return { projects, definitions };
  });

  function firstProject(): { state: ProjectState; rel: string } | undefined {
    const s = workspace.projects.values().next().value as ProjectState | undefined;
    return s ? { state: s, rel: '' } : undefined;
  }

  connection.onCodeLens((p) => {
    const a = at(p.textDocument.uri);
    if (!a) return [];
    const lenses: CodeLens[] = [];
    const analysis = workspace.analysis(a.state);
    for (const def of a.state.project.file(a.rel)?.definitions ?? []) {
      const pk = LENS_KINDS[def.kind];
      if (!pk) continue;
      const info = analysis.get(def.kind, def.name);
      if (!info || info.def !== def) continue;
      const range = rangeOf(a.state, a.rel, def.nameSpan);
      const cmd = { command: 'tally.showPreview', arguments: [{ uri: p.textDocument.uri, kind: pk, name: def.name }] };
      if (info.hasErrors) {
        lenses.push({ range, command: { title: 'fix the errors to see live figures', ...cmd } });
        continue;
      }
      const live = a.state.live.get(`${def.kind}:${def.name}:${info.fingerprint}`);
      if (live) lenses.push({ range, command: { title: live.text, ...cmd } });
      else if (a.state.db || !a.state.offline) {
        lenses.push({ range, command: { title: 'computing…', ...cmd } });
        void livePreview(a.state, pk, def.name).then(
          () => refreshLenses(a.state),
          () => undefined,
        );
      }
    }
    return lenses;
  });

  let lensTimer: NodeJS.Timeout | undefined;
  function refreshLenses(_state: ProjectState): void {
    if (!lensRefresh) return;
    clearTimeout(lensTimer);
    lensTimer = setTimeout(() => void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined), 200);
  }

  // Client settings (`tally.databaseUrl`, `tally.previewTimeoutMs`) override the initialization
  // options; a new database URL drops every connection, the live-figure cache and reconnects.
  connection.onDidChangeConfiguration(async (p) => {
    const settings = ((p.settings as { tally?: { databaseUrl?: string; previewTimeoutMs?: number } } | undefined)?.tally ?? {}) as {
      databaseUrl?: string;
      previewTimeoutMs?: number;
    };
    if (typeof settings.previewTimeoutMs === 'number' && settings.previewTimeoutMs > 0) previewTimeoutMs = settings.previewTimeoutMs;
    const url = typeof settings.databaseUrl === 'string' && settings.databaseUrl ? settings.databaseUrl : undefined;
    if (url === workspace.options.databaseUrl) return;
    workspace.options.databaseUrl = url;
    toldOffline = false;
    for (const s of workspace.projects.values()) {
      await workspace.dropConnection(s, 'the database setting changed');
      s.offline = undefined;
      s.nextConnectAttempt = 0;
      s.catalog = undefined;
      s.live.clear();
    }
    await connectAll();
    for (const s of workspace.projects.values()) {
      scheduleDiagnostics(s);
      refreshLenses(s);
    }
  });

  connection.onShutdown(async () => {
    await workspace?.close();
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}

const PREVIEW_DEF_KIND: Record<PreviewKind, Kind> = { segment: 'Segment', trait: 'Trait', score: 'Score', lifecycle: 'Lifecycle', kpi: 'Kpi', campaign: 'Campaign' };

/** The code lens line: `4,812 customers`, `D30 retention 31.2% -> 35% by 2027-03-31 · at risk`. */
export function lensText(kind: Kind, result: unknown, def?: KpiDef): string {
  const r = result as Record<string, unknown>;
  switch (kind) {
    case 'Segment':
      return `${Number(r.count).toLocaleString('en-US')} ${String(r.entity ?? 'entities')}${r.count === 1 ? '' : 's'}`;
    case 'Lifecycle': {
      const stages = r.stages as Record<string, number>;
      return Object.entries(stages)
        .map(([s, n]) => `${s} ${n.toLocaleString('en-US')}`)
        .join(' · ');
    }
    case 'Kpi': {
      const t = r.target as { op: string; value: number | [number, number]; by?: string } | undefined;
      const v = r.value as number | null;
      const show = (x: number | null) => (def ? formatKpiValue(def, x) : String(x));
      const target = t ? ` -> ${Array.isArray(t.value) ? t.value.map((x) => show(x)).join('..') : show(t.value)}${t.by ? ` by ${t.by}` : ''}` : '';
      return `${show(v)}${target} · ${String(r.status).replace('_', ' ')}`;
    }
    case 'Campaign':
      return `would enroll ${Number(r.audience).toLocaleString('en-US')} of ${Number(r.segment).toLocaleString('en-US')}`;
    default:
      return `${Number(r.count).toLocaleString('en-US')} of ${Number(r.entities).toLocaleString('en-US')} have a value`;
  }
}

