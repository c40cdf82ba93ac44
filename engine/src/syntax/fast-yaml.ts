// A hand-written, single-pass parser for the YAML subset definition files actually use.
//
// It exists for speed only: `parseYamlDocuments` (load-yaml.ts) tries it first and falls back to the
// full `yaml` package whenever it returns null. So the contract is strict: for every input it either
// returns exactly what the `yaml`-package path would return (same documents, values, spans, and no
// errors) or it returns null ("bail out"). It never reports errors itself: anything unusual, invalid
// or merely ambiguous is a bail-out, and the full parser produces the diagnostics.
//
// The subset:
//   - `---` document starts (nothing else on the line but a comment) and `...` document ends
//   - comments: full-line (any indentation) and trailing (` #`)
//   - block mappings with plain or quoted single-line keys; block sequences (`- `), including compact
//     forms (`- key: v`, `- - x`) and a sequence at the same indentation as its parent key
//   - flow mappings and flow sequences, nested, on one line or spread over several lines
//   - plain scalars on one line, typed like the yaml package's YAML 1.2 core schema
//   - single-quoted ('' escape) and double-quoted (backslash escapes) scalars on one line
//   - empty values (`key:` / `-` with nothing after them) => null
//   - LF and CRLF line endings
//   - literal and folded block scalars (`|`, `|-`, `>`, `>-`) whose content lines all share one
//     indentation and have no trailing spaces
// Bails on: tabs and other control characters anywhere, a BOM, NEL/LS/PS, anchors `&`, aliases `*`,
// tags `!`, other block scalars (`|+`, `>2`, more-indented or leading blank lines, empty ones,
// content at column 0), comment lines at column 0 inside a flow collection, directives `%`, reserved `@` and backtick, explicit keys `?`,
// multi-line plain or quoted scalars (including escaped line breaks), duplicate keys, keys longer
// than 1000 characters, empty flow entries or flow-map values, `{ a }` keys without `:`, pairs
// inside flow sequences (`[a: 1]`), collections used as keys, content after `---` on its line,
// `...` not closing a document, a `---`/`...` look-alike at column 0, nesting deeper than 64 levels,
// and every indentation or syntax error.
//
// Span rules (shared with the yaml-package path, see load-yaml.ts):
//   - scalar: first to just past the last character (quotes included; trailing spaces/comments not);
//     block scalar: from the `|`/`>` to the end of its last content line
//   - empty value: zero-length, right after the `:` of its key, or right after the `-` of its item
//   - block map: first key's start to the end of the last value's span (for an empty last value that
//     is the offset right after its `:`, so every child span lies inside its parent's span)
//   - block seq: first `-` to the end of the last item's span; flow map/seq: `{`/`[` to past `}`/`]`
//   - document: its root node's span; an empty document: zero-length, right after its `---` marker

import type { YDocument, YMap, YNode, YPair, YScalar, YScalarValue, YSeq } from './nodes.js';

const LF = 10;
const CR = 13;
const SP = 32;
const BANG = 33;
const DQ = 34;
const HASH = 35;
const PERCENT = 37;
const AMP = 38;
const SQ = 39;
const STAR = 42;
const PLUS = 43;
const COMMA = 44;
const DASH = 45;
const DOT = 46;
const COLON = 58;
const GT = 62;
const QMARK = 63;
const AT = 64;
const LBRACK = 91;
const BSLASH = 92;
const RBRACK = 93;
const BTICK = 96;
const LBRACE = 123;
const PIPE = 124;
const RBRACE = 125;

const MAX_DEPTH = 64;
/** yaml requires an implicit key's `:` within 1024 characters of the key's start; stay well inside. */
const MAX_KEY_LENGTH = 1000;

/** Thrown (never escapes parseFastYaml) to abandon the fast path. Not an Error: no stack capture. */
const BAIL = { bail: true } as const;
function bail(): never {
  throw BAIL;
}

