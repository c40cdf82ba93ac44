// tally history [--format text|json]: every recorded deploy, newest first, with what it recorded.
// tally history --kpi NAME: the KPI's recorded checks (value, pace line, status) over time.
// tally history --lifecycle NAME: its daily snapshots and the stage transitions between them.
// tally history --sync NAME: the sync's runs, failed attempts and dead letters.

import { readSyncHistory, syncHistoryText, deployHistoryText, kpiHistoryText, lifecycleHistoryText, readHistory, readKpiHistory, readLifecycleHistory, type KpiDef } from '../../src/index.js';
import { CliError } from '../io.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';

export async function runHistory(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const kpi = g.values.kpi;
    const lifecycle = g.values.lifecycle;
    if (typeof kpi === 'string' && typeof lifecycle === 'string') throw new CliError('pass --kpi or --lifecycle, not both');
    const sync = g.values.sync;
    if (typeof sync === 'string') {
      const h = await readSyncHistory(db, schema, sync);
      if (format === 'json') io.out(JSON.stringify({ schema, ...h, database: used }, null, 2));
      else io.out(syncHistoryText(h, schema));
      return EXIT_OK;
    }
    if (typeof kpi === 'string') {
      const points = await readKpiHistory(db, schema, kpi);
      if (format === 'json') io.out(JSON.stringify({ schema, kpi, checks: points, database: used }, null, 2));
      else io.out(kpiHistoryText(kpi, points, schema, points.length ? (project.analyze().get('Kpi', kpi)?.def as KpiDef | undefined) : undefined));
      return EXIT_OK;
    }
    if (typeof lifecycle === 'string') {
      const h = await readLifecycleHistory(db, schema, lifecycle);
      if (format === 'json') io.out(JSON.stringify({ schema, ...h, database: used }, null, 2));
      else io.out(lifecycleHistoryText(lifecycle, h));
      return EXIT_OK;
    }
    const history = await readHistory(db, schema);
    if (format === 'json') {
      io.out(JSON.stringify({ schema, deploys: history, database: used }, null, 2));
      return EXIT_OK;
    }
    io.out(deployHistoryText(history, schema));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
