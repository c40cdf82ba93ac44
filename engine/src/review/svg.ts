// The review's charts as plain SVG text: a KPI line against its pace line and target, stacked bars
// of a lifecycle's stages over time, a cohort retention heatmap, a funnel's step chart and a
// campaign's interval dot plot. One module, no library, no script: the output is deterministic text
// (golden files in test/review-golden/), and every mark carries its number as a `data-*` attribute
// holding the JSON text of the value it draws, so a test (or a person) can read each chart back
// and compare it with `tally review --format json`.
//
// Colours are CSS classes (`.value`, `.pace`, `.s0`..`.s7`), never inline colours, so the page
// (html.ts) decides them: light, dark, print, or the editor's theme variables. Every user string is
// escaped with `esc` before it reaches the markup.

import { formatValueAs, type ValueFormat } from '../format-values.js';
import type { CohortPreview, FunnelPreview, ReviewCampaign, ReviewLifecycle, ReviewPoint } from '../protocol.js';

/** Text for HTML/SVG content and attribute values: & < > " ' escaped. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

/** A number as a data attribute: its JSON text (`0.312`, `null`), so a reader gets the exact value back. */
export function dataNum(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? 'null' : JSON.stringify(v);
}

/** A coordinate with one decimal, trailing `.0` dropped (stable text for golden files). */
function c(v: number): string {
  const r = Math.round(v * 10) / 10;
  return Object.is(r, -0) ? '0' : String(r);
}

/** A period end as a short label: `2026-10-01`. */
export function dayLabel(iso: string): string {
  return iso.slice(0, 10);
}

/** An element id from a name: letters, digits and `-` only, unique per prefix and name. */
export function domId(prefix: string, name: string): string {
  return `${prefix}-${name.replace(/[^A-Za-z0-9_-]/g, (ch) => `_${ch.charCodeAt(0).toString(16)}`)}`;
}

/** A label cut to `n` characters with an ellipsis (the full text stays in the mark's <title>). */
export function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function svgOpen(cls: string, w: number, h: number, title: string, attrs: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" class="chart ${cls}" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(title)}" ${attrs}><title>${esc(title)}</title>`;
}

// ---- a KPI against its pace line and target ----------------------------------------------------

export interface LineChartInput {
  readonly name: string;
  readonly points: readonly ReviewPoint[];
  readonly target?: { op: string; value: number | readonly [number, number] } | undefined;
  readonly format: ValueFormat;
}

const LINE = { w: 520, h: 190, left: 64, right: 12, top: 12, bottom: 28 };

/**
 * The KPI's value per period end (a line, broken where a value is null, a dot per point), its pace
 * line (dashed) and its target (a horizontal line, or a band for `between`).
 */
export function kpiLineChart(k: LineChartInput): string {
  const { w, h, left, right, top, bottom } = LINE;
  const targets = k.target ? (Array.isArray(k.target.value) ? [...(k.target.value as readonly number[])] : [k.target.value as number]) : [];
  const all = [...k.points.flatMap((p) => [p.value, p.expected]), ...targets].filter((v): v is number => v !== null && Number.isFinite(v));
  let lo = all.length ? Math.min(...all) : 0;
  let hi = all.length ? Math.max(...all) : 1;
  if (lo >= 0 && lo < (hi - lo) * 0.5) lo = 0; // start at zero unless that flattens the line
  if (hi === lo) {
    hi = hi === 0 ? 1 : hi + Math.abs(hi) * 0.1;
    lo = lo === 0 ? 0 : lo - Math.abs(lo) * 0.1;
  }
  const { ticks, min, max } = niceTicks(lo, hi);
  lo = min;
  hi = max;
  const n = k.points.length;
  const x = (i: number) => left + (n <= 1 ? (w - left - right) / 2 : (i * (w - left - right)) / (n - 1));
  const y = (v: number) => top + (1 - (v - lo) / (hi - lo)) * (h - top - bottom);
  const title = `${k.name}: value per period against its pace line and target`;
  const out = [svgOpen('chart-line', w, h, title, `data-chart="kpi" data-name="${esc(k.name)}"`)];
  // axes: the y range's ends and the first and last period end
  out.push(`<g class="axis"><line x1="${left}" y1="${top}" x2="${left}" y2="${h - bottom}"/><line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}"/>`);
  for (const v of ticks) out.push(`<text x="${left - 6}" y="${c(y(v) + 4)}" text-anchor="end">${esc(formatValueAs(v, k.format))}</text>`);
  if (n) {
    out.push(`<text x="${c(x(0))}" y="${h - 8}" text-anchor="${n === 1 ? 'middle' : 'start'}">${dayLabel(k.points[0]!.at)}</text>`);
    if (n > 1) out.push(`<text x="${c(x(n - 1))}" y="${h - 8}" text-anchor="end">${dayLabel(k.points[n - 1]!.at)}</text>`);
  }
  out.push('</g>');
  if (k.target) {
    const vals = targets;
    if (vals.length === 2) {
      const [a, b] = [Math.min(vals[0]!, vals[1]!), Math.max(vals[0]!, vals[1]!)];
      out.push(`<rect class="target-band" x="${left}" y="${c(y(b))}" width="${w - left - right}" height="${c(y(a) - y(b))}" data-target="${dataNum(a)},${dataNum(b)}"/>`);
    } else {
      out.push(`<line class="target" x1="${left}" y1="${c(y(vals[0]!))}" x2="${w - right}" y2="${c(y(vals[0]!))}" data-target="${dataNum(vals[0])}"/>`);
      out.push(`<text class="target-label" x="${w - right - 2}" y="${c(y(vals[0]!) - 4)}" text-anchor="end">target ${esc(formatValueAs(vals[0]!, k.format))}</text>`);
    }
  }
  const pace = segments(k.points.map((p, i) => (p.expected === null ? null : `${c(x(i))},${c(y(p.expected))}`)));
  for (const s of pace) out.push(`<polyline class="pace" points="${s}"/>`);
  const line = segments(k.points.map((p, i) => (p.value === null ? null : `${c(x(i))},${c(y(p.value))}`)));
  for (const s of line) out.push(`<polyline class="value" points="${s}"/>`);
  k.points.forEach((p, i) => {
    const cy = p.value === null ? h - bottom : y(p.value);
    out.push(`<circle class="${p.value === null ? 'point missing' : 'point'}" cx="${c(x(i))}" cy="${c(cy)}" r="3" data-at="${esc(p.at)}" data-value="${dataNum(p.value)}" data-expected="${dataNum(p.expected)}"><title>${dayLabel(p.at)}: ${esc(formatValueAs(p.value, k.format))}</title></circle>`);
  });
  out.push('</svg>');
  return out.join('');
}

