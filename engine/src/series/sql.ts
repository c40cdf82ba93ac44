// The one statement of a series: the periods (a generate_series in the project time zone) and the
// definition's own query, compiled with T = the period's end column (SqlOptions.asOfSql), joined
// LATERAL to them. One statement per definition over the whole range, never one per period; the
// definition's query is the very SQL a preview runs, so every point equals the preview at its end.
//
//   with __tally_periods as (select <start>, <end> from generate_series(<first>, <last>, '1 <unit>'))
//   select p.start, p.at, x.* from __tally_periods as p left join lateral (<query at p.at>) as x on true
//
// Periods are local calendar periods (`timestamp` without time zone, stepped by '1 day|week|month'
// so a month is a calendar month and a day 23 or 25 hours across a daylight-saving change), turned
// into instants with `at time zone <project zone>`. A period's end is the next period's start.
// Parts of the query that do not depend on T (retention's first cohort event and return, a funnel
// conversion's step times per entity) are hoisted: `__tally_hN as materialized (...)` CTEs beside
// the periods, evaluated once, which the per-period query only filters by T.

import { sql, type RawBuilder } from 'kysely';
import type { SeriesEvery } from '../protocol.js';
import type { CompiledSql } from '../sql/kysely.js';
import type { SqlOptions } from '../sql/compile.js';

/** The periods relation's alias and its end column: what the definition's query is correlated to. */
export const PERIODS = '__tally_periods';

/** The options a definition's query is compiled with inside a series: T is the period's end. */
export function seriesOptions(): SqlOptions {
  // Inline (escaped) literals, as compiled files and deploys have them: the statement's only
  // parameters are the range's, so several compiled queries compose as text.
  return { asOf: { kind: 'now' }, literals: 'inline', asOfSql: sql.ref(`${PERIODS}.at`) as RawBuilder<unknown> };
}

/**
 * `hoisted`: CTEs the query refers to that do not depend on T (SqlOptions.hoist), evaluated once.
 * Wraps a definition's query (compiled with seriesOptions: no parameters, correlated to
 * `__tally_periods.at`) in the periods: every row of the query per period, a period with no row
 * once with NULLs. The parameters are the range: from and to (ISO instants) and the time zone.
 */
export function seriesStatement(inner: string, every: SeriesEvery, from: Date, to: Date, timezone: string, hoisted: readonly string[] = []): CompiledSql {
  const [pFrom, pTo, pTz] = ['$1', '$2', '$3'];
  const step = `'1 ${every}'::interval`;
  const local = (p: string) => `date_trunc('${every}', (${p}::timestamptz at time zone ${pTz}::text))`;
  const periods =
    `select (__tally_g.s at time zone ${pTz}::text) as start, ((__tally_g.s + ${step}) at time zone ${pTz}::text) as at ` +
    `from generate_series(${local(pFrom)}, ${local(pTo)}, ${step}) as __tally_g(s)`;
  const text =
    `with ${PERIODS} as (${periods})${hoisted.map((h) => `, ${h}`).join('')} ` +
    `select ${PERIODS}.start as __tally_start, ${PERIODS}.at as __tally_at, __tally_x.* from ${PERIODS} left join lateral (${inner}) as __tally_x on true order by ${PERIODS}.at`;
  return { sql: text, parameters: [from.toISOString(), to.toISOString(), timezone] };
}
