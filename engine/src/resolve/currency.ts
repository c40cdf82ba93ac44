// Amounts in mixed currencies: an Events' `currency: { column, amounts }` and a Costs' `currency:`
// convert to the project currency (tally.yaml `currency:`) through its rates table; without a
// conversion configured, reading such an amount is refused where it is read
// (`currency-not-configured`), so no sum ever adds dollars to euros.

import type { IrExpr, IrFx } from '../ir/ir.js';
import { FX_RATE } from '../ir/ir.js';
import type { CostsDef, EventsDef, ProjectCurrency, Ref } from '../model/types.js';
import type { ResolveContext } from './context.js';
import { dedupeTarget } from './entities.js';

function irRates(c: ProjectCurrency): IrFx['rates'] | undefined {
  if (!c.rates) return undefined;
  const t = c.rates.table;
  const dot = t.indexOf('.');
  return { table: dot > 0 ? { schema: t.slice(0, dot), name: t.slice(dot + 1) } : { name: t }, date: c.rates.date, currency: c.rates.currency, rate: c.rates.rate };
}

/** The conversion of a stream's rows (absent when it declares no currency or none is configured). */
export function streamFx(cx: ResolveContext, s: EventsDef): IrFx | undefined {
  const c = cx.options.currency;
  const rates = c && irRates(c);
  if (!s.currency || !c || !rates) return undefined;
  return { currency: dedupeTarget(s, s.currency.column.name).expr, base: c.code, rates };
}

/** The conversion of a cost source's amount, or undefined (reported at `at` when its currency cannot convert). */
export function costsFx(cx: ResolveContext, def: CostsDef, at: Ref): IrFx | undefined | 'refused' {
  if (!def.currency) return undefined;
  const c = cx.options.currency;
  const rates = c && irRates(c);
  if (!c || !rates) {
    cx.error('currency-not-configured', at.span, `Costs '${def.name}' holds amounts in several currencies (\`currency: ${def.currency.name}\`), and the project converts none: add \`currency: { code: EUR, rates: { table: fx_rates, date: day, currency: currency, rate: rate } }\` to tally.yaml`);
    return 'refused';
  }
  return { currency: { k: 'ecol', col: def.currency.name, type: 'string' }, base: c.code, rates };
}

/**
 * A property that is an amount in the row's currency: its value converted (amount × the row's
 * rate), or undefined when no conversion is configured (reported at the reference). Other
 * properties: `base` unchanged.
 */
export function amountExpr(cx: ResolveContext, s: EventsDef, ref: Ref, base: IrExpr): IrExpr | undefined {
  if (!s.currency || !s.currency.amounts.some((a) => a.name === ref.name)) return base;
  if (!streamFx(cx, s)) {
    cx.error(
      'currency-not-configured',
      ref.span,
      `'${ref.name}' is an amount in each row's currency (Events '${s.name}' declares \`currency: { column: ${s.currency.column.name} }\`), and the project converts none, so adding them up would mix currencies: add \`currency: { code: EUR, rates: { table: fx_rates, date: day, currency: currency, rate: rate } }\` to tally.yaml`,
    );
    return undefined;
  }
  return { k: 'arith', op: '*', a: base, b: { k: 'ecol', col: FX_RATE, type: 'number' } };
}
