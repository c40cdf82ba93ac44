// The preview panel's script (runs in the webview, bundled to dist/webview.js). It renders the
// server's preview JSON: no numbers are computed here beyond chart geometry. Every element is
// built with the DOM API (values from the database are text, never HTML); charts are inline SVG.

import type { FromWebview, ToWebview } from '../protocol';
import { formatGap, formatValue } from '../format';

declare function acquireVsCodeApi(): { postMessage(m: FromWebview): void };
const vscode = acquireVsCodeApi();

type Json = Record<string, unknown>;
type Child = Node | string | number | null | undefined | false;

function h(tag: string, attrs: Record<string, string | number | undefined> = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(typeof c === 'number' ? String(c) : c);
  return el;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attrs: Record<string, string | number> = {}, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  for (const c of children) el.append(c);
  return el;
}

const content = document.getElementById('content')!;
const statusLine = document.getElementById('status')!;
const progress = document.getElementById('progress')!;
const title = document.getElementById('title')!;
document.getElementById('refresh')!.addEventListener('click', () => vscode.postMessage({ type: 'refresh' }));
document.getElementById('sql')!.addEventListener('click', () => vscode.postMessage({ type: 'command', command: 'tally.showSql' }));

const int = (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-US') : '–');
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function setTitle(kind: string, name: string): void {
  title.replaceChildren(h('span', { class: 'kind' }, kind), name);
}

window.addEventListener('message', (e: MessageEvent<ToWebview>) => {
  const m = e.data;
  setTitle(m.ref.kind, m.ref.name);
  if (m.type === 'loading') {
    progress.hidden = false;
    content.classList.add('stale');
    content.setAttribute('aria-busy', 'true');
    statusLine.textContent = m.label;
    return;
  }
  progress.hidden = true;
  content.classList.remove('stale');
  content.removeAttribute('aria-busy');
  if (m.type === 'error') {
    statusLine.textContent = '';
    const actions = m.actions.map((a) => {
      const b = h('button', { type: 'button' }, a.label);
      b.addEventListener('click', () => vscode.postMessage({ type: 'command', command: a.command }));
      return b;
    });
    content.replaceChildren(h('section', { class: 'error', id: 'error', role: 'alert' }, h('h2', {}, m.title), h('p', {}, m.message), actions.length ? h('div', { class: 'actions' }, ...actions) : null));
    return;
  }
  // Read as plain JSON, each field checked: a newer or older server may send other fields.
  const p = m.preview as unknown as Json;
  const asOf = typeof p.as_of === 'string' ? p.as_of.replace('T', ' ').replace(/\.\d+Z$/, ' UTC') : '';
  statusLine.textContent = `As of ${asOf}${m.database ? ` · ${m.database}` : ''} · ${m.elapsedMs} ms`;
  content.replaceChildren(...render(p));
});

function render(p: Json): Node[] {
  switch (p.kind) {
    case 'segment':
      return renderSegment(p);
    case 'kpi':
      return renderKpi(p);
    case 'lifecycle':
      return renderLifecycle(p);
    case 'trait':
    case 'score':
      return renderValues(p);
    case 'campaign':
      return renderCampaign(p);
    case 'cohort':
      return renderCohort(p);
    case 'funnel':
      return renderFunnel(p);
    default:
      return [h('pre', {}, JSON.stringify(p, null, 2))];
  }
}

// ---- segment ---------------------------------------------------------------------------------

function renderSegment(p: Json): Node[] {
  const count = num(p.count);
  const entity = String(p.entity ?? 'entity');
  const out: Node[] = [];
  const figures = h('div', { class: 'figures' }, h('div', { class: 'figure' }, h('div', { class: 'value', id: 'count', 'data-value': count ?? '' }, int(count)), h('div', { class: 'label' }, `${entity}s in the segment`)));
  const deployed = p.deployed as { view?: string; count?: number; version?: number | null; same_definition?: boolean } | null | undefined;
  if (deployed && typeof deployed.count === 'number' && count !== null) {
    const diff = count - deployed.count;
    const pct = deployed.count ? ` (${diff >= 0 ? '+' : ''}${((diff / deployed.count) * 100).toFixed(1)}%)` : '';
    figures.append(
      h(
        'div',
        { class: 'figure', id: 'deployed' },
        h('div', { class: `value ${diff > 0 ? 'up' : diff < 0 ? 'down' : ''}` }, `${diff >= 0 ? '+' : '−'}${int(Math.abs(diff))}`),
        h('div', { class: 'label' }, `vs deployed ${deployed.view ?? ''}${deployed.version ? ` v${deployed.version}` : ''}: ${int(deployed.count)}${pct}${deployed.same_definition ? '' : ' · definition changed since deploy'}`),
      ),
    );
  } else if (deployed === null) {
    figures.append(h('div', { class: 'figure', id: 'deployed' }, h('div', { class: 'value muted' }, 'new'), h('div', { class: 'label' }, 'not deployed yet (tally deploy)')));
  }
  out.push(figures);
  const lifecycle = p.lifecycle as { name?: string; stages?: Record<string, number> } | undefined;
  if (lifecycle?.stages) {
    out.push(h('h2', { id: 'lifecycle-heading' }, `Lifecycle breakdown (${lifecycle.name ?? 'lifecycle'})`));
    out.push(bars(lifecycle.stages, 'lifecycle-heading', 'segment-lifecycle'));
  }
  out.push(h('h2', { id: 'sample-heading' }, 'Sample'), sampleTable(Array.isArray(p.sample) ? (p.sample as Json[]) : [], `First members by key (personal data masked)`));
  return out;
}

function sampleTable(rows: Json[], caption: string): Node {
  if (!rows.length) return h('p', { class: 'muted' }, 'No members.');
  const cols = Object.keys(rows[0]!);
  return h(
    'div',
    { class: 'table-wrap', tabindex: 0, role: 'region', 'aria-labelledby': 'sample-heading' },
    h(
      'table',
      { id: 'sample' },
      h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...cols.map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, ...rows.map((r) => h('tr', {}, ...cols.map((c) => cell(r[c]))))),
    ),
  );
}

