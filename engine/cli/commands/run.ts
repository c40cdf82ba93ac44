// tally run [--as-of T] [--campaign NAME] [--export csv|jsonl FILE] [--format text|json]:
// enroll campaign audiences as of T (append-only, one transaction), and optionally write the
// run's new outbox rows (what a channel sender needs) to a CSV or JSON Lines file.

import { writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { analyzeLive, CampaignError, outboxCsv, outboxJsonl, runText, runCampaigns, type RunResult } from '../../src/index.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

/** `--export csv FILE`, `--export jsonl FILE`, or `--export FILE.csv|FILE.jsonl`. */
function exportTarget(g: GlobalOptions, io: Io): { format: 'csv' | 'jsonl'; path: string } | undefined {
  const e = g.values.export;
  if (e === undefined) {
    if (g.positionals.length) throw new CliError(`tally run takes no arguments (got '${g.positionals[0]}'); use --campaign NAME`);
    return undefined;
  }
  if (typeof e !== 'string' || !e) throw new CliError('--export takes a format and a file: --export csv out.csv or --export jsonl out.jsonl');
  let format: 'csv' | 'jsonl';
  let file: string | undefined;
  if (e === 'csv' || e === 'jsonl') {
    format = e;
    file = g.positionals[0];
    if (g.positionals.length > 1) throw new CliError(`unexpected argument '${g.positionals[1]}'`);
  } else {
    file = e;
    if (!e.endsWith('.csv') && !e.endsWith('.jsonl')) throw new CliError(`--export '${e}': say csv or jsonl, e.g. --export csv out.csv`);
    format = e.endsWith('.csv') ? 'csv' : 'jsonl';
    if (g.positionals.length) throw new CliError(`unexpected argument '${g.positionals[0]}'`);
  }
  if (!file) throw new CliError(`--export ${format} needs a file: --export ${format} outbox.${format}`);
  return { format, path: resolvePath(io.cwd, file) };
}

export async function runRun(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const target = exportTarget(g, io);
  const only = g.values.campaign;
  if (only !== undefined && (typeof only !== 'string' || !only)) throw new CliError('--campaign takes a campaign name');
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const { analysis, catalog } = await analyzeLive(db, project, { now: g.asOf, eventTypes: false });
    const names = only ? [only] : analysis.ofKind('Campaign').map((i) => i.def.name);
    if (!names.length) {
      io.err('tally: the project has no campaigns (kind: Campaign); nothing to run');
      return EXIT_OK;
    }
    const errors = analysis.blockingErrors(names.filter((n) => analysis.get('Campaign', n)).map((name) => ({ kind: 'Campaign' as const, name })));
    if (errors.length) {
      io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
      io.err('campaigns with errors cannot run; fix them first (nothing enrolled)');
      return EXIT_FINDINGS;
    }
    let result: RunResult;
    try {
      result = await runCampaigns(db, analysis, { asOf: g.asOf, campaign: only, who: io.env.USER ?? null, catalog });
    } catch (e) {
      if (e instanceof CampaignError) {
        io.err(`tally: ${e.message}`);
        return e.code === 'not-found' ? 2 : EXIT_FINDINGS;
      }
      throw e;
    }
    if (result.refused) {
      // A run enrolls what is deployed: the diagnostics say which definition differs and where.
      io.err(diagnosticsText(result.diagnostics, project.root, io.cwd, (f) => project.file(f)?.text));
      io.err('tally run refused: the working copy differs from what is deployed, and a run enrolls only what is deployed (nothing enrolled)');
      if (format === 'json') io.out(JSON.stringify({ ...result, outbox: 0, export: null }, null, 2));
      return EXIT_FINDINGS;
    }
    if (target) writeFileSync(target.path, target.format === 'csv' ? outboxCsv(result.outbox) : outboxJsonl(result.outbox));
    if (format === 'json') io.out(JSON.stringify({ ...result, outbox: result.outbox.length, export: target ? { format: target.format, file: target.path, rows: result.outbox.length } : null, database: used }, null, 2));
    else io.out(runText(result, target));
    return result.campaigns.some((c) => c.status === 'out-of-order') ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    await db.close();
  }
}
