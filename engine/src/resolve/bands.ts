// A score's bands as IR: CASE over the bands, first match wins; the unbounded last band is the fallback.
// Quantile bands (`bands: { quantiles: N }` on a score or a trait) are a `quantile` expression.

import * as ir from '../ir/ir.js';
import type { IrCond, IrEntity, IrExpr } from '../ir/ir.js';
import type { ScoreDef } from '../model/types.js';

export function bandCase(def: ScoreDef, score: IrExpr): IrExpr {
  const whens: { when: IrCond; then: IrExpr }[] = [];
  let fallback: IrExpr = { k: 'lit', value: null, type: 'string' };
  for (const b of def.bands) {
    const then: IrExpr = { k: 'lit', value: b.name.name, type: 'string' };
    const conds: IrCond[] = [];
    if (b.gte !== undefined) conds.push({ k: 'cmp', op: 'gte', a: score, b: { k: 'lit', value: b.gte, type: 'number' } });
    if (b.gt !== undefined) conds.push({ k: 'cmp', op: 'gt', a: score, b: { k: 'lit', value: b.gt, type: 'number' } });
    if (conds.length === 0) {
      fallback = then;
      break;
    }
    whens.push({ when: ir.and(conds), then });
  }
  return whens.length ? { k: 'case', whens, else: fallback } : fallback;
}

/** A score's or trait's band names: its named bands, or `q1`..`qN` for `bands: { quantiles: N }`. */
export function bandNames(def: { readonly bands?: readonly { readonly name: { readonly name: string } }[]; readonly quantiles?: { readonly n: number } }): string[] {
  if (def.quantiles) return Array.from({ length: def.quantiles.n }, (_v, i) => `q${i + 1}`);
  return (def.bands ?? []).map((b) => b.name.name);
}

/** The condition "the value is in quantile band `band`" (q1..qN) over the entities existing at T. */
export function quantileBandCond(n: number, value: IrExpr, valueType: 'number' | 'timestamp', entity: IrEntity, band: string): IrCond {
  return { k: 'cmp', op: 'eq', a: { k: 'quantile', n, value, valueType, entity }, b: { k: 'lit', value: Number(band.slice(1)), type: 'number' } };
}
