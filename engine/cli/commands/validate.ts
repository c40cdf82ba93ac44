// tally validate: every diagnostic of the project, checked against the live catalog. A database
// the project names (--db, TALLY_DATABASE_URL, DATABASE_URL, warehouse.url) must be reachable
// (else exit 2); --offline validates without any; with none configured and the embedded one never
// loaded, catalog checks are skipped and said so.

import { sortDiagnostics, type Diagnostic, campaignDataLints, PROJECT_FILE } from '../../src/index.js';
import { analyzeWithCatalog, loadProjectOrFail } from '../context.js';
import { diagnosticsGithub, diagnosticsJson, diagnosticsSarif, diagnosticsText, summaryLine } from '../format-diagnostics.js';
import { EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runValidate(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'github', 'sarif']);
  const project = loadProjectOrFail(g, io);
  const { analysis, db, skipped, used } = await analyzeWithCatalog(g, project, io, { required: false });
  // Data lints need the data: campaigns whose audience is empty as of T (warnings).
  const dataLints = db ? await campaignDataLints(db, analysis, g.asOf).catch(() => []) : [];
  await db?.close();
  const diagnostics: Diagnostic[] = dataLints.length ? sortDiagnostics([...analysis.diagnostics, ...dataLints]) : [...analysis.diagnostics];
  if (skipped) {
    diagnostics.unshift({ file: PROJECT_FILE, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, severity: 'warning', code: 'db-unreachable', message: skipped });
  }
  const sources = (file: string) => (file === PROJECT_FILE ? undefined : project.file(file)?.text);
  switch (format) {
    case 'json':
      io.out(diagnosticsJson(diagnostics, { database: used }));
      break;
    case 'github':
      if (diagnostics.length) io.out(diagnosticsGithub(diagnostics, project.root, io.cwd));
      break;
    case 'sarif':
      io.out(diagnosticsSarif(diagnostics, project.root, io.cwd, '0.1.0', { database: used }));
      break;
    default: {
      if (diagnostics.length) io.out(diagnosticsText(diagnostics, project.root, io.cwd, sources));
      io.out(summaryLine(diagnostics, project.filePaths.length, analysis.definitions.length));
    }
  }
  return diagnostics.some((d) => d.severity === 'error') ? EXIT_FINDINGS : EXIT_OK;
}
