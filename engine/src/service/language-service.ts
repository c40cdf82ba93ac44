// The language service: document + offset in, plain results out (no LSP types, no I/O).
// The language server converts offsets to positions and these results to LSP types.
//
//   const ls = new LanguageService(project, () => project.analyze({ catalog }));
//   ls.completionsAt('definitions/segments.yaml', offset)   -> [{ label: 'high_value', kind: 'reference', ... }]
//   ls.definitionAt(file, offset)                           -> [{ file, span }]

import type { Span } from '../diagnostics.js';
import { NAME_RE } from '../model/lower.js';
import { KINDS, type CampaignDef, type Definition, type EntityDef, type EventsDef, type Kind, type LifecycleDef, type ScoreDef, type TraitDef } from '../model/types.js';
import type { Analysis, Project } from '../project.js';
import type { RefKind, RefSite } from '../resolve/resolve.js';
import { findTable } from '../resolve/catalog.js';
import { bandNames } from '../resolve/bands.js';
import { getPair, type YMap, type YNode } from '../syntax/nodes.js';
import { describeDuration, parseDuration } from '../time.js';
import { locate, type Location } from './locate.js';
import { docOf, enumOf, keysOf, schemaAt } from './schema-nav.js';
import { SCHEMAS } from '../syntax/schemas.js';

export type CompletionKind = 'key' | 'value' | 'reference' | 'snippet' | 'kind' | 'property' | 'event';

export interface CompletionItem {
  readonly label: string;
  readonly kind: CompletionKind;
  readonly detail?: string;
  readonly documentation?: string;
  /** Text to insert; a snippet (with $1 placeholders) when `snippet` is true. */
  readonly insertText?: string;
  readonly snippet?: boolean;
  /** The span the insertion replaces (the partial word typed so far). */
  readonly replace?: Span;
  readonly sortText?: string;
}

export interface HoverResult {
  readonly markdown: string;
  readonly span: Span;
}

export interface SourceLocation {
  readonly file: string;
  readonly span: Span;
}

export interface SymbolInfo {
  readonly name: string;
  readonly kind: Kind | 'stage' | 'band';
  readonly file: string;
  readonly span: Span;
  readonly selectionSpan: Span;
  readonly detail?: string;
  readonly children?: SymbolInfo[];
}

export interface RenameResult {
  readonly edits?: Map<string, { span: Span; text: string }[]>;
  readonly error?: string;
}

/** A named thing that can be referenced: a definition, a lifecycle stage or a score band. */
interface Symbol {
  readonly kind: RefKind;
  readonly target: string;
}

/** Extra live figures for hovers (a segment's size, a KPI's value), supplied by the server's cache. */
export type LiveSummary = (kind: Kind, name: string) => string | undefined;

const DURATION_KEYS = new Set(['within', 'per', 'every', 'delay']);

export class LanguageService {
  constructor(
    private readonly project: Project,
    private readonly analysis: () => Analysis,
    private readonly live?: LiveSummary,
  ) {}

  private defAt(file: string, doc: number): Definition | undefined {
    return this.project.file(file)?.definitions.find((d) => d.doc === doc);
  }

  private kindOfDoc(file: string, doc: number): Kind | undefined {
    const def = this.defAt(file, doc);
    if (def) return def.kind;
    const root = this.project.file(file)?.docs[doc]?.root;
    const k = root?.kind === 'map' ? getPair(root, 'kind')?.value : undefined;
    const v = k?.kind === 'scalar' ? k.value : undefined;
    return typeof v === 'string' && (KINDS as readonly string[]).includes(v) ? (v as Kind) : undefined;
  }

  // ---- completion ------------------------------------------------------------------------------

