// The deploy state: an append-only history in the deploy schema (`tally.yaml` `deploy.schema`,
// default `tally`).
//
//   <schema>.deploys(id, at, who, git_commit, tally_version)
//   <schema>.deployed_definitions(deploy_id, kind, name, version, fingerprint, sql, source, file)
//
// A trigger raises on UPDATE, DELETE and TRUNCATE of either table: nothing recorded is ever
// overwritten (LANGUAGE.md §8). A dropped definition is recorded as a row with fingerprint = null.
// The same schema holds KPI check history and lifecycle snapshots (kpi/recorded.ts,
// deploy/snapshot.ts), equally append-only; the DDL of all of them is in ddl.ts. This file reads.

import type { Db } from '../db/db.js';
import { postgres } from '../sql/dialect.js';

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
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${postgres.quoteIdent(schema)}.deployed_definitions`]);
  if (!reg.rows[0]?.t) return { exists: false, lastDeployId: null, definitions: new Map(), dropped: new Map(), droppedByLatest: [] };
  const s = postgres.quoteIdent(schema);
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
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${postgres.quoteIdent(schema)}.deployed_definitions`]);
  if (!reg.rows[0]?.t) return [];
  const s = postgres.quoteIdent(schema);
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
