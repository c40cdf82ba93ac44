// tally demo: loads the example shop's sample data into the embedded database and tours it:
// validation, segment sizes, the lifecycle, the health score, KPI statuses.
// --db URL --force loads into that database instead; --distributed (with --db) loads a distributed
// layout for Citus (customers and events distributed by the customer key and co-located; docs/citus.md)
// and is refused, before anything is written, when the database has no citus extension.

import { existsSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { assertDistributedLayout, DistributedLayoutUnavailable, loadShop } from '../../../examples/shop/generate.js';
import { loadSaas } from '../../../examples/saas/generate.js';
import { analyzeLive, checkKpis, checkText, connect, parseFailOn, preview, Project, PROJECT_FILE, type CampaignPreview, type Db, type LifecyclePreview, type SegmentPreview, type ValuesPreview } from '../../src/index.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, formatNumber, percent, table, type Io } from '../io.js';
import { intOption, type GlobalOptions } from '../options.js';
import { diagnosticsText } from '../format-diagnostics.js';

/** The examples `--example` chooses from. */
const EXAMPLES = ['shop', 'saas'] as const;
type Example = (typeof EXAMPLES)[number];

/** An example project shipped with Tally (found from this file upwards). */
export function exampleProjectDir(example: Example = 'shop'): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'examples', example);
    if (existsSync(join(candidate, PROJECT_FILE))) return candidate;
    dir = dirname(dir);
  }
  throw new CliError(`cannot find the example project (examples/${example}) next to this Tally installation`);
}

