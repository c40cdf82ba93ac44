// Reads the live catalog (tables, columns, types; distinct event types) from a database.

import type { Definition, EventsDef } from '../model/types.js';
import { catalogType, findTable, type Catalog, type CatalogColumn, type CatalogTable } from '../resolve/catalog.js';
import { DbError, type Db } from './db.js';
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
    const timeoutMs = options.timeoutMs ?? EVENT_TYPE_PROBE_TIMEOUT_MS;
    try {
      eventTypes.set(ev.name, await readEventTypes(db, t.schema, t.name, ev.type.name, timeoutMs));
    } catch (e) {
      // Never swallowed: the resolver reports `event-types-unchecked` at the Events definition.
      const err = e as Error & { code?: string };
      failures.set(ev.name, err.code === 'db-timeout' ? `no answer within ${timeoutMs} ms` : redactSecrets(err.message ?? String(e)).split('\n')[0]!);
    }
  }
  return failures.size ? { ...catalog, eventTypeProbeFailures: failures } : catalog;
}

/** How long the event-type probe of one table may take. */
export const EVENT_TYPE_PROBE_TIMEOUT_MS = 3000;

/** At most this many distinct event types are read per table. */
export const EVENT_TYPE_LIMIT = 1000;

/**
 * The event types of one table, by one of two probes that PostgreSQL and a distributed PostgreSQL
 * (Citus) both run (ARCHITECTURE.md "Portability rules": no recursive CTE, which Citus runs on one
 * shard only):
 *  - with a btree index leading with the type column (the shop's `(event_name, occurred_at)`), a
 *    loose index scan driven from here: `select min(type) ... where type > $1`, one index probe per
 *    distinct type (on Citus a min per shard, merged on the coordinator); at 1M events, 12 types:
 *    a few milliseconds;
 *  - without one, one bounded `select distinct` (a hash aggregate over one scan; ~0.5 s at 1M rows
 *    on a busy 2-core machine).
 * At most EVENT_TYPE_LIMIT types, within `timeoutMs` in all (a DbError 'db-timeout' beyond it).
 */
export async function readEventTypes(db: Db, schema: string, table: string, column: string, timeoutMs: number): Promise<string[]> {
  const started = Date.now();
  return db.transaction(
    async (tx) => {
      const indexed = await tx.query<{ n: number }>(
        `select count(*) as n from pg_index i join pg_attribute a on a.attrelid = i.indrelid and a.attnum = i.indkey[0]
          where i.indrelid = $1::regclass and a.attname = $2 and i.indpred is null and i.indexprs is null`,
        [`${ident(schema)}.${ident(table)}`, column],
      );
      if (!Number(indexed.rows[0]?.n)) return (await tx.query<{ v: string }>(eventTypeProbe(schema, table, column))).rows.map((x) => String(x.v));
      const out: string[] = [];
      const next = eventTypeStep(schema, table, column);
      let last: string | null = null;
      while (out.length < EVENT_TYPE_LIMIT) {
        const r: { v: string | null } | undefined = (await tx.query<{ v: string | null }>(last === null ? next.first : next.after, last === null ? [] : [last])).rows[0];
        if (r?.v === null || r?.v === undefined) break;
        last = String(r.v);
        out.push(last);
        if (Date.now() - started > timeoutMs) throw new DbError(`reading the event types took over ${timeoutMs} ms`, 'db-timeout');
      }
      return out;
    },
    { readOnly: true, timeoutMs },
  );
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** The loose index scan's two statements: the smallest type, and the next one after `$1`. */
export function eventTypeStep(schema: string, table: string, column: string): { first: string; after: string } {
  const c = ident(column);
  const t = `${ident(schema)}.${ident(table)}`;
  return { first: `select min(${c}) as v from ${t}`, after: `select min(${c}) as v from ${t} where ${c} > $1` };
}

/** The probe without an index on the type column: one bounded `select distinct`. */
export function eventTypeProbe(schema: string, table: string, column: string): string {
  const c = ident(column);
  return `select distinct ${c} as v from ${ident(schema)}.${ident(table)} where ${c} is not null order by 1 limit ${EVENT_TYPE_LIMIT}`;
}
