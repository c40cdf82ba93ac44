// Renderings of the campaign room's results: `tally run`'s text and its outbox exports (CSV,
// JSON lines: the rows a channel sender reads), and `tally report`'s text and markdown (conversion
// per variant with intervals, lift and p-values against the holdout, the sample-ratio check).

import { formatNumber, table } from '../text-table.js';
import type { CampaignReport, VersionReport } from './report.js';
import type { OutboxRow, RunResult } from './run.js';
import type { Interval } from './stats.js';

const OUTBOX_COLUMNS: (keyof OutboxRow)[] = ['run_id', 'campaign', 'version', 'channel', 'variant', 'entity_key', 'enrolled_at'];

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The outbox rows as CSV (a header line, RFC 4180 quoting). */
export function outboxCsv(rows: readonly OutboxRow[]): string {
  return [OUTBOX_COLUMNS.join(','), ...rows.map((r) => OUTBOX_COLUMNS.map((c) => csvField(r[c])).join(','))].join('\n') + '\n';
}

/** The outbox rows as JSON lines. */
export function outboxJsonl(rows: readonly OutboxRow[]): string {
  return rows.map((r) => JSON.stringify(Object.fromEntries(OUTBOX_COLUMNS.map((c) => [c, r[c]])))).join('\n') + (rows.length ? '\n' : '');
}

/** `tally run`'s text: per campaign what was enrolled or why not; `target`: where the outbox was exported. */
export function runText(r: RunResult, target?: { format: string; path: string }): string {
  const lines = [`tally run as of ${r.as_of}`];
  for (const c of r.campaigns) {
    if (c.status !== 'enrolled') {
      lines.push(`  ${c.campaign} (v${c.version}, ${c.channel}): ${c.status.replace(/-/g, ' ')}: ${c.message ?? ''}`);
      continue;
    }
    const split = c.variants.map((v) => `${v.name}${v.holdout ? ' (holdout)' : ''} ${formatNumber(v.count)}`).join(', ');
    const held = Object.entries(c.held_back)
      .filter(([, n]) => n > 0)
      .map(([k, n]) => `${k.replace('_', ' ')} ${formatNumber(n)}`)
      .join(', ');
    lines.push(`  ${c.campaign} (v${c.version}, ${c.channel}): enrolled ${formatNumber(c.enrolled)} of ${formatNumber(c.segment)} in the segment, ${formatNumber(c.sent)} to send (run ${c.run_id})`);
    lines.push(`    variants: ${split}`);
    if (held) lines.push(`    held back: ${held}`);
    if (c.trigger_window) lines.push(`    triggers in (${c.trigger_window.from}, ${c.trigger_window.to}]`);
  }
  if (target) lines.push(`outbox: ${formatNumber(r.outbox.length)} row${r.outbox.length === 1 ? '' : 's'} written to ${target.path} (${target.format})`);
  else lines.push(`outbox: ${formatNumber(r.outbox.length)} new row${r.outbox.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

const pct = (v: number | null | undefined, digits = 1) => (v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)}%`);
const pts = (v: number) => `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)} pts`;
const interval = (i: Interval | null) => (i ? `${pct(i.low)} – ${pct(i.high)}` : '–');
const signed = (i: Interval) => `${pts(i.low)} – ${pts(i.high)}`;
/** A p-value as shown: four decimals, or scientific below 0.0001. */
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

/** `tally report`'s text, or markdown (a PR comment or job summary). */
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