export async function runDemo(g: GlobalOptions, io: Io): Promise<number> {
  const started = Date.now();
  const exampleText = typeof g.values.example === 'string' ? g.values.example : 'shop';
  if (!(EXAMPLES as readonly string[]).includes(exampleText)) throw new CliError(`--example is one of ${EXAMPLES.join(', ')}, not '${exampleText}'`);
  const example = exampleText as Example;
  const projectDir = g.values.project ? g.project : exampleProjectDir(example);
  if (!existsSync(join(projectDir, PROJECT_FILE))) throw new CliError(`no ${PROJECT_FILE} in ${projectDir}`);
  const customers = intOption(g, 'customers', { min: 1, max: 5_000_000, fallback: 10_000 });
  const seed = intOption(g, 'seed', { min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER, fallback: 42 });
  // The data ends at the start of today (UTC), or at --as-of, so "the last 30 days" is recent data.
  const anchor = g.asOfGiven ? g.asOf : new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000);
  const asOf = anchor;

  const project = Project.load(projectDir);
  const shownProject = relative(io.cwd, projectDir) || '.';
  const distributed = g.values.distributed === true;
  if (distributed && !g.db) throw new CliError('--distributed loads a distributed layout (Citus): it needs --db postgres://… (a coordinator with the citus extension) and --force; the embedded database cannot hold distributed tables');
  let db: Db;
  let where: string;
  if (g.db) {
    if (!g.values.force) throw new CliError(`demo loads tables named ${example === 'saas' ? 'accounts, activity, orders, surveys, marketing_costs and fx_rates' : 'customers and events'}; with --db, add --force to confirm that it may drop and recreate them there`);
    db = await connect(g.db, { baseDir: io.cwd, timezone: project.config.timezone });
    where = db.label;
  } else {
    const dir = join(projectDir, '.tally', 'db');
    rmSync(dir, { recursive: true, force: true });
    db = await connect(`pglite:${dir}`, { baseDir: projectDir, timezone: project.config.timezone, create: true });
    where = `the embedded database (${relative(io.cwd, dir) || dir})`;
  }
  try {
    let loaded: { customers: number; events: number };
    if (example === 'saas') {
      if (distributed) throw new CliError('tally demo --distributed loads the shop example only (customers and events co-located by customer); leave out --example saas');
      const accounts = g.values.customers ? customers : 2000;
      io.out(`Tally demo: a SaaS, ${formatNumber(accounts)} accounts, data up to ${anchor.toISOString().slice(0, 10)}`);
      const l = await loadSaas(db, { accounts, seed, anchor, replace: !!g.db });
      loaded = { customers: l.accounts, events: l.rows };
      io.out(`loaded ${formatNumber(l.accounts)} accounts and ${formatNumber(l.rows)} activity, order, survey, spend and rate rows into ${where} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    } else {
      try {
        // Refused (nothing dropped, nothing loaded) when --distributed meets a database without citus.
        if (distributed) await assertDistributedLayout(db);
        if (g.db) {
          await db.exec('drop table if exists events');
          await db.exec('drop table if exists customers');
        }
        io.out(`Tally demo: an online shop, ${formatNumber(customers)} customers, data up to ${anchor.toISOString().slice(0, 10)}${distributed ? ' (distributed: customers and events co-located by customer)' : ''}`);
        loaded = await loadShop(db, { customers, seed, anchor, distributed });
      } catch (e) {
        if (e instanceof DistributedLayoutUnavailable) throw new CliError(`tally demo --distributed: ${e.message}`);
        throw e;
      }
      io.out(`loaded ${formatNumber(loaded.customers)} customers and ${formatNumber(loaded.events)} events into ${where} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
    }

    const { analysis } = await analyzeLive(db, project, { now: asOf });
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    const warnings = analysis.diagnostics.filter((d) => d.severity === 'warning');
    io.out(`1. validate: ${analysis.definitions.length} definitions in ${project.filePaths.length} files, ${errors.length} errors, ${warnings.length} warnings (checked against the live catalog)`);
    if (errors.length) {
      io.out(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
      return EXIT_FINDINGS;
    }
    const opts = { asOf, sampleSize: 0, timeoutMs: 60_000 };

    const segRows: unknown[][] = [];
    for (const info of analysis.ofKind('Segment')) {
      const p = (await preview(db, analysis, 'segment', info.def.name, opts)) as SegmentPreview;
      segRows.push([info.def.name, p.count, percent(loaded.customers ? p.count / loaded.customers : null), info.def.description ?? '']);
    }
    io.out(`\n2. segments (who), as of ${asOf.toISOString()}\n${table(['segment', 'customers', 'share', 'description'], segRows, { maxWidth: 60 })}`);

    for (const info of analysis.ofKind('Lifecycle')) {
      const p = (await preview(db, analysis, 'lifecycle', info.def.name, opts)) as LifecyclePreview;
      const rows = Object.entries(p.stages).map(([s, n]) => [s, n, percent(p.total ? n / p.total : null), '█'.repeat(Math.round((p.total ? n / p.total : 0) * 40))]);
      io.out(`\n3. lifecycle ${info.def.name}: every customer in exactly one stage (${formatNumber(p.total)} in all)\n${table(['stage', 'customers', 'share', ''], rows)}`);
    }

    for (const info of analysis.ofKind('Score')) {
      const p = (await preview(db, analysis, 'score', info.def.name, { ...opts, sampleSize: 3 })) as ValuesPreview;
      const rows = Object.entries(p.bands ?? {}).map(([b, n]) => [b, n, percent(p.entities ? n / p.entities : null)]);
      io.out(`\n4. score ${info.def.name} (0-100) by band\n${table(['band', 'customers', 'share'], rows)}`);
    }

    // The same table `tally check` prints, from the same engine function.
    const checked = await checkKpis(db, analysis, { asOf, timeoutMs: 60_000 });
    const failOn = parseFailOn(undefined);
    io.out(`\n5. KPIs against their SMART targets (what \`tally check\` prints)\n${checkText(checked, { analysis, root: project.root, cwd: io.cwd, failOn: 'error' in failOn ? [] : failOn.statuses })}`);

    const campRows: unknown[][] = [];
    for (const info of analysis.ofKind('Campaign')) {
      const p = (await preview(db, analysis, 'campaign', info.def.name, opts)) as CampaignPreview;
      const held = Object.entries(p.held_back).filter(([, n]) => n > 0).map(([k, n]) => `${k.replace('_', ' ')} ${formatNumber(n)}`).join(', ');
      campRows.push([info.def.name, p.channel, p.audience, p.variants.map((v) => `${v.name} ${formatNumber(v.count)}`).join(' / '), held || '–']);
    }
    if (campRows.length) io.out(`\n6. campaigns: who a \`tally run\` now would enroll (preview, nothing written)\n${table(['campaign', 'channel', 'would enroll', 'split', 'held back'], campRows, { maxWidth: 60 })}`);

    if (example === 'saas') {
      io.out(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s. Try next:
  tally preview kpi cac_by_channel --project ${shownProject}
  tally preview kpi csat_30d --project ${shownProject} --format json
  tally preview score rfm --project ${shownProject}
  tally compile --project ${shownProject} --out out/sql`);
      return EXIT_OK;
    }
    io.out(`
done in ${((Date.now() - started) / 1000).toFixed(1)} s. Try next:
  tally preview segment high_value_dormant --project ${shownProject}
  tally preview kpi d30_retention --project ${shownProject} --format json
  tally validate --project ${shownProject}
  tally check --project ${shownProject} --format markdown
  tally compile --project ${shownProject} --out out/sql
  tally plan --project ${shownProject} --format markdown      (then: tally deploy, edit a segment, plan again)
  tally run --project ${shownProject} --as-of 2026-10-01 --campaign winback_dormant   (after tally deploy: a run enrolls what is deployed)
  tally report winback_dormant --project ${shownProject} --as-of 2026-11-01`);
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
