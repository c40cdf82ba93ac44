// Campaign state: append-only run, enrollment and outbox history in the deploy schema
// (`tally.yaml` `deploy.schema`, default `tally`), next to the deploy history.
//
//   <schema>.campaign_runs(id, campaign, version, as_of, at, who, enrolled, sent, fingerprint)
//       one row per campaign per `tally run` instant T; (campaign, as_of) is unique, so running
//       twice for the same T adds nothing.
//   <schema>.campaign_enrollments(run_id, campaign, version, channel, entity_key, variant, holdout, enrolled_at, fingerprint)
//       who got which variant when (enrolled_at = T, the run's as-of instant); entity_key is the
//       key column's text form (`key::text`), the text the assignment hash reads; version and
//       fingerprint are the deployed campaign's that the run computed it with (the fingerprint
//       column came later: NULL on rows written before it, added to older schemas in place).
//   <schema>.campaign_outbox(run_id, campaign, version, channel, variant, entity_key, enrolled_at)
//       what a channel sender needs: the non-holdout enrollments. No contact details: the sender
//       joins on the entity key, so PII stays in the warehouse.
//
// A run's enrollments and outbox rows are written first and its campaign_runs row (with the counts)
// last, in the same transaction: the foreign keys are deferred to the commit.
//
// Triggers raise on UPDATE, DELETE and TRUNCATE of all three tables: history is never rewritten,
// whatever happens to the campaign's definition or version (LANGUAGE.md §7).

import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { quoteIdent, stateLockKey } from './deploy-state.js';

export { CAMPAIGN_TABLES } from '../state-objects.js';
import { CAMPAIGN_TABLES } from '../state-objects.js';

/** A fixed signed 64-bit advisory-lock key for campaign runs in a schema (decimal text, for `::bigint`). */
export function campaignLockKey(schema: string): string {
  const h = createHash('sha256').update(`tally-campaign-run:${schema}`).digest();
  return h.readBigInt64BE(0).toString();
}

/**
 * Creates the schema, the three tables and their append-only triggers, idempotently, also when a
 * deploy creates the schema at the same moment (stateLockKey); adds the `fingerprint` columns to
 * tables created before them. When everything exists it runs no DDL.
 */
export async function ensureCampaignState(tx: Db, schema: string): Promise<void> {
  const s = quoteIdent(schema);
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
  await tx.exec(`
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

/** Whether the campaign tables exist (previews and reports read them without creating them). */
export async function campaignStateExists(db: Db, schema: string): Promise<boolean> {
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${quoteIdent(schema)}.campaign_enrollments`]);
  return !!reg.rows[0]?.t;
}

/** Whether the enrollments carry fingerprints (tables created before them get the column at the next run). */
export async function hasFingerprints(db: Db, schema: string): Promise<boolean> {
  const r = await db.query<{ n: number }>(
    `select count(*) as n from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = $1 and c.relname = 'campaign_enrollments' and a.attname = 'fingerprint' and not a.attisdropped`,
    [schema],
  );
  return Number(r.rows[0]?.n) > 0;
}

export interface CampaignRunRow {
  readonly id: number;
  readonly campaign: string;
  readonly version: number;
  readonly as_of: string;
  readonly enrolled: number;
  readonly sent: number;
  readonly fingerprint: string | null;
}

/** The runs of one campaign, oldest first. */
export async function campaignRuns(db: Db, schema: string, campaign: string): Promise<CampaignRunRow[]> {
  if (!(await campaignStateExists(db, schema))) return [];
  const r = await db.query<CampaignRunRow>(
    `select id, campaign, version, as_of, enrolled, sent, fingerprint from ${quoteIdent(schema)}.campaign_runs where campaign = $1 order by as_of, id`,
    [campaign],
  );
  return r.rows.map((x) => ({ ...x, id: Number(x.id), version: Number(x.version), enrolled: Number(x.enrolled), sent: Number(x.sent) }));
}
