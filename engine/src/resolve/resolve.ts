// Resolution's memo core: names, references, cycles and what each resolution read; the output is IR.
//
// One Resolver sees the whole model. Each definition resolves once (memoised), in the order the
// caller asks (Project: the name table's order); references to other segments, traits, scores and
// lifecycles inline their IR, and a reference back into a definition that is still being resolved
// is a cycle. Every reference site is recorded for go-to-definition, find-references and rename.
//
// The rules themselves (kinds.ts and the modules it calls) are plain functions over the Resolver
// as their `ResolveContext` (context.ts): the only way a rule reaches another definition is
// `lookup`, `peek`, `kindSet` or `guard` below, and each records what it read (`lookups`,
// `kindSets`, `kindNames`, `deps`), which Project's incremental analysis relies on.

import { DiagnosticSink, type DiagnosticCode, type RawDiagnostic, type Span } from '../diagnostics.js';
import type { Definition, Kind, Ref } from '../model/types.js';
import type { Body, DefinitionOf, RefKind, RefSite, ResolveContext, ResolvedDefinition, ResolveOptions } from './context.js';
import { resolveDefinition } from './kinds.js';
import { defId, NameTable } from './names.js';
import { didYouMean } from '../suggest.js';

export type { RefKind, RefSite, ResolvedDefinition, ResolveOptions } from './context.js';
// KPI status (kpi/status.ts) compares with the same rule as the SMART lint.
export { compare } from './kpi.js';

/** The resolution in progress: what it reports and records. */
interface Current {
  def: Definition;
  sink: DiagnosticSink;
  deps: Set<string>;
  errors: number;
  refs: RefSite[];
  lookups: Set<string>;
  kindSets: Set<Kind>;
  kindNames: Set<Kind>;
  cyclic: boolean;
}

export class Resolver implements ResolveContext {
  /** Diagnostics that belong to no single definition's resolution (duplicate names). */
  readonly globalDiagnostics: readonly RawDiagnostic[];
  /** Names defined more than once: which definition is meant is ambiguous, so none is usable. */
  readonly duplicated: ReadonlySet<string>;
  private readonly names: NameTable;
  /** What this resolver resolved itself (not taken from `known`), in resolution order. */
  private readonly done = new Map<string, ResolvedDefinition>();
  private readonly inProgress = new Set<string>();
  private current: Current | undefined;

  constructor(
    defs: readonly Definition[] | NameTable,
    readonly options: ResolveOptions,
  ) {
    this.names = defs instanceof NameTable ? defs : new NameTable(defs);
    this.globalDiagnostics = this.names.diagnostics;
    this.duplicated = this.names.duplicated;
  }

  /** Every reference site of what this resolver resolved, in resolution order. */
  get refs(): RefSite[] {
    const out: RefSite[] = [];
    for (const r of this.done.values()) out.push(...r.refs);
    return out;
  }

  /** The resolutions this resolver made (not the reused ones), in resolution order. */
  get resolved(): IterableIterator<ResolvedDefinition> {
    return this.done.values();
  }

  resolveAll(): ResolvedDefinition[] {
    const out: ResolvedDefinition[] = [];
    for (const m of this.names.byKind.values()) for (const d of m.values()) out.push(this.resolve(d));
    return out;
  }

  resolve(def: Definition): ResolvedDefinition {
    const id = defId(def.kind, def.name);
    const existing = this.done.get(id);
    if (existing) return existing;
    const known = this.options.known?.get(id);
    if (known && known.def === def) return known;
    const outer = this.current;
    const sink = new DiagnosticSink(def.file);
    const cur: Current = { def, sink, deps: new Set(), errors: 0, refs: [], lookups: new Set(), kindSets: new Set(), kindNames: new Set(), cyclic: false };
    this.current = cur;
    this.inProgress.add(id);
    let result: Body = {};
    try {
      result = resolveDefinition(this, def);
    } finally {
      this.inProgress.delete(id);
      this.current = outer;
    }
    const resolved: ResolvedDefinition = {
      def,
      ...result,
      deps: cur.deps,
      broken: sink.items.some((d) => d.severity === 'error') || cur.errors > 0,
      diagnostics: sink.items,
      refs: cur.refs,
      lookups: cur.lookups,
      kindSets: cur.kindSets,
      kindNames: cur.kindNames,
      cyclic: cur.cyclic,
    };
    this.done.set(id, resolved);
    return resolved;
  }

  private definitions(kind: Kind): ReadonlyMap<string, Definition> {
    return this.names.definitions(kind);
  }

  // ---- the context rules see (context.ts) ------------------------------------------------------

  error(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void {
    this.current!.sink.error(code, span, message, fix);
  }

  warn(code: DiagnosticCode, span: Span, message: string, fix?: { span: Span; text: string }): void {
    this.current!.sink.warning(code, span, message, fix);
  }

  unknown(code: DiagnosticCode, what: string, ref: Ref, candidates: Iterable<string>, hint = ''): void {
    const dym = didYouMean(ref.name, candidates);
    this.error(code, ref.span, `no ${what} named '${ref.name}'${dym.text}${hint}`, dym.best ? { span: ref.span, text: dym.best } : undefined);
  }

  site(kind: RefKind, target: string, span: Span): void {
    const d = this.current!.def;
    this.current!.refs.push({ kind, target, file: d.file, span, from: { kind: d.kind, name: d.name } });
  }

  markBroken(): void {
    this.current!.errors++;
  }

  lookup<K extends Kind>(kind: K, ref: Ref): DefinitionOf<K> | undefined {
    this.site(kind, ref.name, ref.span);
    const d = this.definitions(kind).get(ref.name);
    this.current!.lookups.add(defId(kind, ref.name));
    if (!d) {
      this.current!.kindNames.add(kind); // the did-you-mean candidates
      this.unknown('unknown-reference', kind === 'Kpi' ? 'KPI' : kind.toLowerCase(), ref, this.definitions(kind).keys());
      return undefined;
    }
    this.current!.deps.add(defId(kind, ref.name));
    return d as DefinitionOf<K>;
  }

  peek<K extends Kind>(kind: K, name: string): DefinitionOf<K> | undefined {
    const d = this.definitions(kind).get(name);
    this.current!.lookups.add(defId(kind, name));
    return d as DefinitionOf<K> | undefined;
  }

  kindSet(kind: Kind): ReadonlyMap<string, Definition> {
    this.current!.kindSets.add(kind);
    return this.definitions(kind);
  }

  dependOn(kind: Kind, name: string): void {
    this.current!.deps.add(defId(kind, name));
  }

  guard<T>(d: Definition, span: Span, fallback: T, fn: (resolved: ResolvedDefinition) => T): T {
    const id = defId(d.kind, d.name);
    if (this.inProgress.has(id)) {
      this.error('cycle', span, `${this.current!.def.kind.toLowerCase()} '${this.current!.def.name}' depends on itself through ${d.kind.toLowerCase()} '${d.name}'; break the cycle`);
      this.current!.errors++;
      this.current!.cyclic = true;
      return fallback;
    }
    // Resolve the referenced definition on its own first, so its diagnostics land in its own file.
    const r = this.resolve(d);
    if (r.broken) this.current!.errors++;
    if (r.cyclic) this.current!.cyclic = true;
    return fn(r);
  }
}
