// The Project: one object from which the CLI, the language server and tests get every answer.
//
//   Project.load(dir) / new Project(root, tallyYamlText)
//     setFile(path, text) / deleteFile(path)      (buffers win over disk; re-parses one file)
//     analyze({catalog, now}) -> Analysis          (cached until a file changes)
//
// Per file (cached by text): YAML -> schema -> lowered definitions, with their diagnostics.
// Per analysis: resolve names, references, cycles, types and catalog -> IR, incrementally: only
// the definitions an edit can reach are resolved again (see `analyze`).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { DiagnosticSink, LineIndex, sortDiagnostics, type Diagnostic, type RawDiagnostic, type Span } from './diagnostics.js';
import { globFiles, globToRegExp } from './glob.js';
import { structuralKey, type IrDuration, type IrMetric } from './ir/ir.js';
import { Lowerer, scalarString } from './model/lower.js';
import type { Definition, Kind, ProjectConfig, ProjectCurrency } from './model/types.js';
import type { Catalog } from './resolve/catalog.js';
import { mappedTables, parseFixture } from './resolve/fixture-spec.js';
import { defId, NameTable } from './resolve/names.js';
import { Resolver, type RefSite, type ResolvedDefinition } from './resolve/resolve.js';
import { compileCohort, compileQuery, type CompiledQuery, type SqlOptions } from './sql/compile.js';
import { parseYamlDocuments } from './syntax/load-yaml.js';
import { escapeControlCharacters, hasControlCharacters } from './sql/comment.js';
import { getPair, toValue, type YDocument, type YMap } from './syntax/nodes.js';
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
  private readonly byKey: ReadonlyMap<string, DefinitionInfo>;
  private readonly sqlCache = new Map<string, CompiledQuery | undefined>();
  private sortedDiagnostics: readonly Diagnostic[] | undefined;
  private allRefs: readonly RefSite[] | undefined;

  constructor(
    readonly project: Project,
    readonly infos: readonly DefinitionInfo[],
    /**
     * Each file's diagnostics (sorted; only files that have some; tally.yaml's under its name). An
     * unchanged file's list is the same array as in the analysis before, so a host can tell
     * at a glance which files to publish again.
     */
    readonly diagnosticsByFile: ReadonlyMap<string, readonly Diagnostic[]>,
    byKey?: ReadonlyMap<string, DefinitionInfo>,
  ) {
    if (byKey) this.byKey = byKey;
    else {
      const m = new Map<string, DefinitionInfo>();
      for (const i of infos) if (!m.has(`${i.def.kind}:${i.def.name}`)) m.set(`${i.def.kind}:${i.def.name}`, i);
      this.byKey = m;
    }
  }

  /** Every diagnostic, sorted by file, position, severity and code. */
  get diagnostics(): readonly Diagnostic[] {
    if (!this.sortedDiagnostics) {
      const all: Diagnostic[] = [];
      for (const list of this.diagnosticsByFile.values()) all.push(...list);
      this.sortedDiagnostics = sortDiagnostics(all);
    }
    return this.sortedDiagnostics;
  }

  /** Every reference site, in definition order. */
  get refs(): readonly RefSite[] {
    if (!this.allRefs) {
      const all: RefSite[] = [];
      for (const i of this.infos) all.push(...i.resolved.refs);
      this.allRefs = all;
    }
    return this.allRefs;
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
    if (info?.resolved.cohort) {
      const k = `${kind}:${name}:${opts.asOf.kind === 'now' ? 'now' : opts.asOf.at.getTime()}:${opts.literals}`;
      if (!this.sqlCache.has(k)) this.sqlCache.set(k, compileCohort(info.resolved.cohort, opts));
      return this.sqlCache.get(k);
    }
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
  private resolution: Resolution | undefined;
  /** Definition files set or deleted since the last analysis, with the definitions they had then. */
  private readonly changed = new Map<string, readonly Definition[]>();
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
          ...projectCurrency(root),
        };
      }
    }
    this.config = config;
    this.patterns = config.definitions.map((g) => globToRegExp(g.replace(/^\.\//, '')));
    this.configDiagnostics = sink.items.map((d) => toDiagnostic(d, lines));
    // The time zone changes how dates lower: re-lower every file (and resolve everything again).
    for (const [path, entry] of this.files) this.files.set(path, { text: entry.text, file: this.parseFile(path, entry.text) });
    this.resolution = undefined;
    this.changed.clear();
    this.touch();
  }

  /** Adds or replaces a file's text (an open editor buffer or the disk content). */
  setFile(path: string, text: string): void {
    const rel = normalise(path);
    const prev = this.files.get(rel);
    if (prev && prev.text === text) return;
    if (!this.changed.has(rel)) this.changed.set(rel, prev?.file.definitions ?? []);
    this.files.set(rel, { text, file: this.parseFile(rel, text) });
    this.touch();
  }

  deleteFile(path: string): void {
    const rel = normalise(path);
    const prev = this.files.get(rel);
    if (!prev) return;
    if (!this.changed.has(rel)) this.changed.set(rel, prev.file.definitions);
    this.files.delete(rel);
    this.sortedPaths = undefined;
    this.touch();
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

  /**
   * Resolves the project. Cached until a file, the catalog or the instant changes.
   *
   * Incremental: the resolutions of the analysis before (same catalog, time zone and day) are kept
   * with an index from each `Kind:name` (and each kind) to the definitions that looked it up. An
   * edit re-resolves the definitions whose meaning changed (a changed file's, and any whose name
   * now means another definition or became a duplicate), everything that looked those names up,
   * transitively, and every resolution that met a cycle (its diagnostics depend on the order);
   * the rest is reused as it is, with its `hasErrors` and its file's diagnostics. *Invariant*: the
   * result equals a fresh analysis's (test/incremental.test.ts checks it over random edits).
   */
  analyze(options: AnalyzeOptions = {}): Analysis {
    const now = options.now ?? new Date();
    // Lints compare against the day, so one analysis serves a whole editing session's day.
    const day = Math.floor(now.getTime() / 86_400_000);
    const key = `${this.generation}:${options.catalog ? catalogId(options.catalog) : '-'}:${day}`;
    if (this.cached?.key === key) return this.cached.analysis;

    const resolutionKey = `${options.catalog ? catalogId(options.catalog) : '-'}:${day}:${this.config.timezone}`;
    let r = this.resolution;
    let dirty: Set<string>;
    let diagFiles: Iterable<string>;
    let renamed = true; // whether names came, went or moved (the file-ordered list is rebuilt)
    if (!r || r.key !== resolutionKey) {
      // From scratch: every definition, every file.
      const names = new NameTable(this.allDefinitions());
      r = { key: resolutionKey, names, resolved: new Map(), infos: new Map(), infoIndex: new Map(), dependents: new Map(), kindDependents: new Map(), kindNameDependents: new Map(), cyclic: new Set(), fileDiagnostics: new Map() };
      dirty = new Set();
      for (const [kind, m] of names.byKind) for (const name of m.keys()) dirty.add(defId(kind, name));
      diagFiles = this.filePaths;
    } else {
      const changedIds = new Set<string>();
      const changedKinds = new Set<Kind>();
      const changedKindNames = new Set<Kind>();
      const files = new Set(this.changed.keys());
      renamed = !this.replaceInPlace(r.names, changedIds, changedKinds);
      if (renamed) {
        const names = new NameTable(this.allDefinitions());
        diffNames(r.names, names, changedIds, changedKinds, changedKindNames);
        for (const d of [...r.names.diagnostics, ...names.diagnostics]) files.add(d.file);
        r.names = names;
      }
      // What an edit can reach: the changed names, whatever looked them (or their kind) up,
      // transitively; and every resolution whose result depends on resolution order.
      dirty = new Set();
      const stack = [...changedIds, ...r.cyclic];
      for (const k of changedKinds) stack.push(...(r.kindDependents.get(k) ?? []));
      for (const k of changedKindNames) stack.push(...(r.kindNameDependents.get(k) ?? []));
      while (stack.length) {
        const id = stack.pop()!;
        if (dirty.has(id)) continue;
        dirty.add(id);
        const deps = r.dependents.get(id);
        if (deps) for (const d of deps) if (!dirty.has(d)) stack.push(d);
      }
      for (const id of dirty) {
        const old = r.resolved.get(id);
        if (old) {
          files.add(old.def.file);
          this.forget(r, id, old);
        }
        const def = r.names.get(id);
        if (def) files.add(def.file);
      }
      diagFiles = files;
    }
    this.changed.clear();
    this.resolution = r;

    // Resolve what is dirty, in the order a fresh analysis resolves (the order a cycle is met
    // in decides which definition reports it).
    const resolver = new Resolver(r.names, { catalog: options.catalog, timezone: this.config.timezone, now, known: r.resolved, currency: this.config.currency });
    const order = r.names.inOrder(dirty);
    for (const id of order) resolver.resolve(r.names.get(id)!);
    let fresh = 0;
    for (const res of resolver.resolved) {
      fresh++;
      const id = defId(res.def.kind, res.def.name);
      r.resolved.set(id, res);
      for (const l of res.lookups) addTo(r.dependents, l, id);
      for (const k of res.kindSets) addTo(r.kindDependents, k, id);
      for (const k of res.kindNames) addTo(r.kindNameDependents, k, id);
      if (res.cyclic) r.cyclic.add(id);
    }
    this.lastReused = r.resolved.size - fresh;

    // Whether each re-resolved definition (or anything it depends on) has errors; the others keep theirs.
    const res = r;
    const errorMemo = new Map<string, boolean>();
    const hasErrors = (id: string, seen: Set<string>): boolean => {
      if (!dirty.has(id)) {
        const info = res.infos.get(id);
        if (info) return info.hasErrors;
      }
      const known = errorMemo.get(id);
      if (known !== undefined) return known;
      if (seen.has(id)) return true; // a cycle is an error
      seen.add(id);
      const rd = res.resolved.get(id);
      let v = !rd || rd.broken || this.hasOwnErrors(rd.def) || res.names.duplicated.has(id);
      if (!v && rd) {
        for (const d of rd.deps) {
          if (hasErrors(d, seen)) {
            v = true;
            break;
          }
        }
      }
      errorMemo.set(id, v);
      return v;
    };
    for (const id of order) {
      const rd = r.resolved.get(id)!;
      r.infos.set(id, new Info(rd, hasErrors(id, new Set())));
    }

    // Each touched file's diagnostics: its own (syntax, schema, lowering), then duplicate names,
    // then its definitions' resolutions.
    for (const path of diagFiles) {
      const f = this.files.get(path)?.file;
      if (!f) {
        r.fileDiagnostics.delete(path);
        continue;
      }
      const extra: RawDiagnostic[] = [...r.names.diagnosticsOf(path)];
      for (const def of f.definitions) {
        const rd = r.resolved.get(defId(def.kind, def.name));
        if (rd && rd.def === def) extra.push(...rd.diagnostics);
      }
      const list = (extra.length ? dedupe([...f.diagnostics, ...extra]) : f.diagnostics).map((d) => toDiagnostic(d, f.lines));
      if (list.length) r.fileDiagnostics.set(path, sortDiagnostics(list));
      else r.fileDiagnostics.delete(path);
    }

    // Every definition's info in file order (a duplicate name is reported, not analysed): the
    // list before with the re-resolved ones replaced, unless definitions came or went.
    let infos: DefinitionInfo[];
    const before = r.infoList;
    if (before && !renamed) {
      infos = before.slice();
      for (const id of dirty) {
        const i = r.infoIndex.get(id);
        if (i !== undefined) infos[i] = r.infos.get(id)!;
      }
    } else {
      infos = [];
      r.infoIndex.clear();
      for (const path of this.filePaths) {
        for (const def of this.files.get(path)!.file.definitions) {
          const id = defId(def.kind, def.name);
          const info = r.infos.get(id);
          if (info && info.def === def) {
            r.infoIndex.set(id, infos.length);
            infos.push(info);
          }
        }
      }
    }
    r.infoList = infos;
    const byFile = new Map<string, readonly Diagnostic[]>();
    if (this.configDiagnostics.length) byFile.set(PROJECT_FILE, this.configDiagnostics);
    for (const [path, list] of r.fileDiagnostics) byFile.set(path, byFile.has(path) ? sortDiagnostics([...byFile.get(path)!, ...list]) : list);
    const byKey = new Map(r.infos);
    let analysis = new Analysis(this, infos, byFile, byKey);
    // `kind: Test` fixtures read against the project (subject, given tables, expect): their
    // problems are diagnostics here, not only when `tally test` runs. A subject with errors is
    // reported at the subject itself.
    const tests: DefinitionInfo[] = [];
    for (const name of r.names.definitions('Test').keys()) {
      const info = r.infos.get(defId('Test', name));
      if (info && !info.hasErrors) tests.push(info);
    }
    if (tests.length) {
      const tables = new Set(mappedTables(analysis).keys());
      const extra = new Map<string, Diagnostic[]>();
      for (const info of tests) {
        for (const d of parseFixture(analysis, info, tables).diagnostics) {
          if (d.code === 'subject-has-errors') continue;
          const list = extra.get(d.file) ?? [];
          list.push(toDiagnostic(d, this.files.get(info.def.file)!.file.lines));
          extra.set(d.file, list);
        }
      }
      if (extra.size) {
        const withTests = new Map(byFile);
        for (const [file, list] of extra) withTests.set(file, sortDiagnostics([...(withTests.get(file) ?? []), ...list]));
        analysis = new Analysis(this, infos, withTests, byKey);
      }
    }
    this.cached = { key, analysis };
    return analysis;
  }

  private allDefinitions(): Definition[] {
    const defs: Definition[] = [];
    for (const path of this.filePaths) defs.push(...this.files.get(path)!.file.definitions);
    return defs;
  }

  /**
   * The common edit: every changed file still defines the same kinds and names in the same order
   * (none of them defined twice), so the name table changes in place. False when it cannot.
   */
  private replaceInPlace(names: NameTable, changedIds: Set<string>, changedKinds: Set<Kind>): boolean {
    const pairs: [Definition, Definition][] = [];
    for (const [path, old] of this.changed) {
      const neu = this.files.get(path)?.file.definitions ?? [];
      if (old.length !== neu.length) return false;
      for (let i = 0; i < old.length; i++) pairs.push([old[i]!, neu[i]!]);
    }
    if (!names.replaceInPlace(pairs)) return false;
    for (const [, d] of pairs) {
      changedIds.add(defId(d.kind, d.name));
      changedKinds.add(d.kind);
    }
    return true;
  }

  /** Drops a resolution that is about to be redone, with its entries in the dependency index. */
  private forget(r: Resolution, id: string, old: ResolvedDefinition): void {
    r.resolved.delete(id);
    r.infos.delete(id);
    r.cyclic.delete(id);
    for (const l of old.lookups) r.dependents.get(l)?.delete(id);
    for (const k of old.kindSets) r.kindDependents.get(k)?.delete(id);
    for (const k of old.kindNames) r.kindNameDependents.get(k)?.delete(id);
  }

  /** Whether an error (any stage) lies inside the definition's own document. */
  private hasOwnErrors(def: Definition): boolean {
    const f = this.files.get(def.file)?.file;
    if (!f) return false;
    const span = f.docs[def.doc]?.span ?? def.node.span;
    return f.diagnostics.some((d) => d.severity === 'error' && d.span[0] >= span[0] && d.span[0] <= span[1]);
  }
}

/** A definition's analysis; its fingerprint is computed when first asked for. */
class Info implements DefinitionInfo {
  private fp: string | undefined;
  readonly def: Definition;
  constructor(
    readonly resolved: ResolvedDefinition,
    readonly hasErrors: boolean,
  ) {
    this.def = resolved.def;
  }
  get fingerprint(): string {
    return (this.fp ??= fingerprint(this.resolved));
  }
}

/** What the last analysis resolved, kept for the next one (see `Project.analyze`). */
interface Resolution {
  /** The catalog, day and time zone the resolutions were made with. */
  readonly key: string;
  names: NameTable;
  /** `Kind:name` -> the resolution of the definition the name means. */
  readonly resolved: Map<string, ResolvedDefinition>;
  readonly infos: Map<string, DefinitionInfo>;
  /** The last analysis's infos in file order, and where each id is in it. */
  infoList?: DefinitionInfo[];
  readonly infoIndex: Map<string, number>;
  /** `Kind:name` -> the resolutions that looked it up (found or not). */
  readonly dependents: Map<string, Set<string>>;
  /** Kind -> the resolutions that depend on the kind's whole membership. */
  readonly kindDependents: Map<Kind, Set<string>>;
  /** Kind -> the resolutions that depend on the kind's names only (did-you-mean candidates). */
  readonly kindNameDependents: Map<Kind, Set<string>>;
  /** Resolutions that met a cycle: always redone. */
  readonly cyclic: Set<string>;
  /** Definition files' sorted diagnostics (only files that have some). */
  readonly fileDiagnostics: Map<string, readonly Diagnostic[]>;
}

function addTo<K>(index: Map<K, Set<string>>, k: K, id: string): void {
  const set = index.get(k);
  if (set) set.add(id);
  else index.set(k, new Set([id]));
}

/** The names whose meaning differs between two tables, the kinds whose membership or order does, and the kinds whose names (or their order) do. */
function diffNames(before: NameTable, after: NameTable, changedIds: Set<string>, changedKinds: Set<Kind>, changedKindNames: Set<Kind>): void {
  for (const kind of new Set([...before.byKind.keys(), ...after.byKind.keys()])) {
    const a = before.definitions(kind);
    const b = after.definitions(kind);
    const av = [...a.values()];
    const bv = [...b.values()];
    if (av.length !== bv.length || av.some((d, i) => d !== bv[i])) changedKinds.add(kind);
    const an = [...a.keys()];
    const bn = [...b.keys()];
    if (an.length !== bn.length || an.some((n, i) => n !== bn[i])) changedKindNames.add(kind);
    for (const [name, d] of a) if (b.get(name) !== d) changedIds.add(defId(kind, name));
    for (const name of b.keys()) if (!a.has(name)) changedIds.add(defId(kind, name));
  }
  for (const id of new Set([...before.duplicated, ...after.duplicated])) if (before.duplicated.has(id) !== after.duplicated.has(id)) changedIds.add(id);
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

/** tally.yaml `currency: { code, rates: { table, date, currency, rate } }` (the schema reports its shape). */
function projectCurrency(root: YMap): { currency?: ProjectCurrency } {
  const c = getPair(root, 'currency')?.value;
  if (!c || c.kind !== 'map') return {};
  const text = (m: YMap, k: string) => scalarString(getPair(m, k)?.value);
  const code = text(c, 'code');
  if (!code) return {};
  const r = getPair(c, 'rates')?.value;
  if (!r || r.kind !== 'map') return { currency: { code } };
  const [table, date, currency, rate] = ['table', 'date', 'currency', 'rate'].map((k) => text(r, k));
  return { currency: { code, ...(table && date && currency && rate ? { rates: { table, date, currency, rate } } : {}) } };
}

function fingerprint(r: ResolvedDefinition): string {
  const h = createHash('sha256');
  h.update(`${r.def.kind}\n${r.def.name}\n`);
  if (r.query) h.update(irKey(r.query.k === 'metric' ? { k: 'metric', metric: metricForFingerprint(r.query.metric) } : r.query));
  // A campaign's meaning includes who its audience and exclusions are (dependencies inlined).
  if (r.campaign) h.update(irKey(r.campaign));
  if (r.cohort) h.update(irKey(r.cohort));
  // A sync's meaning: its audience (dependencies inlined), fields, mode and destination settings.
  if (r.sync) h.update(irKey(r.sync));
  const d = r.def;
  // How a deploy stores it is part of its deployed form (a switch is deployed like a change).
  if (d.materialize === 'table') h.update('\nmaterialize: table');
  // Meaning that lives outside the SQL.
  if (d.kind === 'Kpi') h.update(structuralKey(withoutSpans({ target: d.target, guardrail: d.guardrail, funnel: d.funnel, unit: d.unit })));
  // A breakdown (its groups and per-group targets) only when there is one: other KPIs hash as before.
  if (d.kind === 'Kpi' && d.breakdown && r.query?.k === 'metric') h.update(`\nbreakdown ${irKey(r.query.breakdown ?? null)} ${structuralKey(withoutSpans(d.breakdown.targets))}`);
  else if (d.kind === 'Score') h.update(structuralKey(withoutSpans(d.bands)));
  // Quantile bands (absent keys leave every earlier fingerprint as it was).
  if ((d.kind === 'Score' || d.kind === 'Trait') && d.quantiles) h.update(`\nquantiles: ${d.quantiles.n}`);
  else if (d.kind === 'Entity' || d.kind === 'Events' || d.kind === 'Campaign' || d.kind === 'Test' || d.kind === 'Lifecycle' || d.kind === 'Costs' || d.kind === 'Destination' || d.kind === 'Sync')
    h.update(structuralKey(sortKeys(toValue(d.node), ['description', 'owner', 'tags', 'version', 'materialize'])));
  return h.digest('hex');
}

/**
 * An event-based metric carries its stream's entity so that SQL can apply the existence rule
 * (docs/language.md); the entity follows from the stream, whose mapping the filter already holds,
 * so it is left out here: the rule arrived with a Tally upgrade, and an upgrade must not force
 * version bumps on definitions nobody changed (test/fingerprint-stability.test.ts).
 */
function metricForFingerprint(m: IrMetric): unknown {
  if (m.k === 'count' || m.k === 'conversion' || m.k === 'cost') return m;
  if (m.k === 'ratio') return { k: m.k, numerator: metricForFingerprint(m.numerator), denominator: metricForFingerprint(m.denominator) };
  const { entity: _entity, ...rest } = m;
  return rest;
}

/**
 * The IR's structural key as fingerprints have always hashed it. Until the SQL dialect seam
 * (sql/dialect.ts) the IR carried PostgreSQL interval text: `{ k: 'asof', minusMs, interval: '90 days' }`
 * and durations `{ ms, interval }`. The IR is dialect-free now (`minus`/`IrDuration`: a count and a
 * unit), and this writes those values back in the old form, byte for byte, so that no fingerprint
 * changes (an upgrade must not force version bumps: test/fingerprint-stability.test.ts). The text is
 * frozen here on purpose: it is part of the fingerprint's encoding, not any dialect's output, and
 * must not follow a change of sql/dialect.ts.
 */
function irKey(x: unknown): string {
  return JSON.stringify(x, (_k, v: unknown) => {
    if (v instanceof Map) return [...v.entries()];
    if (v && typeof v === 'object') {
      const o = v as { k?: unknown; minusMs?: number; minus?: IrDuration; count?: unknown; unit?: unknown; ms?: number };
      if (o.k === 'asof') return o.minus ? { k: 'asof', minusMs: o.minusMs, interval: legacyInterval(o.minus) } : { k: 'asof', minusMs: o.minusMs };
      if (typeof o.count === 'number' && typeof o.unit === 'string' && typeof o.ms === 'number' && Object.keys(o).length === 3) return { ms: o.ms, interval: legacyInterval(o as IrDuration) };
    }
    return v;
  });
}

/** The interval text the IR carried before the dialect seam (`90 days`, `0 seconds`): see irKey. */
function legacyInterval(d: IrDuration): string {
  return `${d.count} ${d.unit}`;
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
