// tally deploy: apply the project to the database atomically (LANGUAGE.md §8).
//
// One transaction: an advisory lock keyed by the deploy schema (concurrent deploys run one after
// the other), the history tables, the version rules against what is deployed *inside* the lock,
// `create or replace view <schema>.<kind>_<name>` for each new or changed segment (key), trait and
// score (key, value) and lifecycle (key, stage) with T = now() (dropped and recreated when the
// column shape changes), or with `materialize: table` a table built aside and swapped in by
// rename; drops of removed definitions' views or tables (only with allowDrop), then one `deploys` row and one `deployed_definitions` row per recorded definition. Anything failing rolls
// all of it back. Unchanged definitions are not re-recorded: the same deploy twice writes nothing.
// A deploy that writes also takes the day's lifecycle snapshot (snapshot.ts), in the same transaction.

import type { RawDiagnostic, Span } from '../diagnostics.js';
import type { Analysis, DefinitionInfo } from '../project.js';
import { compileQuery } from '../sql/compile.js';
import type { Db } from '../db/db.js';
import { deployedKey, readDeployed, type DeployedState } from '../state/deployed.js';
import { deployLockKey } from '../state/locks.js';
import { ensureState } from '../state/ddl.js';
import { checkVersions, type DefinitionChange } from './versions.js';
import { takeLifecycleSnapshot, type SnapshotResult } from './snapshot.js';
import type { Catalog } from '../resolve/catalog.js';
import { isStateRelation, STAGING_SUFFIX, viewName } from '../state-objects.js';
import { postgres } from '../sql/dialect.js';

export const TALLY_VERSION = '0.1.0';

export interface DeployOptions {
  readonly schema: string;
  readonly allowDrop?: boolean;
  readonly who?: string | null;
  readonly gitCommit?: string | null;
  readonly tallyVersion?: string;
  /** A rollback (`deploy --ref`): lower versions may restore exactly what an earlier deploy recorded. */
  readonly rollback?: boolean;
  /** The live catalog, for the lifecycle snapshot's re-analysis of the deployed sources. */
  readonly catalog?: Catalog;
}

export interface DeployResult {
  /** false: refused by the version rules (nothing written) or nothing to deploy. */
  readonly deployed: boolean;
  readonly deployId: number | null;
  readonly changes: readonly DefinitionChange[];
  /** Version-rule diagnostics (errors refuse the deploy; warnings do not). */
  readonly diagnostics: readonly RawDiagnostic[];
  readonly refused: boolean;
  /** The views created, replaced or dropped (qualified names). */
  readonly views: { readonly created: string[]; readonly dropped: string[] };
  /** The day's lifecycle snapshot taken with the deploy (absent when nothing was deployed). */
  readonly snapshot?: SnapshotResult;
}

export { viewName } from '../state-objects.js';

/** The SQL a definition is recorded (and, for view kinds, viewed) with: inline literals, T = now(). */
export function deploySql(info: DefinitionInfo): string | null {
  const q = info.resolved.query;
  if (!q) return null;
  const base = compileQuery(q, { asOf: { kind: 'now' }, literals: 'inline' }).sql;
  if (info.def.kind === 'Lifecycle') return `select key, value as stage from (${base}) as q`;
  return base;
}

function sourceText(analysis: Analysis, info: DefinitionInfo): string | null {
  const f = analysis.project.file(info.def.file);
  if (!f) return null;
  const span = f.docs[info.def.doc]?.span ?? info.def.node.span;
  return f.text.slice(span[0], span[1]);
}

/**
 * Deploys an analysed project. The caller refuses projects with errors first; definitions with
 * errors are never deployed here either (it throws if asked).
 */