function cell(v: unknown): HTMLElement {
  if (typeof v === 'number') return h('td', { class: 'num' }, v.toLocaleString('en-US'));
  if (v === null || v === undefined) return h('td', { class: 'muted' }, 'null');
  return h('td', {}, typeof v === 'object' ? JSON.stringify(v) : String(v));
}

// ---- bars (lifecycle stages, score bands, segment breakdown) ------------------------------------

function bars(values: Record<string, number>, labelledBy: string, id: string, holdouts: Set<string> = new Set()): Node {
  const entries = Object.entries(values);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  const total = entries.reduce((a, [, n]) => a + n, 0);
  const grid = h('div', { class: 'bars', id, role: 'list', 'aria-labelledby': labelledBy });
  for (const [name, n] of entries) {
    const share = total ? ` (${((n / total) * 100).toFixed(1)}%)` : '';
    grid.append(
      h('span', { role: 'listitem', 'aria-label': `${name}: ${int(n)}${share}`, tabindex: 0 }, name),
      h('div', { 'aria-hidden': 'true' }, h('div', { class: `bar${holdouts.has(name) ? ' holdout' : ''}`, style: `width:${((n / max) * 100).toFixed(2)}%` })),
      h('span', { class: 'num', 'aria-hidden': 'true', 'data-stage': name, 'data-value': n }, `${int(n)}${share}`),
    );
  }
  return grid;
}

// ---- lifecycle, trait, score -------------------------------------------------------------------

