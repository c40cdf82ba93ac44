// tally preview segment|trait|score|lifecycle|kpi NAME: live figures as of T.

import { preview, PreviewError, PREVIEW_KINDS, KIND_OF, type Preview, type PreviewKind } from '../../src/preview/preview.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, formatNumber, table, type Io } from '../io.js';
import { checkFormat, intOption, timeoutOption, type GlobalOptions } from '../main.js';
import { loadCatalog } from '../../src/db/catalog-load.js';
import type { KpiDef } from '../../src/model/types.js';
import { formatKpiValue } from '../../src/kpi/status.js';
import type { Analysis } from '../../src/project.js';

export async function runPreview(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const [kindArg, name] = g.positionals;
  if (!kindArg || !name) throw new CliError(`usage: tally preview <${PREVIEW_KINDS.join('|')}> NAME`);
  if (!(PREVIEW_KINDS as readonly string[]).includes(kindArg)) throw new CliError(`cannot preview '${kindArg}'; kinds: ${PREVIEW_KINDS.join(', ')}`);
  const kind = kindArg as PreviewKind;
  const sample = intOption(g, 'sample', { min: 0, max: 1000, fallback: 10 });
  const timeout = timeoutOption(g);

  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const catalog = await loadCatalog(db, project.analyze({ now: g.asOf }).definitions, { eventTypes: false });
    const analysis = project.analyze({ catalog, now: g.asOf });
    const errors = analysis.blockingErrors([{ kind: KIND_OF[kind], name }]);
    if (errors.length) {
      io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
      io.err(`${kind} '${name}' has errors; fix them first`);
      return EXIT_FINDINGS;
    }
    let p: Preview;
    try {
      p = await preview(db, analysis, kind, name, { asOf: g.asOf, sampleSize: sample, timeoutMs: timeout });
    } catch (e) {
      if (e instanceof PreviewError) {
        io.err(`tally: ${e.message}`);
        return e.code === 'not-found' ? 2 : EXIT_FINDINGS;
      }
      throw e;
    }
    if (format === 'json') {
      const { sql: _sql, ...rest } = p as Preview & { sql: string };
      io.out(JSON.stringify({ ...rest, database: used }, null, 2));
    } else io.out(previewText(p, analysis));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}

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
      return lines.filter(Boolean).join('\n');
    }
    case 'campaign': {
      const head = `campaign ${p.name} (${p.channel}): a run now would enroll ${formatNumber(p.audience)} of ${formatNumber(p.segment)} in the segment (${at})`;
      const variants = table(['variant', 'share', 'would enroll'], p.variants.map((v) => [`${v.name}${v.holdout ? ' (holdout)' : ''}`, `${(v.share * 100).toFixed(1)}%`, v.count]));
      const held = table(['held back by', 'entities'], Object.entries(p.held_back).map(([k, n]) => [k.replace('_', ' '), n]));
      const trigger = p.trigger_window ? `\ntriggers in (${p.trigger_window.from}, ${p.trigger_window.to}]` : '';
      return `${head}\n\n${variants}\n\n${held}${trigger}${p.warnings.map((w) => `\nwarning: ${w}`).join('')}`;
    }
  }
}

function bar(n: number, total: number): string {
  if (!total) return '';
  return '█'.repeat(Math.round((n / total) * 30));
}
