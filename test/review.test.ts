// The review's renderers on a hand-made ReviewData (test/review/fixture.ts), without a browser:
// - golden files (test/review/golden/): every chart of svg.ts, the page and the markdown summary;
//   UPDATE_GOLDEN=1 rewrites them, as in test/golden.test.ts;
// - every chart's numbers, read back from its data attributes, equal the JSON's (the same check the
//   browser test makes on the live DOM: extension/e2e/review.e2e.ts);
// - the page is self-contained (no script, no link, no URL but the SVG namespace), well nested,
//   with an accessible table beside every chart, and no user string reaches it unescaped;
// - the markdown escapes table cells.

import { strict as assert } from 'node:assert';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cohortHeatmap, funnelStepChart, intervalPlot, kpiLineChart, stageBarsChart, esc, dataNum } from '../engine/src/review/svg.js';
import { renderReviewHtml } from '../engine/src/review/html.js';
import { renderReviewMarkdown, mdCell, sparkline } from '../engine/src/review/markdown.js';
import { reviewKpi } from '../engine/src/review/build.js';
import { chartsFromHtml, expectedCharts } from './review/charts.js';
import { HOSTILE, reviewFixture } from './review/fixture.js';
import { Project } from '../engine/src/project.js';
import type { KpiDef } from '../engine/src/model/types.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN = join(dirname(fileURLToPath(import.meta.url)), 'review', 'golden');

