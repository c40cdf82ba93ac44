// The live catalog: tables and columns as the database has them, and the event types seen.
//
// It is plain data, loaded by db/catalog-load.ts when a database is reachable and passed into
// analysis; without it the resolver checks against declared attributes and columns only.

import type { ValueType } from '../model/types.js';

export type CatalogType = ValueType | 'json' | 'other';

export interface CatalogColumn {
  readonly name: string;
  readonly type: CatalogType;
  readonly pgType: string;
}

export interface CatalogTable {
  readonly schema: string;
  readonly name: string;
  readonly columns: ReadonlyMap<string, CatalogColumn>;
}

export interface Catalog {
  /** Keyed by `schema.name`. */
  readonly tables: ReadonlyMap<string, CatalogTable>;
  /** Schemas in search-path order, for unqualified table names. */
  readonly searchPath: readonly string[];
  /** Distinct event types per Events definition name (when they could be read). */
  readonly eventTypes: ReadonlyMap<string, readonly string[]>;
  /** Property keys seen per Events definition name (a sample). */
  readonly propertyKeys: ReadonlyMap<string, readonly string[]>;
  /**
   * Events definitions whose event-type probe failed, with what failed (a timeout, the database's
   * error): reported as `event-types-unchecked`, since their event names go unchecked.
   */
  readonly eventTypeProbeFailures?: ReadonlyMap<string, string>;
}

export function findTable(catalog: Catalog, schema: string | undefined, name: string): CatalogTable | undefined {
  if (schema) return catalog.tables.get(`${schema}.${name}`);
  for (const s of catalog.searchPath) {
    const t = catalog.tables.get(`${s}.${name}`);
    if (t) return t;
  }
  return undefined;
}

export function tableNames(catalog: Catalog): string[] {
  const out: string[] = [];
  for (const t of catalog.tables.values()) out.push(catalog.searchPath.includes(t.schema) ? t.name : `${t.schema}.${t.name}`);
  return out;
}

/** Maps a PostgreSQL type name to a Tally value type. */
export function catalogType(pgType: string): CatalogType {
  const t = pgType.toLowerCase();
  if (/^(text|character varying|varchar|character|char|bpchar|name|citext|uuid)/.test(t)) return 'string';
  if (/^(smallint|integer|bigint|int[248]?|numeric|decimal|real|double precision|float[48]?)/.test(t)) return 'number';
  if (t === 'boolean' || t === 'bool') return 'boolean';
  if (/^(timestamp|date)/.test(t)) return 'timestamp';
  if (t === 'jsonb' || t === 'json') return 'json';
  return 'other';
}
