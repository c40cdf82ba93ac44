// Previews: live figures for one definition as of T, read-only and under a statement timeout.
// The JSON shapes are the CLI contract (LANGUAGE.md §9); extra fields are allowed.

import type { Analysis } from '../project.js';
import { evaluateKpi, type KpiEvaluation } from '../kpi-status.js';
import type { EntityDef, Kind, KpiDef, LifecycleDef, ScoreDef } from '../model/types.js';
import { compileDistribution, compileMemberCount, compileMemberSample, compileMetric, compileValueSample, type SqlOptions } from '../sql/compile.js';
import type { Db } from './db.js';
import { bandCase } from '../resolve/bands.js';
import { didYouMean } from '../resolve/suggest.js';

export interface PreviewOptions {
  readonly asOf: Date;
  readonly sampleSize?: number;
  readonly timeoutMs?: number;
}

export type Row = Record<string, unknown>;

export interface SegmentPreview {
  kind: 'segment';
  name: string;
  count: number;
  sample: Row[];
  entity: string;
  as_of: string;
  sql: string;
}
export interface ValuesPreview {
  kind: 'trait' | 'score';
  name: string;
  count: number;
  entities: number;
  sample: { key: unknown; value: unknown }[];
  bands?: Record<string, number>;
  as_of: string;
  sql: string;
}
export interface LifecyclePreview {
  kind: 'lifecycle';
  name: string;
  stages: Record<string, number>;
  total: number;
  as_of: string;
  sql: string;
}
export interface KpiPreview extends KpiEvaluation {
  kind: 'kpi';
  name: string;
  owner?: string;
  as_of: string;
  sql: string;
}

export type Preview = SegmentPreview | ValuesPreview | LifecyclePreview | KpiPreview;

export const PREVIEW_KINDS = ['segment', 'trait', 'score', 'lifecycle', 'kpi'] as const;
export type PreviewKind = (typeof PREVIEW_KINDS)[number];

export const KIND_OF: Record<PreviewKind, Kind> = { segment: 'Segment', trait: 'Trait', score: 'Score', lifecycle: 'Lifecycle', kpi: 'Kpi' };

/** A preview that could not run, with what to do about it. */
export class PreviewError extends Error {
  constructor(
    message: string,
    readonly code: 'not-found' | 'invalid' | 'unsupported',
  ) {
    super(message);
  }
}

export function paramOptions(asOf: Date): SqlOptions {
  return { asOf: { kind: 'instant', at: asOf }, literals: 'param' };
}

/** Masks a PII value so a preview shows its shape, never its content. */
export function maskValue(v: unknown): unknown {
  if (v === null || v === undefined) return v;
  const s = String(v);
  const at = s.indexOf('@');
  if (at > 0) return `${s[0]}***${s.slice(at)}`;
  return s.length <= 1 ? '*' : `${s[0]}***`;
}

export function piiColumns(entity: EntityDef): Set<string> {
  const out = new Set<string>();
  for (const p of entity.pii) out.add(entity.attributes.get(p.name)?.column ?? p.name);
  return out;
}

