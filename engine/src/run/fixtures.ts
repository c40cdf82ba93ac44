// `tally test`: runs `kind: Test` fixtures (LANGUAGE.md §10).
//
// A fixture names a subject (a segment, KPI, lifecycle, trait or score), an instant `as_of`, rows
// per mapped table (`given`) and what to `expect`. Each fixture runs in isolation from real data
// and from the other fixtures:
//  - on PGlite (the default), a fresh in-memory database per fixture;
//  - on PostgreSQL, a throwaway schema `tally_test_<random>` per fixture, created, used (with
//    `search_path` set for that transaction) and dropped inside one transaction, which also rolls
//    back on any failure; schema-qualified tables live in it as `"<schema>.<table>"`.
// Only the tables the project's Entity/Events map are created: declared attributes and columns
// with their declared types, `created_at` and event times as timestamptz, `properties` as jsonb,
// the key and entity_key as bigint when every given key is a whole number (else text), and any
// other column named in the given rows (or referenced by a definition) with a type inferred from
// its values. The rows go in as parameters; the subject is then compiled by the engine against a
// catalog describing exactly those tables and evaluated as of `as_of`.
//
// Comparison: `members` as a set of keys, `count`, `value` (within 1e-9, relative above 1),
// `stages` (every stage; one not listed is expected to be 0), `values` (the listed keys only).

import { randomBytes } from 'node:crypto';
import type { Diagnostic, Span } from '../diagnostics.js';
import type { IrQuery, IrTable } from '../ir/ir.js';
import { evaluateKpi, type KpiStatus } from '../kpi-status.js';
import type { EntityDef, EventsDef, KpiDef, LifecycleDef, ValueType } from '../model/types.js';
import { toDiagnostic, type Analysis, type DefinitionInfo } from '../project.js';
import { catalogType, type Catalog, type CatalogColumn, type CatalogTable } from '../resolve/catalog.js';
import { mappedTables, parseFixture, writtenTable, type Expectation, type FixtureSpec, type GivenTable, type SubjectKind } from '../resolve/fixture-spec.js';
import { compileDistribution, compileMembers, compileMetric, compileValues } from '../sql/compile.js';
import { getPair } from '../syntax/nodes.js';
import { parseInstant } from '../time.js';
import { connect, DbError, type Db } from './db.js';
import { KIND_OF, paramOptions } from './preview.js';

// ---- public shapes --------------------------------------------------------------------------------

export { SUBJECT_KINDS, EXPECT_KEYS, type SubjectKind, type Expectation } from '../resolve/fixture-spec.js';

export type Mismatch =
  | { key: 'members'; expected: unknown[]; actual: unknown[]; missing: unknown[]; unexpected: unknown[] }
  | { key: 'count'; expected: number; actual: number }
  | { key: 'value'; expected: number | null; actual: number | null }
  | { key: 'stages'; expected: Record<string, number>; actual: Record<string, number>; differences: { stage: string; expected: number; actual: number }[] }
  | { key: 'values'; differences: { key: string; expected: unknown; actual: unknown; found: boolean }[] };

export interface FixtureResult {
  readonly name: string;
  readonly file: string;
  /** 1-based line of the test's `name:`. */
  readonly line: number;
  readonly subject?: { kind: SubjectKind; name: string };
  readonly as_of?: string;
  readonly status: 'passed' | 'failed' | 'error';
  readonly expected?: Expectation;
  /** What the subject evaluated to, for the expected keys (and a KPI's status). */
  readonly actual?: Expectation & { status?: KpiStatus };
  readonly mismatches: Mismatch[];
  /** Why a test is malformed or could not run, at the test's file and line. */
  readonly diagnostics: Diagnostic[];
  /** One line for an error (malformed, subject with errors, a query that failed). */
  readonly message?: string;
  /** Where it ran: `pglite:memory`, or the throwaway PostgreSQL schema. */
  readonly isolation?: string;
  readonly duration_ms: number;
}

