// Index advice: which indexes would serve a project's SQL, derived from its IR (never from SQL text),
// compared against the indexes the database already has. A pure function: IR + catalog in, advice out.
//
//   adviseIndexes(analysis.infos, { indexes: await loadIndexes(db), searchPath })
//     -> { indexes: [{ table: 'public.events', keys: ['event_name', 'occurred_at'], include: ['customer_id'],
//                      status: 'missing', sql: 'create index concurrently if not exists ...', why, usedBy }], notes }
//
// What Tally's SQL does with each stream (sql/compile.ts), and the index that serves it:
//  - probe: per-entity lookups (`where key = e.key and type = ... and time > ...`): correlated
//    aggregates and EXISTS in the probe shape, campaign triggers, retention returns, churn's
//    "still active" -> (entity_key, type, time), INCLUDE the columns the aggregates read;
//  - window: one scan of a window of events grouped by entity (the pass shape, KPI metrics,
//    retention cohorts, campaign goals) -> (type, time) INCLUDE (entity_key, the measures), so
//    the scan reads only the window of those types from the index, never the table (index-only);
//    an untyped window -> (time) INCLUDE (entity_key, type, the measures);
//  - attribute filters in a segment's top-level conjuncts (what makes the probe shape selective)
//    -> (attribute column) on the entity table; the entity key -> (key) (usually the primary key);
//  - events selected by a jsonb property with no type -> an expression index on that property.
// Candidates are merged (same keys: INCLUDE lists united), an index whose keys are a prefix of
// another's and whose columns that one carries is dropped, and each is compared with the live
// indexes (btree, valid, not partial, same leading keys, carrying every INCLUDE column).
// *Invariant*: Tally only advises. Nothing here or in the CLI creates an index on a user table.

import { createHash } from 'node:crypto';
import type { DiagnosticCode, RawDiagnostic } from '../diagnostics.js';
import type { IrAgg, IrCampaign, IrCond, IrEntity, IrEventFilter, IrExpr, IrMetric, IrQuery, IrStream, IrTable } from '../ir/ir.js';
import type { Definition, Kind } from '../model/types.js';
import { chooseStrategy } from '../sql/compile.js';
import { createIndexSql, type IndexKeyPart } from '../sql/index-ddl.js';
import { postgres } from '../sql/dialect.js';

/** An index as the database has it (advise/load.ts reads them from pg_index). */
export interface ExistingIndex {
  readonly schema: string;
  readonly table: string;
  readonly name: string;
  /** Key columns in order: column names, or an expression's text as pg_get_indexdef prints it. */
  readonly keys: readonly string[];
  readonly include: readonly string[];
  readonly method: string;
  readonly partial: boolean;
  readonly valid: boolean;
}

export interface AdviseCatalog {
  readonly indexes: readonly ExistingIndex[];
  /** Schemas in search-path order, to place unqualified table names. */
  readonly searchPath: readonly string[];
}

export type IndexPurpose = 'probe' | 'window' | 'attribute' | 'key' | 'property';

export interface IndexUse {
  readonly kind: Kind;
  readonly name: string;
}

/** A key part: a column, or a jsonb property of a column (an expression index). */
export type IndexKey = IndexKeyPart;

export interface AdvisedIndex {
  /** `schema.table` when the schema is known (written or found in the catalog), else the table. */
  readonly table: string;
  readonly purpose: IndexPurpose;
  readonly keys: readonly IndexKey[];
  readonly include: readonly string[];
  readonly name: string;
  /** `exists`: an existing index already serves it (`existing`); `missing`: create it to benefit. */
  readonly status: 'missing' | 'exists' | 'unknown';
  readonly existing?: string;
  /** Existing indexes this one makes redundant (their keys are a prefix of it, their columns in it). */
  readonly supersedes: readonly string[];
  readonly sql: string;
  readonly why: string;
  readonly usedBy: readonly IndexUse[];
}

export interface IndexAdvice {
  readonly indexes: readonly AdvisedIndex[];
  /** Info diagnostics at a definition's name (jsonb measures and property filters). */
  readonly notes: readonly RawDiagnostic[];
}

/** What advice needs of a resolved definition (Analysis.infos fits). */
export interface AdviseInput {
  readonly def: Definition;
  readonly resolved: { readonly query?: IrQuery; readonly campaign?: IrCampaign; readonly broken: boolean };
  readonly hasErrors?: boolean;
}

// ---- collecting what the SQL does ---------------------------------------------------------------

