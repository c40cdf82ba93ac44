// Renderings of a plan: text for a terminal, markdown for a pull-request comment or a job summary
// (short: a headline, one table with the riskiest change first, details folded away), and json.
// The CLI and the language server (the editor's plan view) both render through here.

import { formatKpiValue, type KpiStatus } from '../kpi/status.js';
import type { KpiGroup } from '../protocol.js';
import type { KpiDef } from '../model/types.js';
import type { Diagnostic } from '../diagnostics.js';
import type { Analysis } from '../project.js';
import type { Impact, Plan, PlanItem, SyncImpact } from './plan.js';

const n = (v: number) => v.toLocaleString('en-US');
const STATUS_TEXT: Record<KpiStatus, string> = { met: 'met', on_track: 'on track', at_risk: 'at risk', missed: 'missed', failed: 'failed' };
const SIGN: Record<PlanItem['status'], string> = { new: '+', changed: '~', removed: '−', unchanged: '=' };

function kpiValue(analysis: Analysis | undefined, name: string, v: number | null): string {
  const info = analysis?.get('Kpi', name);
  if (info) return formatKpiValue(info.def as KpiDef, v);
  return v === null ? 'n/a' : String(Math.round(v * 1000) / 1000);
}

/** A breakdown's groups before/after (`; by group: DE 1.2 -> 1.4, (null) n/a -> 0.3`), changed groups first, at most 6. */
function groupsLine(analysis: Analysis | undefined, name: string, before: readonly KpiGroup[] | undefined, after: readonly KpiGroup[] | undefined, arrow: string): string {
  if (!after?.length && !before?.length) return '';
  const show = (g: KpiGroup | undefined) => (g ? `${kpiValue(analysis, name, g.value)}${g.status ? ` (${STATUS_TEXT[g.status]})` : ''}` : 'n/a');
  const labels = [...new Set([...(after ?? []).map((g) => g.group), ...(before ?? []).map((g) => g.group)])];
  const parts = labels.map((l) => {
    const b = before?.find((g) => g.group === l);
    const a = after?.find((g) => g.group === l);
    const changed = !before || b?.value !== a?.value || b?.status !== a?.status;
    return { changed, text: before ? `${l} ${show(b)} ${arrow} ${show(a)}` : `${l} ${show(a)}` };
  });
  const shown = [...parts.filter((p) => p.changed), ...parts.filter((p) => !p.changed)].slice(0, 6);
  return `; by group: ${shown.map((p) => p.text).join(', ')}${parts.length > shown.length ? `, … ${parts.length - shown.length} more` : ''}`;
}

function versionMove(i: PlanItem): string {
  if (i.status === 'removed') return `v${i.version}`;
  if (i.deployedVersion === null) return `v${i.version}`;
  if (i.restored) return `v${i.deployedVersion} → v${i.version} (rollback)`;
  return i.deployedVersion === i.version ? `v${i.version} (deployed v${i.deployedVersion})` : `v${i.deployedVersion} → v${i.version}`;
}

/** One line saying what the change does to the numbers. */
export function impactLine(i: PlanItem, analysis?: Analysis, plain = false): string {
  const m: Impact = i.impact;
  const arrow = plain ? '->' : '→';
  const minus = plain ? '-' : '−';
  switch (m.k) {
    case 'segment':
      if (i.status === 'new') return `${n(m.after ?? 0)} members`;
      if (i.status === 'removed') return `drops a segment of ${n(m.before ?? 0)} members`;
      return `${n(m.before ?? 0)} ${arrow} ${n(m.after ?? 0)} members (+${n(m.entering)} / ${minus}${n(m.leaving)})`;
    case 'values':
      if (i.status === 'new') return `${n(m.after ?? 0)} of ${n(m.entities)} with a value`;
      if (i.status === 'removed') return `drops ${n(m.before ?? 0)} values`;
      return `${n(m.changed)} of ${n(m.entities)} values change`;
    case 'lifecycle': {
      if (i.status === 'new') return Object.entries(m.after ?? {}).map(([s, c]) => `${s} ${n(c)}`).join(', ');
      if (i.status === 'removed') return `drops a lifecycle of ${n(Object.values(m.before ?? {}).reduce((s, c) => s + c, 0))}`;
      const total = Object.values(m.after ?? {}).reduce((s, c) => s + c, 0);
      return `${n(m.moved)} of ${n(total)} change stage`;
    }
    case 'kpi': {
      const side = (s: typeof m.before) => (s ? `${kpiValue(analysis, i.name, s.value)} (${STATUS_TEXT[s.status]})` : 'n/a');
      if (i.status === 'new') return side(m.after) + groupsLine(analysis, i.name, undefined, m.after?.groups, arrow);
      if (i.status === 'removed') return `was ${side(m.before)}`;
      return `${side(m.before)} ${arrow} ${side(m.after)}` + groupsLine(analysis, i.name, m.before?.groups, m.after?.groups, arrow);
    }
    case 'campaign':
      if (i.status === 'new') return `would enroll ${n(m.after ?? 0)} now`;
      if (i.status === 'removed') return `would have enrolled ${n(m.before ?? 0)} now`;
      return `would enroll ${n(m.before ?? 0)} ${arrow} ${n(m.after ?? 0)} now`;
    case 'unmeasured':
      return `impact not measured: ${m.reason}`;
    default:
      return i.status === 'unchanged' ? 'unchanged' : '';
  }
}

