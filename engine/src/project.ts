// The Project: one object from which the CLI, the language server and tests get every answer.
//
//   Project.load(dir) / new Project(root, tallyYamlText)
//     setFile(path, text) / deleteFile(path)      (buffers win over disk; re-parses one file)
//     analyze({catalog, now}) -> Analysis          (cached until a file changes)
//
// Per file (cached by text): YAML -> schema -> lowered definitions, with their diagnostics.
// Per analysis (whole project): resolve names, references, cycles, types and catalog -> IR.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { DiagnosticSink, LineIndex, sortDiagnostics, type Diagnostic, type RawDiagnostic, type Span } from './diagnostics.js';
import { globFiles, globToRegExp } from './glob.js';
import { structuralKey } from './ir/ir.js';
import { Lowerer, scalarString } from './model/lower.js';
import type { Definition, Kind, ProjectConfig } from './model/types.js';
import type { Catalog } from './resolve/catalog.js';
import { mappedTables, parseFixture } from './resolve/fixture-spec.js';
import { Resolver, type RefSite, type ResolvedDefinition } from './resolve/resolve.js';
import { compileQuery, type CompiledQuery, type SqlOptions } from './sql/compile.js';
import { parseYamlDocuments } from './syntax/load-yaml.js';
import { escapeControlCharacters, hasControlCharacters } from './sql/comment.js';
import { getPair, toValue, type YDocument } from './syntax/nodes.js';
import { validateDocument, validateProjectFile } from './syntax/schema.js';
import { isValidTimeZone } from './time.js';

export const PROJECT_FILE = 'tally.yaml';

export interface SourceFile {
  readonly path: string;
  readonly text: string;
  readonly lines: LineIndex;
  readonly docs: readonly YDocument[];
  readonly definitions: readonly Definition[];
  /** Syntax, schema and lowering diagnostics of this file alone. */
  readonly diagnostics: readonly RawDiagnostic[];
}

export interface AnalyzeOptions {
  readonly catalog?: Catalog;
  /** The instant lints compare against (e.g. "deadline already past"); default: now. */
  readonly now?: Date;
}

export interface DefinitionInfo {
  readonly def: Definition;
  readonly resolved: ResolvedDefinition;
  /**
   * sha256 of the definition's meaning: its normalised compiled form (the IR, with every dependency
   * inlined) plus what the IR does not carry (targets, bands). Whitespace, key order and comments do
   * not change it; a dependency's change does; a new SQL shape in a Tally upgrade does not.
   */
  readonly fingerprint: string;
  /**
   * Whether an error anywhere in this definition's document, or in a definition it depends on,
   * makes its SQL untrustworthy. Previews, code lenses and compile refuse such definitions.
   */
  readonly hasErrors: boolean;
}

export class Analysis {
  private readonly byKey = new Map<string, DefinitionInfo>();
  private readonly sqlCache = new Map<string, CompiledQuery | undefined>();

  constructor(
    readonly project: Project,
    readonly infos: readonly DefinitionInfo[],
    readonly diagnostics: readonly Diagnostic[],
    readonly refs: readonly RefSite[],
  ) {
    for (const i of infos) if (!this.byKey.has(`${i.def.kind}:${i.def.name}`)) this.byKey.set(`${i.def.kind}:${i.def.name}`, i);
  }

  get definitions(): Definition[] {
    return this.infos.map((i) => i.def);
  }

  get(kind: Kind, name: string): DefinitionInfo | undefined {
    return this.byKey.get(`${kind}:${name}`);
  }

  /** Definitions of a kind, by name. */
  ofKind(kind: Kind): DefinitionInfo[] {
    return this.infos.filter((i) => i.def.kind === kind);
  }

  get errorCount(): number {
    return this.diagnostics.filter((d) => d.severity === 'error').length;
  }

