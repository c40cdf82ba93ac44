// tally history [--format text|json]: every recorded deploy, newest first, with what it recorded.
// tally history --kpi NAME: the KPI's recorded checks (value, pace line, status) over time.
// tally history --lifecycle NAME: its daily snapshots and the stage transitions between them.

import { readHistory } from '../../src/state/deployed.js';
import { readKpiHistory } from '../../src/kpi/recorded.js';
import { readLifecycleHistory } from '../../src/deploy/snapshot.js';
import { CliError, formatNumber } from '../io.js';
import { formatKpiValue } from '../../src/kpi/status.js';
import type { KpiDef } from '../../src/model/types.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../main.js';

export async function runHistory(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const kpi = g.values.kpi;
    const lifecycle = g.values.lifecycle;
    if (typeof kpi === 'string' && typeof lifecycle === 'string') throw new CliError('pass --kpi or --lifecycle, not both');
    if (typeof kpi === 'string') {
      const points = await readKpiHistory(db, schema, kpi);
      if (format === 'json') io.out(JSON.stringify({ schema, kpi, checks: points, database: used }, null, 2));
      else if (!points.length) io.out(`no checks of kpi '${kpi}' recorded in ${schema}.kpi_checks yet: \`tally check\` records them`);
      else {
        const def = project.analyze().get('Kpi', kpi)?.def as KpiDef | undefined;
        const show = (v: number | null) => (def ? formatKpiValue(def, v) : v === null ? 'no data' : formatNumber(v));
        io.out([`kpi ${kpi}: ${points.length} recorded check${points.length === 1 ? '' : 's'}`, ...points.map((p) => `  ${p.as_of}  ${show(p.value)}  ${p.status}${p.expected === null ? '' : `  (pace ${show(p.expected)})`}${p.version === null ? '' : `  v${p.version}`}`)].join('\n'));
      }
      return EXIT_OK;
    }
    if (typeof lifecycle === 'string') {
      const h = await readLifecycleHistory(db, schema, lifecycle);
      if (format === 'json') io.out(JSON.stringify({ schema, ...h, database: used }, null, 2));
      else if (!h.days.length) io.out(`no snapshots of lifecycle '${lifecycle}' recorded yet: \`tally deploy\` and \`tally snapshot\` take them`);
      else {
        const lines = [`lifecycle ${lifecycle}: ${h.days.length} daily snapshot${h.days.length === 1 ? '' : 's'}`];
        for (const d of h.days) lines.push(`  ${d.day}  ${Object.entries(d.stages).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}`);
        for (const t of h.transitions) {
          lines.push(`  ${t.from_day} -> ${t.to_day}: ${t.moves.length ? t.moves.map((m) => `${m.from ?? '(new)'} -> ${m.to ?? '(gone)'} ${m.entities.toLocaleString('en-US')}`).join(', ') : 'no one changed stage'}`);
        }
        io.out(lines.join('\n'));
      }
      return EXIT_OK;
    }
    const history = await readHistory(db, schema);
    if (format === 'json') {
      io.out(JSON.stringify({ schema, deploys: history, database: used }, null, 2));
      return EXIT_OK;
    }
    if (!history.length) {
      io.out(`no deploys recorded in schema ${schema} yet`);
      return EXIT_OK;
    }
    const lines: string[] = [];
    for (const d of history) {
      lines.push(`#${d.id}  ${d.at}  ${d.who ?? 'unknown'}${d.git_commit ? `  ${d.git_commit.slice(0, 12)}` : ''}  tally ${d.tally_version ?? '?'}`);
      for (const x of d.definitions) {
        lines.push(x.dropped ? `    - ${x.kind} ${x.name} v${x.version} (dropped)` : `    ${x.kind} ${x.name} v${x.version}  ${x.fingerprint!.slice(0, 12)}`);
      }
    }
    io.out(lines.join('\n'));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
