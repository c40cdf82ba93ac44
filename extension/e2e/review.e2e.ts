// End-to-end: `tally review` as a person looks at it. On a copy of examples/shop with its embedded
// database (`npm run demo`), deployed and with a few lifecycle snapshots recorded, the CLI writes the
// review as JSON and as HTML for the same instant; the page is opened in headless Chromium from a
// file: URL with every network request refused, and:
//   - no console error, no page error, no request that is not the page itself;
//   - every chart's numbers, read from its data attributes in the live DOM, equal the JSON's
//     (test/review/charts.ts: the same records the browser-free test reads from the markup);
//   - every accessible table beside a KPI or lifecycle chart holds the same numbers;
//   - the page prints (print media, a PDF is produced).
// Screenshots land in test-results/e2e/review*.png; UPDATE_SCREENSHOTS=1 also copies the README's
// to docs/img/.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM, REPO } from './workbench';
import { chartsFromDom, expectedCharts, MARKS } from '../../test/review/charts';
import type { ReviewData } from '../../engine/src/protocol';

const ARTIFACTS = join(REPO, 'test-results', 'e2e');

function tally(args: string[]): string {
  return execFileSync(process.execPath, [join(REPO, 'bin', 'tally.mjs'), ...args], { encoding: 'utf8', env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
}

describe('the review page in headless Chromium', function () {
  // the review computes every KPI's series: minutes on a busy machine
  this.timeout(1_200_000);
  let dir = '';
  let project = '';
  let browser: Browser | undefined;
  let data: ReviewData;
  let htmlFile = '';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-e2e-review-'));
    project = join(dir, 'shop');
    cpSync(join(REPO, 'examples', 'shop'), project, { recursive: true });
    // The demo's data ends at the start of the day it was loaded; review as of the latest event's day.
    const asOf = `${new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000).toISOString().slice(0, 10)}`;
    tally(['deploy', '--project', project]);
    for (const weeksBack of [7, 4, 1]) tally(['snapshot', '--project', project, '--as-of', new Date(Date.parse(asOf) - weeksBack * 7 * 86_400_000).toISOString().slice(0, 10)]);
    // Monthly over the last two months keeps the run short (a series costs per period); the
    // snapshots above fall inside it, so the lifecycle has transitions.
    const from = new Date(Date.parse(asOf) - 62 * 86_400_000).toISOString().slice(0, 10);
    const common = ['review', '--project', project, '--as-of', asOf, '--every', 'month', '--from', from];
    data = JSON.parse(tally([...common, '--format', 'json'])) as ReviewData;
    htmlFile = join(dir, 'review.html');
    tally([...common, '--out', htmlFile]);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  });

  after(async () => {
    await browser?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('renders with no console error, draws every chart with the JSON numbers, and prints', async () => {
    const page = await browser!.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    const requests: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
    await page.route('**/*', (route) => {
      requests.push(route.request().url());
      return route.request().url() === pathToFileURL(htmlFile).href ? route.continue() : route.abort();
    });
    await page.goto(pathToFileURL(htmlFile).href, { waitUntil: 'load' });
    assert.deepEqual(problems, [], 'console errors');
    assert.deepEqual(requests, [pathToFileURL(htmlFile).href], 'the page requested something besides itself');

    const kpiCount = data.stages.reduce((n, s) => n + s.kpis.length, 0);
    assert.ok(kpiCount >= 10, `the example's KPIs are in the review (got ${kpiCount}; notes: ${data.notes.join(' | ')})`);
    assert.ok(data.lifecycles.length >= 1 && data.cohorts.length >= 1 && data.funnels.length >= 1, 'lifecycles, cohorts and funnels are in the review');
    assert.ok(data.lifecycles[0]!.transitions, 'the recorded snapshots give transitions');
    const charts = await page.evaluate(chartsFromDom, MARKS);
    assert.deepEqual(charts, expectedCharts(data));
    assert.ok(charts.every((c) => c.marks.length > 0), 'every chart draws marks');

    // the tables beside the KPI and lifecycle charts hold the same numbers
    const tables = await page.evaluate(() => {
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const doc = (globalThis as any).document;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return [...doc.querySelectorAll('table.numbers')].map((t: any) => ({ table: t.getAttribute('data-table'), name: t.getAttribute('data-name'), values: [...t.querySelectorAll('td[data-value]')].map((td: any) => JSON.parse(td.getAttribute('data-value'))) }));
    });
    for (const s of data.stages) for (const k of s.kpis) assert.deepEqual(tables.find((t) => t.table === 'kpi' && t.name === k.name)?.values, k.points.flatMap((p) => [p.value, p.expected]), `table of ${k.name}`);
    for (const l of data.lifecycles) assert.deepEqual(tables.find((t) => t.table === 'lifecycle' && t.name === l.name)?.values, l.points.flatMap((p) => l.stages.map((st) => p.stages[st] ?? 0)), `table of ${l.name}`);
    // a chart is visible and has a size
    const box = await page.locator('svg[data-chart="kpi"]').first().boundingBox();
    assert.ok(box && box.width > 200 && box.height > 100, `a KPI chart is drawn (${JSON.stringify(box)})`);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'review.png') });
    await page.screenshot({ path: join(ARTIFACTS, 'review-full.png'), fullPage: true });
    await page.locator('#lifecycles').screenshot({ path: join(ARTIFACTS, 'review-lifecycle.png') });
    if (process.env.UPDATE_SCREENSHOTS === '1') {
      mkdirSync(join(REPO, 'docs', 'img'), { recursive: true });
      copyFileSync(join(ARTIFACTS, 'review.png'), join(REPO, 'docs', 'img', 'review.png'));
      copyFileSync(join(ARTIFACTS, 'review-lifecycle.png'), join(REPO, 'docs', 'img', 'review-lifecycle.png'));
    }
    await page.emulateMedia({ media: 'print' });
    const pdf = await page.pdf({ format: 'A4' });
    assert.ok(pdf.length > 10_000, 'the page prints');
    assert.deepEqual(problems, [], 'console errors after printing');
    assert.ok(readFileSync(htmlFile, 'utf8').startsWith('<!doctype html>'));
    await page.close();
  });
});
