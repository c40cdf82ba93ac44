// Section "compile": parse + validate + compile of N generated definitions (bench/gen-defs.ts),
// through the engine (Project.setFile -> analyze -> sqlFor for every definition), against a
// straightforward yaml + ajv + kysely pipeline on the same files, in the same process.
//
// The engine is single-threaded, so the section runs in a child process pinned to one core
// (`taskset`, when there is one). Engine and reference repetitions alternate, so a noisy neighbour
// hurts both alike. No forced GC between repetitions: a full collection shrinks the young
// generation and made the next repetition about twice as slow, which is not how the engine runs.
//
// Run alone: node --import tsx bench/compile.ts --child [--defs 1000] [--reps 15] [--warmup 3]

import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import Ajv2020Module from 'ajv/dist/2020.js';
import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import { parseAllDocuments } from 'yaml';
import { Project } from '../engine/src/index.js';
import type { Kind } from '../engine/src/index.js';
import { generateDefinitionFiles } from './gen-defs.js';
import { best, median, now, type Row, type Section } from './lib/report.js';

const Ajv2020 = ((Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module) as typeof Ajv2020Module;

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
export const COMPILE_TARGET = 10_000; // definitions per second (issue 11, goal 5)

const TALLY_YAML = 'tally: 1\nname: bench\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const SQL_OPTS = { asOf: { kind: 'now' as const }, literals: 'inline' as const };

export interface CompileResult {
  defs: number;
  files: number;
  reps: number;
  warmup: number;
  pinned: string;
  engine: { totalMs: number[]; cpuMs: number[]; parseMs: number[]; analyzeMs: number[]; sqlMs: number[]; statements: number; sqlChars: number; errors: number };
  reference: { totalMs: number[]; cpuMs: number[]; yamlMs: number[]; ajvMs: number[]; kyselyMs: number[]; statements: number; sqlChars: number; invalid: number };
}

// ---- the engine ------------------------------------------------------------------------------------

/** CPU time of this process in ms (user + system): what a repetition cost when it had the core. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

function engineOnce(files: Map<string, string>) {
  const c0 = cpuMs();
  const t0 = now();
  const p = new Project('/virtual', TALLY_YAML);
  for (const [path, text] of files) p.setFile(path, text);
  const t1 = now();
  const a = p.analyze();
  const t2 = now();
  let statements = 0;
  let chars = 0;
  for (const info of a.infos) {
    const q = a.sqlFor(info.def.kind as Kind, info.def.name, SQL_OPTS);
    if (q) {
      statements++;
      chars += q.sql.length;
    }
  }
  const t3 = now();
  const cpu = cpuMs() - c0;
  return { parse: t1 - t0, analyze: t2 - t1, sql: t3 - t2, total: t3 - t0, cpu, statements, chars, errors: a.errorCount };
}

// ---- the reference: yaml + ajv + kysely ------------------------------------------------------------

type Validators = Map<string, (data: unknown) => boolean>;

function loadValidators(): Validators {
  const read = (f: string) => JSON.parse(readFileSync(join(ROOT, 'schemas', f), 'utf8')) as object;
  const ajv = new Ajv2020({ allowUnionTypes: true, strict: false, allErrors: true });
  ajv.addSchema(read('common.schema.json'));
  const out: Validators = new Map();
  for (const [kind, file] of Object.entries({
    Entity: 'entity', Events: 'events', Segment: 'segment', Trait: 'trait', Score: 'score',
    Lifecycle: 'lifecycle', Kpi: 'kpi', Campaign: 'campaign', Test: 'test',
  })) {
    out.set(kind, ajv.compile(read(`${file}.schema.json`)));
  }
  return out;
}

export function coldKysely(): Kysely<any> {
  return new Kysely<any>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}

type J = Record<string, any>;
const ATTRIBUTE_COLUMNS: Record<string, string> = { signed_up_at: 'created_at' };

function interval(d: string): string {
  const m = /^(\d+)([mhdw])$/.exec(d)!;
  return `${m[1]} ${{ m: 'minutes', h: 'hours', d: 'days', w: 'weeks' }[m[2] as 'm']}`;
}

const OPS: Record<string, string> = { eq: '=', ne: '<>', gt: '>', gte: '>=', lt: '<', lte: '<=' };

/** The events of an event condition, as a Kysely subquery builder correlated to `e`. */
function eventsOf(eb: ExpressionBuilder<any, any>, c: J, correlated: boolean) {
  let q = eb.selectFrom('events as ev').where('ev.occurred_at', '<=', sql<Date>`now()`);
  if (correlated) q = q.whereRef('ev.customer_id', '=', 'e.id');
  if (c.event) q = q.where('ev.event_name', '=', c.event);
  if (c.within) q = q.where('ev.occurred_at', '>', sql<Date>`now() - ${interval(c.within)}::interval`);
  for (const w of (c.where ?? []) as J[]) {
    for (const [op, v] of Object.entries(w)) if (OPS[op]) q = q.where(sql`(ev.properties ->> ${w.property})::numeric`, OPS[op] as '=', v);
  }
  return q;
}

function condition(eb: ExpressionBuilder<any, any>, c: J): Expression<SqlBool> {
  if (c.all) return eb.and((c.all as J[]).map((x) => condition(eb, x)));
  if (c.any) return eb.or((c.any as J[]).map((x) => condition(eb, x)));
  if (c.not) return eb.not(condition(eb, c.not));
  if (c.attribute) {
    const column = `e.${ATTRIBUTE_COLUMNS[c.attribute] ?? c.attribute}`;
    if (c.in) return eb(column, 'in', c.in);
    if (c.before) return eb(column, '<', sql`${String(c.before)}::timestamptz`);
    if (c.after) return eb(column, '>', sql`${String(c.after)}::timestamptz`);
    for (const [op, v] of Object.entries(c)) if (OPS[op]) return eb(column, OPS[op] as '=', v);
    return eb.lit(true);
  }
  if (c.event || c.stream) {
    const op = Object.keys(OPS).find((o) => o in c);
    const n = op ? c[op] : 1;
    if (!c.sum && (!op || (op === 'gte' && n === 1))) return eb.exists(eventsOf(eb, c, true).select(eb.lit(1).as('one')));
    const agg = c.sum ? sql`coalesce(sum((ev.properties ->> ${c.sum})::numeric), 0)` : sql`count(*)`;
    return eb(eventsOf(eb, c, true).select(agg.as('v')), OPS[op ?? 'gte'] as '>=', n);
  }
  return eb.lit(true);
}

function metric(db: Kysely<any>, eb: ExpressionBuilder<any, any>, m: J): Expression<unknown> {
  if (m.ratio) return sql`(${metric(db, eb, m.ratio.numerator)})::float8 / nullif((${metric(db, eb, m.ratio.denominator)})::float8, 0)`;
  if (m.active) return eventsOf(eb, m.active, false).select(sql`count(distinct ev.customer_id)`.as('n'));
  if (m.events) return eventsOf(eb, m.events, false).select(sql`count(*)`.as('n'));
  return sql`null`;
}

export function buildQuery(db: Kysely<any>, def: J): string | undefined {
  switch (def.kind) {
    case 'Segment':
      return db
        .selectFrom('customers as e')
        .select('e.id as key')
        .where((eb) => eb.and([eb('e.created_at', '<=', sql<Date>`now()`), condition(eb, def.where)]))
        .compile().sql;
    case 'Trait': {
      const c = def.compute as J;
      return db
        .selectFrom('customers as e')
        .select((eb) => [
          'e.id as key',
          eventsOf(eb, c, true)
            .select(c.sum ? sql`sum((ev.properties ->> ${c.sum})::numeric)`.as('v') : sql`count(*)`.as('v'))
            .as('value'),
        ])
        .where('e.created_at', '<=', sql<Date>`now()`)
        .compile().sql;
    }
    case 'Kpi':
      return db.selectNoFrom((eb) => [sql`${metric(db, eb, def.metric)}`.as('value')]).compile().sql;
    default:
      return undefined;
  }
}

function referenceOnce(files: Map<string, string>, validators: Validators) {
  let yamlMs = 0;
  let ajvMs = 0;
  let kyselyMs = 0;
  let statements = 0;
  let chars = 0;
  let invalid = 0;
  const c0 = cpuMs();
  const t0 = now();
  const db = coldKysely();
  for (const text of files.values()) {
    let t = now();
    const docs = parseAllDocuments(text);
    const values: J[] = [];
    for (const d of Array.isArray(docs) ? docs : [docs]) {
      if (d.errors.length) invalid++;
      else values.push(d.toJS() as J);
    }
    let t2 = now();
    yamlMs += t2 - t;
    t = t2;
    const ok: J[] = [];
    for (const v of values) {
      const validate = validators.get(v?.kind);
      if (validate && validate(v)) ok.push(v);
      else invalid++;
    }
    t2 = now();
    ajvMs += t2 - t;
    t = t2;
    for (const v of ok) {
      const s = buildQuery(db, v);
      if (s) {
        statements++;
        chars += s.length;
      }
    }
    kyselyMs += now() - t;
  }
  const total = now() - t0;
  return { total, cpu: cpuMs() - c0, yamlMs, ajvMs, kyselyMs, statements, chars, invalid };
}

// ---- the measurement (child side) ------------------------------------------------------------------

export function measureCompile(defs: number, reps: number, warmup: number, pinned: string): CompileResult {
  const files = generateDefinitionFiles(defs);
  const validators = loadValidators();
  const r: CompileResult = {
    defs,
    files: files.size,
    reps,
    warmup,
    pinned,
    engine: { totalMs: [], cpuMs: [], parseMs: [], analyzeMs: [], sqlMs: [], statements: 0, sqlChars: 0, errors: 0 },
    reference: { totalMs: [], cpuMs: [], yamlMs: [], ajvMs: [], kyselyMs: [], statements: 0, sqlChars: 0, invalid: 0 },
  };
  for (let i = 0; i < warmup + reps; i++) {
    const e = engineOnce(files);
    const f = referenceOnce(files, validators);
    if (i < warmup) continue;
    r.engine.totalMs.push(e.total);
    r.engine.cpuMs.push(e.cpu);
    r.engine.parseMs.push(e.parse);
    r.engine.analyzeMs.push(e.analyze);
    r.engine.sqlMs.push(e.sql);
    r.engine.statements = e.statements;
    r.engine.sqlChars = e.chars;
    r.engine.errors = e.errors;
    r.reference.totalMs.push(f.total);
    r.reference.cpuMs.push(f.cpu);
    r.reference.yamlMs.push(f.yamlMs);
    r.reference.ajvMs.push(f.ajvMs);
    r.reference.kyselyMs.push(f.kyselyMs);
    r.reference.statements = f.statements;
    r.reference.sqlChars = f.chars;
    r.reference.invalid = f.invalid;
  }
  return r;
}

// ---- the section (parent side) ---------------------------------------------------------------------

export interface CompileOptions {
  defs: number;
  reps: number;
  warmup: number;
  log: (s: string) => void;
}

function hasTaskset(): boolean {
  return process.platform === 'linux' && spawnSync('taskset', ['-V'], { stdio: 'ignore' }).status === 0;
}

async function runChild(o: CompileOptions): Promise<CompileResult> {
  const cpu = cpus().length - 1;
  const pin = hasTaskset();
  const args = ['--import', 'tsx', join(HERE, 'compile.ts'), '--child', '--defs', String(o.defs), '--reps', String(o.reps), '--warmup', String(o.warmup), '--pinned', pin ? `cpu ${cpu} (taskset)` : 'not pinned (no taskset)'];
  const cmd = pin ? 'taskset' : process.execPath;
  const full = pin ? ['-c', String(cpu), process.execPath, ...args] : args;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, full, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`compile child exited with ${code}`));
      try {
        resolve(JSON.parse(out.slice(out.indexOf('{'))) as CompileResult);
      } catch (e) {
        reject(e);
      }
    });
  });
}

