// Section "segments": the engine's SQL on a real PostgreSQL, against the best hand-written SQL for
// the same question, on the shop data set (examples/shop/generate.ts) at scale.
//
// Three questions, as of the data's anchor T:
//   (a) selective:        country in (AT, CH) and 2+ purchases in 90d and 200+ spent in 365d and
//                         no login in 14d (an attribute filter, two event windows and a NOT)
//   (b) population-wide:  3+ purchases in 30d, or a login in 7d, or no activity at all in 90d
//   (c) lifecycle:        the example project's customer_lifecycle stage distribution
// For each: the engine's SQL (compileMemberCount / compileDistribution with strategy auto, and
// forced probe and pass; literals as parameters), several hand-written shapes, and the floor
// `select count(*) from events`. Every variant's answer is checked against the first hand-written
// one. Variants run in rounds (one of each per round) so drift in machine load hits all alike.

import { ensureDataset, type Dataset, type DataSectionOptions } from './lib/dataset.js';
import { BenchPg, bind, databaseUrl, ensureDatabase } from './lib/pg.js';
import { engineDistribution, engineMemberCount, loadBenchProject, type EngineStrategy } from './lib/bench-project.js';
import { best, median, now, type ReadPath, type Row, type Section } from './lib/report.js';
import { kpiCases, type KpiVariant } from './kpi-cases.js';

export const AUTO_TARGET = 1.25; // engine auto / best hand-written


/** `reps`: measured repetitions per variant (after one warm-up); 0: adaptive (5 below 2 s, else 3). */
export interface SegmentsOptions extends DataSectionOptions {
  explain: boolean;
  /** Run only these cases (a, b, c); empty: all. */
  cases: string[];
}

type Answer = string; // a canonical JSON of the result, for comparison

/** One way to answer a case: id engine-auto, engine-probe, engine-pass, or hand:<shape>. */
type Variant = KpiVariant;

interface Case {
  key: string;
  title: string;
  /** Short title for the table. */
  short: string;
  /** How a result becomes a comparable answer. */
  answer: (rows: Record<string, unknown>[]) => Answer;
  variants: Variant[];
}

interface Measured {
  variant: Variant;
  times: number[];
  answer?: Answer;
  error?: string;
  warmupMs?: number;
  plan?: string;
  /** Same SQL as this other variant: measured once, reported for both. */
  sameAs?: Measured;
}

// ---- hand-written SQL ----------------------------------------------------------------------------


const SELECTIVE_HAND: Record<string, string> = {
  // The literal translation: one correlated probe per condition, a count >= 2 stopped at the 2nd row.
  'probe-exists': `
    select count(*) from customers c
    where c.country in ('AT', 'CH') and c.created_at <= :T
      and exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T90 and e.occurred_at <= :T offset 1)
      and (select sum((e.properties ->> 'amount')::numeric) from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T365 and e.occurred_at <= :T) >= 200
      and not exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'login' and e.occurred_at > :T14 and e.occurred_at <= :T)`,
  // One correlated probe per candidate computing all three aggregates in a single index range scan.
  'lateral-one-probe': `
    select count(*) from customers c
    cross join lateral (
      select count(*) filter (where e.event_name = 'purchase' and e.occurred_at > :T90) as n90,
             sum((e.properties ->> 'amount')::numeric) filter (where e.event_name = 'purchase') as s365,
             count(*) filter (where e.event_name = 'login' and e.occurred_at > :T14) as l14
      from events e
      where e.customer_id = c.id and e.event_name in ('login', 'purchase') and e.occurred_at > :T365 and e.occurred_at <= :T) a
    where c.country in ('AT', 'CH') and c.created_at <= :T and a.n90 >= 2 and a.s365 >= 200 and a.l14 = 0`,
  // Filter the customers, join their purchase/login events of the widest window, group, HAVING.
  'join-group-having': `
    select count(*) from (
      select c.id from customers c join events e on e.customer_id = c.id
      where c.country in ('AT', 'CH') and c.created_at <= :T
        and e.event_name in ('login', 'purchase') and e.occurred_at > :T365 and e.occurred_at <= :T
      group by c.id
      having count(*) filter (where e.event_name = 'purchase' and e.occurred_at > :T90) >= 2
         and sum((e.properties ->> 'amount')::numeric) filter (where e.event_name = 'purchase') >= 200
         and count(*) filter (where e.event_name = 'login' and e.occurred_at > :T14) = 0) s`,
  // Aggregate everyone's purchase/login events first (one grouped scan), then join the customers.
  'grouped-pass-join': `
    select count(*) from customers c
    join (
      select customer_id from events
      where event_name in ('login', 'purchase') and occurred_at > :T365 and occurred_at <= :T
      group by customer_id
      having count(*) filter (where event_name = 'purchase' and occurred_at > :T90) >= 2
         and sum((properties ->> 'amount')::numeric) filter (where event_name = 'purchase') >= 200
         and count(*) filter (where event_name = 'login' and occurred_at > :T14) = 0) p on p.customer_id = c.id
    where c.country in ('AT', 'CH') and c.created_at <= :T`,
  // The login NOT as a hashed NOT IN (customer_id is NOT NULL, so NOT IN means NOT EXISTS here).
  'probe-not-in': `
    select count(*) from customers c
    where c.country in ('AT', 'CH') and c.created_at <= :T
      and exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T90 and e.occurred_at <= :T offset 1)
      and (select sum((e.properties ->> 'amount')::numeric) from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T365 and e.occurred_at <= :T) >= 200
      and c.id not in (select customer_id from events where event_name = 'login' and occurred_at > :T14 and occurred_at <= :T)`,
};

