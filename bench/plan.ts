// Section "plan": `tally plan` (engine/src/deploy/plan.ts planProject) at scale, against the best
// hand-written SQL for the same answer, on the segment bench's data set (1M customers, ~28M events).
//
// In a throwaway deploy schema (tally_bench_plan_<pid>, dropped at the end) the bench deploys a
// small project with engine/src/deploy/deploy.ts: the shop's customer/events mapping, its lifecycle
// customer_lifecycle and the two bench segments (bench/lib/bench-project.ts). Small on purpose, so
// that each case changes exactly one definition (in the full shop project a lifecycle change also
// changes the three segments built on it, and the plan measures each of them too). Then, as of the
// data's anchor T:
//
//   fixed overhead  planProject on the deployed project itself: nothing changed, no impact query;
//                   also on the whole example shop (deployed into a second throwaway schema)
//   (a) segment     bench_selective, its NOT login window 14d -> 21d (version 2): before, after,
//                   entering, leaving
//   (b) lifecycle   customer_lifecycle, dormant after 30 -> 45 quiet days (version 2): the stage
//                   distribution before and after, and how many customers move stage
//
// For each case: planProject's wall time (through the engine's own Db, so with the plan's
// read-only transaction, jit = off and work_mem = 64MB), the time of its impact statement alone
// (taken from the same runs by timing every statement the plan sends), and hand-written SQL shapes
// run in the same kind of transaction. Every hand-written answer is checked against the plan's
// numbers. Plan and hand-written variants run in rounds, in rotating order, after one warm-up each.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, type Analysis } from '../engine/src/index.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { planProject, type Plan } from '../engine/src/deploy/plan.js';
import { ensureDataset, type Dataset, type DataSectionOptions } from './lib/dataset.js';
import { BENCH_DEFINITIONS, SHOP_DIR } from './lib/bench-project.js';
import { BenchPg, bind, databaseUrl, engineUrl, ensureDatabase } from './lib/pg.js';
import { best, median, now, type ReadPath, type Row, type Section } from './lib/report.js';

/** planProject wall time / best hand-written query for the same answer. */
export const PLAN_TARGET = 1.5;


/** `reps`: measured rounds after the warm-up; 0: 3. */
export interface PlanBenchOptions extends DataSectionOptions {
  explain: boolean;
}

type Answer = string;

// ---- the project ---------------------------------------------------------------------------------

const PROJECT_FILES = ['definitions/model.yaml', 'definitions/lifecycle.yaml'];
const BENCH_FILE = 'definitions/zz_bench.yaml';

interface Sources {
  tallyYaml: string;
  files: Map<string, string>;
}

/** The bench's small project (`full`: every definition file of the example shop) deploying into `schema`. */
function baseSources(schema: string, full = false): Sources {
  const tallyYaml = edit(readFileSync(join(SHOP_DIR, 'tally.yaml'), 'utf8'), /^deploy:\n  schema: tally$/m, `deploy:\n  schema: ${schema}`);
  const files = new Map<string, string>();
  for (const f of full ? new Project(SHOP_DIR, tallyYaml).discover() : PROJECT_FILES) files.set(f, readFileSync(join(SHOP_DIR, f), 'utf8'));
  files.set(BENCH_FILE, BENCH_DEFINITIONS);
  return { tallyYaml, files };
}

/** Replaces exactly one match of `from`; throws when the text no longer has it (the bench must follow the example). */
function edit(text: string, from: RegExp | string, to: string): string {
  const n = typeof from === 'string' ? text.split(from).length - 1 : (text.match(new RegExp(from.source, from.flags.includes('g') ? from.flags : from.flags + 'g')) ?? []).length;
  if (n !== 1) throw new Error(`plan bench: expected one ${String(from)} to edit, found ${n}`);
  return text.replace(from, to);
}

