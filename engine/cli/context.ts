// Shared command steps: load the project, connect to its database, analyse with the live catalog.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Project, PROJECT_FILE, type Analysis } from '../src/project.js';
import { connect, DbError, type Db } from '../src/run/db.js';
import { resolveDatabaseUrl, type ResolvedUrl } from '../src/run/connection.js';
import { loadCatalog } from '../src/run/catalog-load.js';
import type { Catalog } from '../src/resolve/catalog.js';
import { CliError, type Io } from './io.js';
import type { GlobalOptions } from './main.js';

/**
 * The project as it was at a git ref (`--ref`): its folder exported with `git archive` into a
 * temporary directory. The caller removes `dir` when done, and connects with the working copy's
 * settings (`home` of analyzeWithCatalog), so the embedded default stays the checkout's own.
 */
export function loadProjectAtRef(g: GlobalOptions, io: Io, ref: string): { project: Project; commit: string; dir: string } {
  const git = (args: string[], cwd: string): Buffer => {
    try {
      return execFileSync('git', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 512 * 1024 * 1024, timeout: 60_000 });
    } catch (e) {
      const msg = String((e as { stderr?: Buffer }).stderr ?? (e as Error).message).trim().split('\n')[0];
      throw new CliError(`--ref ${ref}: ${msg || 'git failed'}`);
    }
  };
  if (!existsSync(g.project)) throw new CliError(`no project folder ${g.project}`);
  const top = git(['rev-parse', '--show-toplevel'], g.project).toString().trim();
  const commit = git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], g.project).toString().trim();
  if (!/^[0-9a-f]{40,64}$/.test(commit)) throw new CliError(`--ref ${ref} is not a commit of this repository`);
  const rel = relative(top, g.project).replace(/\\/g, '/');
  const dir = mkdtempSync(join(tmpdir(), 'tally-ref-'));
  const tar = git(['archive', '--format=tar', commit, '--', rel || '.'], top);
  execFileSync('tar', ['-x', '-C', dir], { input: tar, stdio: ['pipe', 'ignore', 'pipe'] });
  const root = join(dir, rel);
  if (!existsSync(join(root, PROJECT_FILE))) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliError(`--ref ${ref}: no ${PROJECT_FILE} in ${rel || '.'} at commit ${commit.slice(0, 12)}`);
  }
  return { project: Project.load(root), commit, dir };
}

export function loadProjectOrFail(g: GlobalOptions, io: Io): Project {
  if (!existsSync(join(g.project, PROJECT_FILE))) {
    const shown = relative(io.cwd, g.project) || '.';
    throw new CliError(`no ${PROJECT_FILE} in ${shown}; run \`tally init\` to create a project, or pass --project DIR`);
  }
  return Project.load(g.project);
}

/**
 * The database for a project. `home`: the working copy whose settings (warehouse.url, the embedded
 * `.tally/db`) apply when `project` is the same project at another git ref.
 */
export function databaseUrl(g: GlobalOptions, project: Project, io: Io, home: Project = project): ResolvedUrl {
  project = home;
  return resolveDatabaseUrl({ flag: g.db, env: io.env, warehouseUrl: project.config.warehouseUrl, projectRoot: project.root });
}


/** Connects for a command that needs data; a missing embedded database is a usage error with a hint. */
export async function connectOrFail(g: GlobalOptions, project: Project, io: Io, home: Project = project): Promise<{ db: Db; url: ResolvedUrl }> {
  const url = databaseUrl(g, project, io, home);
  for (const n of url.notes) io.err(`tally: ${n}`);
  if (url.source === 'embedded default' && url.embeddedMissing) {
    throw new CliError(`no database: the embedded one (${url.label}) is empty; run \`tally demo\` to load sample data, or pass --db postgres://… / set TALLY_DATABASE_URL`);
  }
  try {
    const db = await connect(url.url, { baseDir: url.source === '--db' ? io.cwd : home.root, timezone: project.config.timezone, create: false });
    return { db, url };
  } catch (e) {
    if (e instanceof DbError) throw new CliError(`${e.message} (database from ${url.source})`);
    throw e;
  }
}

/**
 * Analyses with the live catalog when a database is reachable. Unreachable is not fatal for
 * static commands: a warning diagnostic says catalog checks were skipped and why.
 */
export async function analyzeWithCatalog(
  g: GlobalOptions,
  project: Project,
  io: Io,
  opts: { required: boolean; home?: Project },
): Promise<{ analysis: Analysis; db?: Db; catalog?: Catalog; skipped?: string }> {
  const home = opts.home ?? project;
  const first = project.analyze({ now: g.asOf });
  const url = databaseUrl(g, project, io, home);
  if (!opts.required && url.source === 'embedded default' && url.embeddedMissing) return { analysis: first };
  let db: Db;
  try {
    db = opts.required
      ? (await connectOrFail(g, project, io, home)).db
      : await connect(url.url, { baseDir: url.source === '--db' ? io.cwd : home.root, timezone: project.config.timezone, create: false });
  } catch (e) {
    // An explicit --db that does not work is a usage or connection error, not a skipped check.
    if (opts.required || !(e instanceof DbError) || url.source === '--db') throw e;
    return { analysis: first, skipped: `catalog checks skipped: ${e.message}` };
  }
  try {
    const catalog = await loadCatalog(db, first.definitions);
    return { analysis: project.analyze({ catalog, now: g.asOf }), db, catalog };
  } catch (e) {
    if (opts.required) {
      await db.close();
      throw e;
    }
    await db.close();
    return { analysis: first, skipped: `catalog checks skipped: ${(e as Error).message}` };
  }
}
