// Activation: a `kind: Destination` and a `kind: Sync` as IR (`IrDestination`, `IrSync`).
//
// Every reference is checked here with did-you-mean (the segment, the campaign and its variant,
// each field, the destination), and the destination's settings where they are written: a URL that
// is not absolute http(s) (`bad-url`), plain http to a host that is not local (`insecure-url`,
// warning), an environment variable it names that is unset (`secret-unset`: a warning here, so the
// editor shows it; `tally sync` refuses, sync/run.ts). The environment is read only for whether a
// variable is set, never for its value: secrets never enter the IR, a fingerprint or a message.

import type * as ir from '../ir/ir.js';
import type { DestinationDef, EntityDef, Ref, SyncDef } from '../model/types.js';
import { catalogTable } from './catalog-checks.js';
import { attribute } from './conditions.js';
import type { Body, ResolveContext } from './context.js';
import { entityFor, irEntity } from './entities.js';

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/** Whether an environment variable is set (and not empty), without reading it into anything. */
export function envIsSet(name: string, env: Readonly<Record<string, string | undefined>> | undefined = typeof process !== 'undefined' ? process.env : undefined): boolean {
  return !!env && typeof env[name] === 'string' && env[name] !== '';
}

/** Whether a URL's host is this machine (plain http is fine there). */
export function isLocalHost(host: string): boolean {
  return LOCAL_HOSTS.has(host.toLowerCase()) || /^127\.\d+\.\d+\.\d+$/.test(host) || host.toLowerCase().endsWith('.localhost');
}

export function resolveDestination(cx: ResolveContext, def: DestinationDef): Body {
  const t = def.target;
  if (!t) return {};
  if (t.k === 'webhook') {
    const w = t.webhook;
    let url: URL | undefined;
    try {
      url = new URL(w.url);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:') || !url.hostname) {
      cx.error('bad-url', w.urlSpan, `'${w.url.length > 80 ? `${w.url.slice(0, 80)}…` : w.url}' is not an absolute http(s) URL; write e.g. https://hooks.example.com/tally`);
      cx.markBroken();
      return {};
    }
    if (url.username || url.password) {
      cx.error('bad-url', w.urlSpan, 'the URL carries credentials (user:password@); never write a secret in a definition: sign with `secret_env`, or pass a token through a header the receiver expects');
      cx.markBroken();
      return {};
    }
    if (url.protocol === 'http:' && !isLocalHost(url.hostname)) cx.warn('insecure-url', w.urlSpan, `plain http to ${url.hostname}: the audience and its fields travel unencrypted; use https (http is for a local receiver such as 127.0.0.1)`);
    if (w.secretEnv && !envIsSet(w.secretEnv.name)) cx.warn('secret-unset', w.secretEnv.span, `the environment variable ${w.secretEnv.name} is not set here; \`tally sync\` refuses to deliver to '${def.name}' without its signing secret`);
    return {};
  }
  if (t.k === 'postgres' && !envIsSet(t.urlEnv.name)) cx.warn('secret-unset', t.urlEnv.span, `the environment variable ${t.urlEnv.name} is not set here; \`tally sync\` needs it to connect to the destination database of '${def.name}'`);
  return {};
}

/** The destination as IR (settings only: never a secret). */
export function irDestination(def: DestinationDef): ir.IrDestination | undefined {
  const t = def.target;
  if (!t) return undefined;
  if (t.k === 'webhook') {
    const w = t.webhook;
    return { k: 'webhook', name: def.name, url: w.url, headers: w.headers, secretEnv: w.secretEnv?.name ?? null, batchSize: w.batchSize, rateLimit: w.rateLimit ?? null, timeoutMs: w.timeoutMs, maxAttempts: w.maxAttempts, backoffMs: w.backoffMs };
  }
  if (t.k === 'folder') return { k: 'folder', name: def.name, path: t.path, format: t.format };
  const dot = t.table.name.indexOf('.');
  return { k: 'postgres', name: def.name, urlEnv: t.urlEnv.name, table: dot > 0 ? { schema: t.table.name.slice(0, dot), name: t.table.name.slice(dot + 1) } : { name: t.table.name } };
}

