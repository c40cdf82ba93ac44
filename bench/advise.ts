// Section "advise": every read path of the bench project before and after the indexes `tally advise`
// recommends (engine/src/advise/), as ratios to the floor (one count(*) scan of events) measured in
// the same run. The section creates the missing advised indexes on the data set, measures, and
// drops them again in all cases (printing each build time): Tally itself never creates indexes on
// user tables; the bench does it to show what the advice buys.
//
// Targets (issue 11, goal 3): with the advised indexes, a selective segment (one event type over a
// window) <= 0.3x the floor; population-wide shapes (a population-wide segment, the lifecycle, a
// trait, a score) <= 1.5x the floor.
//
// The data set is the segments section's (tally_bench, loaded once); this section never loads or
// reloads it: it refuses to run unless the marker table records it. For development on another data
// set, TALLY_BENCH_ADVISE_TARGET=postgres://host/db#schema points it at any loaded shop data.
// TALLY_BENCH_ADVISE_PATHS=floor,seg-one-type,... measures a subset; TALLY_BENCH_ADVISE_NOT_BEFORE=ISO
// holds the index builds until that instant (the "before" phase runs right away).

import { adviseIndexes, type AdvisedIndex } from '../engine/src/advise/advise.js';
import { compileDistribution, compileMemberCount, compileMetric, compileValueSample, type CompiledQuery, type SqlOptions } from '../engine/src/index.js';
import type { IrMembersQuery, IrValuesQuery } from '../engine/src/ir/ir.js';
import { loadIndexes } from '../engine/src/advise/load.js';
import { BENCH_DEFINITIONS, SHOP_DIR } from './lib/bench-project.js';
import { MARKER_TABLE, schemaName, type DataSectionOptions } from './lib/dataset.js';
import { BenchPg, databaseUrl } from './lib/pg.js';
import { median, now, type Row, type Section } from './lib/report.js';
import { Project } from '../engine/src/index.js';

export const SELECTIVE_TARGET = 0.3; // x floor, with the advised indexes
export const POPULATION_TARGET = 1.5; // x floor, with the advised indexes

/** `reps`: measured repetitions per read path and phase, after one warm-up (default 2). */
export type AdviseBenchOptions = DataSectionOptions;

/** A segment of the goal-3 shape: one event type over a window. */
const ADVISE_DEFINITIONS = `${BENCH_DEFINITIONS}---
kind: Segment
name: bench_one_type_window
version: 1
description: Bought in the last 30 days (one event type over a window).
entity: customer
where: { event: purchase, within: 30d }
`;

interface ReadPath {
  id: string;
  label: string;
  /** 'selective' and 'population' paths have a target against the floor. */
  shape: 'selective' | 'population' | 'other';
  query: CompiledQuery;
}

function readPaths(project: Project, asOf: Date): ReadPath[] {
  const analysis = project.analyze();
  const opts: SqlOptions = { asOf: { kind: 'instant', at: asOf }, literals: 'param' };
  const members = (name: string) => analysis.get('Segment', name)!.resolved.query as IrMembersQuery;
  const values = (kind: 'Trait' | 'Score' | 'Lifecycle', name: string) => analysis.get(kind, name)!.resolved.query as IrValuesQuery;
  const kpi = (name: string) => {
    const q = analysis.get('Kpi', name)!.resolved.query!;
    if (q.k !== 'metric') throw new Error(`kpi ${name} has no metric`);
    return compileMetric(q.metric, opts);
  };
  return [
    { id: 'seg-one-type', label: 'segment: a purchase in 30d (one type over a window)', shape: 'selective', query: compileMemberCount(members('bench_one_type_window'), opts) },
    { id: 'seg-selective', label: 'segment: bench_selective (attribute + 3 event windows)', shape: 'other', query: compileMemberCount(members('bench_selective'), opts) },
    { id: 'seg-population', label: 'segment: bench_population (population-wide)', shape: 'population', query: compileMemberCount(members('bench_population'), opts) },
    { id: 'lifecycle', label: 'lifecycle: customer_lifecycle distribution', shape: 'population', query: compileDistribution(values('Lifecycle', 'customer_lifecycle'), opts) },
    { id: 'trait', label: 'trait: lifetime_value (count, non-null)', shape: 'population', query: compileValueSample(values('Trait', 'lifetime_value'), opts, 10).stats },
    { id: 'score', label: 'score: health distribution', shape: 'population', query: compileDistribution(values('Score', 'health'), opts) },
    { id: 'kpi-events', label: 'kpi: weekly_signups (events)', shape: 'other', query: kpi('weekly_signups') },
    { id: 'kpi-sum', label: 'kpi: revenue_30d (sum)', shape: 'other', query: kpi('revenue_30d') },
    { id: 'kpi-active', label: 'kpi: dau_mau (active ratio)', shape: 'other', query: kpi('dau_mau') },
    { id: 'kpi-nps', label: 'kpi: nps', shape: 'other', query: kpi('nps') },
    { id: 'kpi-retention', label: 'kpi: d30_retention (retention)', shape: 'other', query: kpi('d30_retention') },
    { id: 'kpi-churn', label: 'kpi: churn_30d (churn)', shape: 'other', query: kpi('churn_30d') },
  ];
}

