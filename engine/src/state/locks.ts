// The advisory-lock keys of Tally's state: one per deploy schema for deploys, checks, snapshots
// and refreshes; one for campaign runs; one taken only around state creation (DDL).

import { createHash } from 'node:crypto';

/** A fixed signed 64-bit advisory-lock key for a deploy schema (as decimal text, for `::bigint`). */
export function deployLockKey(schema: string): string {
  const h = createHash('sha256').update(`tally-deploy:${schema}`).digest();
  return h.readBigInt64BE(0).toString();
}

/**
 * The advisory-lock key every creation of Tally's state in a schema takes before its DDL: deploys,
 * checks and snapshots (ensureState, under the deploy lock) and campaign runs (ensureCampaignState,
 * under the campaign lock) may create the same schema at the same moment, and `create schema if not
 * exists` alone is not safe against that (two creators race on pg_namespace's unique key). It is
 * only taken when DDL is needed, always after the caller's own lock, so it adds no lock cycle.
 */
export function stateLockKey(schema: string): string {
  const h = createHash('sha256').update(`tally-state:${schema}`).digest();
  return h.readBigInt64BE(0).toString();
}

/** A fixed signed 64-bit advisory-lock key for campaign runs in a schema (decimal text, for `::bigint`). */
export function campaignLockKey(schema: string): string {
  const h = createHash('sha256').update(`tally-campaign-run:${schema}`).digest();
  return h.readBigInt64BE(0).toString();
}

/** A fixed signed 64-bit advisory-lock key for computing and recording sync runs in a schema (decimal text). */
export function syncLockKey(schema: string): string {
  const h = createHash('sha256').update(`tally-sync-run:${schema}`).digest();
  return h.readBigInt64BE(0).toString();
}