  completionsAt(file: string, offset: number): CompletionItem[] {
    const src = this.project.file(file);
    if (!src) return [];
    const loc = locate(src.docs, offset);
    const kind = this.kindOfDoc(file, loc.doc);
    const lineStart = src.text.lastIndexOf('\n', offset - 1) + 1;
    const linePrefix = src.text.slice(lineStart, offset);
    // A new document or a bare word at column 0 of an empty document: offer one snippet per kind.
    if (!kind) {
      if (loc.keyOf?.key.value === 'kind' || /^kind:\s*\S*$/.test(linePrefix)) return this.kindValues(loc);
      return this.kindSnippets(linePrefix.trim() ? ([offset - linePrefix.trimStart().length, offset] as const) : undefined);
    }
    if (loc.valueOf || (loc.keyOf && /:\s*\S*$/.test(linePrefix))) {
      const pair = loc.valueOf ?? loc.keyOf!;
      const key = String(pair.key.value);
      const valueNode = pair.value;
      const replace: Span | undefined = valueNode.kind === 'scalar' && valueNode.span[1] > valueNode.span[0] ? valueNode.span : undefined;
      return this.valueCompletions(file, loc, kind, key, replace, loc.path);
    }
    // Inside a list under a key that holds names (exclude: [a, b], pii: [...]).
    if (loc.node?.kind === 'scalar' && typeof loc.path[loc.path.length - 1] === 'number') {
      const listKey = String(loc.path[loc.path.length - 2] ?? '');
      const replace: Span | undefined = loc.node.span[1] > loc.node.span[0] ? loc.node.span : undefined;
      return this.valueCompletions(file, loc, kind, listKey, replace, loc.path);
    }
    // Keys of the innermost mapping (or of the mapping a new line is indented into).
    const mapPath = loc.keyOf ? loc.path.slice(0, -1) : loc.mapPath;
    const map = loc.map;
    const schema = schemaAt(kind, mapPath);
    const present = new Set((map?.pairs ?? []).map((p) => String(p.key.value)));
    const replace: Span | undefined = loc.keyOf ? loc.keyOf.key.span : undefined;
    return keysOf(schema)
      .filter((k) => !present.has(k.name) || (loc.keyOf && String(loc.keyOf.key.value) === k.name))
      .map((k) => ({
        label: k.name,
        kind: 'key' as const,
        detail: k.required ? 'required' : undefined,
        documentation: k.description,
        insertText: `${k.name}: `,
        replace,
        sortText: `${k.required ? '0' : '1'}${k.name}`,
      }));
  }

  private kindValues(loc: Location): CompletionItem[] {
    const v = loc.valueOf?.value;
    const replace: Span | undefined = v && v.kind === 'scalar' && v.span[1] > v.span[0] ? v.span : undefined;
    return KINDS.map((k) => ({ label: k, kind: 'kind' as const, documentation: docOf(SCHEMAS[k]), replace }));
  }

  private kindSnippets(replace?: Span): CompletionItem[] {
    return KINDS.map((k) => ({ label: `${k.toLowerCase()} (new ${k})`, kind: 'snippet' as const, documentation: docOf(SCHEMAS[k]), insertText: SNIPPETS[k], snippet: true, replace }));
  }