/**
 * Round axis ticks covering [lo, hi]: a step of 1, 2, 2.5 or 5 times a power of ten giving 3 to 6
 * ticks, the domain widened to the outer ticks (so a target line never sits on the chart's edge
 * unlabelled, and labels read 300, 350, 400 rather than 321.5).
 */
export function niceTicks(lo: number, hi: number): { ticks: number[]; min: number; max: number } {
  const span = hi - lo;
  const raw = span / 4;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => span / s <= 5) ?? 10 * mag;
  const min = Math.floor(lo / step + 1e-9) * step;
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = min, i = 0; v <= max + step / 2 && i < 12; v += step, i++) ticks.push(Number(v.toPrecision(12)));
  return { ticks, min, max: max === min ? min + step : max };
}

/** Runs of consecutive non-null points, each as a `points` attribute value (a lone point draws no line). */
function segments(pts: readonly (string | null)[]): string[] {
  const out: string[] = [];
  let run: string[] = [];
  for (const p of [...pts, null]) {
    if (p !== null) run.push(p);
    else {
      if (run.length > 1) out.push(run.join(' '));
      run = [];
    }
  }
  return out;
}

// ---- a lifecycle's stages over time --------------------------------------------------------------

const BARS = { w: 520, h: 200, left: 56, right: 8, top: 10, bottom: 44 };

/** One stacked bar per period end, one segment per stage in written order (class `s<i>`), and a legend. */
export function stageBarsChart(l: Pick<ReviewLifecycle, 'name' | 'stages' | 'points'>): string {
  const { w, h, left, right, top, bottom } = BARS;
  const n = l.points.length;
  const totals = l.points.map((p) => l.stages.reduce((s, st) => s + (p.stages[st] ?? 0), 0));
  const max = Math.max(1, ...totals);
  const slot = (w - left - right) / Math.max(1, n);
  const bw = Math.max(2, Math.min(40, slot * 0.7));
  const scale = (v: number) => (v / max) * (h - top - bottom);
  const title = `${l.name}: entities per stage at each period end`;
  const out = [svgOpen('chart-bars', w, h, title, `data-chart="lifecycle" data-name="${esc(l.name)}"`)];
  out.push(`<g class="axis"><line x1="${left}" y1="${h - bottom}" x2="${w - right}" y2="${h - bottom}"/>`);
  out.push(`<text x="${left - 6}" y="${top + 4}" text-anchor="end">${esc(formatValueAs(max, 'number'))}</text><text x="${left - 6}" y="${h - bottom + 4}" text-anchor="end">0</text>`);
  if (n) {
    out.push(`<text x="${c(left + slot / 2)}" y="${h - bottom + 14}" text-anchor="${n === 1 ? 'middle' : 'start'}">${dayLabel(l.points[0]!.at)}</text>`);
    if (n > 1) out.push(`<text x="${c(left + slot * (n - 0.5))}" y="${h - bottom + 14}" text-anchor="end">${dayLabel(l.points[n - 1]!.at)}</text>`);
  }
  out.push('</g>');
  l.points.forEach((p, i) => {
    let base = h - bottom;
    const x0 = left + slot * i + (slot - bw) / 2;
    out.push(`<g class="bar" data-at="${esc(p.at)}" data-total="${dataNum(totals[i]!)}">`);
    l.stages.forEach((st, si) => {
      const v = p.stages[st] ?? 0;
      const hh = scale(v);
      base -= hh;
      out.push(`<rect class="s${si % 8}" x="${c(x0)}" y="${c(base)}" width="${c(bw)}" height="${c(hh)}" data-stage="${esc(st)}" data-value="${dataNum(v)}"><title>${dayLabel(p.at)} ${esc(st)}: ${esc(formatValueAs(v, 'number'))}</title></rect>`);
    });
    out.push('</g>');
  });
  out.push(legend(l.stages, left, h - 14));
  out.push('</svg>');
  return out.join('');
}

