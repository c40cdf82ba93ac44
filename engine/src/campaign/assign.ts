// Deterministic variant assignment (LANGUAGE.md §7, contract), in TypeScript. The SQL form lives
// in sql/campaign.ts (`assignmentUnitSql`); tests check that both agree key by key.
//
//   h = first 4 bytes of sha256(utf8(campaign_name + ":" + entity_key)), big-endian uint32
//   u = h / 2^32
//   variant = the first whose cumulative normalised weight share exceeds u
//
// The cumulative shares are computed once here (float64) and sent to SQL as parameters, so the
// comparison `u < share` is made on identical numbers in both. The last variant with a positive
// weight gets share exactly 1 (the sum of the shares may round to 0.999…), so every u in [0, 1)
// lands somewhere; zero-weight variants never get anyone.

import { createHash } from 'node:crypto';

/** h: the first 4 bytes of sha256(utf8(campaign + ":" + key)) as an unsigned 32-bit integer. */
export function assignmentHash(campaign: string, key: string): number {
  return createHash('sha256').update(`${campaign}:${key}`, 'utf8').digest().readUInt32BE(0);
}

/** u = h / 2^32, in [0, 1). Exact in float64 (and in SQL's float8). */
export function assignmentUnit(campaign: string, key: string): number {
  return assignmentHash(campaign, key) / 4294967296;
}

/**
 * The cumulative normalised weight share of each variant; the last positive-weight variant's is 1.
 * Null when the weights do not add up to a positive finite number.
 */
export function cumulativeShares(weights: readonly number[]): number[] | null {
  const total = weights.reduce((a, w) => a + (w > 0 ? w : 0), 0);
  if (!(total > 0) || !Number.isFinite(total)) return null;
  const out: number[] = [];
  let cum = 0;
  for (const w of weights) {
    cum += w > 0 ? w : 0;
    out.push(cum / total);
  }
  let last = -1;
  weights.forEach((w, i) => {
    if (w > 0) last = i;
  });
  for (let i = last; i < out.length; i++) out[i] = 1;
  return out;
}

/** The index of the variant for `u`: the first whose cumulative share exceeds u. */
export function variantIndexFor(u: number, shares: readonly number[]): number {
  for (let i = 0; i < shares.length; i++) if (u < shares[i]!) return i;
  return shares.length - 1;
}

/** The variant index an entity gets in a campaign, or -1 when the weights are unusable. */
export function assignVariant(campaign: string, key: string, weights: readonly number[]): number {
  const shares = cumulativeShares(weights);
  if (!shares) return -1;
  return variantIndexFor(assignmentUnit(campaign, key), shares);
}
