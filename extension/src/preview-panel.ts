// The preview panel: one webview that shows the live figures of one definition (the server's
// `tally/preview` with `detail: true`), refreshed as you type (debounced), with progress while a
// query runs and an error state that says what to do.

import * as vscode from 'vscode';
import { ResponseError, LSPErrorCodes } from 'vscode-languageclient/node';
import type { Tally } from './tally';
import type { ConnectionManager } from './connection';
import { PREVIEW_KINDS, TallyErrorCodes, type DefinitionRef, type FromWebview, type Preview, type ToWebview } from './protocol';

export class PreviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private ref: DefinitionRef | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: vscode.CancellationTokenSource | undefined;
  private seq = 0;
  private retries = 0;
  private readonly subs: vscode.Disposable[] = [];

  constructor(
    private readonly tally: Tally,
    private readonly connection: ConnectionManager,
  ) {
    this.subs.push(
      vscode.workspace.onDidChangeTextDocument((e) => {
        // Any definition file: the previewed definition may depend on what changed.
        if (this.panel && e.document.languageId === 'tally-yaml' && e.contentChanges.length) this.refreshSoon();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        // A new timeout too: the connection manager sends it to the server first (same event,
        // registered earlier), so the refresh after the debounce runs with the new limit. A new
        // as-of refreshes when the server says it holds it (tally/asOfChanged).
        if (this.panel && (e.affectsConfiguration('tally.databaseUrl') || e.affectsConfiguration('tally.previewTimeoutMs'))) this.refreshSoon();
      }),
    );
  }

  async show(arg?: unknown): Promise<void> {
    const ref = await this.tally.resolveRef(arg, PREVIEW_KINDS);
    if (!ref) return;
    this.ref = ref;
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('tally.preview', 'Tally Preview', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, {
        enableScripts: true,
        retainContextWhenHidden: true,
        localResourceRoots: [vscode.Uri.joinPath(this.tally.context.extensionUri, 'dist')],
      });
      this.panel.iconPath = vscode.Uri.joinPath(this.tally.context.extensionUri, 'media', 'tally.svg');
      this.panel.webview.html = this.html(this.panel.webview);
      this.panel.webview.onDidReceiveMessage((m: FromWebview) => this.onMessage(m), undefined, this.subs);
      this.panel.onDidDispose(() => {
        this.panel = undefined;
        this.running?.cancel();
      });
    } else {
      this.panel.reveal(undefined, true);
    }
    this.panel.title = `Preview: ${ref.name}`;
    void this.refresh();
  }

  private onMessage(m: FromWebview): void {
    if (m.type === 'ready' || m.type === 'refresh') void this.refresh();
    if (m.type === 'command' && /^(tally\.|workbench\.action\.openSettings|workbench\.actions\.view\.problems)/.test(m.command)) {
      if (m.command === 'tally.refresh') void this.refresh();
      // The only error that offers the settings is the timeout: open them at its setting.
      else if (m.command === 'workbench.action.openSettings') void vscode.commands.executeCommand(m.command, 'tally.previewTimeoutMs');
      else if (m.command === 'tally.showSql') void vscode.commands.executeCommand(m.command, this.ref);
      else void vscode.commands.executeCommand(m.command);
    }
  }

  refreshSoon(): void {
    clearTimeout(this.timer);
    const delay = vscode.workspace.getConfiguration('tally').get<number>('preview.refreshDelayMs') ?? 400;
    this.timer = setTimeout(() => void this.refresh(), delay);
  }

  private post(m: ToWebview): void {
    void this.panel?.webview.postMessage(m);
  }

  async refresh(): Promise<void> {
    const ref = this.ref;
    if (!ref || !this.panel) return;
    this.running?.cancel();
    const cts = (this.running = new vscode.CancellationTokenSource());
    const seq = ++this.seq;
    this.post({ type: 'loading', ref, label: `Computing ${ref.kind} ${ref.name}…` });
    const started = Date.now();
    try {
      // No asOf: the server's (the setting tally.asOf), the instant of the lenses and the view too.
      const preview = (await this.tally.client().sendRequest('tally/preview', { uri: ref.uri, kind: ref.kind, name: ref.name, detail: true }, cts.token)) as Preview;
      if (seq !== this.seq) return;
      this.retries = 0;
      const status = this.connection.lastStatus[0];
      this.post({ type: 'data', ref, preview, database: status?.database ?? null, elapsedMs: Date.now() - started });
    } catch (e) {
      if (seq !== this.seq) return;
      if (e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled) return;
      if (e instanceof ResponseError && e.code === LSPErrorCodes.ContentModified && this.retries++ < 5) return this.refreshSoon();
      this.post({ type: 'error', ref, ...explain(e, this.connection.timeoutMs()) });
    }
  }

  private html(webview: vscode.Webview): string {
    const nonce = Array.from({ length: 24 }, () => Math.floor(Math.random() * 36).toString(36)).join('');
    const script = webview.asWebviewUri(vscode.Uri.joinPath(this.tally.context.extensionUri, 'dist', 'webview.js'));
    return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${webview.cspSource} 'unsafe-inline'; img-src ${webview.cspSource} data:; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Tally Preview</title>
<style>${STYLE}</style>
</head>
<body>
<div id="progress" class="progress" role="progressbar" aria-label="Query running" hidden><div></div></div>
<header><h1 id="title">Tally Preview</h1><div class="toolbar"><button id="refresh" type="button" title="Run the preview again">Refresh</button><button id="sql" type="button" title="Open the compiled SQL">Show SQL</button></div></header>
<p id="status" class="status" role="status" aria-live="polite"></p>
<main id="content" tabindex="-1"></main>
<script nonce="${nonce}" src="${script}"></script>
</body>
</html>`;
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.panel?.dispose();
    for (const s of this.subs) s.dispose();
  }
}

/** An error the user can act on: what happened and what to do. */
function explain(e: unknown, timeoutMs: number): { title: string; message: string; actions: { command: string; label: string }[] } {
  const message = e instanceof Error ? e.message : String(e);
  if (e instanceof ResponseError) {
    const data = e.data as { offline?: boolean } | undefined;
    if (e.code === TallyErrorCodes.Offline || data?.offline)
      return {
        title: 'No database connection',
        message: `${message}. Pick a connection (a PostgreSQL server or the embedded database), or run npm run demo (tally demo) to create the example's embedded database.`,
        actions: [
          { command: 'tally.pickConnection', label: 'Pick Connection…' },
          { command: 'tally.testConnection', label: 'Test Connection' },
        ],
      };
    if (e.code === TallyErrorCodes.Timeout)
      return {
        title: 'The query timed out',
        message: `${message}. Each preview query may run ${timeoutMs} ms (setting tally.previewTimeoutMs). Narrow the definition, or raise the limit.`,
        actions: [
          { command: 'workbench.action.openSettings', label: 'Open Settings' },
          { command: 'tally.refresh', label: 'Try Again' },
        ],
      };
    if (e.code === TallyErrorCodes.DefinitionHasErrors)
      return { title: 'This definition has errors', message: `${message}. The Problems panel lists them.`, actions: [{ command: 'workbench.actions.view.problems', label: 'Show Problems' }] };
    if (e.code === TallyErrorCodes.DatabaseFailed) return { title: 'The database refused the query', message, actions: [{ command: 'tally.testConnection', label: 'Test Connection' }] };
    if (e.code === TallyErrorCodes.NotFound) return { title: 'Nothing to preview', message, actions: [] };
  }
  return { title: 'The preview failed', message, actions: [{ command: 'tally.restartServer', label: 'Restart Server' }] };
}