/**
 * Parses `text` if it is entirely inside the supported subset and valid; returns null otherwise.
 * A non-null result is identical to what the full (yaml package) path returns for the same text.
 */
export function parseFastYaml(text: string): YDocument[] | null {
  if (!charactersOk(text)) return null;
  try {
    return new FastParser(text).parseStream();
  } catch {
    // BAIL, or anything unexpected (e.g. a stack overflow): the full parser takes over.
    return null;
  }
}

/** No control characters other than LF and CRLF, no tabs, BOM, NEL, LS, PS or non-characters. */
function charactersOk(text: string): boolean {
  const len = text.length;
  for (let i = 0; i < len; i++) {
    const c = text.charCodeAt(i);
    if (c < SP) {
      if (c === LF) continue;
      if (c === CR && text.charCodeAt(i + 1) === LF) continue;
      return false;
    }
    if (c >= 0x7f) {
      if (c <= 0x9f || c === 0xfeff || c === 0x2028 || c === 0x2029 || c === 0xfffe || c === 0xffff) return false;
    }
  }
  return true;
}

// ---- scalar typing: the yaml package's YAML 1.2 core schema, tested in the package's order -------

const INT_OCT = /^0o[0-7]+$/;
const INT = /^[-+]?[0-9]+$/;
const INT_HEX = /^0x[0-9a-fA-F]+$/;
const FLOAT_NAN_INF = /^(?:[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const FLOAT_EXP = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)[eE][-+]?[0-9]+$/;
const FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)$/;

/** The value of a (non-empty) plain scalar, exactly as the yaml package resolves it. */
export function resolvePlainScalar(s: string): YScalarValue {
  const c = s.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === DASH || c === PLUS || c === DOT) {
    // Same tests and the same conversion functions as yaml's core schema (parseInt, parseFloat).
    if (INT_OCT.test(s)) return parseInt(s.substring(2), 8);
    if (INT.test(s)) return parseInt(s, 10);
    if (INT_HEX.test(s)) return parseInt(s.substring(2), 16);
    if (FLOAT_NAN_INF.test(s)) {
      return s.slice(-3).toLowerCase() === 'nan' ? NaN : s.charCodeAt(0) === DASH ? -Infinity : Infinity;
    }
    if (FLOAT_EXP.test(s) || FLOAT.test(s)) return parseFloat(s);
    return s;
  }
  switch (s) {
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
  }
  return s;
}

function scalar(value: YScalarValue, start: number, end: number): YScalar {
  return { kind: 'scalar', value, span: [start, end] };
}

/**
 * Bails on a key equal (===, as yaml's uniqueKeys compares scalars) to an earlier one. Small maps
 * scan; large ones use a Set (which also equates NaN keys: a harmless extra bail-out).
 */
function checkDuplicate(pairs: YPair[], kv: YScalarValue, seen: Set<YScalarValue> | null): Set<YScalarValue> | null {
  const n = pairs.length;
  if (n < 16) {
    for (let i = 0; i < n; i++) if (pairs[i]!.key.value === kv) bail();
    return null;
  }
  if (seen === null) {
    seen = new Set();
    for (let i = 0; i < n; i++) seen.add(pairs[i]!.key.value);
  }
  if (seen.has(kv)) bail();
  seen.add(kv);
  return seen;
}

function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102);
}

function isFlowIndicator(c: number): boolean {
  return c === COMMA || c === LBRACK || c === RBRACK || c === LBRACE || c === RBRACE;
}

class FastParser {
  private readonly text: string;
  private readonly len: number;
  /** Current offset. Between nodes it is the start of the current content line. */
  private pos = 0;
  /** Indentation of the content line at `pos`; -1 at the end of input or on a `---`/`...` line. */
  private lineIndent = -1;
  private depth = 0;
  // Results of the plain-scalar scanners (fields instead of tuples: no allocation per scalar).
  private scanEnd = 0;
  private scanColon = -1;

  constructor(text: string) {
    this.text = text;
    this.len = text.length;
  }

