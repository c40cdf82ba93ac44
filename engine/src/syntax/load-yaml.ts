// YAML text -> our source tree (nodes.ts), with exact offsets and every syntax problem as an error.
//
// Two parsers produce the same YDocument[]:
//   - parseFastYaml (fast-yaml.ts): a single-pass parser for the subset definition files use. It
//     returns null for anything outside the subset, or invalid.
//   - parseYamlWithPackage (here): the `yaml` package (YAML 1.2, core schema), converted to our
//     shape. It handles everything, reports every error and warning, and never throws.
// parseYamlDocuments tries the first and falls back to the second.
//
// Conventions both follow (test/yaml-parse.test.ts checks they agree):
//   - Scalars: core-schema values (`2027-03-31` stays a string); span from the first character
//     (opening quote) to just past the last one (closing quote; trailing spaces/comments excluded).
//     Block scalars: from the `|`/`>` to the end of the last content line (trailing blank lines
//     excluded); an empty one ends after its header indicators (`|-`).
//   - Empty values: a null scalar with a zero-length span right after the `:` of the key, or right
//     after the `-` of a sequence item. (`{ a }` has no `:`: right after the key.)
//   - Block map: first key's start to the end of the last value's span; for an empty last value
//     that is right after its `:`, so child spans always lie inside their parent's span.
//     Block seq: first `-` to the end of the last item's span. Flow collections: bracket to bracket.
//   - Documents: as many as the yaml package reports (none for an empty or comments-only file).
//     A document's span is its root node's span; an empty document has a zero-length span right
//     after its `---` marker (or at the document's start when it has none). A file with no
//     document but with stream-level problems (e.g. an unknown directive) gets one empty document
//     carrying them, so that no error is lost.
//   - Aliases resolve to the anchored node (the same object, so the anchor's spans). Expansion is
//     bounded (MAX_ALIASES occurrences, MAX_ALIAS_EXPANSION nodes added when every alias is
//     expanded, as the schema stage and lowering do): past either, the alias gets an `alias-limit`
//     error at its own span and becomes an empty value, so a "billion laughs" file costs
//     milliseconds. The fast parser bails on every anchor and alias, so only this path sees them.
//   - Non-scalar keys become a string key (their source text) with the key's span, plus the error
//     "complex mapping keys are not supported".

import { Composer, Parser, isAlias, isMap, isScalar, isSeq } from 'yaml';
import type { CST, Document, Node as YamlNode, Pair, YAMLError } from 'yaml';
import type { Span } from '../diagnostics.js';
import { parseFastYaml } from './fast-yaml.js';
import type { YDocument, YNode, YPair, YScalar, YScalarValue } from './nodes.js';

/** Parses all documents of a YAML file. Never throws. */
export function parseYamlDocuments(text: string): YDocument[] {
  const fast = parseFastYaml(text);
  return fast ?? parseYamlWithPackage(text);
}

/**
 * Deeper nesting is refused before the `yaml` composer sees it: the composer recurses per level,
 * and near the stack limit V8 can abort the whole process (not throw) while compiling a RegExp.
 */
const MAX_NESTING = 256;

const OPTIONS = {
  keepSourceTokens: false,
  uniqueKeys: true,
  prettyErrors: false,
  // Forced, so that a `%YAML 1.1` directive cannot switch to the 1.1 schema (dates, binary, `yes`).
  schema: 'core',
  merge: false,
} as const;

/** At most this many alias occurrences per document. */
export const MAX_ALIASES = 1000;
/** At most this many nodes added to a document by expanding its aliases (a tree walk's cost). */
export const MAX_ALIAS_EXPANSION = 10_000;

type YError = YDocument['errors'][number];

/** The full path: the `yaml` package, converted. Exported for tests and benchmarks. Never throws. */
export function parseYamlWithPackage(text: string): YDocument[] {
  try {
    const composer = new Composer(OPTIONS);
    const docs = Array.from(composer.compose(depthChecked(new Parser().parse(text))));
    if (docs.length === 0) {
      const info = composer.streamInfo();
      const errors = [...info.errors, ...info.warnings].map((e) => convertError(e, text));
      return errors.length > 0 ? [{ root: null, span: [0, 0], errors: sortErrors(errors) }] : [];
    }
    return docs.map((doc) => new Converter(text, doc).document());
  } catch (e) {
    if (e instanceof TooDeep) {
      const at = Math.min(e.offset, text.length);
      const message = `collections are nested more than ${MAX_NESTING} levels deep`;
      return [{ root: null, span: [0, 0], errors: [{ span: [at, Math.min(at + 1, text.length)], message }] }];
    }
    const detail = e instanceof Error ? e.message.split('\n')[0] : String(e);
    return [{ root: null, span: [0, 0], errors: [{ span: [0, text.length], message: `YAML could not be parsed: ${detail}` }] }];
  }
}

