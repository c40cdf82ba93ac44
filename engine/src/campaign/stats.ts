// Statistics for campaign results: proportions with 95% intervals, the two-proportion z-test, and
// the chi-square goodness-of-fit test used as the sample-ratio-mismatch (SRM) check.
//
// Pure functions; every degenerate input (no trials, zero variance) yields null instead of NaN.
// Tested against textbook values (test/campaign-stats.test.ts).

/** The two-sided 95% normal quantile. */
export const Z95 = 1.959963984540054;

export interface Interval {
  readonly low: number;
  readonly high: number;
}

/** erfc(x) = Q(1/2, x²) for x >= 0 (the regularized incomplete gamma function below). */
export function erfc(x: number): number {
  const q = gammaQ(0.5, x * x);
  return x >= 0 ? q : 2 - q;
}

/** The standard normal upper tail P(Z > z). */
export function normalUpperTail(z: number): number {
  return 0.5 * erfc(z / Math.SQRT2);
}

/** The Wilson score interval for x successes in n trials (null when n = 0). */
export function wilsonInterval(x: number, n: number, z = Z95): Interval | null {
  if (!(n > 0)) return null;
  const p = x / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  return { low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

export interface TwoProportionTest {
  /** p1 - p2. */
  readonly difference: number;
  /** The Wald (unpooled normal) 95% interval of the difference. */
  readonly interval: Interval;
  /** The pooled z statistic; null when both groups have the same rate of 0 or 1 (no variance). */
  readonly z: number | null;
  /** Two-sided p-value of the pooled z-test (1 when there is no variance: no difference at all). */
  readonly pValue: number;
}

/** The two-sided two-proportion z-test (pooled) of x1/n1 against x2/n2; null when a group is empty. */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number, zq = Z95): TwoProportionTest | null {
  if (!(n1 > 0) || !(n2 > 0)) return null;
  const p1 = x1 / n1;
  const p2 = x2 / n2;
  const difference = p1 - p2;
  const seWald = Math.sqrt((p1 * (1 - p1)) / n1 + (p2 * (1 - p2)) / n2);
  const interval = { low: difference - zq * seWald, high: difference + zq * seWald };
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  if (!(se > 0)) return { difference, interval, z: null, pValue: 1 };
  const z = difference / se;
  return { difference, interval, z, pValue: Math.min(1, 2 * normalUpperTail(Math.abs(z))) };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, n = 9; ~15 significant digits). */
export function lnGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lnGamma(1 - x);
  const xx = x - 1;
  let a = c[0]!;
  const t = xx + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (xx + i);
  return 0.5 * Math.log(2 * Math.PI) + (xx + 0.5) * Math.log(t) - t + Math.log(a);
}

/** The regularized upper incomplete gamma function Q(a, x) (series below a + 1, continued fraction above). */
export function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const gln = lnGamma(a);
  if (x < a + 1) {
    let ap = a;
    let sum = 1 / a;
    let del = sum;
    for (let n = 0; n < 1000; n++) {
      ap += 1;
      del *= x / ap;
      sum += del;
      if (Math.abs(del) < Math.abs(sum) * 1e-15) break;
    }
    return Math.max(0, 1 - sum * Math.exp(-x + a * Math.log(x) - gln));
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return Math.min(1, Math.exp(-x + a * Math.log(x) - gln) * h);
}

/** P(X > x) for a chi-square variable with `df` degrees of freedom. */
export function chiSquareUpperTail(x: number, df: number): number {
  if (!(df > 0)) return 1;
  if (x === Infinity) return 0;
  return gammaQ(df / 2, x / 2);
}

export interface SrmCheck {
  readonly chiSquare: number;
  readonly df: number;
  readonly pValue: number;
  /** The expected count per group (observed total × normalised weight). */
  readonly expected: number[];
}

/**
 * Chi-square goodness of fit of observed counts against weights (normalised by their sum).
 * Groups with zero weight and zero observations are left out; a zero-weight group with
 * observations makes the statistic infinite (p = 0). Null with no observations or fewer than two groups.
 */
export function sampleRatioMismatch(observed: readonly number[], weights: readonly number[]): SrmCheck | null {
  const total = observed.reduce((a, b) => a + b, 0);
  const wsum = weights.reduce((a, w) => a + (w > 0 ? w : 0), 0);
  if (!(total > 0) || !(wsum > 0)) return null;
  const expected = weights.map((w) => (total * (w > 0 ? w : 0)) / wsum);
  let chi = 0;
  let groups = 0;
  for (let i = 0; i < observed.length; i++) {
    const o = observed[i]!;
    const e = expected[i]!;
    if (e === 0 && o === 0) continue;
    groups++;
    chi += e === 0 ? Infinity : ((o - e) * (o - e)) / e;
  }
  if (groups < 2) return null;
  const df = groups - 1;
  return { chiSquare: chi, df, pValue: chiSquareUpperTail(chi, df), expected };
}
