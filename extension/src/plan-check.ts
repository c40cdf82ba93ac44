// The plan (the workspace against the deployed state, the markdown CI posts: `tally/plan`) as a
// rendered markdown view, and Run Checks (`tally/check`): every KPI's status as a diagnostic at
// the KPI's range in the Problems panel, and the markdown table in an output channel.

import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-languageclient/node';
import type { Tally } from './tally';
import type { CheckResult, PlanResult } from './protocol';
import { formatValue } from './format';

const PLAN_URI = vscode.Uri.from({ scheme: 'tally-plan', path: '/Tally plan.md' });

export class PlanAndChecks implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private planMarkdown = '';
  private readonly checks = vscode.languages.createDiagnosticCollection('tally-checks');
  private readonly channel = vscode.window.createOutputChannel('Tally Checks');
  private readonly subs: vscode.Disposable[] = [];

  constructor(private readonly tally: Tally) {
    this.subs.push(vscode.workspace.registerTextDocumentContentProvider('tally-plan', this));
  }

  provideTextDocumentContent(): string {
    return this.planMarkdown;
  }

  private uriArg(arg: unknown): string | undefined {
    const a = arg as { uri?: unknown; entry?: { uri: string } } | undefined;
    if (a?.entry) return a.entry.uri;
    if (arg instanceof vscode.Uri) return arg.toString();
    if (typeof a?.uri === 'string') return a.uri;
    return vscode.window.activeTextEditor?.document.uri.toString();
  }

  async plan(arg?: unknown): Promise<void> {
    const uri = this.uriArg(arg);
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Window, title: 'Tally: planning against the deployed state…' }, () =>
      this.request<PlanResult>('tally/plan', uri ? { uri } : {}),
    );
    if (!r) return;
    this.planMarkdown = r.markdown;
    this.changed.fire(PLAN_URI);
    await vscode.commands.executeCommand('markdown.showPreview', PLAN_URI);
  }

  /** Returns what went into the Tally Checks output (for the extension-host tests). */
  async runChecks(arg?: unknown): Promise<{ kpis: number; output: string } | undefined> {
    const uri = this.uriArg(arg);
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Tally: checking every KPI…' }, () =>
      this.request<CheckResult>('tally/check', uri ? { uri } : {}),
    );
    if (!r) return undefined;
    const roots = await this.tally.definitions().then((d) => d.projects.map((p) => p.uri)).catch(() => [] as string[]);
    const byFile = new Map<string, vscode.Diagnostic[]>();
    for (const k of r.kpis ?? []) {
      if (!k.file && !k.uri) continue;
      const file = k.uri ? vscode.Uri.parse(k.uri) : !k.file ? undefined : /^[a-z]+:/.test(k.file) ? vscode.Uri.parse(k.file) : roots[0] ? vscode.Uri.joinPath(vscode.Uri.parse(roots[0]), k.file) : undefined;
      if (!file) continue;
      const rg = k.range ? new vscode.Range(k.range.start.line, k.range.start.character, k.range.end.line, k.range.end.character) : new vscode.Range(0, 0, 0, 0);
      const severity = k.status === 'met' || k.status === 'on_track' ? vscode.DiagnosticSeverity.Information : k.status === 'at_risk' ? vscode.DiagnosticSeverity.Warning : vscode.DiagnosticSeverity.Error;
      const d = new vscode.Diagnostic(rg, `KPI ${k.message ?? `${k.name} is ${k.status.replace('_', ' ')}: value ${formatValue(k.value, k.format)}`}`, severity);
      d.source = 'tally check';
      d.code = k.status;
      const key = file.toString();
      byFile.set(key, [...(byFile.get(key) ?? []), d]);
    }
    this.checks.clear();
    for (const [file, list] of byFile) this.checks.set(vscode.Uri.parse(file), list);
    const output = `tally check — ${new Date().toISOString()}\n\n${r.markdown ?? ''}`;
    this.channel.clear();
    this.channel.appendLine(output);
    await vscode.commands.executeCommand('workbench.actions.view.problems');
    const bad = (r.kpis ?? []).filter((k) => k.status === 'missed' || k.status === 'failed').length;
    const risk = (r.kpis ?? []).filter((k) => k.status === 'at_risk').length;
    // Not awaited: the command finishes while the message stays up.
    void vscode.window.showInformationMessage(`Tally: ${r.kpis?.length ?? 0} KPIs checked: ${bad} missed or failed, ${risk} at risk. See the Problems panel.`, 'Show Table').then((action) => {
      if (action) this.channel.show(true);
    });
    return { kpis: r.kpis?.length ?? 0, output };
  }

  private async request<T>(method: string, params: object): Promise<T | undefined> {
    try {
      return (await this.tally.client().sendRequest(method, params)) as T;
    } catch (e) {
      if (e instanceof ResponseError && e.code === ErrorCodes.MethodNotFound) {
        void vscode.window.showWarningMessage(`Tally: this version of the language server does not answer ${method} yet.`);
        return undefined;
      }
      const action = await vscode.window.showErrorMessage(`Tally: ${(e as Error).message}`, 'Pick Connection');
      if (action) await vscode.commands.executeCommand('tally.pickConnection');
      return undefined;
    }
  }

  dispose(): void {
    this.changed.dispose();
    this.checks.dispose();
    this.channel.dispose();
    for (const s of this.subs) s.dispose();
  }
}
