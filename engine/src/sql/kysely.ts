// A "cold" Kysely: compiles queries to PostgreSQL text without a database (DummyDriver).
// The dialect seam: another warehouse dialect is another adapter + query compiler here.

import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, type CompiledQuery, type RawBuilder } from 'kysely';

export const coldDb = new Kysely<Record<string, never>>({
  dialect: {
    createAdapter: () => new PostgresAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new PostgresIntrospector(db),
    createQueryCompiler: () => new PostgresQueryCompiler(),
  },
});

export interface CompiledSql {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export function compileRaw(q: RawBuilder<unknown>): CompiledSql {
  const c: CompiledQuery = q.compile(coldDb);
  return { sql: c.sql, parameters: c.parameters };
}
