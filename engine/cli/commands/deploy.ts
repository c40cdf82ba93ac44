// tally deploy [--allow-drop] [--ref GIT-REF] [--format text|json]: apply the project to the
// database in one transaction (views in the deploy schema, an append-only history). Refuses
// projects with errors and version-rule errors (exit 1, diagnostics rendered like `tally validate`).
// --ref deploys the project as it was at a commit (a rollback): a lower version is then allowed
// when it restores exactly what an earlier deploy recorded; the history gains rows, never loses any.

import { execFileSync } from 'node:child_process';
import type { Diagnostic, RawDiagnostic } from '../../src/diagnostics.js';
import { LineIndex } from '../../src/diagnostics.js';
import { toDiagnostic, type Project } from '../../src/project.js';
import { deploy, type DeployResult } from '../../src/deploy/deploy.js';
import { rmSync } from 'node:fs';
import { analyzeWithCatalog, loadProjectAtRef, loadProjectOrFail } from '../context.js';
import { diagnosticsJson, diagnosticsText, summaryLine } from '../format-diagnostics.js';
import { EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../main.js';

/** The checkout's HEAD commit when the project is inside a git work tree, else null. */
export function gitCommit(dir: string): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : null;
  } catch {
    return null;
  }
}

export function renderRaw(project: Project, list: readonly RawDiagnostic[]): Diagnostic[] {
  return list.map((d) => toDiagnostic(d, project.file(d.file)?.lines ?? new LineIndex('')));
}

export async function runDeploy(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const { at, analysis, db, catalog, used } = await analyzeAt(g, io);
  const project = at.project;
  const sources = (f: string) => project.file(f)?.text;
  try {
    if (analysis.errorCount > 0) {
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
      if (format === 'json') io.out(JSON.stringify({ deployed: false, refused: true, diagnostics: JSON.parse(diagnosticsJson(errors)).diagnostics, database: used }, null, 2));
      else io.err(diagnosticsText(errors, at.shownRoot, io.cwd, sources));
      io.err(`${summaryLine(analysis.diagnostics, project.filePaths.length, analysis.definitions.length)}; nothing deployed${at.ref ? ` (at ${at.ref})` : ''}`);
      return EXIT_FINDINGS;
    }
    const result = await deploy(db!, analysis, {
      schema: project.config.deploySchema,
      allowDrop: g.values['allow-drop'] === true,
      who: io.env.USER ?? process.env.USER ?? 'unknown',
      gitCommit: at.commit ?? gitCommit(project.root),
      rollback: at.ref !== undefined,
      catalog,
    });
    const diagnostics = renderRaw(project, result.diagnostics);
    if (format === 'json') io.out(JSON.stringify({ ...(deployJson(result, diagnostics, project.config.deploySchema) as object), database: used }, null, 2));
    else {
      if (diagnostics.length) (result.refused ? io.err : io.out)(diagnosticsText(diagnostics, at.shownRoot, io.cwd, sources));
      io.out(deployText(result, project.config.deploySchema));
    }
    return result.refused ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    await db?.close();
    at.cleanup();
  }
}

/** The project to deploy or plan: the working copy, or with `--ref R` the project as it was at R. */
export function projectAt(g: GlobalOptions, io: Io): { project: Project; home: Project; ref?: string; commit?: string; shownRoot: string; cleanup: () => void } {
  const ref = g.values.ref;
  const home = loadProjectOrFail(g, io);
  if (typeof ref !== 'string') return { project: home, home, shownRoot: home.root, cleanup: () => undefined };
  const { project, commit, dir } = loadProjectAtRef(g, io, ref);
  return { project, home, ref, commit, shownRoot: home.root, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** projectAt, then its analysis with the live catalog and an open connection (the caller closes it and cleans up). */
export async function analyzeAt(g: GlobalOptions, io: Io): Promise<{ at: ReturnType<typeof projectAt> } & Awaited<ReturnType<typeof analyzeWithCatalog>>> {
  const at = projectAt(g, io);
  try {
    return { at, ...(await analyzeWithCatalog(g, at.project, io, { required: true, home: at.home })) };
  } catch (e) {
    at.cleanup();
    throw e;
  }
}

function deployJson(r: DeployResult, diagnostics: Diagnostic[], schema: string): unknown {
  return {
    deployed: r.deployed,
    refused: r.refused,
    deploy_id: r.deployId,
    schema,
    changes: r.changes.map((c) => ({
      kind: c.kind,
      name: c.name,
      status: c.status,
      version: c.version,
      deployed_version: c.deployed?.version ?? null,
      fingerprint: c.fingerprint,
      recorded: r.deployed && c.record,
      restored: c.restored === true,
    })),
    views: r.views,
    snapshot: r.snapshot ?? null,
    diagnostics: JSON.parse(diagnosticsJson(diagnostics)).diagnostics,
  };
}

function deployText(r: DeployResult, schema: string): string {
  const lines: string[] = [];
  const shown = r.changes.filter((c) => c.status !== 'unchanged' || c.record);
  for (const c of shown) {
    const sign = c.status === 'new' ? '+' : c.status === 'removed' ? '-' : '~';
    const v = c.deployed && c.status !== 'removed' && c.deployed.version !== c.version ? `v${c.deployed.version} -> v${c.version}` : `v${c.version}`;
    lines.push(`  ${sign} ${c.kind} ${c.name} ${v} (${c.restored ? `restores v${c.version}` : c.status === 'unchanged' ? 'version only' : c.status})`);
  }
  const unchanged = r.changes.filter((c) => c.status === 'unchanged' && !c.record).length;
  if (r.refused) {
    lines.unshift('deploy refused: fix the version errors above; nothing was written');
    return lines.join('\n');
  }
  if (!r.deployed) return `nothing to deploy: ${unchanged} definition${unchanged === 1 ? '' : 's'} unchanged`;
  lines.unshift(`deployed #${r.deployId} to schema ${schema}: ${shown.length} recorded, ${r.views.created.length} view${r.views.created.length === 1 ? '' : 's'} created or replaced, ${r.views.dropped.length} dropped, ${unchanged} unchanged`);
  if (r.snapshot?.taken.length) lines.push(`lifecycle snapshot for ${r.snapshot.day}: ${r.snapshot.taken.map((t) => t.lifecycle).join(', ')}`);
  for (const p of r.snapshot?.problems ?? []) lines.push(`lifecycle snapshot skipped: ${p}`);
  return lines.join('\n');
}