function analyse(src: Sources, catalog: Catalog | undefined, asOf: Date): Analysis {
  const project = new Project(SHOP_DIR, src.tallyYaml);
  for (const [f, text] of src.files) project.setFile(f, text);
  const analysis = project.analyze({ catalog, now: asOf });
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`the plan bench project has errors: ${errors.map((d) => `${d.file}:${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
  return analysis;
}

function withEdits(src: Sources, file: string, edits: [RegExp | string, string][]): Sources {
  let text = src.files.get(file)!;
  for (const [from, to] of edits) text = edit(text, from, to);
  return { tallyYaml: src.tallyYaml, files: new Map([...src.files, [file, text]]) };
}

// ---- hand-written SQL ----------------------------------------------------------------------------


// bench_selective as bench/segments.ts writes it by hand (its probe-exists shape), without the login NOT.
const SELECTIVE_COMMON = `
  c.country in ('AT', 'CH') and c.created_at <= :T
  and exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T90 and e.occurred_at <= :T offset 1)
  and (select sum((e.properties ->> 'amount')::numeric) from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T365 and e.occurred_at <= :T) >= 200`;
const noLogin = (days: number) => `not exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'login' and e.occurred_at > :T${days} and e.occurred_at <= :T)`;

const SEGMENT_HAND: Record<string, string> = {
  // Evaluate what both versions share once per candidate, then both login probes: one statement,
  // one row of counts.
  'one-pass-flags': `
    select count(*) filter (where o) as before, count(*) filter (where n) as after,
           count(*) filter (where n and not o) as entering, count(*) filter (where o and not n) as leaving
    from (select ${noLogin(14)} as o, ${noLogin(21)} as n from customers c where ${SELECTIVE_COMMON}) s`,
  // The same with one probe for the candidate's last login instead of two NOT EXISTS.
  'one-pass-last-login': `
    select count(*) filter (where o) as before, count(*) filter (where n) as after,
           count(*) filter (where n and not o) as entering, count(*) filter (where o and not n) as leaving
    from (select (l.last is null or l.last <= :T14) as o, (l.last is null or l.last <= :T21) as n
          from customers c
          cross join lateral (select max(e.occurred_at) as last from events e where e.customer_id = c.id and e.event_name = 'login' and e.occurred_at <= :T) l
          where ${SELECTIVE_COMMON}) s`,
  // Both member sets, then counts and two anti-joins (what plan does, with hand-written sets).
  'two-sets-not-exists': `
    with o as materialized (select c.id from customers c where ${SELECTIVE_COMMON} and ${noLogin(14)}),
         n as materialized (select c.id from customers c where ${SELECTIVE_COMMON} and ${noLogin(21)})
    select (select count(*) from o) as before, (select count(*) from n) as after,
           (select count(*) from n where not exists (select 1 from o where o.id = n.id)) as entering,
           (select count(*) from o where not exists (select 1 from n where n.id = o.id)) as leaving`,
  // Both member sets, counted with EXCEPT.
  'two-sets-except': `
    with o as materialized (select c.id from customers c where ${SELECTIVE_COMMON} and ${noLogin(14)}),
         n as materialized (select c.id from customers c where ${SELECTIVE_COMMON} and ${noLogin(21)})
    select (select count(*) from o) as before, (select count(*) from n) as after,
           (select count(*) from (select id from n except select id from o) x) as entering,
           (select count(*) from (select id from o except select id from n) x) as leaving`,
};

// customer_lifecycle by each customer's last event in the 90-day window (as bench/segments.ts's
// grouped-max-left-join), both versions from the same last-event time.
const stageOf = (dormantDays: number) => `case when c.created_at > :T7 then 'new' when a.last is null then 'churned' when a.last <= :T${dormantDays} then 'dormant' else 'active' end`;
const LIFECYCLE_HAND: Record<string, string> = {
  // One grouped scan of the window, both stages per customer, counted per (old, new) pair.
  'one-pass-grouped-max': `
    select o, n, count(*) as count from (
      select ${stageOf(30)} as o, ${stageOf(45)} as n
      from customers c
      left join (select customer_id, max(occurred_at) as last from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
      where c.created_at <= :T) s
    group by o, n`,
  // The same with one index-only probe per customer for its last event.
  'one-pass-lateral-max': `
    select o, n, count(*) as count from (
      select ${stageOf(30)} as o, ${stageOf(45)} as n
      from customers c
      cross join lateral (select max(e.occurred_at) as last from events e where e.customer_id = c.id and e.occurred_at > :T90 and e.occurred_at <= :T) a
      where c.created_at <= :T) s
    group by o, n`,
  // Both stage assignments evaluated separately, then joined on the key (what plan does).
  'two-sides-full-join': `
    with o as materialized (
           select c.id, ${stageOf(30)} as stage from customers c
           left join (select customer_id, max(occurred_at) as last from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
           where c.created_at <= :T),
         n as materialized (
           select c.id, ${stageOf(45)} as stage from customers c
           left join (select customer_id, max(occurred_at) as last from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
           where c.created_at <= :T)
    select o.stage as o, n.stage as n, count(*) as count from o full join n on o.id = n.id group by o.stage, n.stage`,
};

const STAGES = ['new', 'churned', 'dormant', 'active'];

function sortedDist(d: Record<string, number> | null): Record<string, number> | null {
  return d ? Object.fromEntries(Object.entries(d).sort((a, b) => a[0].localeCompare(b[0]))) : null;
}

const segmentAnswer = (x: { before: unknown; after: unknown; entering: unknown; leaving: unknown }): Answer =>
  JSON.stringify({ before: Number(x.before), after: Number(x.after), entering: Number(x.entering), leaving: Number(x.leaving) });

function lifecycleHandAnswer(rows: Record<string, unknown>[]): Answer {
  const before: Record<string, number> = Object.fromEntries(STAGES.map((s) => [s, 0]));
  const after: Record<string, number> = Object.fromEntries(STAGES.map((s) => [s, 0]));
  let moved = 0;
  for (const r of rows) {
    const n = Number(r.count);
    if (r.o !== null) before[String(r.o)] = (before[String(r.o)] ?? 0) + n;
    if (r.n !== null) after[String(r.n)] = (after[String(r.n)] ?? 0) + n;
    if (r.o !== r.n) moved += n;
  }
  return JSON.stringify({ before: sortedDist(before), after: sortedDist(after), moved });
}

// ---- measuring -----------------------------------------------------------------------------------

interface Stmt {
  sql: string;
  ms: number;
}

/** The engine's Db with every statement inside its transactions timed (the plan runs in one). */
function instrument(db: Db, log: Stmt[]): Db {
  const wrap = (tx: Db): Db => ({
    kind: tx.kind,
    label: tx.label,
    async query(text, params) {
      const t = now();
      try {
        return await tx.query(text, params);
      } finally {
        log.push({ sql: text, ms: now() - t });
      }
    },
    async exec(text) {
      const t = now();
      try {
        await tx.exec(text);
      } finally {
        log.push({ sql: text, ms: now() - t });
      }
    },
    transaction: (fn, opts) => tx.transaction((inner) => fn(wrap(inner)), opts),
    close: () => tx.close(),
  });
  return { ...wrap(db), close: () => db.close() };
}

/** Plan's impact statements: two member/value sets compared, or both versions in one scan. */
const isImpact = (sql: string) => /^\s*(with o as materialized|select count\(\*\) filter \(where o\)|select o::text as o|select count\(o\) as before)/i.test(sql);

interface PlanRun {
  ms: number;
  impactMs: number;
  impactCount: number;
  statements: number;
  dbMs: number;
  plan: Plan;
  impactSql: string[];
}

async function runPlan(db: Db, analysis: Analysis, schema: string, catalog: Catalog, asOf: Date, timeoutMs: number): Promise<PlanRun> {
  const stmts: Stmt[] = [];
  const t = now();
  const plan = await planProject(instrument(db, stmts), analysis, { schema, asOf, catalog, timeoutMs });
  const ms = now() - t;
  const impact = stmts.filter((s) => isImpact(s.sql));
  return {
    ms,
    impactMs: impact.reduce((s, x) => s + x.ms, 0),
    impactCount: impact.length,
    statements: stmts.length,
    dbMs: stmts.reduce((s, x) => s + x.ms, 0),
    plan,
    impactSql: impact.map((s) => s.sql),
  };
}

interface HandVariant {
  id: string;
  sql: string;
  params: unknown[];
  times: number[];
  answer?: Answer;
  error?: string;
  warmupMs?: number;
}

/** Runs a hand-written query the way plan runs its statements: read-only transaction, jit off, work_mem 64MB, statement timeout. */
async function runHand(db: Db, v: HandVariant, timeoutMs: number): Promise<{ ms: number; rows: Record<string, unknown>[] }> {
  const t = now();
  const rows = await db.transaction(async (tx) => (await tx.query(v.sql, v.params)).rows, { readOnly: true, timeoutMs });
  return { ms: now() - t, rows };
}

interface PlanCase {
  key: string;
  short: string;
  title: string;
  analysis: Analysis;
  kind: string;
  name: string;
  hand: Record<string, string>;
  /** The two-set shape written by hand (both versions evaluated separately, then compared): plan's fallback when it cannot pair them. */
  planShape: string;
  handAnswer: (rows: Record<string, unknown>[]) => Answer;
}

function planAnswer(plan: Plan, kind: string, name: string): Answer | { error: string } {
  const item = plan.items.find((i) => i.kind === kind && i.name === name);
  if (!item) return { error: `no ${kind} ${name} in the plan` };
  const m = item.impact;
  if (m.k === 'segment') return segmentAnswer(m);
  if (m.k === 'lifecycle') return JSON.stringify({ before: sortedDist(m.before), after: sortedDist(m.after), moved: m.moved });
  return { error: m.k === 'unmeasured' ? m.reason : `unexpected impact ${m.k}` };
}

interface CaseResult {
  c: PlanCase;
  planTimes: number[];
  impactTimes: number[];
  planWarmupMs: number;
  planAnswer: Answer | { error: string };
  lastRun: PlanRun;
  hands: HandVariant[];
  explain: string[];
}

function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err.code === 'db-timeout') return 'timeout';
  return err.message ?? String(e);
}

