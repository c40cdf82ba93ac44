// tally report <campaign> [--as-of T] [--format text|json|markdown]: conversion per variant with
// 95% intervals, lift and p-values against the holdout, and the sample-ratio-mismatch check.

import { CampaignError, reportCampaign, type CampaignReport, type VersionReport } from '../../src/campaign/campaign.js';
import type { Interval } from '../../src/campaign/stats.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, formatNumber, table, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../main.js';
import { loadCatalog } from '../../src/db/catalog-load.js';

export async function runReport(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'markdown']);
  const [name, extra] = g.positionals;
  if (!name) throw new CliError('usage: tally report <campaign> [--as-of T] [--format text|json|markdown]');
  if (extra !== undefined) throw new CliError(`unexpected argument '${extra}'; usage: tally report <campaign>`);
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const catalog = await loadCatalog(db, project.analyze({ now: g.asOf }).definitions, { eventTypes: false });
    const analysis = project.analyze({ catalog, now: g.asOf });
    if (analysis.get('Campaign', name)) {
      const errors = analysis.blockingErrors([{ kind: 'Campaign', name }]);
      if (errors.length) {
        io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
        io.err(`campaign '${name}' has errors; fix them first`);
        return EXIT_FINDINGS;
      }
    }
    let r: CampaignReport;
    try {
      r = await reportCampaign(db, analysis, name, { asOf: g.asOf });
    } catch (e) {
      if (e instanceof CampaignError) {
        io.err(`tally: ${e.message}`);
        return e.code === 'not-found' ? 2 : EXIT_FINDINGS;
      }
      throw e;
    }
    if (format === 'json') io.out(JSON.stringify({ ...r, database: used }, null, 2));
    else io.out(reportText(r, format === 'markdown'));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)}%`);
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`;
const interval = (i: Interval | null) => (i ? `${pct(i.low)} – ${pct(i.high)}` : '–');
const signed = (i: Interval) => `${pts(i.low)} – ${pts(i.high)}`;
export function formatP(p: number | null): string {
  if (p === null) return '–';
  if (p < 0.0001) return p.toExponential(1);
  return p.toFixed(4);
}

function variantRows(variants: CampaignReport['variants']): string[][] {
  return variants.map((v) => [
    `${v.name}${v.holdout ? ' (holdout)' : ''}`,
    formatNumber(v.enrolled),
    v.converted === null ? '–' : formatNumber(v.converted),
    pct(v.rate),
    interval(v.interval),
    v.lift ? `${pts(v.lift.absolute)}${v.lift.relative !== null ? ` (${v.lift.relative >= 0 ? '+' : ''}${(v.lift.relative * 100).toFixed(0)}%)` : ''}` : '–',
    v.lift ? signed(v.lift.interval) : '–',
    formatP(v.p_value),
  ]);
}

const HEADERS = ['variant', 'enrolled', 'converted', 'rate', '95% CI', 'lift vs holdout', 'lift 95% CI', 'p-value'];

function mdTable(rows: string[][]): string[] {
  return [`| ${HEADERS.join(' | ')} |`, `|${HEADERS.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`, ...rows.map((row) => `| ${row.join(' | ')} |`)];
}

const versionHead = (v: VersionReport) =>
  `version ${v.version}: ${formatNumber(v.enrolled)} enrolled${v.fingerprints.length ? ` · fingerprint ${v.fingerprints.map((f) => f.slice(0, 12)).join(', ')}` : ''} · p-value${v.comparison ? ` (${v.comparison.treatment} vs ${v.comparison.holdout})` : ''}: ${formatP(v.p_value)}`;

export function reportText(r: CampaignReport, markdown: boolean): string {
  const rows = variantRows(r.variants);
  const goal = r.goal ? `goal: ${r.goal.event ?? `any ${r.goal.stream} event`} within ${r.goal.within}` : 'no goal';
  const head = `campaign ${r.campaign} (v${r.version}) as of ${r.as_of} · ${goal} · ${r.runs} run${r.runs === 1 ? '' : 's'}`;
  const headline = r.comparison ? `p-value (${r.comparison.treatment} vs ${r.comparison.holdout}, two-sided pooled z-test): ${formatP(r.p_value)}` : 'p-value: – (no comparison against a holdout)';
  const srm = r.srm
    ? `sample ratio: chi-square ${r.srm.chi_square.toFixed(2)} (df ${r.srm.df}), p = ${formatP(r.srm.p_value)}${r.srm.mismatch ? ' · MISMATCH' : ' · ok'}`
    : 'sample ratio: – (not enough enrollments)';
  const perVersion = r.spans_versions ? r.versions : [];
  if (markdown) {
    const md = [`### Campaign \`${r.campaign}\` (v${r.version})`, '', `As of ${r.as_of} · ${goal} · ${r.runs} runs${perVersion.length ? ` · all versions (${perVersion.map((v) => v.version).join(', ')})` : ''}`, '', ...mdTable(rows)];
    md.push('', `**${headline}**`, '', `${r.srm?.mismatch ? '⚠️ ' : ''}${srm}`);
    for (const v of perVersion) md.push('', `#### ${versionHead(v)}`, '', ...mdTable(variantRows(v.variants)));
    if (r.notes.length) md.push('', ...r.notes.map((n) => `- ${n}`));
    return md.join('\n');
  }
  const out = [head, '', table(HEADERS, rows), '', headline, srm];
  for (const v of perVersion) out.push('', versionHead(v), table(HEADERS, variantRows(v.variants)));
  return [...out, ...r.notes.map((n) => `note: ${n}`)].join('\n');
}
