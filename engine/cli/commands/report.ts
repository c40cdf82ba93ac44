// tally report <campaign> [--as-of T] [--format text|json|markdown]: conversion per variant with
// 95% intervals, lift and p-values against the holdout, and the sample-ratio-mismatch check.
// A campaign with no enrollments as of T (never run, or its runs enrolled nobody) is reported as such
// (`status: "no-enrollments"`, a note, a warning on stderr); it still exits 0: an empty report is an
// answer, not a finding (scripts that report right after a run that enrolled nobody keep working).

import { CampaignError, reportText, reportCampaign, type CampaignReport } from '../../src/index.js';
import { printBlockingErrors, withLiveAnalysis } from '../context.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runReport(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'markdown']);
  const [name, extra] = g.positionals;
  if (!name) throw new CliError('usage: tally report <campaign> [--as-of T] [--format text|json|markdown]');
  if (extra !== undefined) throw new CliError(`unexpected argument '${extra}'; usage: tally report <campaign>`);
  return withLiveAnalysis(g, io, async (live) => {
    const { db, used, analysis } = live;
    if (analysis.get('Campaign', name) && printBlockingErrors(io, live, [{ kind: 'Campaign', name }], `campaign '${name}' has errors; fix them first`)) return EXIT_FINDINGS;
    let r: CampaignReport;
    try {
      r = await reportCampaign(db, analysis, name, { asOf: g.asOf });
    } catch (e) {
      if (e instanceof CampaignError) {
        io.err(`tally: ${e.message}`);
        return e.code === 'not-found' ? 2 : EXIT_FINDINGS;
      }
      throw e;
    }
    if (format === 'json') io.out(JSON.stringify({ ...r, database: used }, null, 2));
    else io.out(reportText(r, format === 'markdown'));
    if (r.status === 'no-enrollments') {
      io.err(`tally report: warning: campaign '${r.campaign}' has no enrollments as of ${r.as_of}: nothing to report; run \`tally run\` first`);
    }
    return EXIT_OK;
  });
}