  private code(p: number): number {
    return this.text.charCodeAt(p);
  }

  /** True at the end of input or of a line. */
  private atEol(p: number): boolean {
    if (p >= this.len) return true;
    const c = this.text.charCodeAt(p);
    return c === LF || c === CR;
  }

  private wsOrEol(p: number): boolean {
    if (p >= this.len) return true;
    const c = this.text.charCodeAt(p);
    return c === SP || c === LF || c === CR;
  }

  private skipSpaces(p: number): number {
    while (this.text.charCodeAt(p) === SP) p++;
    return p;
  }

  /** A `---` or `...` marker at offset p (which is at column 0). */
  private markerAt(p: number): boolean {
    const c = this.code(p);
    if (c !== DASH && c !== DOT) return false;
    return this.code(p + 1) === c && this.code(p + 2) === c && this.wsOrEol(p + 3);
  }

  // ---- lines ----------------------------------------------------------------------------------

  /** From a line start, skips blank and comment lines; sets lineIndent for the content line found. */
  private skipToContentLine(): void {
    const text = this.text;
    const len = this.len;
    let pos = this.pos;
    while (pos < len) {
      let p = pos;
      while (text.charCodeAt(p) === SP) p++;
      if (p >= len) break;
      const c = text.charCodeAt(p);
      if (c === LF) {
        pos = p + 1;
        continue;
      }
      if (c === CR) {
        pos = p + 2;
        continue;
      }
      if (c === HASH) {
        const nl = text.indexOf('\n', p);
        if (nl < 0) break;
        pos = nl + 1;
        continue;
      }
      this.pos = pos;
      if (p === pos && (c === DASH || c === DOT)) {
        if (this.markerAt(p)) {
          this.lineIndent = -1;
          return;
        }
        // `---x`, `...x`: legal plain scalars, but not worth the doubt.
        if (text.charCodeAt(p + 1) === c && text.charCodeAt(p + 2) === c) bail();
      }
      this.lineIndent = p - pos;
      return;
    }
    this.pos = len;
    this.lineIndent = -1;
  }

  /** After a token: only spaces and a comment may follow on the line; moves to the next content line. */
  private endLine(): void {
    const text = this.text;
    let p = this.skipSpaces(this.pos);
    if (p < this.len) {
      const c = text.charCodeAt(p);
      if (c === HASH) {
        if (p === this.pos) bail(); // `#` must be separated from the token by a space
        const nl = text.indexOf('\n', p);
        p = nl < 0 ? this.len : nl + 1;
      } else if (c === LF) p++;
      else if (c === CR) p += 2;
      else bail();
    }
    this.pos = p;
    this.skipToContentLine();
  }

  // ---- documents ----------------------------------------------------------------------------

  parseStream(): YDocument[] {
    const docs: YDocument[] = [];
    this.pos = 0;
    this.skipToContentLine();
    while (this.pos < this.len) {
      const p = this.pos;
      if (this.lineIndent === -1) {
        // A marker line at column 0.
        if (this.code(p) === DOT) bail(); // `...` with no open document
        this.pos = p + 3;
        this.endLine();
        if (this.pos >= this.len || this.lineIndent === -1) {
          if (this.pos < this.len && this.code(this.pos) === DOT) bail(); // `---` then `...`
          docs.push({ root: null, span: [p + 3, p + 3], errors: [] });
          continue;
        }
      } else if (docs.length > 0) bail(); // a bare document after `...`
      const root = this.parseRoot();
      docs.push({ root, span: root.span, errors: [] });
      if (this.pos < this.len && this.code(this.pos) === DOT) {
        // `...` ends the document; only a new `---` document (or the end) may follow.
        this.pos += 3;
        this.endLine();
        if (this.pos < this.len && (this.lineIndent !== -1 || this.code(this.pos) !== DASH)) bail();
      }
    }
    return docs;
  }

