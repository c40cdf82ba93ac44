// tally review [--out review.html] [--from D --to D --every week|month|day] [--as-of T]
//              [--format html|markdown|json]: the periodic review (engine/src/review/): KPIs by
// funnel stage against their pace line and target, lifecycles, cohorts, funnels, campaigns and
// what was deployed. Written to --out (the format follows its extension when --format is not
// given), else printed.

import { writeFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { buildReview, isDay, renderReviewHtml, renderReviewMarkdown, SERIES_EVERY, type SeriesEvery } from '../../src/index.js';
import { withLiveAnalysis } from '../context.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../options.js';

function dayOption(g: GlobalOptions, name: 'from' | 'to'): string | undefined {
  const v = g.values[name];
  if (v === undefined) return undefined;
  const text = String(v);
  if (!isDay(text)) {
    throw new CliError(`--${name} takes a day, e.g. --${name} 2026-10-01 (got '${text}')`);
  }
  return text;
}

export async function runReview(g: GlobalOptions, io: Io): Promise<number> {
  if (g.positionals.length) throw new CliError(`unexpected argument '${g.positionals[0]}'; usage: tally review [--out review.html] [--from D --to D --every week|month|day] [--format html|markdown|json]`);
  const outArg = g.values.out;
  if (outArg !== undefined && (typeof outArg !== 'string' || !outArg)) throw new CliError('--out takes a file name, e.g. --out review.html');
  const byExtension = typeof outArg === 'string' ? (/\.md$/i.test(outArg) ? 'markdown' : /\.json$/i.test(outArg) ? 'json' : 'html') : 'html';
  const format = checkFormat(g, ['html', 'markdown', 'json'], byExtension);
  const everyText = g.values.every === undefined ? 'week' : String(g.values.every);
  if (!(SERIES_EVERY as readonly string[]).includes(everyText)) throw new CliError(`--every takes one of: ${SERIES_EVERY.join(', ')} (got '${everyText}')`);
  const from = dayOption(g, 'from');
  const to = dayOption(g, 'to');
  if (from && to && from > to) throw new CliError(`--from ${from} is after --to ${to}`);
  const timeoutMs = timeoutOption(g, 60_000);
  return withLiveAnalysis(g, io, async ({ db, used, analysis }) => {
    const data = await buildReview(db, analysis, { asOf: g.asOf, from, to, every: everyText as SeriesEvery, timeoutMs });
    const text = format === 'json' ? JSON.stringify({ ...data, database: used }, null, 2) : format === 'markdown' ? renderReviewMarkdown(data) : renderReviewHtml(data);
    if (typeof outArg === 'string') {
      const path = resolvePath(io.cwd, outArg);
      writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`);
      io.err(`tally: wrote the review (${format}, ${data.stages.reduce((n, s) => n + s.kpis.length, 0)} KPIs, every ${data.every}, ${data.from.slice(0, 10)} to ${data.to.slice(0, 10)}) to ${outArg}`);
    } else io.out(text);
    return EXIT_OK;
  });
}
