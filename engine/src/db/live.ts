// analyzeLive: the one way a command or the server analyses a project against a live database.
// Analyse without a catalog (to learn which tables the definitions map), read those tables'
// catalog, analyse again with it (the catalog checks: tables, columns, attribute types, event
// types). Every CLI command that touches a database and the language server's connection go
// through here, so the order and the options cannot drift between them.

import type { Analysis, Project } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import { loadCatalog, type CatalogLoadOptions } from './catalog-load.js';
import type { Db } from './db.js';

export interface LiveOptions extends CatalogLoadOptions {
  /** T: the instant the analysis is as of (undefined: now). */
  readonly now?: Date;
}

export interface LiveAnalysis {
  /** The analysis with the live catalog. */
  readonly analysis: Analysis;
  readonly catalog: Catalog;
}

/** Analyses `project` with the live catalog of `db`; a failing catalog read throws (DbError). */
export async function analyzeLive(db: Db, project: Project, options: LiveOptions = {}): Promise<LiveAnalysis> {
  const { now, ...load } = options;
  const catalog = await loadCatalog(db, project.analyze({ now }).definitions, load);
  return { analysis: project.analyze({ catalog, now }), catalog };
}
