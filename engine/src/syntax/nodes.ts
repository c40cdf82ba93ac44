// The source tree every later stage reads: plain YAML values with their offsets.
//
// It is our own small shape, not the `yaml` package's, so that a faster subset parser and the full
// `yaml` parser can both produce it (see load-yaml.ts) and nothing downstream knows which one ran.

import type { DiagnosticCode, Span } from '../diagnostics.js';

export type YScalarValue = string | number | boolean | null;

export interface YScalar {
  readonly kind: 'scalar';
  readonly value: YScalarValue;
  /** Offsets of the scalar's source text (quotes included); for an empty value, a zero-length span. */
  readonly span: Span;
}

export interface YPair {
  readonly key: YScalar;
  readonly value: YNode;
}

export interface YMap {
  readonly kind: 'map';
  readonly pairs: YPair[];
  readonly span: Span;
}

export interface YSeq {
  readonly kind: 'seq';
  readonly items: YNode[];
  readonly span: Span;
}

export type YNode = YScalar | YMap | YSeq;

/** One YAML document of a file (`---` separates them). */
export interface YDocument {
  /** null when the document is empty. */
  readonly root: YNode | null;
  /** The document's whole extent in the file, for diagnostics about the document itself. */
  readonly span: Span;
  /** Syntax errors of this document, as offsets and messages; `code` when not `yaml-syntax`. */
  readonly errors: { span: Span; message: string; code?: DiagnosticCode }[];
}

export function getPair(map: YMap, key: string): YPair | undefined {
  for (const p of map.pairs) if (p.key.value === key) return p;
  return undefined;
}

export function getNode(map: YMap, key: string): YNode | undefined {
  return getPair(map, key)?.value;
}

/** The plain JavaScript value of a node (what ajv validates). */
export function toValue(node: YNode | null): unknown {
  if (node === null) return null;
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toValue);
    case 'map': {
      const out: Record<string, unknown> = {};
      for (const p of node.pairs) out[String(p.key.value)] = toValue(p.value);
      return out;
    }
  }
}

/** The node at a JSON pointer-like path ("/where/all/0"); the deepest existing node if it is missing. */
export function nodeAtPath(root: YNode, path: readonly (string | number)[]): { node: YNode; keyOf?: YScalar; complete: boolean } {
  let node: YNode = root;
  let keyOf: YScalar | undefined;
  for (const seg of path) {
    if (node.kind === 'map') {
      const pair = getPair(node, String(seg));
      if (!pair) return { node, keyOf, complete: false };
      keyOf = pair.key;
      node = pair.value;
    } else if (node.kind === 'seq') {
      const item = node.items[Number(seg)];
      if (!item) return { node, keyOf, complete: false };
      keyOf = undefined;
      node = item;
    } else return { node, keyOf, complete: false };
  }
  return { node, keyOf, complete: true };
}
