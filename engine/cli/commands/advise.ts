// tally advise [--format text|json|sql]: the indexes that would serve the project's queries, derived
// from its IR (engine/src/advise/), compared with the live database's indexes when one is
// reachable, each with why and which definitions use it. Tally never creates them: `--format sql`
// prints a script to review and apply.

import { adviseIndexes, adviceJson, adviceSql, adviceText, toDiagnostic, loadIndexes } from '../../src/index.js';
import { analyzeWithCatalog, loadProjectOrFail } from '../context.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runAdvise(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'sql']);
  if (g.positionals.length) throw new CliError(`tally advise takes no arguments (got '${g.positionals[0]}'); it advises for the whole project`);
  const project = loadProjectOrFail(g, io);
  const { analysis, db, skipped, used } = await analyzeWithCatalog(g, project, io, { required: false });
  let catalog;
  try {
    catalog = db ? await loadIndexes(db) : undefined;
  } finally {
    await db?.close();
  }
  if (skipped) io.err(`tally: ${skipped}; the advice is not compared with existing indexes`);
  const advice = adviseIndexes(analysis.infos, catalog);
  const notes = advice.notes.flatMap((n) => {
    const f = project.file(n.file);
    return f ? [toDiagnostic(n, f.lines)] : [];
  });
  const view = { advice, notes, connected: Boolean(catalog), skipped: analysis.infos.filter((i) => i.hasErrors || i.resolved.broken).length };
  if (format === 'json') io.out(JSON.stringify({ ...(adviceJson(view) as object), database: used }, null, 2));
  else if (format === 'sql') io.out(adviceSql(view));
  else io.out(adviceText(view));
  return EXIT_OK;
}