  /**
   * The errors that make these definitions unusable: every error in the files that hold them or
   * anything they depend on (transitively). Empty for definitions without errors. Previews and
   * checks print these when they refuse a definition.
   */
  blockingErrors(defs: readonly { kind: Kind; name: string }[]): Diagnostic[] {
    const files = new Set<string>();
    const seen = new Set<string>();
    const visit = (id: string) => {
      if (seen.has(id)) return;
      seen.add(id);
      const info = this.byKey.get(id);
      if (!info) return;
      files.add(info.def.file);
      for (const dep of info.resolved.deps) visit(dep);
    };
    for (const d of defs) if (this.get(d.kind, d.name)?.hasErrors) visit(`${d.kind}:${d.name}`);
    return files.size ? this.diagnostics.filter((d) => d.severity === 'error' && files.has(d.file)) : [];
  }

  /** The SQL of a definition's main query (segment members, trait/score/lifecycle values, KPI value). */
  sqlFor(kind: Kind, name: string, opts: SqlOptions): CompiledQuery | undefined {
    const info = this.get(kind, name);
    if (!info?.resolved.query) return undefined;
    const k = `${kind}:${name}:${opts.asOf.kind === 'now' ? 'now' : opts.asOf.at.getTime()}:${opts.literals}:${opts.strategy ?? 'auto'}`;
    if (!this.sqlCache.has(k)) this.sqlCache.set(k, compileQuery(info.resolved.query, opts));
    return this.sqlCache.get(k);
  }
}

interface ParseCacheEntry {
  text: string;
  file: SourceFile;
}

export class Project {
  readonly root: string;
  config: ProjectConfig;
  /** Diagnostics of tally.yaml itself. */
  configDiagnostics: Diagnostic[] = [];
  /** The text of tally.yaml (undefined when there is none). */
  projectFileText: string | undefined;
  private readonly files = new Map<string, ParseCacheEntry>();
  private patterns: RegExp[] = [];
  private cached: { key: string; analysis: Analysis } | undefined;
  private sortedPaths: string[] | undefined;
  private lastResolution: { key: string; byId: ReadonlyMap<string, ResolvedDefinition> } | undefined;
  /** How many definitions the last analysis reused from the one before (incremental analysis). */
  lastReused = 0;
  private generation = 0;

  constructor(root: string, projectFileText: string | undefined) {
    this.root = resolvePath(root);
    this.config = { name: 'project', definitions: ['definitions/**/*.yaml'], deploySchema: 'tally', timezone: 'UTC' };
    this.setProjectFile(projectFileText);
  }

  /** Loads tally.yaml and every definition file from disk. */
  static load(root: string): Project {
    const file = join(root, PROJECT_FILE);
    const text = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    const p = new Project(root, text);
    for (const rel of p.discover()) {
      try {
        p.setFile(rel, readFileSync(join(p.root, rel), 'utf8'));
      } catch {
        // Unreadable files are skipped; the language server reports them when opened.
      }
    }
    return p;
  }

  /** Definition files on disk that the globs select. */
  discover(): string[] {
    return globFiles(this.root, this.config.definitions);
  }

  /** Whether a project-relative path is a definition file of this project. */
  isDefinitionFile(rel: string): boolean {
    return this.patterns.some((re) => re.test(rel));
  }

