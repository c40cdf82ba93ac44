// Lowering of `kind: Destination` and `kind: Sync` (activation): what the schema cannot say well
// (exactly one destination form; a source that is a segment or a campaign with its variant), and
// the defaults of a webhook's delivery settings. URL checks and the environment live in
// resolve/sync.ts, where every other reference is checked.

import type { DiagnosticSink } from '../diagnostics.js';
import { getPair, type YMap } from '../syntax/nodes.js';
import type { DefinitionBase, DestinationDef, Ref, SyncDef, SyncMode, WebhookSettings } from './types.js';

/** The readers of lower.ts's Lowerer this file uses (an interface, so no import cycle). */
interface Lowerer {
  optRef(map: YMap, key: string): Ref | undefined;
  optString(map: YMap, key: string): string | undefined;
  stringList(map: YMap, key: string): Ref[];
}

export const DESTINATION_FORMS = ['webhook', 'folder', 'postgres'] as const;

/** `500ms`, `10s`, `2m` in milliseconds (the schema checked the pattern). */
export function waitMs(text: string | undefined, fallback: number): number {
  const m = text ? /^([1-9][0-9]*)(ms|s|m)$/.exec(text) : null;
  if (!m) return fallback;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 's' ? n * 1000 : n * 60_000;
}

function num(map: YMap, key: string): number | undefined {
  const p = getPair(map, key);
  return p && p.value.kind === 'scalar' && typeof p.value.value === 'number' && Number.isFinite(p.value.value) ? p.value.value : undefined;
}

export function lowerDestination(l: Lowerer, sink: DiagnosticSink, base: DefinitionBase, root: YMap): DestinationDef {
  const present = DESTINATION_FORMS.map((f) => getPair(root, f)).filter((p) => !!p);
  if (present.length !== 1) {
    const span = present[1]?.key.span ?? base.nameSpan;
    sink.error('destination-form', span, present.length ? `a destination is exactly one of ${DESTINATION_FORMS.join(', ')}; this one has ${present.map((p) => p.key.value).join(' and ')}` : `say where to deliver: exactly one of \`webhook: { url: … }\`, \`folder: { path: … }\` or \`postgres: { url_env: …, table: … }\``);
    return { ...base, kind: 'Destination', target: undefined };
  }
  const pair = present[0]!;
  const form = pair.key.value as (typeof DESTINATION_FORMS)[number];
  if (pair.value.kind !== 'map') return { ...base, kind: 'Destination', target: undefined };
  const m = pair.value;
  if (form === 'webhook') {
    const urlPair = getPair(m, 'url');
    const url = l.optString(m, 'url');
    if (!urlPair || url === undefined) return { ...base, kind: 'Destination', target: undefined };
    const headersNode = getPair(m, 'headers')?.value;
    const headers = headersNode?.kind === 'map' ? headersNode.pairs.map((p) => ({ name: String(p.key.value), value: l.optString(headersNode, String(p.key.value)) ?? '' })) : [];
    const webhook: WebhookSettings = {
      url,
      urlSpan: urlPair.value.span,
      headers,
      secretEnv: l.optRef(m, 'secret_env'),
      batchSize: num(m, 'batch_size') ?? 500,
      rateLimit: num(m, 'rate_limit'),
      timeoutMs: waitMs(l.optString(m, 'timeout'), 10_000),
      maxAttempts: num(m, 'max_attempts') ?? 5,
      backoffMs: waitMs(l.optString(m, 'backoff'), 500),
    };
    return { ...base, kind: 'Destination', target: { k: 'webhook', webhook } };
  }
  if (form === 'folder') {
    const p = getPair(m, 'path');
    const path = l.optString(m, 'path');
    if (!p || path === undefined) return { ...base, kind: 'Destination', target: undefined };
    return { ...base, kind: 'Destination', target: { k: 'folder', path, pathSpan: p.value.span, format: l.optString(m, 'format') === 'csv' ? 'csv' : 'jsonl' } };
  }
  const urlEnv = l.optRef(m, 'url_env');
  const table = l.optRef(m, 'table');
  if (!urlEnv || !table) return { ...base, kind: 'Destination', target: undefined };
  return { ...base, kind: 'Destination', target: { k: 'postgres', urlEnv, table } };
}

export function lowerSync(l: Lowerer, sink: DiagnosticSink, base: DefinitionBase, root: YMap): SyncDef {
  const srcPair = getPair(root, 'source');
  let source: SyncDef['source'];
  if (srcPair?.value.kind === 'map') {
    const s = srcPair.value;
    const segment = l.optRef(s, 'segment');
    const campaign = l.optRef(s, 'campaign');
    const variant = l.optRef(s, 'variant');
    if (segment && (campaign || variant)) sink.error('sync-source', getPair(s, campaign ? 'campaign' : 'variant')!.key.span, 'a sync reads a segment, or a campaign\'s variant, not both');
    else if (segment) source = { k: 'segment', segment };
    else if (campaign && variant) source = { k: 'campaign', campaign, variant };
    else if (campaign) sink.error('sync-source', getPair(s, 'campaign')!.key.span, `a campaign source needs \`variant\`: the variant whose enrollments are synced, e.g. \`{ campaign: ${campaign.name}, variant: treatment }\``);
    else if (variant) sink.error('sync-source', getPair(s, 'variant')!.key.span, '`variant` needs `campaign`: the campaign it belongs to');
    else sink.error('sync-source', srcPair.value.span, 'say who is synced: `{ segment: NAME }` or `{ campaign: NAME, variant: NAME }`');
  }
  const f = getPair(root, 'fields')?.value;
  const fm = f?.kind === 'map' ? f : undefined;
  const mode = l.optString(root, 'mode');
  return {
    ...base,
    kind: 'Sync',
    source,
    fields: { attributes: fm ? l.stringList(fm, 'attributes') : [], traits: fm ? l.stringList(fm, 'traits') : [], scores: fm ? l.stringList(fm, 'scores') : [] },
    mode: (mode === 'upsert' || mode === 'add_only' ? mode : 'mirror') as SyncMode,
    destination: l.optRef(root, 'destination'),
  };
}