  private valueCompletions(file: string, loc: Location, kind: Kind, key: string, replace: Span | undefined, path: readonly (string | number)[]): CompletionItem[] {
    const a = this.analysis();
    const names = (k: Kind, detail: string): CompletionItem[] =>
      a.ofKind(k).map((i) => ({ label: i.def.name, kind: 'reference' as const, detail: `${detail}${i.def.description ? `: ${i.def.description}` : ''}`, documentation: this.summary(i.def), replace }));
    const def = this.defAt(file, loc.doc);
    const map = loc.map;
    switch (key) {
      case 'kind':
        return this.kindValues(loc);
      case 'segment':
        return names('Segment', 'segment');
      case 'exclude':
      case 'segments': // a KPI breakdown's segments: [a, b]
        return names('Segment', 'segment');
      case 'trait':
        return names('Trait', 'trait');
      case 'kpi':
        return names('Kpi', 'KPI');
      case 'lifecycle':
        return names('Lifecycle', 'lifecycle');
      case 'score':
        return names('Score', 'score');
      case 'entity':
        return names('Entity', 'entity');
      case 'stream':
        return names('Events', 'events');
      case 'costs': // a spend KPI's cost source (`cost`, `cac`, `roas`)
        return names('Costs', 'cost source');
      case 'stage':
        return a.ofKind('Lifecycle').flatMap((i) =>
          (i.def as LifecycleDef).stages.map((s) => ({ label: `${i.def.name}.${s.name.name}`, kind: 'reference' as const, detail: `stage of ${i.def.name}`, replace })),
        );
      case 'band': {
        const traitName = map ? scalarText(getPair(map, 'trait')?.value) : undefined;
        if (traitName !== undefined) {
          // A trait's quantile bands (`bands: { quantiles: N }`).
          return a.ofKind('Trait').filter((i) => i.def.name === traitName).flatMap((i) => bandNames(i.def as TraitDef).map((b) => ({ label: b, kind: 'reference' as const, detail: `quantile band of ${i.def.name}`, replace })));
        }
        const scoreName = map ? scalarText(getPair(map, 'score')?.value) : undefined;
        const scores = a.ofKind('Score').filter((i) => !scoreName || i.def.name === scoreName);
        return scores.flatMap((i) => bandNames(i.def as ScoreDef).map((b) => ({ label: b, kind: 'reference' as const, detail: `band of ${i.def.name}`, replace })));
      }
      case 'attribute':
        return this.attributeItems(a, def, replace);
      case 'event':
        return this.eventTypeItems(a, map, replace);
      case 'property':
      case 'sum':
      case 'avg':
      case 'min':
      case 'max':
      case 'last':
      case 'first':
        return this.propertyItems(a, map, key, replace);
      case 'pii':
        return def?.kind === 'Entity' ? this.attributeItems(a, def, replace) : [];
    }
    // A sync's references: the campaign and its variant, the fields by name, the destination.
    if (kind === 'Sync') {
      switch (key) {
        case 'campaign':
          return names('Campaign', 'campaign');
        case 'variant': {
          const campaignName = map ? scalarText(getPair(map, 'campaign')?.value) : undefined;
          return a
            .ofKind('Campaign')
            .filter((i) => i.def.name === campaignName)
            .flatMap((i) => (i.def as CampaignDef).variants.map((v) => ({ label: v.name.name, kind: 'reference' as const, detail: `variant of ${i.def.name}${v.holdout ? ' (holdout)' : ''}`, replace })));
        }
        case 'destination':
          return names('Destination', 'destination');
        case 'traits':
          return names('Trait', 'trait');
        case 'scores':
          return names('Score', 'score');
        case 'attributes':
          return this.attributeItems(a, def, replace);
      }
    }
    const schema = schemaAt(kind, path);
    const values = enumOf(schema);
    if (values.length) return values.map((v) => ({ label: v, kind: 'value' as const, replace }));
    if (schema?.type === 'boolean') return ['true', 'false'].map((v) => ({ label: v, kind: 'value' as const, replace }));
    if (DURATION_KEYS.has(key)) return ['1d', '7d', '14d', '30d', '90d', '365d'].map((v) => ({ label: v, kind: 'value' as const, detail: describeDuration(parseDuration(v)!), replace }));
    return [];
  }

  private entityOf(a: Analysis, def: Definition | undefined): EntityDef | undefined {
    const entities = a.ofKind('Entity');
    const ref = def && 'entity' in def ? (def as { entity?: { name: string } }).entity : undefined;
    if (def?.kind === 'Entity') return def;
    if (ref) return entities.find((e) => e.def.name === ref.name)?.def as EntityDef | undefined;
    return entities.length === 1 ? (entities[0]!.def as EntityDef) : undefined;
  }

  private attributeItems(a: Analysis, def: Definition | undefined, replace: Span | undefined): CompletionItem[] {
    const entity = this.entityOf(a, def);
    if (!entity) return [];
    const out = new Map<string, CompletionItem>();
    for (const attr of entity.attributes.values())
      out.set(attr.name, { label: attr.name, kind: 'property', detail: `${attr.type ?? 'attribute'}${attr.column !== attr.name ? ` (column ${attr.column})` : ''}`, replace });
    const catalog = this.catalog();
    const table = catalog ? findTable(catalog, entity.table.schema, entity.table.name) : undefined;
    for (const c of table?.columns.values() ?? []) if (!out.has(c.name)) out.set(c.name, { label: c.name, kind: 'property', detail: `${c.pgType} (column)`, replace });
    return [...out.values()];
  }

