// Renderings of a KPI check: text (a table), json (the contract shape plus extra fields), junit,
// markdown (a PR comment or job summary) and github (workflow annotations at each KPI's `name:`).
// The CLI and the language server both render through here; also the recorded checks' history.

import { join, relative } from 'node:path';
import { formatKpiValue, type KpiStatus } from './status.js';
import type { KpiDef } from '../model/types.js';
import type { Analysis } from '../project.js';
import { formatNumber, table } from '../text-table.js';
import type { KpiHistoryPoint } from './recorded.js';
import { formatGapAs } from '../format-values.js';
import { checkFails, failingGroups, STATUS_ORDER, worstFirst, type CheckResult, type KpiCheck } from './check.js';
import type { KpiGroup } from '../protocol.js';

export interface RenderContext {
  readonly analysis: Analysis;
  readonly root: string;
  readonly cwd: string;
  readonly failOn: readonly KpiStatus[];
}

const STATUS_TEXT: Record<KpiStatus, string> = { met: 'met', on_track: 'on track', at_risk: 'at risk', missed: 'missed', failed: 'failed' };
const STATUS_ICON: Record<KpiStatus, string> = { met: '✓ met', on_track: '↗ on track', at_risk: '! at risk', missed: '✗ missed', failed: '✗ FAILED' };
const STATUS_EMOJI: Record<KpiStatus, string> = { failed: '❌', missed: '⛔', at_risk: '⚠️', on_track: '📈', met: '✅' };
const OP_SYMBOL: Record<string, string> = { gte: '≥', gt: '>', lte: '≤', lt: '<', eq: '=', between: 'between' };

/** A file as the user's shell (and a CI checkout) sees it: relative to the cwd. */
function shownPath(ctx: RenderContext, file: string): string {
  return relative(ctx.cwd, join(ctx.root, file)).replace(/\\/g, '/') || file;
}

function show(ctx: RenderContext, k: { name: string }, v: number | null): string {
  const def = ctx.analysis.get('Kpi', k.name)?.def as KpiDef | undefined;
  return def ? formatKpiValue(def, v) : v === null ? 'no data' : String(v);
}

function comparisonText(ctx: RenderContext, k: KpiCheck, c: { op: string; value: number | readonly [number, number] }): string {
  if (Array.isArray(c.value)) return `between ${show(ctx, k, (c.value as number[])[0]!)} and ${show(ctx, k, (c.value as number[])[1]!)}`;
  return `${OP_SYMBOL[c.op] ?? c.op} ${show(ctx, k, c.value as number)}`;
}

function targetText(ctx: RenderContext, k: KpiCheck): string {
  return k.target ? comparisonText(ctx, k, k.target) : 'no target';
}

/** The gap as a signed figure; for percentages in points. */
function gapText(k: KpiCheck): string {
  return formatGapAs(k.gap, k.format);
}

/** One sentence about a KPI, for annotations and failure messages. */
export function kpiSentence(k: KpiCheck, ctx: RenderContext): string {
  const parts = [`${k.name} is ${show(ctx, k, k.value)}: ${STATUS_TEXT[k.status]}`];
  if (k.target) parts.push(`target ${targetText(ctx, k)}${k.target.by ? ` by ${k.target.by}` : ''}`);
  if (k.expected !== null) parts.push(`the pace line expects ${show(ctx, k, k.expected)}${k.gap !== null ? ` (gap ${gapText(k)})` : ''}`);
  else if (k.gap !== null) parts.push(`gap ${gapText(k)}`);
  if (k.guardrail_violated && k.guardrail) parts.push(`guardrail ${comparisonText(ctx, k, k.guardrail)} violated`);
  if (k.owner) parts.push(`owner ${k.owner}`);
  return parts.join('; ');
}

function counts(result: CheckResult): string {
  const n = result.kpis.length;
  const per = STATUS_ORDER.map((s) => [s, result.kpis.filter((k) => k.status === s).length] as const)
    .filter(([, c]) => c > 0)
    .map(([s, c]) => `${c} ${STATUS_TEXT[s]}`);
  const invalid = result.invalid.length ? [`${result.invalid.length} with errors`] : [];
  return `${n + result.invalid.length} KPI${n + result.invalid.length === 1 ? '' : 's'}${per.length || invalid.length ? `: ${[...per, ...invalid].join(', ')}` : ''}`;
}

