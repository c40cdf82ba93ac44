// Document sync: open buffers (which win over disk), files created, changed or deleted on disk
// (watched files), and a `tally.yaml` appearing. Each change goes to the workspace's Project, then
// schedules that project's diagnostics and asks for fresh code lenses.

import { FileChangeType, type TextDocuments } from 'vscode-languageserver/node.js';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { existsSync } from 'node:fs';
import type { DefinitionsChanged } from '../../engine/src/protocol.js';
import type { Diagnostics } from './diagnostics.js';
import type { Previews } from './previews.js';
import type { Settings } from './settings.js';
import type { ServerState } from './state.js';
import { uriToPath, type ProjectState } from './workspace.js';

export function registerDocuments(server: ServerState, documents: TextDocuments<TextDocument>, features: { diagnostics: Diagnostics; previews: Previews; settings: Settings }): void {
  const { connection } = server;
  const { diagnostics, previews, settings } = features;

  documents.onDidOpen((e) => {
    diagnostics.opened(e.document.uri);
  });

  documents.onDidChangeContent((e) => {
    const path = uriToPath(e.document.uri);
    if (!path) return;
    const { workspace } = server;
    workspace.open.set(path, e.document.getText());
    const state = workspace.setText(path, e.document.getText());
    if (state) {
      if (!state.db && !state.connecting && !state.offline) void settings.connectAll();
      diagnostics.schedule(state);
      previews.refreshLenses(state);
    }
  });

  documents.onDidClose((e) => {
    const path = uriToPath(e.document.uri);
    if (!path) return;
    const { workspace } = server;
    workspace.open.delete(path);
    const state = workspace.diskChanged(path, false);
    if (state) {
      diagnostics.schedule(state);
      if (!existsSync(path)) void connection.sendNotification('tally/definitionsChanged', { roots: [state.root] } satisfies DefinitionsChanged);
    }
  });

  connection.onDidChangeWatchedFiles((p) => {
    const { workspace } = server;
    const touched = new Set<ProjectState>();
    for (const c of p.changes) {
      const path = uriToPath(c.uri);
      if (!path) continue;
      if (c.type === FileChangeType.Created && path.endsWith('tally.yaml') && !workspace.owner(path)) {
        touched.add(workspace.addRoot(path.slice(0, -'/tally.yaml'.length)));
        continue;
      }
      const s = workspace.diskChanged(path, c.type === FileChangeType.Deleted);
      if (s) touched.add(s);
      // A deleted file must not keep stale diagnostics.
      if (c.type === FileChangeType.Deleted) diagnostics.clear(c.uri);
    }
    for (const s of touched) diagnostics.schedule(s);
    // Files appeared or disappeared: editors listing the definitions (a tree view) ask again.
    if (touched.size) void connection.sendNotification('tally/definitionsChanged', { roots: [...touched].map((s) => s.root) } satisfies DefinitionsChanged);
  });
}
