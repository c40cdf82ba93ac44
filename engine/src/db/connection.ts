// Which database a command talks to (LANGUAGE.md §9): --db, else TALLY_DATABASE_URL, else
// DATABASE_URL, else tally.yaml's warehouse.url (with ${VAR} from the environment), else the
// embedded default pglite:<project>/.tally/db. The CLI and the language server share this.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrl } from './db.js';

export type UrlSource = '--db' | 'TALLY_DATABASE_URL' | 'DATABASE_URL' | 'warehouse.url' | 'embedded default' | 'client setting';

export interface ResolvedUrl {
  /** The URL to connect to; '' when `unset` is not empty (there is nothing to connect to). */
  readonly url: string;
  readonly source: UrlSource;
  /** For display: no credentials (`pglite:.tally/db` for the embedded default). */
  readonly label: string;
  /** The embedded default whose directory does not exist yet (nothing loaded). */
  readonly embeddedMissing: boolean;
  /**
   * Whether the user named this database (--db, an environment variable, warehouse.url, the
   * editor's setting) rather than falling back to the embedded default. Not reaching a named
   * database is an error, never a silent fallback (LANGUAGE.md §9).
   */
  readonly named: boolean;
  /** Variables warehouse.url interpolates that are not set (the URL is then unusable). */
  readonly unset: readonly string[];
}

export function interpolateEnv(text: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_m, name: string) => {
    const v = env[name];
    if (v === undefined || v === '') missing.push(name);
    return v ?? '';
  });
  return { value, missing };
}

export function resolveDatabaseUrl(args: {
  flag?: string;
  setting?: string;
  env?: NodeJS.ProcessEnv;
  warehouseUrl?: string;
  projectRoot: string;
}): ResolvedUrl {
  const env = args.env ?? process.env;
  const make = (url: string, source: UrlSource): ResolvedUrl => ({ url, source, label: redactUrl(url), embeddedMissing: false, named: true, unset: [] });
  if (args.flag) return make(args.flag, '--db');
  if (args.setting) return make(args.setting, 'client setting');
  if (env.TALLY_DATABASE_URL) return make(env.TALLY_DATABASE_URL, 'TALLY_DATABASE_URL');
  if (env.DATABASE_URL) return make(env.DATABASE_URL, 'DATABASE_URL');
  if (args.warehouseUrl) {
    const { value, missing } = interpolateEnv(args.warehouseUrl, env);
    if (missing.length === 0 && value) return make(value, 'warehouse.url');
    return { url: '', source: 'warehouse.url', label: redactUrl(args.warehouseUrl), embeddedMissing: false, named: true, unset: missing };
  }
  const dir = join(args.projectRoot, '.tally', 'db');
  return { url: `pglite:${dir}`, source: 'embedded default', label: 'pglite:.tally/db', embeddedMissing: !existsSync(dir), named: false, unset: [] };
}

/** How a resolved database is named to the user: `embedded .tally/db`, or its redacted URL and where it came from. */
export function databaseDescription(url: ResolvedUrl): string {
  return url.source === 'embedded default' ? 'embedded .tally/db' : `${url.label} (from ${url.source})`;
}

/**
 * Why a named database cannot be used before even trying: warehouse.url needs variables that are
 * not set. `alternatives`: what else the caller offers (the CLI's --db and --offline, the editor's setting).
 */
export function unsetVariablesMessage(url: ResolvedUrl, alternatives: readonly string[] = []): string | undefined {
  if (!url.unset.length) return undefined;
  const vars = url.unset.map((m) => `$${m}`).join(', ');
  const them = url.unset.length === 1 ? 'it' : 'them';
  const ways = [`set ${them}`, ...alternatives];
  return `warehouse.url in tally.yaml (${url.label}) needs ${vars}, which ${url.unset.length === 1 ? 'is' : 'are'} not set: ${ways.length > 1 ? `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)}` : ways[0]}`;
}