  private streamIn(a: Analysis, map: YMap | undefined): EventsDef | undefined {
    const streams = a.ofKind('Events').map((i) => i.def as EventsDef);
    const name = map ? scalarText(getPair(map, 'stream')?.value) : undefined;
    if (name) return streams.find((s) => s.name === name);
    const typed = streams.filter((s) => s.type);
    return typed.length === 1 ? typed[0] : streams.length === 1 ? streams[0] : undefined;
  }

  private eventTypeItems(a: Analysis, map: YMap | undefined, replace: Span | undefined): CompletionItem[] {
    const stream = this.streamIn(a, map);
    const seen = new Map<string, CompletionItem>();
    for (const t of (stream && this.catalog()?.eventTypes.get(stream.name)) ?? []) seen.set(t, { label: t, kind: 'event', detail: `event type in ${stream!.name} (live data)`, replace });
    // Offline (or not yet in the data): event types the project already uses.
    for (const r of a.refs) {
      if (r.kind !== 'event-type') continue;
      const [s, t] = splitTarget(r.target);
      if (stream && s !== stream.name) continue;
      if (!seen.has(t)) seen.set(t, { label: t, kind: 'event', detail: 'event type used in this project', replace });
    }
    return [...seen.values()];
  }

  private propertyItems(a: Analysis, map: YMap | undefined, key: string, replace: Span | undefined): CompletionItem[] {
    const stream = this.streamIn(a, map);
    if (!stream) return [];
    const out = new Map<string, CompletionItem>();
    const numeric = key === 'sum' || key === 'avg';
    if (key === 'last' || key === 'first' || key === 'min' || key === 'max' || key === 'property') out.set('time', { label: 'time', kind: 'property', detail: 'the event time', replace });
    for (const [name, t] of stream.propertyTypes) if (!numeric || t.type === 'number') out.set(name, { label: name, kind: 'property', detail: `${t.type} property`, replace });
    for (const c of stream.columns.values()) if (!numeric || c.type === 'number') out.set(c.name, { label: c.name, kind: 'property', detail: `${c.type ?? ''} column`.trim(), replace });
    if (!numeric) for (const k of this.catalog()?.propertyKeys.get(stream.name) ?? []) if (!out.has(k)) out.set(k, { label: k, kind: 'property', detail: 'property seen in live data', replace });
    return [...out.values()];
  }

  private catalog() {
    return this.catalogProvider?.();
  }

  /** Set by the host: the live catalog, when connected. */
  catalogProvider?: () => import('../resolve/catalog.js').Catalog | undefined;

  /** Set by the host: the instant T the editor shows figures at (its as-of); undefined is now. */
  asOfProvider?: () => Date | undefined;

  // ---- symbols at a position -------------------------------------------------------------------

  /** The symbol (and the exact span of its name) at an offset: a reference or a declaration. */
  private symbolAt(file: string, offset: number): { symbol: Symbol; span: Span } | undefined {
    const a = this.analysis();
    for (const r of a.refs) if (r.file === file && offset >= r.span[0] && offset <= r.span[1]) return { symbol: { kind: r.kind, target: r.target }, span: r.span };
    for (const d of this.project.file(file)?.definitions ?? []) {
      if (offset >= d.nameSpan[0] && offset <= d.nameSpan[1]) return { symbol: { kind: d.kind, target: d.name }, span: nameOnly(d.nameSpan, d.name) };
      if (d.kind === 'Lifecycle')
        for (const s of d.stages) if (offset >= s.name.span[0] && offset <= s.name.span[1]) return { symbol: { kind: 'stage', target: `${d.name}.${s.name.name}` }, span: s.name.span };
      if (d.kind === 'Score')
        for (const b of d.bands) if (offset >= b.name.span[0] && offset <= b.name.span[1]) return { symbol: { kind: 'band', target: `${d.name}.${b.name.name}` }, span: b.name.span };
    }
    return undefined;
  }

