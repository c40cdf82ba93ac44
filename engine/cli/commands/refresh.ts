// tally refresh [--format text|json]: rebuilds the deployed `materialize: table` definitions from
// their recorded SQL, each swapped in atomically (readers never see a half-built table), under the
// deploy lock. Run it on a schedule; views need no refresh.

import { refreshTables } from '../../src/index.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runRefresh(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  if (g.positionals.length) throw new CliError(`tally refresh takes no arguments (got '${g.positionals[0]}')`);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const result = await refreshTables(db, schema);
    if (format === 'json') io.out(JSON.stringify({ schema, ...result, database: used }, null, 2));
    else if (!result.tables.length) io.out(`nothing to refresh: no deployed definition in schema ${schema} has \`materialize: table\``);
    else io.out([`refreshed ${result.tables.length} table${result.tables.length === 1 ? '' : 's'}`, ...result.tables.map((t) => `  ${t.name}: ${t.rows.toLocaleString('en-US')} rows`)].join('\n'));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
