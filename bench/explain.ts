// EXPLAIN (ANALYZE, BUFFERS) of chosen variants of the segment bench, for looking into a slow shape.
//
//   node --import tsx bench/explain.ts [--customers N] [--days D] <case> [variant-id-substring ...]
//   e.g. node --import tsx bench/explain.ts c engine-pass hand:probe-exists
//   --set "set jit = off"   run a statement first (session settings)
//   --time N                time N runs (after one warm-up) instead of EXPLAIN
//   --ab "set ..."          with --time: alternate runs without and with these settings (A/B)
//
// Uses the data set the segment bench loaded (it does not load one).

import { DEFAULT_ANCHOR } from '../examples/shop/generate.js';
import { schemaName } from './lib/dataset.js';
import { BenchPg, DEFAULT_SERVER_URL, databaseUrl } from './lib/pg.js';
import { median } from './lib/report.js';
import { buildCases } from './segments.js';

const argv = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = argv.indexOf(name);
  if (i < 0) return d;
  const v = argv[i + 1]!;
  argv.splice(i, 2);
  return v;
};
const customers = Number(opt('--customers', '1000000'));
const days = Number(opt('--days', '400'));
const settings = opt('--set', '');
const timeRuns = Number(opt('--time', '0'));
const ab = opt('--ab', '');
const [caseKey, ...wanted] = argv;
const schema = schemaName({ customers, seed: 42, anchor: DEFAULT_ANCHOR, days });
const db = await BenchPg.open(databaseUrl(DEFAULT_SERVER_URL, 'tally_bench'));
try {
  await db.query(`set search_path to "${schema}", public`);
  if (settings) await db.query(settings);
  const c = buildCases(DEFAULT_ANCHOR).find((x) => x.key === caseKey);
  if (!c) throw new Error(`no case ${caseKey}`);
  for (const v of c.variants) {
    if (wanted.length && !wanted.some((w) => v.id.includes(w))) continue;
    if (timeRuns > 0 && ab) {
      const a: number[] = [];
      const b: number[] = [];
      const once = async () => {
        const t = performance.now();
        await db.query(v.sql, v.params);
        return performance.now() - t;
      };
      await once();
      for (let i = 0; i < timeRuns; i++) {
        a.push(await once());
        await db.query('begin');
        await db.query(ab.replace(/\bset\b/gi, 'set local'));
        b.push(await once());
        await db.query('commit');
      }
      const f = (xs: number[]) => `median ${median(xs).toFixed(0)} ms, best ${Math.min(...xs).toFixed(0)} ms`;
      console.log(`${c.key} ${v.label}: A ${f(a)} | B (${ab}) ${f(b)} | B/A median ${(median(b) / median(a)).toFixed(2)}, best ${(Math.min(...b) / Math.min(...a)).toFixed(2)}`);
      continue;
    }
    if (timeRuns > 0) {
      await db.query(v.sql, v.params);
      const times: number[] = [];
      for (let i = 0; i < timeRuns; i++) {
        const t = performance.now();
        await db.query(v.sql, v.params);
        times.push(performance.now() - t);
      }
      console.log(`${c.key} ${v.label}: median ${median(times).toFixed(0)} ms, best ${Math.min(...times).toFixed(0)} ms (${times.map((x) => x.toFixed(0)).join(' ')})`);
      continue;
    }
    const rows = await db.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${v.sql}`, v.params);
    console.log(`--- ${c.key} ${v.label}\n${v.sql}\n${JSON.stringify(v.params)}\n${rows.map((r) => r['QUERY PLAN']).join('\n')}\n`);
  }
} finally {
  await db.close();
}