interface Timing {
  times: number[];
  answer?: string;
  error?: string;
}

async function measure(db: BenchPg, pathsIn: ReadPath[], reps: number, log: (s: string) => void, phase: string): Promise<{ floor: number; byId: Map<string, Timing> }> {
  let paths = pathsIn;
  // The floor runs in the same rotating rounds as the read paths, so load drift hits all alike.
  const floorPath: ReadPath = { id: 'floor', label: 'floor', shape: 'other', query: { sql: 'select count(*) as count from events', parameters: [] } as unknown as CompiledQuery };
  paths = [floorPath, ...paths];
  const byId = new Map<string, Timing>(paths.map((p) => [p.id, { times: [] }]));
  // One warm-up each (gives the answer), then rounds in rotating order.
  for (const p of paths) {
    const m = byId.get(p.id)!;
    try {
      const t = now();
      const rows = await db.query(p.query.sql, p.query.parameters);
      m.answer = JSON.stringify(rows);
      log(`    ${phase}: warm-up ${p.id} ${(now() - t).toFixed(0)} ms`);
    } catch (e) {
      m.error = (e as { code?: string }).code === '57014' ? 'timeout' : (e as Error).message;
      log(`    ${phase}: ${p.id} failed: ${m.error}`);
    }
  }
  for (let round = 0; round < reps; round++) {
    for (let i = 0; i < paths.length; i++) {
      const p = paths[(i + round) % paths.length]!;
      const m = byId.get(p.id)!;
      if (m.error) continue;
      const t = now();
      try {
        await db.query(p.query.sql, p.query.parameters);
        m.times.push(now() - t);
      } catch (e) {
        m.error = (e as Error).message;
      }
    }
  }
  const floor = median(byId.get('floor')!.times);
  log(`    ${phase}: floor ${floor.toFixed(0)} ms`);
  return { floor, byId };
}

/** Where the data set is: the shared bench data set (must be recorded), or a development target. */
async function openTarget(o: AdviseBenchOptions): Promise<{ db: BenchPg; schema: string; label: string }> {
  const target = process.env.TALLY_BENCH_ADVISE_TARGET;
  if (target) {
    const [url, schema = 'public'] = target.split('#');
    const db = await BenchPg.open(url!);
    return { db, schema, label: `${url!.replace(/:[^@/]*@/, ':***@')} schema ${schema}` };
  }
  const schema = schemaName({ customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days });
  const db = await BenchPg.open(databaseUrl(o.server, o.database));
  const marker = await db.query(`select 1 from ${MARKER_TABLE} where schema_name = $1`, [schema]).catch(() => []);
  if (!marker.length) {
    await db.close();
    throw new Error(`the data set ${o.database}.${schema} is not recorded in ${MARKER_TABLE}: run \`npm run bench -- segments\` first (this section never loads data)`);
  }
  return { db, schema, label: `${o.database}.${schema}` };
}