interface Candidate {
  table: IrTable;
  purpose: IndexPurpose;
  keys: IndexKey[];
  include: Set<string>;
  uses: Map<string, IndexUse>;
  /** Event types served (probe/window), or the attribute (attribute) — for the sentence. */
  types: Set<string>;
  untyped: boolean;
  stream?: IrStream;
  entity?: IrEntity;
}

class Collector {
  readonly candidates = new Map<string, Candidate>();
  readonly notes: RawDiagnostic[] = [];
  /** jsonb columns read per stream: which properties, by which definitions (one note per stream). */
  readonly jsonReads = new Map<string, { stream: IrStream; column: string; properties: Set<string>; uses: Set<string> }>();
  use!: IndexUse;
  def!: Definition;

  private add(table: IrTable, purpose: IndexPurpose, keys: IndexKey[], include: Iterable<string>, extra: { stream?: IrStream; entity?: IrEntity; types?: readonly string[] | null }): void {
    const id = `${table.schema ?? ''}.${table.name}|${JSON.stringify(keys)}`;
    let c = this.candidates.get(id);
    if (!c) {
      c = { table, purpose, keys, include: new Set(), uses: new Map(), types: new Set(), untyped: false, stream: extra.stream, entity: extra.entity };
      this.candidates.set(id, c);
    }
    for (const col of include) if (!keys.some((k) => !('property' in k) && k.column === col)) c.include.add(col);
    c.uses.set(`${this.use.kind}:${this.use.name}`, this.use);
    if (extra.types === null) c.untyped = true;
    else for (const t of extra.types ?? []) c.types.add(t);
  }

  /** One event filter read per entity (probe) or as a window grouped by entity (window). */
  events(f: IrEventFilter, role: 'probe' | 'window', value?: IrExpr, windowed = false): void {
    const s = f.stream;
    const read = new Set<string>();
    const props = new Set<string>();
    const jsonCols = new Set<string>();
    const collect = (x: unknown) =>
      walk(x, (n) => {
        if (n.k === 'ecol') read.add(n.col as string);
        if (n.k === 'eprop') {
          read.add(n.col as string);
          jsonCols.add(n.col as string);
          props.add(n.key as string);
        }
      });
    if (value) collect(value);
    if (f.where) collect(f.where);
    read.delete(s.time);
    const typed = Boolean(f.types && s.typeColumn);
    if (role === 'probe') {
      const keys = [s.entityKey, ...(s.typeColumn ? [s.typeColumn] : []), s.time].map((column) => ({ column }));
      this.add(s.table, 'probe', keys, read, { stream: s, types: typed ? f.types : null });
    } else if (typed) {
      this.add(s.table, 'window', [{ column: s.typeColumn! }, { column: s.time }], [s.entityKey, ...read], { stream: s, types: f.types });
    } else if (f.since || f.where || windowed) {
      // Without a window nor a filter, every event is read: no index narrows that.
      this.add(s.table, 'window', [{ column: s.time }], [s.entityKey, ...(s.typeColumn ? [s.typeColumn] : []), ...read], { stream: s, types: null });
    }
    for (const col of jsonCols) {
      const key = `${s.name}\u0000${col}`;
      let j = this.jsonReads.get(key);
      if (!j) this.jsonReads.set(key, (j = { stream: s, column: col, properties: new Set(), uses: new Set() }));
      for (const p of props) j.properties.add(p);
      j.uses.add(`${this.use.kind}:${this.use.name}`);
    }
    // A window of events chosen by a property alone (no type): an expression index on that property
    // serves it (a probe is narrowed by the entity key already).
    if (role === 'window' && !typed && f.where) {
      for (const c of conjuncts(f.where)) {
        const p = equalityOnProperty(c);
        if (!p) continue;
        this.add(s.table, 'property', [{ column: p.col, property: p.key }, { column: s.time }], [s.entityKey], { stream: s, types: null });
        this.note(
          'advise-property-filter',
          `${describeUse(this.use)} selects events of ${tableText(s.table)} by the jsonb property '${p.key}' with no event type: an expression index on (${p.col} ->> '${p.key}') serves it (advised)`,
        );
      }
    }
  }

  attribute(entity: IrEntity, column: string): void {
    this.add(entity.table, 'attribute', [{ column }], [], { entity, types: [column] });
  }

  entityKey(entity: IrEntity): void {
    this.add(entity.table, 'key', [{ column: entity.key }], [], { entity });
  }