function golden(file: string, actual: string): void {
  const path = join(GOLDEN, file);
  if (UPDATE) {
    mkdirSync(GOLDEN, { recursive: true });
    writeFileSync(path, actual);
    return;
  }
  assert.ok(existsSync(path), `${file}: no golden file (UPDATE_GOLDEN=1 to create it)`);
  assert.equal(actual, readFileSync(path, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 to accept)`);
}

/** Every element closed in order (HTML void elements aside): the SVG inside must be well-formed XML. */
function assertWellNested(html: string): void {
  const VOID = new Set(['meta', 'br', 'hr', 'img', 'input', 'link']);
  const stack: string[] = [];
  for (const m of html.matchAll(/<(\/?)([a-zA-Z][\w-]*)\b[^>]*?(\/?)>/g)) {
    const [, close, tag, selfClose] = m;
    if (selfClose || VOID.has(tag!.toLowerCase())) continue;
    if (close) assert.equal(stack.pop(), tag, `</${tag}> closes <${stack[stack.length] ?? '?'}> at offset ${m.index}`);
    else stack.push(tag!);
  }
  assert.deepEqual(stack, [], 'unclosed elements');
}

describe('review: charts (svg.ts golden files)', () => {
  const r = reviewFixture();
  const kpis = r.stages.flatMap((s) => s.kpis);
  it('a KPI line against its pace line and target (with a missing period)', () => golden('kpi-line.svg', kpiLineChart(kpis[0]!)));
  it('a KPI line with a between target and no pace line', () => golden('kpi-between.svg', kpiLineChart(kpis[1]!)));
  it('a KPI with one period and no target', () => golden('kpi-single.svg', kpiLineChart(kpis[2]!)));
  it('a lifecycle as stacked bars per period', () => golden('lifecycle-bars.svg', stageBarsChart(r.lifecycles[0]!)));
  it('a cohort heatmap with immature and empty cells', () => golden('cohort-heatmap.svg', cohortHeatmap(r.cohorts[0]!)));
  it('a funnel step chart', () => golden('funnel-steps.svg', funnelStepChart(r.funnels[0]!)));
  it('a campaign interval plot with a holdout and an empty variant', () => golden('campaign-intervals.svg', intervalPlot(r.campaigns[0]!)));
  it('charts of nothing still render (no points, no cohorts, no steps)', () => {
    const empty = [kpiLineChart({ name: 'e', points: [], format: 'number' }), stageBarsChart({ name: 'e', stages: [], points: [] }), cohortHeatmap({ name: 'e', columns: [], cohorts: [] }), funnelStepChart({ name: 'e', entrants: 0, steps: [] }), intervalPlot({ name: 'e', variants: [] })];
    for (const svg of empty) {
      assert.match(svg, /^<svg [^>]*viewBox="0 0 \d+ \d+"/);
      assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
      assertWellNested(svg);
    }
  });
  it('coordinates are finite and numbers are JSON in data attributes', () => {
    for (const svg of [kpiLineChart(kpis[0]!), kpiLineChart({ name: 'flat', points: [{ at: 'a', value: 0, expected: 0 }, { at: 'b', value: 0, expected: null }], format: 'number' })]) assert.doesNotMatch(svg, /NaN|Infinity|undefined/);
    assert.equal(dataNum(null), 'null');
    assert.equal(dataNum(0.1 + 0.2), '0.30000000000000004');
    assert.equal(dataNum(Number.NaN), 'null');
    assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('review: the page (html.ts)', () => {
  const r = reviewFixture();
  const html = renderReviewHtml(r);
  it('matches its golden file', () => golden('review.html', html));
  it('every chart carries the JSON numbers in its data attributes', () => {
    const charts = chartsFromHtml(html);
    assert.deepEqual(charts, expectedCharts(r));
    assert.equal(charts.length, 3 + 2 + 1 + 1 + 1);
  });
  it('the numbers of a JSON round trip are those of the page (the json format is the source)', () => {
    const viaJson = JSON.parse(JSON.stringify(r));
    assert.deepEqual(chartsFromHtml(renderReviewHtml(viaJson)), expectedCharts(viaJson));
  });
  it('has an accessible table beside every chart, with the same numbers', () => {
    const svgs = [...html.matchAll(/<svg\b[^>]*data-chart="(\w+)" data-name="([^"]*)"/g)].map((m) => `${m[1]}:${m[2]}`);
    const tables = [...html.matchAll(/<table class="numbers" data-table="(\w+)" data-name="([^"]*)"/g)].map((m) => `${m[1]}:${m[2]}`);
    assert.deepEqual(tables, svgs);
    assert.ok((html.match(/<svg\b[^>]*role="img"[^>]*aria-label="/g) ?? []).length === svgs.length, 'every chart has role=img and a label');
    // the KPI table's data-value cells are value, pace line per point
    const t = html.match(/<table class="numbers" data-table="kpi" data-name="weekly_signups">([\s\S]*?)<\/table>/)![1]!;
    const cells = [...t.matchAll(/data-value="([^"]*)"/g)].map((m) => JSON.parse(m[1]!));
    assert.deepEqual(cells, r.stages[0]!.kpis[0]!.points.flatMap((p) => [p.value, p.expected]));
  });
  it('is self-contained: no script, no external resource, no URL but the SVG namespace', () => {
    assert.doesNotMatch(html, /<script|<link|<img|<iframe|@import|url\(/i);
    const urls = [...html.matchAll(/https?:\/\/[^\s"')]+/g)].map((m) => m[0]);
    assert.deepEqual([...new Set(urls)], ['http://www.w3.org/2000/svg']);
    assert.match(html, /@media print/);
  });
  it('is well nested', () => assertWellNested(html));
  it('escapes every user string (names, descriptions, owners, stages, deploys)', () => {
    assert.ok(!html.includes(HOSTILE) && !html.includes('<script>') && !html.includes('<b>"'), 'a raw user string reached the page');
    assert.ok(html.includes(esc(HOSTILE)));
    assert.ok(html.includes('shop &lt;demo&gt;'));
    assert.ok(html.includes('team &quot;&lt;b&gt;&quot; | ops'));
  });
  it('groups KPIs by funnel stage in AARRR order, with status, owner and the change since the last review', () => {
    const order = [...html.matchAll(/<div class="stage" data-stage="(\w+)">/g)].map((m) => m[1]);
    assert.deepEqual(order, ['acquisition', 'retention', 'other']);
    assert.match(html, /data-kpi="weekly_signups" data-status="on_track"/);
    assert.match(html, /owner acquisition-team/);
    assert.match(html, /<span class="change" data-value="7">\+7 since 2026-09-28<\/span>/);
    assert.match(html, /no earlier period/);
    assert.match(html, /last recorded check: 331 \(on track\)/);
  });
  it('says when no transitions are recorded, and shows them when they are', () => {
    assert.match(html, /no snapshot is recorded in this period/);
    assert.match(html, /<tr data-from="active" data-to="dormant"><td>active<\/td><td>dormant<\/td><td data-value="42">/);
  });
  it('the editor theme swaps the colour variables only', () => {
    const v = renderReviewHtml(r, { theme: 'vscode' });
    assert.match(v, /--vscode-editor-background/);
    assert.equal(v.replace(/<style>[\s\S]*<\/style>/, ''), html.replace(/<style>[\s\S]*<\/style>/, ''));
  });
  it('renders an empty review', () => {
    const e = renderReviewHtml({ ...r, stages: [], lifecycles: [], cohorts: [], funnels: [], campaigns: [], deploys: [], notes: [] });
    assertWellNested(e);
    assert.match(e, /No KPI is defined/);
    assert.match(e, /Nothing was deployed in this period/);
  });
});

describe('review: markdown', () => {
  const r = reviewFixture();
  const md = renderReviewMarkdown(r);
  it('matches its golden file', () => golden('review.md', md));
  it('escapes table cells and keeps one line per row', () => {
    assert.equal(mdCell('a|b\nc<d>'), 'a\\|b c&lt;d&gt;');
    assert.ok(!md.includes('<script>'));
    const kpiRows = md.split('\n').filter((l) => l.startsWith('| ') && l.includes('|') && !l.startsWith('| ---'));
    for (const row of kpiRows) assert.equal(row.split(/(?<!\\)\|/).length - 2 >= 3, true, row);
  });
  it('sparkline', () => {
    assert.equal(sparkline([1, 2, null, 3]), '▁▅ █');
    assert.equal(sparkline([5, 5]), '▄▄');
    assert.equal(sparkline([null]), '');
  });
});

describe('review: a KPI entry from its series (reviewKpi)', () => {
  const project = Project.load(join(dirname(fileURLToPath(import.meta.url)), '..', 'examples', 'shop'));
  const def = project.analyze().get('Kpi', 'weekly_signups')!.def as KpiDef;
  const at = (d: string) => `${d}T00:00:00.000Z`;
  it('status, pace line and gap as of the last period end; change = last minus previous period', () => {
    const k = reviewKpi(def, { points: [{ at: at('2026-10-19'), start: at('2026-10-12'), value: 300, pace: 250 }, { at: at('2026-10-26'), start: at('2026-10-19'), value: 290, pace: 260 }] });
    assert.equal(k.stage, 'acquisition');
    assert.equal(k.owner, 'acquisition-team');
    assert.equal(k.value, 290);
    assert.deepEqual(k.change, { previous_at: at('2026-10-19'), previous: 300, delta: -10 });
    assert.deepEqual(k.points.map((p) => p.expected), [250, 260]);
    // the pace line at 2026-10-26: 188 + (400 - 188) * (Oct 26 - Jun 1) / (Apr 1 - Jun 1)
    const f = (Date.UTC(2026, 9, 26) - Date.UTC(2026, 5, 1)) / (Date.UTC(2027, 3, 1) - Date.UTC(2026, 5, 1));
    assert.ok(Math.abs(k.expected! - (188 + 212 * f)) < 1e-9);
    assert.equal(k.status, 290 >= k.expected! ? 'on_track' : 'at_risk');
    assert.deepEqual(k.target, { op: 'gte', value: 400, by: '2027-03-31' });
  });
  it('no change with one period or a null value', () => {
    assert.equal(reviewKpi(def, { points: [{ at: at('2026-10-26'), start: at('2026-10-19'), value: 1 }] }).change, null);
    assert.equal(reviewKpi(def, { points: [{ at: at('2026-10-19'), start: at('2026-10-12'), value: null }, { at: at('2026-10-26'), start: at('2026-10-19'), value: 1 }] }).change!.delta, null);
    assert.equal(reviewKpi(def, { points: [] }).status, 'at_risk');
  });
});
