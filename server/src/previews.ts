// Live figures: the preview cache (one figure per definition fingerprint, at the editor's as-of),
// code lenses, `tally/preview` (cancellable; never answers with figures of a definition that
// changed meanwhile), `tally/compiledSql` and `tally/definitions` (every definition with its cached
// figure, for an editor's tree view). Previews run in the database worker, read-only, under the
// preview timeout.

import { LSPErrorCodes, ResponseError, type CancellationToken, type CodeLens, type CodeLensParams } from 'vscode-languageserver/node.js';
import { CANONICAL_SQL, DbError, PreviewError, formatKpiValue, formatSql, preview, type Kind, type KpiDef } from '../../engine/src/index.js';
import {
  KIND_OF,
  PREVIEW_KIND_OF,
  TallyErrorCodes,
  previewKindOf,
  type CompiledSqlParams,
  type CompiledSqlResult,
  type DefinitionEntry,
  type DefinitionsParams,
  type DefinitionsResult,
  type LiveChanged,
  type PreviewKind,
  type PreviewParams,
  type PreviewResult,
  type ProjectEntry,
} from '../../engine/src/protocol.js';
import { asOfParam, checkParams, invalidParams } from './params.js';
import type { ServerState } from './state.js';
import { pathToUri, type ProjectState } from './workspace.js';

interface Inflight {
  readonly fingerprint: string;
  readonly epoch: number;
  promise: Promise<PreviewResult>;
}

export class Previews {
  /** The preview running for each `Kind:name` at the editor's as-of (a newer fingerprint supersedes it). */
  private readonly inflight = new Map<string, Inflight>();
  /** Projects whose connection a preview's timeout ended (the next request reconnects). */
  private readonly endedByTimeout = new Map<ProjectState, string>();
  private lensTimer: NodeJS.Timeout | undefined;

  constructor(private readonly server: ServerState) {}

