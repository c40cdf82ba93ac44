// All of Tally's own DDL, in one place: the schema, the append-only history tables and their
// triggers, in the deploy schema (`tally.yaml` `deploy.schema`, default `tally`). Table names are
// declared in ../state-objects.ts (the resolver reserves them); what each table holds is said
// beside its writer and readers (state/deployed.ts, kpi/recorded.ts, deploy/snapshot.ts,
// state/campaign-runs.ts).
//
//   ensureState          deploys, deployed_definitions, kpi_checks, lifecycle_snapshots,
//                        lifecycle_stage_changes (deploy, check, snapshot)
//   ensureCampaignState  campaign_runs, campaign_enrollments, campaign_outbox (tally run)
//   ensureSyncState      sync_runs, sync_changes, sync_attempts, sync_acks, sync_dead_letters,
//                        sync_run_ends (tally sync)
//
// Both run no DDL when everything exists, and take stateLockKey before creating anything, so a
// first deploy and a first campaign run may create the schema at the same moment.

import type { Db } from '../db/db.js';
import { stateLockKey } from './locks.js';
import { CAMPAIGN_TABLES, HISTORY_TABLES, SYNC_TABLES } from '../state-objects.js';
import { postgres } from '../sql/dialect.js';
import { splitStatements } from '../sql/statements.js';

/** Runs a DDL script one statement per query (ARCHITECTURE.md "Portability rules"). */
async function execEach(tx: Db, script: string): Promise<void> {
  for (const statement of splitStatements(script)) await tx.exec(statement);
}

/** The tables ensureState creates, each with its two append-only triggers (declared in state-objects.ts). */
const STATE_TABLES: readonly string[] = HISTORY_TABLES;

/**
 * Creates the schema, the history tables and their append-only triggers, idempotently, also when
 * another transaction creates them at the same moment (stateLockKey). When they all exist already
 * it runs no DDL at all, so it takes no table locks beyond a catalog read.
 */
