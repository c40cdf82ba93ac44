// The database connection: the status bar item (embedded / server / offline), picking and testing
// a connection, and passwords. A password lives only in VS Code's SecretStorage: the setting
// `tally.databaseUrl` holds a URL without one. The URL with the password goes to the language
// server only as the environment variable TALLY_DATABASE_URL of its process (what the CLI reads
// too), never in an LSP message: so it is in no settings file, output channel or protocol trace.
// Changing the connection restarts the server (about a second).

import * as vscode from 'vscode';
import type { LanguageClient } from 'vscode-languageclient/node';
import type { StatusEntry } from './protocol';
import { formatAsOf } from './format';

const SECRET_PREFIX = 'tally.password:';

/** The key a password is stored under: user@host:port/db, no secret in it. */
export function secretKeyFor(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol)) return undefined;
    return `${SECRET_PREFIX}${decodeURIComponent(u.username)}@${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    return undefined;
  }
}

/** A URL with its password removed (for settings, labels and logs). */
export function withoutPassword(url: string): { url: string; password?: string } {
  try {
    const u = new URL(url);
    if (!u.password) return { url };
    const password = decodeURIComponent(u.password);
    u.password = '';
    return { url: u.toString(), password };
  } catch {
    return { url };
  }
}

export class ConnectionManager implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tally.connection', vscode.StatusBarAlignment.Left, 50);
  /** "as of 2026-10-01" next to the connection while the server shows figures at a set instant. */
  private readonly asOfItem = vscode.window.createStatusBarItem('tally.asOf', vscode.StatusBarAlignment.Left, 49);
  private client: LanguageClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private soon: NodeJS.Timeout | undefined;
  private readonly subs: vscode.Disposable[] = [];
  lastStatus: StatusEntry[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly output: vscode.OutputChannel,
    private readonly restartServer: () => Promise<void>,
  ) {
    this.item.name = 'Tally database';
    this.item.command = 'tally.pickConnection';
    this.item.text = '$(database) Tally';
    this.item.tooltip = 'Tally: starting the language server…';
    this.item.show();
    this.asOfItem.name = 'Tally as-of';
    this.asOfItem.command = { title: 'Change the as-of', command: 'workbench.action.openSettings', arguments: ['tally.asOf'] };
    this.subs.push(
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tally.databaseUrl')) void this.restart();
        else if (e.affectsConfiguration('tally.previewTimeoutMs') || e.affectsConfiguration('tally.asOf')) void this.sendSettings();
      }),
      context.secrets.onDidChange(() => void this.restart()),
    );
  }

  timeoutMs(): number {
    return vscode.workspace.getConfiguration('tally').get<number>('previewTimeoutMs') ?? 5000;
  }

  /** The setting `tally.asOf` as typed ('' for now); the server reads it and holds the instant. */
  asOf(): string {
    return (vscode.workspace.getConfiguration('tally').get<string>('asOf') ?? '').trim();
  }

  /** The setting's URL with the stored password put in; never shown or logged. */
  async effectiveUrl(): Promise<string | undefined> {
    const configured = (vscode.workspace.getConfiguration('tally').get<string>('databaseUrl') ?? '').trim();
    if (!configured) return undefined;
    const { url, password } = withoutPassword(configured);
    if (password) {
      // A password typed into settings by hand: move it into the secret storage.
      const key = secretKeyFor(url);
      if (key) {
        await this.context.secrets.store(key, password);
        await this.updateSetting(url);
        void vscode.window.showInformationMessage('Tally moved the database password from your settings into VS Code\'s secret storage.');
      }
    }
    const key = secretKeyFor(url);
    const secret = key ? await this.context.secrets.get(key) : undefined;
    if (!secret) return url;
    const u = new URL(url);
    u.password = secret;
    return u.toString();
  }

  /** The server process's environment: TALLY_DATABASE_URL when a connection is configured. */
  async serverEnv(): Promise<Record<string, string>> {
    const url = await this.effectiveUrl();
    this.startedWith = url ?? '';
    return url ? { TALLY_DATABASE_URL: url } : {};
  }

  /** The URL the running server was started with ('' for the default), to restart only on a change. */
  private startedWith: string | undefined;
  private restarting: Promise<void> | undefined;
  private restartAgain = false;

  /** Restarts the server when the effective URL changed; a request during a restart queues one more check. */
  private async restart(): Promise<void> {
    if (this.restarting) {
      this.restartAgain = true;
      return this.restarting;
    }
    this.restarting = (async () => {
      do {
        this.restartAgain = false;
        await new Promise((r) => setTimeout(r, 150)); // a setting and a secret often change together
        const url = (await this.effectiveUrl()) ?? '';
        if (url === this.startedWith) continue;
        this.output.appendLine(`database connection changed to ${this.configuredLabel()}: restarting the language server`);
        await this.restartServer();
      } while (this.restartAgain);
    })().finally(() => (this.restarting = undefined));
    return this.restarting;
  }

  private configuredLabel(): string {
    const configured = (vscode.workspace.getConfiguration('tally').get<string>('databaseUrl') ?? '').trim();
    return configured ? withoutPassword(configured).url : '(default: environment, warehouse.url or the embedded .tally/db)';
  }

  async attach(client: LanguageClient): Promise<void> {
    this.client = client;
    await this.sendSettings();
    clearInterval(this.timer);
    this.timer = setInterval(() => void this.refresh(), 5000);
    void this.refresh();
  }

  /** The timeout and the as-of: the database URL travels in the server's environment (see the top). */
  private async sendSettings(): Promise<void> {
    if (!this.client?.isRunning()) return;
    await this.client.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { previewTimeoutMs: this.timeoutMs(), asOf: this.asOf() } } });
    setTimeout(() => void this.refresh(), 300);
  }

  async status(): Promise<StatusEntry[]> {
    if (!this.client?.isRunning()) return [];
    try {
      return (this.lastStatus = (await this.client.sendRequest('tally/status')) as StatusEntry[]);
    } catch {
      return [];
    }
  }

  async refresh(): Promise<StatusEntry[]> {
    const all = await this.status();
    const s = all[0];
    this.showAsOf(s?.asOf ?? null);
    if (!s) {
      this.item.text = '$(database) Tally';
      this.item.tooltip = 'Tally: no project (tally.yaml) in this workspace';
      return all;
    }
    const { mode, name } = describe(s);
    // Not connected and no reason given: (re)connecting, e.g. after a preview past its timeout
    // ended the database worker. Look again soon rather than at the next poll.
    const connecting = !s.connected && !s.offline;
    this.item.text = s.connected ? `$(database) Tally: ${mode} · ${name}` : connecting ? '$(sync~spin) Tally: connecting…' : `$(debug-disconnect) Tally: offline`;
    this.item.tooltip = new vscode.MarkdownString(
      s.connected
        ? `**Tally** previews run on ${mode === 'embedded' ? 'the embedded PGlite database' : 'the PostgreSQL server'} \`${s.database}\`.\n\nClick to pick another connection.`
        : connecting
          ? '**Tally** is connecting to the database.\n\nClick to pick another connection.'
          : `**Tally** is offline: ${s.offline}.\n\nDiagnostics, completion and navigation still work. Click to pick a connection.`,
    );
    this.item.backgroundColor = s.connected || connecting ? undefined : new vscode.ThemeColor('statusBarItem.warningBackground');
    if (connecting && !this.soon) this.soon = setTimeout(() => ((this.soon = undefined), void this.refresh()), 1000);
    return all;
  }

  /** What the server says the as-of is: shown when set, hidden when figures are as of now. */
  private showAsOf(asOf: string | null): void {
    if (!asOf) {
      this.asOfItem.hide();
      return;
    }
    const label = formatAsOf(asOf);
    this.asOfItem.text = `$(history) as of ${label}`;
    this.asOfItem.tooltip = new vscode.MarkdownString(
      `**Tally** shows every figure as of **${asOf.replace('.000Z', 'Z')}**: code lenses, hovers, the Tally view, previews, the plan, checks and compiled SQL (setting \`tally.asOf\`).\n\nClick to change it; empty means now.`,
    );
    this.asOfItem.show();
  }

  /** The quick pick behind the status bar item. */
  async pick(): Promise<void> {
    type Choice = vscode.QuickPickItem & { id: 'default' | 'embedded' | 'pglite' | 'postgres' | 'test' };
    const current = vscode.workspace.getConfiguration('tally').get<string>('databaseUrl') || '(like the CLI)';
    const choice = await vscode.window.showQuickPick<Choice>(
      [
        { id: 'default', label: '$(gear) Like the CLI', detail: 'TALLY_DATABASE_URL, DATABASE_URL, warehouse.url in tally.yaml, else the embedded .tally/db' },
        { id: 'embedded', label: '$(database) Embedded database of the project', detail: 'pglite:.tally/db — made by `tally demo` or `tally init`, no server needed' },
        { id: 'postgres', label: '$(server) PostgreSQL server…', detail: 'postgres://user@host:5432/db; the password goes to VS Code\'s secret storage' },
        { id: 'pglite', label: '$(folder) Another PGlite folder…', detail: 'pglite:<folder>' },
        { id: 'test', label: '$(plug) Test the current connection', detail: current },
      ],
      { placeHolder: `Tally database (now: ${current})` },
    );
    if (!choice) return;
    if (choice.id === 'test') return this.test();
    if (choice.id === 'default') await this.updateSetting(undefined);
    if (choice.id === 'embedded') await this.updateSetting('pglite:.tally/db');
    if (choice.id === 'pglite') {
      const dir = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, openLabel: 'Use this PGlite folder' });
      if (!dir?.[0]) return;
      await this.updateSetting(`pglite:${dir[0].fsPath}`);
    }
    if (choice.id === 'postgres') {
      const typed = await vscode.window.showInputBox({
        title: 'PostgreSQL server',
        prompt: 'The URL, without the password (you are asked for it next)',
        placeHolder: 'postgres://user@host:5432/database',
        value: current.startsWith('postgres') ? current : '',
        ignoreFocusOut: true,
        validateInput: (v) => (/^postgres(ql)?:\/\/[^/]+\/[^/?]+/.test(v.trim()) ? undefined : 'Expected postgres://user@host:5432/database'),
      });
      if (!typed) return;
      const { url, password: inUrl } = withoutPassword(typed.trim());
      const key = secretKeyFor(url)!;
      const password =
        inUrl ??
        (await vscode.window.showInputBox({
          title: `Password for ${url}`,
          prompt: 'Kept in VS Code\'s secret storage, never in settings. Leave empty for none (e.g. trust or .pgpass).',
          password: true,
          ignoreFocusOut: true,
        }));
      if (password === undefined) return;
      if (password) await this.context.secrets.store(key, password);
      else await this.context.secrets.delete(key);
      await this.updateSetting(url);
    }
    await this.restart();
    await this.test();
  }

  private async updateSetting(url: string | undefined): Promise<void> {
    const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
    await vscode.workspace.getConfiguration('tally').update('databaseUrl', url, target);
  }

  /** Asks the server whether it is connected (waiting briefly for a reconnect) and says so. */
  async test(): Promise<void> {
    await this.restarting;
    const started = Date.now();
    let all: StatusEntry[] = [];
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Tally: testing the database connection…' }, async () => {
      for (;;) {
        all = await this.refresh();
        if (all.length && all.every((s) => s.connected || s.offline)) break;
        if (Date.now() - started > 15_000) break;
        await new Promise((r) => setTimeout(r, 300));
      }
    });
    const s = all[0];
    if (!s) {
      void vscode.window.showWarningMessage('Tally: no project (tally.yaml) in this workspace.');
    } else if (s.connected) {
      void vscode.window.showInformationMessage(`Tally: connected to ${s.database}.`);
    } else {
      const action = await vscode.window.showErrorMessage(`Tally: cannot connect. ${s.offline ?? 'No answer yet.'}`, 'Pick Connection', 'Restart Server');
      if (action === 'Pick Connection') await this.pick();
      if (action === 'Restart Server') await vscode.commands.executeCommand('tally.restartServer');
    }
  }

  dispose(): void {
    clearInterval(this.timer);
    clearTimeout(this.soon);
    this.item.dispose();
    this.asOfItem.dispose();
    for (const s of this.subs) s.dispose();
  }
}

/** "embedded" / "server" and the database's name from the server's (credential-free) label. */
export function describe(s: StatusEntry): { mode: 'embedded' | 'server' | 'offline'; name: string } {
  if (!s.connected || !s.database) return { mode: 'offline', name: '' };
  const label = s.database.replace(/\s*\([^)]*\)\s*$/, '');
  if (label.startsWith('pglite:')) {
    const path = label.slice('pglite:'.length);
    return { mode: 'embedded', name: path === 'memory' ? 'in memory' : path.split(/[\\/]/).slice(-2).join('/') };
  }
  const db = label.split('/').pop()?.split('?')[0] ?? label;
  return { mode: 'server', name: db };
}