function quoteIdent(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

export async function adviseSection(o: AdviseBenchOptions): Promise<Section> {
  const { db, schema, label } = await openTarget(o);
  const created: AdvisedIndex[] = [];
  try {
    await db.query(`set search_path to ${quoteIdent(schema)}, public`);
    await db.query(`set statement_timeout = ${Math.max(1000, Math.floor(o.timeoutMs))}`);
    // Previews run like this (preview/preview.ts): JIT off, 64 MB of work memory.
    await db.query(`set jit = off`);
    await db.query(`set work_mem = '64MB'`);
    const project = Project.load(SHOP_DIR);
    project.setFile('definitions/zz_bench.yaml', ADVISE_DEFINITIONS);
    const analysis = project.analyze();
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
    if (errors.length) throw new Error(`the bench project has errors: ${errors.map((d) => d.message).join('; ')}`);
    const advice = adviseIndexes(analysis.infos, await loadIndexes(db.asDb()));
    const missing = advice.indexes.filter((i) => i.status === 'missing');
    o.log(`advise: ${label}: ${missing.length} advised indexes missing, ${advice.indexes.length - missing.length} served`);
    const only = (process.env.TALLY_BENCH_ADVISE_PATHS ?? '').split(',').map((x) => x.trim()).filter(Boolean);
    const paths = readPaths(project, o.anchor).filter((p) => !only.length || only.includes(p.id));
    const reps = o.reps > 0 ? o.reps : 2;

    const before = await measure(db, paths, reps, o.log, 'before');

    // On a shared data set others may be measuring: TALLY_BENCH_ADVISE_NOT_BEFORE (an ISO instant)
    // holds the builds until then.
    const notBefore = process.env.TALLY_BENCH_ADVISE_NOT_BEFORE ? new Date(process.env.TALLY_BENCH_ADVISE_NOT_BEFORE) : undefined;
    if (notBefore && notBefore.getTime() > Date.now()) {
      o.log(`    waiting until ${notBefore.toISOString()} before building indexes ...`);
      await new Promise((r) => setTimeout(r, notBefore.getTime() - Date.now()));
    }
    // Build the missing advised indexes (without CONCURRENTLY: nothing writes to the bench data,
    // and a plain build is about twice as fast), timing each.
    const builds: { index: AdvisedIndex; seconds: number; size: string }[] = [];
    await db.query(`set maintenance_work_mem = '512MB'`);
    await db.query(`set statement_timeout = 0`);
    for (const i of missing) {
      o.log(`    building ${i.name} on ${i.table} ...`);
      const t = now();
      created.push(i);
      await db.query(i.sql.replace(/^create index concurrently if not exists/, 'create index if not exists'));
      const seconds = (now() - t) / 1000;
      const [{ size }] = await db.query<{ size: string }>(`select pg_size_pretty(pg_relation_size(to_regclass($1))) as size`, [`${quoteIdent(schema)}.${quoteIdent(i.name)}`]);
      builds.push({ index: i, seconds, size });
      o.log(`    built ${i.name} in ${seconds.toFixed(1)} s (${size})`);
    }
    for (const t of new Set(missing.map((i) => i.table))) await db.query(`analyze ${t.split('.').map(quoteIdent).join('.')}`);
    // Index-only scans use the table's visibility map, set when the data set was vacuumed after loading.
    await db.query(`set statement_timeout = ${Math.max(1000, Math.floor(o.timeoutMs))}`);

    const after = await measure(db, paths, reps, o.log, 'after');

    const rows: Row[] = [
      { figure: 'floor: select count(*) from events (before)', value: before.floor, unit: 'ms' },
      { figure: 'floor: select count(*) from events (after)', value: after.floor, unit: 'ms' },
    ];
    const notes: string[] = [];
    for (const p of paths) {
      const b = before.byId.get(p.id)!;
      const a = after.byId.get(p.id)!;
      const bm = b.times.length ? median(b.times) : NaN;
      const am = a.times.length ? median(a.times) : NaN;
      const target = p.shape === 'selective' ? SELECTIVE_TARGET : p.shape === 'population' ? POPULATION_TARGET : undefined;
      const wrong = b.answer !== undefined && a.answer !== undefined && b.answer !== a.answer;
      rows.push({ figure: `${p.label}: before${b.error ? ` (${b.error})` : ''}`, value: bm, unit: 'ms', reference: { label: 'floor', value: before.floor }, ratio: bm / before.floor });
      rows.push({
        figure: `${p.label}: after${a.error ? ` (${a.error})` : ''}${wrong ? '  !! ANSWER CHANGED' : ''}`,
        value: am,
        unit: 'ms',
        reference: { label: 'floor after', value: after.floor },
        ratio: am / after.floor,
        ...(target !== undefined ? { target: `<= ${target}x floor`, met: !wrong && !a.error && am / after.floor <= target } : {}),
        note: Number.isFinite(bm) && Number.isFinite(am) ? `${(bm / am).toFixed(2)}x faster` : undefined,
      });
      if (b.error) notes.push(`${p.id} before: ${b.error}`);
      if (a.error) notes.push(`${p.id} after: ${a.error}`);
      if (wrong) notes.push(`!! ${p.id}: answer before ${b.answer} != after ${a.answer}`);
    }
    notes.unshift(
      `ratios: each phase against its own floor, measured in the same rotating rounds (before: floor before; after: floor after)`,
      `data: ${label}; as of ${o.anchor.toISOString()}; ${reps} measured runs per path and phase after a warm-up (median); jit=off, work_mem=64MB like previews`,
      `built: ${builds.map((b) => `${b.index.table} (${b.index.keys.map((k) => ('property' in k ? `${k.column}->>${k.property}` : k.column)).join(', ')})${b.index.include.length ? ` include (${b.index.include.join(', ')})` : ''} in ${b.seconds.toFixed(1)} s, ${b.size}`).join('; ') || 'nothing (every advised index existed)'}; dropped again after measuring`,
    );
    return {
      name: 'advise',
      title: `advise: read paths before and after the advised indexes (ratio to the floor)`,
      rows,
      notes,
      detail: { target: label, floorBefore: before.floor, floorAfter: after.floor, builds: builds.map((b) => ({ sql: b.index.sql, seconds: b.seconds, size: b.size })), paths: paths.map((p) => ({ id: p.id, sql: p.query.sql, before: before.byId.get(p.id), after: after.byId.get(p.id) })) },
    };
  } finally {
    // Always drop what this section created, so the shared data set is left as it was.
    await db.query(`set statement_timeout = 0`).catch(() => undefined);
    for (const i of created) {
      try {
        await db.query(`drop index if exists ${quoteIdent(schema)}.${quoteIdent(i.name)}`);
        o.log(`    dropped ${i.name}`);
      } catch (e) {
        o.log(`!! could not drop ${schema}.${i.name}: ${(e as Error).message}; drop it by hand`);
      }
    }
    await db.close();
  }
}
