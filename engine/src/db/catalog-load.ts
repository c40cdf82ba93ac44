// Reads the live catalog (tables, columns, types; distinct event types) from a database.

import type { Definition, EventsDef } from '../model/types.js';
import { catalogType, findTable, type Catalog, type CatalogColumn, type CatalogTable } from '../resolve/catalog.js';
import type { Db } from './db.js';
import { redactSecrets } from '../redact.js';

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
  const failures = new Map<string, string>();
  for (const d of definitions) {
    if (d.kind !== 'Events') continue;
    const ev = d as EventsDef;
    if (!ev.type) continue;
    const t = findTable(catalog, ev.table.schema, ev.table.name);
    if (!t || !t.columns.has(ev.type.name)) continue;
    const q = eventTypeProbe(t.schema, t.name, ev.type.name);
    try {
      const r = await db.transaction((tx) => tx.query<{ v: string }>(q), { readOnly: true, timeoutMs: options.timeoutMs ?? EVENT_TYPE_PROBE_TIMEOUT_MS });
      eventTypes.set(ev.name, r.rows.map((x) => String(x.v)));
    } catch (e) {
      // Never swallowed: the resolver reports `event-types-unchecked` at the Events definition.
      const err = e as Error & { code?: string };
      failures.set(ev.name, err.code === 'db-timeout' ? `no answer within ${options.timeoutMs ?? EVENT_TYPE_PROBE_TIMEOUT_MS} ms` : redactSecrets(err.message ?? String(e)).split('\n')[0]!);
    }
  }
  return failures.size ? { ...catalog, eventTypeProbeFailures: failures } : catalog;
}

/** How long the event-type probe of one table may take. */
export const EVENT_TYPE_PROBE_TIMEOUT_MS = 3000;

/** At most this many distinct event types are read per table. */
export const EVENT_TYPE_LIMIT = 1000;

/**
 * The event-type probe: a bounded `select distinct` (a hash aggregate, or a Unique over an index that
 * leads with the type column), which PostgreSQL and a distributed PostgreSQL (Citus: pushed down to
 * every shard, merged on the coordinator) both run. It replaced a recursive CTE (a loose index scan)
 * that Citus refuses on distributed tables (ARCHITECTURE.md "Portability rules").
 */
export function eventTypeProbe(schema: string, table: string, column: string): string {
  const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;
  const c = ident(column);
  return `select distinct ${c} as v from ${ident(schema)}.${ident(table)} where ${c} is not null order by 1 limit ${EVENT_TYPE_LIMIT}`;
}
