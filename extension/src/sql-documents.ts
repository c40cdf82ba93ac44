// Compiled SQL as read-only virtual documents (`tally-sql:` URIs, language `sql`), recompiled by
// the server as you edit: `tally/compiledSql` {uri, kind, name}.

import * as vscode from 'vscode';
import type { Tally } from './tally';
import type { CompiledSqlResult, DefinitionRef } from './protocol';

export const SQL_SCHEME = 'tally-sql';
const SQL_KINDS = ['segment', 'trait', 'score', 'lifecycle', 'kpi', 'cohort'];

export class SqlDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;
  private readonly subs: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly tally: Tally) {
    this.subs.push(
      vscode.workspace.registerTextDocumentContentProvider(SQL_SCHEME, this),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.languageId !== 'tally-yaml' || !e.contentChanges.length) return;
        clearTimeout(this.timer);
        this.timer = setTimeout(() => this.refreshAll(), 250);
      }),
    );
  }

  static uriFor(ref: DefinitionRef): vscode.Uri {
    return vscode.Uri.from({ scheme: SQL_SCHEME, path: `/${ref.kind}/${ref.name}.sql`, query: new URLSearchParams({ source: ref.uri, kind: ref.kind, name: ref.name }).toString() });
  }

  /** Recompiles every open SQL document (an edit, or a new as-of). */
  refreshAll(): void {
    for (const d of vscode.workspace.textDocuments) if (d.uri.scheme === SQL_SCHEME) this.changed.fire(d.uri);
  }

  async show(arg?: unknown): Promise<void> {
    const ref = await this.tally.resolveRef(arg, SQL_KINDS);
    if (!ref) return;
    const doc = await vscode.workspace.openTextDocument(SqlDocuments.uriFor(ref));
    if (doc.languageId !== 'sql') await vscode.languages.setTextDocumentLanguage(doc, 'sql').then(undefined, () => undefined);
    await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.Beside, preview: true, preserveFocus: false });
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const q = new URLSearchParams(uri.query);
    const ref = { uri: q.get('source') ?? '', kind: q.get('kind') ?? '', name: q.get('name') ?? '' };
    try {
      const r = (await this.tally.client().sendRequest('tally/compiledSql', { uri: ref.uri, kind: ref.kind, name: ref.name })) as CompiledSqlResult;
      const t = r.asOf ? `${r.asOf.replace('.000Z', 'Z')} (the as-of, setting tally.asOf)` : 'now()';
      const head = `-- Tally ${ref.kind} ${ref.name}: compiled SQL (read-only; recompiled as you edit)\n-- T is ${t}; literals inline. Query shape: ${r.strategy ?? 'n/a'}. Fingerprint ${r.fingerprint.slice(0, 12)}.\n`;
      if (r.broken || !r.sql) return `${head}\n-- This ${ref.kind} has errors: fix them (see the Problems panel) to see its SQL.\n`;
      return `${head}\n${(r.formatted ?? r.sql).trimEnd()}\n`;
    } catch (e) {
      return `-- Tally ${ref.kind} ${ref.name}: no SQL.\n-- ${(e as Error).message}\n`;
    }
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.changed.dispose();
    for (const s of this.subs) s.dispose();
  }
}