  private parseRoot(): YNode {
    const indent = this.lineIndent;
    this.pos += indent;
    const node = this.parseBlockNode(indent, -1);
    if (this.lineIndent !== -1) bail(); // leftover content (or a multi-line plain scalar)
    return node;
  }

  // ---- block context ------------------------------------------------------------------------

  /**
   * A node starting at `pos` (column `col`) in block context, inside a block collection indented
   * `parentIndent`. Returns with `pos` at the start of the next content line.
   */
  private parseBlockNode(col: number, parentIndent: number): YNode {
    if (++this.depth > MAX_DEPTH) bail();
    const pos = this.pos;
    if (pos >= this.len) bail();
    const c = this.code(pos);
    let node: YNode;
    if (c === DASH && this.wsOrEol(pos + 1)) {
      node = this.parseBlockSeq(col);
    } else if (c === LBRACK || c === LBRACE) {
      node = c === LBRACK ? this.parseFlowSeq(parentIndent, 1) : this.parseFlowMap(parentIndent, 1);
      this.endLine(); // bails on `[a]: b` (a collection as key)
    } else if (c === PIPE || c === GT) {
      node = this.parseBlockScalar(parentIndent);
    } else if (c === SQ || c === DQ) {
      const q = this.parseQuoted();
      const p = this.skipSpaces(this.pos);
      if (this.code(p) === COLON && this.wsOrEol(p + 1)) {
        node = this.parseBlockMap(col, q, p);
      } else {
        this.endLine();
        node = q;
      }
    } else {
      this.checkPlainStart(c, pos, false);
      this.scanPlainBlock(pos);
      const end = this.scanEnd;
      const key = scalar(resolvePlainScalar(this.text.slice(pos, end)), pos, end);
      if (this.scanColon >= 0) {
        node = this.parseBlockMap(col, key, this.scanColon);
      } else {
        this.pos = end;
        this.endLine();
        node = key;
      }
    }
    this.depth--;
    return node;
  }

  private parseBlockMap(col: number, firstKey: YScalar, firstColon: number): YMap {
    const pairs: YPair[] = [];
    let seen: Set<YScalarValue> | null = null;
    let key = firstKey;
    let colon = firstColon;
    for (;;) {
      if (colon - key.span[0] > MAX_KEY_LENGTH) bail();
      seen = checkDuplicate(pairs, key.value, seen);
      const colonEnd = colon + 1;
      const p = this.skipSpaces(colonEnd);
      const c = this.code(p);
      let value: YNode;
      if (this.atEol(p) || c === HASH) {
        // Nothing on this line: a nested block node, a sequence at this map's indentation, or null.
        this.pos = colonEnd;
        this.endLine();
        const ni = this.lineIndent;
        if (ni > col) {
          this.pos += ni;
          value = this.parseBlockNode(ni, col);
        } else if (ni === col && this.code(this.pos + col) === DASH && this.wsOrEol(this.pos + col + 1)) {
          this.pos += col;
          value = this.parseBlockSeq(col);
        } else {
          value = scalar(null, colonEnd, colonEnd);
        }
      } else {
        this.pos = p;
        value = this.parseInlineValue(c, col);
      }
      pairs.push({ key, value });

      const ni = this.lineIndent;
      if (ni < col) break;
      if (ni > col) bail(); // bad indentation, or a continuation line of a plain scalar
      // The next key, at this map's column.
      const kp = this.pos + col;
      this.pos = kp;
      const kc = this.code(kp);
      if (kc === SQ || kc === DQ) {
        key = this.parseQuoted();
        const q = this.skipSpaces(this.pos);
        if (this.code(q) !== COLON || !this.wsOrEol(q + 1)) bail();
        colon = q;
      } else {
        this.checkPlainStart(kc, kp, false); // also rejects `- ` (a sequence after a scalar value)
        this.scanPlainBlock(kp);
        if (this.scanColon < 0) bail();
        key = scalar(resolvePlainScalar(this.text.slice(kp, this.scanEnd)), kp, this.scanEnd);
        colon = this.scanColon;
      }
    }
    return { kind: 'map', pairs, span: [firstKey.span[0], pairs[pairs.length - 1]!.value.span[1]] };
  }

