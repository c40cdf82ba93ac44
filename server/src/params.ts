// The params of every request the server answers (Tally's `tally/*` and the standard LSP ones it
// serves), checked before any handler touches them: a request a client got wrong is answered with
// JSON-RPC's InvalidParams (-32602) and a message that names the field and what it must be, never
// with an internal error. The shapes are small (typed fields, required ones, one enum, a nested
// object such as `position`), checked by the few lines below rather than by ajv compiled at
// start-up (the engine ships generated validators to avoid that cost). Fields a shape does not name
// are allowed, so a newer client can send more. Instants are read like the CLI's `--as-of`.

import { ErrorCodes, ResponseError } from 'vscode-languageserver/node.js';
import { parseInstant } from '../../engine/src/index.js';
import { PREVIEW_KINDS, TallyErrorCodes } from '../../engine/src/protocol.js';

/** Tally's error codes, declared once in the wire's module (engine/src/protocol.ts). */
export { TallyErrorCodes };

type Field =
  | { readonly type: 'string' | 'boolean'; readonly nonEmpty?: boolean }
  /** An LSP `uinteger` (a line, a character). */
  | { readonly type: 'uinteger' }
  | { readonly oneOf: readonly string[] }
  | { readonly object: Fields };
interface Fields {
  readonly required?: readonly string[];
  readonly fields: Readonly<Record<string, Field>>;
}
interface Shape extends Fields {
  /** Whether the params may be absent (null or undefined). */
  readonly optional: boolean;
}

const uri: Field = { type: 'string' };
const asOf: Field = { type: 'string' };
const name: Field = { type: 'string', nonEmpty: true };
const textDocument: Field = { object: { required: ['uri'], fields: { uri } } };
const position: Field = { object: { required: ['line', 'character'], fields: { line: { type: 'uinteger' }, character: { type: 'uinteger' } } } };
const atPosition: Shape = { optional: false, required: ['textDocument', 'position'], fields: { textDocument, position } };
const inDocument: Shape = { optional: false, required: ['textDocument'], fields: { textDocument } };

const SHAPES = {
  'tally/preview': { optional: false, required: ['kind', 'name'], fields: { uri, kind: { oneOf: PREVIEW_KINDS }, name, asOf, detail: { type: 'boolean' } } },
  'tally/compiledSql': { optional: false, required: ['kind', 'name'], fields: { uri, kind: { type: 'string' }, name, asOf } },
  'tally/plan': { optional: true, fields: { uri, asOf, allowDrop: { type: 'boolean' } } },
  'tally/check': { optional: true, fields: { uri, asOf, failOn: { type: 'string' } } },
  'tally/definitions': { optional: true, fields: { compute: { type: 'boolean' } } },
  'tally/review': { optional: true, fields: { uri, from: { type: 'string' }, to: { type: 'string' }, every: { oneOf: ['day', 'week', 'month'] } } },
  // The standard requests the server answers: the fields their handlers read.
  'textDocument/completion': atPosition,
  'textDocument/hover': atPosition,
  'textDocument/definition': atPosition,
  'textDocument/prepareRename': atPosition,
  'textDocument/references': {
    optional: false,
    required: ['textDocument', 'position', 'context'],
    fields: { textDocument, position, context: { object: { required: ['includeDeclaration'], fields: { includeDeclaration: { type: 'boolean' } } } } },
  },
  'textDocument/rename': { optional: false, required: ['textDocument', 'position', 'newName'], fields: { textDocument, position, newName: { type: 'string' } } },
  'textDocument/documentSymbol': inDocument,
  'textDocument/codeLens': inDocument,
  'workspace/symbol': { optional: false, required: ['query'], fields: { query: { type: 'string' } } },
} satisfies Record<string, Shape>;

export type CheckedRequest = keyof typeof SHAPES;

/** What is wrong with `params` for `shape`, or undefined when nothing is. */
function mismatch(shape: Shape, params: unknown): string | undefined {
  if (params === undefined || params === null) return shape.optional ? undefined : 'params must be an object';
  if (typeof params !== 'object' || Array.isArray(params)) return `params must be an object${shape.optional ? ' or absent' : ''}`;
  return fieldsMismatch(shape, params as Record<string, unknown>, 'params', '');
}

/** What is wrong with the fields of an object (`what` names it, `path` prefixes its fields). */
function fieldsMismatch(shape: Fields, p: Record<string, unknown>, what: string, path: string): string | undefined {
  for (const key of shape.required ?? []) if (p[key] === undefined) return `${what} must have required property '${key}'`;
  for (const [key, field] of Object.entries(shape.fields)) {
    const v = p[key];
    const at = `${path}${key}`;
    if (v === undefined) continue;
    if ('oneOf' in field) {
      if (!field.oneOf.includes(v as string)) return `${at} must be one of ${field.oneOf.join(', ')}`;
    } else if ('object' in field) {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return `${at} must be an object`;
      const wrong = fieldsMismatch(field.object, v as Record<string, unknown>, at, `${at}.`);
      if (wrong) return wrong;
    } else if (field.type === 'uinteger') {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) return `${at} must be a non-negative integer`;
    } else if (typeof v !== field.type) return `${at} must be a ${field.type}`;
    else if (field.nonEmpty && v === '') return `${at} must not be empty`;
  }
  return undefined;
}

/** The params of `method` as the handler may use them; a ResponseError(InvalidParams) otherwise. */
export function checkParams<T>(method: CheckedRequest, params: unknown): T {
  const wrong = mismatch(SHAPES[method], params);
  if (wrong) throw invalidParams(method, wrong);
  const asOfText = (params as { asOf?: unknown } | null | undefined)?.asOf;
  if (typeof asOfText === 'string') asOfParam(method, asOfText);
  return (params ?? {}) as T;
}

/** The instant of an `asOf` param (already checked by checkParams), or undefined when absent. */
export function asOfParam(method: string, text: string | undefined): Date | undefined {
  if (text === undefined) return undefined;
  const parsed = parseAsOf(text);
  if ('error' in parsed) throw invalidParams(method, `asOf ${parsed.error}`);
  return parsed.at;
}

/** An as-of instant as the CLI's `--as-of` reads it (a bare date is midnight UTC). */
export function parseAsOf(text: string): { at: Date } | { error: string } {
  const parsed = parseInstant(text.trim(), 'UTC');
  if (!parsed) return { error: `${quote(text)} is not an ISO instant; write 2026-06-01 or 2026-06-01T00:00:00Z` };
  return { at: parsed.date };
}

export function invalidParams(method: string, message: string): ResponseError<void> {
  return new ResponseError(ErrorCodes.InvalidParams, `invalid params for ${method}: ${message}`);
}

/** A user's text in a message: quoted, bounded, control characters escaped. */
function quote(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  return JSON.stringify(short).replace(/^"|"$/g, "'");
}