  /**
   * Runs (or reuses) a preview; a newer fingerprint for the same definition supersedes an older one.
   * `asOf`: an instant the request named; without one, the editor's as-of (workspace.options.asOf,
   * else now), whose figures are cached for the lenses, hovers and the definitions list.
   */
  async live(state: ProjectState, kind: PreviewKind, name: string, asOf?: Date, detail = false): Promise<PreviewResult> {
    const { workspace, connection } = this.server;
    await workspace.connect(state);
    // Another preview's timeout ended the connection while this one waited: the same answer.
    const ended = this.endedByTimeout.get(state);
    if (!state.db && !state.offline && ended) throw new ResponseError(TallyErrorCodes.Timeout, ended);
    this.endedByTimeout.delete(state);
    if (!state.db) throw new ResponseError(TallyErrorCodes.Offline, `previews are off: ${state.offline ?? 'no database'}`, { offline: true, reason: state.offline });
    const analysis = workspace.analysis(state);
    const info = analysis.get(KIND_OF[kind], name);
    if (!info) throw new ResponseError(TallyErrorCodes.NotFound, `no ${kind} named '${name}'`);
    if (info.hasErrors) throw new ResponseError(TallyErrorCodes.DefinitionHasErrors, `${kind} '${name}' has errors; fix them to see live figures`);
    const key = `${info.def.kind}:${name}`;
    const cacheKey = `${key}:${info.fingerprint}`;
    const cached = state.live.get(cacheKey);
    // At the editor's as-of, the figure the lens shows; another instant or the editor's extras
    // (series, breakdown) bypass the cache, and a detailed preview at the as-of still refreshes it.
    const editorAsOf = workspace.options.asOf;
    const shared = asOf === undefined || asOf.getTime() === editorAsOf?.getTime();
    const epoch = this.server.asOfEpoch;
    const uncached = !shared || detail;
    if (!uncached && cached && Date.now() - cached.at < 60_000) return cached.data as PreviewResult;
    const running = this.inflight.get(key);
    if (!uncached && running && running.fingerprint === info.fingerprint && running.epoch === epoch) return running.promise;
    const entry: Inflight = { fingerprint: info.fingerprint, epoch, promise: Promise.resolve() as unknown as Promise<PreviewResult> };
    const db = state.db;
    entry.promise = (async () => {
      try {
        const result = await preview(db, analysis, kind, name, { asOf: asOf ?? editorAsOf ?? new Date(), timeoutMs: this.server.previewTimeoutMs, sampleSize: 10, detail, catalog: state.catalog });
        // Not when the as-of changed meanwhile: the cache holds the new as-of's figures only.
        if (shared && epoch === this.server.asOfEpoch) {
          // Drop superseded versions of this definition from the cache.
          for (const k of state.live.keys()) if (k.startsWith(`${key}:`) && k !== cacheKey) state.live.delete(k);
          state.live.set(cacheKey, { text: lensText(result, info.def as KpiDef), at: Date.now(), data: result });
          void connection.sendNotification('tally/liveChanged', { root: state.root, kind: info.def.kind, name } satisfies LiveChanged);
        }
        return result;
      } catch (e) {
        // Only the connection this preview used (a newer one may be up already).
        if (e instanceof DbError && e.code === 'db-unreachable' && state.db === db) await workspace.dropConnection(state, e.message);
        // A query past its timeout ends the database worker (engine db/thread.ts; the previews
        // queued on it report the timeout too): reconnect at once (no offline back-off), so the
        // figure comes back as soon as the limit is raised.
        if (e instanceof DbError && e.code === 'db-timeout' && state.db === db) {
          state.db = undefined;
          state.nextConnectAttempt = 0;
          this.endedByTimeout.set(state, e.message);
          await db.close().catch(() => undefined);
          void workspace.connect(state).catch(() => undefined); // back before the next question
        }
        if (e instanceof PreviewError) throw new ResponseError(TallyErrorCodes.NotFound, e.message);
        if (e instanceof DbError) throw new ResponseError(e.code === 'db-timeout' ? TallyErrorCodes.Timeout : TallyErrorCodes.DatabaseFailed, e.message);
        throw e;
      } finally {
        if (this.inflight.get(key) === entry) this.inflight.delete(key);
      }
    })();
    if (!uncached) this.inflight.set(key, entry);
    return entry.promise;
  }