function legend(names: readonly string[], x0: number, y0: number): string {
  const out = ['<g class="legend">'];
  let x = x0;
  names.forEach((name, i) => {
    out.push(`<rect class="s${i % 8}" x="${c(x)}" y="${y0 - 9}" width="10" height="10"/><text x="${c(x + 14)}" y="${y0}">${esc(clip(name, 24))}</text>`);
    x += 24 + Math.min(name.length, 24) * 6.5;
  });
  out.push('</g>');
  return out.join('');
}

// ---- a cohort retention heatmap --------------------------------------------------------------------

/**
 * One row per cohort period, one cell per column; a cell's shade is its share of the table's
 * largest value; an immature cell (window not over by T) is outlined dashed; an empty cell is blank.
 */
export function cohortHeatmap(t: Pick<CohortPreview, 'name' | 'columns' | 'cohorts'>): string {
  const cw = 52;
  const ch = 22;
  const left = 140;
  const top = 22;
  const w = left + cw * Math.max(1, t.columns.length) + 8;
  const h = top + ch * Math.max(1, t.cohorts.length) + 8;
  const max = Math.max(0, ...t.cohorts.flatMap((r) => r.cells.map((x) => x.value ?? 0)));
  const title = `${t.name}: share of each cohort returning, per period since it started`;
  const out = [svgOpen('chart-heatmap', w, h, title, `data-chart="cohort" data-name="${esc(t.name)}"`)];
  out.push('<g class="axis">');
  t.columns.forEach((col, j) => out.push(`<text x="${c(left + cw * j + cw / 2)}" y="${top - 8}" text-anchor="middle">${esc(col)}</text>`));
  t.cohorts.forEach((r, i) => out.push(`<text x="${left - 6}" y="${c(top + ch * i + ch / 2 + 4)}" text-anchor="end">${dayLabel(r.start)} (${esc(formatValueAs(r.size, 'number'))})</text>`));
  out.push('</g>');
  t.cohorts.forEach((r, i) => {
    r.cells.forEach((cell, j) => {
      const x = left + cw * j;
      const y = top + ch * i;
      const shade = cell.value === null || max <= 0 ? 0 : 0.08 + 0.92 * (cell.value / max);
      const cls = `cell${cell.immature ? ' immature' : ''}${cell.value === null ? ' empty' : ''}`;
      const label = cell.value === null ? '' : formatValueAs(cell.value, 'percent');
      out.push(
        `<g class="${cls}" data-row="${esc(r.start)}" data-col="${esc(t.columns[j] ?? '')}" data-value="${dataNum(cell.value)}" data-returned="${dataNum(cell.returned)}" data-immature="${cell.immature}">` +
          `<rect x="${x + 1}" y="${y + 1}" width="${cw - 2}" height="${ch - 2}" fill-opacity="${Math.round(shade * 100) / 100}"/>` +
          (label ? `<text x="${c(x + cw / 2)}" y="${c(y + ch / 2 + 4)}" text-anchor="middle" class="${shade > 0.55 ? 'on-dark' : ''}">${esc(label)}</text>` : '') +
          `<title>${dayLabel(r.start)} ${esc(t.columns[j] ?? '')}: ${esc(label || 'no data')}${cell.immature ? ' (partial)' : ''}</title></g>`,
      );
    });
  });
  out.push('</svg>');
  return out.join('');
}

// ---- a funnel as a step chart --------------------------------------------------------------------