function renderFunnel(p: Json): Node[] {
  const steps = (Array.isArray(p.steps) ? p.steps : []) as Json[];
  const pct = (v: unknown) => (num(v) === null ? '–' : `${((v as number) * 100).toFixed(1)}%`);
  const hours = (v: unknown) => (num(v) === null ? '' : (v as number) < 48 ? `${(v as number).toFixed(1)} h` : `${((v as number) / 24).toFixed(1)} d`);
  const head = h('tr', {}, ...['step', 'reached', 'step conversion', 'overall', 'median from previous'].map((c) => h('th', { scope: 'col' }, c)));
  const rows = steps.map((st) => h('tr', {}, h('td', {}, String(st.name ?? '')), h('td', {}, int(st.reached)), h('td', {}, pct(st.step_conversion)), h('td', {}, pct(st.overall_conversion)), h('td', {}, hours(st.median_hours_from_previous))));
  return [
    h('div', { class: 'figures' }, h('div', { class: 'figure' }, h('div', { class: 'value', id: 'entrants', 'data-value': num(p.entrants) ?? '' }, int(p.entrants)), h('div', { class: 'label' }, `entered in the last ${String(p.within ?? '')}`))),
    h('h2', { id: 'steps-heading' }, 'Steps'),
    h('table', { 'aria-labelledby': 'steps-heading' }, h('thead', {}, head), h('tbody', {}, ...rows)),
  ];
}

function renderLifecycle(p: Json): Node[] {
  const stages = (p.stages ?? {}) as Record<string, number>;
  return [
    h('div', { class: 'figures' }, h('div', { class: 'figure' }, h('div', { class: 'value', id: 'total', 'data-value': num(p.total) ?? '' }, int(p.total)), h('div', { class: 'label' }, 'entities in a stage'))),
    h('h2', { id: 'stages-heading' }, 'Stage distribution'),
    bars(stages, 'stages-heading', 'lifecycle-chart'),
  ];
}

function renderValues(p: Json): Node[] {
  const out: Node[] = [
    h(
      'div',
      { class: 'figures' },
      h('div', { class: 'figure' }, h('div', { class: 'value', id: 'count', 'data-value': num(p.count) ?? '' }, int(p.count)), h('div', { class: 'label' }, `of ${int(p.entities)} have a value`)),
    ),
  ];
  if (p.bands && typeof p.bands === 'object') out.push(h('h2', { id: 'bands-heading' }, 'Bands'), bars(p.bands as Record<string, number>, 'bands-heading', 'bands-chart'));
  out.push(h('h2', { id: 'sample-heading' }, 'Sample'), sampleTable(Array.isArray(p.sample) ? (p.sample as Json[]) : [], 'First values by key'));
  return out;
}

// ---- cohort: the retention triangle as a heat-map table ---------------------------------------

function renderCohort(p: Json): Node[] {
  const columns = Array.isArray(p.columns) ? (p.columns as unknown[]).map(String) : [];
  const cohorts = Array.isArray(p.cohorts) ? (p.cohorts as { start?: unknown; size?: unknown; cells?: { value?: unknown; immature?: unknown }[] }[]) : [];
  const every = String(p.every ?? 'period');
  const head = h('tr', {}, h('th', { scope: 'col' }, every), h('th', { scope: 'col' }, 'size'), ...columns.map((c) => h('th', { scope: 'col' }, c)));
  const rows = cohorts.map((c) => {
    const start = typeof c.start === 'string' ? c.start.slice(0, 10) : '';
    const cells = (Array.isArray(c.cells) ? c.cells : []).map((cell) => {
      const v = num(cell.value);
      const immature = cell.immature === true;
      // Shade by value (a share, 0..1); an immature value is partial, so it is hatched and marked.
      const style = v === null ? undefined : `background: rgba(64, 128, 255, ${(0.1 + 0.8 * Math.min(1, Math.max(0, v))).toFixed(2)})${immature ? '; opacity: 0.6; font-style: italic' : ''}`;
      return h('td', { class: immature ? 'immature' : undefined, style, title: immature ? 'immature: partial value (the window has not ended for every member)' : undefined }, v === null ? '' : `${(v * 100).toFixed(1)}%${immature ? '*' : ''}`);
    });
    return h('tr', {}, h('th', { scope: 'row' }, start), h('td', {}, int(num(c.size))), ...cells);
  });
  return [
    h('h2', { id: 'cohort-heading' }, `Retention by ${every} of the cohort instant${typeof p.timezone === 'string' ? ` (${p.timezone})` : ''}`),
    h('table', { class: 'cohort', 'aria-labelledby': 'cohort-heading' }, h('thead', {}, head), h('tbody', {}, ...rows)),
    h('p', { class: 'muted' }, '* immature: the window has not ended by T for every member of the cohort; the value is partial.'),
  ];
}

