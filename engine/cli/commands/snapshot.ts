// tally snapshot [--as-of T] [--format text|json]: records the day's stage distribution of every
// deployed lifecycle, and each entity whose stage changed since its last record (deploy/snapshot.ts).
// Run it daily (a scheduled CI job); `tally deploy` takes one too. Idempotent per day.

import { analyzeLive, snapshotLifecycles, snapshotText } from '../../src/index.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runSnapshot(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  if (g.positionals.length) throw new CliError(`tally snapshot takes no arguments (got '${g.positionals[0]}')`);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const { catalog } = await analyzeLive(db, project, { now: g.asOf, eventTypes: false });
    const result = await snapshotLifecycles(db, project, { schema, asOf: g.asOf, catalog });
    if (format === 'json') io.out(JSON.stringify({ schema, ...result, database: used }, null, 2));
    else io.out(snapshotText(result, schema));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
