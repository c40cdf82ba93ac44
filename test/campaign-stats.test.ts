// Campaign statistics against textbook values: Wilson intervals (Newcombe 1998, Table I), the Wald
// interval of a difference and the pooled two-proportion z-test (Newcombe 1998, Table II example
// 56/70 vs 48/80), chi-square tails at the tabled critical values, a fair-die goodness-of-fit
// example, and the degenerate inputs that must give null (or p = 1), never NaN. Plus the pure parts
// of variant assignment (normalised cumulative shares, edges).

import assert from 'node:assert/strict';
import { chiSquareUpperTail, normalUpperTail, sampleRatioMismatch, twoProportionTest, wilsonInterval } from '../engine/src/campaign/stats.js';
import { assignmentHash, cumulativeShares, variantIndexFor } from '../engine/src/campaign/assign.js';

const close = (actual: number | null | undefined, expected: number, tol: number, what: string) => {
  assert.ok(actual !== null && actual !== undefined && Number.isFinite(actual), `${what}: ${String(actual)}`);
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} is not ${expected} ± ${tol}`);
};

describe('campaign stats: proportions and intervals', () => {
  it('Wilson score intervals match Newcombe (1998), Table I, to 4 decimals', () => {
    const cases: [number, number, number, number][] = [
      [81, 263, 0.2553, 0.3662],
      [15, 148, 0.0624, 0.1605],
      [0, 20, 0.0, 0.1611],
      [1, 29, 0.0061, 0.1718],
      [29, 29, 0.883, 1.0],
    ];
    for (const [x, n, lo, hi] of cases) {
      const i = wilsonInterval(x, n)!;
      close(i.low, lo, 5e-5, `${x}/${n} low`);
      close(i.high, hi, 5e-5, `${x}/${n} high`);
    }
  });

  it('no trials: no interval (null, not NaN)', () => {
    assert.equal(wilsonInterval(0, 0), null);
  });

  it('the standard normal tail at textbook quantiles', () => {
    close(normalUpperTail(1.959963984540054), 0.025, 1e-7, 'z = 1.96');
    close(normalUpperTail(2.5758293035489), 0.005, 1e-7, 'z = 2.576');
    close(normalUpperTail(0), 0.5, 1e-9, 'z = 0');
    close(normalUpperTail(-1.6448536269514722), 0.95, 1e-7, 'z = -1.645');
  });
});

describe('campaign stats: two-proportion z-test', () => {
  it('56/70 vs 48/80 (Newcombe 1998): Wald interval 0.0575 to 0.3425, pooled z = 2.6502, p = 0.00805', () => {
    const t = twoProportionTest(56, 70, 48, 80)!;
    close(t.difference, 0.2, 1e-12, 'difference');
    close(t.interval.low, 0.0575, 5e-5, 'interval low');
    close(t.interval.high, 0.3425, 5e-5, 'interval high');
    close(t.z, 2.6501719512585336, 1e-9, 'z');
    close(t.pValue, 0.00804508136819656, 1e-6, 'p');
  });

  it('120/1000 vs 100/1000: z = 1.4293, p = 0.1529; 200/1000 vs 150/1000: z = 2.9424, p = 0.00326', () => {
    const a = twoProportionTest(120, 1000, 100, 1000)!;
    close(a.z, 1.4293008498232314, 1e-9, 'z');
    close(a.pValue, 0.1529177818639462, 1e-6, 'p');
    const b = twoProportionTest(200, 1000, 150, 1000)!;
    close(b.z, 2.9424494316825, 1e-9, 'z');
    close(b.pValue, 0.0032562696284120576, 1e-6, 'p');
    // Symmetric: swapping the groups flips z, keeps p.
    const c = twoProportionTest(150, 1000, 200, 1000)!;
    close(c.z, -2.9424494316825, 1e-9, 'swapped z');
    close(c.pValue, b.pValue, 1e-12, 'swapped p');
  });

  it('degenerate groups: an empty group gives null; identical 0% or 100% rates give p = 1 and z = null', () => {
    assert.equal(twoProportionTest(0, 0, 5, 10), null);
    assert.equal(twoProportionTest(5, 10, 0, 0), null);
    const zero = twoProportionTest(0, 10, 0, 20)!;
    assert.equal(zero.z, null);
    assert.equal(zero.pValue, 1);
    assert.equal(zero.difference, 0);
    const all = twoProportionTest(10, 10, 20, 20)!;
    assert.equal(all.pValue, 1);
    for (const v of [zero.interval.low, zero.interval.high, all.interval.low]) assert.ok(Number.isFinite(v));
  });
});

describe('campaign stats: chi-square and the SRM check', () => {
  it('upper tails at tabled critical values (df 1, 2, 5: 0.05 and 0.001)', () => {
    close(chiSquareUpperTail(3.841458820694124, 1), 0.05, 1e-7, 'df 1');
    close(chiSquareUpperTail(5.991464547107979, 2), 0.05, 1e-9, 'df 2');
    close(chiSquareUpperTail(13.815510557964274, 2), 0.001, 1e-9, 'df 2, 0.001');
    close(chiSquareUpperTail(11.070497693516351, 5), 0.05, 1e-9, 'df 5');
    close(chiSquareUpperTail(20.515005652432873, 5), 0.001, 1e-9, 'df 5, 0.001');
    // df 2 has the closed form e^(-x/2).
    for (const x of [0.1, 1, 7.3, 40]) close(chiSquareUpperTail(x, 2), Math.exp(-x / 2), 1e-12, `df 2 at ${x}`);
    assert.equal(chiSquareUpperTail(0, 3), 1);
    assert.equal(chiSquareUpperTail(Infinity, 3), 0);
  });

  it('a die rolled 60 times (5, 8, 9, 8, 10, 20): chi-square 13.4, df 5, p = 0.0199', () => {
    const s = sampleRatioMismatch([5, 8, 9, 8, 10, 20], [1, 1, 1, 1, 1, 1])!;
    close(s.chiSquare, 13.4, 1e-12, 'chi-square');
    assert.equal(s.df, 5);
    close(s.pValue, 0.01990522033477438, 1e-7, 'p');
    assert.deepEqual(s.expected, [10, 10, 10, 10, 10, 10]);
  });

  it('a 10/45/45 split: 480/5210/5310 is a mismatch (p ~ 3e-85), 1100/4950/4950 is not', () => {
    const bad = sampleRatioMismatch([480, 5210, 5310], [10, 45, 45])!;
    close(bad.chiSquare, 389.2929292929293, 1e-9, 'chi-square');
    assert.ok(bad.pValue < 1e-80 && bad.pValue >= 0, String(bad.pValue));
    const good = sampleRatioMismatch([1100, 4950, 4950], [10, 45, 45])!;
    assert.equal(good.chiSquare, 0);
    assert.equal(good.pValue, 1);
  });

  it('weights are normalised; zero-weight groups with nobody are left out, with somebody p = 0; nothing observed: null', () => {
    const a = sampleRatioMismatch([1000, 1100], [1, 1])!;
    const b = sampleRatioMismatch([1000, 1100], [50, 50])!;
    close(a.chiSquare, 4.761904761904762, 1e-12, 'chi-square');
    close(a.pValue, 0.029096331741252267, 1e-7, 'p');
    assert.equal(b.chiSquare, a.chiSquare);
    const skip = sampleRatioMismatch([1000, 0, 1100], [1, 0, 1])!;
    assert.equal(skip.df, 1);
    assert.equal(skip.chiSquare, a.chiSquare);
    const leak = sampleRatioMismatch([1000, 3, 1100], [1, 0, 1])!;
    assert.equal(leak.pValue, 0);
    assert.equal(sampleRatioMismatch([0, 0], [1, 1]), null);
    assert.equal(sampleRatioMismatch([10], [1]), null);
  });
});

describe('campaign assignment: shares and the hash (pure)', () => {
  it('cumulative shares are normalised; the last positive weight closes at exactly 1; zero weights never win', () => {
    assert.deepEqual(cumulativeShares([10, 45, 45]), [0.1, 0.55, 1]);
    assert.deepEqual(cumulativeShares([1, 0, 2, 0]), [1 / 3, 1 / 3, 1, 1]);
    const odd = cumulativeShares([0.1, 0.2, 0.7])!;
    close(odd[0], 0.1, 1e-15, 'first share');
    close(odd[1], 0.3, 1e-15, 'second share');
    assert.equal(odd[2], 1);
    assert.equal(cumulativeShares([0, 0]), null);
    assert.equal(cumulativeShares([]), null);
    const s = cumulativeShares([1, 0, 2, 0])!;
    assert.equal(variantIndexFor(0, s), 0);
    assert.equal(variantIndexFor(1 / 3 - 1e-12, s), 0);
    assert.equal(variantIndexFor(1 / 3, s), 2, 'a share equal to u does not exceed it: the next variant with weight');
    assert.equal(variantIndexFor(0.999999999, s), 2);
  });

  it('the hash is sha256(utf8(name + ":" + key)) read big-endian (known digests)', () => {
    // sha256("c:1") = 7c9d3005 52…  (printf 'c:1' | sha256sum)
    assert.equal(assignmentHash('c', '1'), 0x7c9d3005);
    // sha256 of the UTF-8 bytes 63 3a c3 a9 ("c:é") starts bf3d5bfc = 3208469500
    assert.equal(assignmentHash('c', 'é'), 3208469500);
  });
});