export async function ensureState(tx: Db, schema: string): Promise<void> {
  const s = postgres.quoteIdent(schema);
  const present = await tx.query<{ tables: number; triggers: number }>(
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind = 'r') as tables,
            (select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and t.tgname like 'tally_append_only_%') as triggers`,
    [schema, STATE_TABLES],
  );
  if (Number(present.rows[0]?.tables) === STATE_TABLES.length && Number(present.rows[0]?.triggers) === 2 * STATE_TABLES.length) return;
  await tx.query(`select pg_advisory_xact_lock(${stateLockKey(schema)}::bigint)`);
  await execEach(tx, `
create schema if not exists ${s};
create table if not exists ${s}.deploys (
  id bigserial primary key,
  at timestamptz not null default now(),
  who text,
  git_commit text,
  tally_version text
);
create table if not exists ${s}.deployed_definitions (
  deploy_id bigint not null references ${s}.deploys(id),
  kind text not null,
  name text not null,
  version int,
  fingerprint text,
  sql text,
  source text,
  file text
);
create index if not exists deployed_definitions_kind_name on ${s}.deployed_definitions (kind, name, deploy_id);
create or replace function ${s}.tally_append_only() returns trigger language plpgsql as $fn$
begin
  raise exception 'tally deploy history is append-only: % on %.% is not allowed', tg_op, tg_table_schema, tg_table_name;
end
$fn$;
create or replace trigger tally_append_only_rows before update or delete on ${s}.deploys
  for each row execute function ${s}.tally_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.deploys
  for each statement execute function ${s}.tally_append_only();
create or replace trigger tally_append_only_rows before update or delete on ${s}.deployed_definitions
  for each row execute function ${s}.tally_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.deployed_definitions
  for each statement execute function ${s}.tally_append_only();
${recordedTablesSql(s)}`);
}

/** The recorded-over-time tables (KPI checks, lifecycle snapshots) and their append-only triggers (inside ensureState). */
function recordedTablesSql(s: string): string {
  return `
create table if not exists ${s}.kpi_checks (
  id bigserial primary key,
  checked_at timestamptz not null default clock_timestamp(),
  as_of timestamptz not null,
  kpi text not null,
  version int,
  fingerprint text not null,
  value float8,
  status text not null,
  expected float8,
  gap float8,
  git_commit text,
  who text
);
create index if not exists kpi_checks_kpi_as_of on ${s}.kpi_checks (kpi, as_of);
create table if not exists ${s}.lifecycle_snapshots (
  day date not null,
  lifecycle text not null,
  version int,
  fingerprint text not null,
  stage text,
  entities bigint not null,
  taken_at timestamptz not null default transaction_timestamp()
);
create index if not exists lifecycle_snapshots_day on ${s}.lifecycle_snapshots (lifecycle, day);
create table if not exists ${s}.lifecycle_stage_changes (
  lifecycle text not null,
  key text not null,
  stage text,
  since date not null,
  taken_at timestamptz not null default transaction_timestamp()
);
create index if not exists lifecycle_stage_changes_key on ${s}.lifecycle_stage_changes (lifecycle, key, since);
${['kpi_checks', 'lifecycle_snapshots', 'lifecycle_stage_changes']
  .map(
    (t) => `create or replace trigger tally_append_only_rows before update or delete on ${s}.${t}
  for each row execute function ${s}.tally_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.${t}
  for each statement execute function ${s}.tally_append_only();`,
  )
  .join('\n')}
`;
}

/**
 * Creates the schema, the three tables and their append-only triggers, idempotently, also when a
 * deploy creates the schema at the same moment (stateLockKey); adds the `fingerprint` columns to
 * tables created before them. When everything exists it runs no DDL.
 */
export async function ensureCampaignState(tx: Db, schema: string): Promise<void> {
  const s = postgres.quoteIdent(schema);
  const present = await tx.query<{ tables: number; triggers: number; columns: number }>(
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind = 'r') as tables,
            (select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and t.tgname like 'tally_append_only_%') as triggers,
            (select count(*) from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname in ('campaign_runs', 'campaign_enrollments') and a.attname = 'fingerprint' and not a.attisdropped) as columns`,
    [schema, [...CAMPAIGN_TABLES]],
  );
  const p = present.rows[0];
  if (Number(p?.tables) === CAMPAIGN_TABLES.length && Number(p?.triggers) === 2 * CAMPAIGN_TABLES.length && Number(p?.columns) === 2) return;
  await tx.query(`select pg_advisory_xact_lock(${stateLockKey(schema)}::bigint)`);
  const triggers = CAMPAIGN_TABLES.map(
    (t) => `
create or replace trigger tally_append_only_rows before update or delete on ${s}.${t}
  for each row execute function ${s}.tally_campaign_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.${t}
  for each statement execute function ${s}.tally_campaign_append_only();`,
  ).join('');
  await execEach(tx, `
create schema if not exists ${s};
create table if not exists ${s}.campaign_runs (
  id bigserial primary key,
  campaign text not null,
  version int not null,
  as_of timestamptz not null,
  at timestamptz not null default clock_timestamp(),
  who text,
  enrolled int not null,
  sent int not null,
  unique (campaign, as_of)
);
create table if not exists ${s}.campaign_enrollments (
  run_id bigint not null references ${s}.campaign_runs(id) deferrable initially deferred,
  campaign text not null,
  version int not null,
  channel text not null,
  entity_key text not null,
  variant text not null,
  holdout boolean not null,
  enrolled_at timestamptz not null,
  primary key (campaign, entity_key, enrolled_at)
);
alter table ${s}.campaign_runs add column if not exists fingerprint text;
alter table ${s}.campaign_enrollments add column if not exists fingerprint text;
create index if not exists campaign_enrollments_channel on ${s}.campaign_enrollments (channel, entity_key, enrolled_at);
create table if not exists ${s}.campaign_outbox (
  run_id bigint not null references ${s}.campaign_runs(id) deferrable initially deferred,
  campaign text not null,
  version int not null,
  channel text not null,
  variant text not null,
  entity_key text not null,
  enrolled_at timestamptz not null
);
create index if not exists campaign_outbox_run on ${s}.campaign_outbox (run_id);
create or replace function ${s}.tally_campaign_append_only() returns trigger language plpgsql as $fn$
begin
  raise exception 'tally campaign history is append-only: % on %.% is not allowed', tg_op, tg_table_schema, tg_table_name;
end
$fn$;
${triggers}
`);
}

/** Whether the sync tables exist (a plan or a dry run reads them only then; it never creates them). */
export async function hasSyncState(tx: Db, schema: string): Promise<boolean> {
  const r = await tx.query<{ n: number }>(
    `select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind = 'r'`,
    [schema, [...SYNC_TABLES]],
  );
  return Number(r.rows[0]?.n) === SYNC_TABLES.length;
}

