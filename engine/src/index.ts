// The engine's public facade: the CLI, the language server and tests import only this.
//
//   const project = Project.load('examples/shop');            // or new Project(root, tallyYaml) + setFile()
//   const analysis = project.analyze({ catalog });            // diagnostics, IR, fingerprints
//   analysis.sqlFor('Segment', 'high_value_dormant', { asOf: { kind: 'now' }, literals: 'inline' })
//     -> { sql: 'select "e"."id" as key from "customers" as "e" where ... and exists (select 1 from "events" as "ev" ...)' }
//   await preview(db, analysis, 'segment', 'high_value_dormant', { asOf })  -> { count, sample, ... }

export { Project, Analysis, PROJECT_FILE, CANONICAL_SQL, toDiagnostic, type DefinitionInfo, type SourceFile, type AnalyzeOptions } from './project.js';
export type { Diagnostic, RawDiagnostic, Range, Position, Severity, Span } from './diagnostics.js';
export { LineIndex, DiagnosticSink, sortDiagnostics } from './diagnostics.js';
export * from './model/types.js';
export type { Catalog, CatalogTable, CatalogColumn } from './resolve/catalog.js';
export type { RefSite, ResolvedDefinition } from './resolve/resolve.js';
export { compare } from './resolve/resolve.js';
export { closest, didYouMean } from './resolve/suggest.js';
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
  compileQuery,
  chooseStrategy,
  type SqlOptions,
  type Strategy,
  type CompiledQuery,
} from './sql/compile.js';
export { formatSql } from './sql/format.js';
export { connect, parseDbUrl, redactUrl, DbError, type Db, type DbKind } from './db/db.js';
export { connectInWorker } from './db/thread.js';
export { resolveDatabaseUrl, interpolateEnv, unsetVariablesMessage, databaseDescription, type ResolvedUrl } from './db/connection.js';
export { redactSecrets } from './redact.js';
export { loadCatalog } from './db/catalog-load.js';
export { preview, paramOptions, maskValue, PreviewError, PREVIEW_KINDS, type Preview, type PreviewKind } from './preview/preview.js';
export { evaluateKpi, deadlineOf, type KpiStatus, type KpiEvaluation } from './kpi/status.js';
export { parseDuration, parseInstant, describeDuration, type Duration } from './time.js';
export { parseYamlDocuments } from './syntax/load-yaml.js';
export { SCHEMAS, COMMON_SCHEMA, PROJECT_SCHEMA } from './syntax/schemas.js';
export { LanguageService, SNIPPETS, type CompletionItem, type HoverResult, type SourceLocation, type SymbolInfo, type RenameResult, type LiveSummary } from './service/language-service.js';
export { formatKpiValue, kpiFormat } from './kpi/status.js';
export { deploy } from './deploy/deploy.js';
export { readDeployed } from './state/deployed.js';
export { previewCampaign, runCampaigns, reportCampaign, campaignDataLints, CampaignError, type CampaignPreview, type CampaignReport, type VersionReport, type RunResult } from './campaign/campaign.js';
export { assignmentHash, assignmentUnit, assignVariant, cumulativeShares } from './campaign/assign.js';
export { planProject, type Plan, type PlanItem, type PlanOptions, type Impact } from './deploy/plan.js';
export { planText, planMarkdown, planJson, blockedPlanMarkdown } from './deploy/plan-render.js';
export { checkKpis, checkFails, parseFailOn, kpiErrorDiagnostics, DEFAULT_FAIL_ON, type CheckResult, type KpiCheck } from './kpi/check.js';
export { checkText, checkJson, checkMarkdown, kpiSentence, type RenderContext } from './kpi/render.js';
