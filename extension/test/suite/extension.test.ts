// Integration tests in VS Code's extension host (@vscode/test-electron): the same journey as the
// code-server E2E (e2e/cockpit.e2e.ts), through the VS Code API instead of the DOM.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Tally } from '../../src/extension';

const project = process.env.TALLY_TEST_PROJECT!;
const repo = process.env.TALLY_REPO!;

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('Tally extension (VS Code extension host)', () => {
  let tally: Tally;
  const segments = vscode.Uri.file(join(project, 'definitions', 'segments.yaml'));

  before(async () => {
    const ext = vscode.extensions.getExtension<Tally>('tally.tally');
    assert.ok(ext, 'the extension is installed');
    tally = await ext.activate();
  });

  it('gives definition files the tally-yaml language', async () => {
    const doc = await vscode.workspace.openTextDocument(segments);
    await vscode.window.showTextDocument(doc);
    await until('tally-yaml', () => vscode.workspace.textDocuments.find((d) => d.uri.fsPath === segments.fsPath && d.languageId === 'tally-yaml'));
  });

  it('previews a segment with the same count as the CLI', async () => {
    // The CLI first would lock PGlite; the count is the server's against the CLI's on a copy made before.
    const preview = (await tally.client().sendRequest('tally/preview', { uri: segments.toString(), kind: 'segment', name: 'champions', detail: true })) as { count: number; lifecycle?: unknown };
    const cli = JSON.parse(execFileSync(process.execPath, [join(repo, 'bin', 'tally.mjs'), 'preview', 'segment', 'champions', '--project', join(repo, 'examples', 'shop'), '--format', 'json'], { encoding: 'utf8' }));
    assert.equal(preview.count, cli.count);
    assert.ok(preview.lifecycle);
  });

  it('reports a broken reference and clears it once fixed', async () => {
    const doc = await vscode.workspace.openTextDocument(segments);
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    const edit = new vscode.WorkspaceEdit();
    edit.insert(segments, end, '\n---\nkind: Segment\nname: e2e_broken\nversion: 1\nwhere: { segment: high_valeu }\n');
    await vscode.workspace.applyEdit(edit);
    await until('the diagnostic', () => vscode.languages.getDiagnostics(segments).find((d) => d.message.includes("no segment named 'high_valeu'")));
    await vscode.commands.executeCommand('workbench.action.files.revert');
    await until('no diagnostics', () => (vscode.languages.getDiagnostics(segments).length === 0 ? true : undefined));
  });

  it('completes an attribute name', async () => {
    const doc = await vscode.workspace.openTextDocument(segments);
    const editor = await vscode.window.showTextDocument(doc);
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    await editor.edit((e) => e.insert(end, '\n---\nkind: Segment\nname: e2e_complete\nversion: 1\nwhere: { attribute: coun'));
    const pos = doc.lineAt(doc.lineCount - 1).range.end;
    const list = await vscode.commands.executeCommand<vscode.CompletionList>('vscode.executeCompletionItemProvider', segments, pos);
    assert.ok(list.items.some((i) => (typeof i.label === 'string' ? i.label : i.label.label) === 'country'));
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  it('opens the compiled SQL as a read-only sql document', async () => {
    await vscode.commands.executeCommand('tally.showSql', { uri: segments.toString(), kind: 'segment', name: 'champions' });
    const doc = await until('the SQL document', () => vscode.workspace.textDocuments.find((d) => d.uri.scheme === 'tally-sql'));
    assert.equal(doc.languageId, 'sql');
    assert.match(doc.getText(), /from "customers"/);
  });

  it('lists definitions with live figures for the Tally view', async () => {
    const defs = await until('live figures', async () => {
      const r = await tally.definitions(true);
      return r.definitions.some((d) => d.kind === 'Segment' && d.count !== null) && r.definitions.some((d) => d.kind === 'Kpi' && d.status) ? r : undefined;
    });
    assert.ok(defs.definitions.length > 30);
  });

  it('runs the checks into the Problems panel', async () => {
    await vscode.commands.executeCommand('tally.runChecks');
    const kpis = vscode.Uri.file(join(project, 'definitions', 'kpis.yaml'));
    await until('KPI statuses', () => vscode.languages.getDiagnostics(kpis).find((d) => d.source === 'tally check'));
  });
});
