// npm run bench -- [compile|segments|readpaths|plan|campaign|demo|lsp|advise|series|all] [options]
//
// Prints one table per section: each figure as a value, a reference measured in the same run, their
// ratio, the target and whether it is met. Benchmarks are not tests: nothing fails on a slow
// machine; a missed target prints "NO". The last results go to .bench/latest.json (merged per
// section, so a single-section run keeps the others' last figures).
//
// Options:
//   --customers N              segment, plan and campaign data set size (default 1000000)
//   --events-per-customer M    calibrate the generator's history length to about M events per
//                              customer (default: the generator's own, about 28 with 400 days)
//   --db URL                   PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
//                              the data lives in database tally_bench, one schema per data set
//   --database NAME            the bench's database on that server (default tally_bench)
//   --reps N                   measured repetitions: compile (default 15), segments (default: 5 when
//                              a case's slowest warm-up is under 2 s, else 3), plan (default 3)
//   --defs N                   compile: number of generated definitions (default 1000)
//   --cases a,b,c              segments: which cases (default all; kpi:<name> for one KPI, e.g. kpi:dau_mau);
//                              readpaths: preview-segment, preview-trait, preview-score, preview-score-quantiles,
//                              preview-lifecycle, check, snapshot, refresh, deploy (default all);
//                              campaign: preview, run, report (default all)
//   --timeout S                segments, plan, campaign: statement timeout per query in seconds (default 120)
//   --explain                  segments: also print EXPLAIN (ANALYZE, BUFFERS) of every variant;
//                              plan: of plan's impact statements and the best hand-written query
//   --demo-runs N              demo: runs (default 3)

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_ANCHOR } from '../examples/shop/generate.js';
import { compileSection } from './compile.js';
import { demoSection } from './demo.js';
import { daysForEventsPerCustomer, type DataSectionOptions } from './lib/dataset.js';
import { DEFAULT_SERVER_URL } from './lib/pg.js';
import { renderReadPaths, renderSection, type Section } from './lib/report.js';
import { READ_PATH_CASES, readPathsSection } from './read-paths.js';
import { planSection } from './plan.js';
import { CAMPAIGN_CASES, campaignSection } from './campaign.js';
import { segmentsSection } from './segments.js';
import { lspSection } from './lsp.js';
import { adviseSection } from './advise.js';
import { seriesSection } from './series.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS = join(ROOT, '.bench', 'latest.json');
const SECTIONS = ['compile', 'segments', 'readpaths', 'plan', 'campaign', 'demo', 'lsp', 'advise', 'series'] as const;
type SectionName = (typeof SECTIONS)[number];

function usage(msg?: string): never {
  if (msg) console.error(`bench: ${msg}`);
  console.error('usage: node --import tsx bench/run.ts [compile|segments|readpaths|plan|campaign|demo|lsp|advise|all] [--customers N] [--events-per-customer M] [--db URL] [--reps N] [--defs N] [--cases a,b,c] [--timeout S] [--explain] [--demo-runs N]');
  process.exit(2);
}