  /** Where a symbol is declared. */
  private declaration(sym: Symbol): SourceLocation | undefined {
    const a = this.analysis();
    if (sym.kind === 'stage' || sym.kind === 'band') {
      const [owner, name] = splitTarget(sym.target);
      const def = a.get(sym.kind === 'stage' ? 'Lifecycle' : 'Score', owner)?.def;
      if (def?.kind === 'Lifecycle') {
        const s = def.stages.find((x) => x.name.name === name);
        return s && { file: def.file, span: s.name.span };
      }
      if (def?.kind === 'Score') {
        if (def.quantiles) return { file: def.file, span: def.quantiles.span };
        const b = def.bands.find((x) => x.name.name === name);
        return b && { file: def.file, span: b.name.span };
      }
      return undefined;
    }
    if (sym.kind === 'attribute') {
      const [entity, attr] = splitTarget(sym.target);
      const def = a.get('Entity', entity)?.def as EntityDef | undefined;
      const decl = def?.attributes.get(attr);
      return def && { file: def.file, span: decl ? decl.span : def.table.span };
    }
    if (sym.kind === 'property') {
      const [stream, prop] = splitTarget(sym.target);
      const def = a.get('Events', stream)?.def as EventsDef | undefined;
      if (!def) return undefined;
      const span = def.propertyTypes.get(prop)?.span ?? def.columns.get(prop)?.span ?? (prop === 'time' ? def.time.span : undefined);
      return span && { file: def.file, span };
    }
    if (sym.kind === 'event-type') return undefined;
    const def = a.get(sym.kind as Kind, sym.target)?.def;
    return def && { file: def.file, span: nameOnly(def.nameSpan, def.name) };
  }

  definitionAt(file: string, offset: number): SourceLocation[] {
    const at = this.symbolAt(file, offset);
    if (!at) return [];
    const d = this.declaration(at.symbol);
    return d ? [d] : [];
  }

  referencesAt(file: string, offset: number, includeDeclaration = true): SourceLocation[] {
    const at = this.symbolAt(file, offset);
    if (!at) return [];
    const out: SourceLocation[] = [];
    if (includeDeclaration) {
      const d = this.declaration(at.symbol);
      if (d) out.push(d);
    }
    for (const r of this.sites(at.symbol)) out.push({ file: r.file, span: r.span });
    return out;
  }