/** Whether campaign_enrollments exists (a sync of a campaign's variant reads it). */
export async function hasCampaignState(tx: Db, schema: string): Promise<boolean> {
  const r = await tx.query<{ n: number }>(`select count(*) as n from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = 'campaign_enrollments' and c.relkind = 'r'`, [schema]);
  return Number(r.rows[0]?.n) === 1;
}

/**
 * The sync tables and their append-only triggers (sync/run.ts writes them, sync/history.ts reads
 * them), idempotently, under stateLockKey like the others. A change is delivered exactly when a
 * sync_acks row names it (written after the receiver's 2xx, in its own transaction); nothing is
 * ever updated: a run's end is a sync_run_ends row, not a status column.
 */
export async function ensureSyncState(tx: Db, schema: string): Promise<void> {
  const s = postgres.quoteIdent(schema);
  const present = await tx.query<{ tables: number; triggers: number }>(
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind = 'r') as tables,
            (select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and t.tgname like 'tally_append_only_%') as triggers`,
    [schema, [...SYNC_TABLES]],
  );
  if (Number(present.rows[0]?.tables) === SYNC_TABLES.length && Number(present.rows[0]?.triggers) === 2 * SYNC_TABLES.length) return;
  await tx.query(`select pg_advisory_xact_lock(${stateLockKey(schema)}::bigint)`);
  const triggers = SYNC_TABLES.map(
    (t) => `
create or replace trigger tally_append_only_rows before update or delete on ${s}.${t}
  for each row execute function ${s}.tally_sync_append_only();
create or replace trigger tally_append_only_truncate before truncate on ${s}.${t}
  for each statement execute function ${s}.tally_sync_append_only();`,
  ).join('');
  await tx.exec(`
create schema if not exists ${s};
create table if not exists ${s}.sync_runs (
  id bigserial primary key,
  sync text not null,
  version int not null,
  fingerprint text not null,
  destination text not null,
  mode text not null,
  as_of timestamptz not null,
  at timestamptz not null default clock_timestamp(),
  who text,
  entered int not null,
  exited int not null,
  changed int not null
);
create table if not exists ${s}.sync_changes (
  id bigserial primary key,
  run_id bigint not null references ${s}.sync_runs(id),
  sync text not null,
  seq int not null,
  key text not null,
  op text not null,
  fields jsonb,
  changed jsonb,
  idempotency_key text not null,
  prev_key text
);
create index if not exists sync_changes_sync_key on ${s}.sync_changes (sync, key, id);
create index if not exists sync_changes_run on ${s}.sync_changes (run_id, seq);
create table if not exists ${s}.sync_attempts (
  id bigserial primary key,
  run_id bigint not null references ${s}.sync_runs(id),
  batch int not null,
  attempt int not null,
  at timestamptz not null default clock_timestamp(),
  changes int not null,
  status int,
  outcome text not null,
  error text,
  response text,
  duration_ms int
);
create index if not exists sync_attempts_run on ${s}.sync_attempts (run_id, batch, attempt);
create table if not exists ${s}.sync_acks (
  id bigserial primary key,
  run_id bigint not null references ${s}.sync_runs(id),
  change_id bigint not null references ${s}.sync_changes(id),
  batch int not null,
  at timestamptz not null default clock_timestamp()
);
create index if not exists sync_acks_change on ${s}.sync_acks (change_id);
create table if not exists ${s}.sync_dead_letters (
  id bigserial primary key,
  run_id bigint not null references ${s}.sync_runs(id),
  change_id bigint not null references ${s}.sync_changes(id),
  batch int not null,
  reason text not null,
  at timestamptz not null default clock_timestamp()
);
create table if not exists ${s}.sync_run_ends (
  run_id bigint not null references ${s}.sync_runs(id),
  at timestamptz not null default clock_timestamp(),
  status text not null,
  delivered int not null,
  dead int not null,
  pending int not null,
  error text
);
create or replace function ${s}.tally_sync_append_only() returns trigger language plpgsql as $fn$
begin
  raise exception 'tally sync history is append-only: % on %.% is not allowed', tg_op, tg_table_schema, tg_table_name;
end
$fn$;
${triggers}
`);
}