export interface FixtureReport {
  readonly tests: FixtureResult[];
  readonly passed: number;
  readonly failed: number;
  readonly errors: number;
}

export interface FixtureRunOptions {
  /** Run in throwaway schemas of this PostgreSQL database; default: a fresh in-memory PGlite per test. */
  readonly postgres?: Db;
  /** Statement timeout of each test's queries, in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Tests run at once (default 2). */
  readonly concurrency?: number;
  /** Only these tests (by name); default all. */
  readonly names?: readonly string[];
}

// ---- parsing a Test (resolve/fixture-spec.ts) -----------------------------------------------------

type Parsed = { spec: FixtureSpec; result?: undefined } | { spec?: undefined; result: FixtureResult };

function parseOne(analysis: Analysis, info: DefinitionInfo, tables: ReadonlySet<string>): Parsed {
  const p = parseFixture(analysis, info, tables);
  if (p.spec) return { spec: p.spec };
  const def = info.def;
  const lines = analysis.project.file(def.file)!.lines;
  const diagnostics = p.diagnostics.map((r) => toDiagnostic(r, lines));
  return {
    result: { name: def.name, file: def.file, line: p.line, ...(p.subject ? { subject: p.subject } : {}), status: 'error', mismatches: [], diagnostics, message: p.diagnostics[0]?.message ?? 'the test is malformed', duration_ms: 0 },
  };
}

/** Every `kind: Test` document of the project, parsed; malformed ones come back as error results. */
function collectFixtures(analysis: Analysis): Parsed[] {
  const project = analysis.project;
  const tables = new Set(mappedTables(analysis).keys());
  const out: Parsed[] = [];
  for (const path of project.filePaths) {
    const f = project.file(path)!;
    f.docs.forEach((doc, i) => {
      const root = doc.root;
      if (!root || root.kind !== 'map') return;
      const kindNode = getPair(root, 'kind')?.value;
      if (!kindNode || kindNode.kind !== 'scalar' || kindNode.value !== 'Test') return;
      const def = f.definitions.find((d) => d.doc === i);
      const info = def ? analysis.infos.find((x) => x.def === def) : undefined;
      if (def && info && !info.hasErrors) {
        out.push(parseOne(analysis, info, tables));
        return;
      }
      // Errors the analysis found in this document (schema, names, duplicates).
      const inDoc = analysis.diagnostics.filter((d) => {
        if (d.file !== path || d.severity !== 'error') return false;
        const at = f.lines.offset(d.range.start);
        return at >= doc.span[0] && at <= doc.span[1];
      });
      const nameNode = getPair(root, 'name')?.value;
      const name = nameNode && nameNode.kind === 'scalar' && nameNode.value !== null ? String(nameNode.value) : `(unnamed test #${i + 1} in ${path})`;
      const line = f.lines.position((nameNode ?? root).span[0]).line + 1;
      out.push({
        result: {
          name,
          file: path,
          line,
          status: 'error',
          mismatches: [],
          diagnostics: inDoc,
          message: inDoc[0]?.message ?? 'the test is malformed; run `tally validate`',
          duration_ms: 0,
        },
      });
    });
  }
  return out;
}

/** The names of the project's tests, in project order. */
export function fixtureNames(analysis: Analysis): string[] {
  return collectFixtures(analysis).map((p) => (p.spec ? p.spec.name : p.result.name));
}

// ---- tables ---------------------------------------------------------------------------------------

interface ColumnPlan {
  type?: string;
}

interface TablePlan {
  readonly ref: { schema?: string; name: string };
  readonly written: string;
  readonly columns: Map<string, ColumnPlan>;
  readonly rows: GivenTable['rows'];
  readonly keySpan?: Span;
}

const DECLARED_PG: Record<ValueType, string> = { string: 'text', number: 'numeric', boolean: 'boolean', timestamp: 'timestamptz' };

function isInstantText(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}/.test(v) && parseInstant(v) !== undefined;
}

