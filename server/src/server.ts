// `tally lsp --stdio`: the language server's wiring. Every answer comes from the engine's Project
// and LanguageService; the features live one per file, each handed the one explicit ServerState
// (state.ts): documents.ts (sync), diagnostics.ts (scheduling and publishing), navigation.ts
// (completion, hover, definition, references, rename, symbols), previews.ts (lenses, live figures,
// tally/preview, tally/compiledSql, tally/definitions), operations.ts (tally/plan, tally/check) and
// settings.ts (the database, the as-of, tally/status). This file starts them and answers initialize.

import { DidChangeWatchedFilesNotification, ProposedFeatures, TextDocumentSyncKind, TextDocuments, createConnection, type Connection, type InitializeParams } from 'vscode-languageserver/node.js';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { Diagnostics } from './diagnostics.js';
import { registerDocuments } from './documents.js';
import { FrameRepair } from './framing.js';
import { registerNavigation } from './navigation.js';
import { registerOperations } from './operations.js';
import { Previews } from './previews.js';
import { Settings } from './settings.js';
import { ServerState } from './state.js';
import { findProjectRoots, uriToPath, Workspace } from './workspace.js';

export { lensText } from './previews.js';

export interface ServerOptions {
  readonly debounceMs?: number;
}

/** What a client may pass as `initializationOptions` (its settings may change them later). */
interface InitializationOptions {
  databaseUrl?: string;
  previewTimeoutMs?: number;
  debounceMs?: number;
  asOf?: unknown;
}

export function startServer(options: ServerOptions = {}): Connection {
  // A broken frame (a wrong Content-Length) is repaired or skipped and reported to the client's
  // log, instead of desynchronising the reader for good (framing.ts).
  const input = new FrameRepair({ report: (problem) => connection.console.warn(`Tally language server: broken message framing: ${problem}`) });
  process.stdin.pipe(input);
  process.stdin.on('error', () => input.end());
  const connection = createConnection(ProposedFeatures.all, input, process.stdout);
  const documents = new TextDocuments(TextDocument);
  const server = new ServerState(connection, options);
  const diagnostics = new Diagnostics(server);
  const previews = new Previews(server);
  const settings = new Settings(server, diagnostics, previews);

  connection.onInitialize((params: InitializeParams) => {
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    server.previewTimeoutMs = init.previewTimeoutMs ?? server.previewTimeoutMs;
    server.debounceMs = init.debounceMs ?? server.debounceMs;
    const workspace = (server.workspace = new Workspace({ databaseUrl: init.databaseUrl, previewTimeoutMs: server.previewTimeoutMs, log: (m) => server.log(m) }));
    settings.setAsOf(init.asOf, 'the initialization option asOf');
    const folders = params.workspaceFolders?.map((f) => uriToPath(f.uri)).filter((p): p is string => !!p) ?? [];
    const root = params.rootUri ? uriToPath(params.rootUri) : undefined;
    for (const f of folders.length ? folders : root ? [root] : []) for (const r of findProjectRoots(f)) workspace.addRoot(r);
    server.lensRefresh = Boolean(params.capabilities.workspace?.codeLens?.refreshSupport);
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
    for (const s of server.workspace.projects.values()) diagnostics.publish(s);
    setImmediate(() => void settings.connectAll());
  });

  registerDocuments(server, documents, { diagnostics, previews, settings });
  registerNavigation(server);
  previews.register();
  registerOperations(server);
  settings.register();

  connection.onShutdown(async () => {
    await server.workspace?.close();
  });

  documents.listen(connection);
  connection.listen();
  return connection;
}
