// The Tally extension: hosts the bundled language server (dist/server.mjs, the same server as
// `tally lsp --stdio`) and renders what it answers. No language logic lives here: diagnostics,
// completion, hovers, lenses, SQL, previews, plans and checks all come from the server.

import * as vscode from 'vscode';
import { LanguageClient, TransportKind, type LanguageClientOptions, type ServerOptions } from 'vscode-languageclient/node';
import { ConnectionManager } from './connection';
import { DefinitionsTree } from './definitions-tree';
import { PreviewPanel } from './preview-panel';
import { SqlDocuments } from './sql-documents';
import { PlanAndChecks } from './plan-check';
import { ReviewPanel } from './review-panel';
import { newDefinition, newDefinitionArgs } from './new-definition';
import { previewKindOf, type DefinitionEntry, type DefinitionRef, type DefinitionsResult } from './protocol';
import { LANGUAGE_ID, type Tally } from './tally';

export { LANGUAGE_ID, type Tally };

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<Tally> {
  const output = vscode.window.createOutputChannel('Tally');
  context.subscriptions.push(output);
  const connection = new ConnectionManager(context, output, () => restart());

  const tally: Tally = {
    context,
    output,
    client: () => {
      if (!client) throw new Error('the Tally language server is not running');
      return client;
    },
    definitions: async (compute = false) => {
      await client?.start().catch(() => undefined);
      return (await tally.client().sendRequest('tally/definitions', { compute })) as DefinitionsResult;
    },
    resolveRef: (arg, kinds) => resolveRef(tally, arg, kinds),
  };

  const fileWatcher = vscode.workspace.createFileSystemWatcher('**/*.{yaml,yml}');
  context.subscriptions.push(fileWatcher);

  async function startClient(): Promise<void> {
    const configured = vscode.workspace.getConfiguration('tally').get<string>('server.path');
    const serverModule = configured || context.asAbsolutePath('dist/server.mjs');
    // The database URL (with its password from the secret storage) goes in the environment only.
    const options = { env: { ...process.env, ...(await connection.serverEnv()) } };
    const serverOptions: ServerOptions = {
      run: { module: serverModule, transport: TransportKind.stdio, options },
      debug: { module: serverModule, transport: TransportKind.stdio, options },
    };
    const clientOptions: LanguageClientOptions = {
      // Tally's own language id for definition files (see adoptDefinitionFiles), plus plain YAML
      // files so the server can tell whether a new file matches the project's definition globs;
      // the server answers only for definition files of a project with a tally.yaml.
      documentSelector: [
        { scheme: 'file', language: LANGUAGE_ID },
        { scheme: 'file', language: 'yaml' },
      ],
      // The as-of is held by the server (one instant for every figure it answers); the setting
      // reaches it here and, when it changes, through workspace/didChangeConfiguration.
      initializationOptions: { previewTimeoutMs: connection.timeoutMs(), asOf: connection.asOf() },
      outputChannel: output,
      diagnosticCollectionName: 'tally',
      // Files created, changed or deleted outside an editor (git checkout, a deleted file): the
      // server re-reads them, so the view, lenses and diagnostics never list what is gone.
      synchronize: { fileEvents: fileWatcher },
    };
    client = new LanguageClient('tally', 'Tally', serverOptions, clientOptions);
    await client.start();
    client.onNotification('tally/liveChanged', () => tree.refreshSoon());
    client.onNotification('tally/definitionsChanged', () => tree.refreshSoon());
    // Every figure shown was at the old instant: the view, the panel, SQL documents, the status bar
    // (the server has dropped its figures and asks for the code lenses again).
    client.onNotification('tally/asOfChanged', () => {
      tree.refreshSoon();
      preview.refreshSoon();
      sql.refreshAll();
      void connection.refresh();
    });
    await connection.attach(client);
  }

  const tree = new DefinitionsTree(tally);
  // A definition file created or deleted on disk: list what the server now has (it hears of the
  // change through the same watcher; the tree asks again a moment later).
  fileWatcher.onDidCreate(() => tree.refreshSoon(), undefined, context.subscriptions);
  fileWatcher.onDidDelete(() => tree.refreshSoon(), undefined, context.subscriptions);
  const preview = new PreviewPanel(tally, connection);
  const sql = new SqlDocuments(tally);
  const planChecks = new PlanAndChecks(tally);
  const review = new ReviewPanel(tally);
  context.subscriptions.push(
    vscode.window.createTreeView('tally.definitions', { treeDataProvider: tree, showCollapseAll: true }),
    vscode.commands.registerCommand('tally.showPreview', (arg?: unknown) => preview.show(arg)),
    vscode.commands.registerCommand('tally.showSql', (arg?: unknown) => sql.show(arg)),
    vscode.commands.registerCommand('tally.plan', (arg?: unknown) => planChecks.plan(arg)),
    vscode.commands.registerCommand('tally.runChecks', (arg?: unknown) => planChecks.runChecks(arg)),
    vscode.commands.registerCommand('tally.newDefinition', (args?: unknown) => newDefinition(tally, newDefinitionArgs(args))),
    vscode.commands.registerCommand('tally.pickConnection', () => connection.pick()),
    vscode.commands.registerCommand('tally.testConnection', () => connection.test()),
    vscode.commands.registerCommand('tally.refreshDefinitions', () => tree.refresh()),
    vscode.commands.registerCommand('tally.openDefinition', (d: DefinitionEntry) => openDefinition(d)),
    vscode.commands.registerCommand('tally.restartServer', () => restart()),
    vscode.commands.registerCommand('tally.openReview', (arg?: unknown) => review.open(arg)),
    review,
    sql,
    planChecks,
    preview,
    connection,
    { dispose: () => void client?.stop() },
  );

  async function restart(): Promise<void> {
    await client?.stop().catch(() => undefined);
    client = undefined;
    await startClient();
    tree.refresh();
  }

  await startClient();
  context.subscriptions.push(...adoptDefinitionFiles(tally));
  tree.refresh();
  return tally;
}

