// The SQL dialect: the text that belongs to one database engine, asked for by the compilers
// (compile.ts, campaign.ts, index-ddl.ts) and by index advice, so that the IR and the query shapes
// stay engine-neutral. A second dialect (a warehouse, a distributed engine) is one more object
// implementing `Dialect`, plus a golden suite of its SQL.
//
// What a dialect owns: its cold Kysely (identifier quoting, literal escaping, parameter
// placeholders), the clock and timestamps, intervals from the IR's dialect-free durations, JSON
// property access and aggregation, casts, text functions, `distinct on`, first-by-order and
// boolean aggregates, materialized CTEs, the campaign assignment hash, and hand-quoted
// identifiers and literals for text written outside Kysely.
//
// Performance: compile throughput is a goal (bench compile), so the fixed fragments are built once
// per dialect, and each call builds no more than the template it replaced.

import { DummyDriver, Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler, sql, type RawBuilder } from 'kysely';
import type { IrDuration } from '../ir/ir.js';

type Sql = RawBuilder<unknown>;

/** The SQL types the compilers cast to. */
export type SqlType = 'numeric' | 'boolean' | 'timestamptz' | 'float8' | 'text' | 'int' | 'bigint' | 'jsonb';

export interface Dialect {
  readonly name: string;
  /** A Kysely that compiles without a database (DummyDriver): quoting, escaping, placeholders. */
  readonly kysely: Kysely<Record<string, never>>;
  /** The database clock at the start of the statement (T for views). */
  readonly now: Sql;
  /** An interval of a duration: `'90 days'::interval`. */
  interval(d: IrDuration): Sql;
  /** The database clock minus a duration: `(now() - '90 days'::interval)`. */
  nowMinus(d: IrDuration): Sql;
  /** An instant minus an exact number of milliseconds (elapsed time, whatever the session's zone). */
  instantMinus(t: Sql, ms: number): Sql;
  /** A timestamp with time zone from ISO-8601 text (a parameter or an inline literal). */
  timestamp(iso: Sql): Sql;
  /** A JSON object column's property as text: `(props ->> 'plan')`. */
  jsonText(json: Sql, key: string): Sql;
  /** `value::type`. */
  cast(value: Sql, type: SqlType): Sql;
  /** Fractional days from `from` to `to` (two timestamps). */
  daysBetween(from: Sql, to: Sql): Sql;
  /** Integer division of two non-negative integer expressions, rounded down (quantile bands). */
  intDiv(a: Sql, b: Sql): Sql;
  /** A number as quantile bands rank it: rounded to 9 decimal places. */
  rankNumber(v: Sql): Sql;
  /** Whether text `a` contains text `b` (no pattern characters: `%` and `_` are themselves). */
  contains(a: Sql, b: Sql): Sql;
  /** Whether text `a` starts with text `b` (no pattern characters). */
  startsWith(a: Sql, b: Sql): Sql;
  /** `select distinct on (keys)`: one row per key, the first in the statement's order. */
  distinctOn(keys: Sql): Sql;
  /**
   * The aggregate "value of the first row by `orderBy`" (`descending`: the last), restricted by
   * `filter` (an aggregate FILTER clause, or empty).
   */
  firstOf(value: Sql, orderBy: Sql, descending: boolean, filter: Sql): Sql;
  /** The aggregate median of a number over a group (interpolated, NULL when the group is empty). */
  median(value: Sql): Sql;
  /** The aggregate "true when the condition holds for any row of the group". */
  boolOr(condition: Sql): Sql;
  /** The aggregate JSON object of key -> value over a group; `{}` when the group is empty. */
  jsonObjectAgg(key: Sql, value: Sql): Sql;
  /** A common table expression computed once, never inlined by the planner: `name as materialized (body)`. */
  materializedCte(name: string, body: Sql): Sql;
  /**
   * A campaign's assignment unit u in [0, 1) for `campaign:key` (two text expressions): the first
   * 4 bytes of sha256 of the UTF-8 text as a big-endian uint32, divided by 2^32 (campaign/assign.ts
   * computes the same in TypeScript).
   */
  assignmentUnit(campaign: Sql, key: Sql): Sql;
  /**
   * The start of the calendar period (`week`: ISO week from Monday 00:00; `month`) that contains
   * the instant `ts` on the wall clock of time zone `tz`, moved `back` periods earlier: an instant.
   */
  periodStart(unit: 'week' | 'month', ts: Sql, tz: Sql, back?: Sql): Sql;
  /** The instant `ts` moved by `n` calendar weeks or months on the wall clock of time zone `tz`. */
  addLocal(ts: Sql, n: number, unit: 'weeks' | 'months', tz: Sql): Sql;
  /** A set-returning source of the integers 0..n-1 as `alias(column)`. */
  series(n: number, alias: string, column: string): Sql;
  /** An identifier quoted by hand (for text written outside Kysely): `"my ""odd"" name"`. */
  quoteIdent(name: string): string;
  /** A string literal quoted by hand (for text written outside Kysely): `'it''s'`. */
  quoteLiteral(text: string): string;
}

