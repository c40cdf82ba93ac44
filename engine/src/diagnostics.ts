// Diagnostics: the one shape every stage reports problems in.
//
// Stages record diagnostics with byte-free *offsets* (UTF-16 code units into the file text, as JS
// strings index them); `Project` turns them into 0-based LSP line/character ranges once, so the CLI,
// CI annotations and the editor all point at the same place. Every code is declared once in
// diagnostic-codes.ts (`DiagnosticCode`), so a misspelt code is a type error.

import type { DiagnosticCode } from './diagnostic-codes.js';

export type { DiagnosticCode } from './diagnostic-codes.js';

export type Severity = 'error' | 'warning' | 'information' | 'hint';

export interface Position {
  readonly line: number;
  readonly character: number;
}

export interface Range {
  readonly start: Position;
  readonly end: Position;
}

/** Offsets [start, end) into a file's text. */
export type Span = readonly [number, number];

/** A diagnostic as stages record it: offsets, not yet lines. */
export interface RawDiagnostic {
  readonly code: DiagnosticCode;
  readonly severity: Severity;
  readonly message: string;
  readonly file: string;
  readonly span: Span;
  /** A replacement a client may offer as a quick fix (for example the "did you mean" name). */
  readonly fix?: { readonly span: Span; readonly text: string };
}

/** A diagnostic as every consumer sees it (the `validate --format json` contract shape). */
export interface Diagnostic {
  readonly file: string;
  readonly range: Range;
  readonly severity: Severity;
  readonly code: DiagnosticCode;
  readonly message: string;
  readonly fix?: { readonly range: Range; readonly text: string };
}

/** Collects diagnostics for one file; stages take one and never throw on user input. */
export class DiagnosticSink {
  readonly items: RawDiagnostic[] = [];
  constructor(readonly file: string) {}

  error(code: DiagnosticCode, span: Span, message: string, fix?: RawDiagnostic['fix']): void {
    this.items.push({ code, severity: 'error', message, file: this.file, span, ...(fix ? { fix } : {}) });
  }
  warning(code: DiagnosticCode, span: Span, message: string, fix?: RawDiagnostic['fix']): void {
    this.items.push({ code, severity: 'warning', message, file: this.file, span, ...(fix ? { fix } : {}) });
  }
  info(code: DiagnosticCode, span: Span, message: string): void {
    this.items.push({ code, severity: 'information', message, file: this.file, span });
  }
}

/** Line starts of a text, for offset -> position conversion by binary search. */
export class LineIndex {
  private readonly starts: number[];
  constructor(text: string) {
    const starts = [0];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) starts.push(i + 1);
      else if (c === 13) {
        if (text.charCodeAt(i + 1) === 10) i++;
        starts.push(i + 1);
      }
    }
    this.starts = starts;
  }
  position(offset: number): Position {
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: offset - starts[lo]! };
  }
  offset(position: Position): number {
    const start = this.starts[Math.min(position.line, this.starts.length - 1)] ?? 0;
    return start + position.character;
  }
  range(span: Span): Range {
    return { start: this.position(span[0]), end: this.position(span[1]) };
  }
}

export function severityRank(s: Severity): number {
  return s === 'error' ? 0 : s === 'warning' ? 1 : s === 'information' ? 2 : 3;
}

export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  return list.sort(
    (a, b) =>
      (a.file < b.file ? -1 : a.file > b.file ? 1 : 0) ||
      a.range.start.line - b.range.start.line ||
      a.range.start.character - b.range.start.character ||
      severityRank(a.severity) - severityRank(b.severity) ||
      (a.code < b.code ? -1 : a.code > b.code ? 1 : 0),
  );
}
