// How numbers and instants read for people: values by a KPI's value format (kpi/status.ts kpiFormat), an
// as-of instant. No imports: the CLI, the server and the editor's webview (a browser bundle) all format through these.

export type ValueFormat = 'number' | 'percent' | 'currency';

/** 0.312 -> "31.2%" (percent), 1234.5 -> "1,234.50" (currency), 1234.5 -> "1,234.5", null -> "no data". */
export function formatValueAs(v: number | null, format: ValueFormat | string | undefined): string {
  if (v === null) return 'no data';
  if (format === 'percent') return `${(v * 100).toFixed(1)}%`;
  if (format === 'currency') return v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 1 : 3 });
}

/** A signed gap: "+2.8 pts" for percentages, "−34.389" otherwise, "±0" for none; "" when unknown. */
export function formatGapAs(gap: number | null, format: ValueFormat | string | undefined): string {
  if (gap === null) return '';
  const sign = gap > 0 ? '+' : gap < 0 ? '−' : '±';
  const abs = Math.abs(gap);
  if (format === 'percent') return `${sign}${(abs * 100).toFixed(1)} pts`;
  return `${sign}${formatValueAs(abs, format)}`;
}

/** An as-of instant for people: `2026-10-01` at midnight UTC, else `2026-10-01 12:30 UTC` (seconds when set). */
export function formatAsOf(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const text = d.toISOString();
  if (text.endsWith('T00:00:00.000Z')) return text.slice(0, 10);
  return `${text.slice(0, 16).replace('T', ' ')}${d.getUTCSeconds() || d.getUTCMilliseconds() ? text.slice(16, 19) : ''} UTC`;
}
