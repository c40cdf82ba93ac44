// The KPI cases (bench/kpi-cases.ts) under the session settings previews and `tally check` run with
// (jit off, work_mem 64MB; engine/src/db/db.ts), where `npm run bench -- segments` uses the
// server defaults. Against the shared 1M data set, which must already be loaded:
//   node --import tsx bench/kpi-settings.ts [kpi ...]   (TALLY_BENCH_KPI_BEFORE adds another engine)
import { BenchPg, bind, databaseUrl, DEFAULT_SERVER_URL } from './lib/pg.js';
import { kpiCases } from './kpi-cases.js';
import { loadBenchProject } from './lib/bench-project.js';
const asOf = new Date('2026-11-01T00:00:00Z');
const only = process.argv.slice(2);
const { analysis } = loadBenchProject();
const db = await BenchPg.open(databaseUrl(DEFAULT_SERVER_URL, 'tally_bench'));
const SCHEMA = 'shop_c1000000_s42_d400';
const loaded = await db.query(`select 1 from public.tally_bench_datasets where schema_name = $1`, [SCHEMA]).catch(() => []);
if (!loaded.length) {
  console.error(`${SCHEMA} is not recorded as loaded in tally_bench; load it with \`npm run bench -- segments\` first`);
  process.exit(2);
}
await db.query(`set search_path to ${SCHEMA}, public`);
await db.query(`set jit = off`);
await db.query(`set work_mem = '64MB'`);
await db.query(`set statement_timeout = 150000`);
for (const c of kpiCases(analysis, asOf, bind).filter((c) => !only.length || only.includes(c.key.slice(4)))) {
  const times = new Map<string, number[]>();
  const answers = new Map<string, string>();
  for (let round = 0; round < 3; round++) {
    for (const v of c.variants) {
      if (answers.get(v.id) === 'timeout') continue;
      const t = performance.now();
      try {
        const rows = await db.query(v.sql, v.params);
        answers.set(v.id, c.answer(rows));
      } catch (e) {
        answers.set(v.id, 'timeout');
        continue;
      }
      if (round > 0) times.set(v.id, [...(times.get(v.id) ?? []), performance.now() - t]);
    }
  }
  const med = (xs: number[] | undefined) => (xs && xs.length ? xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]! : NaN);
  const hands = c.variants.filter((v) => v.kind === 'hand' && answers.get(v.id) !== 'timeout');
  const best = Math.min(...hands.map((v) => med(times.get(v.id))));
  console.log(`${c.key}: ` + c.variants.map((v) => `${v.id} ${answers.get(v.id) === 'timeout' ? 'timeout' : `${med(times.get(v.id)).toFixed(0)} ms (${(med(times.get(v.id)) / best).toFixed(2)}x)`} -> ${answers.get(v.id)}`).join('; '));
}
await db.close();
