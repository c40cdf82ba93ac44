// tally series kpi|segment|lifecycle|score NAME --from D --to D --every day|week|month:
// a definition's figures per period, each as of the period's end, in one statement.

import { computeSeries, KIND_OF, SERIES_KINDS, seriesCsv, seriesText, type SeriesEvery, type SeriesKind } from '../../src/index.js';
import { printBlockingErrors, withLiveAnalysis } from '../context.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../options.js';

/** How far back `--from` defaults to from `--to`, per period: 30 days, 12 weeks, 12 months. */
const DEFAULT_SPAN_DAYS: Record<string, number> = { day: 30, week: 7 * 12, month: 365 };

export async function runSeries(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'csv']);
  const [kindArg, name] = g.positionals;
  if (!kindArg || !name) throw new CliError(`usage: tally series <${SERIES_KINDS.join('|')}> NAME [--from DATE] [--to DATE] [--every day|week|month]`);
  if (!(SERIES_KINDS as readonly string[]).includes(kindArg)) throw new CliError(`cannot compute a series of '${kindArg}'; kinds: ${SERIES_KINDS.join(', ')}`);
  const kind = kindArg as SeriesKind;
  const every = String(g.values.every ?? 'week') as SeriesEvery;
  const to = String(g.values.to ?? g.asOf.toISOString());
  const from = String(g.values.from ?? new Date(g.asOf.getTime() - (DEFAULT_SPAN_DAYS[every] ?? 84) * 86_400_000).toISOString());
  const timeout = timeoutOption(g);

  return withLiveAnalysis(g, io, async (live) => {
    const { db, used, analysis } = live;
    if (printBlockingErrors(io, live, [{ kind: KIND_OF[kind], name }], `${kind} '${name}' has errors; fix them first`)) return EXIT_FINDINGS;
    const { result, diagnostics } = await computeSeries(db, analysis, { kind, name, from, to, every, timeoutMs: timeout });
    if (!result) {
      if (format === 'json') io.out(JSON.stringify({ diagnostics, database: used }, null, 2));
      for (const d of diagnostics) io.err(`tally: ${d.message} [${d.code}]`);
      return diagnostics.some((d) => d.code === 'series-invalid') ? EXIT_FINDINGS : EXIT_USAGE;
    }
    if (format === 'json') {
      const { sql: _sql, ...rest } = result;
      io.out(JSON.stringify({ ...rest, database: used }, null, 2));
    } else if (format === 'csv') io.out(seriesCsv(result).replace(/\n$/, ''));
    else io.out(seriesText(result));
    return EXIT_OK;
  });
}