async function runCase(db: Db, c: PlanCase, ctx: { schema: string; catalog: Catalog; asOf: Date; timeoutMs: number; reps: number; explain: boolean; log: (s: string) => void }): Promise<CaseResult> {
  const hands: HandVariant[] = Object.entries(c.hand).map(([id, text]) => ({ id, ...bind(text, ctx.asOf), times: [] }));
  // Warm-up (and the answers).
  const warm = await runPlan(db, c.analysis, ctx.schema, ctx.catalog, ctx.asOf, ctx.timeoutMs);
  const answer = planAnswer(warm.plan, c.kind, c.name);
  const unexpected = warm.plan.items.filter((i) => i.status !== 'unchanged' && !(i.kind === c.kind && i.name === c.name));
  if (unexpected.length) throw new Error(`case ${c.key}: the plan also changes ${unexpected.map((i) => `${i.kind} ${i.name}`).join(', ')}`);
  ctx.log(`    warm-up plan: ${warm.ms.toFixed(0)} ms (impact statement ${warm.impactMs.toFixed(0)} ms) -> ${typeof answer === 'string' ? answer : `error: ${answer.error}`}`);
  for (const h of hands) {
    try {
      const r = await runHand(db, h, ctx.timeoutMs);
      h.warmupMs = r.ms;
      h.answer = c.handAnswer(r.rows);
    } catch (e) {
      h.error = errorText(e);
    }
    ctx.log(`    warm-up hand: ${h.id}: ${h.error ?? `${h.warmupMs!.toFixed(0)} ms -> ${h.answer}`}`);
  }
  const planTimes: number[] = [];
  const impactTimes: number[] = [];
  let lastRun = warm;
  const live = hands.filter((h) => !h.error);
  const fastest = Math.min(warm.ms, ...live.map((h) => h.warmupMs!));
  // A hand-written shape over 3x the fastest warm-up is measured once more only (it cannot be the best).
  const wanted = (h: HandVariant) => (h.warmupMs! > 3 * fastest ? 1 : ctx.reps);
  const order: (HandVariant | 'plan')[] = ['plan', ...live];
  for (let round = 0; round < ctx.reps; round++) {
    for (let i = 0; i < order.length; i++) {
      const v = order[(i + round) % order.length]!;
      if (v === 'plan') {
        const r = await runPlan(db, c.analysis, ctx.schema, ctx.catalog, ctx.asOf, ctx.timeoutMs);
        planTimes.push(r.ms);
        impactTimes.push(r.impactMs);
        lastRun = r;
        continue;
      }
      if (v.error || v.times.length >= wanted(v)) continue;
      try {
        v.times.push((await runHand(db, v, ctx.timeoutMs)).ms);
      } catch (e) {
        v.error = errorText(e);
      }
    }
  }
  const explain: string[] = [];
  if (ctx.explain) {
    const bestHand = live.filter((h) => h.times.length).sort((x, y) => median(x.times) - median(y.times))[0];
    const targets: [string, string, unknown[]][] = [...lastRun.impactSql.map((s): [string, string, unknown[]] => ['plan impact statement', s, []]), ...(bestHand ? [[`hand: ${bestHand.id}`, bestHand.sql, bestHand.params] as [string, string, unknown[]]] : [])];
    for (const [label, sql, params] of targets) {
      try {
        const rows = await db.transaction(async (tx) => (await tx.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${sql}`, params)).rows, { readOnly: true, timeoutMs: ctx.timeoutMs });
        explain.push(`--- ${c.key}: ${label}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}`);
      } catch (e) {
        explain.push(`--- ${c.key}: ${label}: explain failed: ${errorText(e)}`);
      }
    }
  }
  return { c, planTimes, impactTimes, planWarmupMs: warm.ms, planAnswer: answer, lastRun, hands, explain };
}

// ---- the section ---------------------------------------------------------------------------------

export async function planSection(o: PlanBenchOptions): Promise<Section> {
  await ensureDatabase(o.server, o.database);
  const admin = await BenchPg.open(databaseUrl(o.server, o.database));
  const schema = `tally_bench_plan_${process.pid}`;
  const fullSchema = `${schema}_shop`;
  let db: Db | undefined;
  try {
    o.log(`plan: data set of ${o.customers.toLocaleString('en-US')} customers in ${o.database} ...`);
    const ds: Dataset = await ensureDataset(admin, { customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days }, o.log);
    if (!/^[a-z0-9_]+$/.test(ds.schema)) throw new Error(`unexpected data set schema name ${ds.schema}`);
    db = await connect(engineUrl(o.server, o.database, ds.schema), { baseDir: SHOP_DIR, timezone: 'UTC' });
    const sp = (await db.query<{ s: string }>("select current_setting('search_path') as s")).rows[0]?.s ?? '';
    if (!sp.includes(ds.schema)) throw new Error(`the engine connection's search_path is '${sp}', not the data set's schema`);

    const asOf = o.anchor;
    const base = baseSources(schema);
    const catalog = await loadCatalog(db, analyse(base, undefined, asOf).definitions);
    const deployed = analyse(base, catalog, asOf);
    o.log(`  deploying ${deployed.infos.length} definitions into ${schema} ...`);
    let t = now();
    const d = await deploy(db, deployed, { schema, who: 'tally bench', catalog });
    if (!d.deployed) throw new Error(`the bench deploy did not deploy (refused: ${d.refused}; ${d.diagnostics.map((x) => x.message).join('; ')})`);
    const deployMs = now() - t;
    o.log(`    deployed in ${(deployMs / 1000).toFixed(1)} s (views ${d.views.created.length}, lifecycle snapshot included)`);

    const reps = o.reps > 0 ? o.reps : 3;
    const ctx = { schema, catalog, asOf, timeoutMs: o.timeoutMs, reps, explain: o.explain, log: o.log };

    // Fixed overhead: nothing changed.
    o.log('  fixed overhead: planProject on the deployed project');
    const idle: PlanRun[] = [];
    await runPlan(db, deployed, schema, catalog, asOf, o.timeoutMs);
    for (let i = 0; i < Math.max(5, reps); i++) idle.push(await runPlan(db, deployed, schema, catalog, asOf, o.timeoutMs));
    const idleMs = median(idle.map((r) => r.ms));
    const idleDbMs = median(idle.map((r) => r.dbMs));
    if (idle.some((r) => r.impactCount || r.plan.items.some((i) => i.status !== 'unchanged'))) throw new Error('the unchanged project has changes in its plan');

    // The same on the whole example shop (plus the bench segments), for a project of realistic size.
    o.log('  fixed overhead: planProject on the whole example shop, deployed');
    const shop = analyse(baseSources(fullSchema, true), catalog, asOf);
    t = now();
    const ds2 = await deploy(db, shop, { schema: fullSchema, who: 'tally bench', catalog });
    if (!ds2.deployed) throw new Error(`the shop deploy did not deploy (refused: ${ds2.refused}; ${ds2.diagnostics.map((x) => x.message).join('; ')})`);
    const shopDeployMs = now() - t;
    const shopIdle: PlanRun[] = [];
    await runPlan(db, shop, fullSchema, catalog, asOf, o.timeoutMs);
    for (let i = 0; i < Math.max(5, reps); i++) shopIdle.push(await runPlan(db, shop, fullSchema, catalog, asOf, o.timeoutMs));
    if (shopIdle.some((r) => r.impactCount || r.plan.items.some((i) => i.status !== 'unchanged'))) throw new Error('the unchanged shop project has changes in its plan');
    const shopIdleMs = median(shopIdle.map((r) => r.ms));
    const shopIdleDbMs = median(shopIdle.map((r) => r.dbMs));

    const cases: PlanCase[] = [
      {
        key: 'a',
        short: '(a) segment bench_selective: NOT login 14d -> 21d',
        title: '(a) segment bench_selective v2: no login in 21 days instead of 14 (before, after, entering, leaving)',
        analysis: analyse(withEdits(base, BENCH_FILE, [['name: bench_selective\nversion: 1', 'name: bench_selective\nversion: 2'], ['not: { event: login, within: 14d }', 'not: { event: login, within: 21d }']]), catalog, asOf),
        kind: 'segment',
        name: 'bench_selective',
        hand: SEGMENT_HAND,
        planShape: 'two-sets-not-exists',
        handAnswer: (rows) => segmentAnswer(rows[0] as never),
      },
      {
        key: 'b',
        short: '(b) lifecycle customer_lifecycle: dormant 30d -> 45d',
        title: '(b) lifecycle customer_lifecycle v2: dormant after 45 quiet days instead of 30 (both distributions, customers moving stage)',
        analysis: analyse(
          withEdits(base, 'definitions/lifecycle.yaml', [
            ['name: customer_lifecycle\nversion: 1', 'name: customer_lifecycle\nversion: 2'],
            ['{ name: dormant, where: { not: { stream: events, within: 30d } } }', '{ name: dormant, where: { not: { stream: events, within: 45d } } }'],
          ]),
          catalog,
          asOf,
        ),
        kind: 'lifecycle',
        name: 'customer_lifecycle',
        hand: LIFECYCLE_HAND,
        planShape: 'two-sides-full-join',
        handAnswer: lifecycleHandAnswer,
      },
    ];

    const readPaths: ReadPath[] = [];
    // The floor of the read-path table: one count(*) of the events table.
    await admin.query(`set search_path to "${ds.schema}", public`);
    await admin.query('select count(*) from events');
    const floorTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s0 = now();
      await admin.query('select count(*) from events');
      floorTimes.push(now() - s0);
    }
    const floorMs = median(floorTimes);
    const rows: Row[] = [
      {
        figure: `fixed overhead: planProject, nothing changed (${deployed.infos.length} definitions)`,
        value: idleMs,
        unit: 'ms',
        note: `${idle[0]!.statements} statements, ${idleDbMs.toFixed(1)} ms of it in the database; no impact query`,
      },
      {
        figure: `fixed overhead: the whole example shop (${shop.infos.length} definitions)`,
        value: shopIdleMs,
        unit: 'ms',
        note: `${shopIdle[0]!.statements} statements, ${shopIdleDbMs.toFixed(1)} ms of it in the database`,
      },
    ];
    const notes: string[] = [];
    const detail: unknown[] = [];
    for (const c of cases) {
      o.log(`  ${c.title}`);
      t = now();
      const r = await runCase(db, c, ctx);
      const reference = typeof r.planAnswer === 'string' ? r.planAnswer : undefined;
      const correct = (h: HandVariant) => h.answer !== undefined && h.answer === reference;
      const ranked = r.hands.filter((h) => correct(h) && h.times.length).sort((x, y) => median(x.times) - median(y.times));
      const bestHand = ranked[0];
      const bestMs = bestHand ? median(bestHand.times) : NaN;
      const bestLabel = bestHand ? `best hand: ${bestHand.id}` : 'best hand: none';
      const planMs = median(r.planTimes);
      const impactMs = median(r.impactTimes);
      const planError = typeof r.planAnswer === 'string' ? '' : `  (plan: ${r.planAnswer.error})`;
      rows.push({ figure: c.short, value: NaN, unit: '' });
      rows.push({
        figure: `  ${c.key}: planProject (${r.lastRun.impactCount} impact statement)${planError}`,
        value: planMs,
        unit: 'ms',
        reference: { label: bestLabel, value: bestMs },
        ratio: planMs / bestMs,
        target: `<= ${PLAN_TARGET}x best hand`,
        met: !planError && planMs / bestMs <= PLAN_TARGET,
      });
      readPaths.push({ path: `plan (${c.short.replace(/^\(\w\)\s*/, '')})`, engineMs: planMs, handMs: bestMs, hand: bestHand?.id ?? 'none', floorMs, wrong: !!planError });
      rows.push({ figure: `  ${c.key}: its impact statement alone`, value: impactMs, unit: 'ms', reference: { label: bestLabel, value: bestMs }, ratio: impactMs / bestMs });
      for (const h of [...r.hands].sort((x, y) => (median(x.times) || Infinity) - (median(y.times) || Infinity))) {
        const wrong = h.answer !== undefined && h.answer !== reference;
        const med = h.times.length ? median(h.times) : NaN;
        rows.push({
          figure: `  ${c.key}: hand: ${h.id}${wrong ? '  !! WRONG ANSWER' : ''}${h.error ? `  (${h.error})` : ''}`,
          value: med,
          unit: 'ms',
          ...(h === bestHand ? { ratio: 1 } : { reference: { label: bestLabel, value: bestMs }, ratio: med / bestMs }),
        });
      }
      const same = r.hands.find((h) => h.id === c.planShape && h.times.length);
      notes.push(
        `${c.title}: plan says ${reference ?? JSON.stringify(r.planAnswer)}; planProject - its impact statement = ${(planMs - impactMs).toFixed(0)} ms; ` +
          `impact statement / the two-set shape written by hand (${c.planShape}) = ${same ? (impactMs / median(same.times)).toFixed(2) : '-'}x`,
      );
      const wrong = r.hands.filter((h) => h.answer !== undefined && h.answer !== reference);
      if (wrong.length) {
        const text = `!! MISMATCH in ${c.key}: ${wrong.map((h) => `hand ${h.id} returned ${h.answer}`).join('; ')} (plan: ${reference})`;
        notes.push(text);
        o.log(`  ${text}`);
      }
      for (const h of r.hands) if (h.error) notes.push(`${c.key}: hand ${h.id} failed: ${h.error}`);
      notes.push(...r.explain);
      o.log(`    ${c.key} done in ${((now() - t) / 1000).toFixed(0)} s`);
      detail.push({
        case: c.key,
        title: c.title,
        answer: reference ?? null,
        planError: typeof r.planAnswer === 'string' ? null : r.planAnswer.error,
        planMs: r.planTimes,
        planBestMs: best(r.planTimes),
        planWarmupMs: r.planWarmupMs,
        impactMs: r.impactTimes,
        impactSql: r.lastRun.impactSql,
        bestHand: bestHand?.id ?? null,
        bestHandMs: bestMs,
        hands: r.hands.map((h) => ({ id: h.id, medianMs: h.times.length ? median(h.times) : null, bestMs: h.times.length ? best(h.times) : null, warmupMs: h.warmupMs ?? null, times: h.times, answer: h.answer ?? null, correct: correct(h), error: h.error ?? null, sql: h.sql, params: h.params })),
      });
    }
    notes.unshift(
      `data: ${ds.customersLoaded.toLocaleString('en-US')} customers, ${ds.eventsLoaded.toLocaleString('en-US')} events in ${o.database}.${ds.schema} (${ds.reused ? 'reused' : 'loaded now'}); as of ${asOf.toISOString()}`,
      `project: the shop's mapping (model.yaml), customer_lifecycle and the bench segments, deployed with deploy() into ${schema} (${(deployMs / 1000).toFixed(1)} s, dropped afterwards); one definition changes per case`,
      `times: median of ${reps} rounds after one warm-up, plan and hand-written in rotating order, each in a read-only transaction with plan's settings (jit off, work_mem 64MB); "impact statement alone" is the same runs' statement time; ratio = figure / best hand-written query that returned the plan's answer`,
      `fixed overhead = read the deployed state, re-analyse its sources, version rules: ${idleMs.toFixed(1)} ms for the bench project, ${shopIdleMs.toFixed(1)} ms for the whole shop (${shop.infos.length} definitions, deployed into ${fullSchema} in ${(shopDeployMs / 1000).toFixed(1)} s, dropped afterwards)`,
    );
    return {
      readPaths,
      name: 'plan',
      title: `plan: tally plan's impact queries vs hand-written on PostgreSQL (${ds.customersLoaded.toLocaleString('en-US')} customers)`,
      rows,
      notes,
      detail: {
        dataset: ds.schema,
        schema,
        deployMs,
        fixedOverheadMs: idle.map((r) => r.ms),
        fixedOverheadDbMs: idle.map((r) => r.dbMs),
        shopDefinitions: shop.infos.length,
        shopDeployMs,
        shopFixedOverheadMs: shopIdle.map((r) => r.ms),
        shopFixedOverheadDbMs: shopIdle.map((r) => r.dbMs),
        cases: detail,
      },
    };
  } finally {
    await db?.close();
    for (const s of [schema, fullSchema]) {
      try {
        await admin.query(`drop schema if exists "${s}" cascade`);
      } catch (e) {
        o.log(`  could not drop ${s}: ${errorText(e)}`);
      }
    }
    await admin.close();
  }
}