const POPULATION_HAND: Record<string, string> = {
  // One grouped scan of the 90-day window, LEFT JOINed: no row = no activity.
  'grouped-pass-left-join': `
    select count(*) from customers c
    left join (
      select customer_id,
             count(*) filter (where event_name = 'purchase' and occurred_at > :T30) as p30,
             bool_or(event_name = 'login' and occurred_at > :T7) as l7
      from events where occurred_at > :T90 and occurred_at <= :T
      group by customer_id) a on a.customer_id = c.id
    where c.created_at <= :T and (a.customer_id is null or a.p30 >= 3 or a.l7)`,
  // The complement: everyone minus the active-in-90d who are neither frequent buyers nor recent visitors.
  'anti-join-complement': `
    select count(*) from customers c
    where c.created_at <= :T and not exists (
      select 1 from (
        select customer_id from events where occurred_at > :T90 and occurred_at <= :T
        group by customer_id
        having count(*) filter (where event_name = 'purchase' and occurred_at > :T30) < 3
           and not bool_or(event_name = 'login' and occurred_at > :T7)) q
      where q.customer_id = c.id)`,
  // Three correlated probes per customer.
  'probe-exists': `
    select count(*) from customers c
    where c.created_at <= :T and (
      exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at > :T30 and e.occurred_at <= :T offset 2)
      or exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'login' and e.occurred_at > :T7 and e.occurred_at <= :T)
      or not exists (select 1 from events e where e.customer_id = c.id and e.occurred_at > :T90 and e.occurred_at <= :T))`,
};

const LIFECYCLE_HAND: Record<string, string> = {
  // One grouped scan of the 90-day window keeping each customer's last event time.
  'grouped-max-left-join': `
    select stage as value, count(*) as count from (
      select case when c.created_at > :T7 then 'new'
                  when a.last is null then 'churned'
                  when a.last <= :T30 then 'dormant'
                  else 'active' end as stage
      from customers c
      left join (select customer_id, max(occurred_at) as last from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a
        on a.customer_id = c.id
      where c.created_at <= :T) s
    group by stage order by stage`,
  // Per customer, one index-only probe for the last event time in the window.
  'lateral-max-probe': `
    select stage as value, count(*) as count from (
      select case when c.created_at > :T7 then 'new'
                  when a.last is null then 'churned'
                  when a.last <= :T30 then 'dormant'
                  else 'active' end as stage
      from customers c
      cross join lateral (select max(e.occurred_at) as last from events e where e.customer_id = c.id and e.occurred_at > :T90 and e.occurred_at <= :T) a
      where c.created_at <= :T) s
    group by stage order by stage`,
  // Per customer, NOT EXISTS probes in stage order (the literal translation).
  'probe-exists': `
    select stage as value, count(*) as count from (
      select case when c.created_at > :T7 then 'new'
                  when not exists (select 1 from events e where e.customer_id = c.id and e.occurred_at > :T90 and e.occurred_at <= :T) then 'churned'
                  when not exists (select 1 from events e where e.customer_id = c.id and e.occurred_at > :T30 and e.occurred_at <= :T) then 'dormant'
                  else 'active' end as stage
      from customers c
      where c.created_at <= :T) s
    group by stage order by stage`,
};

// ---- building the cases --------------------------------------------------------------------------

