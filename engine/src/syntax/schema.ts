// Schema validation: each document against the JSON Schema of its kind (ajv, draft 2020-12),
// with ajv's errors turned into diagnostics on the exact key or value they are about.

import type { ErrorObject } from 'ajv';
import type { DiagnosticCode, DiagnosticSink, Span } from '../diagnostics.js';
import { KINDS, OP_NAMES, type Kind } from '../model/types.js';
import { didYouMean, suggestOperator } from '../suggest.js';
import { badInstant, instantProblem } from '../time.js';
import { getPair, nodeAtPath, toValue, type YMap, type YNode } from './nodes.js';
import type { JsonSchema } from './schemas.js';
// ajv's standalone code for schemas/, generated at build time (scripts/generate-validators.mjs;
// test/schemas.test.ts checks it is up to date): no schema is compiled when a process starts.
import * as generated from './validators.generated.js';

interface Validator {
  (data: unknown): boolean;
  errors?: ErrorObject[] | null;
}

const VALIDATORS = generated as unknown as Record<string, Validator>;

function validatorFor(kind: string): Validator {
  return VALIDATORS[kind.toLowerCase()]!;
}

/** Checks `kind`, then the kind's schema; returns the kind when the document can be lowered. */
export function validateDocument(root: YNode, sink: DiagnosticSink): Kind | undefined {
  if (root.kind !== 'map') {
    sink.error('not-a-mapping', root.span, 'a definition is a mapping with `kind`, `name`, `version` and the keys of its kind');
    return undefined;
  }
  const kindPair = getPair(root, 'kind');
  if (!kindPair) {
    sink.error('missing-kind', firstKeySpan(root), `this document has no \`kind\`; start it with one of: ${KINDS.join(', ')}`);
    return undefined;
  }
  const kind = kindPair.value.kind === 'scalar' ? kindPair.value.value : undefined;
  if (typeof kind !== 'string' || !(KINDS as readonly string[]).includes(kind)) {
    const dym = typeof kind === 'string' ? didYouMean(kind, KINDS) : { text: '' };
    sink.error('unknown-kind', kindPair.value.span, `unknown kind '${String(kind ?? '')}'${dym.text}; kinds are ${KINDS.join(', ')}`, dym.best ? { span: kindPair.value.span, text: dym.best } : undefined);
    return undefined;
  }
  reportSchemaErrors(validatorFor(kind), root, sink);
  const name = getPair(root, 'name');
  if (!name || name.value.kind !== 'scalar' || typeof name.value.value !== 'string') return undefined;
  return kind as Kind;
}

/** Validates tally.yaml. */
export function validateProjectFile(root: YNode, sink: DiagnosticSink): void {
  if (root.kind !== 'map') {
    sink.error('not-a-mapping', root.span, 'tally.yaml is a mapping: `tally: 1`, `name`, `definitions`, ...');
    return;
  }
  reportSchemaErrors(validatorFor('project'), root, sink);
}

function reportSchemaErrors(validate: Validator, root: YMap, sink: DiagnosticSink): void {
  if (validate(toValue(root))) return;
  const seen = new Set<string>();
  for (const e of prioritise(validate.errors ?? [])) {
    const d = describe(e, root);
    if (!d) continue;
    const k = `${d.span[0]}:${d.span[1]}`;
    if (seen.has(k)) continue;
    seen.add(k);
    sink.error(d.code, d.span, d.message, d.fix);
  }
}

/** Most specific first: errors deeper in the document explain more than their parents'. */
function prioritise(errors: ErrorObject[]): ErrorObject[] {
  return [...errors].sort((a, b) => b.instancePath.split('/').length - a.instancePath.split('/').length);
}

