// How numbers read for people, by a KPI's value format (kpi/status.ts kpiFormat). No imports: the
// CLI, the server and the editor's webview (a browser bundle) all format through these.

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
