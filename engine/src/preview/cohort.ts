// The cohort preview (`tally preview cohort NAME`): the retention triangle as of T, one statement.

import type { Db } from '../db/db.js';
import type { IrCohort } from '../ir/ir.js';
import type { CohortPreview } from '../protocol.js';
import { compileCohort, type SqlOptions } from '../sql/compile.js';

/** The column labels of a cohort table: `D7`, `W3`, `M2`. */
export function cohortLabels(q: IrCohort): string[] {
  const r = q.returns;
  if (r.unit === 'days') return r.offsets.map((n) => `D${n}`);
  return Array.from({ length: r.count }, (_, i) => `${r.unit === 'weeks' ? 'W' : 'M'}${i + 1}`);
}

/** Reads the rows of compileCohort into the preview's shape (also used by tests). */
export function cohortRows(q: IrCohort, rows: readonly Record<string, unknown>[]): CohortPreview['cohorts'] {
  const labels = cohortLabels(q);
  return rows.map((row) => {
    const size = Number(row.size ?? 0);
    return {
      start: toIso(row.start),
      size,
      cells: labels.map((_, j) => {
        const v = row[`v${j + 1}`];
        const future = row[`fu${j + 1}`] === true;
        return {
          value: future || v === null || v === undefined ? null : Number(v),
          returned: Number(row[`n${j + 1}`] ?? 0),
          immature: row[`im${j + 1}`] === true,
        };
      }),
    };
  });
}

export async function previewCohort(db: Db, q: IrCohort, name: string, opts: { asOf: Date; timeoutMs?: number }): Promise<CohortPreview> {
  const sqlOpts: SqlOptions = { asOf: { kind: 'instant', at: opts.asOf }, literals: 'param' };
  const c = compileCohort(q, sqlOpts);
  const rows = await db.transaction((tx) => tx.query<Record<string, unknown>>(c.sql, c.parameters), { readOnly: true, timeoutMs: opts.timeoutMs ?? 5000 });
  return {
    kind: 'cohort',
    name,
    entity: q.entity.name,
    every: q.every,
    columns: cohortLabels(q),
    cohorts: cohortRows(q, rows.rows),
    timezone: q.timezone,
    as_of: opts.asOf.toISOString(),
    sql: c.sql,
  };
}

function toIso(v: unknown): string {
  if (v instanceof Date) return v.toISOString();
  const d = new Date(String(v));
  return Number.isNaN(d.getTime()) ? String(v) : d.toISOString();
}
