// Series bench (issue 15: "a year of weekly series for 20 KPIs ≤ 1.2× the best hand-written SQL for
// the same series"): for every KPI of bench/kpi-cases.ts (the example shop's KPIs with hand-written
// SQL), a year of weekly points computed by the engine (computeSeries: one statement, the periods
// LATERAL-joined to the KPI's query) against hand-written series SQL returning the same points:
//  - lateral:<shape>: each hand-written single-instant shape of kpi-cases.ts, with T the period's
//    end column, LATERAL-joined to the same periods (what a person reuses a KPI query as);
//  - range-join (sum/count of events in a window): one join of the periods to the events on the
//    window, grouped by period (each event read once, matched to the periods whose window holds it);
//    for retention, each customer's first signup and first return computed once, then per period.
// Every variant's points must equal the engine's (10 significant digits) or the variant is not a
// reference. Times: median of the measured runs after one warm-up.

import { computeSeries } from '../engine/src/index.js';
import { loadBenchProject } from './lib/bench-project.js';
import { ensureDataset, type DataSectionOptions } from './lib/dataset.js';
import { BenchPg, databaseUrl, ensureDatabase } from './lib/pg.js';
import { median, now, type Row, type Section } from './lib/report.js';
import { KPI_HAND } from './kpi-cases.js';

export interface SeriesBenchOptions extends DataSectionOptions {
  /** kpi:<name> to restrict; empty: every KPI of KPI_HAND. */
  cases: string[];
}

const TARGET = 1.2;
const EXISTS_P = `exists (select 1 from customers c where c.id = e.customer_id and c.created_at <= per.at)`;

/** Set-based hand-written series for the window forms: periods joined to the events of their window. */
const RANGE_JOIN: Record<string, string> = {
  weekly_signups: `select per.at, count(e.customer_id) as value from per left join events e on e.event_name = 'signup' and e.occurred_at > per.at - interval '7 days' and e.occurred_at <= per.at and ${EXISTS_P} group by per.at order by per.at`,
  revenue_30d: `select per.at, coalesce(sum((e.properties ->> 'amount')::numeric), 0)::float8 as value from per left join events e on e.event_name = 'purchase' and e.occurred_at > per.at - interval '30 days' and e.occurred_at <= per.at and ${EXISTS_P} group by per.at order by per.at`,
  avg_order_value_30d: `select per.at, avg((e.properties ->> 'amount')::numeric)::float8 as value from per left join events e on e.event_name = 'purchase' and e.occurred_at > per.at - interval '30 days' and e.occurred_at <= per.at and ${EXISTS_P} group by per.at order by per.at`,
  d7_retention: retentionRangeJoin(60, 7),
  d30_retention: retentionRangeJoin(120, 30),
};

/**
 * Retention as a person would write it for a series: each customer's first signup and first login
 * within N days after it, once; then per period the cohort (first signup in (T - W, T - N days],
 * existing at T) and who returned by T.
 */
function retentionRangeJoin(withinDays: number, days: number): string {
  return `, pc as materialized (select f.k, f.c, min(r.occurred_at) as fr
      from (select customer_id as k, min(occurred_at) as c from events where event_name = 'signup' group by customer_id) f
      left join events r on r.customer_id = f.k and r.event_name = 'login' and r.occurred_at > f.c and r.occurred_at <= f.c + interval '${days} days'
      group by f.k, f.c)
    select per.at, (count(pc.k) filter (where pc.fr <= per.at))::float8 / nullif(count(pc.k), 0) as value
    from per left join pc on pc.c > per.at - interval '${withinDays} days' and pc.c <= per.at - interval '${days} days'
      and exists (select 1 from customers c where c.id = pc.k and c.created_at <= per.at)
    group by per.at order by per.at`;
}

/** A single-instant hand-written KPI query (`:T`, `:T30`) with T the period's end column `per.at`. */
function atPeriod(text: string): string {
  return text.replace(/:T(\d*)\b/g, (_m, d: string) => (d ? `(per.at - interval '${Number(d)} days')` : 'per.at')).replace(/\s+/g, ' ').trim();
}

const answer = (v: unknown) => (v === null || v === undefined ? 'null' : Number(v).toPrecision(10));

