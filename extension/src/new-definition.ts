// Tally: New Definition: pick a kind, then where it goes (a new file under the project's
// definitions, the end of the current file, or an untitled buffer); the skeleton is the engine's
// snippet for that kind (dist/snippets.json, generated from engine SNIPPETS at build time).

import * as vscode from 'vscode';
import { readFileSync } from 'node:fs';
import type { Tally } from './tally';

/** What the prompts ask, given up front (a keybinding's or a test's `args`); the rest is asked. */
export interface NewDefinitionArgs {
  readonly kind?: string;
  readonly where?: 'file' | 'append' | 'untitled';
  readonly path?: string;
}

/** Only plain `{kind, where, path}` strings: a menu may pass a Uri or a tree item instead. */
export function newDefinitionArgs(arg: unknown): NewDefinitionArgs {
  if (!arg || typeof arg !== 'object' || arg instanceof vscode.Uri) return {};
  const a = arg as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v.trim() ? v.trim() : undefined);
  const where = str(a.where);
  return { kind: str(a.kind), where: where === 'file' || where === 'append' || where === 'untitled' ? where : undefined, path: str(a.path) };
}

export async function newDefinition(tally: Tally, args: NewDefinitionArgs = {}): Promise<void> {
  const snippets = JSON.parse(readFileSync(tally.context.asAbsolutePath('dist/snippets.json'), 'utf8')) as Record<string, { body: string[]; description: string }>;
  const kinds = Object.keys(snippets).map((k) => k.replace(/^New /, ''));
  const given = args.kind ? kinds.find((k) => k.toLowerCase() === args.kind!.toLowerCase()) : undefined;
  const kind = given
    ? { label: given }
    : await vscode.window.showQuickPick(
        kinds.map((k) => ({ label: k, description: snippets[`New ${k}`]!.description })),
        { placeHolder: 'Which kind of definition?' },
      );
  if (!kind) return;
  const body = snippets[`New ${kind.label}`]!.body.join('\n') + '\n';
  const projects = await tally.definitions().then((d) => d.projects).catch(() => []);
  const editor = vscode.window.activeTextEditor;
  type Where = vscode.QuickPickItem & { id: 'file' | 'append' | 'untitled' };
  const where: Where[] = [];
  if (projects.length) where.push({ id: 'file', label: '$(new-file) New file in the project…', detail: `under ${vscode.workspace.asRelativePath(vscode.Uri.joinPath(vscode.Uri.parse(projects[0]!.uri), 'definitions'))}` });
  if (editor?.document.languageId === 'tally-yaml') where.push({ id: 'append', label: `$(insert) Append to ${vscode.workspace.asRelativePath(editor.document.uri)}`, detail: 'as a new YAML document after ---' });
  where.push({ id: 'untitled', label: '$(file) Untitled file', detail: 'save it under the definitions folder later' });
  const choice = where.find((w) => w.id === args.where) ?? (where.length === 1 ? where[0] : await vscode.window.showQuickPick(where, { placeHolder: `Where should the new ${kind.label} go?` }));
  if (!choice) return;

  if (choice.id === 'append' && editor) {
    const doc = editor.document;
    const end = doc.lineAt(doc.lineCount - 1).range.end;
    const prefix = doc.getText().trim() ? `${doc.getText().endsWith('\n') ? '' : '\n'}---\n` : '';
    await editor.insertSnippet(new vscode.SnippetString(prefix + body), end);
    return;
  }
  if (choice.id === 'untitled') {
    const doc = await vscode.workspace.openTextDocument({ language: 'tally-yaml', content: '' });
    const ed = await vscode.window.showTextDocument(doc);
    await ed.insertSnippet(new vscode.SnippetString(body));
    return;
  }
  const root = vscode.Uri.parse(projects[0]!.uri);
  const rel =
    args.path ??
    (await vscode.window.showInputBox({
      title: `New ${kind.label}`,
      prompt: 'File path, relative to the project (it must match the definitions globs of tally.yaml)',
      value: `definitions/new_${kind.label.toLowerCase()}.yaml`,
      validateInput: (v) => (/\.ya?ml$/.test(v.trim()) ? undefined : 'A .yaml file'),
    }));
  if (!rel) return;
  const file = vscode.Uri.joinPath(root, rel.trim());
  const exists = await vscode.workspace.fs.stat(file).then(() => true, () => false);
  if (!exists) await vscode.workspace.fs.writeFile(file, new Uint8Array());
  const doc = await vscode.workspace.openTextDocument(file);
  const ed = await vscode.window.showTextDocument(doc);
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  const prefix = doc.getText().trim() ? `${doc.getText().endsWith('\n') ? '' : '\n'}---\n` : '';
  await ed.insertSnippet(new vscode.SnippetString(prefix.replace(/[$}\\]/g, '\\$&') + body), end);
}