  private note(code: DiagnosticCode, message: string, at: Definition = this.def): void {
    if (this.notes.some((n) => n.code === code && n.message === message && n.file === at.file)) return;
    this.notes.push({ code, severity: 'information', message, file: at.file, span: at.nameSpan });
  }

  /** One note per stream whose jsonb column is read, at the Events definition. */
  noteJsonReads(streams: ReadonlyMap<string, Definition>): void {
    for (const j of this.jsonReads.values()) {
      const at = streams.get(j.stream.name);
      if (!at) continue;
      const props = [...j.properties].sort().map((p) => `'${p}'`).join(', ');
      this.note(
        'advise-jsonb-include',
        `${j.uses.size} definition${j.uses.size === 1 ? '' : 's'} read ${props} from the jsonb column ${j.column} of ${tableText(j.stream.table)}: the advised indexes INCLUDE the whole column so those reads need no table visit; a stored generated column per property (or a narrower table) would make the indexes smaller`,
        at,
      );
    }
  }
}

type Node = Record<string, unknown> & { k?: string };

function walk(x: unknown, visit: (n: Node) => void): void {
  if (!x || typeof x !== 'object') return;
  if (Array.isArray(x)) {
    for (const v of x) walk(v, visit);
    return;
  }
  const n = x as Node;
  if (typeof n.k === 'string') visit(n);
  for (const [key, v] of Object.entries(n)) {
    // An aggregate's filter holds its stream and events: they are handled where the aggregate is.
    if (n.k === 'agg' && key === 'agg') continue;
    if (v && typeof v === 'object') walk(v, visit);
  }
}

function aggsOf(x: unknown): IrAgg[] {
  const out: IrAgg[] = [];
  walk(x, (n) => {
    if (n.k === 'agg') out.push(n.agg as IrAgg);
  });
  return out;
}

function conjuncts(c: IrCond): readonly IrCond[] {
  return c.k === 'and' ? c.items : [c];
}

function equalityOnProperty(c: IrCond): { col: string; key: string } | undefined {
  const a = c.k === 'cmp' && c.op === 'eq' ? c.a : c.k === 'in' && !c.negated ? c.a : undefined;
  return a?.k === 'eprop' ? { col: a.col, key: a.key } : undefined;
}

/** Entity columns a top-level conjunct without aggregates compares with a value (index-friendly forms). */
function filteredAttributes(where: IrCond): string[] {
  const out: string[] = [];
  for (const c of conjuncts(where)) {
    if (aggsOf(c).length) continue;
    if ((c.k === 'cmp' && c.op !== 'ne') || (c.k === 'in' && !c.negated)) {
      const cols = [c.a, ...(c.k === 'cmp' ? [c.b] : [])].filter((e): e is Extract<IrExpr, { k: 'col' }> => e.k === 'col');
      const others = c.k === 'cmp' ? [c.a, c.b].filter((e) => e.k !== 'col') : c.values;
      if (cols.length === 1 && others.every((e) => e.k === 'lit' || e.k === 'time')) out.push(cols[0]!.col);
    } else if (c.k === 'or') {
      // `a = 1 or a = 2` on one column is still one index's range.
      const sub = c.items.map((i) => filteredAttributes(i));
      if (sub.every((s) => s.length === 1 && s[0] === sub[0]![0])) out.push(sub[0]![0]!);
    }
  }
  return out;
}

function collectMembers(x: Collector, entity: IrEntity, where: IrCond): void {
  const role = chooseStrategy(where) === 'probe' ? 'probe' : 'window';
  const aggs = aggsOf(where);
  for (const a of aggs) x.events(a.filter, role, a.value);
  for (const col of filteredAttributes(where)) x.attribute(entity, col);
  if (role === 'window' && aggs.length) x.entityKey(entity);
}

function collectMetric(x: Collector, m: IrMetric): void {
  switch (m.k) {
    case 'count':
      collectMembers(x, m.entity, m.where);
      return;
    case 'events':
    case 'active':
      x.events(m.filter, 'window');
      return;
    case 'sum':
    case 'avg':
    case 'count_distinct':
    case 'nps':
    case 'csat':
      x.events(m.filter, 'window', m.value);
      return;
    case 'cost':
      // A cost source is small (a row per day and channel) and read whole: no index advice.
      return;
    case 'ratio':
      collectMetric(x, m.numerator);
      collectMetric(x, m.denominator);
      return;
    case 'retention':
      x.events(m.cohort, 'window');
      x.events(m.returning, 'probe');
      return;
    case 'attribute-retention':
      x.events(m.returning, 'probe');
      return;
    case 'churn':
      // Churn's windows come from its period, not the filter's `within`.
      x.events(m.filter, 'window', undefined, true);
      x.events(m.filter, 'probe');
      return;
  }
}