function verdict(result: CheckResult, ctx: RenderContext): string {
  const policy = ctx.failOn.length ? `fails on ${ctx.failOn.join(', ')}` : 'fails on no status (--fail-on none)';
  const failing = result.kpis.filter((k) => ctx.failOn.includes(k.status)).length + result.invalid.length;
  const groups = result.kpis.flatMap((k) => failingGroups(k, ctx.failOn).map((g) => `${k.name}[${g.group}] ${STATUS_TEXT[g.status!]}`));
  const groupText = groups.length ? `${failing ? '; ' : ''}${groups.length} group${groups.length === 1 ? '' : 's'}: ${groups.join(', ')}` : '';
  return failing || groups.length ? `check failed (${policy}): ${failing ? `${failing} KPI${failing === 1 ? '' : 's'}` : ''}${groupText}` : `check passed (${policy})`;
}

/** One sentence about a group of a KPI breakdown with a target (annotations, failure messages). */
export function groupSentence(k: KpiCheck, g: KpiGroup, ctx: RenderContext): string {
  const parts = [`${k.name} for ${k.breakdown ?? 'group'} = ${g.group} is ${show(ctx, k, g.value)}: ${g.status ? STATUS_TEXT[g.status] : 'no target'}`];
  if (g.target) parts.push(`target ${comparisonText(ctx, k, g.target)}${g.target.by ? ` by ${g.target.by}` : ''}`);
  parts.push(`${formatNumber(g.size)} entities`);
  return parts.join('; ');
}

/** The groups of every KPI with a breakdown, one table each (text). */
function groupTables(result: CheckResult, ctx: RenderContext): string[] {
  return result.kpis
    .filter((k) => k.groups?.length)
    .flatMap((k) => {
      const rows = k.groups!.map((g) => [g.group, g.size, show(ctx, k, g.value), g.target ? `${comparisonText(ctx, k, g.target)}${g.target.by ? ` by ${g.target.by}` : ''}` : '', g.status ? STATUS_ICON[g.status] : '']);
      return ['', `${k.name} by ${k.breakdown ?? 'group'}`, table(['group', 'entities', 'value', 'target', 'status'], rows, { maxWidth: 60 })];
    });
}

export function checkText(result: CheckResult, ctx: RenderContext): string {
  if (!result.kpis.length && !result.invalid.length) return `no KPIs in the project (as of ${result.as_of})`;
  const rows = result.kpis.map((k) => [
    k.name,
    show(ctx, k, k.value),
    targetText(ctx, k),
    k.target?.by ?? '',
    k.expected === null ? '' : show(ctx, k, k.expected),
    gapText(k),
    STATUS_ICON[k.status],
    k.owner ?? '',
  ]);
  for (const k of result.invalid) rows.push([k.name, '', '', '', '', '', '✗ has errors', '']);
  const out = [`KPIs as of ${result.as_of}`, table(['kpi', 'value', 'target', 'by', 'pace', 'gap', 'status', 'owner'], rows, { maxWidth: 60 }), ...groupTables(result, ctx), '', `${counts(result)}; ${verdict(result, ctx)}`];
  return out.join('\n');
}

export function checkJson(result: CheckResult, ctx: RenderContext): unknown {
  return {
    kpis: result.kpis.map((k) => ({
      name: k.name,
      value: k.value,
      status: k.status,
      target: k.target,
      expected: k.expected,
      gap: k.gap,
      owner: k.owner,
      file: k.file,
      line: k.line,
      guardrail_violated: k.guardrail_violated,
      guardrail: k.guardrail,
      format: k.format,
      ...(k.groups ? { breakdown: k.breakdown, groups: k.groups } : {}),
    })),
    invalid: result.invalid,
    as_of: result.as_of,
    fail_on: ctx.failOn,
    passed: !checkFails(result, ctx.failOn),
  };
}

