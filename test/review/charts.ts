// Reading the review's charts back: what each chart must carry, computed from ReviewData (the JSON
// `tally review --format json` prints), and the same records read from a rendered page: from its
// markup (chartsFromHtml, no browser: test/review.test.ts) or from the DOM of the page in headless
// Chromium (chartsFromDom, run inside the page: extension/e2e/review.e2e.ts). Both readers return
// one record per chart: its kind, its name and one tuple per mark, numbers parsed from the
// `data-*` attributes (JSON text), so a test compares them with `deepEqual`.

import type { ReviewData } from '../../engine/src/protocol.js';

export type Mark = (string | number | null)[];
export interface ChartRecord {
  chart: string;
  name: string;
  marks: Mark[];
}

/** The attributes each chart's marks carry, per chart kind: the mark selector and its attributes (strings first, then numbers). */
export const MARKS: Record<string, { selector: string; tag: string; cls: string; strings: string[]; numbers: string[]; parentString?: string }> = {
  kpi: { selector: 'circle.point', tag: 'circle', cls: 'point', strings: ['data-at'], numbers: ['data-value', 'data-expected'] },
  lifecycle: { selector: 'g.bar rect[data-stage]', tag: 'rect', cls: '', strings: ['data-stage'], numbers: ['data-value'], parentString: 'data-at' },
  cohort: { selector: 'g.cell', tag: 'g', cls: 'cell', strings: ['data-row', 'data-col'], numbers: ['data-value'] },
  funnel: { selector: 'g.step', tag: 'g', cls: 'step', strings: ['data-step'], numbers: ['data-reached', 'data-overall-conversion'] },
  campaign: { selector: 'g.variant', tag: 'g', cls: 'variant', strings: ['data-variant'], numbers: ['data-rate', 'data-low', 'data-high'] },
};

export function expectedCharts(r: ReviewData): ChartRecord[] {
  const out: ChartRecord[] = [];
  for (const s of r.stages) for (const k of s.kpis) out.push({ chart: 'kpi', name: k.name, marks: k.points.map((p) => [p.at, p.value, p.expected]) });
  for (const l of r.lifecycles) out.push({ chart: 'lifecycle', name: l.name, marks: l.points.flatMap((p) => l.stages.map((st) => [p.at, st, p.stages[st] ?? 0])) });
  for (const t of r.cohorts) out.push({ chart: 'cohort', name: t.name, marks: t.cohorts.flatMap((row) => row.cells.map((c, j) => [row.start, t.columns[j] ?? '', c.value])) });
  for (const f of r.funnels) out.push({ chart: 'funnel', name: f.name, marks: f.steps.map((s) => [s.name, s.reached, s.overall_conversion]) });
  for (const c of r.campaigns) if (c.variants.length) out.push({ chart: 'campaign', name: c.name, marks: c.variants.map((v) => [v.name, v.rate, v.low, v.high]) });
  return out;
}

export function unescapeHtml(s: string): string {
  return s.replace(/&(amp|lt|gt|quot|#39);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'" })[e]!);
}

function attrs(tag: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const a of tag.matchAll(/([a-zA-Z-:]+)="([^"]*)"/g)) m.set(a[1]!, unescapeHtml(a[2]!));
  return m;
}

/** The chart records of a rendered page, read from its markup (no browser). */
export function chartsFromHtml(html: string): ChartRecord[] {
  const out: ChartRecord[] = [];
  for (const svg of html.matchAll(/<svg\b([^>]*)>([\s\S]*?)<\/svg>/g)) {
    const a = attrs(svg[1]!);
    const chart = a.get('data-chart')!;
    const spec = MARKS[chart]!;
    const marks: Mark[] = [];
    let parent = '';
    for (const t of svg[2]!.matchAll(/<(\w+)\b([^>]*)>/g)) {
      const ta = attrs(t[2]!);
      if (spec.parentString && t[1] === 'g' && ta.get('class') === 'bar') parent = ta.get(spec.parentString)!;
      if (t[1] !== spec.tag) continue;
      if (spec.cls && !(ta.get('class') ?? '').split(' ').includes(spec.cls)) continue;
      if (!spec.cls && !ta.has(spec.strings[0]!)) continue;
      marks.push([...(spec.parentString ? [parent] : []), ...spec.strings.map((s) => ta.get(s)!), ...spec.numbers.map((n) => JSON.parse(ta.get(n)!) as number | null)]);
    }
    out.push({ chart, name: a.get('data-name')!, marks });
  }
  return out;
}

/**
 * The same records read from the live DOM; the function's source is sent to the page
 * (`page.evaluate`), so it uses nothing from outside its body but its argument.
 */
export function chartsFromDom(marks: typeof MARKS): ChartRecord[] {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type El = any;
  const doc = (globalThis as El).document;
  return ([...doc.querySelectorAll('svg[data-chart]')] as El[]).map((svg: El) => {
    const chart = svg.getAttribute('data-chart')!;
    const spec = marks[chart]!;
    return {
      chart,
      name: svg.getAttribute('data-name')!,
      marks: ([...svg.querySelectorAll(spec.selector)] as El[]).map((el: El) => [
        ...(spec.parentString ? [el.parentElement!.getAttribute(spec.parentString)!] : []),
        ...spec.strings.map((s) => el.getAttribute(s)!),
        ...spec.numbers.map((n) => JSON.parse(el.getAttribute(n)!) as number | null),
      ]),
    };
  });
}
