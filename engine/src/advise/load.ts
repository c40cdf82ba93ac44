// Reads the database's existing indexes (pg_index) for index advice (advise/advise.ts).

import type { AdviseCatalog, ExistingIndex } from './advise.js';
import type { Db } from '../db/db.js';

/** Every index on a user table: key parts as pg_get_indexdef prints them, INCLUDE columns, method. */
export async function loadIndexes(db: Db): Promise<AdviseCatalog> {
  const searchPath = (await db.query<{ s: string }>(`select unnest(current_schemas(false)) as s`)).rows.map((r) => r.s);
  const rows = (
    await db.query<{ schema: string; table: string; name: string; nkeys: number; natts: number; method: string; partial: boolean; valid: boolean; cols: string[] }>(
      `select n.nspname as schema, t.relname as "table", c.relname as name, i.indnkeyatts as nkeys, i.indnatts as natts,
              am.amname as method, i.indpred is not null as partial, i.indisvalid as valid,
              array(select pg_get_indexdef(i.indexrelid, k, true) from generate_series(1, i.indnatts) as k order by k) as cols
         from pg_index i
         join pg_class c on c.oid = i.indexrelid
         join pg_class t on t.oid = i.indrelid
         join pg_namespace n on n.oid = t.relnamespace
         join pg_am am on am.oid = c.relam
        where n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'
        order by 1, 2, 3`,
    )
  ).rows;
  const indexes: ExistingIndex[] = rows.map((r) => {
    const cols = (r.cols ?? []).map(String);
    return { schema: r.schema, table: r.table, name: r.name, keys: cols.slice(0, Number(r.nkeys)), include: cols.slice(Number(r.nkeys)), method: r.method, partial: Boolean(r.partial), valid: Boolean(r.valid) };
  });
  return { indexes, searchPath };
}
