// tally compile --out DIR: DIR/<kind>/<name>.sql per definition with SQL, plus DIR/manifest.json.
// Literals are inlined (escaped by Kysely); T is --as-of when given, else the database's now().

import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { diagnosticsText, summaryLine } from '../format-diagnostics.js';
import { loadProjectOrFail } from '../context.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import type { GlobalOptions } from '../options.js';
import { type SqlOptions, type Strategy, compileMetricBreakdown, sqlComment } from '../../src/index.js';

export async function runCompile(g: GlobalOptions, io: Io): Promise<number> {
  const outArg = g.values.out;
  if (typeof outArg !== 'string' || !outArg) throw new CliError('compile needs --out DIR: where to write the SQL files');
  const strategy = g.values.strategy;
  if (strategy !== undefined && strategy !== 'probe' && strategy !== 'pass' && strategy !== 'auto') throw new CliError(`--strategy is auto, probe or pass, not '${String(strategy)}'`);
  const project = loadProjectOrFail(g, io);
  const analysis = project.analyze({ now: g.asOf });
  if (analysis.errorCount > 0) {
    io.err(diagnosticsText(analysis.diagnostics.filter((d) => d.severity === 'error'), project.root, io.cwd, (f) => project.file(f)?.text));
    io.err(`${summaryLine(analysis.diagnostics, project.filePaths.length, analysis.definitions.length)}; nothing written`);
    return EXIT_FINDINGS;
  }
  const out = resolvePath(io.cwd, outArg);
  const opts: SqlOptions = {
    asOf: g.asOfGiven ? { kind: 'instant', at: g.asOf } : { kind: 'now' },
    literals: 'inline',
    strategy: (strategy as Strategy | 'auto' | undefined) ?? 'auto',
  };
  const manifest: unknown[] = [];
  for (const info of analysis.infos) {
    const d = info.def;
    const entry: Record<string, unknown> = {
      kind: d.kind,
      name: d.name,
      version: d.version,
      fingerprint: info.fingerprint,
      source: { file: d.file, line: project.file(d.file)!.lines.position(d.nameSpan[0]).line + 1 },
      depends_on: [...info.resolved.deps].sort(),
    };
    const q = analysis.sqlFor(d.kind, d.name, opts);
    if (q) {
      const rel = `${d.kind.toLowerCase()}/${d.name}.sql`;
      mkdirSync(join(out, d.kind.toLowerCase()), { recursive: true });
      // Every comment line goes through sqlComment: file names and descriptions are user text.
      const header = [
        sqlComment(`${d.kind} ${d.name} v${d.version} (${d.file})`),
        d.description ? sqlComment(d.description.replace(/\s+/g, ' ')) : undefined,
        sqlComment(`as of: ${g.asOfGiven ? g.asOf.toISOString() : 'now() at query time'}; shape: ${q.strategy ?? 'scalar'}`),
        sqlComment(`fingerprint: ${info.fingerprint}`),
      ].filter(Boolean);
      writeFileSync(join(out, rel), `${header.join('\n')}\n${q.sql};\n`);
      entry.sql = rel;
      const rq = info.resolved.query;
      entry.returns = info.resolved.cohort
        ? ['start', 'size', 'n<j>', 'v<j>', 'im<j>', 'fu<j>']
        : rq?.k === 'members' ? ['key'] : rq?.k === 'values' ? ['key', 'value'] : rq?.k === 'funnel' ? rq.funnel.steps.flatMap((_s, i) => (i === 0 ? ['n0'] : [`n${i}`, `m${i}`])) : ['value'];
      if (rq?.k === 'metric' && rq.breakdown) {
        // A breakdown: the metric per group, one more file beside the overall value's.
        const b = compileMetricBreakdown(rq.metric, rq.breakdown, opts);
        const brel = `${d.kind.toLowerCase()}/${d.name}.breakdown.sql`;
        writeFileSync(join(out, brel), `${header.join('\n')}\n${sqlComment('breakdown: one row per group (gid, label, kind: value|null|other, size, value)')}\n${b.sql};\n`);
        entry.breakdown_sql = brel;
        entry.breakdown_returns = ['gid', 'label', 'kind', 'size', 'value'];
      }
    }
    manifest.push(entry);
  }
  mkdirSync(out, { recursive: true });
  writeFileSync(
    join(out, 'manifest.json'),
    `${JSON.stringify({ project: project.config.name, tally: 1, as_of: g.asOfGiven ? g.asOf.toISOString() : null, definitions: manifest }, null, 2)}\n`,
  );
  if (!g.values.quiet) io.out(`wrote ${manifest.filter((m) => (m as { sql?: string }).sql).length} SQL files and manifest.json to ${outArg}`);
  return EXIT_OK;
}
