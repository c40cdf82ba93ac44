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

import type { Db } from '../db/db.js';
import { postgres } from '../sql/dialect.js';

export { CAMPAIGN_TABLES } from '../state-objects.js';

/** Whether the campaign tables exist (previews and reports read them without creating them). */
export async function campaignStateExists(db: Db, schema: string): Promise<boolean> {
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${postgres.quoteIdent(schema)}.campaign_enrollments`]);
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
    `select id, campaign, version, as_of, enrolled, sent, fingerprint from ${postgres.quoteIdent(schema)}.campaign_runs where campaign = $1 order by as_of, id`,
    [campaign],
  );
  return r.rows.map((x) => ({ ...x, id: Number(x.id), version: Number(x.version), enrolled: Number(x.enrolled), sent: Number(x.sent) }));
}
