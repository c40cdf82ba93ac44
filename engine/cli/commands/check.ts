// tally check: every KPI's status as of T, for CI. Formats: text (a table), json (the contract
// `{"kpis":[{"name","value","status"}...]}` plus extra fields), junit, markdown (a PR comment or
// job summary) and github (workflow annotations at each KPI's `name:`). Exit 1 when a KPI's status
// is in --fail-on (default failed,missed) or a KPI has errors; --fail-on none never fails on a status.
// Each evaluated KPI's value is appended to <deploy schema>.kpi_checks (unless --no-record), so
// `tally history --kpi NAME` and the editor can chart it against its pace line.

import { analyzeLive, checkFails, checkGithub, checkJson, checkJunit, checkKpis, checkMarkdown, checkText, kpiErrorDiagnostics, parseFailOn, recordCheckHistory, type Analysis, type CheckResult, type RenderContext } from '../../src/index.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { gitCommit } from '../git.js';
import { diagnosticsGithub, diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../options.js';

export const CHECK_FORMATS = ['text', 'json', 'junit', 'markdown', 'github'];

export async function runCheck(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, CHECK_FORMATS);
  if (g.positionals.length) throw new CliError(`tally check takes no arguments (got '${g.positionals[0]}'); it checks every KPI of the project`);
  const failOnArg = g.values['fail-on'];
  const failOn = parseFailOn(typeof failOnArg === 'string' ? failOnArg : undefined);
  if ('error' in failOn) throw new CliError(failOn.error);
  const timeout = timeoutOption(g);

  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  let analysis: Analysis;
  let result: CheckResult;
  try {
    ({ analysis } = await analyzeLive(db, project, { now: g.asOf, eventTypes: false }));
    result = await checkKpis(db, analysis, { asOf: g.asOf, timeoutMs: timeout });
    if (g.values['no-record'] !== true && result.kpis.length) {
      // Append the values to the KPI history (kpi/recorded.ts); a read-only database is not a failure.
      const schema = project.config.deploySchema;
      try {
        await recordCheckHistory(db, analysis, result, { schema, who: io.env.USER ?? process.env.USER ?? null, gitCommit: gitCommit(project.root) });
      } catch (e) {
        io.err(`tally: KPI values not recorded in ${schema}.kpi_checks: ${(e as Error).message} (pass --no-record to skip recording)`);
      }
    }
  } finally {
    await db.close();
  }

  const errors = kpiErrorDiagnostics(analysis);
  if (errors.length) {
    if (format === 'github') io.out(diagnosticsGithub(errors, project.root, io.cwd));
    else io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
  }
  for (const k of result.invalid) io.err(`tally: kpi '${k.name}' has errors; fix them first (not checked)`);

  const ctx: RenderContext = { analysis, root: project.root, cwd: io.cwd, failOn: failOn.statuses };
  switch (format) {
    case 'json':
      io.out(JSON.stringify({ ...(checkJson(result, ctx) as object), database: used }, null, 2));
      break;
    case 'junit':
      io.out(checkJunit(result, ctx));
      break;
    case 'markdown':
      io.out(checkMarkdown(result, ctx));
      break;
    case 'github': {
      const lines = checkGithub(result, ctx);
      if (lines) io.out(lines);
      break;
    }
    default:
      io.out(checkText(result, ctx));
  }
  return checkFails(result, failOn.statuses) ? EXIT_FINDINGS : EXIT_OK;
}