  /** A map value on the key's line: a flow collection or a scalar (never a block collection). */
  private parseInlineValue(c: number, mapCol: number): YNode {
    const pos = this.pos;
    let node: YNode;
    if (c === LBRACK || c === LBRACE) {
      if (++this.depth > MAX_DEPTH) bail();
      node = c === LBRACK ? this.parseFlowSeq(mapCol, 1) : this.parseFlowMap(mapCol, 1);
      this.depth--;
    } else if (c === PIPE || c === GT) {
      return this.parseBlockScalar(mapCol);
    } else if (c === SQ || c === DQ) {
      node = this.parseQuoted();
    } else {
      this.checkPlainStart(c, pos, false); // also rejects `key: - x`
      this.scanPlainBlock(pos);
      if (this.scanColon >= 0) bail(); // `a: b: c`
      const end = this.scanEnd;
      node = scalar(resolvePlainScalar(this.text.slice(pos, end)), pos, end);
      this.pos = end;
    }
    this.endLine();
    return node;
  }

  private parseBlockSeq(col: number): YSeq {
    const items: YNode[] = [];
    const start = this.pos;
    for (;;) {
      const dash = this.pos;
      const dashEnd = dash + 1;
      const p = this.skipSpaces(dashEnd);
      let item: YNode;
      if (this.atEol(p) || (this.code(p) === HASH && p > dashEnd)) {
        this.pos = dashEnd;
        this.endLine();
        const ni = this.lineIndent;
        if (ni > col) {
          this.pos += ni;
          item = this.parseBlockNode(ni, col);
        } else {
          item = scalar(null, dashEnd, dashEnd);
        }
      } else {
        this.pos = p;
        item = this.parseBlockNode(col + (p - dash), col);
      }
      items.push(item);

      const ni = this.lineIndent;
      if (ni === col) {
        const np = this.pos + col;
        if (this.code(np) === DASH && this.wsOrEol(np + 1)) {
          this.pos = np;
          continue;
        }
        break; // a key of the parent map at the same indentation (the parent checks)
      }
      if (ni < col) break;
      bail();
    }
    return { kind: 'seq', items, span: [start, items[items.length - 1]!.span[1]] };
  }

  // ---- scalars ------------------------------------------------------------------------------