function collectQuery(x: Collector, q: IrQuery): void {
  switch (q.k) {
    case 'members':
      collectMembers(x, q.entity, q.where);
      return;
    case 'values': {
      const aggs = aggsOf(q.value);
      for (const a of aggs) x.events(a.filter, 'window', a.value);
      if (aggs.length) x.entityKey(q.entity);
      return;
    }
    case 'metric':
      collectMetric(x, q.metric);
  }
}

function collectCampaign(x: Collector, c: IrCampaign): void {
  collectMembers(x, c.audience.entity, c.audience.where);
  for (const e of c.exclude) collectMembers(x, e.entity, e.where);
  if (c.trigger) x.events(c.trigger.filter, 'probe');
  if (c.goal) x.events(c.goal.filter, 'window');
}

// ---- merging, comparing, rendering --------------------------------------------------------------

function keyText(k: IndexKey): string {
  return 'property' in k ? `(${k.column} ->> '${k.property}')` : k.column;
}

function sameTable(a: IrTable, b: IrTable): boolean {
  return (a.schema ?? '') === (b.schema ?? '') && a.name === b.name;
}

function startsWith(keys: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= keys.length && prefix.every((k, i) => keys[i] === k);
}

/** Drops a candidate whose keys are a prefix of another's when that one carries all its columns. */
function dedupe(cands: Candidate[]): Candidate[] {
  const kept: Candidate[] = [];
  const sorted = [...cands].sort((a, b) => b.keys.length - a.keys.length);
  for (const c of sorted) {
    const ck = c.keys.map(keyText);
    const host = kept.find((k) => {
      if (!sameTable(k.table, c.table)) return false;
      const kk = k.keys.map(keyText);
      return startsWith(kk, ck) && [...c.include].every((col) => kk.includes(col) || k.include.has(col));
    });
    if (host) {
      for (const [id, u] of c.uses) host.uses.set(id, u);
      for (const t of c.types) host.types.add(t);
      host.untyped ||= c.untyped;
    } else kept.push(c);
  }
  return kept;
}

function tableText(t: IrTable): string {
  return t.schema ? `${t.schema}.${t.name}` : t.name;
}

/** pg_get_indexdef's text of a key part, for comparison with existing indexes (the live indexes are PostgreSQL's). */
function catalogKeyText(k: IndexKey): string {
  return 'property' in k ? normalizeKey(`(${quoteIdentIfNeeded(k.column)} ->> ${postgres.quoteLiteral(k.property)})`) : k.column;
}

/**
 * pg_get_indexdef quotes identifiers that need it (`"userId"`) and prints `(props ->> 'k'::text)`:
 * compare names unquoted, and expressions without casts of literals and without spaces.
 */
function normalizeKey(k: string): string {
  const quoted = /^"((?:[^"]|"")*)"$/.exec(k);
  if (quoted) return quoted[1]!.replace(/""/g, '"');
  return k.replace(/('(?:[^']|'')*')::text/g, '$1').replace(/\s+/g, '');
}

function quoteIdentIfNeeded(s: string): string {
  return /^[a-z_][a-z0-9_$]*$/.test(s) ? s : postgres.quoteIdent(s);
}

function indexName(table: string, keys: readonly IndexKey[], include: readonly string[]): string {
  const parts = keys.map((k) => ('property' in k ? `${k.column}_${k.property}` : k.column));
  const raw = `tally_${table}_${parts.join('_')}${include.length ? '_incl' : ''}_idx`;
  const base = raw.toLowerCase().replace(/[^a-z0-9_]+/g, '_');
  // A name that had to be changed could collide with another index's (`if not exists` would then
  // skip it silently): those carry a hash of what they index.
  if (base === raw && base.length <= 63) return base;
  const hash = createHash('sha256').update(JSON.stringify([table, keys, include])).digest('hex').slice(0, 8);
  return `${base.slice(0, 54)}_${hash}`;
}

function describeUse(u: IndexUse): string {
  return `${u.kind.toLowerCase()} '${u.name}'`;
}