function parseArgs(argv: string[]) {
  const o = {
    sections: [] as SectionName[],
    customers: 1_000_000,
    eventsPerCustomer: undefined as number | undefined,
    db: DEFAULT_SERVER_URL,
    database: 'tally_bench',
    reps: undefined as number | undefined,
    defs: 1000,
    cases: [] as string[],
    timeoutS: 120,
    explain: false,
    demoRuns: 3,
  };
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(String(v ?? '').replace(/_/g, ''));
    if (!Number.isFinite(n) || n < min) usage(`${name} takes a number >= ${min}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith('--') && a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case 'all':
        o.sections.push(...SECTIONS);
        break;
      case 'compile':
      case 'segments':
      case 'plan':
      case 'readpaths':
      case 'campaign':
      case 'demo':
      case 'lsp':
      case 'advise':
      case 'series':
        o.sections.push(flag);
        break;
      case '--customers':
        o.customers = Math.floor(num(flag, value(), 1));
        break;
      case '--events-per-customer':
        o.eventsPerCustomer = num(flag, value(), 2);
        break;
      case '--db':
        o.db = value() ?? usage('--db takes a URL');
        break;
      case '--database':
        o.database = value() ?? usage('--database takes a name');
        break;
      case '--reps':
        o.reps = Math.floor(num(flag, value(), 1));
        break;
      case '--defs':
        o.defs = Math.floor(num(flag, value(), 1));
        break;
      case '--cases':
        o.cases = (value() ?? '').split(',').map((s) => s.trim()).filter(Boolean);
        if (o.cases.some((c) => !['a', 'b', 'c', ...READ_PATH_CASES, ...CAMPAIGN_CASES].includes(c) && !c.startsWith('kpi:'))) usage(`--cases takes a comma-separated subset of a,b,c and kpi:<name> (a KPI of examples/shop) for segments, of ${READ_PATH_CASES.join(',')} for readpaths, or of ${CAMPAIGN_CASES.join(',')} for campaign`);
        break;
      case '--timeout':
        o.timeoutS = num(flag, value(), 1);
        break;
      case '--explain':
        o.explain = true;
        break;
      case '--demo-runs':
        o.demoRuns = Math.floor(num(flag, value(), 1));
        break;
      case '--help':
      case '-h':
        usage();
      default:
        usage(`unknown argument '${a}'`);
    }
  }
  if (!o.sections.length) o.sections.push(...SECTIONS);
  o.sections = [...new Set(o.sections)];
  return o;
}

const log = (s: string) => process.stderr.write(s + '\n');

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const load0 = loadavg();
  log(`tally bench: ${o.sections.join(', ')} on ${cpus().length} cores (load average ${load0.map((x) => x.toFixed(2)).join(' ')}), node ${process.version}`);

  const sections: Section[] = [];
  const failures: string[] = [];
  const timings: Record<string, number> = {};
  // The segments and plan sections share one data set: its history length, calibrated once.
  let datasetDays: number | undefined;
  const days = (): number => {
    if (datasetDays !== undefined) return datasetDays;
    datasetDays = 400;
    if (o.eventsPerCustomer !== undefined) {
      const c = daysForEventsPerCustomer(o.eventsPerCustomer, 42, DEFAULT_ANCHOR);
      datasetDays = c.days;
      log(`${o.eventsPerCustomer} events per customer -> ${datasetDays} days of history (measured ${c.measured.toFixed(1)} on a sample)`);
    }
    return datasetDays;
  };
  // What every section on the shared data set is given.
  const onDataset = (): DataSectionOptions => ({
    server: o.db,
    database: o.database,
    customers: o.customers,
    seed: 42,
    anchor: DEFAULT_ANCHOR,
    days: days(),
    reps: o.reps ?? 0,
    timeoutMs: o.timeoutS * 1000,
    log,
  });
  for (const name of o.sections) {
    const t = performance.now();
    try {
      if (name === 'compile') sections.push(await compileSection({ defs: o.defs, reps: o.reps ?? 15, warmup: 3, log }));
      if (name === 'segments') {
        sections.push(
          ...(await segmentsSection({
            ...onDataset(),
            explain: o.explain,
            cases: o.cases.filter((c) => !READ_PATH_CASES.includes(c) && !CAMPAIGN_CASES.includes(c)),
          })),
        );
      }
      if (name === 'plan') {
        sections.push(await planSection({ ...onDataset(), explain: o.explain }));
      }
      if (name === 'readpaths') {
        sections.push(await readPathsSection({ ...onDataset(), cases: o.cases.filter((c) => READ_PATH_CASES.includes(c)) }));
      }
      if (name === 'campaign') {
        sections.push(await campaignSection({ ...onDataset(), cases: o.cases.filter((c) => CAMPAIGN_CASES.includes(c)) }));
      }
      if (name === 'demo') sections.push(await demoSection({ runs: o.demoRuns, log }));
      if (name === 'lsp') sections.push(await lspSection({ log }));
      if (name === 'advise') sections.push(await adviseSection(onDataset()));
      if (name === 'series') sections.push(await seriesSection({ ...onDataset(), cases: o.cases.filter((c) => c.startsWith('kpi:')) }));
    } catch (e) {
      const msg = `${name} failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`;
      failures.push(msg);
      log(`!! ${msg}`);
    }
    timings[name] = (performance.now() - t) / 1000;
  }

  const load1 = loadavg();
  console.log('');
  for (const s of sections) console.log(renderSection(s) + '\n');
  const readPaths = sections.flatMap((s) => s.readPaths ?? []);
  if (readPaths.length) console.log(renderReadPaths(readPaths) + '\n');
  for (const f of failures) console.log(`!! ${f}\n`);
  const summary = sections.flatMap((s) => s.rows.filter((r) => r.met !== undefined).map((r) => `${r.met ? 'met   ' : 'MISSED'}  ${s.name}: ${r.figure.trim()}`));
  console.log(`targets:\n${summary.map((l) => `  ${l}`).join('\n')}`);
  console.log(
    `\nran ${Object.entries(timings).map(([k, v]) => `${k} ${v.toFixed(0)} s`).join(', ')}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${load1.map((x) => x.toFixed(2)).join(' ')} at end (${cpus().length} cores, shared: figures move with it; ratios less so)`,
  );

  // Merge into .bench/latest.json, section by section.
  let previous: { sections?: Record<string, unknown> } = {};
  try {
    if (existsSync(RESULTS)) previous = JSON.parse(readFileSync(RESULTS, 'utf8')) as typeof previous;
  } catch {
    previous = {};
  }
  const merged: Record<string, unknown> = { ...(previous.sections ?? {}) };
  // A partial segments run (--cases) is kept beside the full one, not over it.
  const key = (s: Section) => (s.name === 'segments' && o.cases.length ? `segments[${o.cases.join(',')}]` : s.name);
  for (const s of sections) merged[key(s)] = { ranAt: startedAt.toISOString(), seconds: timings[s.name], title: s.title, rows: s.rows, notes: s.notes, detail: s.detail, rendered: renderSection(s) };
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(
    RESULTS,
    JSON.stringify(
      {
        updatedAt: new Date().toISOString(),
        lastRun: { sections: o.sections, args: process.argv.slice(2), startedAt: startedAt.toISOString(), loadavgStart: load0, loadavgEnd: load1, cores: cpus().length, node: process.version, failures },
        sections: merged,
      },
      (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v),
      1,
    ) + '\n',
  );
  log(`results: ${RESULTS}`);
}

await main();