/** A PostgreSQL type for a column that nothing declares, from the values given for it. */
export function inferColumnType(values: readonly unknown[]): string {
  const vs = values.filter((v) => v !== null && v !== undefined);
  if (!vs.length) return 'text';
  if (vs.some((v) => typeof v === 'object')) return 'jsonb';
  if (vs.every((v) => typeof v === 'boolean')) return 'boolean';
  if (vs.every((v) => typeof v === 'number')) return vs.every((v) => Number.isSafeInteger(v)) ? 'bigint' : 'numeric';
  if (vs.every(isInstantText)) return 'timestamptz';
  return 'text';
}

function keyType(values: readonly unknown[]): string {
  const vs = values.filter((v) => v !== null && v !== undefined);
  return vs.length > 0 && vs.every((v) => typeof v === 'number' && Number.isSafeInteger(v)) ? 'bigint' : 'text';
}

/** The tables of one fixture: every mapped table, its columns and types, and the given rows. */
function planTables(analysis: Analysis, spec: FixtureSpec): TablePlan[] {
  const mapped = mappedTables(analysis);
  const plans = new Map<string, TablePlan>();
  for (const [w, m] of mapped) {
    const g = spec.given.get(w);
    plans.set(w, { ref: { schema: m.ref.schema, name: m.ref.name }, written: w, columns: new Map(), rows: g?.rows ?? [], keySpan: g?.keySpan });
  }
  const set = (w: string, col: string, type?: string) => {
    const cols = plans.get(w)!.columns;
    const c = cols.get(col);
    if (!c) cols.set(col, { type });
    else if (!c.type && type) c.type = type;
  };
  const valuesOf = (w: string, col: string) => (plans.get(w)?.rows ?? []).map((r) => r.values[col]);

  // Keys first: an entity's key and every entity_key pointing at it share one type.
  const entities = analysis.ofKind('Entity').map((i) => i.def as EntityDef).filter((e) => e.table?.name);
  const events = analysis.ofKind('Events').map((i) => i.def as EventsDef).filter((e) => e.table?.name);
  const entityOf = (ev: EventsDef) => (ev.entity ? entities.find((e) => e.name === ev.entity!.name) : entities.length === 1 ? entities[0] : undefined);
  for (const e of entities) {
    const w = writtenTable(e.table);
    const mine = events.filter((ev) => entityOf(ev) === e);
    const kt = keyType([...valuesOf(w, e.key.name), ...mine.flatMap((ev) => valuesOf(writtenTable(ev.table), ev.entityKey.name))]);
    set(w, e.key.name, kt);
    for (const ev of mine) set(writtenTable(ev.table), ev.entityKey.name, kt);
  }
  for (const e of entities) {
    const w = writtenTable(e.table);
    if (e.createdAt) set(w, e.createdAt.name, 'timestamptz');
    for (const a of e.attributes.values()) set(w, a.column, a.type ? DECLARED_PG[a.type] : undefined);
    for (const p of e.pii) if (!e.attributes.has(p.name)) set(w, p.name);
  }
  for (const ev of events) {
    const w = writtenTable(ev.table);
    set(w, ev.entityKey.name, keyType(valuesOf(w, ev.entityKey.name)));
    set(w, ev.time.name, 'timestamptz');
    if (ev.type) set(w, ev.type.name, 'text');
    if (ev.properties) set(w, ev.properties.name, 'jsonb');
    for (const c of ev.columns.values()) set(w, c.column, c.type ? DECLARED_PG[c.type] : undefined);
  }
  // Undeclared attributes that definitions use are columns of the same name.
  for (const r of analysis.refs) {
    if (r.kind !== 'attribute') continue;
    const dot = r.target.indexOf('.');
    const e = entities.find((x) => x.name === r.target.slice(0, dot));
    const attr = r.target.slice(dot + 1);
    if (e && attr && !e.attributes.has(attr)) set(writtenTable(e.table), attr);
  }
  // Columns in the given rows; then types for whatever is still untyped.
  for (const p of plans.values()) {
    for (const row of p.rows) for (const col of Object.keys(row.values)) set(p.written, col);
    for (const [col, c] of p.columns) if (!c.type) c.type = inferColumnType(valuesOf(p.written, col));
  }
  return [...plans.values()];
}

