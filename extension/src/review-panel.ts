// The periodic review in a webview (`tally.openReview`, from the Tally view's title bar): the
// server's `tally/review` answers with the review as data and as the page the CLI writes, styled
// with the editor's theme variables. The page has no script; the webview runs none (scripts off,
// a content security policy allowing only the page's inline styles), so nothing here interprets it.

import * as vscode from 'vscode';
import { ErrorCodes, ResponseError } from 'vscode-languageclient/node';
import type { Tally } from './tally';
import type { ReviewResult } from './protocol';

const CSP = `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline';">`;

export class ReviewPanel implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;

  constructor(private readonly tally: Tally) {}

  /** Opens (or refreshes) the review; returns the review's data (for the tests), undefined when it could not be made. */
  async open(arg?: unknown): Promise<ReviewResult | undefined> {
    const a = arg as { uri?: unknown; entry?: { uri: string } } | undefined;
    const uri = a?.entry?.uri ?? (arg instanceof vscode.Uri ? arg.toString() : typeof a?.uri === 'string' ? a.uri : vscode.window.activeTextEditor?.document.uri.toString());
    let r: ReviewResult;
    try {
      r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Tally: computing the review (KPIs per period, lifecycles, cohorts, funnels, campaigns)…' }, () =>
        this.tally.client().sendRequest('tally/review', uri ? { uri } : {}) as Promise<ReviewResult>,
      );
    } catch (e) {
      if (e instanceof ResponseError && e.code === ErrorCodes.MethodNotFound) void vscode.window.showWarningMessage('Tally: this version of the language server does not answer tally/review yet.');
      else void vscode.window.showErrorMessage(`Tally: the review failed: ${(e as Error).message}`);
      return undefined;
    }
    if (!this.panel) {
      this.panel = vscode.window.createWebviewPanel('tally.review', 'Tally Review', vscode.ViewColumn.Active, { enableScripts: false, enableFindWidget: true, retainContextWhenHidden: true });
      this.panel.onDidDispose(() => (this.panel = undefined));
    }
    this.panel.title = `Tally Review: ${r.data.project}`;
    this.panel.webview.html = r.html.replace('<meta charset="utf-8">', `<meta charset="utf-8">${CSP}`);
    this.panel.reveal();
    return r;
  }

  dispose(): void {
    this.panel?.dispose();
  }
}