export function resolveSync(cx: ResolveContext, def: SyncDef): Body {
  let entity: EntityDef | undefined;
  let source: ir.IrSync['source'] | undefined;
  let ok = true;
  const src = def.source;
  if (!src) ok = false;
  else if (src.k === 'segment') {
    const seg = cx.lookup('Segment', src.segment);
    const q = seg ? cx.guard(seg, src.segment.span, undefined, (r) => (r.broken ? undefined : r.query)) : undefined;
    if (q?.k === 'members') {
      entity = cx.kindSet('Entity').get(q.entity.name) as EntityDef | undefined;
      source = { k: 'segment', segment: src.segment.name, members: q };
    } else ok = false;
  } else {
    const c = cx.lookup('Campaign', src.campaign);
    const camp = c ? cx.guard(c, src.campaign.span, undefined, (r) => r.campaign) : undefined;
    if (c) {
      const names = c.variants.map((v) => v.name.name);
      if (!names.includes(src.variant.name)) {
        cx.unknown('unknown-variant', `variant in campaign '${c.name}'`, src.variant, names, names.length ? ` (variants: ${names.join(', ')})` : '');
        ok = false;
      }
    }
    if (camp) {
      entity = cx.kindSet('Entity').get(camp.entity.name) as EntityDef | undefined;
      source = { k: 'campaign', campaign: c!.name, variant: src.variant.name };
    } else ok = false;
  }

  // A source that did not resolve still leaves the fields checkable against the project's only entity.
  if (!entity && cx.kindSet('Entity').size === 1) entity = entityFor(cx, def, undefined);
  const fields: ir.IrSyncField[] = [];
  const seen = new Set<string>();
  const field = (ref: Ref, from: ir.IrSyncField['from'], value: () => { expr: ir.IrExpr; type: ir.IrSyncField['type'] } | undefined) => {
    if (seen.has(ref.name)) {
      cx.error('duplicate-field', ref.span, `another field of this sync is already named '${ref.name}'; each field is sent under its name, so names are unique across attributes, traits and scores`);
      ok = false;
      return;
    }
    seen.add(ref.name);
    const v = value();
    if (!v) ok = false;
    else fields.push({ name: ref.name, from, value: v.expr, type: v.type });
  };
  for (const ref of def.fields.attributes) {
    field(ref, 'attribute', () => {
      if (!entity) return undefined;
      const table = catalogTable(cx, entity.table, false);
      if (!entity.attributes.has(ref.name) && !table?.columns.has(ref.name)) {
        cx.site('attribute', `${entity.name}.${ref.name}`, ref.span);
        cx.unknown('unknown-field', `attribute of entity '${entity.name}'`, ref, [...entity.attributes.keys(), ...(table?.columns.keys() ?? [])], ' to send; fields are the attributes, traits and scores of the synced entity');
        return undefined;
      }
      const t = attribute(cx, entity, ref);
      return t ? { expr: t.expr, type: t.type === 'unknown' ? 'string' : t.type } : undefined;
    });
  }
  for (const [list, kind] of [
    [def.fields.traits, 'Trait'],
    [def.fields.scores, 'Score'],
  ] as const) {
    for (const ref of list) {
      field(ref, kind === 'Trait' ? 'trait' : 'score', () => {
        if (!cx.peek(kind, ref.name)) {
          cx.site(kind, ref.name, ref.span);
          cx.unknown('unknown-field', kind.toLowerCase(), ref, cx.kindSet(kind).keys(), ' to send; fields are the attributes, traits and scores of the synced entity');
          return undefined;
        }
        const d = cx.lookup(kind, ref)!;
        return cx.guard(d, ref.span, undefined, (r) => {
          if (r.broken || r.query?.k !== 'values') return undefined;
          if (entity && r.query.entity.name !== entity.name) {
            cx.error('entity-mismatch', ref.span, `${kind.toLowerCase()} '${ref.name}' is about ${r.query.entity.name}, not ${entity.name} like the synced audience`);
            return undefined;
          }
          return { expr: r.query.value, type: r.query.valueType };
        });
      });
    }
  }

  let destination: ir.IrDestination | undefined;
  if (def.destination) {
    const d = cx.lookup('Destination', def.destination);
    destination = d ? irDestination(d) : undefined;
  }
  if (!destination) ok = false;
  if (!ok || !entity || !source || !destination) {
    cx.markBroken();
    return entity ? { entity: irEntity(entity) } : {};
  }
  const sync: ir.IrSync = { name: def.name, entity: irEntity(entity), source, fields, mode: def.mode, destination };
  return { entity: sync.entity, sync };
}
