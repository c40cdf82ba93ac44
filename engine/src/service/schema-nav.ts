// Walks the JSON Schemas by a document path: the schema of the key or value under the cursor,
// for hover docs, key completion and enum values.

import type { Kind } from '../model/types.js';
import { COMMON_SCHEMA, SCHEMAS, type JsonSchema } from '../syntax/schemas.js';

function resolveRef(schema: JsonSchema, base: JsonSchema): { schema: JsonSchema; base: JsonSchema } {
  let s = schema;
  let b = base;
  for (let i = 0; i < 10 && typeof s.$ref === 'string'; i++) {
    const ref = s.$ref as string;
    const [file, pointer] = ref.split('#') as [string, string | undefined];
    const doc = file ? (file.startsWith('common') ? COMMON_SCHEMA : b) : b;
    let target: unknown = doc;
    for (const part of (pointer ?? '').split('/').filter(Boolean)) target = (target as Record<string, unknown>)?.[part];
    // Keep the referring schema's own description (more specific) over the target's.
    const merged = { ...(target as JsonSchema) };
    if (s.description) merged.description = s.description;
    if (s.markdownDescription) merged.markdownDescription = s.markdownDescription;
    s = merged;
    b = doc;
  }
  return { schema: s, base: b };
}

/** The schema at a path inside a document of `kind` (undefined when the path leaves the schema). */
export function schemaAt(kind: Kind, path: readonly (string | number)[]): JsonSchema | undefined {
  let { schema, base } = resolveRef(SCHEMAS[kind], SCHEMAS[kind]);
  for (const seg of path) {
    let next: JsonSchema | undefined;
    if (typeof seg === 'number') next = schema.items as JsonSchema | undefined;
    else {
      next = (schema.properties as Record<string, JsonSchema> | undefined)?.[seg];
      if (!next && typeof schema.additionalProperties === 'object') next = schema.additionalProperties as JsonSchema;
    }
    if (!next) return undefined;
    ({ schema, base } = resolveRef(next, base));
  }
  return schema;
}

export interface SchemaKey {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  readonly schema: JsonSchema;
}

/** The keys an object schema allows, with their docs. */
export function keysOf(schema: JsonSchema | undefined): SchemaKey[] {
  if (!schema) return [];
  const props = (schema.properties as Record<string, JsonSchema> | undefined) ?? {};
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(props).map(([name, s]) => {
    const r = resolveRef(s, COMMON_SCHEMA).schema;
    return { name, description: docOf(r), required: required.has(name), schema: r };
  });
}

export function docOf(schema: JsonSchema | undefined): string {
  if (!schema) return '';
  return String(schema.markdownDescription ?? schema.description ?? '');
}

export function enumOf(schema: JsonSchema | undefined): string[] {
  if (!schema) return [];
  if (Array.isArray(schema.enum)) return schema.enum.map(String);
  if (schema.const !== undefined) return [String(schema.const)];
  return [];
}
