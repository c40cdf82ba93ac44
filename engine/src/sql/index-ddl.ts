// CREATE INDEX statements for index advice (advise/advise.ts), through Kysely's identifier and
// literal escaping. Kysely's createIndex builder has neither INCLUDE nor CONCURRENTLY, so the
// statement is a raw template; every name in it is quoted by `sql.id`, every literal by `sql.lit`,
// and a jsonb property is the dialect's JSON access (the same text the compiled queries use, so
// the expression index matches them).

import { sql } from 'kysely';
import { compileRaw } from './kysely.js';
import { postgres, type Dialect } from './dialect.js';

/** A key part: a column, or a jsonb property of a column (an expression index). */
export type IndexKeyPart = { readonly column: string } | { readonly column: string; readonly property: string };

/**
 * `create index concurrently if not exists "name" on "schema"."table" ("a", (("p" ->> 'k'))) include ("c");`
 * CONCURRENTLY: it does not block writes to a live table, and runs outside a transaction block.
 */
export function createIndexSql(name: string, table: { readonly schema?: string; readonly name: string }, keys: readonly IndexKeyPart[], include: readonly string[], dialect: Dialect = postgres): string {
  const target = table.schema ? sql.id(table.schema, table.name) : sql.id(table.name);
  const parts = keys.map((k) => ('property' in k ? sql`(${dialect.jsonText(sql.id(k.column), k.property)})` : sql.id(k.column)));
  const inc = include.length ? sql` include (${sql.join(include.map((c) => sql.id(c)))})` : sql``;
  return `${compileRaw(sql`create index concurrently if not exists ${sql.id(name)} on ${target} (${sql.join(parts)})${inc}`, dialect).sql};`;
}