// ---- campaign (defensive: the shape is new) ----------------------------------------------------

function renderCampaign(p: Json): Node[] {
  const variants = Array.isArray(p.variants) ? (p.variants as { name?: unknown; count?: unknown; holdout?: unknown }[]) : [];
  const audience = p.audience;
  const audienceCount = typeof audience === 'number' ? audience : num((audience as Json | undefined)?.count);
  const segment = num(p.segment);
  const figures = h(
    'div',
    { class: 'figures' },
    h('div', { class: 'figure' }, h('div', { class: 'value', id: 'count', 'data-value': audienceCount ?? '' }, int(audienceCount)), h('div', { class: 'label' }, 'a run now would enroll')),
  );
  if (segment !== null) figures.append(h('div', { class: 'figure' }, h('div', { class: 'value' }, int(segment)), h('div', { class: 'label' }, 'in the audience segment')));
  if (typeof p.channel === 'string') figures.append(h('div', { class: 'figure' }, h('div', { class: 'value' }, p.channel), h('div', { class: 'label' }, p.scheduled === false ? 'channel · outside its schedule now' : 'channel')));
  const out: Node[] = [figures];
  if (Array.isArray(p.warnings) && p.warnings.length) out.push(h('ul', { class: 'muted', id: 'warnings' }, ...(p.warnings as unknown[]).map((w) => h('li', {}, String(w)))));
  if (variants.length) {
    const values: Record<string, number> = {};
    const holdouts = new Set<string>();
    for (const v of variants) {
      const name = String(v.name ?? '?');
      values[name] = num(v.count) ?? 0;
      if (v.holdout) holdouts.add(name);
    }
    out.push(h('h2', { id: 'variants-heading' }, 'Audience per variant'), bars(values, 'variants-heading', 'variants-chart', holdouts));
    if (holdouts.size) out.push(h('p', { class: 'muted' }, `Holdout: ${[...holdouts].join(', ')} (receives nothing; measured against the others).`));
  }
  const held = p.held_back;
  if (held && typeof held === 'object') {
    const entries = Object.entries(held as Json).filter(([, v]) => typeof v === 'number') as [string, number][];
    if (entries.length) out.push(h('h2', { id: 'held-heading' }, 'Held back'), bars(Object.fromEntries(entries), 'held-heading', 'held-chart'));
  }
  return out;
}

// ---- KPI ---------------------------------------------------------------------------------------

const OPS: Record<string, string> = { gte: '≥', gt: '>', lte: '≤', lt: '<', eq: '=', between: 'between' };