function mdCell(s: string): string {
  return s.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function checkMarkdown(result: CheckResult, ctx: RenderContext): string {
  const failed = checkFails(result, ctx.failOn);
  const head = `### ${failed ? '❌' : '✅'} Tally check: ${counts(result)}`;
  const sub = `As of \`${result.as_of}\`; ${verdict(result, ctx)}.`;
  if (!result.kpis.length && !result.invalid.length) return `${head}\n\n${sub}`;
  const lines = ['| status | KPI | value | target | pace | gap | owner |', '| --- | --- | ---: | --- | ---: | ---: | --- |'];
  for (const k of result.invalid) lines.push(`| ❌ has errors | \`${mdCell(k.name)}\` | | | | | |`);
  for (const k of worstFirst(result.kpis)) {
    lines.push(
      `| ${STATUS_EMOJI[k.status]} ${STATUS_TEXT[k.status]}${k.guardrail_violated ? ' (guardrail)' : ''} | \`${mdCell(k.name)}\` | ${mdCell(show(ctx, k, k.value))} | ${mdCell(targetText(ctx, k))}${k.target?.by ? ` by ${mdCell(k.target.by)}` : ''} | ${k.expected === null ? '' : mdCell(show(ctx, k, k.expected))} | ${mdCell(gapText(k))} | ${mdCell(k.owner ?? '')} |`,
    );
  }
  const groups = result.kpis
    .filter((k) => k.groups?.length)
    .flatMap((k) => [
      '',
      `**\`${mdCell(k.name)}\` by ${mdCell(k.breakdown ?? 'group')}**`,
      '',
      '| group | entities | value | target | status |',
      '| --- | ---: | ---: | --- | --- |',
      ...k.groups!.map((g) => `| ${mdCell(g.group)} | ${formatNumber(g.size)} | ${mdCell(show(ctx, k, g.value))} | ${g.target ? mdCell(`${comparisonText(ctx, k, g.target)}${g.target.by ? ` by ${g.target.by}` : ''}`) : ''} | ${g.status ? `${STATUS_EMOJI[g.status]} ${STATUS_TEXT[g.status]}` : ''} |`),
    ]);
  return [head, '', sub, '', ...lines, ...groups].join('\n');
}

function ghData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function ghProperty(s: string): string {
  return ghData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** `::error` for statuses that fail the check, `::warning` for other bad statuses (at risk, or failed/missed not failing). */
export function checkGithub(result: CheckResult, ctx: RenderContext): string {
  const lines: string[] = [];
  const annotate = (level: 'error' | 'warning', k: { file: string; line: number; name: string }, title: string, message: string) =>
    lines.push(`::${level} file=${ghProperty(shownPath(ctx, k.file))},line=${k.line},title=${ghProperty(title)}::${ghData(message)}`);
  for (const k of result.invalid) annotate('error', k, `tally check: ${k.name} has errors`, `kpi '${k.name}' has errors and was not checked; run \`tally validate\``);
  for (const k of worstFirst(result.kpis)) {
    if (k.status === 'met' || k.status === 'on_track') continue;
    const level = ctx.failOn.includes(k.status) ? 'error' : 'warning';
    annotate(level, k, `tally check: ${k.name} ${STATUS_TEXT[k.status]}`, kpiSentence(k, ctx));
  }
  for (const k of result.kpis)
    for (const g of k.groups ?? []) {
      if (!g.status || g.status === 'met' || g.status === 'on_track') continue;
      annotate(ctx.failOn.includes(g.status) ? 'error' : 'warning', k, `tally check: ${k.name}[${g.group}] ${STATUS_TEXT[g.status]}`, groupSentence(k, g, ctx));
    }
  return lines.join('\n');
}

// ---- JUnit XML (shared with `tally test`) --------------------------------------------------------

/** Text or attribute content for XML 1.0: escaped, and characters XML cannot hold removed. */
export function xmlEscape(s: string): string {
  return s
    .replace(/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu, '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

export interface JunitCase {
  readonly name: string;
  readonly classname: string;
  readonly file?: string;
  readonly line?: number;
  readonly timeSeconds?: number;
  readonly failure?: { message: string; type: string; body: string };
  readonly error?: { message: string; type: string; body: string };
  readonly systemOut?: string;
}

/** One `<testsuite>` in a `<testsuites>` document. */
export function junitXml(suite: string, cases: readonly JunitCase[], properties: Record<string, string> = {}): string {
  const failures = cases.filter((c) => c.failure).length;
  const errors = cases.filter((c) => c.error && !c.failure).length;
  const time = cases.reduce((s, c) => s + (c.timeSeconds ?? 0), 0).toFixed(3);
  const attr = (name: string, v: string | number | undefined) => (v === undefined ? '' : ` ${name}="${xmlEscape(String(v))}"`);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites${attr('name', suite)}${attr('tests', cases.length)}${attr('failures', failures)}${attr('errors', errors)}${attr('time', time)}>`];
  out.push(`  <testsuite${attr('name', suite)}${attr('tests', cases.length)}${attr('failures', failures)}${attr('errors', errors)}${attr('skipped', 0)}${attr('time', time)}>`);
  const props = Object.entries(properties);
  if (props.length) {
    out.push('    <properties>');
    for (const [k, v] of props) out.push(`      <property${attr('name', k)}${attr('value', v)}/>`);
    out.push('    </properties>');
  }
  for (const c of cases) {
    const open = `    <testcase${attr('name', c.name)}${attr('classname', c.classname)}${attr('file', c.file)}${attr('line', c.line)}${attr('time', (c.timeSeconds ?? 0).toFixed(3))}`;
    const inner: string[] = [];
    if (c.failure) inner.push(`      <failure${attr('message', c.failure.message)}${attr('type', c.failure.type)}>${xmlEscape(c.failure.body)}</failure>`);
    else if (c.error) inner.push(`      <error${attr('message', c.error.message)}${attr('type', c.error.type)}>${xmlEscape(c.error.body)}</error>`);
    if (c.systemOut) inner.push(`      <system-out>${xmlEscape(c.systemOut)}</system-out>`);
    out.push(inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`);
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n');
}

export function checkJunit(result: CheckResult, ctx: RenderContext): string {
  const cases: JunitCase[] = [];
  for (const k of result.kpis) {
    const sentence = kpiSentence(k, ctx);
    const fails = ctx.failOn.includes(k.status);
    cases.push({
      name: k.name,
      classname: 'tally.check.kpi',
      file: shownPath(ctx, k.file),
      line: k.line,
      ...(fails ? { failure: { message: sentence, type: k.status, body: `${shownPath(ctx, k.file)}:${k.line}: ${sentence}` } } : { systemOut: sentence }),
    });
  }
  for (const k of result.kpis)
    for (const g of k.groups ?? []) {
      if (!g.status) continue;
      const sentence = groupSentence(k, g, ctx);
      const fails = ctx.failOn.includes(g.status);
      cases.push({ name: `${k.name}[${g.group}]`, classname: 'tally.check.kpi', file: shownPath(ctx, k.file), line: k.line, ...(fails ? { failure: { message: sentence, type: g.status, body: `${shownPath(ctx, k.file)}:${k.line}: ${sentence}` } } : { systemOut: sentence }) });
    }
  for (const k of result.invalid) {
    const msg = `kpi '${k.name}' has errors and was not checked; run \`tally validate\``;
    cases.push({ name: k.name, classname: 'tally.check.kpi', file: shownPath(ctx, k.file), line: k.line, error: { message: msg, type: 'invalid', body: `${shownPath(ctx, k.file)}:${k.line}: ${msg}` } });
  }
  return junitXml('tally check', cases, { as_of: result.as_of, fail_on: ctx.failOn.join(',') || 'none' });
}

/** `tally history --kpi NAME`'s text: each recorded check with its pace line; `def` formats values when the KPI still exists. */
export function kpiHistoryText(kpi: string, points: readonly KpiHistoryPoint[], schema: string, def: KpiDef | undefined): string {
  if (!points.length) return `no checks of kpi '${kpi}' recorded in ${schema}.kpi_checks yet: \`tally check\` records them`;
  const show = (v: number | null) => (def ? formatKpiValue(def, v) : v === null ? 'no data' : formatNumber(v));
  return [`kpi ${kpi}: ${points.length} recorded check${points.length === 1 ? '' : 's'}`, ...points.map((p) => `  ${p.as_of}  ${show(p.value)}  ${p.status}${p.expected === null ? '' : `  (pace ${show(p.expected)})`}${p.version === null ? '' : `  v${p.version}`}`)].join('\n');
}
