// KPI values and gaps for the panel and the checks output: the engine's formatting (one place for
// the CLI, the server and the editor), with "–" where the panel shows an unknown gap.

import { formatGapAs, formatValueAs } from '../../engine/src/format-values';

export function formatValue(v: number | null | undefined, format: unknown): string {
  return formatValueAs(v ?? null, typeof format === 'string' ? format : undefined);
}

export function formatGap(gap: number | null | undefined, format: unknown): string {
  return gap === null || gap === undefined ? '–' : formatGapAs(gap, typeof format === 'string' ? format : undefined);
}

/** An as-of instant as the status bar says it: `2026-10-01` at midnight UTC, else `2026-10-01 12:30 UTC`. */
export function formatAsOf(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  if (text.endsWith('T00:00:00.000Z')) return text.slice(0, 10);
  return `${text.slice(0, 16).replace('T', ' ')}${d.getUTCSeconds() || d.getUTCMilliseconds() ? text.slice(16, 19) : ''} UTC`;
}
