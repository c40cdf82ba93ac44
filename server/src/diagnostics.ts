// Diagnostics: when they are computed (scheduling: the next event-loop turn, or after a debounce)
// and what is published (only the files whose engine list changed). Publishing never awaits the
// database: it uses the catalog when it is loaded, so a slow database delays only the catalog
// checks, which come as a second publish once the catalog has loaded.

import { DiagnosticSeverity } from 'vscode-languageserver/node.js';
import type { Diagnostic } from '../../engine/src/index.js';
import type { ServerState } from './state.js';
import { uriToPath, type ProjectState } from './workspace.js';

export class Diagnostics {
  private readonly timers = new Map<ProjectState, NodeJS.Timeout | NodeJS.Immediate>();
  /** Per project: each file's diagnostics as last published (the engine's list, compared by identity). */
  private readonly publishedLists = new Map<ProjectState, Map<string, readonly Diagnostic[]>>();
  /** Documents just opened: published once even without diagnostics, so the client knows they were checked. */
  private readonly openedUris = new Set<string>();

  constructor(private readonly server: ServerState) {}

  /** A document was opened: publish it at the next publish of its project, even when clean. */
  opened(uri: string): void {
    this.openedUris.add(uri);
  }

  /** Publishes a project's diagnostics at the next turn of the event loop (or after the debounce). */
  schedule(state: ProjectState): void {
    const debounceMs = this.server.debounceMs;
    const pending = this.timers.get(state);
    if (pending && debounceMs <= 0) return; // already due at the next turn of the event loop
    clearTimeout(pending as NodeJS.Timeout);
    const run = () => {
      this.timers.delete(state);
      this.publish(state);
    };
    // setImmediate: after the message being handled, without a timer's clamping and its delay on a busy machine.
    this.timers.set(state, debounceMs > 0 ? setTimeout(run, debounceMs) : setImmediate(run));
  }

  /**
   * Publishes the files whose diagnostics changed since the last publish: the analysis keeps an
   * unchanged file's list as the same array, so an edit costs the files it affected, not the
   * project. Uses the catalog when it is loaded, never waits for it.
   */
  publish(state: ProjectState): void {
    const { workspace, published, connection } = this.server;
    const analysis = workspace.analysis(state);
    const byFile = analysis.diagnosticsByFile;
    let last = this.publishedLists.get(state);
    if (!last) this.publishedLists.set(state, (last = new Map()));
    const files = new Set([...byFile.keys(), ...last.keys()]);
    for (const uri of this.openedUris) {
      const path = uriToPath(uri);
      const owner = path ? workspace.owner(path) : undefined;
      if (!owner || !owner.project.file(workspace.rel(owner, path!))) this.openedUris.delete(uri); // not a definition file
      else if (owner === state) files.add(workspace.rel(state, path!));
    }
    for (const rel of files) {
      const engineList = byFile.get(rel);
      const uri = this.server.uriFor(state, rel);
      const forced = this.openedUris.delete(uri) && !published.has(uri);
      if (!forced && last.get(rel) === engineList) continue;
      if (engineList) last.set(rel, engineList);
      else last.delete(rel);
      const list = (engineList ?? []).map((d) => ({
        range: d.range,
        severity: SEVERITY[d.severity],
        code: d.code,
        source: 'tally',
        message: d.message,
        ...(d.fix ? { data: { fix: d.fix } } : {}),
      }));
      const json = JSON.stringify(list);
      if (published.get(uri) === json) continue;
      if (!list.length && !published.has(uri) && !forced) continue;
      published.set(uri, json);
      void connection.sendDiagnostics({ uri, diagnostics: list });
    }
  }

  /** A file was deleted: it must not keep stale diagnostics. */
  clear(uri: string): void {
    this.server.published.delete(uri);
    void this.server.connection.sendDiagnostics({ uri, diagnostics: [] });
  }
}

const SEVERITY: Record<Diagnostic['severity'], DiagnosticSeverity> = {
  error: DiagnosticSeverity.Error,
  warning: DiagnosticSeverity.Warning,
  information: DiagnosticSeverity.Information,
  hint: DiagnosticSeverity.Hint,
};
