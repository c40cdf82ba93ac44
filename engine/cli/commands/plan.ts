// tally plan [--allow-drop] [--ref GIT-REF] [--timeout MS] [--format text|markdown|json]: what `tally deploy` would
// change, per definition, with its impact on the live data as of T (members entering and leaving,
// stage moves, KPI value and status before and after). Reads only. Exit 1 when the project has
// errors (a definition referring to a column the database no longer has, say) or the version rules
// would refuse the deploy; the markdown is made for a pull-request comment or a job summary.
// --fail-on unmeasured: also exit 1 when an impact could not be measured (a timeout, a query the
// database refused); --fail-on none (the default) only reports it.

import { planProject, blockedPlanMarkdown, planJson, planMarkdown, planText, unmeasuredCount } from '../../src/index.js';
import { diagnosticsJson, diagnosticsText, summaryLine } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../options.js';
import { analyzeAt } from '../context.js';
import { renderRaw } from '../format-diagnostics.js';

export async function runPlan(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'markdown', 'json']);
  if (g.positionals.length) throw new CliError(`tally plan takes no arguments (got '${g.positionals[0]}'); it plans the whole project`);
  const timeout = timeoutOption(g);
  const failOn = g.values['fail-on'];
  if (failOn !== undefined && failOn !== 'unmeasured' && failOn !== 'none') throw new CliError(`--fail-on for tally plan takes 'unmeasured' or 'none' (got '${String(failOn)}')`);
  const { at, analysis, db, catalog, used } = await analyzeAt(g, io);
  const project = at.project;
  const sources = (f: string) => project.file(f)?.text;
  try {
    if (analysis.errorCount > 0) {
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
      const summary = `${summaryLine(analysis.diagnostics, project.filePaths.length, analysis.definitions.length)}; nothing planned: deploy would refuse this project`;
      if (format === 'json') io.out(JSON.stringify({ refused: true, changes: [], diagnostics: JSON.parse(diagnosticsJson(errors)).diagnostics, database: used }, null, 2));
      else if (format === 'markdown') io.out(blockedPlanMarkdown(errors));
      if (format !== 'json') io.err(diagnosticsText(errors, at.shownRoot, io.cwd, sources));
      io.err(summary);
      return EXIT_FINDINGS;
    }
    const plan = await planProject(db!, analysis, {
      schema: project.config.deploySchema,
      asOf: g.asOf,
      allowDrop: g.values['allow-drop'] === true,
      timeoutMs: timeout,
      catalog,
      rollback: at.ref !== undefined,
    });
    const diagnostics = renderRaw(project, plan.diagnostics);
    if (format === 'json') io.out(JSON.stringify({ ...(planJson(plan, JSON.parse(diagnosticsJson(diagnostics)).diagnostics) as object), database: used }, null, 2));
    else if (format === 'markdown') io.out(planMarkdown(plan, analysis));
    else {
      if (diagnostics.length) (plan.refused ? io.err : io.out)(diagnosticsText(diagnostics, at.shownRoot, io.cwd, sources));
      io.out(planText(plan, analysis));
    }
    if (plan.refused) return EXIT_FINDINGS;
    const unmeasured = unmeasuredCount(plan);
    if (unmeasured && failOn === 'unmeasured') {
      io.err(`tally plan: ${unmeasured} impact${unmeasured === 1 ? '' : 's'} not measured (--fail-on unmeasured)`);
      return EXIT_FINDINGS;
    }
    return EXIT_OK;
  } finally {
    await db?.close();
    at.cleanup();
  }
}