function renderKpi(p: Json): Node[] {
  const format = p.format;
  const value = num(p.value);
  const status = String(p.status ?? '');
  const target = p.target as { op?: string; value?: number | number[]; by?: string } | undefined;
  const fmt = (v: number | null) => formatValue(v, format);
  const targetText = target ? `${OPS[target.op ?? ''] ?? target.op} ${Array.isArray(target.value) ? target.value.map((v) => fmt(v)).join(' and ') : fmt(num(target.value))}${target.by ? ` by ${target.by}` : ''}` : 'no target';
  const out: Node[] = [
    h(
      'div',
      { class: 'figures' },
      h('div', { class: 'figure' }, h('div', { class: 'value', id: 'kpi-value', 'data-value': value ?? '' }, fmt(value)), h('div', { class: 'label' }, `target ${targetText}`)),
      h('div', { class: 'figure' }, h('div', { class: 'value' }, h('span', { class: `badge ${status}`, id: 'kpi-status' }, status.replace('_', ' '))), h('div', { class: 'label' }, p.guardrail_violated ? 'guardrail violated' : 'status')),
      num(p.expected) !== null ? h('div', { class: 'figure' }, h('div', { class: 'value' }, fmt(num(p.expected))), h('div', { class: 'label' }, `expected on the pace line (gap ${formatGap(num(p.gap), format)})`)) : null,
      p.owner ? h('div', { class: 'figure' }, h('div', { class: 'value', id: 'kpi-owner' }, String(p.owner)), h('div', { class: 'label' }, 'owner')) : null,
    ),
  ];
  // A breakdown (`breakdown:`): the value per group, with each group's target and status when it has one.
  const groups = Array.isArray(p.groups) ? (p.groups as { group: string; size: number; value: number | null; status?: string; target?: { op?: string; value?: number | number[]; by?: string } }[]) : [];
  if (groups.length) {
    const bd = p.breakdown as { by?: string; name?: string } | undefined;
    const withTargets = groups.some((g) => g.status);
    const tText = (t: { op?: string; value?: number | number[]; by?: string } | undefined) =>
      t ? `${OPS[t.op ?? ''] ?? t.op} ${Array.isArray(t.value) ? t.value.map((v) => fmt(v)).join(' and ') : fmt(num(t.value))}${t.by ? ` by ${t.by}` : ''}` : '';
    out.push(h('h2', { id: 'groups-heading' }, `By ${bd?.by === 'attribute' ? '' : `${bd?.by ?? 'group'} `}${bd?.name ?? ''}`));
    out.push(
      h(
        'table',
        { id: 'groups', 'aria-labelledby': 'groups-heading' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'group'), h('th', { scope: 'col' }, 'entities'), h('th', { scope: 'col' }, 'value'), withTargets ? h('th', { scope: 'col' }, 'target') : null, withTargets ? h('th', { scope: 'col' }, 'status') : null)),
        h(
          'tbody',
          {},
          ...groups.map((g) =>
            h(
              'tr',
              {},
              h('th', { scope: 'row' }, g.group),
              h('td', { class: 'num' }, Number(g.size).toLocaleString('en-US')),
              h('td', { class: 'num' }, fmt(num(g.value))),
              withTargets ? h('td', {}, tText(g.target)) : null,
              withTargets ? h('td', {}, g.status ? h('span', { class: `badge ${g.status}` }, g.status.replace('_', ' ')) : '') : null,
            ),
          ),
        ),
      ),
    );
  }
  const series = Array.isArray(p.series) ? (p.series as { at: string; value: number | null; expected: number | null }[]) : [];
  if (series.length) {
    out.push(h('h2', { id: 'pace-heading' }, 'Value over time against the pace line'));
    out.push(paceChart(series, p.pace as PaceLine | undefined, target, fmt, String(p.as_of ?? '')));
    out.push(
      h('div', { class: 'legend', 'aria-hidden': 'true' }, h('span', {}, h('i', { class: 'l-value' }), 'value'), p.pace ? h('span', {}, h('i', { class: 'l-pace' }), 'pace line') : null, target ? h('span', {}, h('i', { class: 'l-target' }), 'target') : null),
    );
    // The same numbers as a table, for screen readers and for copying.
    out.push(
      h(
        'details',
        {},
        h('summary', {}, 'Values as a table'),
        h(
          'table',
          { id: 'series' },
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'as of'), h('th', { scope: 'col' }, 'value'), h('th', { scope: 'col' }, 'pace line'))),
          h('tbody', {}, ...series.map((r) => h('tr', {}, h('td', {}, r.at.slice(0, 10)), h('td', { class: 'num' }, fmt(r.value)), h('td', { class: 'num' }, fmt(r.expected))))),
        ),
      ),
    );
  }
  return out;
}

interface PaceLine {
  from: { at: string; value: number };
  to: { at: string; value: number };
}

