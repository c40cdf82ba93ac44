// Shared command steps: load the project, connect to its database, analyse with the live catalog.

import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Project, PROJECT_FILE, type Analysis } from '../src/project.js';
import { connect, DbError, type Db } from '../src/run/db.js';
import { resolveDatabaseUrl, type ResolvedUrl } from '../src/run/connection.js';
import { loadCatalog } from '../src/run/catalog-load.js';
import type { Catalog } from '../src/resolve/catalog.js';
import { CliError, type Io } from './io.js';
import type { GlobalOptions } from './main.js';

export function loadProjectOrFail(g: GlobalOptions, io: Io): Project {
  if (!existsSync(join(g.project, PROJECT_FILE))) {
    const shown = relative(io.cwd, g.project) || '.';
    throw new CliError(`no ${PROJECT_FILE} in ${shown}; run \`tally init\` to create a project, or pass --project DIR`);
  }
  return Project.load(g.project);
}

export function databaseUrl(g: GlobalOptions, project: Project, io: Io): ResolvedUrl {
  return resolveDatabaseUrl({ flag: g.db, env: io.env, warehouseUrl: project.config.warehouseUrl, projectRoot: project.root });
}

/** Connects for a command that needs data; a missing embedded database is a usage error with a hint. */
export async function connectOrFail(g: GlobalOptions, project: Project, io: Io): Promise<{ db: Db; url: ResolvedUrl }> {
  const url = databaseUrl(g, project, io);
  for (const n of url.notes) io.err(`tally: ${n}`);
  if (url.source === 'embedded default' && url.embeddedMissing) {
    throw new CliError(`no database: the embedded one (${url.label}) is empty; run \`tally demo\` to load sample data, or pass --db postgres://… / set TALLY_DATABASE_URL`);
  }
  try {
    const db = await connect(url.url, { baseDir: url.source === '--db' ? io.cwd : project.root, timezone: project.config.timezone, create: false });
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
  opts: { required: boolean },
): Promise<{ analysis: Analysis; db?: Db; catalog?: Catalog; skipped?: string }> {
  const first = project.analyze({ now: g.asOf });
  const url = databaseUrl(g, project, io);
  if (!opts.required && url.source === 'embedded default' && url.embeddedMissing) return { analysis: first };
  let db: Db;
  try {
    db = opts.required
      ? (await connectOrFail(g, project, io)).db
      : await connect(url.url, { baseDir: url.source === '--db' ? io.cwd : project.root, timezone: project.config.timezone, create: false });
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
