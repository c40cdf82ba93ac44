// `tally check`: every KPI evaluated as of T with its status, target, the pace line's expected
// value and the gap, for CI. The value and status come from the KPI preview (one read-only query
// per KPI under a statement timeout); this module adds where each KPI is written (file and line
// of its `name:`), which KPIs cannot be evaluated, and the fail policy (`--fail-on`).
//
// Recording the values (check history) is recorded.ts's job; the CLI does it after evaluating.

import type { Diagnostic } from '../diagnostics.js';
import { kpiFormat, type KpiStatus } from './status.js';
import type { KpiDef } from '../model/types.js';
import type { Analysis, DefinitionInfo } from '../project.js';
import type { Db } from '../db/db.js';
import { preview, type KpiPreview } from '../preview/preview.js';
import type { KpiGroup } from '../protocol.js';

export interface CheckOptions {
  readonly asOf: Date;
  /** Statement timeout per KPI query, in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
}

export interface KpiCheck {
  readonly name: string;
  readonly value: number | null;
  readonly status: KpiStatus;
  readonly target: { op: string; value: number | readonly [number, number]; by?: string } | null;
  /** The pace line's value at T (null without a baseline). */
  readonly expected: number | null;
  /** value - (expected, else the target), positive when better; null when unknown. */
  readonly gap: number | null;
  readonly owner: string | null;
  /** Project-relative path of the file the KPI is written in. */
  readonly file: string;
  /** 1-based line of the KPI's `name:`. */
  readonly line: number;
  readonly guardrail_violated: boolean;
  readonly guardrail: { op: string; value: number | readonly [number, number] } | null;
  readonly format: 'number' | 'percent' | 'currency';
  /** With `breakdown:`: the value per group; groups with a target carry a status (and can fail the check). */
  readonly groups?: readonly KpiGroup[];
  /** With `breakdown:`: what the groups are (`plan`, `segments vip, dormant`). */
  readonly breakdown?: string;
}

export interface InvalidKpi {
  readonly name: string;
  readonly file: string;
  readonly line: number;
}

export interface CheckResult {
  readonly as_of: string;
  /** Evaluated KPIs, in project order (files by path, then document order). */
  readonly kpis: KpiCheck[];
  /** KPIs that have errors (their own or a dependency's): not evaluated. */
  readonly invalid: InvalidKpi[];
}

/** From worst to best: the order CI summaries list KPIs in. */
export const STATUS_ORDER: readonly KpiStatus[] = ['failed', 'missed', 'at_risk', 'on_track', 'met'];

/** The statuses `--fail-on` accepts (plus `none`). */
export const FAILABLE_STATUSES: readonly KpiStatus[] = ['failed', 'missed', 'at_risk'];
export const DEFAULT_FAIL_ON: readonly KpiStatus[] = ['failed', 'missed'];

/** Parses `--fail-on failed,missed,at_risk` or `none`; an error message for anything else. */
export function parseFailOn(text: string | undefined): { statuses: KpiStatus[] } | { error: string } {
  if (text === undefined) return { statuses: [...DEFAULT_FAIL_ON] };
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const allowed = `${FAILABLE_STATUSES.join(', ')} (a comma list) or none`;
  if (!items.length) return { error: `--fail-on needs a value: ${allowed}` };
  if (items.includes('none')) {
    if (items.length > 1) return { error: `--fail-on none cannot be combined with other statuses` };
    return { statuses: [] };
  }
  const out: KpiStatus[] = [];
  for (const s of items) {
    if (!(FAILABLE_STATUSES as readonly string[]).includes(s)) {
      const hint = s.replace(/[- ]/g, '_').toLowerCase();
      const dym = (FAILABLE_STATUSES as readonly string[]).includes(hint) ? ` (did you mean '${hint}'?)` : '';
      return { error: `--fail-on '${s}' is not a status it can fail on${dym}; use ${allowed}` };
    }
    if (!out.includes(s as KpiStatus)) out.push(s as KpiStatus);
  }
  return { statuses: out };
}

/** Whether the check fails the build under the given policy (a KPI, or a group of one with a target). */
export function checkFails(result: CheckResult, failOn: readonly KpiStatus[]): boolean {
  return result.invalid.length > 0 || result.kpis.some((k) => failOn.includes(k.status) || failingGroups(k, failOn).length > 0);
}

/** A KPI's groups whose target status fails the check under the policy. */
export function failingGroups(k: KpiCheck, failOn: readonly KpiStatus[]): KpiGroup[] {
  return (k.groups ?? []).filter((g) => g.status && failOn.includes(g.status));
}

/** KPIs sorted worst status first (stable: project order within a status). */
export function worstFirst<T extends { status: KpiStatus }>(kpis: readonly T[]): T[] {
  return kpis
    .map((k, i) => ({ k, i }))
    .sort((a, b) => STATUS_ORDER.indexOf(a.k.status) - STATUS_ORDER.indexOf(b.k.status) || a.i - b.i)
    .map((x) => x.k);
}

/** The 1-based line of a definition's `name:` value. */
export function definitionLine(analysis: Analysis, info: DefinitionInfo): number {
  const f = analysis.project.file(info.def.file);
  return f ? f.lines.position(info.def.nameSpan[0]).line + 1 : 1;
}

/**
 * Errors that stop KPIs from being evaluated: the error diagnostics in the files of every KPI that
 * has errors and of the definitions it depends on.
 */
export function kpiErrorDiagnostics(analysis: Analysis): Diagnostic[] {
  return analysis.blockingErrors(analysis.ofKind('Kpi').map((i) => i.def));
}

/** Evaluates every KPI of the project as of T; KPIs with errors are listed as invalid, never run. */
export async function checkKpis(db: Db, analysis: Analysis, opts: CheckOptions): Promise<CheckResult> {
  const kpis: KpiCheck[] = [];
  const invalid: InvalidKpi[] = [];
  for (const info of analysis.ofKind('Kpi')) {
    const def = info.def as KpiDef;
    const line = definitionLine(analysis, info);
    if (info.hasErrors || !info.resolved.query) {
      invalid.push({ name: def.name, file: def.file, line });
      continue;
    }
    const p = (await preview(db, analysis, 'kpi', def.name, { asOf: opts.asOf, sampleSize: 0, timeoutMs: opts.timeoutMs ?? 30_000 })) as KpiPreview;
    kpis.push({
      name: def.name,
      value: p.value,
      status: p.status,
      target: p.target ?? null,
      expected: p.expected,
      gap: p.gap,
      owner: def.owner ?? null,
      file: def.file,
      line,
      guardrail_violated: p.guardrail_violated,
      guardrail: def.guardrail ? { op: def.guardrail.op, value: def.guardrail.value } : null,
      format: kpiFormat(def),
      ...(p.groups && p.breakdown ? { groups: p.groups, breakdown: p.breakdown.by === 'segments' ? `segments ${p.breakdown.name}` : `${p.breakdown.by === 'attribute' ? '' : `${p.breakdown.by} `}${p.breakdown.name}` } : {}),
    });
  }
  return { as_of: opts.asOf.toISOString(), kpis, invalid };
}
