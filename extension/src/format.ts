// How a KPI value reads, given the `format` the server sends with it (engine kpiFormat):
// 0.312 -> "31.2%", 1234.5 -> "1,234.50" (currency), null -> "no data". Rendering only.

export function formatValue(v: number | null | undefined, format: unknown): string {
  if (v === null || v === undefined) return 'no data';
  if (format === 'percent') return `${(v * 100).toFixed(1)}%`;
  if (format === 'currency') return v.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  return Number.isInteger(v) ? v.toLocaleString('en-US') : v.toLocaleString('en-US', { maximumFractionDigits: Math.abs(v) >= 100 ? 1 : 3 });
}

/** A gap: "+2.8 pts" for percentages, "−34.389" otherwise. */
export function formatGap(gap: number | null | undefined, format: unknown): string {
  if (gap === null || gap === undefined) return '–';
  const sign = gap >= 0 ? '+' : '−';
  if (format === 'percent') return `${sign}${Math.abs(gap * 100).toFixed(1)} pts`;
  return `${sign}${formatValue(Math.abs(gap), format)}`;
}