  /** Asks the client for the code lenses again (soon: a burst of edits asks once). */
  refreshLenses(_state: ProjectState): void {
    if (!this.server.lensRefresh) return;
    clearTimeout(this.lensTimer);
    this.lensTimer = setTimeout(() => void this.server.connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined), 200);
  }

  register(): void {
    const server = this.server;
    const { connection } = server;

    connection.onRequest('tally/preview', async (params: unknown, token: CancellationToken): Promise<PreviewResult> => {
      const p = checkParams<PreviewParams>('tally/preview', params);
      const asOf = asOfParam('tally/preview', p.asOf);
      const a = server.fileOrFirst(p.uri);
      if (!a) throw new ResponseError(TallyErrorCodes.NotFound, 'no Tally project (tally.yaml) for this file');
      const kind = KIND_OF[p.kind];
      const fingerprint = server.workspace.analysis(a.state).get(kind, p.name)?.fingerprint;
      const work = this.live(a.state, p.kind, p.name, asOf, p.detail === true);
      // Answer at once when the client cancels, or when an edit changes the definition meanwhile:
      // stale figures are never returned (the query itself finishes in the background, read-only).
      return new Promise((resolve, reject) => {
        let settled = false;
        const finish = (f: () => void) => {
          if (settled) return;
          settled = true;
          clearInterval(poll);
          sub.dispose();
          f();
        };
        const sub = token.onCancellationRequested(() => finish(() => reject(new ResponseError(LSPErrorCodes.RequestCancelled, 'preview cancelled'))));
        const poll = setInterval(() => {
          const now = server.workspace.analysis(a.state).get(kind, p.name)?.fingerprint;
          if (now !== fingerprint) finish(() => reject(new ResponseError(LSPErrorCodes.ContentModified, `${p.kind} '${p.name}' changed while its preview ran; ask again`)));
        }, 50);
        work.then(
          (v) => finish(() => resolve(v)),
          (e: unknown) => finish(() => reject(e)),
        );
      });
    });

    connection.onRequest('tally/compiledSql', (params: unknown): CompiledSqlResult => {
      const p = checkParams<CompiledSqlParams>('tally/compiledSql', params);
      const kind = (Object.keys(PREVIEW_KIND_OF) as Kind[]).find((k) => k.toLowerCase() === p.kind.toLowerCase());
      if (!kind) throw invalidParams('tally/compiledSql', `kind must be one of ${Object.values(PREVIEW_KIND_OF).join(', ')}`);
      // T: the instant asked for, else the editor's as-of (inlined), else the database clock.
      const asOf = asOfParam('tally/compiledSql', p.asOf) ?? server.workspace.options.asOf;
      const a = server.fileOrFirst(p.uri);
      if (!a) throw new ResponseError(TallyErrorCodes.NotFound, 'no Tally project (tally.yaml) for this file');
      const analysis = server.workspace.analysis(a.state);
      const info = analysis.get(kind, p.name);
      if (!info) throw new ResponseError(TallyErrorCodes.NotFound, `no ${p.kind} named '${p.name}'`);
      const q = analysis.sqlFor(kind, p.name, asOf ? { asOf: { kind: 'instant', at: asOf }, literals: 'inline', strategy: 'auto' } : { ...CANONICAL_SQL, strategy: 'auto' });
      // `formatted`: the same SQL with line breaks and indentation, for people (only whitespace differs).
      return { sql: q?.sql ?? null, formatted: q?.sql ? formatSql(q.sql) : null, strategy: q?.strategy ?? null, broken: info.hasErrors, fingerprint: info.fingerprint, asOf: asOf?.toISOString() ?? null };
    });

    // Every definition of the workspace with its cached live figure, for an editor's tree view;
    // `compute: true` also starts the missing previews (each answer sends `tally/liveChanged`).
    connection.onRequest('tally/definitions', (params: unknown): DefinitionsResult => {
      const p = checkParams<DefinitionsParams>('tally/definitions', params);
      const projects: ProjectEntry[] = [];
      const definitions: DefinitionEntry[] = [];
      for (const s of server.workspace.projects.values()) {
        const analysis = server.workspace.analysis(s);
        projects.push({ root: s.root, uri: pathToUri(s.root), files: [...s.project.filePaths].map((f) => server.uriFor(s, f)), connected: Boolean(s.db), database: s.dbLabel ?? null, offline: s.offline ?? null });
        for (const info of analysis.infos) {
          const def = info.def;
          const live = s.live.get(`${def.kind}:${def.name}:${info.fingerprint}`);
          const data = live?.data as { count?: unknown; status?: unknown } | undefined;
          definitions.push({
            root: s.root,
            kind: def.kind,
            name: def.name,
            uri: server.uriFor(s, def.file),
            range: server.rangeOf(s, def.file, def.nameSpan),
            hasErrors: info.hasErrors,
            live: live?.text ?? null,
            count: typeof data?.count === 'number' ? data.count : null,
            status: typeof data?.status === 'string' ? data.status : null,
          });
          const pk = previewKindOf(def.kind);
          if (p.compute && pk && !live && !info.hasErrors && (s.db || !s.offline)) void this.live(s, pk, def.name).catch(() => undefined);
        }
      }
      return { projects, definitions };
    });

    connection.onCodeLens((params) => {
      const p = checkParams<CodeLensParams>('textDocument/codeLens', params);
      const a = server.at(p.textDocument.uri);
      if (!a) return [];
      const lenses: CodeLens[] = [];
      const analysis = server.workspace.analysis(a.state);
      for (const def of a.state.project.file(a.rel)?.definitions ?? []) {
        const pk = previewKindOf(def.kind);
        if (!pk) continue;
        const info = analysis.get(def.kind, def.name);
        if (!info || info.def !== def) continue;
        const range = server.rangeOf(a.state, a.rel, def.nameSpan);
        const cmd = { command: 'tally.showPreview', arguments: [{ uri: p.textDocument.uri, kind: pk, name: def.name }] };
        if (info.hasErrors) {
          lenses.push({ range, command: { title: 'fix the errors to see live figures', ...cmd } });
          continue;
        }
        const live = a.state.live.get(`${def.kind}:${def.name}:${info.fingerprint}`);
        if (live) lenses.push({ range, command: { title: live.text, ...cmd } });
        else if (a.state.db || !a.state.offline) {
          lenses.push({ range, command: { title: 'computing…', ...cmd } });
          void this.live(a.state, pk, def.name).then(
            () => this.refreshLenses(a.state),
            () => undefined,
          );
        }
      }
      return lenses;
    });
  }
}

