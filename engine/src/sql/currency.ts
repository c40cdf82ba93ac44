// Conversion of amounts to the project currency (tally.yaml `currency:`), set-based.
//
// The rates table is turned into one dense row per currency and day (from the currency's first
// rate to T's day): the latest rate dated on or before that day, days in the project time zone
// (the session's). A stream (or cost source) with `fx` is then read through one LEFT JOIN on
// (currency, day): an equality hash join against a table of currencies × days, never a probe per
// row. A row in the project currency has rate 1; a row whose currency has no rate on or before its
// day (or a NULL currency) has rate NULL, so its amounts read as NULL and count in no sum.

import { sql, type RawBuilder } from 'kysely';
import type { IrExpr, IrFx, IrTable } from '../ir/ir.js';
import { FX_RATE } from '../ir/ir.js';
import type { Dialect } from './dialect.js';

type Sql = RawBuilder<unknown>;

/** The compiler's building blocks this file uses (compile.ts passes them: no import cycle). */
export interface CurrencyParts {
  readonly d: Dialect;
  readonly asOf: Sql;
  table(t: IrTable): Sql;
  col(alias: string, column: string): Sql;
  value(v: string): Sql;
  expr(e: IrExpr, alias: string): Sql;
}

/** `currency, day, rate`: one row per currency and day up to T's day, the latest rate on or before it. */
export function dailyRates(p: CurrencyParts, fx: IrFx): Sql {
  const r = fx.rates;
  const d = p.d;
  const day = d.localDate(p.col('fr', r.date));
  const last = d.localDate(p.asOf);
  const perDay = sql`select ${p.col('fr', r.currency)} as currency, ${day} as day, (array_agg(${p.col('fr', r.rate)} order by ${p.col('fr', r.date)} desc))[1] as rate from ${p.table(r.table)} as fr where ${p.col('fr', r.rate)} is not null and ${day} <= ${last} group by 1, 2`;
  const spans = sql`select currency, min(day) as lo from (${perDay}) as pd group by currency`;
  const dense = sql`select c.currency, ${d.localDate(sql`s.day`)} as day, pd.rate, count(pd.rate) over (partition by c.currency order by s.day) as grp from (${spans}) as c cross join ${d.dateSeries(sql`c.lo`, last, 's', 'day')} left join (${perDay}) as pd on pd.currency = c.currency and pd.day = ${d.localDate(sql`s.day`)}`;
  return sql`select g.currency, g.day, first_value(g.rate) over (partition by g.currency, g.grp order by g.day) as rate from (${dense}) as g`;
}

/** A relation (`base`, a table or subquery) with its rows' rate as column `__tally_rate`. */
export function withRates(p: CurrencyParts, base: Sql, time: string, fx: IrFx): Sql {
  const cur = p.expr(fx.currency, 'fxb');
  const rate = sql`case when ${cur} = ${p.value(fx.base)} then 1 else fxr.rate end`;
  return sql`(select fxb.*, ${rate} as ${sql.id(FX_RATE)} from ${base} as fxb left join (${dailyRates(p, fx)}) as fxr on fxr.currency = ${cur} and fxr.day = ${p.d.localDate(p.col('fxb', time))})`;
}
