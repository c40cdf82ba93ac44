// tally snapshot [--as-of T] [--format text|json]: records the day's stage distribution of every
// deployed lifecycle, and each entity whose stage changed since its last record (recorded.ts).
// Run it daily (a scheduled CI job); `tally deploy` takes one too. Idempotent per day.

import { deployLockKey } from '../../src/state/locks.js';
import { ensureState } from '../../src/state/ddl.js';
import { takeLifecycleSnapshot } from '../../src/deploy/snapshot.js';
import { loadCatalog } from '../../src/db/catalog-load.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../main.js';

export async function runSnapshot(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  if (g.positionals.length) throw new CliError(`tally snapshot takes no arguments (got '${g.positionals[0]}')`);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const catalog = await loadCatalog(db, project.analyze().definitions, { eventTypes: false });
    const result = await db.transaction(async (tx) => {
      await tx.query(`select pg_advisory_xact_lock(${deployLockKey(schema)}::bigint)`);
      await ensureState(tx, schema);
      return takeLifecycleSnapshot(tx, project, { schema, asOf: g.asOf, catalog });
    });
    if (format === 'json') io.out(JSON.stringify({ schema, ...result, database: used }, null, 2));
    else {
      const lines = [`lifecycle snapshot for ${result.day} in schema ${schema}`];
      for (const t of result.taken) lines.push(`  ${t.lifecycle} v${t.version}: ${Object.entries(t.stages).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')} (${t.changed.toLocaleString('en-US')} changed stage since the last record)`);
      for (const n of result.skipped) lines.push(`  ${n}: already recorded for ${result.day}`);
      for (const p of result.problems) lines.push(`  skipped ${p}`);
      if (!result.taken.length && !result.skipped.length && !result.problems.length) lines.push('  no lifecycle is deployed: run `tally deploy` first');
      io.out(lines.join('\n'));
    }
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
