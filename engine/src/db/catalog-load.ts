// Reads the live catalog (tables, columns, types; distinct event types) from a database.

import type { Definition, EventsDef } from '../model/types.js';
import { catalogType, findTable, type Catalog, type CatalogColumn, type CatalogTable } from '../resolve/catalog.js';
import type { Db } from './db.js';

export interface CatalogLoadOptions {
  /** Read distinct event types (one index-assisted scan per Events table); default true. */
  readonly eventTypes?: boolean;
  readonly timeoutMs?: number;
}

export async function loadCatalog(db: Db, definitions: readonly Definition[], options: CatalogLoadOptions = {}): Promise<Catalog> {
  const searchPath = (await db.query<{ s: string }>(`select unnest(current_schemas(false)) as s`)).rows.map((r) => r.s);
  const rows = (
    await db.query<{ table_schema: string; table_name: string; column_name: string; data_type: string }>(
      `select table_schema, table_name, column_name, data_type
         from information_schema.columns
        where table_schema not in ('pg_catalog', 'information_schema') and table_schema not like 'pg\\_%'
        order by table_schema, table_name, ordinal_position`,
    )
  ).rows;
  const tables = new Map<string, { schema: string; name: string; columns: Map<string, CatalogColumn> }>();
  for (const r of rows) {
    const k = `${r.table_schema}.${r.table_name}`;
    let t = tables.get(k);
    if (!t) tables.set(k, (t = { schema: r.table_schema, name: r.table_name, columns: new Map() }));
    t.columns.set(r.column_name, { name: r.column_name, type: catalogType(r.data_type), pgType: r.data_type });
  }
  const catalog: Catalog = { tables: tables as Map<string, CatalogTable>, searchPath, eventTypes: new Map(), propertyKeys: new Map() };
  if (options.eventTypes === false) return catalog;
  const eventTypes = catalog.eventTypes as Map<string, string[]>;
  for (const d of definitions) {
    if (d.kind !== 'Events') continue;
    const ev = d as EventsDef;
    if (!ev.type) continue;
    const t = findTable(catalog, ev.table.schema, ev.table.name);
    if (!t || !t.columns.has(ev.type.name)) continue;
    const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
    const tbl = `${ident(t.schema)}.${ident(t.name)}`;
    const c = ident(ev.type.name);
    // A loose index scan: one probe per distinct value when an index leads with the type column.
    const q = `with recursive t as (select min(${c}) as v from ${tbl} union all select (select min(${c}) from ${tbl} where ${c} > t.v) from t where t.v is not null) select v from t where v is not null limit 1000`;
    try {
      const r = await db.transaction((tx) => tx.query<{ v: string }>(q), { readOnly: true, timeoutMs: options.timeoutMs ?? 3000 });
      eventTypes.set(ev.name, r.rows.map((x) => String(x.v)));
    } catch {
      // Too slow or not readable: event types stay unchecked.
    }
  }
  return catalog;
}