const countAnswer = (rows: Record<string, unknown>[]): Answer => String(Number(rows[0]?.count ?? NaN));
const distributionAnswer = (rows: Record<string, unknown>[]): Answer =>
  JSON.stringify(Object.fromEntries(rows.map((r) => [String(r.value), Number(r.count)]).sort((a, b) => String(a[0]).localeCompare(String(b[0])))));

export function buildCases(asOf: Date): Case[] {
  const { analysis } = loadBenchProject();
  const engine = (id: string, compile: (s: EngineStrategy) => { sql: string; parameters: readonly unknown[]; strategy?: string }): Variant[] =>
    (['auto', 'probe', 'pass'] as const).map((s) => {
      const q = compile(s);
      return { id: `engine-${s}`, label: s === 'auto' ? `engine auto [${q.strategy}]` : `engine ${s} (forced)`, kind: 'engine' as const, sql: q.sql, params: [...q.parameters], strategy: q.strategy };
    });
  const hand = (shapes: Record<string, string>): Variant[] =>
    Object.entries(shapes).map(([name, text]) => {
      const b = bind(text, asOf);
      return { id: `hand:${name}`, label: `hand: ${name}`, kind: 'hand' as const, sql: b.sql, params: b.params };
    });
  return [
    {
      key: 'a',
      short: '(a) selective segment',
      title: '(a) selective: country in (AT,CH) and 2+ purchases/90d and 200+ spent/365d and no login/14d',
      answer: countAnswer,
      variants: [...hand(SELECTIVE_HAND), ...engine('a', (s) => engineMemberCount(analysis, 'bench_selective', asOf, s))],
    },
    {
      key: 'b',
      short: '(b) population-wide segment',
      title: '(b) population-wide: 3+ purchases/30d or a login/7d or no activity/90d',
      answer: countAnswer,
      variants: [...hand(POPULATION_HAND), ...engine('b', (s) => engineMemberCount(analysis, 'bench_population', asOf, s))],
    },
    {
      key: 'c',
      short: '(c) lifecycle stage distribution',
      title: '(c) lifecycle customer_lifecycle: stage distribution',
      answer: distributionAnswer,
      variants: [...hand(LIFECYCLE_HAND), ...engine('c', (s) => engineDistribution(analysis, 'customer_lifecycle', asOf, s))],
    },
    ...kpiCases(analysis, asOf, bind),
  ];
}

// ---- running -------------------------------------------------------------------------------------

async function timed(db: BenchPg, v: Variant): Promise<{ ms: number; rows: Record<string, unknown>[] }> {
  const t = now();
  const rows = await db.query(v.sql, v.params);
  return { ms: now() - t, rows };
}

function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string };
  if (err.code === '57014') return 'timeout';
  return err.message ?? String(e);
}

async function setStatementTimeout(db: BenchPg, ms: number): Promise<void> {
  await db.query(`set statement_timeout = ${Math.max(1000, Math.floor(ms))}`);
}

async function runCase(db: BenchPg, c: Case, o: SegmentsOptions): Promise<Measured[]> {
  const ms: Measured[] = c.variants.map((variant) => ({ variant, times: [] }));
  // Variants with the very same SQL (auto = one of the forced strategies) run once, reported twice.
  for (const m of ms) {
    const same = ms.find((x) => x !== m && !x.sameAs && x.variant.sql === m.variant.sql && JSON.stringify(x.variant.params) === JSON.stringify(m.variant.params));
    if (same && ms.indexOf(same) < ms.indexOf(m)) m.sameAs = same;
  }
  const own = ms.filter((m) => !m.sameAs);
  // Warm-up: one run each, which also gives the answers. Hand-written shapes that are hopeless
  // (e.g. an unhashed NOT IN) are cut off at 3x the fastest warm-up so far (at least 10 s): they
  // cannot be the best one. The engine's variants always get the full timeout.
  let fastest = Infinity;
  for (const m of own) {
    const limit = m.variant.kind === 'engine' || !Number.isFinite(fastest) ? o.timeoutMs : Math.min(o.timeoutMs, Math.max(10_000, 3 * fastest));
    await setStatementTimeout(db, limit);
    try {
      const r = await timed(db, m.variant);
      m.warmupMs = r.ms;
      m.answer = c.answer(r.rows);
      fastest = Math.min(fastest, r.ms);
    } catch (e) {
      m.error = errorText(e);
      if (m.error === 'timeout') m.error = `timeout: > ${(limit / 1000).toFixed(0)} s`;
    }
    o.log(`    warm-up ${m.variant.label}: ${m.error ? m.error : `${m.warmupMs!.toFixed(0)} ms -> ${m.answer}`}`);
  }
  await setStatementTimeout(db, o.timeoutMs);
  const live = own.filter((m) => !m.error);
  const slowest = Math.max(...live.map((m) => m.warmupMs ?? 0));
  const reps = o.reps > 0 ? o.reps : slowest < 2000 ? 5 : 3;
  // A variant more than 3x slower than the fastest in its warm-up is measured once more only: its
  // ratio is clear, and repeating it would eat the time budget.
  const wanted = (m: Measured) => (o.reps === 0 && (m.warmupMs ?? 0) > 3 * fastest ? 1 : reps);
  for (let round = 0; round < reps; round++) {
    // Rotate the order each round so no variant always follows the same one.
    for (let i = 0; i < live.length; i++) {
      const m = live[(i + round) % live.length]!;
      if (m.error || m.times.length >= wanted(m)) continue;
      try {
        m.times.push((await timed(db, m.variant)).ms);
      } catch (e) {
        m.error = errorText(e);
      }
    }
  }
  if (o.explain) {
    for (const m of live) {
      try {
        const rows = await db.query<{ 'QUERY PLAN': string }>(`explain (analyze, buffers) ${m.variant.sql}`, m.variant.params);
        m.plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      } catch (e) {
        m.plan = `explain failed: ${errorText(e)}`;
      }
    }
  }
  for (const m of ms) {
    if (!m.sameAs) continue;
    Object.assign(m, { times: m.sameAs.times, answer: m.sameAs.answer, error: m.sameAs.error, warmupMs: m.sameAs.warmupMs, plan: undefined });
  }
  return ms;
}

