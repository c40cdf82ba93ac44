// The params of Tally's custom requests (`tally/*`), checked before any handler touches them: a
// request a client got wrong is answered with JSON-RPC's InvalidParams (-32602) and a message that
// names the field and what it must be, never with an internal error. The shapes are JSON Schemas
// compiled by ajv (already the engine's schema validator); fields a schema does not name are
// allowed, so a newer client can send more. Instants are read like the CLI's `--as-of`.

import Ajv2020Module, { type ErrorObject } from 'ajv/dist/2020.js';
import { ErrorCodes, ResponseError } from 'vscode-languageserver/node.js';
import { parseInstant, PREVIEW_KINDS } from '../../engine/src/index.js';

// ajv ships CommonJS; under ESM the class may sit on `.default`.
const Ajv2020 = ((Ajv2020Module as unknown as { default?: typeof Ajv2020Module }).default ?? Ajv2020Module) as typeof Ajv2020Module;

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

const uri = { type: 'string' };
const asOf = { type: 'string', description: 'an ISO instant' };
const name = { type: 'string', minLength: 1 };

const SCHEMAS = {
  'tally/preview': {
    type: 'object',
    required: ['kind', 'name'],
    properties: { uri, kind: { enum: [...PREVIEW_KINDS] }, name, asOf, detail: { type: 'boolean' } },
  },
  'tally/compiledSql': {
    type: 'object',
    required: ['kind', 'name'],
    properties: { uri, kind: { type: 'string' }, name, asOf },
  },
  'tally/plan': { type: ['object', 'null'], properties: { uri, asOf, allowDrop: { type: 'boolean' } } },
  'tally/check': { type: ['object', 'null'], properties: { uri, asOf, failOn: { type: 'string' } } },
  'tally/definitions': { type: ['object', 'null'], properties: { compute: { type: 'boolean' } } },
} as const;

export type CustomRequest = keyof typeof SCHEMAS;

const ajv = new Ajv2020({ allErrors: false, strict: false, allowUnionTypes: true });
const validators = new Map(Object.entries(SCHEMAS).map(([method, schema]) => [method, ajv.compile(schema as object)]));

/** The params of `method` as the handler may use them; a ResponseError(InvalidParams) otherwise. */
export function checkParams<T>(method: CustomRequest, params: unknown): T {
  const validate = validators.get(method)!;
  if (!validate(params ?? null)) throw invalidParams(method, describe(validate.errors?.[0]));
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

/** `kind must be one of segment, trait, …`, `params must have required property 'name'`. */
function describe(e: ErrorObject | undefined): string {
  if (!e) return 'params do not match the request';
  const where = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'params';
  if (e.keyword === 'enum') return `${where} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'type') return `${where} must be ${[(e.params as { type: string | string[] }).type].flat().map((t) => (t === 'null' ? 'absent' : t === 'object' || t === 'array' ? `an ${t}` : `a ${t}`)).join(' or ')}`;
  if (e.keyword === 'minLength') return `${where} must not be empty`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** A user's text in a message: quoted, bounded, control characters escaped. */
function quote(text: string): string {
  const short = text.length > 60 ? `${text.slice(0, 57)}…` : text;
  return JSON.stringify(short).replace(/^"|"$/g, "'");
}
