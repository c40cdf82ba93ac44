// `tally review --format markdown`: the same review as a pull-request or chat summary: one table
// per funnel stage (status, value, target, pace line, change since the last review, a sparkline of
// the periods, owner), the lifecycles' latest distribution and moves, cohorts, funnels, campaigns
// with their intervals, and what was deployed. User strings are escaped for tables.

import { formatAsOf, formatValueAs } from '../format-values.js';
import type { ReviewData, ReviewKpi } from '../protocol.js';
import { changeText, STAGE_TITLES, STATUS_TEXT, targetText } from './html.js';
import { dayLabel } from './svg.js';

const STATUS_ICON: Record<ReviewKpi['status'], string> = { met: '✅', on_track: '🟢', at_risk: '🟠', missed: '🔴', failed: '⛔' };

/** A table cell: pipes, backslashes, newlines and HTML-significant characters made inert. */
export function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** ▁▂▃▄▅▆▇█ of the values, a space for a missing one. */
export function sparkline(values: readonly (number | null)[]): string {
  const vs = values.filter((v): v is number => v !== null);
  if (!vs.length) return '';
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  const bars = '▁▂▃▄▅▆▇█';
  return values.map((v) => (v === null ? ' ' : bars[hi === lo ? 3 : Math.round(((v - lo) / (hi - lo)) * 7)])).join('');
}

export function renderReviewMarkdown(r: ReviewData): string {
  const out: string[] = [];
  out.push(`## Review: ${mdCell(r.project)}, ${dayLabel(r.from)} to ${dayLabel(r.to)}`, '');
  out.push(`every ${r.every} · as of ${formatAsOf(r.as_of)} · time zone ${mdCell(r.timezone)}`, '');
  if (!r.stages.length) out.push('_No KPI is defined._', '');
  for (const s of r.stages) {
    out.push(`### ${STAGE_TITLES[s.stage]}`, '');
    out.push('| KPI | status | value | target | pace line | change | periods | owner |', '| --- | --- | ---: | --- | ---: | --- | --- | --- |');
    for (const k of s.kpis) {
      out.push(
        `| ${mdCell(k.name)} | ${STATUS_ICON[k.status]} ${STATUS_TEXT[k.status]} | ${formatValueAs(k.value, k.format)} | ${mdCell(targetText(k))} | ${k.expected === null ? '' : formatValueAs(k.expected, k.format)} | ${mdCell(changeText(k))} | \`${sparkline(k.points.map((p) => p.value))}\` | ${mdCell(k.owner ?? '')} |`,
      );
    }
    out.push('');
  }
  for (const l of r.lifecycles) {
    out.push(`### Lifecycle ${mdCell(l.name)}`, '');
    const first = l.points[0];
    const last = l.points[l.points.length - 1];
    if (first && last) {
      out.push(`| stage | ${dayLabel(first.at)} | ${dayLabel(last.at)} | change |`, '| --- | ---: | ---: | ---: |');
      for (const st of l.stages) {
        const a = first.stages[st] ?? 0;
        const b = last.stages[st] ?? 0;
        out.push(`| ${mdCell(st)} | ${formatValueAs(a, 'number')} | ${formatValueAs(b, 'number')} | ${b - a > 0 ? '+' : ''}${formatValueAs(b - a, 'number')} |`);
      }
      out.push('');
    }
    if (!l.transitions) out.push(`Transitions: ${l.snapshot_days === 0 ? 'no snapshot recorded in this period' : 'only one snapshot day recorded in this period'} (\`tally snapshot\` records them).`, '');
    else {
      out.push(`Moves between the snapshots of ${l.transitions.from_day} and ${l.transitions.to_day}:`, '');
      for (const m of l.transitions.moves.slice(0, 8)) out.push(`- ${mdCell(m.from ?? '(no record)')} → ${mdCell(m.to ?? '(no record)')}: ${formatValueAs(m.entities, 'number')}`);
      if (!l.transitions.moves.length) out.push('- nobody changed stage');
      out.push('');
    }
  }
  for (const t of r.cohorts) {
    const cols = t.columns.slice(0, 8);
    out.push(`### Cohort ${mdCell(t.name)}`, '', `| cohort | size | ${cols.map(mdCell).join(' | ')} |`, `| --- | ---: | ${cols.map(() => '---:').join(' | ')} |`);
    for (const row of t.cohorts) out.push(`| ${dayLabel(row.start)} | ${formatValueAs(row.size, 'number')} | ${row.cells.slice(0, cols.length).map((x) => (x.value === null ? '' : `${formatValueAs(x.value, 'percent')}${x.immature ? '*' : ''}`)).join(' | ')} |`);
    out.push('', '\\* partial: the window has not ended.', '');
  }
  for (const f of r.funnels) {
    out.push(`### Funnel ${mdCell(f.name)}`, '', `${formatValueAs(f.entrants, 'number')} entrants in the last ${mdCell(f.within)}.`, '', '| step | reached | from previous | overall |', '| --- | ---: | ---: | ---: |');
    for (const s of f.steps) out.push(`| ${mdCell(s.name)} | ${formatValueAs(s.reached, 'number')} | ${formatValueAs(s.step_conversion, 'percent')} | ${formatValueAs(s.overall_conversion, 'percent')} |`);
    out.push('');
  }
  for (const cm of r.campaigns) {
    out.push(`### Campaign ${mdCell(cm.name)}`, '', '| variant | enrolled | converted | rate | 95% interval |', '| --- | ---: | ---: | ---: | --- |');
    for (const v of cm.variants) {
      out.push(`| ${mdCell(v.name)}${v.holdout ? ' (holdout)' : ''} | ${formatValueAs(v.enrolled, 'number')} | ${v.converted === null ? '' : formatValueAs(v.converted, 'number')} | ${formatValueAs(v.rate, 'percent')} | ${v.low === null || v.high === null ? '' : `${formatValueAs(v.low, 'percent')} to ${formatValueAs(v.high, 'percent')}`} |`);
    }
    const facts = [cm.p_value !== null ? `p = ${cm.p_value < 0.001 ? '< 0.001' : cm.p_value.toFixed(3)}` : '', cm.srm_mismatch ? '**sample-ratio mismatch**' : ''].filter(Boolean);
    out.push('', ...(facts.length ? [facts.join(' · '), ''] : []));
  }
  out.push('### Deployed in the period', '');
  if (!r.deploys.length) out.push('Nothing was deployed in this period.');
  for (const d of r.deploys) out.push(`- ${formatAsOf(d.at)}${d.who ? ` by ${mdCell(d.who)}` : ''}${d.git_commit ? ` (\`${mdCell(d.git_commit.slice(0, 12))}\`)` : ''}: ${d.definitions.map((x) => `${x.kind} ${mdCell(x.name)} v${x.version}${x.dropped ? ' (dropped)' : ''}`).join(', ')}`);
  out.push('');
  if (r.notes.length) out.push('### Notes', '', ...r.notes.map((n) => `- ${mdCell(n)}`), '');
  return out.join('\n');
}