// Every color and font comes from the workbench theme's CSS variables.
const STYLE = `
body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground); background: var(--vscode-editor-background); padding: 0 16px 16px; }
header { display: flex; align-items: center; justify-content: space-between; gap: 8px; flex-wrap: wrap; }
h1 { font-size: 1.3em; font-weight: 600; margin: 14px 0 4px; }
h1 .kind { color: var(--vscode-descriptionForeground); font-weight: 400; margin-right: 6px; text-transform: uppercase; font-size: .75em; letter-spacing: .05em; }
h2 { font-size: 1.05em; font-weight: 600; margin: 20px 0 6px; }
button { font-family: inherit; font-size: inherit; color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: 1px solid var(--vscode-button-border, transparent); padding: 4px 10px; border-radius: 2px; cursor: pointer; }
button.secondary, .toolbar button { color: var(--vscode-button-secondaryForeground); background: var(--vscode-button-secondaryBackground); }
button:hover { background: var(--vscode-button-hoverBackground); }
.toolbar button:hover { background: var(--vscode-button-secondaryHoverBackground); }
button:focus-visible, a:focus-visible, [tabindex]:focus-visible { outline: 1px solid var(--vscode-focusBorder); outline-offset: 2px; }
.toolbar { display: flex; gap: 6px; }
.status { color: var(--vscode-descriptionForeground); margin: 2px 0 8px; min-height: 1.2em; }
.progress { position: fixed; top: 0; left: 0; right: 0; height: 2px; overflow: hidden; }
.progress div { height: 2px; width: 30%; background: var(--vscode-progressBar-background); animation: slide 1.2s linear infinite; }
@keyframes slide { from { margin-left: -30%; } to { margin-left: 100%; } }
@media (prefers-reduced-motion: reduce) { .progress div { animation: none; width: 100%; } }
main.stale { opacity: .55; transition: opacity .2s; }
.figures { display: flex; flex-wrap: wrap; gap: 24px; margin: 8px 0; }
.figure .value { font-size: 2em; font-weight: 600; line-height: 1.2; }
.figure .label { color: var(--vscode-descriptionForeground); }
.up { color: var(--vscode-charts-green); } .down { color: var(--vscode-charts-red); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-weight: 600; border: 1px solid currentColor; }
.met, .on_track { color: var(--vscode-charts-green); } .at_risk { color: var(--vscode-charts-yellow); } .missed, .failed { color: var(--vscode-charts-red); }
table { border-collapse: collapse; width: 100%; font-family: var(--vscode-editor-font-family); font-size: .92em; }
caption { text-align: left; color: var(--vscode-descriptionForeground); padding-bottom: 4px; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid var(--vscode-editorWidget-border, var(--vscode-panel-border)); white-space: nowrap; }
th { font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.table-wrap { overflow-x: auto; }
.bars { display: grid; grid-template-columns: max-content 1fr max-content; gap: 4px 10px; align-items: center; max-width: 640px; }
.bar { height: 14px; background: var(--vscode-charts-blue); border-radius: 2px; min-width: 1px; }
.bar.holdout { background: var(--vscode-charts-purple); }
.muted { color: var(--vscode-descriptionForeground); }
.error { border-left: 3px solid var(--vscode-errorForeground); padding: 6px 12px; background: var(--vscode-inputValidation-errorBackground, transparent); }
.error h2 { margin-top: 4px; color: var(--vscode-errorForeground); }
.error .actions { display: flex; gap: 8px; margin: 8px 0 4px; }
svg text { fill: var(--vscode-descriptionForeground); font-size: 11px; font-family: var(--vscode-font-family); }
svg .axis { stroke: var(--vscode-editorWidget-border, var(--vscode-panel-border)); }
svg .value-line { stroke: var(--vscode-charts-blue); fill: none; stroke-width: 2; }
svg .value-dot { fill: var(--vscode-charts-blue); }
svg .pace-line { stroke: var(--vscode-charts-orange); fill: none; stroke-width: 1.5; stroke-dasharray: 5 4; }
svg .target-line { stroke: var(--vscode-charts-green); stroke-width: 1; stroke-dasharray: 2 3; }
svg .today { stroke: var(--vscode-descriptionForeground); stroke-width: 1; stroke-dasharray: 1 3; }
.legend { display: flex; gap: 16px; color: var(--vscode-descriptionForeground); margin-top: 4px; }
.legend i { display: inline-block; width: 18px; height: 0; border-top: 2px solid; vertical-align: middle; margin-right: 4px; }
.legend .l-value { border-color: var(--vscode-charts-blue); } .legend .l-pace { border-color: var(--vscode-charts-orange); border-top-style: dashed; } .legend .l-target { border-color: var(--vscode-charts-green); border-top-style: dotted; }
`;