class TooDeep {
  constructor(readonly offset: number) {}
}

/** Passes the CST tokens on to the composer, refusing (TooDeep) any nested too deeply. */
function* depthChecked(tokens: Iterable<CST.Token>): Generator<CST.Token> {
  for (const t of tokens) {
    const at = findExcessiveNesting(t);
    if (at >= 0) throw new TooDeep(at);
    yield t;
  }
}

/** Offset of a collection nested deeper than MAX_NESTING in a CST token, or -1. Iterative. */
function findExcessiveNesting(top: CST.Token): number {
  if (top.type !== 'document' || !top.value) return -1;
  const stack: { token: CST.Token; depth: number }[] = [{ token: top.value, depth: 1 }];
  while (stack.length > 0) {
    const { token, depth } = stack.pop()!;
    if (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection') continue;
    if (depth > MAX_NESTING) return token.offset;
    for (const item of token.items as CST.CollectionItem[]) {
      if (item.key) stack.push({ token: item.key, depth: depth + 1 });
      if (item.value) stack.push({ token: item.value, depth: depth + 1 });
    }
  }
  return -1;
}

function clampSpan(start: number, end: number, length: number): Span {
  const s = Math.max(0, Math.min(start, length));
  return [s, Math.max(s, Math.min(end, length))];
}

/** One line, without yaml's " at line L, column C" suffix and code frame (prettyErrors is off anyway). */
function cleanMessage(message: string): string {
  const firstLine = message.split(/\r?\n/, 1)[0] ?? '';
  return firstLine.replace(/\s+at line \d+, column \d+:?\s*$/, '').trim() || 'YAML syntax error';
}

function convertError(e: YAMLError, text: string): YError {
  let span = clampSpan(e.pos[0], e.pos[1], text.length);
  const message = cleanMessage(e.message).replace(/^Missing closing (["'])quote$/, 'Missing closing $1 quote');
  const escape = e.code === 'BAD_DQ_ESCAPE' ? /^Invalid escape sequence (.+)$/.exec(message) : null;
  if (escape) span = clampSpan(span[0], span[0] + escape[1]!.length, text.length);
  return { span, message };
}

function sortErrors(errors: YError[]): YError[] {
  return errors.sort((a, b) => a.span[0] - b.span[0] || a.span[1] - b.span[1]);
}

function scalarNode(value: YScalarValue, start: number, end: number): YScalar {
  return { kind: 'scalar', value, span: [start, end] };
}

/** A scalar with no source at all: an empty value (or an empty document). */
function isEmptyScalar(n: YamlNode): boolean {
  return isScalar(n) && n.range != null && n.range[0] === n.range[1];
}

class Converter {
  private readonly errors: YError[] = [];
  /** Anchor name -> latest anchored node so far, in document order (how yaml resolves aliases). */
  private readonly anchors = new Map<string, YamlNode>();
  private readonly converted = new Map<YamlNode, YNode>();
  private readonly inProgress = new Set<YamlNode>();
  /** End offset -> start offset of each quoted scalar (to place "missing closing quote" errors). */
  private readonly quotedEndingAt = new Map<number, number>();
  /** Start offset -> span of each mapping key (to place "duplicate key" errors). */
  private readonly keyAt = new Map<number, Span>();
  /** Node count of each converted node with its aliases expanded (what a tree walk visits). */
  private readonly expandedSize = new WeakMap<YNode, number>();
  private aliasCount = 0;
  private aliasExpansion = 0;
  /** Set once a limit is passed: every later alias becomes an empty value without another error. */
  private aliasLimitReached = false;

  constructor(
    private readonly text: string,
    private readonly doc: Document.Parsed,
  ) {}

  document(): YDocument {
    const { doc, text } = this;
    const contents = doc.contents as YamlNode | null;
    let root: YNode | null = null;
    let span: Span;
    if (!contents || (isEmptyScalar(contents) && (contents as { value: unknown }).value == null)) {
      span = this.emptyDocumentSpan();
    } else {
      root = this.node(contents);
      span = this.occurrence(contents, root);
    }
    for (const e of [...doc.errors, ...doc.warnings]) {
      const err = convertError(e, text);
      // yaml reports an unclosed quote where the input ends; point at the opening quote instead.
      const opening = e.code === 'MISSING_CHAR' ? this.quotedEndingAt.get(e.pos[0]) : undefined;
      if (opening !== undefined) err.span = [opening, opening + 1];
      // yaml points at the first character of a duplicate key; use the whole key and name it.
      const key = e.code === 'DUPLICATE_KEY' ? this.keyAt.get(e.pos[0]) : undefined;
      if (key) {
        err.span = key;
        const source = text.slice(key[0], key[1]);
        if (source.length <= 80 && !/[\r\n]/.test(source)) err.message = `Duplicate key ${source}: map keys must be unique`;
      }
      this.errors.push(err);
    }
    return { root, span, errors: sortErrors(this.errors) };
  }

  /** Zero-length, right after the document's `---` marker; at its start if it has none. */
  private emptyDocumentSpan(): Span {
    const { text } = this;
    const range = this.doc.range;
    const from = range[0];
    const to = Math.min(range[2], text.length);
    let i = from;
    while (i <= to - 3) {
      const m = text.indexOf('---', i);
      if (m < 0 || m > to - 3) break;
      const before = m === 0 ? 10 : text.charCodeAt(m - 1);
      const after = m + 3 >= text.length ? 10 : text.charCodeAt(m + 3);
      if ((before === 10 || before === 13) && (after === 32 || after === 9 || after === 10 || after === 13)) return [m + 3, m + 3];
      i = m + 1;
    }
    const at = Math.min(from, text.length);
    return [at, at];
  }

  private error(span: Span, message: string): void {
    this.errors.push({ span, message });
  }

  /** The span of this occurrence of a node: for an alias, the alias itself, not its anchor. */
  private occurrence(raw: YamlNode, node: YNode): Span {
    if (isAlias(raw)) {
      const r = raw.range ?? [0, 0, 0];
      return clampSpan(r[0], r[1], this.text.length);
    }
    return node.span;
  }

  private node(raw: YamlNode): YNode {
    if (isAlias(raw)) {
      const r = raw.range ?? [0, 0, 0];
      const span = clampSpan(r[0], r[1], this.text.length);
      const target = this.anchors.get(raw.source);
      if (!target) {
        this.error(span, `Unresolved alias *${raw.source}: no anchor &${raw.source} before it`);
        return scalarNode(null, span[0], span[1]);
      }
      if (this.inProgress.has(target)) {
        this.error(span, `Alias *${raw.source} refers to a collection containing it (recursive alias)`);
        return scalarNode(null, span[0], span[1]);
      }
      const node = this.converted.get(target) ?? this.node(target);
      return this.boundedAlias(raw.source, node, span);
    }
    const done = this.converted.get(raw);
    if (done) return done;
    if (raw.anchor) this.anchors.set(raw.anchor, raw);
    const r = raw.range ?? [0, 0, 0];
    let out: YNode;
    if (isScalar(raw)) {
      const end = raw.type === 'BLOCK_FOLDED' || raw.type === 'BLOCK_LITERAL' ? this.blockScalarEnd(r[0], r[1]) : r[1];
      out = scalarNode(scalarValue(raw), r[0], end);
      if (raw.type === 'QUOTE_DOUBLE' || raw.type === 'QUOTE_SINGLE') this.quotedEndingAt.set(r[1], r[0]);
    } else if (isMap(raw)) {
      this.inProgress.add(raw);
      const pairs: YPair[] = [];
      let first = r[0];
      let last = r[1];
      for (let i = 0; i < raw.items.length; i++) {
        const res = this.pair(raw.items[i] as Pair<unknown, unknown>, r[0]);
        pairs.push(res.pair);
        if (i === 0) first = res.keyStart;
        last = res.valueEnd;
      }
      this.inProgress.delete(raw);
      const span: Span = raw.flow || pairs.length === 0 ? [r[0], r[1]] : [first, last];
      out = { kind: 'map', pairs, span };
    } else if (isSeq(raw)) {
      this.inProgress.add(raw);
      const items: YNode[] = [];
      let last = r[1];
      for (const it of raw.items as unknown[]) {
        const item = it as YamlNode | null;
        if (item == null) continue; // not produced by the composer; defensive
        if (!raw.flow && isEmptyScalar(item)) {
          const at = this.afterIndicator(item.range![0], 45 /* - */);
          items.push(scalarNode(scalarValue(item), at, at));
          last = at;
        } else {
          const node = this.node(item);
          items.push(node);
          last = this.occurrence(item, node)[1];
        }
      }
      this.inProgress.delete(raw);
      const span: Span = raw.flow || items.length === 0 ? [r[0], r[1]] : [r[0], last];
      out = { kind: 'seq', items, span };
    } else {
      out = scalarNode(null, r[0], r[0]); // unknown node type; not produced with the core schema
    }
    this.converted.set(raw, out);
    this.expandedSize.set(out, this.sizeOf(out));
    return out;
  }

  /** Node count of a converted node with aliases expanded; children are always measured first. */
  private sizeOf(node: YNode): number {
    switch (node.kind) {
      case 'scalar':
        return 1;
      case 'seq': {
        let n = 1;
        for (const it of node.items) n += this.expandedSize.get(it) ?? 1;
        return n;
      }
      case 'map': {
        let n = 1;
        for (const p of node.pairs) n += 1 + (this.expandedSize.get(p.value) ?? 1);
        return n;
      }
    }
  }

  /** The alias's target, or an empty value with an `alias-limit` error once a limit is passed. */
  private boundedAlias(name: string, target: YNode, span: Span): YNode {
    if (this.aliasLimitReached) return scalarNode(null, span[0], span[1]);
    this.aliasCount++;
    this.aliasExpansion += this.expandedSize.get(target) ?? 1;
    if (this.aliasCount <= MAX_ALIASES && this.aliasExpansion <= MAX_ALIAS_EXPANSION) return target;
    this.aliasLimitReached = true;
    const message =
      this.aliasCount > MAX_ALIASES
        ? `alias *${name} is one too many: a document may use at most ${MAX_ALIASES} aliases`
        : `alias *${name} expands the document past ${MAX_ALIAS_EXPANSION} nodes (aliases of aliases multiply); write the values out or use fewer aliases`;
    this.errors.push({ span, message, code: 'alias-limit' });
    return scalarNode(null, span[0], span[1]);
  }

  private pair(p: Pair<unknown, unknown>, fallback: number): { pair: YPair; keyStart: number; valueEnd: number } {
    const rawKey = p.key as YamlNode | null;
    const rawValue = p.value as YamlNode | null;
    let key: YScalar;
    let keySpan: Span;
    if (rawKey == null) {
      const at = rawValue?.range?.[0] ?? fallback;
      key = scalarNode(null, at, at);
      keySpan = key.span;
    } else {
      const k = this.node(rawKey);
      keySpan = this.occurrence(rawKey, k);
      if (k.kind === 'scalar') key = k;
      else {
        this.error(keySpan, 'complex mapping keys are not supported');
        key = scalarNode(this.text.slice(keySpan[0], keySpan[1]), keySpan[0], keySpan[1]);
      }
    }
    this.keyAt.set(keySpan[0], keySpan);
    let value: YNode;
    let valueEnd: number;
    if (rawValue == null) {
      value = scalarNode(null, keySpan[1], keySpan[1]);
      valueEnd = keySpan[1];
    } else if (isEmptyScalar(rawValue)) {
      const at = this.afterIndicator(rawValue.range![0], 58 /* : */);
      value = scalarNode(scalarValue(rawValue), at, at);
      valueEnd = at;
    } else {
      value = this.node(rawValue);
      valueEnd = this.occurrence(rawValue, value)[1];
    }
    return { pair: { key, value }, keyStart: keySpan[0], valueEnd };
  }

  /**
   * yaml's block scalar range runs to the line break after the last (kept) line; ours ends after the
   * last non-space content character, or after the header's indicators for an empty block scalar.
   */
  private blockScalarEnd(start: number, end: number): number {
    const { text } = this;
    let headerEnd = start + 1;
    while (headerEnd < text.length && /[-+0-9]/.test(text[headerEnd]!)) headerEnd++;
    let lineEnd = text.indexOf('\n', start);
    if (lineEnd < 0) lineEnd = text.length;
    let e = Math.min(end, text.length);
    while (e > headerEnd) {
      const c = text.charCodeAt(e - 1);
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break;
      e--;
    }
    return e <= lineEnd ? headerEnd : e;
  }

  /**
   * Where an empty value goes: yaml puts it after the spaces following the indicator (or at a
   * comment); we put it right after the `:`/`-`. Kept where yaml put it if that is not found.
   */
  private afterIndicator(at: number, indicator: number): number {
    const { text } = this;
    let q = Math.min(at, text.length);
    while (q > 0) {
      const c = text.charCodeAt(q - 1);
      if (c !== 32 && c !== 9 && c !== 13) break;
      q--;
    }
    return q > 0 && text.charCodeAt(q - 1) === indicator ? q : at;
  }
}

/** Scalar values are string/number/boolean/null with the core schema; anything else -> its source. */
function scalarValue(s: YamlNode): YScalarValue {
  const v = (s as { value: unknown }).value;
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
      return v;
    case 'bigint':
      return Number(v);
    case 'undefined':
      return null;
  }
  if (v === null) return null;
  const source = (s as { source?: unknown }).source;
  return typeof source === 'string' ? source : String(v);
}
