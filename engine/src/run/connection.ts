// Which database a command talks to (LANGUAGE.md §9): --db, else TALLY_DATABASE_URL, else
// DATABASE_URL, else tally.yaml's warehouse.url (with ${VAR} from the environment), else the
// embedded default pglite:<project>/.tally/db. The CLI and the language server share this.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { redactUrl } from './db.js';

export type UrlSource = '--db' | 'TALLY_DATABASE_URL' | 'DATABASE_URL' | 'warehouse.url' | 'embedded default' | 'client setting';

export interface ResolvedUrl {
  readonly url: string;
  readonly source: UrlSource;
  /** For display: no credentials. */
  readonly label: string;
  /** The embedded default whose directory does not exist yet (nothing loaded). */
  readonly embeddedMissing: boolean;
  /** Notes for the user, e.g. an unset ${VAR}. */
  readonly notes: readonly string[];
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
  const notes: string[] = [];
  const make = (url: string, source: UrlSource): ResolvedUrl => ({ url, source, label: redactUrl(url), embeddedMissing: false, notes });
  if (args.flag) return make(args.flag, '--db');
  if (args.setting) return make(args.setting, 'client setting');
  if (env.TALLY_DATABASE_URL) return make(env.TALLY_DATABASE_URL, 'TALLY_DATABASE_URL');
  if (env.DATABASE_URL) return make(env.DATABASE_URL, 'DATABASE_URL');
  if (args.warehouseUrl) {
    const { value, missing } = interpolateEnv(args.warehouseUrl, env);
    if (missing.length === 0 && value) return make(value, 'warehouse.url');
    notes.push(`warehouse.url needs ${missing.map((m) => `$${m}`).join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not set; using the embedded database`);
  }
  const dir = join(args.projectRoot, '.tally', 'db');
  return { url: `pglite:${dir}`, source: 'embedded default', label: 'pglite:.tally/db', embeddedMissing: !existsSync(dir), notes };
}
