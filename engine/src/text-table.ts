// Plain-text helpers shared by the CLI and the engine's renderers: aligned tables and numbers.

/** A plain text table with aligned columns; numbers right-aligned. */
export function table(headers: string[], rows: unknown[][], opts: { maxWidth?: number } = {}): string {
  const max = opts.maxWidth ?? 40;
  const cells = rows.map((r) => r.map((c) => cellText(c, max)));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((r) => (r[i] ?? '').length)));
  const numeric = headers.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === 'number' || r[i] === null || r[i] === undefined));
  const line = (r: string[]) =>
    r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

function cellText(v: unknown, max: number): string {
  let s: string;
  if (v === null || v === undefined) s = '∅';
  else if (typeof v === 'number') s = formatNumber(v);
  else if (typeof v === 'object') s = JSON.stringify(v);
  else s = String(v);
  s = s.replace(/\s+/g, ' ');
  return s.length > max ? `${s.slice(0, max - 1)}…` : s;
}

export function formatNumber(v: number, digits = 4): string {
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  const abs = Math.abs(v);
  return v.toLocaleString('en-US', { maximumFractionDigits: abs >= 100 ? 2 : digits });
}

export function percent(v: number | null): string {
  return v === null ? '∅' : `${(v * 100).toFixed(1)}%`;
}
