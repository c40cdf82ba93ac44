// Where is the cursor? The YAML document, the key path and whether it is on a key or a value.

import type { YDocument, YMap, YNode, YPair } from '../syntax/nodes.js';

export interface Location {
  readonly doc: number;
  readonly root: YNode | null;
  /** Keys and indexes from the document root to the innermost node at the cursor. */
  readonly path: (string | number)[];
  /** The node under the cursor (a scalar for a key or value, else the innermost collection). */
  readonly node: YNode | null;
  /** When the cursor is on (or typing) a key: that pair. */
  readonly keyOf?: YPair;
  /** When the cursor is on a value: the pair it is the value of. */
  readonly valueOf?: YPair;
  /** The innermost mapping around the cursor. */
  readonly map?: YMap;
  readonly mapPath: (string | number)[];
}

const within = (span: readonly [number, number], offset: number) => offset >= span[0] && offset <= span[1];

export function documentAt(docs: readonly YDocument[], offset: number): number {
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i]!;
    const next = docs[i + 1];
    if (!next || offset < next.span[0]) return i;
  }
  return Math.max(0, docs.length - 1);
}

export function locate(docs: readonly YDocument[], offset: number): Location {
  const doc = documentAt(docs, offset);
  const root = docs[doc]?.root ?? null;
  const path: (string | number)[] = [];
  let map: YMap | undefined;
  let mapPath: (string | number)[] = [];
  let node: YNode | null = root;
  let keyOf: YPair | undefined;
  let valueOf: YPair | undefined;
  while (node) {
    if (node.kind === 'map') {
      map = node;
      mapPath = [...path];
      const pair = node.pairs.find((p) => within(p.key.span, offset));
      if (pair) {
        path.push(String(pair.key.value));
        keyOf = pair;
        valueOf = undefined;
        node = pair.key;
        break;
      }
      const vp = node.pairs.find((p) => within(p.value.span, offset) && !(p.value.span[0] === p.value.span[1] && offset !== p.value.span[0]));
      if (!vp) break;
      path.push(String(vp.key.value));
      valueOf = vp;
      keyOf = undefined;
      node = vp.value;
      continue;
    }
    if (node.kind === 'seq') {
      const i = node.items.findIndex((it) => within(it.span, offset));
      if (i < 0) break;
      path.push(i);
      valueOf = undefined;
      node = node.items[i]!;
      continue;
    }
    break;
  }
  return { doc, root, path, node, keyOf, valueOf, map, mapPath };
}
