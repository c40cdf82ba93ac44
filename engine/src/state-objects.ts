// Tally's own objects in the deploy schema, declared once. The DDL that creates them
// (state/ddl.ts, all of it) uses these names; the resolver
// reserves every definition name whose deployed view would collide with one of them, and deploy
// refuses to drop or replace a relation it does not own. No imports: the resolver reads it.
//
// Relation names: each state table, and what PostgreSQL and our DDL name after it (its primary
// key, sequences, indexes: `<table>_…`). A deployed definition's view (or table) is
// `<kind>_<name>` (segment, trait, score, lifecycle); `materialize: table` builds
// `<view>__tally_new` aside before swapping it in.

/** The append-only deploy history and its recorded-over-time tables. */
export const HISTORY_TABLES = ['deploys', 'deployed_definitions', 'kpi_checks', 'lifecycle_snapshots', 'lifecycle_stage_changes'] as const;
/** The append-only campaign run, enrollment and outbox tables. */
export const CAMPAIGN_TABLES = ['campaign_runs', 'campaign_enrollments', 'campaign_outbox'] as const;
/** The append-only sync tables (tally sync: runs, changes, attempts, acknowledgements, dead letters, run ends). */
export const SYNC_TABLES = ['sync_runs', 'sync_changes', 'sync_attempts', 'sync_acks', 'sync_dead_letters', 'sync_run_ends'] as const;
/** Every state table. */
export const STATE_TABLES: readonly string[] = [...HISTORY_TABLES, ...CAMPAIGN_TABLES, ...SYNC_TABLES];
/** The suffix of the table `materialize: table` builds aside. */
export const STAGING_SUFFIX = '__tally_new';
/** PostgreSQL's identifier limit (NAMEDATALEN - 1 bytes); longer names are silently truncated. */
export const MAX_IDENTIFIER_BYTES = 63;

const VIEW_KINDS = new Set(['segment', 'trait', 'score', 'lifecycle']);

/** The view (or table) a definition deploys as (unquoted), or undefined for kinds without one. */
export function viewName(kind: string, name: string): string | undefined {
  const k = kind.toLowerCase();
  return VIEW_KINDS.has(k) ? `${k}_${name}` : undefined;
}

/** Whether a relation name in the deploy schema is (or may be) one of Tally's own state objects. */
export function isStateRelation(relname: string): boolean {
  return STATE_TABLES.some((t) => relname === t || relname.startsWith(`${t}_`)) || relname.includes('__tally');
}

/** Why a definition's name cannot be deployed (its view would collide or be truncated), or undefined. */
export function reservedNameProblem(kind: string, name: string): string | undefined {
  const view = viewName(kind, name);
  if (!view) return undefined;
  const k = kind.toLowerCase();
  const table = STATE_TABLES.find((t) => view === t || view.startsWith(`${t}_`));
  if (table) {
    return `${k} '${name}' would deploy as the view ${view}, ${view === table ? 'the name of' : 'a name taken by'} Tally's own table ${table}${view === table ? '' : ' (its keys and indexes)'} in the deploy schema; choose another name`;
  }
  if (name.includes('__tally')) return `${k} '${name}': names containing '__tally' are reserved for Tally's own objects in the deploy schema; choose another name`;
  const bytes = new TextEncoder().encode(view).length;
  if (bytes > MAX_IDENTIFIER_BYTES) {
    return `${k} '${name}' would deploy as the view ${view}, ${bytes} bytes: longer than PostgreSQL's ${MAX_IDENTIFIER_BYTES}-byte limit, so it would be truncated (and could collide); keep the name to ${MAX_IDENTIFIER_BYTES - k.length - 1} characters`;
  }
  return undefined;
}