export async function preview(db: Db, analysis: Analysis, kind: PreviewKind, name: string, opts: PreviewOptions): Promise<Preview> {
  const info = analysis.get(KIND_OF[kind], name);
  if (!info) {
    const names = analysis.ofKind(KIND_OF[kind]).map((i) => i.def.name);
    const dym = didYouMean(name, names);
    throw new PreviewError(`no ${kind} named '${name}'${dym.text || (names.length ? `; there are: ${names.join(', ')}` : `; the project has no ${kind}s`)}`, 'not-found');
  }
  if (info.hasErrors || !info.resolved.query) {
    throw new PreviewError(`${kind} '${name}' has errors; run \`tally validate\` and fix them first`, 'invalid');
  }
  const q = info.resolved.query;
  const sqlOpts = paramOptions(opts.asOf);
  const asOfIso = opts.asOf.toISOString();
  const limit = opts.sampleSize ?? 10;
  const run = <T>(fn: (tx: Db) => Promise<T>) => db.transaction(fn, { readOnly: true, timeoutMs: opts.timeoutMs ?? 5000 });

  if (kind === 'segment' && q.k === 'members') {
    const count = compileMemberCount(q, sqlOpts);
    const sample = compileMemberSample(q, sqlOpts, limit);
    const entity = analysis.get('Entity', q.entity.name)!.def as EntityDef;
    const pii = piiColumns(entity);
    return run(async (tx) => {
      const c = await tx.query<{ count: number }>(count.sql, count.parameters);
      const s = limit > 0 ? await tx.query<Row>(sample.sql, sample.parameters) : { rows: [] };
      return {
        kind: 'segment',
        name,
        count: Number(c.rows[0]?.count ?? 0),
        sample: s.rows.map((r) => maskRow(r, pii)),
        entity: q.entity.name,
        as_of: asOfIso,
        sql: count.sql,
      };
    });
  }
  if ((kind === 'trait' || kind === 'score') && q.k === 'values') {
    const { stats, sample } = compileValueSample(q, sqlOpts, limit);
    const bandsQuery =
      kind === 'score' && (info.def as ScoreDef).bands.length
        ? compileDistribution({ ...q, value: bandCase(info.def as ScoreDef, q.value) }, sqlOpts)
        : undefined;
    return run(async (tx) => {
      const st = await tx.query<{ entities: number; count: number }>(stats.sql, stats.parameters);
      const sa = limit > 0 ? await tx.query<{ key: unknown; value: unknown }>(sample.sql, sample.parameters) : { rows: [] };
      const out: ValuesPreview = {
        kind,
        name,
        count: Number(st.rows[0]?.count ?? 0),
        entities: Number(st.rows[0]?.entities ?? 0),
        sample: sa.rows.map((r) => ({ key: r.key, value: r.value })),
        as_of: asOfIso,
        sql: stats.sql,
      };
      if (bandsQuery) {
        const b = await tx.query<{ value: string | null; count: number }>(bandsQuery.sql, bandsQuery.parameters);
        const bands: Record<string, number> = {};
        for (const band of (info.def as ScoreDef).bands) bands[band.name.name] = 0;
        for (const r of b.rows) if (r.value !== null) bands[r.value] = Number(r.count);
        out.bands = bands;
      }
      return out;
    });
  }
  if (kind === 'lifecycle' && q.k === 'values') {
    const dist = compileDistribution(q, sqlOpts);
    return run(async (tx) => {
      const r = await tx.query<{ value: string | null; count: number }>(dist.sql, dist.parameters);
      const stages: Record<string, number> = {};
      for (const s of (info.def as LifecycleDef).stages) stages[s.name.name] = 0;
      let total = 0;
      for (const row of r.rows) {
        if (row.value !== null) stages[row.value] = Number(row.count);
        total += Number(row.count);
      }
      return { kind: 'lifecycle', name, stages, total, as_of: asOfIso, sql: dist.sql };
    });
  }
  if (kind === 'kpi' && q.k === 'metric') {
    const m = compileMetric(q.metric, sqlOpts);
    return run(async (tx) => {
      const r = await tx.query<{ value: number | null }>(m.sql, m.parameters);
      const raw = r.rows[0]?.value;
      const value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
      const def = info.def as KpiDef;
      return { kind: 'kpi', name, ...evaluateKpi(def, value, opts.asOf), ...(def.owner ? { owner: def.owner } : {}), as_of: asOfIso, sql: m.sql };
    });
  }
  throw new PreviewError(`cannot preview ${kind} '${name}'`, 'unsupported');
}

function maskRow(r: Row, pii: Set<string>): Row {
  if (!pii.size) return r;
  const out: Row = {};
  for (const [k, v] of Object.entries(r)) out[k] = pii.has(k) ? maskValue(v) : v;
  return out;
}

