// Operations against the database: `tally/plan` (the workspace against the deployed state),
// `tally/check` (every KPI's status) and `tally/review` (the periodic review, as data and as the
// page in the editor's theme colours), the same engine calls and renderings as `tally plan`,
// `tally check` and `tally review`, plus LSP locations for the Problems panel.

import { ResponseError } from 'vscode-languageserver/node.js';
import {
  isDay,
  DbError,
  LineIndex,
  blockedPlanMarkdown,
  checkFails,
  checkJson,
  checkKpis,
  checkMarkdown,
  checkText,
  kpiSentence,
  parseFailOn,
  planJson,
  planMarkdown,
  planProject,
  planText,
  toDiagnostic,
  buildReview,
  renderReviewHtml,
} from '../../engine/src/index.js';
import { TallyErrorCodes, type BlockedPlanJson, type CheckedKpi, type CheckParams, type CheckResult, type PlanParams, type PlanResult, type ReviewParams, type ReviewResult } from '../../engine/src/protocol.js';
import { asOfParam, checkParams, invalidParams } from './params.js';
import type { ServerState } from './state.js';
import type { ProjectState } from './workspace.js';

/** Plans and checks may read much more than a preview: at least this long per statement. */
const OPERATION_TIMEOUT_FLOOR_MS = 30_000;

export function registerOperations(server: ServerState): void {
  const { connection } = server;

  /** The project for a request, connected; a ResponseError saying what to do when it cannot be. */
  async function connectedProject(uri: string | undefined): Promise<ProjectState> {
    const a = server.fileOrFirst(uri);
    if (!a) throw new ResponseError(TallyErrorCodes.NotFound, 'no Tally project (tally.yaml) in this workspace');
    await server.workspace.connect(a.state);
    if (!a.state.db) throw new ResponseError(TallyErrorCodes.Offline, `no database: ${a.state.offline ?? 'not connected'}`, { offline: true, reason: a.state.offline });
    return a.state;
  }

  connection.onRequest('tally/plan', async (params: unknown): Promise<PlanResult> => {
    const p = checkParams<PlanParams>('tally/plan', params);
    const asOf = asOfParam('tally/plan', p.asOf) ?? server.workspace.options.asOf ?? new Date();
    const state = await connectedProject(p.uri);
    const analysis = server.workspace.analysis(state);
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) {
      const markdown = blockedPlanMarkdown(errors);
      const json: BlockedPlanJson = { refused: true, changes: [], diagnostics: errors };
      return { root: state.root, refused: true, blocked: true, markdown, text: markdown, json };
    }
    try {
      const plan = await planProject(state.db!, analysis, {
        schema: state.project.config.deploySchema,
        asOf,
        allowDrop: p.allowDrop === true,
        catalog: state.catalog,
        timeoutMs: Math.max(server.previewTimeoutMs, OPERATION_TIMEOUT_FLOOR_MS),
      });
      const diagnostics = plan.diagnostics.map((d) => toDiagnostic(d, state.project.file(d.file)?.lines ?? new LineIndex('')));
      return { root: state.root, refused: plan.refused, blocked: false, markdown: planMarkdown(plan, analysis), text: planText(plan, analysis), json: planJson(plan, diagnostics) };
    } catch (e) {
      dbFailure(e);
    }
  });

  connection.onRequest('tally/check', async (params: unknown): Promise<CheckResult> => {
    const p = checkParams<CheckParams>('tally/check', params);
    const asOf = asOfParam('tally/check', p.asOf) ?? server.workspace.options.asOf ?? new Date();
    const failOn = parseFailOn(p.failOn);
    if ('error' in failOn) throw invalidParams('tally/check', `failOn: ${failOn.error}`);
    const state = await connectedProject(p.uri);
    const analysis = server.workspace.analysis(state);
    try {
      const result = await checkKpis(state.db!, analysis, { asOf, timeoutMs: Math.max(server.previewTimeoutMs, OPERATION_TIMEOUT_FLOOR_MS) });
      const ctx = { analysis, root: state.root, cwd: state.root, failOn: failOn.statuses };
      const json = checkJson(result, ctx) as { kpis: Omit<CheckedKpi, 'uri' | 'range' | 'message'>[] };
      // Where each KPI is written, as an LSP location (its `name:` value), and the sentence CI
      // annotations say about it, for the Problems panel.
      const kpis = json.kpis.map((k, i): CheckedKpi => {
        const def = analysis.get('Kpi', k.name)?.def;
        return { ...k, uri: server.uriFor(state, k.file), range: def ? server.rangeOf(state, def.file, def.nameSpan) : null, message: kpiSentence(result.kpis[i]!, ctx) };
      });
      return { ...json, kpis, root: state.root, passed: !checkFails(result, failOn.statuses), markdown: checkMarkdown(result, ctx), text: checkText(result, ctx) };
    } catch (e) {
      dbFailure(e);
    }
  });

  connection.onRequest('tally/review', async (params: unknown): Promise<ReviewResult> => {
    const p = checkParams<ReviewParams>('tally/review', params) ?? {};
    const from = dayParam('from', p.from);
    const to = dayParam('to', p.to);
    const state = await connectedProject(p.uri);
    const analysis = server.workspace.analysis(state);
    try {
      const data = await buildReview(state.db!, analysis, { asOf: server.workspace.options.asOf ?? new Date(), from, to, every: p.every ?? 'week', timeoutMs: Math.max(server.previewTimeoutMs, OPERATION_TIMEOUT_FLOOR_MS) });
      return { root: state.root, data, html: renderReviewHtml(data, { theme: 'vscode' }) };
    } catch (e) {
      dbFailure(e);
    }
  });
}

/** A day param (`from`, `to`): YYYY-MM-DD, else InvalidParams naming it. */
function dayParam(name: string, v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (!isDay(v)) throw invalidParams('tally/review', `${name} must be a day (YYYY-MM-DD)`);
  return v;
}

/** A database failure as Tally's error code (the timeout, or any other refusal); anything else rethrown. */
function dbFailure(e: unknown): never {
  if (e instanceof DbError) throw new ResponseError(e.code === 'db-timeout' ? TallyErrorCodes.Timeout : TallyErrorCodes.DatabaseFailed, e.message);
  throw e;
}
