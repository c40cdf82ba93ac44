// The engine's public facade: the CLI and the language server import only this (and protocol.ts);
// tests may reach inside. Grouped by room: the language half, then one block per operation room.
//
//   const project = Project.load('examples/shop');            // or new Project(root, tallyYaml) + setFile()
//   const analysis = project.analyze({ catalog });            // diagnostics, IR, fingerprints
//   analysis.sqlFor('Segment', 'high_value_dormant', { asOf: { kind: 'now' }, literals: 'inline' })
//     -> { sql: 'select "e"."id" as key from "customers" as "e" where ... and exists (select 1 from "events" as "ev" ...)' }
//   await preview(db, analysis, 'segment', 'high_value_dormant', { asOf })  -> { count, sample, ... }

export { Project, Analysis, PROJECT_FILE, CANONICAL_SQL, toDiagnostic, type DefinitionInfo, type SourceFile, type AnalyzeOptions } from './project.js';
export { starterFiles, STARTER_MODEL } from './starter.js';
export type { Diagnostic, RawDiagnostic, Range, Position, Severity, Span } from './diagnostics.js';
export { LineIndex, DiagnosticSink, sortDiagnostics } from './diagnostics.js';
export { DIAGNOSTIC_CODES, isDiagnosticCode, type DiagnosticCode } from './diagnostic-codes.js';
export * from './model/types.js';
export type { Catalog, CatalogTable, CatalogColumn } from './resolve/catalog.js';
export type { RefSite, ResolvedDefinition } from './resolve/resolve.js';
export { compare } from './resolve/resolve.js';
export { closest, didYouMean } from './suggest.js';
export * as ir from './ir/ir.js';
export {
  compileMembers,
  compileMemberCount,
  compileMemberSample,
  compileValues,
  compileDistribution,
  compileValueSample,
  compileMemberPreview,
  compileValuePreview,
  compileMetric,
  compileFunnel,
  compileQuery,
  compileCohort,
  chooseStrategy,
  type SqlOptions,
  type Strategy,
  type CompiledQuery,
} from './sql/compile.js';
export { compileMetricBreakdown, type BreakdownRow } from './sql/breakdown.js';
export { formatSql } from './sql/format.js';
export { sqlComment } from './sql/comment.js';
export { parseDuration, parseInstant, instantProblem, describeDuration, isDay, type Duration } from './time.js';
export { parseYamlDocuments } from './syntax/load-yaml.js';
export { SCHEMAS, COMMON_SCHEMA, PROJECT_SCHEMA } from './syntax/schemas.js';
export { LanguageService, SNIPPETS, type CompletionItem, type HoverResult, type SourceLocation, type SymbolInfo, type RenameResult, type LiveSummary } from './service/language-service.js';
export { redactSecrets } from './redact.js';
export { table, formatNumber, percent } from './text-table.js';

// db/: connections, the worker thread, the live catalog, the one analyzeLive.
export { connect, parseDbUrl, redactUrl, DbError, type Db, type DbKind } from './db/db.js';
export { connectInWorker } from './db/thread.js';
export { resolveDatabaseUrl, interpolateEnv, unsetVariablesMessage, databaseDescription, type ResolvedUrl } from './db/connection.js';
export { loadCatalog } from './db/catalog-load.js';
export { analyzeLive, type LiveAnalysis, type LiveOptions } from './db/live.js';

// state/: Tally's own tables in the deploy schema (readers).
export { readDeployed, readHistory, type DeployedState, type DeployedDefinition, type HistoryEntry } from './state/deployed.js';

// preview/
export { preview, paramOptions, maskValue, PreviewError, PREVIEW_KINDS, KIND_OF, type Preview, type PreviewKind, type SegmentPreview, type ValuesPreview, type LifecyclePreview, type CohortPreview } from './preview/preview.js';
export { previewCohort, cohortLabels } from './preview/cohort.js';
export { previewText } from './preview/render.js';

