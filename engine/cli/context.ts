// Shared command steps: load the project, connect to its database, analyse with the live catalog.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Project, PROJECT_FILE, type Analysis, connect, DbError, type Db, databaseDescription, resolveDatabaseUrl, unsetVariablesMessage, type ResolvedUrl, analyzeLive, type Catalog } from '../src/index.js';
import { diagnosticsText } from './format-diagnostics.js';
import { CliError, type Io } from './io.js';
import type { GlobalOptions } from './options.js';

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
  return resolveDatabaseUrl({ flag: g.db, env: io.env, warehouseUrl: home.config.warehouseUrl, projectRoot: home.root });
}

/** Which database a command used, as JSON outputs carry it (`database`). */
export interface DatabaseUsed {
  /** The redacted URL (`pglite:.tally/db` for the embedded default); null when none was used. */
  readonly url: string | null;
  /** Where it came from (--db, TALLY_DATABASE_URL, DATABASE_URL, warehouse.url, embedded default). */
  readonly source: string | null;
  /** Why no database was used (validate --offline, or nothing configured and nothing loaded). */
  readonly offline?: string;
}

/**
 * Says which database a command uses: one line on stderr (`tally: database: …`) unless the output
 * is JSON, which carries the same as its `database` field instead. Every command goes through here.
 */
export function announceDatabase(g: GlobalOptions, io: Io, used: DatabaseUsed, description?: string): void {
  if (g.format === 'json' || g.values.quiet === true) return;
  io.err(used.url === null ? `tally: no database (${used.offline ?? 'none'}): catalog checks skipped` : `tally: database: ${description ?? used.url}`);
}

function usedOf(url: ResolvedUrl): DatabaseUsed {
  return { url: url.label, source: url.source };
}

/**
 * Opens the project's database for a command, the one way every command does (LANGUAGE.md §9):
 * - `--offline` (validate, advise): no database at all;
 * - a database the user named (--db, TALLY_DATABASE_URL, DATABASE_URL, warehouse.url) that cannot
 *   be reached, or a warehouse.url whose ${VAR} is not set, is an error (exit 2) naming the setting
 *   and the variable, never a silent fallback to the embedded database;
 * - the embedded default: required commands need it loaded; validate without it checks no catalog.
 * It announces which database it used (announceDatabase). `required: false` (validate) returns no
 * db when there is none to use; `skipped` says why catalog checks were skipped (the embedded
 * default failed to open).
 */
export async function openDatabase(
  g: GlobalOptions,
  project: Project,
  io: Io,
  opts: { required: boolean; home?: Project },
): Promise<{ db?: Db; url?: ResolvedUrl; used: DatabaseUsed; skipped?: string }> {
  const home = opts.home ?? project;
  const offline = opts.required ? undefined : `pass --offline to ${g.command} without a database`;
  if (g.values.offline === true) {
    if (opts.required) throw new CliError(`--offline: tally ${g.command} needs a database (only validate, advise and compile run without one)`);
    if (g.db !== undefined) throw new CliError('--offline and --db contradict each other: pass one of them');
    const used: DatabaseUsed = { url: null, source: null, offline: '--offline' };
    announceDatabase(g, io, used);
    return { used };
  }
  const url = databaseUrl(g, project, io, home);
  const unset = unsetVariablesMessage(url, ['pass --db URL', ...(offline ? [offline] : [])]);
  if (unset) throw new CliError(unset);
  if (url.source === 'embedded default' && url.embeddedMissing) {
    if (opts.required) throw new CliError(`no database: the embedded one (${url.label}) is empty; run \`tally demo\` to load sample data, or pass --db postgres://… / set TALLY_DATABASE_URL`);
    const used: DatabaseUsed = { url: null, source: null, offline: 'nothing configured, and the embedded .tally/db is empty' };
    announceDatabase(g, io, used);
    return { url, used };
  }
  let db: Db;
  try {
    db = await connect(url.url, { baseDir: url.source === '--db' ? io.cwd : home.root, timezone: project.config.timezone, create: false });
  } catch (e) {
    if (!(e instanceof DbError)) throw e;
    if (opts.required || url.named) throw new CliError(`${e.message} (database from ${url.source})${offline ? `; ${offline}` : ''}`);
    const used: DatabaseUsed = { url: null, source: null, offline: e.message };
    announceDatabase(g, io, used);
    return { url, used, skipped: `catalog checks skipped: ${e.message}` };
  }
  const used = usedOf(url);
  announceDatabase(g, io, used, databaseDescription(url));
  return { db, url, used };
}

/** Connects for a command that needs data (openDatabase, required). */
export async function connectOrFail(g: GlobalOptions, project: Project, io: Io, home: Project = project): Promise<{ db: Db; url: ResolvedUrl; used: DatabaseUsed }> {
  const r = await openDatabase(g, project, io, { required: true, home });
  return { db: r.db!, url: r.url!, used: r.used };
}

/**
 * Analyses with the live catalog when a database is there (openDatabase). For validate
 * (`required: false`) a missing embedded database is not an error; a named database that cannot
 * be reached, or whose catalog cannot be read, is (exit 2), unless --offline.
 */
export async function analyzeWithCatalog(
  g: GlobalOptions,
  project: Project,
  io: Io,
  opts: { required: boolean; home?: Project },
): Promise<{ analysis: Analysis; db?: Db; catalog?: Catalog; skipped?: string; used: DatabaseUsed }> {
  const first = project.analyze({ now: g.asOf });
  const { db, url, used, skipped } = await openDatabase(g, project, io, opts);
  if (!db) return { analysis: first, skipped, used };
  try {
    const { analysis, catalog } = await analyzeLive(db, project, { now: g.asOf });
    return { analysis, db, catalog, used };
  } catch (e) {
    await db.close();
    if (opts.required) throw e;
    const why = `cannot read the catalog of ${url!.label}: ${(e as Error).message}`;
    if (url!.named) throw new CliError(`${why} (database from ${url!.source}); pass --offline to ${g.command} without a database`);
    return { analysis: first, skipped: `catalog checks skipped: ${why}`, used };
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

/** What a command that reads the live database works with (withLiveAnalysis). */
export interface Live {
  readonly project: Project;
  readonly db: Db;
  readonly used: DatabaseUsed;
  readonly analysis: Analysis;
  readonly catalog: Catalog;
}

/**
 * The steps every reading command shares: load the project, connect (exit 2 when the database
 * cannot be reached), analyse with the live catalog (event types unchecked: no probe), run, close.
 */
export async function withLiveAnalysis<T>(g: GlobalOptions, io: Io, run: (live: Live) => Promise<T>): Promise<T> {
  const project = loadProjectOrFail(g, io);
  const { db, used } = await connectOrFail(g, project, io);
  try {
    const { analysis, catalog } = await analyzeLive(db, project, { now: g.asOf, eventTypes: false });
    return await run({ project, db, used, analysis, catalog });
  } finally {
    await db.close();
  }
}

/**
 * Prints the errors that stop the named definitions (with their file, line and column) and what
 * to do, on stderr; true when there were any, so the command exits with findings.
 */
export function printBlockingErrors(io: Io, live: Pick<Live, 'project' | 'analysis'>, refs: Parameters<Analysis['blockingErrors']>[0], what: string): boolean {
  const errors = live.analysis.blockingErrors(refs);
  if (!errors.length) return false;
  const { project } = live;
  io.err(diagnosticsText(errors, project.root, io.cwd, (f) => project.file(f)?.text));
  io.err(what);
  return true;
}
