// The params of Tally's custom requests (`tally/*`), checked before any handler touches them: a
// request a client got wrong is answered with JSON-RPC's InvalidParams (-32602) and a message that
// names the field and what it must be, never with an internal error. The shapes are flat (typed
// fields, required ones, one enum), checked by the few lines below rather than by ajv compiled at
// start-up (the engine ships generated validators to avoid that cost). Fields a shape does not name
// are allowed, so a newer client can send more. Instants are read like the CLI's `--as-of`.

import { ErrorCodes, ResponseError } from 'vscode-languageserver/node.js';
import { parseInstant, PREVIEW_KINDS } from '../../engine/src/index.js';

/**
 * Tally's error codes for its custom requests. JSON-RPC reserves -32768..-32000 and LSP
 * -32899..-32800; these small positive codes are the server's own (the extension's protocol.ts
 * declares the same).
 */
export const TallyErrorCodes = {
  /** No database: previews, plans and checks are off (data: `{offline: true, reason}`). */
  Offline: 1,
  /** Nothing to answer for: no project, or no definition of that kind and name. */
  NotFound: 2,
  /** The definition has errors; fix them to see live figures. */
  DefinitionHasErrors: 3,
  /** A query ran past its statement timeout. */
  Timeout: 4,
  /** The database refused or failed a query. */
  DatabaseFailed: 5,
} as const;

type Field = { readonly type: 'string' | 'boolean'; readonly nonEmpty?: boolean } | { readonly oneOf: readonly string[] };
interface Shape {
  /** Whether the params may be absent (null or undefined). */
  readonly optional: boolean;
  readonly required?: readonly string[];
  readonly fields: Readonly<Record<string, Field>>;
}

const uri: Field = { type: 'string' };
const asOf: Field = { type: 'string' };
const name: Field = { type: 'string', nonEmpty: true };

const SHAPES = {
  'tally/preview': { optional: false, required: ['kind', 'name'], fields: { uri, kind: { oneOf: PREVIEW_KINDS }, name, asOf, detail: { type: 'boolean' } } },
  'tally/compiledSql': { optional: false, required: ['kind', 'name'], fields: { uri, kind: { type: 'string' }, name, asOf } },
  'tally/plan': { optional: true, fields: { uri, asOf, allowDrop: { type: 'boolean' } } },
  'tally/check': { optional: true, fields: { uri, asOf, failOn: { type: 'string' } } },
  'tally/definitions': { optional: true, fields: { compute: { type: 'boolean' } } },
} satisfies Record<string, Shape>;

export type CustomRequest = keyof typeof SHAPES;

/** What is wrong with `params` for `shape`, or undefined when nothing is. */
function mismatch(shape: Shape, params: unknown): string | undefined {
  if (params === undefined || params === null) return shape.optional ? undefined : 'params must be an object';
  if (typeof params !== 'object' || Array.isArray(params)) return `params must be an object${shape.optional ? ' or absent' : ''}`;
  const p = params as Record<string, unknown>;
  for (const key of shape.required ?? []) if (p[key] === undefined) return `params must have required property '${key}'`;
  for (const [key, field] of Object.entries(shape.fields)) {
    const v = p[key];
    if (v === undefined) continue;
    if ('oneOf' in field) {
      if (!field.oneOf.includes(v as string)) return `${key} must be one of ${field.oneOf.join(', ')}`;
    } else if (typeof v !== field.type) return `${key} must be a ${field.type}`;
    else if (field.nonEmpty && v === '') return `${key} must not be empty`;
  }
  return undefined;
}

/** The params of `method` as the handler may use them; a ResponseError(InvalidParams) otherwise. */
export function checkParams<T>(method: CustomRequest, params: unknown): T {
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