  /**
   * A literal (`|`) or folded (`>`) block scalar at pos, in its restricted common form: clip or
   * strip chomping (`|`, `|-`, `>`, `>-`), no indentation indicator, content lines all at one
   * indentation (deeper than the parent collection's), without trailing spaces, blank lines only
   * between content lines (and after them). Returns with pos at the next content line.
   */
  private parseBlockScalar(parentIndent: number): YScalar {
    const text = this.text;
    const len = this.len;
    const start = this.pos;
    const folded = text.charCodeAt(start) === GT;
    let p = start + 1;
    let strip = false;
    const chomp = text.charCodeAt(p);
    if (chomp === DASH) {
      strip = true;
      p++;
    } else if (chomp === PLUS || (chomp >= 48 && chomp <= 57)) bail(); // keep chomping, indentation indicator
    // The rest of the header line: spaces and a comment.
    let q = this.skipSpaces(p);
    if (text.charCodeAt(q) === HASH) {
      if (q === p) bail();
      while (q < len && text.charCodeAt(q) !== LF && text.charCodeAt(q) !== CR) q++;
    }
    if (q >= len) bail(); // empty block scalar at the end of input
    const hc = text.charCodeAt(q);
    if (hc !== LF && hc !== CR) bail();
    let line = q + (hc === CR ? 2 : 1);

    let indent = -1;
    let value = '';
    let blanks = 0; // blank lines since the last content line
    let lastEnd = -1;
    while (line < len) {
      let k = line;
      while (text.charCodeAt(k) === SP) k++;
      const spaces = k - line;
      const c = text.charCodeAt(k);
      if (k >= len || c === LF || c === CR) {
        // A blank line (possibly the last line of the input).
        if (indent < 0 || spaces > indent) bail(); // leading blank lines; blank lines with content spaces
        if (k >= len) {
          line = len;
          break;
        }
        blanks++;
        line = k + (c === CR ? 2 : 1);
        continue;
      }
      if (indent < 0) {
        if (spaces <= parentIndent || spaces === 0) bail(); // empty block scalar
        indent = spaces;
      }
      if (spaces < indent) break; // the scalar ended; this line belongs to the parent
      if (spaces > indent) bail(); // more-indented lines fold differently
      let e = k;
      while (e < len) {
        const d = text.charCodeAt(e);
        if (d === LF || d === CR) break;
        e++;
      }
      if (text.charCodeAt(e - 1) === SP) bail(); // trailing spaces
      const content = text.slice(k, e);
      if (lastEnd < 0) value = content;
      else if (blanks > 0) value += (folded ? '' : '\n') + '\n'.repeat(blanks) + content;
      else value += (folded ? ' ' : '\n') + content;
      blanks = 0;
      lastEnd = e;
      if (e >= len) {
        line = len;
        break;
      }
      line = e + (text.charCodeAt(e) === CR ? 2 : 1);
    }
    if (lastEnd < 0) bail();
    if (!strip) value += '\n';
    this.pos = line;
    this.skipToContentLine();
    return scalar(value, start, lastEnd);
  }

  /** Rejects characters a plain scalar cannot (or, for us, should not) start with. */
  private checkPlainStart(c: number, p: number, inFlow: boolean): void {
    switch (c) {
      case DASH: {
        if (this.wsOrEol(p + 1)) bail();
        if (inFlow && isFlowIndicator(this.code(p + 1))) bail();
        return;
      }
      case QMARK:
      case COLON:
      case COMMA:
      case LBRACK:
      case RBRACK:
      case LBRACE:
      case RBRACE:
      case HASH:
      case AMP:
      case STAR:
      case BANG:
      case PIPE:
      case GT:
      case SQ:
      case DQ:
      case PERCENT:
      case AT:
      case BTICK:
        bail();
    }
    if (p >= this.len || c === LF || c === CR || c === SP) bail();
  }

  /**
   * A plain scalar in block context, from p to the end of its line. Sets scanEnd (past the last
   * non-space character) and scanColon (offset of a `: ` that ends it as a key, or -1).
   */
  private scanPlainBlock(p: number): void {
    const text = this.text;
    const len = this.len;
    let end = p;
    let colon = -1;
    while (p < len) {
      const c = text.charCodeAt(p);
      if (c === LF || c === CR) break;
      if (c === SP) {
        p++;
        continue;
      }
      if (c === COLON) {
        const n = text.charCodeAt(p + 1);
        if (p + 1 >= len || n === SP || n === LF || n === CR) {
          colon = p;
          break;
        }
      } else if (c === HASH && text.charCodeAt(p - 1) === SP) break;
      end = ++p;
    }
    this.scanEnd = end;
    this.scanColon = colon;
  }

  /** A plain scalar in flow context; also stops at flow indicators and at `:` before one. */
  private scanPlainFlow(p: number): void {
    const text = this.text;
    const len = this.len;
    let end = p;
    let colon = -1;
    while (p < len) {
      const c = text.charCodeAt(p);
      if (c === LF || c === CR) break;
      if (c === SP) {
        p++;
        continue;
      }
      if (isFlowIndicator(c)) break;
      if (c === COLON) {
        const n = text.charCodeAt(p + 1);
        if (p + 1 >= len || n === SP || n === LF || n === CR || isFlowIndicator(n)) {
          colon = p;
          break;
        }
      } else if (c === HASH && text.charCodeAt(p - 1) === SP) break;
      end = ++p;
    }
    this.scanEnd = end;
    this.scanColon = colon;
  }

