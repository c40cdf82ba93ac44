// Compiling a Kysely raw query to text and parameters, without a database: each dialect
// (dialect.ts) holds a "cold" Kysely (DummyDriver + its adapter and query compiler), which does
// its identifier quoting, literal escaping and parameter placeholders. The default is PostgreSQL.

import type { CompiledQuery, RawBuilder } from 'kysely';
import { postgres, type Dialect } from './dialect.js';

export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export function compileRaw(q: RawBuilder<unknown>, dialect: Dialect = postgres): CompiledSql {
  const c: CompiledQuery = q.compile(dialect.kysely);
  return { sql: c.sql, parameters: c.parameters };
}