/** One horizontal bar per step, its length the entities that reached it (step 1: the entrants' reach). */
export function funnelStepChart(f: Pick<FunnelPreview, 'name' | 'entrants' | 'steps'>): string {
  const left = 150;
  const right = 150;
  const bar = 22;
  const gap = 8;
  const w = 560;
  const h = 8 + f.steps.length * (bar + gap);
  const max = Math.max(1, f.entrants, ...f.steps.map((s) => s.reached));
  const title = `${f.name}: entities reaching each step`;
  const out = [svgOpen('chart-steps', w, h, title, `data-chart="funnel" data-name="${esc(f.name)}" data-entrants="${dataNum(f.entrants)}"`)];
  f.steps.forEach((s, i) => {
    const y = 4 + i * (bar + gap);
    const bw = ((w - left - right) * s.reached) / max;
    const conv = s.overall_conversion === null ? '' : ` · ${formatValueAs(s.overall_conversion, 'percent')}`;
    out.push(
      `<g class="step" data-step="${esc(s.name)}" data-reached="${dataNum(s.reached)}" data-step-conversion="${dataNum(s.step_conversion)}" data-overall-conversion="${dataNum(s.overall_conversion)}">` +
        `<text class="label" x="${left - 6}" y="${c(y + bar / 2 + 4)}" text-anchor="end">${i + 1}. ${esc(clip(s.name, 22))}</text>` +
        `<rect class="s0" x="${left}" y="${y}" width="${c(Math.max(bw, 1))}" height="${bar}"/>` +
        `<text x="${c(left + Math.max(bw, 1) + 6)}" y="${c(y + bar / 2 + 4)}">${esc(formatValueAs(s.reached, 'number'))}${esc(conv)}</text>` +
        `<title>${esc(s.name)}: ${esc(formatValueAs(s.reached, 'number'))} reached${esc(conv)}</title></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}

// ---- a campaign's conversion with intervals --------------------------------------------------------

/** One row per variant: a dot at its conversion rate, a line over its 95% interval; the holdout hollow. */
export function intervalPlot(cm: Pick<ReviewCampaign, 'name' | 'variants'>): string {
  const left = 150;
  const right = 110;
  const row = 26;
  const w = 560;
  const h = 30 + cm.variants.length * row;
  const top = 8;
  const nice = niceTicks(0, Math.max(0.01, ...cm.variants.flatMap((v) => [v.high ?? 0, v.rate ?? 0])));
  const max = nice.max;
  const x = (v: number) => left + (v / max) * (w - left - right);
  const title = `${cm.name}: conversion per variant with 95% intervals`;
  const out = [svgOpen('chart-interval', w, h, title, `data-chart="campaign" data-name="${esc(cm.name)}"`)];
  const axisY = top + cm.variants.length * row;
  out.push(`<g class="axis"><line x1="${left}" y1="${axisY}" x2="${w - right}" y2="${axisY}"/>`);
  for (const v of nice.ticks) out.push(`<text x="${c(x(v))}" y="${axisY + 14}" text-anchor="middle">${esc(formatValueAs(v, 'percent'))}</text>`);
  out.push('</g>');
  cm.variants.forEach((v, i) => {
    const y = top + i * row + row / 2;
    out.push(
      `<g class="variant${v.holdout ? ' holdout' : ''}" data-variant="${esc(v.name)}" data-rate="${dataNum(v.rate)}" data-low="${dataNum(v.low)}" data-high="${dataNum(v.high)}" data-enrolled="${dataNum(v.enrolled)}" data-converted="${dataNum(v.converted)}">` +
        `<text class="label" x="${left - 6}" y="${c(y + 4)}" text-anchor="end">${esc(clip(v.name, v.holdout ? 12 : 22))}${v.holdout ? ' (holdout)' : ''}</text>` +
        (v.low !== null && v.high !== null ? `<line class="interval" x1="${c(x(v.low))}" y1="${c(y)}" x2="${c(x(v.high))}" y2="${c(y)}"/>` : '') +
        (v.rate !== null ? `<circle class="dot" cx="${c(x(v.rate))}" cy="${c(y)}" r="4"/>` : '') +
        `<text class="n" x="${c(x(v.high ?? v.rate ?? 0) + 8)}" y="${c(y + 4)}">${esc(formatValueAs(v.rate, 'percent'))} of ${esc(formatValueAs(v.enrolled, 'number'))}</text>` +
        `<title>${esc(v.name)}: ${esc(formatValueAs(v.rate, 'percent'))}${v.low !== null && v.high !== null ? ` (95% ${esc(formatValueAs(v.low, 'percent'))} to ${esc(formatValueAs(v.high, 'percent'))})` : ''}</title></g>`,
    );
  });
  out.push('</svg>');
  return out.join('');
}