export async function deploy(db: Db, analysis: Analysis, opts: DeployOptions): Promise<DeployResult> {
  const broken = analysis.infos.filter((i) => i.hasErrors);
  if (analysis.errorCount > 0 || broken.length) throw new Error(`the project has errors (${broken.map((i) => i.def.name).join(', ') || analysis.errorCount}); validate it first`);
  const schema = opts.schema;
  const s = postgres.quoteIdent(schema);
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${deployLockKey(schema)}::bigint)`);
    await ensureState(tx, schema);
    const state = await readDeployed(tx, schema);
    const restorable = opts.rollback ? await recordedVersions(tx, schema) : undefined;
    const check = checkVersions(analysis, state, { allowDrop: opts.allowDrop, restorable });
    const views = { created: [] as string[], dropped: [] as string[] };
    if (check.diagnostics.some((d) => d.severity === 'error')) {
      return { deployed: false, deployId: null, changes: check.changes, diagnostics: check.diagnostics, refused: true, views };
    }
    const toRecord = check.changes.filter((c) => c.record);
    if (!toRecord.length) return { deployed: false, deployId: null, changes: check.changes, diagnostics: check.diagnostics, refused: false, views };
    // Never drop or replace a relation Tally does not own: checked for all of them before any DDL.
    const foreign = await notOwned(tx, schema, state, toRecord);
    if (foreign.length) return { deployed: false, deployId: null, changes: check.changes, diagnostics: [...check.diagnostics, ...foreign.map(({ kind: _k, name: _n, ...d }) => d)], refused: true, views };

    const rows: { kind: string; name: string; version: number; fingerprint: string | null; sql: string | null; source: string | null; file: string | null }[] = [];
    for (const c of toRecord) {
      const view = viewName(c.kind, c.name);
      if (c.status === 'removed') {
        if (view) {
          await dropObject(tx, schema, view);
          views.dropped.push(`${schema}.${view}`);
        }
        rows.push({ kind: c.kind, name: c.name, version: c.version, fingerprint: null, sql: null, source: null, file: c.deployed?.file ?? null });
        continue;
      }
      const info = c.info!;
      const body = deploySql(info);
      if (view && body && c.status !== 'unchanged') {
        if (info.def.materialize === 'table') await swapTable(tx, schema, view, body);
        else await replaceView(tx, `${s}.${postgres.quoteIdent(view)}`, body);
        views.created.push(`${schema}.${view}`);
      }
      rows.push({ kind: c.kind, name: c.name, version: c.version, fingerprint: c.fingerprint, sql: body, source: sourceText(analysis, info), file: info.def.file });
    }
    const ins = await tx.query<{ id: number }>(
      `insert into ${s}.deploys (at, who, git_commit, tally_version) values (clock_timestamp(), $1, $2, $3) returning id`,
      [opts.who ?? null, opts.gitCommit ?? null, opts.tallyVersion ?? TALLY_VERSION],
    );
    const deployId = Number(ins.rows[0]!.id);
    await tx.query(
      `insert into ${s}.deployed_definitions (deploy_id, kind, name, version, fingerprint, sql, source, file)
       select $1::bigint, * from unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::text[], $8::text[])`,
      [
        deployId,
        rows.map((r) => r.kind),
        rows.map((r) => r.name),
        rows.map((r) => r.version),
        rows.map((r) => r.fingerprint),
        rows.map((r) => r.sql),
        rows.map((r) => r.source),
        rows.map((r) => r.file),
      ],
    );
    const snapshot = await takeLifecycleSnapshot(tx, analysis.project, { schema, asOf: new Date(), catalog: opts.catalog });
    return { deployed: true, deployId, changes: check.changes, diagnostics: check.diagnostics, refused: false, views, snapshot };
  });
}

/**
 * The relations a deploy would drop or replace that Tally does not own, as errors at the
 * definition's name. Tally owns `<schema>.<kind>_<name>` when the history records that definition
 * as deployed now (its latest row is not a drop) and it is a view or a table; a state table (or
 * anything named like one) and a relation someone else created are never owned.
 */
export async function notOwned(tx: Db, schema: string, state: DeployedState, changes: readonly DefinitionChange[]): Promise<(RawDiagnostic & { kind: string; name: string })[]> {
  const out: (RawDiagnostic & { kind: string; name: string })[] = [];
  for (const c of changes) {
    const view = viewName(c.kind, c.name);
    if (!view || c.status === 'unchanged') continue; // a version-only bump touches no relation
    const k = await relkind(tx, schema, view);
    if (k === null) continue;
    const recorded = state.definitions.has(deployedKey(c.kind, c.name));
    if (recorded && !isStateRelation(view) && (k === 'v' || k === 'r')) continue;
    const what = k === 'v' ? 'view' : k === 'r' ? 'table' : 'relation';
    const why = isStateRelation(view) ? "it is one of Tally's own history tables" : 'Tally did not create it (the deploy history records no deployed definition for it)';
    const file = c.info?.def.file ?? c.deployed?.file ?? '';
    const span: Span = c.info ? c.info.def.nameSpan : [0, 0];
    out.push({
      kind: c.kind,
      name: c.name,
      code: 'not-owned',
      severity: 'error',
      message: `deploy would ${c.status === 'removed' ? 'drop' : 'replace'} the ${what} ${schema}.${view}, but ${why}; rename the ${c.kind} or move that ${what} out of the deploy schema (nothing was written)`,
      file,
      span,
    });
  }
  return out;
}

/** `kind:name:version:fingerprint` of every version ever deployed, for rollbacks. */
export async function recordedVersions(db: Db, schema: string): Promise<Set<string>> {
  const r = await db.query<{ k: string }>(
    `select distinct kind || ':' || name || ':' || version || ':' || fingerprint as k from ${postgres.quoteIdent(schema)}.deployed_definitions where fingerprint is not null`,
  );
  return new Set(r.rows.map((x) => x.k));
}

export interface RefreshResult {
  /** Tables rebuilt, qualified, with their row counts. */
  readonly tables: { name: string; rows: number }[];
}

/**
 * `tally refresh`: rebuilds every deployed `materialize: table` definition from its recorded SQL
 * (T = now()), each swapped in atomically, all in one transaction under the deploy lock. Records
 * nothing in the history: the deployed definitions do not change, only their rows.
 */
export async function refreshTables(db: Db, schema: string): Promise<RefreshResult> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${deployLockKey(schema)}::bigint)`);
    const state = await readDeployed(tx, schema);
    const tables: RefreshResult['tables'] = [];
    for (const d of state.definitions.values()) {
      const name = viewName(d.kind, d.name);
      if (!name || !d.sql || (await relkind(tx, schema, name)) !== 'r') continue;
      await swapTable(tx, schema, name, d.sql);
      const n = await tx.query<{ n: number }>(`select count(*) as n from ${postgres.quoteIdent(schema)}.${postgres.quoteIdent(name)}`);
      tables.push({ name: `${schema}.${name}`, rows: Number(n.rows[0]!.n) });
    }
    return { tables };
  });
}

