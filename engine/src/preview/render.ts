// Text renderings of previews for people (`tally preview`): counts, samples as tables,
// distributions with bars, a KPI's value against its target and pace line. The JSON form is the
// Preview value itself (preview.ts).

import { formatKpiValue } from '../kpi/status.js';
import type { KpiDef } from '../model/types.js';
import type { Analysis } from '../project.js';
import { formatNumber, table } from '../text-table.js';
import { dateInZone } from '../time.js';
import type { Preview } from './preview.js';
import type { KpiGroup } from '../protocol.js';

export function previewText(p: Preview, analysis: Analysis): string {
  const at = `as of ${p.as_of}`;
  switch (p.kind) {
    case 'segment': {
      const head = `segment ${p.name}: ${formatNumber(p.count)} ${p.entity}${p.count === 1 ? '' : 's'} (${at})`;
      if (!p.sample.length) return head;
      const cols = Object.keys(p.sample[0]!);
      return `${head}\n\n${table(cols, p.sample.map((r) => cols.map((c) => r[c])))}${p.count > p.sample.length ? `\n… and ${formatNumber(p.count - p.sample.length)} more` : ''}`;
    }
    case 'trait':
    case 'score': {
      const head = `${p.kind} ${p.name}: ${formatNumber(p.count)} of ${formatNumber(p.entities)} have a value (${at})`;
      const bands = p.bands ? `\n\n${table(['band', 'entities'], Object.entries(p.bands))}` : '';
      const sample = p.sample.length ? `\n\n${table(['key', 'value'], p.sample.map((r) => [r.key, r.value]))}` : '';
      return head + bands + sample;
    }
    case 'lifecycle': {
      const rows = Object.entries(p.stages).map(([s, n]) => [s, n, p.total ? `${((n / p.total) * 100).toFixed(1)}%` : '∅', bar(n, p.total)]);
      return `lifecycle ${p.name}: ${formatNumber(p.total)} entities (${at})\n\n${table(['stage', 'entities', 'share', ''], rows)}`;
    }
    case 'kpi': {
      const def = analysis.get('Kpi', p.name)?.def as KpiDef | undefined;
      const show = (v: number | null) => (def ? formatKpiValue(def, v) : String(v));
      const t = p.target;
      const targetText = t ? `${t.op} ${Array.isArray(t.value) ? `[${(t.value as number[]).map((v) => show(v)).join(', ')}]` : show(t.value as number)}${t.by ? ` by ${t.by}` : ''}` : 'no target';
      const lines = [
        `kpi ${p.name}: ${show(p.value)} -> ${targetText} · ${p.status.replace('_', ' ')} (${at})`,
        p.expected !== null ? `  pace line expects ${show(p.expected)} today` : undefined,
        p.guardrail_violated ? `  guardrail violated: ${def?.guardrail?.op} ${String(def?.guardrail?.value)}` : undefined,
        p.owner ? `  owner: ${p.owner}` : undefined,
      ];
      return lines.filter(Boolean).join('\n') + (p.groups && p.breakdown ? `\n\n${groupsTable(p.groups, p.breakdown.by === 'segments' ? 'segment' : p.breakdown.name, show)}` : '');
    }
    case 'campaign': {
      const head = `campaign ${p.name} (${p.channel}): a run now would enroll ${formatNumber(p.audience)} of ${formatNumber(p.segment)} in the segment (${at})`;
      const variants = table(['variant', 'share', 'would enroll'], p.variants.map((v) => [`${v.name}${v.holdout ? ' (holdout)' : ''}`, `${(v.share * 100).toFixed(1)}%`, v.count]));
      const held = table(['held back by', 'entities'], Object.entries(p.held_back).map(([k, n]) => [k.replace('_', ' '), n]));
      const trigger = p.trigger_window ? `\ntriggers in (${p.trigger_window.from}, ${p.trigger_window.to}]` : '';
      return `${head}\n\n${variants}\n\n${held}${trigger}${p.warnings.map((w) => `\nwarning: ${w}`).join('')}`;
    }
    case 'sync':
      return `sync ${p.name} -> ${p.destination}, ${p.mode} (${at}): +${p.entering} entering / −${p.leaving} leaving / ~${p.changing} changing ${p.delivered_before ? 'since the last delivery' : '(nothing delivered yet)'}; tally sync would send ${p.sends}`;
    case 'cohort': {
      // The triangle: a cell whose window has begun for nobody is blank; an immature one ends in `*`.
      const rows = p.cohorts.map((c) => [
        dateInZone(new Date(c.start), p.timezone),
        c.size,
        ...c.cells.map((cell) => (cell.value === null ? (c.size === 0 && !cell.immature ? '∅' : '') : `${(cell.value * 100).toFixed(1)}%${cell.immature ? '*' : ''}`)),
      ]);
      const head = `cohort ${p.name}: ${p.cohorts.length} ${p.every}ly cohorts of ${p.entity} (${p.timezone}, ${at})`;
      return `${head}\n\n${table([p.every, 'size', ...p.columns], rows)}\n* immature: the window has not ended by T for every member; partial value`;
    }
    case 'funnel': {
      const pct = (v: number | null) => (v === null ? '∅' : `${(v * 100).toFixed(1)}%`);
      const rows = p.steps.map((st, i) => [
        `${i + 1}. ${st.name}`,
        st.reached,
        pct(st.step_conversion),
        pct(st.overall_conversion),
        st.median_hours_from_previous === null ? '' : formatHours(st.median_hours_from_previous),
        bar(st.reached, p.entrants),
      ]);
      return `funnel ${p.name}: ${formatNumber(p.entrants)} ${p.entity}${p.entrants === 1 ? '' : 's'} entered in the last ${p.within} (${at})\n\n${table(['step', 'reached', 'step conv.', 'overall', 'median from prev.', ''], rows)}`;
    }
  }
}

/** Hours as people read them: `36 min`, `5.2 h`, `3.4 d`. */
function formatHours(h: number): string {
  if (h < 1) return `${Math.round(h * 60)} min`;
  if (h < 48) return `${h.toFixed(1)} h`;
  return `${(h / 24).toFixed(1)} d`;
}

/** A KPI breakdown as a table: group, entities, value, target and status (groups with a target). */
export function groupsTable(groups: readonly KpiGroup[], head: string, show: (v: number | null) => string): string {
  const withTargets = groups.some((g) => g.status);
  const rows = groups.map((g) => {
    const t = g.target;
    const target = t ? `${t.op} ${Array.isArray(t.value) ? `[${(t.value as number[]).map((v) => show(v)).join(', ')}]` : show(t.value as number)}${t.by ? ` by ${t.by}` : ''}` : '';
    return withTargets ? [g.group, g.size, show(g.value), target, g.status ? g.status.replace('_', ' ') : ''] : [g.group, g.size, show(g.value)];
  });
  return table(withTargets ? [head, 'entities', 'value', 'target', 'status'] : [head, 'entities', 'value'], rows);
}

function bar(n: number, total: number): string {
  if (!total) return '';
  return '█'.repeat(Math.round((n / total) * 30));
}
