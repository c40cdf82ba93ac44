// Series for people and spreadsheets: a text table and CSV (JSON is the SeriesResult itself).

import type { SeriesResult } from '../protocol.js';

export function seriesText(r: SeriesResult): string {
  return r.points.map((p) => `${p.at} ${p.value}`).join('\n');
}

export function seriesCsv(r: SeriesResult): string {
  return ['at,value', ...r.points.map((p) => `${p.at},${p.value ?? ''}`)].join('\n');
}
