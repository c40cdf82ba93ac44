// The names of a project: which definition each `Kind:name` means, in a fixed order, and which
// names are defined more than once. The Resolver looks names up here; the Project keeps one table
// across analyses and replaces a definition in place when an edit keeps its kind and name.

import type { RawDiagnostic } from '../diagnostics.js';
import type { Definition, Kind } from '../model/types.js';

export const defId = (kind: string, name: string): string => `${kind}:${name}`;

export class NameTable {
  /**
   * Per kind (in order of first appearance), name -> the definition it means (the first one in
   * file order). Iteration order is the resolution order and the order of did-you-mean candidates.
   */
  readonly byKind = new Map<Kind, Map<string, Definition>>();
  /** Names defined more than once: which definition is meant is ambiguous, so none is usable. */
  readonly duplicated = new Set<string>();
  /** One `duplicate-name` error per later definition of a name, in definition order. */
  readonly diagnostics: RawDiagnostic[] = [];
  private diagnosticsByFile: Map<string, RawDiagnostic[]> | undefined;
  private positions: Map<string, number> | undefined;

  /** `defs` in file order (then document order). */
  constructor(defs: Iterable<Definition>) {
    for (const d of defs) {
      let m = this.byKind.get(d.kind);
      if (!m) this.byKind.set(d.kind, (m = new Map()));
      const prev = m.get(d.name);
      if (prev) {
        const msg = `another ${d.kind} is already named '${d.name}' (in ${prev.file}); names are unique within a kind`;
        this.diagnostics.push({ code: 'duplicate-name', severity: 'error', message: msg, file: d.file, span: d.nameSpan });
        this.duplicated.add(defId(d.kind, d.name));
        continue;
      }
      m.set(d.name, d);
    }
  }

  definitions(kind: Kind): ReadonlyMap<string, Definition> {
    return this.byKind.get(kind) ?? EMPTY;
  }

  get(id: string): Definition | undefined {
    const colon = id.indexOf(':');
    return this.byKind.get(id.slice(0, colon) as Kind)?.get(id.slice(colon + 1));
  }

  /** Ids in iteration order (kind by kind): a fresh analysis resolves in this order. */
  inOrder(ids: Iterable<string>): string[] {
    if (!this.positions) {
      this.positions = new Map();
      let i = 0;
      for (const [kind, m] of this.byKind) for (const name of m.keys()) this.positions.set(defId(kind, name), i++);
    }
    const pos = this.positions;
    return [...ids].filter((id) => pos.has(id)).sort((a, b) => pos.get(a)! - pos.get(b)!);
  }

  /** The duplicate-name errors written in one file. */
  diagnosticsOf(file: string): readonly RawDiagnostic[] {
    if (!this.diagnosticsByFile) {
      this.diagnosticsByFile = new Map();
      for (const d of this.diagnostics) {
        const list = this.diagnosticsByFile.get(d.file);
        if (list) list.push(d);
        else this.diagnosticsByFile.set(d.file, [d]);
      }
    }
    return this.diagnosticsByFile.get(file) ?? NONE;
  }

  /**
   * Replaces definitions in place when that gives the table a fresh build would: every old/new
   * pair has the same kind and name, and none of those names is defined twice (so each is its
   * own name's only definition and keeps its position). Returns false, changing nothing, otherwise.
   */
  replaceInPlace(pairs: readonly (readonly [Definition, Definition])[]): boolean {
    for (const [old, neu] of pairs) {
      if (old.kind !== neu.kind || old.name !== neu.name || this.duplicated.has(defId(old.kind, old.name))) return false;
      if (this.byKind.get(old.kind)?.get(old.name) !== old) return false;
    }
    for (const [, neu] of pairs) this.byKind.get(neu.kind)!.set(neu.name, neu);
    return true;
  }
}

const EMPTY: ReadonlyMap<string, Definition> = new Map();
const NONE: readonly RawDiagnostic[] = [];