// kpi/
export { evaluateKpi, deadlineOf, formatKpiValue, kpiFormat, type KpiStatus, type KpiEvaluation } from './kpi/status.js';
export { evaluateGroups, groupDef } from './kpi/breakdown.js';
export { checkKpis, checkFails, failingGroups, parseFailOn, kpiErrorDiagnostics, DEFAULT_FAIL_ON, type CheckResult, type KpiCheck } from './kpi/check.js';
export { checkText, checkJson, checkJunit, checkMarkdown, checkGithub, kpiSentence, kpiHistoryText, junitXml, type RenderContext, type JunitCase } from './kpi/render.js';
export { recordCheckHistory, readKpiHistory, type KpiHistoryPoint } from './kpi/recorded.js';

// deploy/
export { deploy, refreshTables, type DeployResult } from './deploy/deploy.js';
export { planProject, type Plan, type PlanItem, type PlanOptions, type Impact } from './deploy/plan.js';
export { planText, planMarkdown, planJson, blockedPlanMarkdown, unmeasuredCount } from './deploy/plan-render.js';
export { snapshotLifecycles, readLifecycleHistory, type SnapshotResult, type LifecycleHistory } from './deploy/snapshot.js';
export { deployJson, deployText, deployHistoryText, lifecycleHistoryText, snapshotText } from './deploy/render.js';

// campaign/
export { previewCampaign, campaignDataLints, CampaignError, type CampaignPreview } from './campaign/campaign.js';
export { runCampaigns, type RunResult, type OutboxRow } from './campaign/run.js';
export { reportCampaign, type CampaignReport, type VersionReport } from './campaign/report.js';
export { assignmentHash, assignmentUnit, assignVariant, cumulativeShares } from './campaign/assign.js';
export { runText, outboxCsv, outboxJsonl, reportText, formatP } from './campaign/render.js';

// fixtures/: `tally test`.
export { fixtureNames, runFixtures, type FixtureReport, type FixtureResult } from './fixtures/fixtures.js';
export { testText, testJunit, failureLines, mismatchLines, showValue } from './fixtures/render.js';

// advise/
export { adviseIndexes } from './advise/advise.js';
export { adviceText, adviceJson, adviceSql } from './advise/render.js';
export { loadIndexes } from './advise/load.js';

// series/: `tally series`, a definition's figures per period over a range (one statement).
export { computeSeries, type SeriesRequest } from './series/series.js';
export { seriesText, seriesCsv } from './series/render.js';
export { SERIES_EVERY, SERIES_KINDS, type SeriesEvery, type SeriesKind, type SeriesPoint, type SeriesResult, type SeriesOutcome } from './protocol.js';

// review/: `tally review`, the periodic review as data, one HTML page (inline SVG) and markdown.
//   const data = await buildReview(db, analysis, { asOf, every: 'week' });   // ReviewData (--format json)
//   renderReviewHtml(data) -> '<!doctype html>…<svg class="chart chart-line" data-chart="kpi" …>'
export { buildReview, reviewKpi, defaultFrom, type ReviewOptions } from './review/build.js';
export { renderReviewHtml, type ReviewHtmlOptions } from './review/html.js';
export { renderReviewMarkdown } from './review/markdown.js';
export { REVIEW_STAGES, type ReviewData, type ReviewKpi, type ReviewLifecycle, type ReviewCampaign, type ReviewDeploy, type ReviewStage, type ReviewParams, type ReviewResult } from './protocol.js';
// sync/: `tally sync` (activation: deliver audiences and their changes), `tally history --sync`.
//   kind: Sync  source: { segment: dormant }  fields: { traits: [ltv] }  mode: mirror  destination: crm
//   -> POST { sync, run, batch, changes: [{ idempotency_key, op: enter|exit|change, key, fields, changed }] }
export { runSync, type SyncResult, type SyncRunResult, type SyncOptions } from './sync/run.js';
export { readSyncHistory, type SyncHistory } from './sync/history.js';
export { syncText, syncHistoryText } from './sync/render.js';