export async function seriesSection(o: SeriesBenchOptions): Promise<Section> {
  await ensureDatabase(o.server, o.database);
  const db = await BenchPg.open(databaseUrl(o.server, o.database));
  try {
    o.log(`series: data set of ${o.customers.toLocaleString('en-US')} customers in ${o.database} ...`);
    const ds = await ensureDataset(db, { customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days }, o.log);
    await db.query(`set search_path to "${ds.schema}", public`);
    await db.query(`set statement_timeout = ${Math.max(1000, Math.floor(o.timeoutMs))}`);
    const { analysis } = loadBenchProject();
    const reps = o.reps || 2;
    const day = 86_400_000;
    const to = new Date(o.anchor.getTime() - day).toISOString().slice(0, 10);
    const from = new Date(o.anchor.getTime() - 365 * day).toISOString().slice(0, 10);
    const names = Object.keys(KPI_HAND).filter((n) => !o.cases.length || o.cases.includes(`kpi:${n}`));
    const rows: Row[] = [];
    const detail: Record<string, unknown> = {};
    let totalEngine = 0;
    let totalHand = 0;
    for (const name of names) {
      o.log(`  series kpi ${name}, weekly ${from}..${to}`);
      const engineDb = db.asDb();
      const run = () => computeSeries(engineDb, analysis, { kind: 'kpi', name, from, to, every: 'week', timeoutMs: o.timeoutMs });
      let first: Awaited<ReturnType<typeof run>>;
      try {
        first = await run();
      } catch (e) {
        // One KPI past the statement timeout does not lose the others' figures.
        o.log(`    engine: ${(e as Error).message}`);
        rows.push({ figure: `kpi ${name}: engine failed`, value: NaN, unit: 'ms', note: (e as Error).message });
        continue;
      }
      if (!first.result) throw new Error(`${name}: ${first.diagnostics.map((d) => d.message).join('; ')}`);
      const points = first.result.points;
      const reference = points.map((p) => answer(p.value)).join(',');
      const engineTimes: number[] = [];
      for (let i = 0; i < reps; i++) {
        const t = now();
        await run();
        engineTimes.push(now() - t);
      }
      const periods = `with per as (select generate_series($1::timestamptz, $2::timestamptz, interval '7 days') as at) `;
      const params = [points[0]!.at, points[points.length - 1]!.at];
      const variants: { id: string; sql: string }[] = [
        ...Object.entries(KPI_HAND[name]!.shapes).map(([shape, text]) => ({ id: `lateral:${shape}`, sql: `${periods}select per.at, x.value from per cross join lateral (${atPeriod(text)}) as x order by per.at` })),
        ...(RANGE_JOIN[name] ? [{ id: 'range-join', sql: (RANGE_JOIN[name]!.startsWith(',') ? periods.trimEnd() : periods) + RANGE_JOIN[name]! }] : []),
      ];
      const hand: { id: string; ms: number; ok: boolean; error?: string }[] = [];
      for (const v of variants) {
        try {
          const w = await db.query<{ value: unknown }>(v.sql, params);
          const ok = w.map((r) => answer(r.value)).join(',') === reference;
          const times: number[] = [];
          for (let i = 0; i < reps; i++) {
            const t = now();
            await db.query(v.sql, params);
            times.push(now() - t);
          }
          hand.push({ id: v.id, ms: median(times), ok });
          o.log(`    ${v.id}: ${median(times).toFixed(0)} ms${ok ? '' : ' (DIFFERENT POINTS: not a reference)'}`);
        } catch (e) {
          hand.push({ id: v.id, ms: NaN, ok: false, error: (e as Error).message });
          o.log(`    ${v.id}: ${(e as Error).message}`);
        }
      }
      const engineMs = median(engineTimes);
      const bestHand = hand.filter((h) => h.ok && Number.isFinite(h.ms)).sort((a, b) => a.ms - b.ms)[0];
      o.log(`    engine: ${engineMs.toFixed(0)} ms; best hand: ${bestHand ? `${bestHand.id} ${bestHand.ms.toFixed(0)} ms` : 'none'}`);
      const ratio = bestHand ? engineMs / bestHand.ms : undefined;
      if (bestHand) {
        totalEngine += engineMs;
        totalHand += bestHand.ms;
      }
      rows.push({
        figure: `kpi ${name}: ${points.length} weeks`,
        value: engineMs,
        unit: 'ms',
        ...(bestHand ? { reference: { label: `hand ${bestHand.id}`, value: bestHand.ms, unit: 'ms' } } : {}),
        ...(ratio !== undefined ? { ratio, target: `≤ ${TARGET}×`, met: ratio <= TARGET } : {}),
      });
      detail[name] = { engineMs, engineTimes, hand, points: points.length };
    }
    if (totalHand > 0) rows.push({ figure: `all ${names.length} KPIs (sum of times)`, value: totalEngine, unit: 'ms', reference: { label: 'best hand each', value: totalHand, unit: 'ms' }, ratio: totalEngine / totalHand, target: `≤ ${TARGET}×`, met: totalEngine / totalHand <= TARGET });
    return {
      name: 'series',
      title: `Series: a year of weekly points per KPI at ${o.customers.toLocaleString('en-US')} customers (${ds.eventsLoaded.toLocaleString('en-US')} events)`,
      rows,
      notes: [
        'engine: computeSeries (one statement; the periods LATERAL-joined to the KPI query with T the period end), JS included.',
        'hand: each kpi-cases.ts shape LATERAL-joined to the same periods, and a set-based range join for window sums/counts; only variants returning the same points count.',
        `times: median of ${reps} runs after one warm-up.`,
      ],
      detail,
    };
  } finally {
    await db.close();
  }
}