/** The code lens line: `4,812 customers`, `D30 retention 31.2% -> 35% by 2027-03-31 · at risk`. */
export function lensText(result: PreviewResult, def?: KpiDef): string {
  switch (result.kind) {
    case 'segment':
      return `${result.count.toLocaleString('en-US')} ${result.entity}${result.count === 1 ? '' : 's'}`;
    case 'lifecycle':
      return Object.entries(result.stages)
        .map(([s, n]) => `${s} ${n.toLocaleString('en-US')}`)
        .join(' · ');
    case 'kpi': {
      const t = result.target;
      const show = (x: number | null) => (def ? formatKpiValue(def, x) : String(x));
      const target = t ? ` -> ${typeof t.value === 'number' ? show(t.value) : t.value.map((x) => show(x)).join('..')}${t.by ? ` by ${t.by}` : ''}` : '';
      // A breakdown: how many groups, and how many of those with a target are not on course.
      const groups = result.groups ?? [];
      const behind = groups.filter((g) => g.status === 'missed' || g.status === 'at_risk').length;
      const by = groups.length ? ` · ${groups.length} groups by ${result.breakdown?.name ?? 'group'}${behind ? ` (${behind} behind target)` : ''}` : '';
      return `${show(result.value)}${target} · ${result.status.replace('_', ' ')}${by}`;
    }
    case 'sync':
      return result.delivered_before
        ? `+${result.entering.toLocaleString('en-US')} / −${result.leaving.toLocaleString('en-US')}${result.changing ? ` / ~${result.changing.toLocaleString('en-US')}` : ''} since the last delivery`
        : `not delivered yet: ${result.sends.toLocaleString('en-US')} to send`;
    case 'campaign':
      return `would enroll ${result.audience.toLocaleString('en-US')} of ${result.segment.toLocaleString('en-US')}`;
    case 'cohort': {
      const sized = result.cohorts.filter((c) => c.size > 0);
      const mature = [...result.cohorts].reverse().find((c) => c.size > 0 && c.cells[0] && !c.cells[0].immature && c.cells[0].value !== null);
      const first = mature ? ` · latest mature ${result.columns[0]} ${((mature.cells[0]!.value ?? 0) * 100).toFixed(1)}%` : '';
      return `${result.cohorts.length} ${result.every}ly cohorts · ${sized.reduce((n, c) => n + c.size, 0).toLocaleString('en-US')} ${result.entity}s${first}`;
    }
    case 'funnel': {
      const last = result.steps[result.steps.length - 1];
      const conv = last?.overall_conversion;
      return `${result.entrants.toLocaleString('en-US')} entered · ${conv === null || conv === undefined ? '∅' : `${(conv * 100).toFixed(1)}%`} reached ${last?.name ?? 'the end'}`;
    }
    default:
      return `${result.count.toLocaleString('en-US')} of ${result.entities.toLocaleString('en-US')} have a value`;
  }
}