function headline(p: Plan): string {
  const s = p.summary;
  return `${s.changed} changed, ${s.new} new, ${s.removed} removed, ${s.unchanged} unchanged`;
}

function against(p: Plan): string {
  return p.deployed_id === null ? `nothing deployed yet in schema ${p.schema}` : `deploy #${p.deployed_id} in schema ${p.schema}`;
}

/** How many impacts could not be measured (`tally plan --fail-on unmeasured` exits 1 when any). */
export function unmeasuredCount(p: Plan): number {
  return p.items.filter((i) => i.impact.k === 'unmeasured').length;
}

const shown = (p: Plan) => p.items.filter((i) => i.status !== 'unchanged' || i.record || i.errors.length);

/** `+120 entering / −14 leaving / ~3 changing (sends 137)`: a sync's impact in one line (plan, the editor's lens). */
export function syncImpactLine(s: SyncImpact): string {
  if (s.error) return s.error;
  return `+${s.entering} entering / −${s.leaving} leaving / ~${s.changing} changing (sends ${s.delivered})`;
}

export function planText(p: Plan, analysis?: Analysis): string {
  const lines = [`plan as of ${p.as_of} against ${against(p)}: ${headline(p)}`];
  const items = shown(p);
  const width = Math.max(0, ...items.map((i) => `${i.kind} ${i.name}`.length));
  for (const i of items) {
    lines.push(`  ${SIGN[i.status] === '−' ? '-' : SIGN[i.status]} ${`${i.kind} ${i.name}`.padEnd(width)}  ${versionMove(i).replace('→', '->').padEnd(12)}  ${impactLine(i, analysis, true)}`);
    if (i.via.length) lines.push(`      changed through ${i.via.join(', ')}`);
    if (i.affects.length) lines.push(`      reaches ${i.affects.join(', ')}`);
    for (const e of i.errors) lines.push(`      error: ${e}`);
    for (const w of i.warnings) lines.push(`      warning: ${w}`);
  }
  if (!items.length) lines.push('  no changes: deploy would write nothing');
  const unmeasured = unmeasuredCount(p);
  if (unmeasured) lines.push(`${unmeasured} impact${unmeasured === 1 ? ' was' : 's were'} not measured (see "impact not measured" above)`);
  for (const d of p.deployedProblems) lines.push(`  note: deployed ${d}`);
  if (p.syncs.length) {
    lines.push(`syncs (what tally sync would deliver as of ${p.as_of}, since the last delivery):`);
    for (const s of p.syncs) lines.push(`  sync ${s.name} -> ${s.destination}, ${s.mode}: ${syncImpactLine(s)}`);
  }
  if (p.refused) lines.push('deploy would be refused: fix the errors above');
  return lines.join('\n');
}

/** The syncs' impact block (what `tally sync` would deliver), after the definitions. */
function syncsMarkdown(p: Plan, out: string[]): void {
  if (!p.syncs.length) return;
  out.push('', '#### Syncs (what `tally sync` would deliver, since the last delivery)', '', '| Sync | Destination | Mode | Entering | Leaving | Changing | Sent |', '| --- | --- | --- | ---: | ---: | ---: | ---: |');
  for (const s of p.syncs) out.push(`| ${esc(s.name)} | ${esc(s.destination)} | ${s.mode} | +${s.entering} | −${s.leaving} | ~${s.changing} | ${s.error ? esc(s.error) : s.delivered} |`);
}

