// Figures, statistics and the aligned tables the bench prints.

export function median(xs: readonly number[]): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function best(xs: readonly number[]): number {
  return xs.length ? Math.min(...xs) : NaN;
}

/** One line of a section's table. */
export interface Row {
  figure: string;
  /** The measured value (NaN: not measured / failed). */
  value: number;
  unit: string;
  /** What it is compared against, measured in the same run (optional). */
  reference?: { label: string; value: number; unit?: string };
  /** value / reference, or a ratio stated otherwise (see `ratioNote`). */
  ratio?: number;
  ratioNote?: string;
  target?: string;
  /** true/false when there is a target, undefined otherwise. */
  met?: boolean;
  note?: string;
}

export interface Section {
  name: string;
  title: string;
  rows: Row[];
  /** Free lines printed under the table. */
  notes: string[];
  /** Extra machine-readable detail for the JSON file. */
  detail?: unknown;
  /** Rows of the one read-path table (renderReadPaths), measured by this section. */
  readPaths?: ReadPath[];
}

export function fmtNumber(v: number, unit = ''): string {
  if (v === undefined || Number.isNaN(v)) return '-';
  if (!Number.isFinite(v)) return String(v);
  let s: string;
  const a = Math.abs(v);
  if (unit === 'ms' || unit === 's') s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  else if (Number.isInteger(v) || a >= 1000) s = Math.round(v).toLocaleString('en-US');
  else s = a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
  return unit ? `${s} ${unit}` : s;
}

export function fmtRatio(r: number | undefined): string {
  if (r === undefined || Number.isNaN(r)) return '-';
  return `${r >= 10 ? r.toFixed(1) : r.toFixed(2)}x`;
}

function pad(s: string, w: number, right: boolean): string {
  const len = [...s].length;
  return right ? ' '.repeat(Math.max(0, w - len)) + s : s + ' '.repeat(Math.max(0, w - len));
}

export function table(header: string[], rows: string[][], rightAligned: boolean[]): string {
  const widths = header.map((h, i) => Math.max([...h].length, ...rows.map((r) => [...(r[i] ?? '')].length)));
  const line = (cells: string[]) => cells.map((c, i) => pad(c, widths[i]!, rightAligned[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function renderSection(s: Section): string {
  const header = ['figure', 'value', 'reference', 'ratio', 'target', 'met?'];
  const rows = s.rows.map((r) => [
    r.figure,
    Number.isNaN(r.value) && !r.unit ? '' : fmtNumber(r.value, r.unit),
    r.reference ? `${fmtNumber(r.reference.value, r.reference.unit ?? r.unit)} (${r.reference.label})` : '',
    r.ratio !== undefined ? fmtRatio(r.ratio) + (r.ratioNote ? ` ${r.ratioNote}` : '') : '',
    r.target ?? '',
    r.met === undefined ? '' : r.met ? 'yes' : 'NO',
  ]);
  const out = [`== ${s.title} ==`, table(header, rows, [false, true, true, true, false, false])];
  if (s.notes.length) out.push(s.notes.map((n) => `  ${n}`).join('\n'));
  return out.join('\n');
}

/** A wall-clock timer in milliseconds. */
export function now(): number {
  return performance.now();
}

// ---- the read-path table (issue 11, goal 1) ------------------------------------------------------

/**
 * One read path measured against the best hand-written SQL for the same answer, in the same run,
 * beside the floor (one count(*) scan of the events table). Any section adds these to its Section
 * (`readPaths`); `npm run bench` prints them all as one table. A KPI form or a campaign command
 * is one more entry, from its own section.
 */
export interface ReadPath {
  /** What a user runs, e.g. `preview segment winback_audience`, `plan (lifecycle change)`. */
  path: string;
  /** The engine's own code path (preview(), planProject, deploy, ...), median ms. */
  engineMs: number;
  /**
   * The fastest hand-written SQL returning the same answer that reads the events in scans (no
   * index probe per entity, which the engine never does by design; such a faster hand goes in
   * `note`), median ms, and its shape's name.
   */
  handMs: number;
  hand: string;
  /** One `select count(*) from events` in the same run, median ms. */
  floorMs: number;
  /** engine / hand target (default READ_PATH_TARGET). */
  target?: number;
  /** The engine's number before this run's change, when a section measures both (e.g. via an older build). */
  note?: string;
  /** true when the engine's answer differed from the hand-written one (never meets the target). */
  wrong?: boolean;
}

export const READ_PATH_TARGET = 1.1;

export function renderReadPaths(paths: readonly ReadPath[]): string {
  const header = ['read path', 'engine', 'best hand-written', 'ratio', 'floor', 'engine/floor', 'target', 'met?'];
  const rows = paths.map((p) => {
    const ratio = p.engineMs / p.handMs;
    const target = p.target ?? READ_PATH_TARGET;
    const met = !p.wrong && Number.isFinite(ratio) && ratio <= target;
    return [
      p.path + (p.wrong ? '  !! WRONG ANSWER' : ''),
      fmtNumber(p.engineMs, 'ms'),
      `${fmtNumber(p.handMs, 'ms')} (${p.hand})`,
      fmtRatio(ratio),
      fmtNumber(p.floorMs, 'ms'),
      fmtRatio(p.engineMs / p.floorMs),
      `<= ${target}x`,
      met ? 'yes' : 'NO',
    ];
  });
  const notes = paths.filter((p) => p.note).map((p) => `  ${p.path}: ${p.note}`);
  return [`== read paths: engine vs the best hand-written SQL for the same answer (reading the events in scans), beside the floor ==`, table(header, rows, [false, true, true, true, true, true, false, false]), ...notes].join('\n');
}