export async function compileSection(o: CompileOptions): Promise<Section> {
  o.log(`compile: ${o.defs} generated definitions, ${o.warmup} warm-up + ${o.reps} measured repetitions each for the engine and the reference ...`);
  const r = await runChild(o);
  const n = r.defs;
  const e = r.engine;
  const f = r.reference;
  const rate = (ms: number) => (n / ms) * 1000;
  const eMed = rate(median(e.totalMs));
  const eBest = rate(best(e.totalMs));
  const fMed = rate(median(f.totalMs));
  const fBest = rate(best(f.totalMs));
  const REF = 'yaml+ajv+kysely';
  const rows: Row[] = [
    { figure: 'engine throughput, median', value: eMed, unit: 'defs/s', reference: { label: REF, value: fMed }, ratio: eMed / fMed, target: `>= ${COMPILE_TARGET.toLocaleString('en-US')} defs/s`, met: eMed >= COMPILE_TARGET },
    { figure: 'engine throughput, best', value: eBest, unit: 'defs/s', reference: { label: REF, value: fBest }, ratio: eBest / fBest, target: `>= ${COMPILE_TARGET.toLocaleString('en-US')} defs/s`, met: eBest >= COMPILE_TARGET },
    {
      figure: 'engine throughput, CPU time, median',
      value: rate(median(e.cpuMs)),
      unit: 'defs/s',
      reference: { label: REF, value: rate(median(f.cpuMs)) },
      ratio: median(f.cpuMs) / median(e.cpuMs),
      target: `>= ${COMPILE_TARGET.toLocaleString('en-US')} defs/s`,
      met: rate(median(e.cpuMs)) >= COMPILE_TARGET,
    },
    { figure: `engine total, median (${n} defs)`, value: median(e.totalMs), unit: 'ms', reference: { label: REF, value: median(f.totalMs) }, ratio: median(e.totalMs) / median(f.totalMs) },
    { figure: '  setFile: parse+validate+lower', value: median(e.parseMs), unit: 'ms', reference: { label: 'yaml+ajv', value: median(f.yamlMs) + median(f.ajvMs) }, ratio: median(e.parseMs) / (median(f.yamlMs) + median(f.ajvMs)) },
    { figure: '  analyze: resolve + IR', value: median(e.analyzeMs), unit: 'ms' },
    { figure: '  sqlFor: SQL text', value: median(e.sqlMs), unit: 'ms', reference: { label: 'kysely', value: median(f.kyselyMs) }, ratio: median(e.sqlMs) / median(f.kyselyMs) },
    { figure: '  reference yaml parse+toJS', value: median(f.yamlMs), unit: 'ms' },
    { figure: '  reference ajv validate', value: median(f.ajvMs), unit: 'ms' },
  ];
  const notes = [
    `${r.files} files; ${r.pinned}; ratios are engine / reference (throughput: higher is better; ms: lower is better).`,
    `engine: ${e.statements} SQL statements (${(e.sqlChars / 1024).toFixed(0)} KiB), ${e.errors} errors; reference: ${f.statements} statements (${(f.sqlChars / 1024).toFixed(0)} KiB), ${f.invalid} invalid documents.`,
    `CPU time = user+system time of the process during a repetition: unlike wall time, it does not grow while other processes hold the core (this machine is shared).`,
    `engine repetitions, wall (CPU) ms: ${e.totalMs.map((x, i) => `${x.toFixed(0)} (${e.cpuMs[i]!.toFixed(0)})`).join(' ')}`,
    `reference repetitions, wall (CPU) ms: ${f.totalMs.map((x, i) => `${x.toFixed(0)} (${f.cpuMs[i]!.toFixed(0)})`).join(' ')}`,
  ];
  if (e.errors || f.invalid || e.statements < n || f.statements < n) notes.push('!! WARNING: not every definition compiled cleanly; the figures are not comparable');
  return { name: 'compile', title: `compile: parse + validate + compile ${n} definitions (one core)`, rows, notes, detail: r };
}

// ---- child entry point ----------------------------------------------------------------------------

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const argv = process.argv.slice(2);
  const arg = (name: string, d: string) => {
    const i = argv.indexOf(name);
    return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1]! : d;
  };
  const r = measureCompile(Number(arg('--defs', '1000')), Number(arg('--reps', '15')), Number(arg('--warmup', '3')), arg('--pinned', 'not pinned'));
  process.stdout.write(JSON.stringify(r) + '\n');
}
