// Which entity and which stream a definition means, and their IR.
//
// `entity:` and `stream:` are references (`lookup`); when they are left out, the project's only
// entity, or the only Events that fits, is meant. That choice reads a kind's whole membership, so
// it goes through `kindSet`: adding a second entity re-resolves every definition that relied on
// there being one (incremental analysis, ARCHITECTURE.md).

import type { IrEntity, IrStream } from '../ir/ir.js';
import type { Definition, EntityDef, EventQuery, EventsDef, Ref } from '../model/types.js';
import type { ResolveContext } from './context.js';

export function irEntity(e: EntityDef): IrEntity {
  return { name: e.name, table: { schema: e.table.schema, name: e.table.name }, key: e.key.name, createdAt: e.createdAt?.name };
}

export function irStream(s: EventsDef): IrStream {
  return { name: s.name, table: { schema: s.table.schema, name: s.table.name }, entityKey: s.entityKey.name, time: s.time.name, typeColumn: s.type?.name };
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