/** A catalog describing exactly the fixture's tables, so the subject compiles as it would against them. */
function fixtureCatalog(plans: readonly TablePlan[]): Catalog {
  const tables = new Map<string, CatalogTable>();
  for (const p of plans) {
    const schema = p.ref.schema ?? 'public';
    const columns = new Map<string, CatalogColumn>();
    for (const [name, c] of p.columns) columns.set(name, { name, type: catalogType(c.type!), pgType: c.type! });
    tables.set(`${schema}.${p.ref.name}`, { schema, name: p.ref.name, columns });
  }
  return { tables, searchPath: ['public'], eventTypes: new Map(), propertyKeys: new Map() };
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Where a mapped table lives in the fixture database. */
function physicalTable(t: { schema?: string; name: string }, isolation: string | undefined): { schema?: string; name: string } {
  if (!isolation) return t;
  return { schema: isolation, name: t.schema ? `${t.schema}.${t.name}` : t.name };
}

function tableSql(t: { schema?: string; name: string }): string {
  return t.schema ? `${ident(t.schema)}.${ident(t.name)}` : ident(t.name);
}

/** The query with every schema-qualified table moved into the throwaway schema (PostgreSQL). */
function retarget<T>(x: T, isolation: string): T {
  if (Array.isArray(x)) return x.map((i) => retarget(i, isolation)) as T;
  if (x && typeof x === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(x)) {
      const isTable = k === 'table' && v && typeof v === 'object' && typeof (v as IrTable).name === 'string' && Object.keys(v).every((kk) => kk === 'schema' || kk === 'name');
      out[k] = isTable && (v as IrTable).schema ? physicalTable(v as IrTable, isolation) : retarget(v, isolation);
    }
    return out as T;
  }
  return x;
}