  private sites(sym: Symbol): RefSite[] {
    // A reference site is recorded once per use; resolution may visit a shared definition once.
    const seen = new Set<string>();
    return this.analysis().refs.filter((r) => {
      if (r.kind !== sym.kind || r.target !== sym.target) return false;
      const k = `${r.file}:${r.span[0]}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  prepareRename(file: string, offset: number): { span: Span; placeholder: string } | { error: string } {
    const at = this.symbolAt(file, offset);
    if (!at) return { error: 'nothing to rename here: put the cursor on a definition, stage or band name, or a reference to one' };
    if (at.symbol.kind === 'attribute' || at.symbol.kind === 'event-type' || at.symbol.kind === 'property')
      return { error: `a${at.symbol.kind === 'attribute' ? 'n attribute' : at.symbol.kind === 'event-type' ? 'n event type' : ' property'} names data in the warehouse; rename it there (and in the Entity/Events mapping)` };
    const [owner, last] = at.symbol.kind === 'stage' || at.symbol.kind === 'band' ? splitTarget(at.symbol.target) : ['', at.symbol.target];
    if (at.symbol.kind === 'band' && (this.analysis().get('Score', owner)?.def as ScoreDef | undefined)?.quantiles)
      return { error: 'quantile bands are named q1 … qN by their number; change `bands: { quantiles: N }` instead' };
    return { span: at.span, placeholder: last };
  }

  renameAt(file: string, offset: number, newName: string): RenameResult {
    const prep = this.prepareRename(file, offset);
    if ('error' in prep) return { error: prep.error };
    if (!NAME_RE.test(newName)) return { error: `'${newName}' is not a valid name: a lowercase letter first, then lowercase letters, digits or _ (at most 63)` };
    const at = this.symbolAt(file, offset)!;
    const sym = at.symbol;
    const a = this.analysis();
    if (sym.kind !== 'stage' && sym.kind !== 'band' && a.get(sym.kind as Kind, newName)) return { error: `a ${String(sym.kind).toLowerCase()} named '${newName}' already exists` };
    const edits = new Map<string, { span: Span; text: string }[]>();
    const add = (f: string, span: Span) => {
      const list = edits.get(f) ?? [];
      if (!list.some((e) => e.span[0] === span[0])) list.push({ span, text: newName });
      edits.set(f, list);
    };
    const decl = this.declaration(sym);
    if (decl) add(decl.file, decl.span);
    for (const r of this.sites(sym)) add(r.file, r.span);
    return { edits };
  }

  // ---- hover -----------------------------------------------------------------------------------

  hoverAt(file: string, offset: number): HoverResult | undefined {
    const src = this.project.file(file);
    if (!src) return undefined;
    const at = this.symbolAt(file, offset);
    if (at) {
      const md = this.symbolMarkdown(at.symbol);
      if (md) return { markdown: md, span: at.span };
    }
    const loc = locate(src.docs, offset);
    const kind = this.kindOfDoc(file, loc.doc);
    if (loc.keyOf && kind) {
      const doc = docOf(schemaAt(kind, loc.path));
      if (doc) return { markdown: `**${String(loc.keyOf.key.value)}**\n\n${doc}`, span: loc.keyOf.key.span };
    }
    if (loc.valueOf && loc.node?.kind === 'scalar') {
      const key = String(loc.valueOf.key.value);
      const text = scalarText(loc.node);
      const d = text && DURATION_KEYS.has(key) ? parseDuration(text) : undefined;
      if (d) {
        const asOf = this.asOfProvider?.();
        const t = asOf ?? new Date();
        const from = new Date(t.getTime() - d.ms);
        return {
          markdown: `**${describeDuration(d)}**: the window (T − ${d.text}, T]. As of ${asOf ? fmt(asOf) : 'now'}: ${fmt(from)} (excluded) to ${fmt(t)} (included).`,
          span: loc.node.span,
        };
      }
      if (key === 'kind' && text && (KINDS as readonly string[]).includes(text)) return { markdown: docOf(SCHEMAS[text as Kind]), span: loc.node.span };
      if (kind) {
        const doc = docOf(schemaAt(kind, loc.path));
        if (doc) return { markdown: `**${key}**\n\n${doc}`, span: loc.node.span };
      }
    }
    return undefined;
  }

  private symbolMarkdown(sym: Symbol): string | undefined {
    const a = this.analysis();
    if (sym.kind === 'stage' || sym.kind === 'band') {
      const [owner, name] = splitTarget(sym.target);
      return `**${sym.kind} ${name}** of ${sym.kind === 'stage' ? 'lifecycle' : 'score'} \`${owner}\``;
    }
    if (sym.kind === 'attribute') {
      const [entity, attr] = splitTarget(sym.target);
      const def = a.get('Entity', entity)?.def as EntityDef | undefined;
      const decl = def?.attributes.get(attr);
      const col = decl ? decl.column : attr;
      const catalogCol = def && this.catalog() ? findTable(this.catalog()!, def.table.schema, def.table.name)?.columns.get(col) : undefined;
      return `**attribute ${attr}** of \`${entity}\`: column \`${col}\`${decl?.type ? `, ${decl.type}` : catalogCol ? `, ${catalogCol.pgType}` : ''}${def?.pii.some((p) => p.name === attr) ? ' (PII, masked in previews)' : ''}`;
    }
    if (sym.kind === 'event-type') {
      const [stream, t] = splitTarget(sym.target);
      return `**event ${t}** in \`${stream}\``;
    }
    if (sym.kind === 'property') {
      const [stream, p] = splitTarget(sym.target);
      const def = a.get('Events', stream)?.def as EventsDef | undefined;
      const t = def?.propertyTypes.get(p)?.type ?? def?.columns.get(p)?.type ?? (p === 'time' ? 'timestamp' : 'string');
      return `**property ${p}** of \`${stream}\`: ${t}`;
    }
    const def = a.get(sym.kind as Kind, sym.target)?.def;
    return def ? this.summary(def) : undefined;
  }

  /** A definition's summary in markdown, with live figures when the host has them. */
  summary(def: Definition): string {
    const lines = [`**${def.kind} ${def.name}** v${def.version}${def.owner ? ` · owner ${def.owner}` : ''}`];
    if (def.description) lines.push('', def.description);
    const live = this.live?.(def.kind, def.name);
    if (live) lines.push('', live);
    lines.push('', `_${def.file}_`);
    return lines.join('\n');
  }

  // ---- symbols ---------------------------------------------------------------------------------

  documentSymbols(file: string): SymbolInfo[] {
    const src = this.project.file(file);
    if (!src) return [];
    return src.definitions.map((d) => this.symbolOf(d, src.docs[d.doc]?.span ?? d.node.span));
  }

  private symbolOf(d: Definition, span: Span): SymbolInfo {
    const children: SymbolInfo[] = [];
    if (d.kind === 'Lifecycle') for (const s of d.stages) children.push({ name: s.name.name, kind: 'stage', file: d.file, span: s.span, selectionSpan: s.name.span });
    if (d.kind === 'Score') for (const b of d.bands) children.push({ name: b.name.name, kind: 'band', file: d.file, span: b.span, selectionSpan: b.name.span });
    return { name: d.name, kind: d.kind, file: d.file, span, selectionSpan: nameOnly(d.nameSpan, d.name), detail: d.description ?? d.kind, ...(children.length ? { children } : {}) };
  }

  workspaceSymbols(query: string): SymbolInfo[] {
    const q = query.toLowerCase();
    const out: SymbolInfo[] = [];
    for (const i of this.analysis().infos) {
      if (q && !fuzzy(i.def.name, q)) continue;
      const src = this.project.file(i.def.file);
      out.push(this.symbolOf(i.def, src?.docs[i.def.doc]?.span ?? i.def.node.span));
      if (out.length >= 500) break;
    }
    return out;
  }
}

function scalarText(n: YNode | undefined): string | undefined {
  return n && n.kind === 'scalar' && n.value !== null ? String(n.value) : undefined;
}

function splitTarget(t: string): [string, string] {
  const i = t.indexOf('.');
  return i < 0 ? [t, ''] : [t.slice(0, i), t.slice(i + 1)];
}

/** The name's own characters (a quoted name's span includes its quotes). */
function nameOnly(span: Span, name: string): Span {
  return span[1] - span[0] === name.length + 2 ? [span[0] + 1, span[1] - 1] : span;
}

function fuzzy(name: string, q: string): boolean {
  let i = 0;
  for (const c of name.toLowerCase()) if (c === q[i]) i++;
  return i === q.length;
}

function fmt(d: Date): string {
  return d.toISOString().slice(0, 16).replace('T', ' ');
}

/** One skeleton per kind for "new definition" (LSP snippet syntax). */
export const SNIPPETS: Record<Kind, string> = {
  Entity: 'kind: Entity\nname: ${1:customer}\nversion: 1\ndescription: ${2:A customer account}\ntable: ${3:customers}\nkey: ${4:id}\ncreated_at: ${5:created_at}\nattributes:\n  ${6:country}: { type: ${7:string} }\npii: [${8:email}]\n',
  Events: 'kind: Events\nname: ${1:events}\nversion: 1\nentity: ${2:customer}\ntable: ${3:events}\nentity_key: ${4:customer_id}\ntime: ${5:occurred_at}\ntype: ${6:event_name}\nproperties: ${7:properties}\nproperty_types: { ${8:amount}: number }\n',
  Segment: 'kind: Segment\nname: ${1:name}\nversion: 1\ndescription: ${2:Who this is}\nwhere:\n  all:\n    - { attribute: ${3:country}, in: [${4:DE}] }\n    - { event: ${5:purchase}, within: ${6:30d} }\n',
  Trait: 'kind: Trait\nname: ${1:name}\nversion: 1\ndescription: ${2:What it measures}\ntype: number\ncompute: { event: ${3:purchase}, ${4:sum}: ${5:amount} }\n',
  Score: 'kind: Score\nname: ${1:health}\nversion: 1\ndescription: ${2:0-100}\ncomponents:\n  - { trait: ${3:trait}, weight: 1, from: 0, to: ${4:10} }\nbands:\n  - { name: healthy, gte: 70 }\n  - { name: neutral, gte: 40 }\n  - { name: at_risk }\n',
  Lifecycle: 'kind: Lifecycle\nname: ${1:customer_lifecycle}\nversion: 1\nstages:\n  - { name: new, where: { attribute: ${2:signed_up_at}, within: 7d } }\n  - { name: churned, where: { not: { stream: ${3:events}, within: 90d } } }\n  - { name: active }\n',
  Kpi: 'kind: Kpi\nname: ${1:name}\nversion: 1\nowner: ${2:team}\ndescription: ${3:What it measures and why}\nfunnel: ${4|acquisition,activation,retention,revenue,referral|}\nmetric:\n  ${5:active}: { ${6:stream}: ${7:events}, within: 30d }\ntarget: { gte: ${8:0}, by: ${9:2027-03-31}, baseline: { value: ${10:0}, on: ${11:2026-10-01} } }\nguardrail: { gte: ${12:0} }\n',
  Campaign: 'kind: Campaign\nname: ${1:name}\nversion: 1\naudience: { segment: ${2:segment} }\nchannel: ${3|email,sms,push,in_app,webhook|}\nschedule: { start: ${4:2027-01-05} }\nentry: once\nvariants:\n  - { name: control, weight: 10, holdout: true }\n  - { name: treatment, weight: 90 }\ngoal: { event: ${5:purchase}, within: 14d }\n',
  Test: 'kind: Test\nname: ${1:name}\nversion: 1\nsubject: { segment: ${2:segment} }\nas_of: ${3:2026-06-01T00:00:00Z}\ngiven:\n  customers: [ { id: 1, created_at: 2025-01-01 } ]\n  events: []\nexpect: { members: [1] }\n',
  Cohort: 'kind: Cohort\nname: ${1:weekly_signup_retention}\nversion: 1\ndescription: ${2:Who comes back, by signup week}\ncohort: { attribute: ${3:signed_up_at}, every: ${4|week,month|}, count: ${5:12} }\nreturn: { event: ${6:login} }\nreturns: { weeks: ${7:12} }\n',
  Costs: 'kind: Costs\nname: ${1:marketing_costs}\nversion: 1\ndescription: ${2:Marketing spend by day and channel}\ntable: ${3:marketing_costs}\ntime: ${4:spent_on}\namount: ${5:amount}\nchannel: ${6:channel}\n',
  Destination: 'kind: Destination\nname: ${1:crm_webhook}\nversion: 1\ndescription: ${2:Where audiences are delivered}\nwebhook:\n  url: ${3:https://hooks.example.com/tally}\n  secret_env: ${4:CRM_WEBHOOK_SECRET}\n  batch_size: 500\n  max_attempts: 5\n',
  Sync: 'kind: Sync\nname: ${1:dormant_to_crm}\nversion: 1\ndescription: ${2:Keep the CRM audience in sync}\nsource: { segment: ${3:segment} }\nfields:\n  attributes: [${4:email}]\nmode: ${5|mirror,upsert,add_only|}\ndestination: ${6:crm_webhook}\n',
  Funnel: 'kind: Funnel\nname: ${1:onboarding}\nversion: 1\ndescription: ${2:From signup to a repeat purchase}\nwithin: ${3:90d}\nsteps:\n  - { name: signed_up, event: ${4:signup} }\n  - { name: activated, event: ${5:login}, within: 7d }\n  - { name: purchased, event: ${6:purchase}, within: 14d }\n',
};
