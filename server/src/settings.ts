// The database and the editor's as-of: connecting every project (lazily, never before the first
// diagnostics), the client's settings (`tally.databaseUrl`, `tally.previewTimeoutMs`, `tally.asOf`)
// and `tally/status`. One as-of (workspace.options.asOf; undefined is now) is T for every figure
// the server answers without an explicit `asOf`; changing it clears the live-figure cache.

import type { AsOfChanged, StatusEntry } from '../../engine/src/protocol.js';
import type { Diagnostics } from './diagnostics.js';
import { parseAsOf } from './params.js';
import type { Previews } from './previews.js';
import type { ServerState } from './state.js';

export class Settings {
  constructor(
    private readonly server: ServerState,
    private readonly diagnostics: Diagnostics,
    private readonly previews: Previews,
  ) {}

  /** Connects every project (each once, lazily); the catalog checks follow as a second publish. */
  async connectAll(): Promise<void> {
    const { workspace, connection } = this.server;
    for (const s of workspace.projects.values()) {
      await workspace.connect(s);
      if (s.offline && !this.server.toldOffline) {
        this.server.toldOffline = true;
        connection.window.showInformationMessage(`Tally: live previews are off: ${s.offline}. Diagnostics, completion and navigation work offline.`);
        this.server.log(`previews off: ${s.offline}`);
      }
      if (s.catalog) this.diagnostics.schedule(s); // catalog checks now apply
    }
  }

  /**
   * Sets the one instant every figure is shown at (workspace.options.asOf) from a setting: an ISO
   * instant, or empty for now. A value that is not one is reported and means now. True when it changed.
   */
  setAsOf(value: unknown, source: string): boolean {
    const { workspace, connection } = this.server;
    let at: Date | undefined;
    if (typeof value === 'string' && value.trim()) {
      const parsed = parseAsOf(value);
      if ('error' in parsed) void connection.window.showWarningMessage(`Tally: ${source} ${parsed.error}. Figures are shown as of now.`);
      else at = parsed.at;
    } else if (value !== undefined && value !== null && value !== '') {
      void connection.window.showWarningMessage(`Tally: ${source} must be an ISO instant such as 2026-10-01 (a string). Figures are shown as of now.`);
    }
    if (at?.getTime() === workspace.options.asOf?.getTime()) return false;
    workspace.options.asOf = at;
    this.server.asOfEpoch++;
    this.server.log(`figures as of ${at ? at.toISOString() : 'now'} (${source})`);
    return true;
  }

  /** Every figure shown so far was at the old as-of: forget them, re-lint, and tell the client. */
  private asOfChanged(): void {
    const { workspace, connection } = this.server;
    for (const s of workspace.projects.values()) {
      s.live.clear();
      this.diagnostics.schedule(s);
      this.previews.refreshLenses(s);
    }
    void connection.sendNotification('tally/asOfChanged', { asOf: workspace.options.asOf?.toISOString() ?? null } satisfies AsOfChanged);
  }

  register(): void {
    const server = this.server;
    const { connection } = server;

    connection.onRequest('tally/status', (): StatusEntry[] => {
      const asOf = server.workspace.options.asOf?.toISOString() ?? null;
      return [...server.workspace.projects.values()].map((s) => ({ root: s.root, connected: Boolean(s.db), database: s.dbLabel ?? null, offline: s.offline ?? null, asOf }));
    });

    // Client settings (`tally.databaseUrl`, `tally.previewTimeoutMs`, `tally.asOf`) override the
    // initialization options; a new database URL drops every connection, the live-figure cache and
    // reconnects; a new as-of recomputes every figure.
    connection.onDidChangeConfiguration(async (p) => {
      const { workspace } = server;
      const settings = ((p.settings as { tally?: { databaseUrl?: string; previewTimeoutMs?: number; asOf?: unknown } } | undefined)?.tally ?? {}) as {
        databaseUrl?: string;
        previewTimeoutMs?: number;
        asOf?: unknown;
      };
      if (typeof settings.previewTimeoutMs === 'number' && settings.previewTimeoutMs > 0) server.previewTimeoutMs = settings.previewTimeoutMs;
      if ('asOf' in settings && this.setAsOf(settings.asOf, 'the setting tally.asOf')) this.asOfChanged();
      const url = typeof settings.databaseUrl === 'string' && settings.databaseUrl ? settings.databaseUrl : undefined;
      if (url === workspace.options.databaseUrl) return;
      workspace.options.databaseUrl = url;
      server.toldOffline = false;
      for (const s of workspace.projects.values()) {
        await workspace.dropConnection(s, 'the database setting changed');
        s.offline = undefined;
        s.nextConnectAttempt = 0;
        s.catalog = undefined;
        s.live.clear();
      }
      await this.connectAll();
      for (const s of workspace.projects.values()) {
        this.diagnostics.schedule(s);
        this.previews.refreshLenses(s);
      }
    });
  }
}