export async function segmentsSection(o: SegmentsOptions): Promise<Section[]> {
  await ensureDatabase(o.server, o.database);
  const db = await BenchPg.open(databaseUrl(o.server, o.database));
  try {
    o.log(`segments: data set of ${o.customers.toLocaleString('en-US')} customers in ${o.database} ...`);
    const ds: Dataset = await ensureDataset(db, { customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days }, o.log);
    await db.query(`set search_path to "${ds.schema}", public`);
    await setStatementTimeout(db, o.timeoutMs);
    const settings = await db.query<{ name: string; setting: string }>(
      `select name, current_setting(name) as setting from pg_settings where name in ('server_version', 'shared_buffers', 'work_mem', 'max_parallel_workers_per_gather', 'jit', 'effective_cache_size', 'random_page_cost') order by name`,
    );
    const sizes = (await db.query<{ rel: string; size: string }>(
      `select c.relname as rel, pg_size_pretty(pg_total_relation_size(c.oid)) as size from pg_class c join pg_namespace n on n.oid = c.relnamespace where n.nspname = $1 and c.relkind = 'r' order by 1`,
      [ds.schema],
    ));

    // The floor: one count over every event.
    const floorVariant: Variant = { id: 'floor', label: 'floor: select count(*) from events', kind: 'hand', sql: 'select count(*) as count from events', params: [] };
    await timed(db, floorVariant);
    const floorTimes: number[] = [];
    for (let i = 0; i < 3; i++) floorTimes.push((await timed(db, floorVariant)).ms);
    const floor = median(floorTimes);
    o.log(`    floor: count(*) from events: ${floor.toFixed(0)} ms`);

    const cases = buildCases(o.anchor).filter((c) => !o.cases.length || o.cases.includes(c.key));
    const sections: Section[] = [];
    const detail: unknown[] = [];
    const rows: Row[] = [{ figure: 'floor: select count(*) from events', value: floor, unit: 'ms', note: `${ds.eventsLoaded} events` }];
    const notes: string[] = [];
    const readPaths: ReadPath[] = [];
    for (const c of cases) {
      o.log(`  ${c.title}`);
      const ms = await runCase(db, c, o);
      const hands = ms.filter((m) => m.variant.kind === 'hand');
      const reference = hands.find((m) => m.answer !== undefined)?.answer;
      const correct = (m: Measured) => m.answer !== undefined && m.answer === reference;
      const mismatches = ms.filter((m) => m.answer !== undefined && m.answer !== reference);
      const candidates = hands.filter((m) => correct(m) && m.times.length);
      const bestHand = candidates.sort((x, y) => median(x.times) - median(y.times))[0];
      const bestMs = bestHand ? median(bestHand.times) : NaN;
      const bestLabel = bestHand ? bestHand.variant.id.replace(/^hand:/, '') : 'none';
      rows.push({ figure: c.short, value: NaN, unit: '' });
      for (const m of [...ms.filter((m) => m.variant.kind === 'engine'), ...ms.filter((m) => m.variant.kind === 'hand').sort((x, y) => median(x.times) - median(y.times))]) {
        const med = m.times.length ? median(m.times) : NaN;
        const isAuto = m.variant.id === 'engine-auto';
        const wrong = m.answer !== undefined && m.answer !== reference;
        rows.push({
          figure: `  ${c.key}: ${m.variant.label}${m.sameAs ? ` = ${m.sameAs.variant.id.replace(/^engine-/, '')}` : ''}${wrong ? '  !! WRONG ANSWER' : ''}${m.error ? `  (${m.error})` : ''}`,
          value: med,
          unit: 'ms',
          reference: m === bestHand ? undefined : { label: `best hand: ${bestLabel}`, value: bestMs },
          ratio: m === bestHand ? 1 : med / bestMs,
          ...(isAuto ? { target: `<= ${AUTO_TARGET}x best hand`, met: !wrong && !m.error && med / bestMs <= AUTO_TARGET } : {}),
        });
      }
      const auto = ms.find((m) => m.variant.id === 'engine-auto');
      if (auto) readPaths.push({ path: `${c.key === 'c' ? 'lifecycle distribution ' : c.key.startsWith('kpi:') ? '' : 'segment count '}${c.short}`, engineMs: auto.times.length ? median(auto.times) : NaN, handMs: bestMs, hand: bestLabel, floorMs: floor, wrong: auto.answer !== undefined && auto.answer !== reference });
      const answerText = reference ?? '?';
      notes.push(`${c.title}: answer ${answerText}${c.key === 'a' || c.key === 'b' ? ` members (${((Number(answerText) / ds.customersLoaded) * 100).toFixed(2)}% of customers)` : ''}; auto/floor ${auto?.times.length ? (median(auto.times) / floor).toFixed(2) : '-'}x; best hand/floor ${(bestMs / floor).toFixed(2)}x`);
      if (mismatches.length) {
        const text = `!! MISMATCH in ${c.key}: ${mismatches.map((m) => `${m.variant.label} returned ${m.answer}`).join('; ')} (expected ${reference}, from ${hands.find((m) => m.answer !== undefined)?.variant.label})`;
        notes.push(text);
        o.log(`  ${text}`);
      }
      for (const m of ms) if (m.error) notes.push(`${c.key}: ${m.variant.label} failed: ${m.error}`);
      if (o.explain) for (const m of ms) if (m.plan) notes.push(`--- plan ${c.key} ${m.variant.label} (${m.times.length ? median(m.times).toFixed(0) : '-'} ms)\n${m.plan}`);
      detail.push({
        case: c.key,
        title: c.title,
        answer: reference,
        bestHand: bestLabel,
        bestHandMs: bestMs,
        variants: ms.map((m) => ({ id: m.variant.id, label: m.variant.label, strategy: m.variant.strategy, medianMs: m.times.length ? median(m.times) : null, bestMs: m.times.length ? best(m.times) : null, warmupMs: m.warmupMs ?? null, times: m.times, answer: m.answer ?? null, correct: correct(m), error: m.error ?? null, sql: m.variant.sql, params: m.variant.params, plan: m.plan })),
      });
    }
    notes.unshift(
      `data: ${ds.customersLoaded.toLocaleString('en-US')} customers, ${ds.eventsLoaded.toLocaleString('en-US')} events (${(ds.eventsLoaded / ds.customersLoaded).toFixed(1)}/customer, ${ds.days} days) in ${o.database}.${ds.schema}; ${ds.reused ? `reused (loaded ${ds.loadedAt} in ${ds.loadSeconds.toFixed(0)} s)` : `loaded now in ${ds.loadSeconds.toFixed(0)} s`}; as of ${o.anchor.toISOString()}`,
      `sizes: ${sizes.map((s) => `${s.rel} ${s.size}`).join(', ')}; indexes: ${ds.indexes.map((i) => i.replace(/^CREATE (UNIQUE )?INDEX \w+ ON /, '')).join(', ')}`,
      `server: ${settings.map((s) => `${s.name}=${s.setting.replace(/ \(.*$/, '')}`).join(', ')} (server defaults, same session for every variant)`,
      `times: median of the measured runs after one warm-up; ratio = variant / best hand-written that returned the reference answer.`,
    );
    sections.push({ readPaths, name: 'segments', title: `segments: engine SQL vs hand-written on PostgreSQL (${ds.customersLoaded.toLocaleString('en-US')} customers)`, rows, notes, detail: { dataset: ds, floorMs: floor, floorTimes, settings, cases: detail } });
    return sections;
  } finally {
    await db.close();
  }
}