function sqlText(v: unknown, type: string): string | null {
  if (v === null || v === undefined) return null;
  if (type === 'jsonb' || typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A failure to load the given rows, pointing at the row. */
class LoadError extends Error {
  constructor(
    message: string,
    readonly span: Span | undefined,
  ) {
    super(message);
  }
}

async function createAndLoad(tx: Db, plans: readonly TablePlan[], isolation: string | undefined): Promise<void> {
  for (const p of plans) {
    const phys = physicalTable(p.ref, isolation);
    if (phys.schema && !isolation) await tx.exec(`create schema if not exists ${ident(phys.schema)}`);
    const cols = [...p.columns].map(([n, c]) => `${ident(n)} ${c.type}`);
    await tx.exec(`create table ${tableSql(phys)} (${cols.join(', ')})`);
    for (let i = 0; i < p.rows.length; i++) {
      const row = p.rows[i]!;
      const names = Object.keys(row.values);
      if (!names.length) {
        await tx.query(`insert into ${tableSql(phys)} default values`);
        continue;
      }
      const types = names.map((n) => p.columns.get(n)!.type!);
      const params = names.map((n, j) => sqlText(row.values[n], types[j]!));
      const text = `insert into ${tableSql(phys)} (${names.map(ident).join(', ')}) values (${names.map((_, j) => `$${j + 1}::text::${types[j]}`).join(', ')})`;
      try {
        await tx.query(text, params);
      } catch (e) {
        if (e instanceof DbError && e.code !== 'db-query') throw e;
        throw new LoadError(`row ${i + 1} of '${p.written}' cannot be loaded: ${(e as Error).message}`, row.span);
      }
    }
  }
}

// ---- evaluating and comparing ------------------------------------------------------------------------

const keyText = (k: unknown) => (typeof k === 'string' ? k : JSON.stringify(k));

function sortKeys(keys: unknown[]): unknown[] {
  return [...keys].sort((a, b) =>
    typeof a === 'number' && typeof b === 'number' ? a - b : typeof a === 'number' ? -1 : typeof b === 'number' ? 1 : String(a) < String(b) ? -1 : String(a) > String(b) ? 1 : 0,
  );
}

function closeEnough(expected: number, actual: number): boolean {
  return Math.abs(expected - actual) <= 1e-9 * Math.max(1, Math.abs(expected));
}

function sameValue(expected: unknown, actual: unknown, valueType: ValueType | undefined, timezone: string): boolean {
  if (expected === null || actual === null || actual === undefined) return expected === null && (actual === null || actual === undefined);
  if (typeof expected === 'number' && typeof actual === 'number') return closeEnough(expected, actual);
  if (typeof expected === 'number' && typeof actual === 'string' && actual.trim() !== '' && Number.isFinite(Number(actual))) return closeEnough(expected, Number(actual));
  if ((valueType === 'timestamp' || isInstantText(actual)) && typeof expected === 'string' && typeof actual === 'string') {
    const e = parseInstant(expected, timezone);
    const a = new Date(actual);
    if (e && !Number.isNaN(a.getTime())) return e.date.getTime() === a.getTime();
  }
  return typeof expected === typeof actual ? expected === actual : String(expected) === String(actual);
}

interface Evaluated {
  actual: Expectation & { status?: KpiStatus };
  mismatches: Mismatch[];
}

async function evaluate(tx: Db, analysis: Analysis, spec: FixtureSpec, query: IrQuery): Promise<Evaluated> {
  const opts = paramOptions(spec.asOf);
  const e = spec.expect;
  const actual: Evaluated['actual'] = {};
  const mismatches: Mismatch[] = [];
  const tz = analysis.project.config.timezone;

  if (query.k === 'metric') {
    const m = compileMetric(query.metric, opts);
    const raw = (await tx.query<{ value: unknown }>(m.sql, m.parameters)).rows[0]?.value;
    const value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
    actual.value = value;
    actual.status = evaluateKpi(analysis.get('Kpi', spec.subject.name)!.def as KpiDef, value, spec.asOf).status;
    if ('value' in e) {
      const ok = e.value === null ? value === null : value !== null && closeEnough(e.value!, value);
      if (!ok) mismatches.push({ key: 'value', expected: e.value!, actual: value });
    }
    return { actual, mismatches };
  }

  // Members: a segment's keys, or the keys that have a value (trait, score, lifecycle).
  let members: unknown[] | undefined;
  let values: Map<string, unknown> | undefined;
  if (query.k === 'members') {
    const q = compileMembers(query, opts);
    members = (await tx.query<{ key: unknown }>(q.sql, q.parameters)).rows.map((r) => r.key);
  } else if (e.members !== undefined || e.count !== undefined || e.values !== undefined) {
    const q = compileValues(query, opts);
    const rows = (await tx.query<{ key: unknown; value: unknown }>(q.sql, q.parameters)).rows;
    values = new Map(rows.map((r) => [keyText(r.key), r.value]));
    members = rows.filter((r) => r.value !== null && r.value !== undefined).map((r) => r.key);
  }
  if (e.members !== undefined && members) {
    const got = new Set(members.map(keyText));
    const want = new Set(e.members.map(keyText));
    const missing = sortKeys(e.members.filter((k) => !got.has(keyText(k))));
    const unexpected = sortKeys(members.filter((k) => !want.has(keyText(k))));
    actual.members = sortKeys(members);
    if (missing.length || unexpected.length) mismatches.push({ key: 'members', expected: sortKeys(e.members), actual: actual.members, missing, unexpected });
  }
  if (e.count !== undefined && members) {
    actual.count = members.length;
    if (members.length !== e.count) mismatches.push({ key: 'count', expected: e.count, actual: members.length });
  }
  if (e.values !== undefined && values && query.k === 'values') {
    const differences: Extract<Mismatch, { key: 'values' }>['differences'] = [];
    actual.values = {};
    for (const [k, want] of Object.entries(e.values)) {
      const found = values.has(k);
      const got = found ? values.get(k) : null;
      actual.values[k] = found ? got : null;
      if (!found || !sameValue(want, got, query.valueType, tz)) differences.push({ key: k, expected: want, actual: found ? got : null, found });
    }
    if (differences.length) mismatches.push({ key: 'values', differences });
  }
  if (e.stages !== undefined && query.k === 'values') {
    const lc = analysis.get('Lifecycle', spec.subject.name)!.def as LifecycleDef;
    const q = compileDistribution(query, opts);
    const rows = (await tx.query<{ value: string | null; count: number }>(q.sql, q.parameters)).rows;
    const got: Record<string, number> = {};
    for (const s of lc.stages) got[s.name.name] = 0;
    for (const r of rows) if (r.value !== null) got[r.value] = Number(r.count);
    const want: Record<string, number> = {};
    for (const s of lc.stages) want[s.name.name] = e.stages[s.name.name] ?? 0;
    actual.stages = got;
    const differences = Object.keys(want)
      .filter((s) => want[s] !== got[s])
      .map((s) => ({ stage: s, expected: want[s]!, actual: got[s] ?? 0 }));
    if (differences.length) mismatches.push({ key: 'stages', expected: want, actual: got, differences });
  }
  return { actual, mismatches };
}

/** Runs `fn` on an isolated database: a fresh in-memory PGlite, or a throwaway PostgreSQL schema. */
async function inIsolation<T>(opts: FixtureRunOptions, timezone: string, fn: (tx: Db, isolation: string | undefined, label: string) => Promise<T>): Promise<T> {
  if (opts.postgres) {
    const pg = opts.postgres;
    const schema = `tally_test_${randomBytes(8).toString('hex')}`;
    try {
      return await pg.transaction(async (tx) => {
        try {
          await tx.exec(`create schema ${schema}`);
        } catch (e) {
          // Every test would fail the same way: a usage problem, not a test result.
          throw new DbError(`cannot create a throwaway schema on ${pg.label} (${(e as Error).message}); tests on PostgreSQL need the CREATE privilege on the database`, 'db-unreachable');
        }
        await tx.exec(`set local search_path to ${schema}`);
        const out = await fn(tx, schema, `postgres schema ${schema}`);
        await tx.exec(`drop schema ${schema} cascade`);
        return out;
      });
    } finally {
      // The transaction dropped it or rolled it back; this only matters if the commit itself failed.
      await pg.exec(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    }
  }
  const db = await connect('pglite:memory', { baseDir: '.', timezone });
  try {
    return await db.transaction((tx) => fn(tx, undefined, 'pglite:memory'));
  } finally {
    await db.close();
  }
}

async function runOne(analysis: Analysis, spec: FixtureSpec, opts: FixtureRunOptions): Promise<FixtureResult> {
  const started = Date.now();
  const project = analysis.project;
  const base = { name: spec.name, file: spec.file, line: spec.line, subject: spec.subject, as_of: spec.asOf.toISOString(), expected: spec.expect };
  const lines = project.file(spec.file)!.lines;
  const errorResult = (message: string, span: Span | undefined, isolation?: string): FixtureResult => ({
    ...base,
    status: 'error',
    mismatches: [],
    diagnostics: span ? [toDiagnostic({ code: 'fixture-error', severity: 'error', message, file: spec.file, span }, lines)] : [],
    message,
    ...(isolation ? { isolation } : {}),
    duration_ms: Date.now() - started,
  });

  const plans = planTables(analysis, spec);
  // The subject as it compiles against exactly these tables.
  const fixtureAnalysis = project.analyze({ catalog: fixtureCatalog(plans), now: spec.asOf });
  const info = fixtureAnalysis.get(KIND_OF[spec.subject.kind], spec.subject.name);
  if (!info || info.hasErrors || !info.resolved.query) {
    const why = fixtureAnalysis.diagnostics.find((d) => d.severity === 'error' && d.file === info?.def.file);
    return errorResult(`${spec.subject.kind} '${spec.subject.name}' does not compile against the test's tables${why ? `: ${why.message}` : ''}`, spec.expectSpan);
  }
  const query = info.resolved.query;
  let label = opts.postgres ? 'postgres' : 'pglite:memory';
  // Kept aside: a transaction wrapper may turn what it rethrows into a DbError.
  let loadError: LoadError | undefined;
  try {
    const ev = await inIsolation(opts, project.config.timezone, async (tx, isolation, l) => {
      label = l;
      try {
        await createAndLoad(tx, plans, isolation);
      } catch (e) {
        if (e instanceof LoadError) loadError = e;
        throw e;
      }
      await tx.exec(`set local statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs ?? 30_000))}`);
      return evaluate(tx, fixtureAnalysis, spec, isolation ? retarget(query, isolation) : query);
    });
    return {
      ...base,
      status: ev.mismatches.length ? 'failed' : 'passed',
      actual: ev.actual,
      mismatches: ev.mismatches,
      diagnostics: [],
      isolation: label,
      duration_ms: Date.now() - started,
    };
  } catch (e) {
    if (loadError) return errorResult(loadError.message, loadError.span, label);
    if (e instanceof DbError && e.code === 'db-unreachable') throw e;
    if (e instanceof DbError) return errorResult(`the ${spec.subject.kind} query failed: ${e.message}`, spec.expectSpan, label);
    throw e;
  }
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** Runs the project's tests (or the named ones), each in isolation, at most `concurrency` at once. */
export async function runFixtures(analysis: Analysis, opts: FixtureRunOptions = {}): Promise<FixtureReport> {
  let parsed = collectFixtures(analysis);
  if (opts.names?.length) parsed = parsed.filter((p) => opts.names!.includes(p.spec ? p.spec.name : p.result.name));
  const tests = await mapLimit(parsed, Math.min(2, Math.max(1, opts.concurrency ?? 2)), (p) => (p.spec ? runOne(analysis, p.spec, opts) : Promise.resolve(p.result)));
  return {
    tests,
    passed: tests.filter((t) => t.status === 'passed').length,
    failed: tests.filter((t) => t.status === 'failed').length,
    errors: tests.filter((t) => t.status === 'error').length,
  };
}

// ---- describing a failure -------------------------------------------------------------------------

/** A value as a test's YAML would write it. */
export function showValue(v: unknown): string {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return /^[A-Za-z0-9_.:+-]+$/.test(v) && !/^(true|false|null)$/.test(v) && !Number.isFinite(Number(v)) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

const list = (vs: readonly unknown[]) => `[${vs.map(showValue).join(', ')}]`;
const map = (m: Record<string, number>) => `{${Object.entries(m).map(([k, v]) => `${k}: ${v}`).join(', ')}}`;

/** The diff of one mismatch, as lines (the first is the summary). */
export function mismatchLines(m: Mismatch): string[] {
  switch (m.key) {
    case 'members': {
      const out = [`members: expected ${list(m.expected)}, got ${list(m.actual)}`];
      if (m.missing.length) out.push(`  missing (expected, not in the result): ${m.missing.map(showValue).join(', ')}`);
      if (m.unexpected.length) out.push(`  unexpected (in the result, not expected): ${m.unexpected.map(showValue).join(', ')}`);
      return out;
    }
    case 'count':
      return [`count: expected ${m.expected}, got ${m.actual}`];
    case 'value':
      return [`value: expected ${showValue(m.expected)}, got ${showValue(m.actual)}`];
    case 'stages':
      return [`stages: expected ${map(m.expected)}, got ${map(m.actual)}`, ...m.differences.map((d) => `  ${d.stage}: expected ${d.expected}, got ${d.actual}`)];
    case 'values':
      return [
        `values: ${m.differences.length} key${m.differences.length === 1 ? '' : 's'} differ${m.differences.length === 1 ? 's' : ''}`,
        ...m.differences.map((d) => `  ${showValue(d.key)}: expected ${showValue(d.expected)}, got ${d.found ? showValue(d.actual) : 'no such entity'}`),
      ];
  }
}