function pathOf(e: ErrorObject): string[] {
  return e.instancePath === '' ? [] : e.instancePath.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function where(path: string[]): string {
  const named = path.filter((p) => !/^\d+$/.test(p));
  return named.length ? `\`${named[named.length - 1]}\`` : 'this definition';
}

function firstKeySpan(map: YMap): Span {
  return map.pairs[0]?.key.span ?? map.span;
}

function describe(e: ErrorObject, root: YMap): { code: DiagnosticCode; span: Span; message: string; fix?: { span: Span; text: string } } | undefined {
  const path = pathOf(e);
  const at = nodeAtPath(root, path);
  const node = at.node;
  switch (e.keyword) {
    case 'additionalProperties': {
      const extra = String((e.params as { additionalProperty: string }).additionalProperty);
      const pair = node.kind === 'map' ? getPair(node, extra) : undefined;
      const allowed = Object.keys(((e.parentSchema as JsonSchema | undefined)?.properties as object | undefined) ?? {});
      // In a condition or property filter, an unknown key is most often an operator spelled as
      // elsewhere (`equals`, `>=`): suggest the operator.
      const operator = allowed.includes('eq') ? suggestOperator(extra, OP_NAMES.filter((o) => allowed.includes(o))) : undefined;
      const dym = operator ? { text: ` (did you mean '${operator}'?)`, best: operator } : didYouMean(extra, allowed);
      const span = pair?.key.span ?? node.span;
      return {
        code: 'unknown-key',
        span,
        message: `unknown key '${extra}' in ${where(path)}${dym.text || (allowed.length && allowed.length <= 12 ? `; expected one of: ${allowed.join(', ')}` : '')}`,
        fix: dym.best ? { span, text: dym.best } : undefined,
      };
    }
    case 'required': {
      const missing = String((e.params as { missingProperty: string }).missingProperty);
      const span = path.length === 0 ? (getPair(root, 'kind')?.key.span ?? firstKeySpan(root)) : (at.keyOf?.span ?? node.span);
      return { code: 'missing-key', span, message: `${where(path)} is missing the required key \`${missing}\`` };
    }
    case 'type': {
      const want = String((e.params as { type: string | string[] }).type).replace(/,/g, ' or ');
      const got = node.kind === 'scalar' ? (node.value === null ? 'empty' : typeof node.value) : node.kind === 'map' ? 'a mapping' : 'a list';
      return { code: 'wrong-type', span: node.span, message: `${where(path)} must be ${article(want)}, not ${got === 'empty' ? 'empty' : got === 'string' || got === 'number' || got === 'boolean' ? `${article(got)}` : got}` };
    }
    case 'enum': {
      const allowed = ((e.params as { allowedValues: unknown[] }).allowedValues ?? []).map(String);
      const value = node.kind === 'scalar' ? String(node.value) : '';
      const dym = didYouMean(value, allowed);
      return {
        code: 'bad-value',
        span: node.span,
        message: `'${value}' is not allowed for ${where(path)}${dym.text}; use one of: ${allowed.join(', ')}`,
        fix: dym.best ? { span: node.span, text: dym.best } : undefined,
      };
    }
    case 'const': {
      const allowed = String((e.params as { allowedValue: unknown }).allowedValue);
      return { code: 'bad-value', span: node.span, message: `${where(path)} must be ${allowed}` };
    }
    case 'pattern': {
      const value = node.kind === 'scalar' ? String(node.value) : '';
      const sp = e.schemaPath;
      // A value shaped like an instant gets the precise part and reason (`+99:00`, day 30 of February).
      if (/instant/i.test(sp) && node.kind === 'scalar' && typeof node.value === 'string' && instantProblem(node.value)) {
        const bad = badInstant(node.value, node.span, '');
        return { code: 'bad-instant', span: bad.span, message: bad.message };
      }
      if (/instantOrDuration/i.test(sp))
        return {
          code: 'bad-instant',
          span: node.span,
          message: /^\d{4}\D/.test(value)
            ? `'${value}' is not a valid ISO date or instant; write 2026-01-01 or 2026-01-01T09:00:00Z`
            : `'${value}' is neither an ISO instant (2026-01-01, 2026-01-01T09:00:00Z) nor a duration meaning T minus it (30d)`,
        };
      if (/duration/i.test(sp)) return { code: 'bad-duration', span: node.span, message: `'${value}' is not a duration; write a positive whole number and a unit: 30m, 12h, 90d or 4w` };
      if (/instant/i.test(sp)) return { code: 'bad-instant', span: node.span, message: `'${value}' is not an ISO date or instant (2027-03-31 or 2026-06-01T00:00:00Z)` };
      if (/qualifiedStage/i.test(sp)) return { code: 'bad-stage-ref', span: node.span, message: '`stage` is written `lifecycle.stage`, for example `customer_lifecycle.dormant`' };
      if (/name/i.test(sp) || path[path.length - 1] === 'name')
        return { code: 'bad-name', span: node.span, message: `'${value}' is not a valid name: use a lowercase letter first, then lowercase letters, digits or _ (at most 63), e.g. '${suggestName(value)}'`, fix: { span: node.span, text: suggestName(value) } };
      return { code: 'bad-value', span: node.span, message: `'${value}' is not in the expected format for ${where(path)}` };
    }
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum':
    case 'minItems':
    case 'maxItems':
    case 'minLength':
    case 'maxLength':
    case 'minProperties':
    case 'uniqueItems':
    case 'multipleOf':
      return { code: 'bad-value', span: node.span, message: `${where(path)} ${e.message ?? 'is not valid'}` };
    case 'if':
    case 'anyOf':
    case 'oneOf':
    case 'not':
    case 'then':
    case 'else':
      // The specific errors under them say more.
      return undefined;
    default:
      return { code: 'schema', span: node.span, message: `${where(path)} ${e.message ?? 'is not valid'}` };
  }
}

function article(t: string): string {
  return /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`;
}

function suggestName(value: string): string {
  const s = value
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .replace(/^[^a-z]+/, '')
    .slice(0, 63);
  return s || 'name';
}