const CAST_SUFFIX: Record<SqlType, Sql> = {
  numeric: sql.raw('::numeric'),
  boolean: sql.raw('::boolean'),
  timestamptz: sql.raw('::timestamptz'),
  float8: sql.raw('::float8'),
  text: sql.raw('::text'),
  int: sql.raw('::int'),
  bigint: sql.raw('::bigint'),
  jsonb: sql.raw('::jsonb'),
};

const NOW = sql`now()`;
const ASC = sql.raw('asc');
const DESC = sql.raw('desc');

/** PostgreSQL (also PGlite): the only dialect today. */
export const postgres: Dialect = {
  name: 'postgres',
  kysely: new Kysely<Record<string, never>>({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  }),
  now: NOW,
  // Interval text is the count and the plural unit word (`1 days` is valid PostgreSQL); a
  // fractional count (`0.125 days`) is too.
  interval: (d) => sql`${sql.lit(`${d.count} ${d.unit}`)}::interval`,
  nowMinus: (d) => sql`(now() - ${sql.lit(`${d.count} ${d.unit}`)}::interval)`,
  // Milliseconds land in the interval's time part: no calendar days, so no daylight-saving shift.
  instantMinus: (t, ms) => sql`(${t} - ${sql.lit(`${Math.round(ms)} milliseconds`)}::interval)`,
  timestamp: (iso) => sql`${iso}::timestamptz`,
  jsonText: (json, key) => sql`(${json} ->> ${sql.lit(key)})`,
  cast: (value, type) => sql`${value}${CAST_SUFFIX[type]}`,
  daysBetween: (from, to) => sql`(extract(epoch from (${to} - ${from})) / 86400.0)`,
  // bigint / bigint truncates, which is floor for the non-negative operands it is used with.
  intDiv: (a, b) => sql`(${a} / ${b})`,
  rankNumber: (v) => sql`round(${v}::numeric, 9)`,
  // strpos and starts_with, not LIKE: the operand is data, and `%`/`_` in it must not match patterns.
  contains: (a, b) => sql`strpos(${a}, ${b}) > 0`,
  startsWith: (a, b) => sql`starts_with(${a}, ${b})`,
  distinctOn: (keys) => sql`distinct on (${keys})`,
  firstOf: (value, orderBy, descending, filter) => sql`(array_agg(${value} order by ${orderBy} ${descending ? DESC : ASC})${filter})[1]`,
  boolOr: (condition) => sql`bool_or(${condition})`,
  median: (value) => sql`percentile_cont(0.5) within group (order by ${value})`,
  jsonObjectAgg: (key, value) => sql`coalesce(json_object_agg(${key}, ${value}), '{}')`,
  materializedCte: (name, body) => sql`${sql.raw(name)} as materialized (${body})`,
  assignmentUnit: (campaign, key) => sql`(('x' || substr(encode(sha256(convert_to(${campaign} || ':' || ${key}, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint)::float8 / 4294967296.0`,
  periodStart: (unit, ts, tz, back) =>
    back
      ? sql`((date_trunc(${sql.lit(unit)}, ${ts} at time zone ${tz}) - ${back} * ${sql.lit(`1 ${unit}`)}::interval) at time zone ${tz})`
      : sql`(date_trunc(${sql.lit(unit)}, ${ts} at time zone ${tz}) at time zone ${tz})`,
  addLocal: (ts, n, unit, tz) => sql`(((${ts} at time zone ${tz}) + ${sql.lit(`${n} ${unit}`)}::interval) at time zone ${tz})`,
  series: (n, alias, column) => sql`generate_series(0, ${sql.lit(n - 1)}) as ${sql.id(alias)}(${sql.id(column)})`,
  quoteIdent: (name) => `"${name.replace(/"/g, '""')}"`,
  quoteLiteral: (text) => `'${text.replace(/'/g, "''")}'`,
};
