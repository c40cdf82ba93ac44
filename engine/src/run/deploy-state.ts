// The deploy state: an append-only history in the deploy schema (`tally.yaml` `deploy.schema`,
// default `tally`).
//
//   <schema>.deploys(id, at, who, git_commit, tally_version)
//   <schema>.deployed_definitions(deploy_id, kind, name, version, fingerprint, sql, source, file)
//
// A trigger raises on UPDATE, DELETE and TRUNCATE of either table: nothing recorded is ever
// overwritten (LANGUAGE.md §8). A dropped definition is recorded as a row with fingerprint = null.
// The same schema holds KPI check history and lifecycle snapshots (recorded.ts), equally append-only.

import { createHash } from 'node:crypto';
import type { Db } from './db.js';
import { recordedTablesSql } from './recorded.js';
import { HISTORY_TABLES } from '../state-objects.js';

/** A quoted SQL identifier. */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

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

/** The tables ensureState creates, each with its two append-only triggers (declared in state-objects.ts). */
const STATE_TABLES: readonly string[] = HISTORY_TABLES;

/**
 * Creates the schema, the history tables and their append-only triggers, idempotently, also when
 * another transaction creates them at the same moment (stateLockKey). When they all exist already
 * it runs no DDL at all, so it takes no table locks beyond a catalog read.
 */
export async function ensureState(tx: Db, schema: string): Promise<void> {
  const s = quoteIdent(schema);
  const present = await tx.query<{ tables: number; triggers: number }>(
    `select (select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and c.relkind = 'r') as tables,
            (select count(*) from pg_trigger t join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = any($2::text[]) and t.tgname like 'tally_append_only_%') as triggers`,
    [schema, STATE_TABLES],
  );
  if (Number(present.rows[0]?.tables) === STATE_TABLES.length && Number(present.rows[0]?.triggers) === 2 * STATE_TABLES.length) return;
  await tx.query(`select pg_advisory_xact_lock(${stateLockKey(schema)}::bigint)`);
  await tx.exec(`
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

export interface DeployedDefinition {
  /** Lower-case kind: segment, trait, score, lifecycle, kpi, entity, events, campaign. */
  readonly kind: string;
  readonly name: string;
  readonly version: number;
  /** null: this row records a drop. */
  readonly fingerprint: string | null;
  readonly sql: string | null;
  readonly file: string | null;
  readonly deployId: number;
  /** The recorded YAML of the definition's document (only read with `withSource`). */
  readonly source?: string | null;
}

export interface DeployedState {
  /** Whether the history tables exist at all. */
  readonly exists: boolean;
  /** The latest deploy's id, if any. */
  readonly lastDeployId: number | null;
  /** What is deployed now: the latest row per (kind, name), unless that row is a drop. Keyed `kind:name`. */
  readonly definitions: ReadonlyMap<string, DeployedDefinition>;
  /** Definitions whose latest row is a drop. Keyed `kind:name`. */
  readonly dropped: ReadonlyMap<string, DeployedDefinition>;
  /** The drops recorded by the latest deploy. */
  readonly droppedByLatest: readonly DeployedDefinition[];
}

export function deployedKey(kind: string, name: string): string {
  return `${kind.toLowerCase()}:${name}`;
}

/** Reads the deployed state; an absent schema is an empty state. */
export async function readDeployed(db: Db, schema: string, opts: { withSource?: boolean } = {}): Promise<DeployedState> {
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${quoteIdent(schema)}.deployed_definitions`]);
  if (!reg.rows[0]?.t) return { exists: false, lastDeployId: null, definitions: new Map(), dropped: new Map(), droppedByLatest: [] };
  const s = quoteIdent(schema);
  const last = await db.query<{ id: number | null }>(`select max(id) as id from ${s}.deploys`);
  const rows = await db.query<{ kind: string; name: string; version: number; fingerprint: string | null; sql: string | null; file: string | null; deploy_id: number; source?: string | null }>(
    `select distinct on (kind, name) kind, name, version, fingerprint, sql, file, deploy_id${opts.withSource ? ', source' : ''}
       from ${s}.deployed_definitions
      order by kind, name, deploy_id desc`,
  );
  const lastDeployId = last.rows[0]?.id === null || last.rows[0]?.id === undefined ? null : Number(last.rows[0].id);
  const definitions = new Map<string, DeployedDefinition>();
  const dropped = new Map<string, DeployedDefinition>();
  const droppedByLatest: DeployedDefinition[] = [];
  for (const r of rows.rows) {
    const d: DeployedDefinition = { kind: r.kind, name: r.name, version: Number(r.version), fingerprint: r.fingerprint, sql: r.sql, file: r.file, deployId: Number(r.deploy_id), ...(opts.withSource ? { source: r.source ?? null } : {}) };
    if (d.fingerprint === null) {
      dropped.set(deployedKey(d.kind, d.name), d);
      if (d.deployId === lastDeployId) droppedByLatest.push(d);
    } else definitions.set(deployedKey(d.kind, d.name), d);
  }
  return { exists: true, lastDeployId, definitions, dropped, droppedByLatest };
}

export interface HistoryEntry {
  readonly id: number;
  readonly at: string;
  readonly who: string | null;
  readonly git_commit: string | null;
  readonly tally_version: string | null;
  readonly definitions: { kind: string; name: string; version: number; fingerprint: string | null; file: string | null; dropped: boolean }[];
}

/** Every deploy, newest first, with the definitions it recorded. */
export async function readHistory(db: Db, schema: string): Promise<HistoryEntry[]> {
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${quoteIdent(schema)}.deployed_definitions`]);
  if (!reg.rows[0]?.t) return [];
  const s = quoteIdent(schema);
  const deploys = await db.query<{ id: number; at: string; who: string | null; git_commit: string | null; tally_version: string | null }>(
    `select id, at, who, git_commit, tally_version from ${s}.deploys order by id desc`,
  );
  const defs = await db.query<{ deploy_id: number; kind: string; name: string; version: number; fingerprint: string | null; file: string | null }>(
    `select deploy_id, kind, name, version, fingerprint, file from ${s}.deployed_definitions order by deploy_id, kind, name`,
  );
  const byDeploy = new Map<number, HistoryEntry['definitions']>();
  for (const d of defs.rows) {
    const id = Number(d.deploy_id);
    let list = byDeploy.get(id);
    if (!list) byDeploy.set(id, (list = []));
    list.push({ kind: d.kind, name: d.name, version: Number(d.version), fingerprint: d.fingerprint, file: d.file, dropped: d.fingerprint === null });
  }
  return deploys.rows.map((d) => ({ id: Number(d.id), at: d.at, who: d.who, git_commit: d.git_commit, tally_version: d.tally_version, definitions: byDeploy.get(Number(d.id)) ?? [] }));
}