  /** A single- or double-quoted scalar on one line at pos; leaves pos after the closing quote. */
  private parseQuoted(): YScalar {
    const text = this.text;
    const len = this.len;
    const start = this.pos;
    const quote = text.charCodeAt(start);
    let p = start + 1;
    let seg = p;
    let out = '';
    if (quote === SQ) {
      for (;;) {
        if (p >= len) bail();
        const c = text.charCodeAt(p);
        if (c === SQ) {
          if (text.charCodeAt(p + 1) !== SQ) break;
          out += text.slice(seg, p + 1);
          p += 2;
          seg = p;
          continue;
        }
        if (c === LF || c === CR) bail();
        p++;
      }
    } else {
      for (;;) {
        if (p >= len) bail();
        const c = text.charCodeAt(p);
        if (c === DQ) break;
        if (c === LF || c === CR) bail();
        if (c !== BSLASH) {
          p++;
          continue;
        }
        out += text.slice(seg, p);
        const e = text.charCodeAt(p + 1);
        let n = 0;
        switch (e) {
          case 48: out += '\0'; break; // 0
          case 97: out += '\x07'; break; // a
          case 98: out += '\b'; break; // b
          case 101: out += '\x1b'; break; // e
          case 102: out += '\f'; break; // f
          case 110: out += '\n'; break; // n
          case 114: out += '\r'; break; // r
          case 116: out += '\t'; break; // t
          case 118: out += '\v'; break; // v
          case 78: out += '\u0085'; break; // N
          case 95: out += '\u00a0'; break; // _
          case 76: out += '\u2028'; break; // L
          case 80: out += '\u2029'; break; // P
          case SP: out += ' '; break;
          case DQ: out += '"'; break;
          case 47: out += '/'; break; // /
          case BSLASH: out += '\\'; break;
          case 120: n = 2; break; // x
          case 117: n = 4; break; // u
          case 85: n = 8; break; // U
          default: bail(); // unknown escape, or an escaped line break
        }
        p += 2;
        if (n > 0) {
          let cp = 0;
          for (let i = 0; i < n; i++) {
            const h = text.charCodeAt(p + i);
            if (!isHex(h)) bail();
            cp = cp * 16 + (h <= 57 ? h - 48 : (h | 32) - 87);
          }
          if (cp > 0x10ffff) bail();
          out += String.fromCodePoint(cp);
          p += n;
        }
        seg = p;
      }
    }
    out = seg === start + 1 ? text.slice(seg, p) : out + text.slice(seg, p);
    this.pos = p + 1;
    return scalar(out, start, p + 1);
  }

  // ---- flow context -------------------------------------------------------------------------

