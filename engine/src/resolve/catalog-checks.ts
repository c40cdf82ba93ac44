// Checks against the live catalog: tables, columns and their types, event types.
//
// Without a connected database (`options.catalog` absent) nothing here reports: definitions are
// checked against themselves only. The Entity and Events rules are exactly these checks (their
// table, key, time, type and properties columns, declared attributes and columns); conditions ask
// for a table's columns to type an undeclared attribute or property (conditions.ts).

import type { EntityDef, EventsDef, Ref } from '../model/types.js';
import type { Span } from '../diagnostics.js';
import { findTable, tableNames, type CatalogTable, type CatalogType } from './catalog.js';
import type { ResolveContext } from './context.js';
import { dedupeTarget, entityFor } from './entities.js';
import { didYouMean } from '../suggest.js';

/** The catalog's table for a mapped table, reported as `unknown-table` when `report` and absent. */
export function catalogTable(cx: ResolveContext, t: { schema?: string; name: string; span: Span }, report: boolean): CatalogTable | undefined {
  const catalog = cx.options.catalog;
  if (!catalog || !t.name) return undefined;
  const found = findTable(catalog, t.schema, t.name);
  if (!found && report) {
    cx.unknown('unknown-table', 'table', { name: t.schema ? `${t.schema}.${t.name}` : t.name, span: t.span }, tableNames(catalog), ' in the database');
  }
  return found;
}

/** A mapped column exists in the table, with one of the `expected` types when given. */
export function checkColumn(cx: ResolveContext, table: CatalogTable | undefined, ref: Ref | undefined, what: string, expected?: CatalogType[]): void {
  if (!table || !ref) return;
  const col = table.columns.get(ref.name);
  if (!col) {
    cx.unknown('unknown-column', `column`, ref, table.columns.keys(), ` in table ${table.schema}.${table.name} (${what})`);
    return;
  }
  if (expected && !expected.includes(col.type)) {
    cx.error('type-mismatch', ref.span, `${what} '${ref.name}' is ${col.pgType}; it must be ${expected.join(' or ')}`);
  }
}

/** The Entity rule: its table, key, created_at, attributes and PII columns exist, with fitting types. */
export function checkEntity(cx: ResolveContext, e: EntityDef): void {
  const t = catalogTable(cx, e.table, true);
  checkColumn(cx, t, e.key, 'the key');
  checkColumn(cx, t, e.createdAt, 'created_at', ['timestamp']);
  for (const a of e.attributes.values()) {
    if (!t) continue;
    const col = t.columns.get(a.column);
    if (!col) cx.unknown('unknown-column', 'column', { name: a.column, span: a.span }, t.columns.keys(), ` in table ${t.schema}.${t.name}`);
    else if (a.type && col.type !== a.type && col.type !== 'other')
      cx.warn('type-mismatch', a.span, `attribute '${a.name}' is declared ${a.type} but column '${a.column}' is ${col.pgType}`);
  }
  for (const p of e.pii) {
    if (!e.attributes.has(p.name) && t && !t.columns.has(p.name)) cx.unknown('unknown-column', 'attribute or column', p, [...e.attributes.keys(), ...t.columns.keys()], ' (pii)');
  }
}

/** The Events rule: its entity, and its table and columns exist with fitting types. */
export function checkEvents(cx: ResolveContext, ev: EventsDef): void {
  const entity = ev.entity ? cx.lookup('Entity', ev.entity) : entityFor(cx, ev, undefined);
  void entity;
  const t = catalogTable(cx, ev.table, true);
  checkColumn(cx, t, ev.entityKey, 'entity_key');
  checkColumn(cx, t, ev.time, 'the time column', ['timestamp']);
  checkColumn(cx, t, ev.type, 'the type column', ['string']);
  checkColumn(cx, t, ev.properties, 'the properties column', ['json']);
  for (const c of ev.columns.values()) {
    if (!t) continue;
    const col = t.columns.get(c.column);
    if (!col) cx.unknown('unknown-column', 'column', { name: c.column, span: c.span }, t.columns.keys(), ` in table ${t.schema}.${t.name}`);
    else if (c.type && col.type !== c.type && col.type !== 'other')
      cx.warn('type-mismatch', c.span, `column '${c.name}' is declared ${c.type} but is ${col.pgType} in the database`);
  }
  checkDedupe(cx, ev, t);
  const failed = cx.options.catalog?.eventTypeProbeFailures?.get(ev.name);
  if (failed !== undefined && ev.type) {
    cx.warn('event-types-unchecked', ev.type.span, `the event types of ${t ? `${t.schema}.${t.name}` : ev.table.name} could not be read (${failed}): event names over Events '${ev.name}' are not checked against the data (no \`unknown-event-type\` warnings)`);
  }
}

/**
 * `dedupe_on`: each name is a role (`key`, `type`, `time`), a declared column or property, or a
 * column of the table. With the catalog, an undeclared name must be a column (`unknown-column`,
 * an error); offline, one close to a known name is most likely a typo (a warning). A repeated
 * name has no effect (`ignored-key`).
 */
function checkDedupe(cx: ResolveContext, ev: EventsDef, t: CatalogTable | undefined): void {
  if (!ev.dedupeOn) return;
  const seen = new Set<string>();
  const known = ['key', 'time', ...(ev.type ? ['type'] : []), ...ev.columns.keys(), ...(ev.properties ? ev.propertyTypes.keys() : [])];
  for (const r of ev.dedupeOn) {
    if (seen.has(r.name)) {
      cx.warn('ignored-key', r.span, `'${r.name}' is already in \`dedupe_on\``);
      continue;
    }
    seen.add(r.name);
    if (r.name === 'type' && !ev.type && !(t && t.columns.has('type'))) {
      cx.error('no-type-column', r.span, `Events '${ev.name}' maps no \`type\` column, so \`type\` cannot be part of \`dedupe_on\``);
      continue;
    }
    if (dedupeTarget(ev, r.name).kind !== 'table-column') continue;
    const hint = ev.properties ? `; a key of the \`properties\` column is declared in \`property_types\` first` : '';
    if (t) {
      if (!t.columns.has(r.name)) cx.unknown('unknown-column', 'column or property', r, [...known, ...t.columns.keys()], ` in table ${t.schema}.${t.name} (dedupe_on)${hint}`);
    } else {
      const dym = didYouMean(r.name, [...known, ev.entityKey.name, ev.time.name, ...(ev.type ? [ev.type.name] : [])]);
      if (dym.best && dym.best !== r.name)
        cx.warn('unknown-column', r.span, `'${r.name}' in \`dedupe_on\` is not a role, a declared column or a declared property${dym.text}; it is taken to be a column of the table (checked with a database connected)`, { span: r.span, text: dym.best });
    }
  }
}

/** An event type the live data has no events of yet: a warning (the data may be young), with "did you mean". */
export function checkEventType(cx: ResolveContext, stream: EventsDef, event: Ref, role?: 'goal'): void {
  const known = cx.options.catalog?.eventTypes.get(stream.name);
  if (known && known.length && !known.includes(event.name)) {
    const dym = didYouMean(event.name, known);
    const goalNote = role === 'goal' ? ', so no enrollment can convert' : '';
    cx.warn('unknown-event-type', event.span, `no '${event.name}' events in ${stream.name} yet${goalNote}${dym.text}`, dym.best ? { span: event.span, text: dym.best } : undefined);
  }
}