export async function deactivate(): Promise<void> {
  await client?.stop().catch(() => undefined);
  client = undefined;
}

/**
 * Definition files get the language id `tally-yaml` (highlighted by VS Code's YAML grammar): Tally
 * alone validates and completes them, so the Red Hat YAML extension (which handles `yaml`) never
 * reports the same syntax error twice or competes for completion there. Which files are
 * definitions is the server's answer (the `definitions` globs of tally.yaml), not a guess here.
 */
function adoptDefinitionFiles(tally: Tally): vscode.Disposable[] {
  let files: Set<string> | undefined;
  let pending: Promise<Set<string>> | undefined;
  const load = (fresh: boolean): Promise<Set<string>> => {
    if (files && !fresh) return Promise.resolve(files);
    pending ??= tally
      .definitions()
      .then((r) => {
        const set = new Set<string>();
        for (const p of r.projects) {
          for (const f of p.files) set.add(vscode.Uri.parse(f).fsPath);
          set.add(vscode.Uri.joinPath(vscode.Uri.parse(p.uri), 'tally.yaml').fsPath);
        }
        return (files = set);
      })
      .catch(() => files ?? new Set<string>())
      .finally(() => (pending = undefined));
    return pending;
  };
  const adopt = async (doc: vscode.TextDocument) => {
    if (doc.languageId !== 'yaml' || doc.uri.scheme !== 'file') return;
    let set = await load(false);
    if (!set.has(doc.uri.fsPath)) set = await load(true); // a new file may match the globs
    if (set.has(doc.uri.fsPath) && doc.languageId === 'yaml' && !doc.isClosed) await vscode.languages.setTextDocumentLanguage(doc, LANGUAGE_ID);
  };
  for (const d of vscode.workspace.textDocuments) void adopt(d);
  return [vscode.workspace.onDidOpenTextDocument((d) => void adopt(d)), vscode.workspace.onDidCreateFiles(() => void load(true))];
}

async function openDefinition(d: DefinitionEntry): Promise<void> {
  const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(d.uri));
  const r = new vscode.Range(d.range.start.line, d.range.start.character, d.range.end.line, d.range.end.character);
  await vscode.window.showTextDocument(doc, { selection: r, preview: false });
}

/**
 * What a command is about: an explicit `{uri, kind, name}` (code lenses), a tree item, the
 * definition under the cursor (document symbols from the server), else a quick pick.
 */
async function resolveRef(tally: Tally, arg: unknown, kinds: readonly string[]): Promise<DefinitionRef | undefined> {
  const a = arg as Partial<DefinitionRef & DefinitionEntry & { entry: DefinitionEntry }> | undefined;
  if (a?.entry) return { uri: a.entry.uri, kind: previewKindOf(a.entry.kind) ?? a.entry.kind.toLowerCase(), name: a.entry.name };
  if (a && typeof a.uri === 'string' && typeof a.name === 'string' && typeof a.kind === 'string') {
    const kind = previewKindOf(a.kind) ?? a.kind;
    return { uri: a.uri, kind, name: a.name };
  }
  const all = await tally.definitions().catch(() => undefined);
  if (!all) return undefined;
  const usable = all.definitions.filter((d) => kinds.includes(previewKindOf(d.kind) ?? ''));
  const editor = vscode.window.activeTextEditor;
  const uri = arg instanceof vscode.Uri ? arg : editor?.document.uri;
  if (uri && editor && editor.document.uri.toString() === uri.toString()) {
    const symbols = (await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri).then(undefined, () => [])) ?? [];
    // The definition under the cursor, else the next one (the cursor is on a comment above it).
    const cursor = editor.selection.active;
    const at = symbols.find((s) => s.range?.contains(cursor)) ?? symbols.find((s) => s.range?.start.isAfter(cursor));
    const hit = at && usable.find((d) => d.name === at.name && vscode.Uri.parse(d.uri).fsPath === uri.fsPath);
    if (hit) return { uri: hit.uri, kind: previewKindOf(hit.kind)!, name: hit.name };
  }
  if (!usable.length) {
    void vscode.window.showInformationMessage('Tally: no definition to show here. Open a segment, KPI, lifecycle, trait or score definition.');
    return undefined;
  }
  const here = uri ? usable.filter((d) => vscode.Uri.parse(d.uri).fsPath === uri.fsPath) : [];
  const pick = await vscode.window.showQuickPick(
    [...here, ...usable.filter((d) => !here.includes(d))].map((d) => ({ label: d.name, description: d.kind, detail: d.live ?? undefined, d })),
    { placeHolder: 'Which definition?', matchOnDescription: true },
  );
  return pick ? { uri: pick.d.uri, kind: previewKindOf(pick.d.kind)!, name: pick.d.name } : undefined;
}
