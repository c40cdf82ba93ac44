// KPI values, gaps and as-of instants for the panel, the checks output and the status bar: the
// engine's formatting (engine/src/format-values.ts, no imports: one place for the CLI, the server
// and the editor), with "–" where the panel shows an unknown gap.

import { formatGapAs, formatValueAs } from '../../engine/src/format-values';

export { formatAsOf } from '../../engine/src/format-values';

export function formatValue(v: number | null | undefined, format: unknown): string {
  return formatValueAs(v ?? null, typeof format === 'string' ? format : undefined);
}

export function formatGap(gap: number | null | undefined, format: unknown): string {
  return gap === null || gap === undefined ? '–' : formatGapAs(gap, typeof format === 'string' ? format : undefined);
}