function why(c: Candidate, entityKeyCols: string): string {
  const types = [...c.types].sort();
  const typesText = types.length ? `${types.map((t) => `'${t}'`).join(', ')} events` : 'events';
  switch (c.purpose) {
    case 'probe':
      return `per-${entityKeyCols} lookups of ${c.untyped && !types.length ? 'events' : typesText}${c.untyped && types.length ? ' (and untyped ones)' : ''} by time: correlated EXISTS and aggregates (the probe shape), campaign triggers, retention returns${c.include.size ? `; INCLUDE makes them index-only` : ''}`;
    case 'window':
      return `scans of a time window of ${c.keys.length === 1 ? 'all events' : typesText} grouped by ${entityKeyCols} (the pass shape, KPI metrics, cohorts, campaign goals), read from the index alone`;
    case 'attribute':
      return `selective filter on ${tableText(c.table)}.${keyText(c.keys[0]!)} in a segment's top-level conditions`;
    case 'key':
      return `joins of per-entity aggregates to ${tableText(c.table)} on its key`;
    case 'property':
      return `events selected by the jsonb property ${keyText(c.keys[0]!)} without an event type`;
  }
}

const PURPOSE_ORDER: Record<IndexPurpose, number> = { window: 0, probe: 1, property: 2, attribute: 3, key: 4 };

/**
 * The indexes that would serve the project's queries, each with why and which definitions use it,
 * compared against `catalog`'s indexes when given (status `unknown` without a catalog).
 * Definitions with errors are skipped (their IR is not trustworthy).
 */
export function adviseIndexes(infos: readonly AdviseInput[], catalog?: AdviseCatalog): IndexAdvice {
  const x = new Collector();
  for (const info of infos) {
    if (info.resolved.broken || info.hasErrors) continue;
    x.def = info.def;
    x.use = { kind: info.def.kind, name: info.def.name };
    if (info.resolved.query) collectQuery(x, info.resolved.query);
    if (info.resolved.campaign) collectCampaign(x, info.resolved.campaign);
  }
  x.noteJsonReads(new Map(infos.filter((i) => i.def.kind === 'Events').map((i) => [i.def.name, i.def])));
  const kept = dedupe([...x.candidates.values()]);
  const placeSchema = (t: IrTable): string | undefined => {
    if (t.schema) return t.schema;
    if (!catalog) return undefined;
    return catalog.searchPath.find((s) => catalog.indexes.some((i) => i.schema === s && i.table === t.name)) ?? catalog.searchPath[0];
  };
  const out: AdvisedIndex[] = [];
  for (const c of kept) {
    const schema = placeSchema(c.table);
    const include = [...c.include].sort();
    const keys = c.keys.map(catalogKeyText);
    const existing = catalog ? catalog.indexes.filter((i) => i.table === c.table.name && i.schema === schema && i.valid && !i.partial && i.method === 'btree') : [];
    const carries = (i: ExistingIndex, col: string) => i.keys.map(normalizeKey).includes(col) || i.include.map(normalizeKey).includes(col);
    const covering = existing.find((i) => startsWith(i.keys.map(normalizeKey), keys) && include.every((col) => carries(i, col)));
    const supersedes = covering
      ? []
      : existing.filter((i) => startsWith(keys, i.keys.map(normalizeKey)) && i.include.map(normalizeKey).every((col) => keys.includes(col) || include.includes(col)) && !/_pkey$/.test(i.name)).map((i) => i.name);
    let name = indexName(c.table.name, c.keys, include);
    if (catalog?.indexes.some((i) => i.schema === schema && i.name === name) && !covering) name = indexName(`${c.table.name}_${include.join('_')}`, c.keys, include);
    const sql = createIndexSql(name, { schema, name: c.table.name }, c.keys, include);
    const keyCol = c.stream?.entityKey ?? c.entity?.key ?? 'entity';
    out.push({
      table: schema ? `${schema}.${c.table.name}` : c.table.name,
      purpose: c.purpose,
      keys: c.keys,
      include,
      name,
      status: !catalog ? 'unknown' : covering ? 'exists' : 'missing',
      ...(covering ? { existing: covering.name } : {}),
      supersedes,
      sql,
      why: why(c, keyCol),
      usedBy: [...c.uses.values()].sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name)),
    });
  }
  out.sort((a, b) => a.table.localeCompare(b.table) || PURPOSE_ORDER[a.purpose] - PURPOSE_ORDER[b.purpose] || a.name.localeCompare(b.name));
  return { indexes: out, notes: x.notes };
}
