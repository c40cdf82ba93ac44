// Which entity and which stream a definition means, and their IR.
//
// `entity:` and `stream:` are references (`lookup`); when they are left out, the project's only
// entity, or the only Events that fits, is meant. That choice reads a kind's whole membership, so
// it goes through `kindSet`: adding a second entity re-resolves every definition that relied on
// there being one (incremental analysis, ARCHITECTURE.md).

import type { IrDedupe, IrEntity, IrExpr, IrFx, IrStream } from '../ir/ir.js';
import type { Definition, EntityDef, EventQuery, EventsDef, Ref } from '../model/types.js';
import type { ResolveContext } from './context.js';

export function irEntity(e: EntityDef): IrEntity {
  return { name: e.name, table: { schema: e.table.schema, name: e.table.name }, key: e.key.name, createdAt: e.createdAt?.name };
}

export function irStream(s: EventsDef, fx?: IrFx): IrStream {
  const base: IrStream = { name: s.name, table: { schema: s.table.schema, name: s.table.name }, entityKey: s.entityKey.name, time: s.time.name, typeColumn: s.type?.name };
  // Absent `dedupe_on` (and currency conversion) adds no key, so every existing IR and fingerprint stays as it was.
  const deduped = s.dedupeOn && s.dedupeOn.length ? { ...base, dedupe: irDedupe(s) } : base;
  return fx ? { ...deduped, fx } : deduped;
}

/**
 * What a `dedupe_on` name means, from the Events definition alone (so the IR is the same with and
 * without a database): the role names `key`, `type` (when the stream maps one) and `time`; a
 * declared `columns` entry; a `property_types` key (of the `properties` column); else a column of
 * the table (checked against the catalog by the Events rule, catalog-checks.ts).
 */
export function dedupeTarget(s: EventsDef, name: string): { kind: 'role' | 'column' | 'property' | 'table-column'; expr: IrExpr } {
  if (name === 'key') return { kind: 'role', expr: { k: 'ecol', col: s.entityKey.name, type: 'unknown' } };
  if (name === 'time') return { kind: 'role', expr: { k: 'ecol', col: s.time.name, type: 'timestamp' } };
  if (name === 'type' && s.type) return { kind: 'role', expr: { k: 'ecol', col: s.type.name, type: 'string' } };
  const col = s.columns.get(name);
  if (col) return { kind: 'column', expr: { k: 'ecol', col: col.column, type: col.type ?? 'unknown' } };
  if (s.properties && s.propertyTypes.has(name)) return { kind: 'property', expr: { k: 'eprop', col: s.properties.name, key: name, type: 'string' } };
  return { kind: 'table-column', expr: { k: 'ecol', col: name, type: 'unknown' } };
}

function irDedupe(s: EventsDef): IrDedupe {
  const on: IrExpr[] = [];
  const seen = new Set<string>();
  for (const r of s.dedupeOn ?? []) {
    const e = dedupeTarget(s, r.name).expr;
    const k = e.k === 'eprop' ? `p:${e.key}` : `c:${(e as { col: string }).col}`;
    if (seen.has(k)) continue;
    seen.add(k);
    on.push(e);
  }
  const tiebreak = [s.entityKey.name, ...(s.type ? [s.type.name] : []), ...[...s.columns.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map((c) => c.column)];
  const unique = tiebreak.filter((c, i) => tiebreak.indexOf(c) === i && c !== s.time.name);
  return { on, tiebreak: unique, ...(s.properties ? { properties: s.properties.name } : {}) };
}

/** The entity a definition is about: its `entity:`, else the project's only entity (reported when there is none or several). */
export function entityFor(cx: ResolveContext, def: Definition, ref: Ref | undefined): EntityDef | undefined {
  if (ref) return cx.lookup('Entity', ref);
  const entities = cx.kindSet('Entity');
  if (entities.size === 1) {
    const only = entities.values().next().value as EntityDef;
    cx.dependOn('Entity', only.name);
    return only;
  }
  if (entities.size === 0) cx.error('no-entity', def.nameSpan, 'the project has no `kind: Entity`; map the table of customers (or accounts) first');
  else cx.error('ambiguous-entity', def.nameSpan, `the project has ${entities.size} entities (${[...entities.keys()].join(', ')}); say which with \`entity:\``);
  cx.markBroken();
  return undefined;
}

/**
 * The entity a stream's keys belong to (its `entity:`, else the project's only entity), without
 * reporting: the Events definition reports its own problems; a KPI over it is just unusable.
 */
export function streamEntity(cx: ResolveContext, s: EventsDef): IrEntity | undefined {
  let e: EntityDef | undefined;
  if (s.entity) {
    e = cx.peek('Entity', s.entity.name);
  } else {
    const entities = cx.kindSet('Entity');
    if (entities.size === 1) e = entities.values().next().value as EntityDef;
  }
  if (!e) {
    cx.markBroken();
    return undefined;
  }
  cx.dependOn('Entity', e.name);
  return irEntity(e);
}

/** The stream an event query reads: `stream:`, else the entity's only stream (with a type column when `event:` is given). */
export function streamFor(cx: ResolveContext, q: EventQuery, entity: EntityDef | undefined): EventsDef | undefined {
  if (q.stream) return cx.lookup('Events', q.stream);
  const all = [...cx.kindSet('Events').values()] as EventsDef[];
  let candidates = entity ? all.filter((s) => (s.entity ? s.entity.name === entity.name : true)) : all;
  if (q.event) candidates = candidates.filter((s) => s.type);
  if (candidates.length === 1) {
    cx.dependOn('Events', candidates[0]!.name);
    return candidates[0];
  }
  const at = q.event?.span ?? q.span;
  if (candidates.length === 0) {
    cx.error(
      'no-stream',
      at,
      all.length === 0
        ? 'the project has no `kind: Events`; map the events table first'
        : q.event
          ? 'no Events definition has a `type` column, so `event:` cannot pick a type; add `type:` to the Events or use `stream:`'
          : 'no Events definition belongs to this entity',
    );
  } else cx.error('ambiguous-stream', at, `several Events could hold these events (${candidates.map((c) => c.name).join(', ')}); say which with \`stream:\``);
  cx.markBroken();
  return undefined;
}