/** The kind of relation `<schema>.<name>` is: 'v' view, 'r' table, or null when absent. */
async function relkind(tx: Db, schema: string, name: string): Promise<string | null> {
  const r = await tx.query<{ k: string }>(`select c.relkind::text as k from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relname = $2`, [schema, name]);
  return r.rows[0]?.k ?? null;
}

async function dropObject(tx: Db, schema: string, name: string): Promise<void> {
  const k = await relkind(tx, schema, name);
  if (k === 'v') await tx.exec(`drop view ${postgres.quoteIdent(schema)}.${postgres.quoteIdent(name)}`);
  else if (k === 'r') await tx.exec(`drop table ${postgres.quoteIdent(schema)}.${postgres.quoteIdent(name)}`);
}

/**
 * `materialize: table`: builds the rows into a new table, then swaps it in place of the old view
 * or table by rename. Inside the deploy transaction, so readers keep seeing the old object until
 * the commit and then the complete new one; never a half-built table.
 */
export async function swapTable(tx: Db, schema: string, name: string, body: string): Promise<void> {
  const s = postgres.quoteIdent(schema);
  const staging = `${name.slice(0, 50)}${STAGING_SUFFIX}`;
  await tx.exec(`drop table if exists ${s}.${postgres.quoteIdent(staging)}`);
  await tx.exec(`create table ${s}.${postgres.quoteIdent(staging)} as ${body}`);
  await tx.exec(`create index on ${s}.${postgres.quoteIdent(staging)} (key)`);
  await tx.exec(`analyze ${s}.${postgres.quoteIdent(staging)}`);
  await dropObject(tx, schema, name);
  await tx.exec(`alter table ${s}.${postgres.quoteIdent(staging)} rename to ${postgres.quoteIdent(name)}`);
}

/** `create or replace view`; when the column shape changed (SQLSTATE 42P16), drop and recreate it. */
async function replaceView(tx: Db, qualified: string, body: string): Promise<void> {
  const [schema, name] = qualified.split('.').map((x) => x.slice(1, -1).replace(/""/g, '"')) as [string, string];
  if ((await relkind(tx, schema, name)) === 'r') await tx.exec(`drop table ${qualified}`);
  await tx.exec('savepoint tally_view');
  try {
    await tx.exec(`create or replace view ${qualified} as ${body}`);
    await tx.exec('release savepoint tally_view');
  } catch (e) {
    const state = (e as { sqlState?: string }).sqlState;
    await tx.exec('rollback to savepoint tally_view');
    if (state !== '42P16' && state !== '42804') throw e;
    await tx.exec(`drop view ${qualified}`);
    await tx.exec(`create view ${qualified} as ${body}`);
  }
}
