// tally sync [--sync NAME] [--as-of T] [--dry-run] [--format text|json]: deliver each deployed
// sync's changes (entered, exited, changed since the last delivered state) to its destination.
// Exit 0: everything delivered (or nothing to do); 1: refused (the working copy differs from what
// is deployed, an unset secret variable), or changes rejected or dead-lettered; 2: a destination
// that cannot be reached (nothing more was sent; the rest stays pending for the next run).

import { analyzeLive, runSync, syncText } from '../../src/index.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runSyncCommand(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  if (g.positionals.length) throw new CliError(`tally sync takes no arguments (got '${g.positionals[0]}'); use --sync NAME`);
  const only = g.values.sync;
  if (only !== undefined && (typeof only !== 'string' || !only)) throw new CliError('--sync takes a sync name');
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const { analysis, catalog } = await analyzeLive(db, project, { now: g.asOf, eventTypes: false });
    const all = analysis.ofKind('Sync').map((i) => i.def.name);
    if (only && !all.includes(only)) throw new CliError(`no sync named '${only}'${all.length ? ` (syncs: ${all.join(', ')})` : '; the project has no kind: Sync'}`);
    const names = only ? [only] : all;
    if (!names.length) {
      io.err('tally: the project has no syncs (kind: Sync); nothing to deliver');
      return EXIT_OK;
    }
    const errors = analysis.blockingErrors(names.map((name) => ({ kind: 'Sync' as const, name })));
    if (errors.length) {
      io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
      io.err('syncs with errors cannot run; fix them first (nothing sent)');
      return EXIT_FINDINGS;
    }
    const result = await runSync(db, analysis, { asOf: g.asOf, sync: only, dryRun: g.values['dry-run'] === true, who: io.env.USER ?? null, catalog, env: io.env });
    if (result.refused) {
      io.err(diagnosticsText(result.diagnostics, project.root, io.cwd, (f) => project.file(f)?.text));
      io.err('tally sync refused: nothing was computed or sent (a sync delivers only what is deployed, with its secrets set)');
    }
    if (format === 'json') io.out(JSON.stringify({ ...result, database: used }, null, 2));
    else io.out(syncText(result));
    if (result.refused) return EXIT_FINDINGS;
    if (result.syncs.some((s) => s.status === 'failed')) return EXIT_USAGE;
    return result.syncs.some((s) => s.status === 'partial') ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    await db.close();
  }
}
