// Series for people and spreadsheets: a text table and CSV (JSON is the SeriesResult itself).
// One row per period: its start (the local date in the project time zone), the instant it is
// evaluated as of (`at`, its end), the value, a KPI's pace line and status, then one column per group.

import type { SeriesResult } from '../protocol.js';
import { formatValueAs } from '../format-values.js';
import { table } from '../text-table.js';

/** The local date (YYYY-MM-DD) of an instant in a time zone. */
function localDate(iso: string, tz: string): string {
  try {
    return new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(new Date(iso));
  } catch {
    return iso.slice(0, 10);
  }
}

function headers(r: SeriesResult): string[] {
  const kpi = r.kind === 'kpi';
  const value = kpi ? 'value' : r.kind === 'segment' ? 'members' : r.kind === 'lifecycle' ? 'entities' : 'with value';
  return ['period', 'as of (end)', value, ...(kpi ? ['pace', 'status'] : []), ...(r.groups ?? [])];
}

export function seriesText(r: SeriesResult): string {
  const kpi = r.kind === 'kpi';
  const fmt = (v: number | null | undefined) => (kpi ? formatValueAs(v ?? null, r.format) : v ?? null);
  const lines = [`${r.kind} ${r.name}: ${r.points.length} ${r.every === 'day' ? 'days' : `${r.every}s`} from ${r.from} to ${r.to} (periods in ${r.timezone}; each evaluated as of its end)`];
  if (r.target) lines.push(`target: ${r.target.op} ${Array.isArray(r.target.value) ? r.target.value.map((v) => formatValueAs(v, r.format)).join('..') : formatValueAs(r.target.value, r.format)}${r.target.by ? ` by ${r.target.by}` : ''}`);
  if (r.baseline) lines.push(`baseline: ${formatValueAs(r.baseline.value, r.format)} on ${r.baseline.on}`);
  if (r.pace) lines.push(`pace line: ${formatValueAs(r.pace.from.value, r.format)} at ${r.pace.from.at} to ${formatValueAs(r.pace.to.value, r.format)} at ${r.pace.to.at}`);
  if (r.owner) lines.push(`owner: ${r.owner}`);
  const rows = r.points.map((p) => [
    localDate(p.start, r.timezone),
    p.at,
    fmt(p.value),
    ...(kpi ? [p.pace === undefined || p.pace === null ? '' : fmt(p.pace), p.status ?? ''] : []),
    ...(r.groups ?? []).map((g) => fmt(p.groups?.[g] ?? null)),
  ]);
  lines.push('', r.points.length ? table(headers(r), rows) : '(no periods)');
  return lines.join('\n');
}

function csvField(v: unknown): string {
  const s = v === null || v === undefined ? '' : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** The series as CSV (a header line, RFC 4180 quoting; raw numbers, empty for NULL). */
export function seriesCsv(r: SeriesResult): string {
  const kpi = r.kind === 'kpi';
  const head = ['start', 'at', 'value', ...(kpi ? ['pace', 'status'] : []), ...(r.groups ?? [])];
  const rows = r.points.map((p) => [p.start, p.at, p.value, ...(kpi ? [p.pace, p.status] : []), ...(r.groups ?? []).map((g) => p.groups?.[g])]);
  return [head, ...rows].map((row) => row.map(csvField).join(',')).join('\n') + '\n';
}