  setProjectFile(text: string | undefined): void {
    this.projectFileText = text;
    const sink = new DiagnosticSink(PROJECT_FILE);
    let config: ProjectConfig = { name: 'project', definitions: ['definitions/**/*.yaml'], deploySchema: 'tally', timezone: 'UTC' };
    const lines = new LineIndex(text ?? '');
    if (text === undefined) {
      sink.error('no-project-file', [0, 0], `no ${PROJECT_FILE} in ${this.root}; run \`tally init\` to create a project, or pass --project DIR`);
    } else {
      const docs = parseYamlDocuments(text);
      for (const d of docs) for (const e of d.errors) sink.error(e.code ?? 'yaml-syntax', e.span, e.message);
      const root = docs[0]?.root;
      if (!root || root.kind !== 'map') {
        if (!docs.some((d) => d.errors.length)) sink.error('not-a-mapping', [0, 0], `${PROJECT_FILE} is a mapping: \`tally: 1\`, \`name\`, \`definitions\``);
      } else {
        validateProjectFile(root, sink);
        const str = (k: string) => {
          const p = getPair(root, k);
          return p ? scalarString(p.value) : undefined;
        };
        const defsPair = getPair(root, 'definitions');
        const globs = defsPair && defsPair.value.kind === 'seq' ? defsPair.value.items.map((i) => scalarString(i)).filter((s): s is string => !!s) : undefined;
        const wh = getPair(root, 'warehouse');
        const deploy = getPair(root, 'deploy');
        const urlPair = wh && wh.value.kind === 'map' ? getPair(wh.value, 'url') : undefined;
        const schemaText = deploy && deploy.value.kind === 'map' ? scalarString(getPair(deploy.value, 'schema')?.value) : undefined;
        const tz = str('timezone') ?? 'UTC';
        const tzPair = getPair(root, 'timezone');
        if (tzPair && !isValidTimeZone(tz)) sink.error('bad-timezone', tzPair.value.span, `'${tz}' is not a time zone; use an IANA name such as UTC or Europe/Berlin`);
        config = {
          name: str('name') ?? 'project',
          definitions: globs && globs.length ? globs : ['definitions/**/*.yaml'],
          warehouseUrl: urlPair ? scalarString(urlPair.value) : undefined,
          deploySchema: schemaText ?? 'tally',
          timezone: isValidTimeZone(tz) ? tz : 'UTC',
        };
      }
    }
    this.config = config;
    this.patterns = config.definitions.map((g) => globToRegExp(g.replace(/^\.\//, '')));
    this.configDiagnostics = sink.items.map((d) => toDiagnostic(d, lines));
    // The time zone changes how dates lower: re-lower every file.
    for (const [path, entry] of this.files) this.files.set(path, { text: entry.text, file: this.parseFile(path, entry.text) });
    this.touch();
  }

  /** Adds or replaces a file's text (an open editor buffer or the disk content). */
  setFile(path: string, text: string): void {
    const rel = normalise(path);
    const prev = this.files.get(rel);
    if (prev && prev.text === text) return;
    this.files.set(rel, { text, file: this.parseFile(rel, text) });
    this.touch();
  }

  deleteFile(path: string): void {
    this.sortedPaths = undefined;
    if (this.files.delete(normalise(path))) this.touch();
  }

  file(path: string): SourceFile | undefined {
    return this.files.get(normalise(path))?.file;
  }

  get filePaths(): string[] {
    if (!this.sortedPaths || this.sortedPaths.length !== this.files.size) this.sortedPaths = [...this.files.keys()].sort();
    return this.sortedPaths;
  }

  private touch(): void {
    this.generation++;
    this.cached = undefined;
  }

  private parseFile(path: string, text: string): SourceFile {
    const sink = new DiagnosticSink(path);
    // A line break in a file name would end a SQL comment (`compile --out`), a CI annotation or a
    // terminal line; refuse the file (an error: nothing compiles or deploys from it) at its start.
    if (hasControlCharacters(path))
      sink.error('bad-file-name', [0, 0], `the file name '${escapeControlCharacters(path)}' contains a control character; rename the file (line breaks, tabs and other control characters are not allowed in definition file names)`);
    const docs = parseYamlDocuments(text);
    const lowerer = new Lowerer(sink, this.config.timezone);
    const definitions: Definition[] = [];
    docs.forEach((doc, i) => {
      for (const e of doc.errors) sink.error(e.code ?? 'yaml-syntax', e.span, e.message);
      if (doc.errors.length) return;
      if (!doc.root) return;
      const kind = validateDocument(doc.root, sink);
      if (!kind || doc.root.kind !== 'map') return;
      const def = lowerer.lowerDocument(doc.root, path, i);
      if (def) definitions.push(def);
    });
    return { path, text, lines: new LineIndex(text), docs, definitions, diagnostics: dedupe(sink.items) };
  }

  /** Resolves the whole project. Cached until a file, the catalog or the instant changes. */
  analyze(options: AnalyzeOptions = {}): Analysis {
    const now = options.now ?? new Date();
    // Lints compare against the day, so one analysis serves a whole editing session's day.
    const key = `${this.generation}:${options.catalog ? catalogId(options.catalog) : '-'}:${Math.floor(now.getTime() / 86_400_000)}`;
    if (this.cached?.key === key) return this.cached.analysis;

    const defs: Definition[] = [];
    for (const path of this.filePaths) defs.push(...this.files.get(path)!.file.definitions);
    // Reuse the previous resolutions made under the same catalog, time zone and day.
    const resolutionKey = `${options.catalog ? catalogId(options.catalog) : '-'}:${Math.floor(now.getTime() / 86_400_000)}:${this.config.timezone}`;
    const previous = this.lastResolution?.key === resolutionKey ? this.lastResolution.byId : undefined;
    const resolver = new Resolver(defs, { catalog: options.catalog, timezone: this.config.timezone, now, previous });
    const resolved = resolver.resolveAll();
    const byId = new Map(resolved.map((r) => [`${r.def.kind}:${r.def.name}`, r]));
    this.lastResolution = { key: resolutionKey, byId };
    this.lastReused = resolver.reused;
    const resolutionDiagnostics = new Map<string, RawDiagnostic[]>();
    for (const d of [...resolver.globalDiagnostics, ...resolved.flatMap((r) => r.diagnostics)]) {
      const list = resolutionDiagnostics.get(d.file);
      if (list) list.push(d);
      else resolutionDiagnostics.set(d.file, [d]);
    }

    // Errors inside each definition's own document (any stage), then through its dependencies.
    const ownErrors = new Set<string>();
    for (const path of this.filePaths) {
      const f = this.files.get(path)!.file;
      if (!f.diagnostics.some((d) => d.severity === 'error')) continue;
      for (const def of f.definitions) {
        const span = f.docs[def.doc]?.span ?? def.node.span;
        if (f.diagnostics.some((d) => d.severity === 'error' && d.span[0] >= span[0] && d.span[0] <= span[1])) ownErrors.add(`${def.kind}:${def.name}`);
      }
    }
    const errorMemo = new Map<string, boolean>();
    const hasErrors = (id: string, seen: Set<string>): boolean => {
      const known = errorMemo.get(id);
      if (known !== undefined) return known;
      if (seen.has(id)) return true; // a cycle is an error
      seen.add(id);
      const r = byId.get(id);
      let v = !r || r.broken || ownErrors.has(id) || resolver.duplicated.has(id);
      if (!v && r) {
        for (const d of r.deps) {
          if (hasErrors(d, seen)) {
            v = true;
            break;
          }
        }
      }
      errorMemo.set(id, v);
      return v;
    };

    const infos: DefinitionInfo[] = [];
    for (const def of defs) {
      const r = byId.get(`${def.kind}:${def.name}`);
      if (!r || r.def !== def) continue; // a duplicate name: reported, not analysed
      let fp: string | undefined;
      infos.push({
        def,
        resolved: r,
        hasErrors: hasErrors(`${def.kind}:${def.name}`, new Set()),
        get fingerprint() {
          return (fp ??= fingerprint(r));
        },
      });
    }

    const diagnostics: Diagnostic[] = [...this.configDiagnostics];
    for (const path of this.filePaths) {
      const f = this.files.get(path)!.file;
      const extra = resolutionDiagnostics.get(path);
      if (!extra && !f.diagnostics.length) continue;
      for (const d of extra ? dedupe([...f.diagnostics, ...extra]) : f.diagnostics) diagnostics.push(toDiagnostic(d, f.lines));
    }
    let analysis = new Analysis(this, infos, sortDiagnostics(diagnostics), resolver.refs);
    // `kind: Test` fixtures read against the project (subject, given tables, expect): their
    // problems are diagnostics here, not only when `tally test` runs. A subject with errors is
    // reported at the subject itself.
    const tests = infos.filter((i) => i.def.kind === 'Test' && !i.hasErrors);
    if (tests.length) {
      const tables = new Set(mappedTables(analysis).keys());
      const extra: Diagnostic[] = [];
      for (const info of tests)
        for (const d of parseFixture(analysis, info, tables).diagnostics) if (d.code !== 'subject-has-errors') extra.push(toDiagnostic(d, this.files.get(info.def.file)!.file.lines));
      if (extra.length) analysis = new Analysis(this, infos, sortDiagnostics([...diagnostics, ...extra]), resolver.refs);
    }
    this.cached = { key, analysis };
    return analysis;
  }
}

const catalogIds = new WeakMap<Catalog, number>();
let nextCatalogId = 1;
function catalogId(c: Catalog): number {
  let id = catalogIds.get(c);
  if (!id) catalogIds.set(c, (id = nextCatalogId++));
  return id;
}

/** The canonical form: SQL with inline literals and T = now(), plus what SQL does not carry. */
export const CANONICAL_SQL: SqlOptions = { asOf: { kind: 'now' }, literals: 'inline', strategy: 'pass' };

function fingerprint(r: ResolvedDefinition): string {
  const h = createHash('sha256');
  h.update(`${r.def.kind}\n${r.def.name}\n`);
  if (r.query) h.update(structuralKey(r.query));
  // A campaign's meaning includes who its audience and exclusions are (dependencies inlined).
  if (r.campaign) h.update(structuralKey(r.campaign));
  const d = r.def;
  // How a deploy stores it is part of its deployed form (a switch is deployed like a change).
  if (d.materialize === 'table') h.update('\nmaterialize: table');
  // Meaning that lives outside the SQL.
  if (d.kind === 'Kpi') h.update(structuralKey(withoutSpans({ target: d.target, guardrail: d.guardrail, funnel: d.funnel, unit: d.unit })));
  else if (d.kind === 'Score') h.update(structuralKey(withoutSpans(d.bands)));
  else if (d.kind === 'Entity' || d.kind === 'Events' || d.kind === 'Campaign' || d.kind === 'Test' || d.kind === 'Lifecycle')
    h.update(structuralKey(sortKeys(toValue(d.node), ['description', 'owner', 'tags', 'version', 'materialize'])));
  return h.digest('hex');
}

function withoutSpans(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x ?? null, (k, v: unknown) => (k === 'span' || k.endsWith('Span') ? undefined : v)));
}

function sortKeys(v: unknown, drop: string[] = []): unknown {
  if (Array.isArray(v)) return v.map((x) => sortKeys(x));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) if (!drop.includes(k)) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

function normalise(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** One message per place: the first (most specific stage) wins. */
function dedupe(list: RawDiagnostic[]): RawDiagnostic[] {
  const seen = new Set<string>();
  const out: RawDiagnostic[] = [];
  for (const d of list) {
    const k = `${d.span[0]}:${d.span[1]}:${d.severity}${d.severity === 'error' ? '' : `:${d.code}`}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(d);
  }
  return out;
}

export function toDiagnostic(d: RawDiagnostic, lines: LineIndex): Diagnostic {
  return {
    file: d.file,
    range: lines.range(d.span),
    severity: d.severity,
    code: d.code,
    message: d.message,
    ...(d.fix ? { fix: { range: lines.range(d.fix.span), text: d.fix.text } } : {}),
  };
}

export type { Span };
