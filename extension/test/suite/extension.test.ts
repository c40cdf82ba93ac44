// Integration tests in VS Code's extension host (@vscode/test-electron): the same journey as the
// code-server E2E (e2e/cockpit.e2e.ts), through the VS Code API instead of the DOM.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Tally } from '../../src/extension';
import { TallyErrorCodes, type StatusEntry } from '../../src/protocol';

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

  it('runs the checks into the Problems panel and the Tally Checks output', async () => {
    const r = await vscode.commands.executeCommand<{ kpis: number; output: string } | undefined>('tally.runChecks');
    const kpis = vscode.Uri.file(join(project, 'definitions', 'kpis.yaml'));
    const statuses = await until('KPI statuses', () => {
      const d = vscode.languages.getDiagnostics(kpis).filter((x) => x.source === 'tally check');
      return d.length ? d : undefined;
    });
    // The output table: every KPI of the Problems panel, with the same status.
    assert.ok(r, 'the command answers what it wrote to the output');
    assert.equal(r.kpis, statuses.length);
    assert.match(r.output, /^tally check — /);
    assert.match(r.output, new RegExp(`Tally check: ${statuses.length} KPIs`));
    for (const d of statuses) {
      const [, name, status] = /^KPI (\S+) is [^:]+: ([a-z ]+)/.exec(d.message)!;
      assert.match(r.output, new RegExp(`\\| \\S+ ${status} (\\(guardrail\\) )?\\| \`${name}\` \\|`), `${name} ${status} in the table`);
    }
  });

  it('shows who a campaign would enroll in its code lens', async () => {
    const campaigns = vscode.Uri.file(join(project, 'definitions', 'campaigns.yaml'));
    await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(campaigns));
    const cli = JSON.parse(execFileSync(process.execPath, [join(repo, 'bin', 'tally.mjs'), 'preview', 'campaign', 'winback_dormant', '--project', join(repo, 'examples', 'shop'), '--format', 'json'], { encoding: 'utf8' }));
    const expected = `would enroll ${cli.audience.toLocaleString('en-US')} of ${cli.segment.toLocaleString('en-US')}`;
    // The first answer says `computing…`; ask again until the figure is in.
    const lenses = await until(expected, async () => {
      const l = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', campaigns, 100)) ?? [];
      return l.some((x) => x.command?.title === expected) ? l : undefined;
    });
    assert.ok(lenses.every((x) => /^would enroll [\d,]+ of [\d,]+$|^computing/.test(x.command?.title ?? '')));
  });

  it('creates a new definition from its snippet; once saved it is checked and gets a live count', async () => {
    const file = vscode.Uri.file(join(project, 'definitions', 'e2e_fresh.yaml'));
    try {
      await vscode.commands.executeCommand('tally.newDefinition', { kind: 'Segment', where: 'file', path: 'definitions/e2e_fresh.yaml' });
      const editor = await until('the new file', () => (vscode.window.activeTextEditor?.document.uri.fsPath === file.fsPath ? vscode.window.activeTextEditor : undefined));
      assert.match(editor.document.getText(), /kind: Segment[\s\S]*where:/);
      const line = editor.document.lineAt(1);
      assert.equal(line.text, 'name: name');
      await editor.edit((e) => e.replace(line.range, 'name: e2e_fresh'));
      await editor.document.save();
      await until('tally-yaml', () => (editor.document.languageId === 'tally-yaml' ? true : undefined));
      const entry = await until('e2e_fresh with a live count', async () => (await tally.definitions(true)).definitions.find((d) => d.name === 'e2e_fresh' && d.count !== null));
      assert.ok(entry.count! > 0 && !entry.hasErrors);
      assert.equal(vscode.languages.getDiagnostics(file).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).length, 0);
    } finally {
      // The file stays (a valid segment of this throwaway copy), as in the code-server E2E.
      await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
    }
  });

  it('shows every figure as of tally.asOf: the server holds it, a lens and the panel agree with the CLI', async () => {
    const config = vscode.workspace.getConfiguration('tally');
    const cli = JSON.parse(execFileSync(process.execPath, [join(repo, 'bin', 'tally.mjs'), 'preview', 'segment', 'champions', '--project', join(repo, 'examples', 'shop'), '--format', 'json', '--as-of', '2026-10-01'], { encoding: 'utf8' }));
    await config.update('asOf', '2026-10-01', vscode.ConfigurationTarget.Global);
    try {
      await until('the server as of 2026-10-01', async () => ((await tally.client().sendRequest('tally/status')) as StatusEntry[])[0]?.asOf === '2026-10-01T00:00:00.000Z' || undefined);
      const expected = `${cli.count.toLocaleString('en-US')} customer${cli.count === 1 ? '' : 's'}`;
      await until(expected, async () => {
        const l = (await vscode.commands.executeCommand<vscode.CodeLens[]>('vscode.executeCodeLensProvider', segments, 100)) ?? [];
        return l.some((x) => x.command?.title === expected && (x.command.arguments?.[0] as { name?: string })?.name === 'champions') || undefined;
      });
      // What the panel asks: no asOf, the server's.
      const panel = (await tally.client().sendRequest('tally/preview', { uri: segments.toString(), kind: 'segment', name: 'champions', detail: true })) as { count: number; as_of: string };
      assert.deepEqual([panel.count, panel.as_of], [cli.count, '2026-10-01T00:00:00.000Z']);
    } finally {
      await config.update('asOf', undefined, vscode.ConfigurationTarget.Global);
    }
    await until('the server as of now', async () => ((await tally.client().sendRequest('tally/status')) as StatusEntry[])[0]?.asOf === null || undefined);
  });

  it('says when a preview times out, and answers again once the limit is raised', async () => {
    const config = vscode.workspace.getConfiguration('tally');
    const ref = { uri: vscode.Uri.file(join(project, 'definitions', 'kpis.yaml')).toString(), kind: 'kpi', name: 'd30_retention', detail: true };
    await config.update('previewTimeoutMs', 1, vscode.ConfigurationTarget.Global);
    try {
      // The server learns the new limit from a notification: ask until the timeout answers (code 4).
      const error = await until('the timeout error', async () => {
        try {
          await tally.client().sendRequest('tally/preview', ref);
          return undefined;
        } catch (e) {
          return (e as { code?: number }).code === TallyErrorCodes.Timeout ? (e as Error) : undefined;
        }
      });
      assert.match(error.message, /cancelled after/);
      // The panel shows it as the timeout state (the code-server E2E reads its text).
      await vscode.commands.executeCommand('tally.showPreview', { uri: ref.uri, kind: 'kpi', name: 'd30_retention' });
    } finally {
      await config.update('previewTimeoutMs', undefined, vscode.ConfigurationTarget.Global);
    }
    const back = await until('the KPI figure again', async () => {
      try {
        return (await tally.client().sendRequest('tally/preview', ref)) as { value: number };
      } catch {
        return undefined;
      }
    });
    assert.equal(typeof back.value, 'number');
  });
});