  /**
   * Spaces, comments and line breaks inside a flow collection. A continuation line must be
   * indented more than the enclosing block collection (`blockIndent`), except that the bracket
   * closing the outermost flow collection may sit at exactly that indentation (as yaml allows).
   */
  private skipFlowSpace(blockIndent: number, flowDepth: number): void {
    const text = this.text;
    const len = this.len;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === SP) {
        pos++;
      } else if (c === LF || c === CR) {
        pos += c === CR ? 2 : 1;
        let p = pos;
        while (text.charCodeAt(p) === SP) p++;
        if (p >= len) bail(); // unterminated flow collection
        const first = text.charCodeAt(p);
        // yaml rejects some comment lines at column 0 inside flow maps ("Comments must be
        // separated from other tokens"); do not try to tell which.
        if (first === HASH && p === pos) bail();
        if (first !== LF && first !== CR && first !== HASH) {
          const indent = p - pos;
          if (indent === 0 && (first === DASH || first === DOT) && text.charCodeAt(p + 1) === first) bail();
          if (indent <= blockIndent) {
            const closes = first === RBRACK || first === RBRACE;
            if (!(indent === blockIndent && flowDepth === 1 && closes)) bail();
          }
        }
        pos = p;
      } else if (c === HASH) {
        const prev = text.charCodeAt(pos - 1);
        if (prev !== SP && prev !== LF) bail();
        let p = pos;
        while (p < len) {
          const d = text.charCodeAt(p);
          if (d === LF || d === CR) break;
          p++;
        }
        if (p >= len) bail();
        pos = p;
      } else break;
    }
    this.pos = pos;
  }

  private parseFlowSeq(blockIndent: number, flowDepth: number): YSeq {
    const start = this.pos;
    this.pos++;
    const items: YNode[] = [];
    for (;;) {
      this.skipFlowSpace(blockIndent, flowDepth);
      if (this.code(this.pos) === RBRACK) break;
      items.push(this.parseFlowNode(blockIndent, flowDepth));
      this.skipFlowSpace(blockIndent, flowDepth);
      const c = this.code(this.pos);
      if (c === COMMA) {
        this.pos++;
        continue;
      }
      if (c === RBRACK) break;
      bail(); // `[a: 1]`, `[a b]` over two lines, garbage
    }
    this.pos++;
    return { kind: 'seq', items, span: [start, this.pos] };
  }

  private parseFlowMap(blockIndent: number, flowDepth: number): YMap {
    const text = this.text;
    const start = this.pos;
    this.pos++;
    const pairs: YPair[] = [];
    let seen: Set<YScalarValue> | null = null;
    for (;;) {
      this.skipFlowSpace(blockIndent, flowDepth);
      const kp = this.pos;
      const kc = this.code(kp);
      if (kc === RBRACE) break;
      let key: YScalar;
      let colon: number;
      if (kc === SQ || kc === DQ) {
        key = this.parseQuoted();
        colon = this.skipSpaces(this.pos);
        if (this.code(colon) !== COLON) bail();
        // After a quoted key the value may follow the `:` directly (`{"a":1}`).
      } else {
        this.checkPlainStart(kc, kp, true);
        this.scanPlainFlow(kp);
        colon = this.scanColon;
        if (colon < 0) bail(); // `{ a }`, `{ a b }`, ...
        if (!this.wsOrEol(colon + 1)) bail(); // `{a:[x]}`, `{a:}`
        key = scalar(resolvePlainScalar(text.slice(kp, this.scanEnd)), kp, this.scanEnd);
      }
      if (colon - kp > MAX_KEY_LENGTH) bail();
      seen = checkDuplicate(pairs, key.value, seen);
      this.pos = colon + 1;
      this.skipFlowSpace(blockIndent, flowDepth);
      const vc = this.code(this.pos);
      if (vc === COMMA || vc === RBRACE) bail(); // empty value
      pairs.push({ key, value: this.parseFlowNode(blockIndent, flowDepth) });
      this.skipFlowSpace(blockIndent, flowDepth);
      const c = this.code(this.pos);
      if (c === COMMA) {
        this.pos++;
        continue;
      }
      if (c === RBRACE) break;
      bail();
    }
    this.pos++;
    return { kind: 'map', pairs, span: [start, this.pos] };
  }

  private parseFlowNode(blockIndent: number, flowDepth: number): YNode {
    const pos = this.pos;
    if (pos >= this.len) bail();
    const c = this.code(pos);
    if (c === LBRACK || c === LBRACE) {
      if (++this.depth > MAX_DEPTH) bail();
      const node = c === LBRACK ? this.parseFlowSeq(blockIndent, flowDepth + 1) : this.parseFlowMap(blockIndent, flowDepth + 1);
      this.depth--;
      return node;
    }
    if (c === SQ || c === DQ) return this.parseQuoted();
    this.checkPlainStart(c, pos, true);
    this.scanPlainFlow(pos);
    if (this.scanColon >= 0) bail(); // a pair where only a value may be (`[a: 1]`, `{a: b: c}`)
    const end = this.scanEnd;
    this.pos = end;
    return scalar(resolvePlainScalar(this.text.slice(pos, end)), pos, end);
  }
}
