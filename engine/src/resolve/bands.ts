// A score's bands as IR: CASE over the bands, first match wins; the unbounded last band is the fallback.

import * as ir from '../ir/ir.js';
import type { IrCond, IrExpr } from '../ir/ir.js';
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
