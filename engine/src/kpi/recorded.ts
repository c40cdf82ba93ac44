// KPI check history in the deploy schema, append-only (the table is created with the rest of
// Tally's state: state/ddl.ts):
//
//   <schema>.kpi_checks(id, checked_at, as_of, kpi, version, fingerprint, value, status, expected,
//                       gap, git_commit, who)
//       one row per KPI per `tally check` (a re-run for the same instant and meaning adds nothing),
//       so a KPI's value can be charted against its pace line later (`tally history --kpi`).

import type { KpiStatus } from './status.js';
import type { Analysis } from '../project.js';
import type { CheckResult } from './check.js';
import type { Db } from '../db/db.js';
import { ensureState } from '../state/ddl.js';
import { deployLockKey } from '../state/locks.js';
import { postgres } from '../sql/dialect.js';

export interface RecordChecksOptions {
  readonly schema: string;
  readonly who?: string | null;
  readonly gitCommit?: string | null;
}

/** Appends one row per evaluated KPI; a KPI already recorded for this instant and meaning is skipped. Returns rows added. */
export async function recordChecks(tx: Db, analysis: Analysis, result: CheckResult, opts: RecordChecksOptions): Promise<number> {
  const s = postgres.quoteIdent(opts.schema);
  const rows = result.kpis.map((k) => {
    const info = analysis.get('Kpi', k.name)!;
    return { kpi: k.name, version: info.def.version, fingerprint: info.fingerprint, value: k.value, status: k.status, expected: k.expected, gap: k.gap };
  });
  if (!rows.length) return 0;
  const r = await tx.query<{ n: number }>(
    `with input as (
       select * from unnest($2::text[], $3::int[], $4::text[], $5::float8[], $6::text[], $7::float8[], $8::float8[])
         as t(kpi, version, fingerprint, value, status, expected, gap)
     ), ins as (
       insert into ${s}.kpi_checks (as_of, kpi, version, fingerprint, value, status, expected, gap, git_commit, who)
       select $1::timestamptz, i.kpi, i.version, i.fingerprint, i.value, i.status, i.expected, i.gap, $9, $10 from input i
        where not exists (select 1 from ${s}.kpi_checks c where c.kpi = i.kpi and c.fingerprint = i.fingerprint and c.as_of = $1::timestamptz)
       returning 1
     ) select count(*) as n from ins`,
    [
      result.as_of,
      rows.map((r) => r.kpi),
      rows.map((r) => r.version),
      rows.map((r) => r.fingerprint),
      rows.map((r) => r.value),
      rows.map((r) => r.status),
      rows.map((r) => r.expected),
      rows.map((r) => r.gap),
      opts.gitCommit ?? null,
      opts.who ?? null,
    ],
  );
  return Number(r.rows[0]?.n ?? 0);
}

export interface KpiHistoryPoint {
  readonly as_of: string;
  readonly value: number | null;
  readonly status: KpiStatus;
  readonly expected: number | null;
  readonly version: number | null;
}

/** A KPI's recorded checks, oldest first (the latest row per instant). Empty when none are recorded. */
export async function readKpiHistory(db: Db, schema: string, kpi: string): Promise<KpiHistoryPoint[]> {
  const s = postgres.quoteIdent(schema);
  const reg = await db.query<{ t: string | null }>(`select to_regclass($1)::text as t`, [`${s}.kpi_checks`]);
  if (!reg.rows[0]?.t) return [];
  const r = await db.query<{ as_of: string; value: number | null; status: KpiStatus; expected: number | null; version: number | null }>(
    `select distinct on (as_of) as_of, value, status, expected, version from ${s}.kpi_checks where kpi = $1 order by as_of, id desc`,
    [kpi],
  );
  return r.rows.map((x) => ({ as_of: x.as_of, value: x.value === null ? null : Number(x.value), status: x.status, expected: x.expected === null ? null : Number(x.expected), version: x.version === null ? null : Number(x.version) }));
}

/**
 * `tally check`'s recording step: in one transaction under the deploy schema's lock, creates the
 * state tables when missing and appends the checks (recordChecks). Returns rows added.
 */
export async function recordCheckHistory(db: Db, analysis: Analysis, result: CheckResult, opts: RecordChecksOptions): Promise<number> {
  return db.transaction(async (tx) => {
    await tx.query(`select pg_advisory_xact_lock(${deployLockKey(opts.schema)}::bigint)`);
    await ensureState(tx, opts.schema);
    return recordChecks(tx, analysis, result, opts);
  });
}