function esc(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

export function planMarkdown(p: Plan, analysis?: Analysis): string {
  const items = shown(p);
  const errors = items.reduce((s, i) => s + i.errors.length, 0);
  const out: string[] = [];
  out.push(`### Tally plan: ${headline(p)}`);
  out.push('');
  out.push(`As of ${p.as_of.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')}, against ${against(p).replace(/schema (\S+)$/, 'schema `$1`')}.${p.refused ? ` **Deploy would be refused: ${errors} error${errors === 1 ? '' : 's'}.**` : ''}`);
  out.push('');
  const unmeasured = unmeasuredCount(p);
  if (unmeasured) {
    out.push(`**${unmeasured} impact${unmeasured === 1 ? ' was' : 's were'} not measured** (marked ⚠️ \`impact not measured\` below).`);
    out.push('');
  }
  if (!items.length) {
    out.push('No changes: a deploy would write nothing.');
    syncsMarkdown(p, out);
    return out.join('\n') + '\n';
  }
  out.push('| | Definition | Version | Impact |');
  out.push('|:-:|---|---|---|');
  for (const i of items) {
    const icon = i.errors.length ? '❌' : i.warnings.length || i.impact.k === 'unmeasured' || worse(i) ? '⚠️' : SIGN[i.status];
    out.push(`| ${icon} | ${i.kind} \`${i.name}\` | ${versionMove(i)} | ${esc(impactLine(i, analysis))} |`);
  }
  out.push('');
  out.push(`<details><summary>Details</summary>`);
  out.push('');
  for (const i of items) {
    out.push(`#### ${SIGN[i.status]} ${i.kind} \`${i.name}\` (${i.status})${i.file ? ` · ${i.file}${i.line ? `:${i.line}` : ''}` : ''}`);
    out.push('');
    out.push(`- version: ${versionMove(i)}${i.deployedFingerprint && i.fingerprint && i.deployedFingerprint !== i.fingerprint ? `; fingerprint ${i.deployedFingerprint.slice(0, 12)} → ${i.fingerprint.slice(0, 12)}` : ''}`);
    if (i.via.length) out.push(`- changed through: ${i.via.map((v) => `\`${v}\``).join(', ')}`);
    if (i.affects.length) out.push(`- reaches: ${i.affects.map((v) => `\`${v}\``).join(', ')}`);
    for (const e of i.errors) out.push(`- ❌ ${esc(e)}`);
    for (const w of i.warnings) out.push(`- ⚠️ ${esc(w)}`);
    const m = i.impact;
    if (m.k === 'segment' && i.status === 'changed') out.push(`- members: ${n(m.before ?? 0)} → ${n(m.after ?? 0)}; ${n(m.entering)} entering, ${n(m.leaving)} leaving`);
    else if (m.k === 'lifecycle') {
      const stages = [...new Set([...Object.keys(m.before ?? {}), ...Object.keys(m.after ?? {})])];
      out.push('');
      out.push('| stage | before | after | change |');
      out.push('|---|--:|--:|--:|');
      for (const s of stages) {
        const b = m.before?.[s];
        const a = m.after?.[s];
        const d = (a ?? 0) - (b ?? 0);
        out.push(`| ${s} | ${b === undefined ? '–' : n(b)} | ${a === undefined ? '–' : n(a)} | ${d > 0 ? '+' : d < 0 ? '−' : ''}${n(Math.abs(d))} |`);
      }
      if (i.status === 'changed') out.push(`\n${n(m.moved)} entities change stage.`);
    } else if (m.k !== 'none') out.push(`- impact: ${esc(impactLine(i, analysis))}`);
    out.push('');
  }
  if (p.summary.unchanged) out.push(`${p.summary.unchanged} unchanged definition${p.summary.unchanged === 1 ? '' : 's'} not listed.`);
  for (const d of p.deployedProblems) out.push(`\n> Note: deployed ${esc(d)}`);
  out.push('');
  out.push('</details>');
  syncsMarkdown(p, out);
  return out.join('\n') + '\n';
}

/** The markdown when the project has errors: nothing can be planned (deploy would refuse it). */
export function blockedPlanMarkdown(errors: readonly Diagnostic[]): string {
  const out = [`### Tally plan: ${errors.length} error${errors.length === 1 ? '' : 's'}, nothing planned`, ''];
  for (const d of errors.slice(0, 20)) out.push(`- ❌ \`${d.file}:${d.range.start.line + 1}\` ${esc(d.message)} (${d.code})`);
  if (errors.length > 20) out.push(`- … and ${errors.length - 20} more; run \`tally validate\``);
  return out.join('\n') + '\n';
}

function worse(i: PlanItem): boolean {
  const m = i.impact;
  if (m.k !== 'kpi' || !m.after) return false;
  const rank: Record<KpiStatus, number> = { met: 0, on_track: 1, at_risk: 2, missed: 3, failed: 4 };
  return m.before ? rank[m.after.status] > rank[m.before.status] : rank[m.after.status] >= 3;
}

/** The plan as JSON-ready data; `diagnostics` are rendered by the caller (LSP ranges). */
export function planJson(p: Plan, diagnostics: unknown[]): unknown {
  return {
    as_of: p.as_of,
    schema: p.schema,
    deployed_id: p.deployed_id,
    refused: p.refused,
    summary: p.summary,
    unmeasured: unmeasuredCount(p),
    changes: p.items.map((i) => ({
      kind: i.kind,
      name: i.name,
      status: i.status,
      version: i.version,
      deployed_version: i.deployedVersion,
      fingerprint: i.fingerprint,
      deployed_fingerprint: i.deployedFingerprint,
      file: i.file,
      line: i.line,
      via: i.via,
      affects: i.affects,
      restored: i.restored,
      record: i.record,
      impact: i.impact.k === 'none' ? null : i.impact,
      errors: i.errors,
      warnings: i.warnings,
    })),
    deployed_problems: p.deployedProblems,
    syncs: p.syncs,
    diagnostics,
  };
}