function paceChart(series: { at: string; value: number | null; expected: number | null }[], pace: PaceLine | undefined, target: { op?: string; value?: number | number[] } | undefined, fmt: (v: number | null) => string, asOf: string): Node {
  const W = 640;
  const H = 240;
  const m = { l: 64, r: 16, t: 12, b: 28 };
  const times = series.map((p) => Date.parse(p.at));
  if (pace) times.push(Date.parse(pace.from.at), Date.parse(pace.to.at));
  const t0 = Math.min(...times);
  const t1 = Math.max(...times);
  const ys: number[] = [];
  for (const p of series) for (const v of [p.value, p.expected]) if (v !== null) ys.push(v);
  if (pace) ys.push(pace.from.value, pace.to.value);
  const targets = target ? (Array.isArray(target.value) ? target.value : typeof target.value === 'number' ? [target.value] : []) : [];
  ys.push(...targets);
  let y0 = Math.min(...ys);
  let y1 = Math.max(...ys);
  if (!Number.isFinite(y0)) (y0 = 0), (y1 = 1);
  const pad = (y1 - y0 || Math.abs(y1) || 1) * 0.12;
  y0 -= pad;
  y1 += pad;
  const x = (t: number) => m.l + ((t - t0) / (t1 - t0 || 1)) * (W - m.l - m.r);
  const y = (v: number) => H - m.b - ((v - y0) / (y1 - y0)) * (H - m.t - m.b);
  const last = series[series.length - 1];
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', role: 'img', id: 'pace-chart', 'aria-labelledby': 'pace-heading pace-desc', style: `max-width:${W}px` });
  svg.append(s('desc', { id: 'pace-desc' }, `From ${series[0]!.at.slice(0, 10)} to ${last!.at.slice(0, 10)} the value went from ${fmt(series[0]!.value)} to ${fmt(last!.value)}${pace ? `; the pace line runs from ${fmt(pace.from.value)} on ${pace.from.at.slice(0, 10)} to ${fmt(pace.to.value)} on ${pace.to.at.slice(0, 10)}` : ''}.`));
  // Axes and ticks.
  svg.append(s('line', { class: 'axis', x1: m.l, y1: H - m.b, x2: W - m.r, y2: H - m.b }), s('line', { class: 'axis', x1: m.l, y1: m.t, x2: m.l, y2: H - m.b }));
  for (let i = 0; i <= 4; i++) {
    const v = y0 + ((y1 - y0) * i) / 4;
    svg.append(s('text', { x: m.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  for (let i = 0; i <= 3; i++) {
    const t = t0 + ((t1 - t0) * i) / 3;
    svg.append(s('text', { x: x(t), y: H - 8, 'text-anchor': i === 0 ? 'start' : i === 3 ? 'end' : 'middle' }, new Date(t).toISOString().slice(0, 10)));
  }
  for (const tv of targets) svg.append(s('line', { class: 'target-line', x1: m.l, y1: y(tv), x2: W - m.r, y2: y(tv) }));
  if (pace) svg.append(s('line', { class: 'pace-line', x1: x(Date.parse(pace.from.at)), y1: y(pace.from.value), x2: x(Date.parse(pace.to.at)), y2: y(pace.to.value) }));
  const now = Date.parse(asOf);
  if (Number.isFinite(now)) svg.append(s('line', { class: 'today', x1: x(now), y1: m.t, x2: x(now), y2: H - m.b }));
  const pts = series.filter((p) => p.value !== null).map((p) => [x(Date.parse(p.at)), y(p.value!)] as const);
  if (pts.length > 1) svg.append(s('polyline', { class: 'value-line', points: pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(' ') }));
  for (const p of series) {
    if (p.value === null) continue;
    svg.append(s('circle', { class: 'value-dot', cx: x(Date.parse(p.at)).toFixed(1), cy: y(p.value).toFixed(1), r: 3 }, s('title', {}, `${p.at.slice(0, 10)}: ${fmt(p.value)}${p.expected !== null ? ` (pace ${fmt(p.expected)})` : ''}`)));
  }
  return svg;
}

vscode.postMessage({ type: 'ready' });
