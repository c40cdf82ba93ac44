// Section "readpaths": every segment/trait/score/lifecycle read path a user runs, through the
// engine's own code (preview(), checkKpis, takeLifecycleSnapshot, refreshTables, deploy), against
// the best hand-written SQL for the same answer, beside the floor (one count(*) of the events
// table), on the shared bench data set (1M customers, ~28M events). Its rows go into the one
// read-path table `npm run bench` prints (bench/lib/report.ts renderReadPaths); the plan section
// adds its plan rows, and a KPI or campaign section adds its own the same way.
//
// Writes (refresh, the materialized deploy, snapshot) happen in schemas of this run's own
// (tally_bench_rp_<pid>...), dropped at the end; the data set is never touched.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, type Analysis } from '../engine/src/index.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { checkKpis } from '../engine/src/kpi/check.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { deploy, refreshTables } from '../engine/src/deploy/deploy.js';
import { preview } from '../engine/src/preview/preview.js';
import { takeLifecycleSnapshot } from '../engine/src/deploy/snapshot.js';
import { SHOP_DIR } from './lib/bench-project.js';
import { ensureDataset, type DataSectionOptions } from './lib/dataset.js';
import { BenchPg, bind, databaseUrl, engineUrl, ensureDatabase } from './lib/pg.js';
import { median, now, type ReadPath, type Row, type Section } from './lib/report.js';

const DAY = 86_400_000;

/** The case keys (`--cases`). */
export const READ_PATH_CASES = ['preview-segment', 'preview-trait', 'preview-trait-dedupe', 'preview-score', 'preview-score-quantiles', 'preview-lifecycle', 'preview-cohort', 'preview-funnel', 'check', 'preview-kpi-breakdown', 'snapshot', 'refresh', 'deploy'];

/** `reps`: measured rounds after the warm-up; 0: 2. */
export interface ReadPathOptions extends DataSectionOptions {
  /** Only these cases (keys below); empty: all. */
  cases: string[];
}

type Rows = Record<string, unknown>[];


// ---- hand-written SQL ----------------------------------------------------------------------------

const EXISTS = `(c.created_at <= :T or c.created_at is null)`;

/** winback_audience: pro/business, not QA, and at risk, hibernating or dormant (see segments.yaml). */
const winbackWhere = (p: string) => `${EXISTS} and c.plan in ('pro', 'business') and (starts_with(c.email, 'qa+')) is not true
  and ((${p}.ltv >= 150 and ${p}.last_p >= :T120 and ${p}.last_p <= :T45)
    or ${p}.last_p < :T120
    or ((c.created_at > :T7) is not true and ${p}.last_any is not null and ${p}.last_any <= :T30))`;
const WINBACK_PASS = (restrict: string) => `(select customer_id,
    sum((properties ->> 'amount')::numeric) filter (where event_name = 'purchase') as ltv,
    max(occurred_at) filter (where event_name = 'purchase') as last_p,
    max(occurred_at) filter (where occurred_at > :T90) as last_any
  from events where occurred_at <= :T ${restrict} group by customer_id)`;
const WINBACK_MEMBERS: Record<string, string> = {
  'one-scan': `select c.id from customers c left join ${WINBACK_PASS('')} p on p.customer_id = c.id where ${winbackWhere('p')}`,
  'one-scan-candidates': `select c.id from customers c left join ${WINBACK_PASS(`and customer_id in (select id from customers c where ${EXISTS} and c.plan in ('pro', 'business'))`)} p on p.customer_id = c.id where ${winbackWhere('p')}`,
  'two-scans': `select c.id from customers c
    left join (select customer_id, sum((properties ->> 'amount')::numeric) as ltv, max(occurred_at) as last_p from events where event_name = 'purchase' and occurred_at <= :T group by customer_id) q on q.customer_id = c.id
    left join (select customer_id, max(occurred_at) as last_any from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
    cross join lateral (select q.ltv, q.last_p, a.last_any) p
    where ${winbackWhere('p')}`,
};

const DAYS_SINCE_PURCHASE = `select c.id as key, extract(epoch from (:T - p.last)) / 86400.0 as value from customers c
  left join (select customer_id, max(occurred_at) as last from events where event_name = 'purchase' and occurred_at <= :T group by customer_id) p on p.customer_id = c.id
  where ${EXISTS}`;

/**
 * days_since_last_purchase over the events read with `dedupe_on: [id]`: the first row (by time) of
 * each id. `id` is the events' serial key, so no group has two rows, but neither the engine nor a
 * careful hand knows that: both pay for the sort that finds the groups.
 */
const DEDUPED = (body: string) => `select c.id as key, extract(epoch from (:T - p.last)) / 86400.0 as value from customers c
  left join (select customer_id, max(occurred_at) as last from (${body}) d where event_name = 'purchase' group by customer_id) p on p.customer_id = c.id
  where ${EXISTS}`;
const DAYS_SINCE_PURCHASE_DEDUPED: Record<string, string> = {
  'distinct-on': DEDUPED(`select distinct on (id) * from events where occurred_at <= :T order by id, occurred_at`),
  'row-number': DEDUPED(`select * from (select events.*, row_number() over (partition by id order by occurred_at) as rn from events where occurred_at <= :T) x where rn = 1 or id is null`),
};

const HEALTH = `select c.id as key,
    30 * least(greatest(coalesce(a.s30, 0)::float8 / 6, 0), 1)
  + 30 * coalesce(least(greatest(((extract(epoch from (:T - a.ll)) / 86400.0) - 60)::float8 / -60, 0), 1), 0)
  + 25 * least(greatest(coalesce(a.p90, 0)::float8 / 3, 0), 1)
  + 15 * coalesce(least(greatest(((extract(epoch from (:T - a.lp)) / 86400.0) - 120)::float8 / -120, 0), 1), 0) as value
  from customers c left join (select customer_id,
      count(*) filter (where event_name = 'login' and occurred_at > :T30) as s30,
      max(occurred_at) filter (where event_name = 'login') as ll,
      count(*) filter (where event_name = 'purchase' and occurred_at > :T90) as p90,
      max(occurred_at) filter (where event_name = 'purchase') as lp
    from events where event_name in ('login', 'purchase') and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
  where ${EXISTS}`;

/** Score rfm (rfm.yaml): recency, frequency, monetary from one grouped scan of the purchases. */
const RFM = `select c.id as key,
    (100.0 / 3) * coalesce(least(greatest(((extract(epoch from (:T - a.lp)) / 86400.0) - 365)::float8 / -365, 0), 1), 0)
  + (100.0 / 3) * least(greatest(coalesce(a.n, 0)::float8 / 10, 0), 1)
  + (100.0 / 3) * coalesce(least(greatest(a.ltv::float8 / 1000, 0), 1), 0) as value
  from customers c left join (select customer_id, max(occurred_at) as lp, count(*) as n, sum((properties ->> 'amount')::numeric) as ltv
    from events where event_name = 'purchase' and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
  where ${EXISTS}`;
/** Its quintile bands by the documented rule (rank of the value rounded to 9 decimals). */
const RFM_BANDS = `select b, count(*) as n from (select 1 + (5 * (rank() over (order by round(value::numeric, 9)) - 1)) / count(*) over () as b from v where value is not null) r group by b`;

const STAGE = `case when c.created_at > :T7 then 'new' when a.last is null then 'churned' when a.last <= :T30 then 'dormant' else 'active' end`;
const STAGES_GROUPED = `select c.id as key, ${STAGE} as stage from customers c
  left join (select customer_id, max(occurred_at) as last from events where occurred_at > :T90 and occurred_at <= :T group by customer_id) a on a.customer_id = c.id
  where ${EXISTS}`;
const STAGES_LATERAL = `select c.id as key, ${STAGE} as stage from customers c
  cross join lateral (select max(e.occurred_at) as last from events e where e.customer_id = c.id and e.occurred_at > :T90 and e.occurred_at <= :T) a
  where ${EXISTS}`;

const CHAMPIONS_COUNT = `select count(*)::float8 as value from customers c join (
    select customer_id from events where event_name = 'purchase' and occurred_at <= :T group by customer_id
    having max(occurred_at) >= :T30 and count(*) filter (where occurred_at > :T90) >= 3 and sum((properties ->> 'amount')::numeric) >= 300) p on p.customer_id = c.id
  where ${EXISTS}`;

/**
 * weekly_signup_retention (cohorts.yaml): 12 ISO weeks of signups (UTC), returned by login in each of 12 weeks after.
 * `oneScan`: the logins of the cohorts' weeks read in one scan (fenced), hash-joined to the cohort;
 * otherwise the planner may probe the (customer, type, time) index once per cohort member.
 */
const COHORT_WEEKS = (oneScan: boolean) => `with co as (select c.id as k, c.created_at as c, date_trunc('week', c.created_at at time zone 'UTC') at time zone 'UTC' as p from customers c
    where c.created_at >= (date_trunc('week', :T at time zone 'UTC') - interval '11 weeks') at time zone 'UTC' and c.created_at <= :T),
  h as (select distinct co.k, ceil(extract(epoch from (e.occurred_at - co.c)) / 604800.0)::int as w from co join ${
    oneScan
      ? `(select customer_id, occurred_at from events where event_name = 'login' and occurred_at > (date_trunc('week', :T at time zone 'UTC') - interval '11 weeks') at time zone 'UTC' and occurred_at <= :T offset 0) e on e.customer_id = co.k
    where e.occurred_at > co.c and e.occurred_at <= co.c + interval '84 days')`
      : `events e on e.customer_id = co.k
    where e.event_name = 'login' and e.occurred_at > co.c and e.occurred_at <= co.c + interval '84 days' and e.occurred_at <= :T)`
  }
  select co.p as start, count(distinct co.k) as size, ${Array.from({ length: 12 }, (_, i) => `count(h.k) filter (where h.w = ${i + 1}) as n${i + 1}`).join(', ')}
  from co left join h on h.k = co.k group by co.p order by co.p`;

function cohortAnswer(rows: { start: unknown; size: unknown; returned: unknown[] }[]): string {
  return JSON.stringify(rows.filter((r) => Number(r.size) > 0).map((r) => [new Date(String(r.start instanceof Date ? r.start.toISOString() : r.start)).toISOString(), Number(r.size), ...r.returned.map(Number)]));
}

// ---- answers -------------------------------------------------------------------------------------

const r6 = (v: unknown) => (v === null || v === undefined ? null : Math.round(Number(v) * 1e6) / 1e6);

function segmentAnswer(count: unknown, ids: unknown[]): string {
  return JSON.stringify({ count: Number(count), sample: ids.map(Number) });
}
function valuesAnswer(entities: unknown, count: unknown, sample: { key: unknown; value: unknown }[], bands?: Record<string, unknown>): string {
  return JSON.stringify({ entities: Number(entities), count: Number(count), sample: sample.map((s) => [Number(s.key), r6(s.value)]), ...(bands ? { bands: Object.fromEntries(Object.entries(bands).map(([k, v]) => [k, Number(v)]).sort()) } : {}) });
}
/** A snapshot: its day, the stage counts (non-zero) and how many stage changes it appended. */
function snapshotAnswer(day: string, stages: Record<string, unknown>, changed: unknown): string {
  return JSON.stringify({ day, stages: JSON.parse(distAnswer(stages)) as unknown, changed: Number(changed) });
}
function distAnswer(d: Record<string, unknown>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(d).map(([k, v]) => [k, Number(v)]).filter(([, v]) => v !== 0).sort()));
}

// ---- cases ---------------------------------------------------------------------------------------

interface Variant {
  id: string;
  /** Runs once; returns the answer. */
  run: () => Promise<string>;
  /**
   * Reads the events by an index probe per entity (a nested loop the planner may choose), which the
   * engine never does by design (no path degrades into a per-entity loop): shown in the row's note,
   * not taken as the reference, which is the best one-scan hand-written SQL.
   */
  probes?: boolean;
}

interface Case {
  key: string;
  path: string;
  engine: Variant;
  hands: Variant[];
  note?: string;
  /** Whether a hand-written answer agrees with the engine's (default: equal). */
  agree?: (engine: string, hand: string) => boolean;
}

/**
 * Deploy and refresh evaluate at now(), and the windows slide through the data between two runs
 * seconds apart (a purchase crosses T - 45d): member counts agree within a few in 10^5.
 */
const nearCount = (a: string, b: string) => Math.abs(Number(a) - Number(b)) <= Math.max(2, Number(a) * 1e-4);

/** A hand-written variant: statements run in one transaction (read-only unless `write`), answer from their rows. */
/** revenue_by_country (kpis.yaml): 30-day purchase revenue per country, top 5 by customers, (other), (null). */
const REVENUE_BY_COUNTRY = (perCustomerFirst: boolean) => `with c as materialized (select id, country from customers c where ${EXISTS}),
  per as (${
    perCustomerFirst
      ? `select c.country, count(*) as n, coalesce(sum(s.v), 0) as v from c left join (select customer_id, sum((properties ->> 'amount')::numeric) as v from events
           where event_name = 'purchase' and occurred_at <= :T and occurred_at > :T30 group by customer_id) s on s.customer_id = c.id group by c.country`
      : `select z.country, z.n, coalesce(s.v, 0) as v from (select country, count(*) as n from c group by country) z left join (select c.country, sum((e.properties ->> 'amount')::numeric) as v
           from events e join c on c.id = e.customer_id where e.event_name = 'purchase' and e.occurred_at <= :T and e.occurred_at > :T30 group by c.country) s on s.country is not distinct from z.country`
  }),
  rk as (select country, n, v, row_number() over (order by n desc, country) as r from per where country is not null)
select country as label, n, v from rk where r <= 5
union all select '(other)', sum(n), sum(v) from rk where r > 5 having count(*) > 0
union all select '(null)', n, v from per where country is null`;

/** A breakdown's groups as one comparable string: label, size and value (cents), in label order. */
function groupsAnswer(groups: { group: unknown; size: unknown; value: unknown }[]): string {
  return groups
    .map((g) => `${String(g.group)}:${Number(g.size)}:${g.value === null ? 'null' : Math.round(Number(g.value) * 100)}`)
    .sort()
    .join(' ');
}

function hand(db: Db, id: string, asOf: () => Date, texts: string[], answer: (rows: Rows[]) => string, opts: { write?: boolean; timeoutMs: number }): Variant {
  return {
    id,
    run: () =>
      db.transaction(
        async (tx) => {
          const out: Rows[] = [];
          for (const t of texts) {
            const b = bind(t, asOf());
            out.push((await tx.query<Record<string, unknown>>(b.sql, b.params)).rows);
          }
          return answer(out);
        },
        { readOnly: !opts.write, timeoutMs: opts.timeoutMs },
      ),
  };
}

/**
 * The onboarding funnel (funnels.yaml: signup -> login 7d -> purchase 30d -> purchase 60d, entrants
 * in 90 days), by hand: per step counts and median hours from the previous step.
 */
const FUNNEL_STEPS: [string, number][] = [['login', 7], ['purchase', 30], ['purchase', 60]];
const FUNNEL_F0 = `select g.k, g.t from (select customer_id as k, min(occurred_at) as t from events where event_name = 'signup' and occurred_at <= :T group by customer_id having min(occurred_at) > :T90) g
  join customers c on c.id = g.k where ${EXISTS}`;
const funnelSelect = (n: number) =>
  `select ${Array.from({ length: n + 1 }, (_x, i) => (i === 0 ? '(select count(*) from f0) as n0' : `(select count(*) from f${i}) as n${i}, (select percentile_cont(0.5) within group (order by extract(epoch from (t - p)) / 3600.0) from f${i}) as m${i}`)).join(', ')}`;
const FUNNEL_HAND: Record<string, string> = {
  // The same set-based shape: one scan per step, hash-joined to the previous step's keys.
  'hash-joins': `with f0 as materialized (${FUNNEL_F0})${FUNNEL_STEPS.map(([type, days], i) => `, f${i + 1} as materialized (select p.k, p.t as p, min(e.occurred_at) as t from f${i} p join (select customer_id, occurred_at from events where event_name = '${type}' and occurred_at <= :T and occurred_at > :T90 offset 0) e on e.customer_id = p.k and e.occurred_at > p.t and e.occurred_at <= p.t + interval '${days} days' group by p.k, p.t)`).join('')} ${funnelSelect(3)}`,
  // One scan per event type (the two purchase steps share theirs), hash-joined to the previous step's keys.
  'hash-joins/scan-per-type': `with ${[...new Set(FUNNEL_STEPS.map(([type]) => type))].map((type) => `e_${type} as materialized (select customer_id, occurred_at from events where event_name = '${type}' and occurred_at <= :T and occurred_at > :T90), `).join('')}f0 as materialized (${FUNNEL_F0})${FUNNEL_STEPS.map(([type, days], i) => `, f${i + 1} as materialized (select p.k, p.t as p, min(e.occurred_at) as t from f${i} p join e_${type} e on e.customer_id = p.k and e.occurred_at > p.t and e.occurred_at <= p.t + interval '${days} days' group by p.k, p.t)`).join('')} ${funnelSelect(3)}`,
  // Per entrant, one index probe per step (what the planner picks when left alone).
  'index-joins': `with f0 as materialized (${FUNNEL_F0})${FUNNEL_STEPS.map(([type, days], i) => `, f${i + 1} as materialized (select p.k, p.t as p, min(e.occurred_at) as t from f${i} p join events e on e.customer_id = p.k and e.event_name = '${type}' and e.occurred_at > p.t and e.occurred_at <= p.t + interval '${days} days' and e.occurred_at <= :T group by p.k, p.t)`).join('')} ${funnelSelect(3)}`,
  // Per entrant, one lateral probe per step.
  lateral: `with f0 as materialized (${FUNNEL_F0}), s as materialized (select f0.k, f0.t as t0, s1.t1, s2.t2, s3.t3 from f0
    left join lateral (select min(occurred_at) as t1 from events e where e.customer_id = f0.k and e.event_name = 'login' and e.occurred_at > f0.t and e.occurred_at <= least(:T, f0.t + interval '7 days')) s1 on true
    left join lateral (select min(occurred_at) as t2 from events e where e.customer_id = f0.k and e.event_name = 'purchase' and e.occurred_at > s1.t1 and e.occurred_at <= least(:T, s1.t1 + interval '30 days')) s2 on true
    left join lateral (select min(occurred_at) as t3 from events e where e.customer_id = f0.k and e.event_name = 'purchase' and e.occurred_at > s2.t2 and e.occurred_at <= least(:T, s2.t2 + interval '60 days')) s3 on true),
    f1 as (select t0 as p, t1 as t from s where t1 is not null), f2 as (select t1 as p, t2 as t from s where t2 is not null), f3 as (select t2 as p, t3 as t from s where t3 is not null)
    ${funnelSelect(3)}`,
};
const funnelAnswer = (row: Record<string, unknown>) => JSON.stringify([0, 1, 2, 3].map((i) => [Number(row[`n${i}`]), i === 0 ? null : r6(row[`m${i}`])]));

function shopFile(file: string): string {
  return readFileSync(join(SHOP_DIR, file), 'utf8');
}

/** The shop project (KPIs: only champions_count; no campaigns) deploying into `schema`, winback_audience as a table. */
function benchProject(schema: string): Project {
  const tallyYaml = shopFile('tally.yaml').replace(/^deploy:\n  schema: tally$/m, `deploy:\n  schema: ${schema}`);
  if (!tallyYaml.includes(`schema: ${schema}`)) throw new Error('read-path bench: the example tally.yaml no longer has deploy.schema: tally');
  const p = new Project(SHOP_DIR, tallyYaml);
  for (const f of ['definitions/model.yaml', 'definitions/profile.yaml', 'definitions/lifecycle.yaml', 'definitions/cohorts.yaml']) p.setFile(f, shopFile(f));
  const segments = shopFile('definitions/segments.yaml').replace('name: winback_audience\nversion: 1\n', 'name: winback_audience\nversion: 1\nmaterialize: table\n');
  if (!segments.includes('materialize: table')) throw new Error('read-path bench: winback_audience not found in segments.yaml');
  p.setFile('definitions/segments.yaml', segments);
  const kpi = shopFile('definitions/kpis.yaml').split(/^---$/m).find((d) => /^name: champions_count$/m.test(d));
  if (!kpi) throw new Error('read-path bench: champions_count not found in kpis.yaml');
  p.setFile('definitions/kpis.yaml', kpi.trim() + '\n');
  const funnel = shopFile('definitions/funnels.yaml').split(/^---$/m).find((d) => /^kind: Funnel$/m.test(d) && /^name: onboarding$/m.test(d));
  if (!funnel) throw new Error('read-path bench: the onboarding funnel not found in funnels.yaml');
  p.setFile('definitions/funnels.yaml', funnel.trim() + '\n');
  return p;
}

/** The bench project with the events read through `dedupe_on: [id]` (the read-path row for de-duplication). */
function dedupeProject(schema: string): Project {
  const p = benchProject(schema);
  const model = shopFile('definitions/model.yaml');
  const withDedupe = model.replace(/^(properties: properties\n)/m, '$1dedupe_on: [id]\n');
  if (withDedupe === model) throw new Error('read-path bench: the events mapping no longer has `properties: properties`');
  p.setFile('definitions/model.yaml', withDedupe);
  return p;
}

function analyse(p: Project, catalog: Catalog | undefined, asOf: Date): Analysis {
  const a = p.analyze({ catalog, now: asOf });
  const errors = a.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`the read-path bench project has errors: ${errors.map((d) => `${d.file}:${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
  return a;
}

function errorText(e: unknown): string {
  const err = e as { code?: string; message?: string };
  return err.code === 'db-timeout' ? 'timeout' : (err.message ?? String(e));
}

export async function readPathsSection(o: ReadPathOptions): Promise<Section> {
  await ensureDatabase(o.server, o.database);
  const admin = await BenchPg.open(databaseUrl(o.server, o.database));
  const schema = `tally_bench_rp_${process.pid}`;
  const schemas: string[] = [schema];
  let db: Db | undefined;
  try {
    const ds = await ensureDataset(admin, { customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days }, o.log);
    if (!/^[a-z0-9_]+$/.test(ds.schema)) throw new Error(`unexpected data set schema name ${ds.schema}`);
    db = await connect(engineUrl(o.server, o.database, ds.schema), { baseDir: SHOP_DIR, timezone: 'UTC' });
    const T = o.anchor;
    const t = () => T;
    const wall = () => new Date();
    const project = benchProject(schema);
    const catalog = await loadCatalog(db, analyse(project, undefined, T).definitions);
    const analysis = analyse(project, catalog, T);
    const dedupeAnalysis = analyse(dedupeProject(schema), catalog, T);
    // The RFM quintiles (rfm.yaml) only for their preview row, so deploy and refresh keep their workload.
    const rfmProject = benchProject(schema);
    rfmProject.setFile('definitions/rfm.yaml', shopFile('definitions/rfm.yaml'));
    const rfmAnalysis = analyse(rfmProject, catalog, T);
    const timeoutMs = o.timeoutMs;

    // The floor.
    await admin.query(`set search_path to "${ds.schema}", public`);
    await admin.query('select count(*) from events');
    const floorTimes: number[] = [];
    for (let i = 0; i < 3; i++) {
      const s = now();
      await admin.query('select count(*) from events');
      floorTimes.push(now() - s);
    }
    const floorMs = median(floorTimes);
    o.log(`  readpaths: floor ${floorMs.toFixed(0)} ms`);

    // The deployed project refresh and snapshot work on (deploy's own snapshot included).
    o.log(`  deploying the bench project into ${schema} ...`);
    const d0 = await deploy(db, analysis, { schema, who: 'tally bench', catalog });
    if (!d0.deployed) throw new Error(`read-path bench: the deploy did not deploy (${d0.diagnostics.map((x) => x.message).join('; ')})`);

    const ro = { timeoutMs };
    const segPreview = (rows: Rows[]) => segmentAnswer(rows[0]![0]?.n ?? 0, rows[0]!.map((r) => r.id).filter((x) => x !== null && x !== undefined));
    const winback = (name: string) => WINBACK_MEMBERS[name]!;
    let deploys = 0;
    let snapshotDay = 0;
    let handSnapshotDay = 0;
    // The hand-written snapshot's own state tables, seeded with what the deploy recorded (so both sides append the same changes).
    await admin.query(`create table ${schema}.hand_snapshots (day date not null, stage text, entities bigint not null, taken_at timestamptz not null default transaction_timestamp())`);
    await admin.query(`create table ${schema}.hand_stage_changes (key text not null, stage text, since date not null, taken_at timestamptz not null default transaction_timestamp())`);
    await admin.query(`create index on ${schema}.hand_stage_changes (key, since)`);
    await admin.query(`insert into ${schema}.hand_stage_changes (key, stage, since, taken_at) select key, stage, since, taken_at from ${schema}.lifecycle_stage_changes where lifecycle = 'customer_lifecycle'`);
    // The breakdown case reads its own analysis (the bench project plus revenue_by_country), so the
    // other cases (check runs every KPI of the project) are measured as before.
    const bdProject = benchProject(schema);
    const bdDoc = shopFile('definitions/kpis.yaml').split(/^---$/m).find((d) => /^name: revenue_by_country$/m.test(d));
    if (!bdDoc) throw new Error('read-path bench: revenue_by_country not found in kpis.yaml');
    bdProject.setFile('definitions/breakdowns.yaml', bdDoc.trim() + '\n');
    const bdAnalysis = analyse(bdProject, catalog, T);
    const cases: Case[] = [
      {
        key: 'preview-cohort',
        path: 'preview cohort weekly_signup_retention (12 weeks x W1-W12)',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'cohort', 'weekly_signup_retention', { asOf: T, timeoutMs });
            if (p.kind !== 'cohort') throw new Error('not a cohort preview');
            return cohortAnswer(p.cohorts.map((c) => ({ start: c.start, size: c.size, returned: c.cells.map((x) => x.returned) })));
          },
        },
        hands: [true, false].map((oneScan) => ({
          ...hand(db!, oneScan ? 'distinct-week-offsets/one-scan' : 'distinct-week-offsets/index-probes', t, [COHORT_WEEKS(oneScan)], (rows) => cohortAnswer(rows[0]!.map((r) => ({ start: r.start, size: r.size, returned: Array.from({ length: 12 }, (_, i) => r[`n${i + 1}`]) }))), ro),
          probes: !oneScan,
        })),
      },
      {
        key: 'preview-segment',
        path: 'preview segment winback_audience (count + 10)',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'segment', 'winback_audience', { asOf: T, timeoutMs });
            if (p.kind !== 'segment') throw new Error('not a segment preview');
            return segmentAnswer(p.count, p.sample.map((r) => r.id));
          },
        },
        hands: [
          ...['one-scan', 'one-scan-candidates'].map((m) =>
            hand(db!, `cte-keys/${m}`, t, [`with m as materialized (${winback(m)}) select t.n, c.* from (select count(*) as n from m) t left join (select id from m order by id limit 10) s on true left join customers c on c.id = s.id order by s.id`], segPreview, ro),
          ),
          hand(db!, 'window/one-scan', t, [`select s.n, c.* from (select id, count(*) over () as n from (${winback('one-scan')}) m order by id limit 10) s join customers c on c.id = s.id order by c.id`], segPreview, ro),
          hand(db!, 'count-then-sample/one-scan', t, [`select count(*) as n from (${winback('one-scan')}) m`, `select c.* from customers c where c.id in (select id from (${winback('one-scan')}) m) order by c.id limit 10`], (rows) => segmentAnswer(rows[0]![0]!.n, rows[1]!.map((r) => r.id)), ro),
        ],
      },
      {
        key: 'preview-trait',
        path: 'preview trait days_since_last_purchase',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'trait', 'days_since_last_purchase', { asOf: T, timeoutMs });
            if (p.kind !== 'trait') throw new Error('not a trait preview');
            return valuesAnswer(p.entities, p.count, p.sample);
          },
        },
        hands: [
          hand(db!, 'cte', t, [`with v as materialized (${DAYS_SINCE_PURCHASE}) select t.entities, t.count, s.key, s.value from (select count(*) as entities, count(value) as count from v) t left join (select key, value from v where value is not null order by key limit 10) s on true order by s.key`], (rows) => valuesAnswer(rows[0]![0]!.entities, rows[0]![0]!.count, rows[0]!.filter((r) => r.key !== null) as { key: unknown; value: unknown }[]), ro),
          hand(db!, 'stats-then-sample', t, [`select count(*) as entities, count(value) as count from (${DAYS_SINCE_PURCHASE}) v`, `select key, value from (${DAYS_SINCE_PURCHASE}) v where value is not null order by key limit 10`], (rows) => valuesAnswer(rows[0]![0]!.entities, rows[0]![0]!.count, rows[1] as { key: unknown; value: unknown }[]), ro),
        ],
      },
      {
        key: 'preview-trait-dedupe',
        path: 'preview trait days_since_last_purchase, events with dedupe_on: [id]',
        note: 'every id is unique in the bench data; both sides sort the events to find the groups',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, dedupeAnalysis, 'trait', 'days_since_last_purchase', { asOf: T, timeoutMs });
            if (p.kind !== 'trait') throw new Error('not a trait preview');
            return valuesAnswer(p.entities, p.count, p.sample);
          },
        },
        hands: Object.entries(DAYS_SINCE_PURCHASE_DEDUPED).map(([id, body]) =>
          hand(db!, `cte/${id}`, t, [`with v as materialized (${body}) select t.entities, t.count, s.key, s.value from (select count(*) as entities, count(value) as count from v) t left join (select key, value from v where value is not null order by key limit 10) s on true order by s.key`], (rows) => valuesAnswer(rows[0]![0]!.entities, rows[0]![0]!.count, rows[0]!.filter((r) => r.key !== null) as { key: unknown; value: unknown }[]), ro),
        ),
      },
      {
        key: 'preview-score',
        path: 'preview score health (+ bands)',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'score', 'health', { asOf: T, timeoutMs });
            if (p.kind !== 'score') throw new Error('not a score preview');
            return valuesAnswer(p.entities, p.count, p.sample, p.bands ?? {});
          },
        },
        hands: [
          hand(
            db!,
            'cte',
            t,
            [`with v as materialized (${HEALTH}) select t.*, s.key, s.value from (select count(*) as entities, count(value) as count, count(*) filter (where value >= 60) as healthy, count(*) filter (where value >= 30 and value < 60) as neutral, count(*) filter (where value < 30) as at_risk from v) t left join (select key, value from v where value is not null order by key limit 10) s on true order by s.key`],
            (rows) => {
              const r = rows[0]![0]!;
              return valuesAnswer(r.entities, r.count, rows[0]!.filter((x) => x.key !== null) as { key: unknown; value: unknown }[], { healthy: r.healthy, neutral: r.neutral, at_risk: r.at_risk });
            },
            ro,
          ),
        ],
      },
      {
        key: 'preview-score-quantiles',
        path: 'preview score rfm (+ quintile bands)',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, rfmAnalysis, 'score', 'rfm', { asOf: T, timeoutMs });
            if (p.kind !== 'score') throw new Error('not a score preview');
            return valuesAnswer(p.entities, p.count, p.sample, p.bands ?? {});
          },
        },
        hands: [
          hand(
            db!,
            'cte',
            t,
            [`with v as materialized (${RFM}) select t.*, (select json_object_agg(b, n) from (${RFM_BANDS}) q) as bands, s.key, s.value from (select count(*) as entities, count(value) as count from v) t left join (select key, value from v where value is not null order by key limit 10) s on true order by s.key`],
            (rows) => {
              const r = rows[0]![0]!;
              const raw = (typeof r.bands === 'string' ? JSON.parse(r.bands) : r.bands ?? {}) as Record<string, unknown>;
              const bands = Object.fromEntries([1, 2, 3, 4, 5].map((i) => [`q${i}`, Number(raw[String(i)] ?? 0)]));
              return valuesAnswer(r.entities, r.count, rows[0]!.filter((x) => x.key !== null) as { key: unknown; value: unknown }[], bands);
            },
            ro,
          ),
        ],
      },
      {
        key: 'preview-lifecycle',
        path: 'preview lifecycle customer_lifecycle',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'lifecycle', 'customer_lifecycle', { asOf: T, timeoutMs });
            if (p.kind !== 'lifecycle') throw new Error('not a lifecycle preview');
            return distAnswer(p.stages);
          },
        },
        hands: [
          hand(db!, 'grouped-max', t, [`select stage, count(*) as n from (${STAGES_GROUPED}) s group by stage`], (rows) => distAnswer(Object.fromEntries(rows[0]!.map((r) => [String(r.stage), r.n]))), ro),
          { ...hand(db!, 'lateral-max-probe', t, [`select stage, count(*) as n from (${STAGES_LATERAL}) s group by stage`], (rows) => distAnswer(Object.fromEntries(rows[0]!.map((r) => [String(r.stage), r.n]))), ro), probes: true },
        ],
      },
      {
        key: 'preview-funnel',
        path: 'preview funnel onboarding (4 steps)',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, analysis, 'funnel', 'onboarding', { asOf: T, timeoutMs });
            if (p.kind !== 'funnel') throw new Error('not a funnel preview');
            return funnelAnswer(Object.fromEntries(p.steps.flatMap((st, i) => [[`n${i}`, st.reached], [`m${i}`, st.median_hours_from_previous]])));
          },
        },
        hands: Object.entries(FUNNEL_HAND).map(([id, text]) => ({ ...hand(db!, id, t, [text], (rows) => funnelAnswer(rows[0]![0]!), ro), probes: id === 'index-joins' || id === 'lateral' })),
      },
      {
        key: 'check',
        path: 'check (KPI champions_count: a segment count)',
        engine: {
          id: 'engine',
          run: async () => {
            const r = await checkKpis(db!, analysis, { asOf: T, timeoutMs });
            return String(r.kpis.find((k) => k.name === 'champions_count')?.value ?? 'missing');
          },
        },
        hands: [hand(db!, 'grouped-having', t, [CHAMPIONS_COUNT], (rows) => String(Number(rows[0]![0]!.value)), ro)],
      },
      {
        key: 'preview-kpi-breakdown',
        path: 'preview kpi revenue_by_country (breakdown: country, top 5)',
        note: 'engine: the groups and the overall value in one statement; hand-written: the groups only',
        engine: {
          id: 'engine',
          run: async () => {
            const p = await preview(db!, bdAnalysis, 'kpi', 'revenue_by_country', { asOf: T, timeoutMs });
            if (p.kind !== 'kpi' || !p.groups) throw new Error('not a KPI preview with groups');
            return groupsAnswer(p.groups);
          },
        },
        hands: [true, false].map((first) =>
          hand(db!, first ? 'per-customer-then-country' : 'events-join-customers', t, [REVENUE_BY_COUNTRY(first)], (rows) => groupsAnswer(rows[0]!.map((r) => ({ group: r.label, size: r.n, value: r.v }))), ro),
        ),
      },
      {
        key: 'snapshot',
        path: 'snapshot (customer_lifecycle, a new day)',
        note: 'both: the stages into a temporary table, the day\'s counts recorded, the stage changes since the last snapshot appended (hand-written: into tables of its own, seeded like the engine\'s)',
        engine: {
          id: 'engine',
          run: async () => {
            const asOf = new Date(T.getTime() + ++snapshotDay * DAY);
            const r = await db!.transaction((tx) => takeLifecycleSnapshot(tx, project, { schema, asOf, catalog }), { timeoutMs });
            const taken = r.taken.find((x) => x.lifecycle === 'customer_lifecycle');
            if (!taken) throw new Error(`no snapshot taken (${JSON.stringify(r)})`);
            return snapshotAnswer(r.day, taken.stages, taken.changed);
          },
        },
        hands: [
          {
            id: 'temp-table+counts+changes',
            run: () =>
              db!.transaction(
                async (tx) => {
                  const asOf = new Date(T.getTime() + ++handSnapshotDay * DAY);
                  const day = asOf.toISOString().slice(0, 10);
                  const b = bind(`create temporary table h on commit drop as select key::text as key, stage from (${STAGES_GROUPED}) s`, asOf);
                  await tx.query(b.sql, b.params);
                  const dist = await tx.query<{ stage: string; n: number }>(`insert into ${schema}.hand_snapshots (day, stage, entities) select $1::date, stage, count(*) from h group by stage returning stage, entities as n`, [day]);
                  const changed = await tx.query<{ n: number }>(
                    `with latest as (select distinct on (key) key, stage from ${schema}.hand_stage_changes where since <= $1::date order by key, since desc, taken_at desc),
                       ins as (insert into ${schema}.hand_stage_changes (key, stage, since) select n.key, n.stage, $1::date from h n left join latest l on l.key = n.key where l.key is null or l.stage is distinct from n.stage returning 1)
                     select count(*) as n from ins`,
                    [day],
                  );
                  return snapshotAnswer(day, Object.fromEntries(dist.rows.map((r) => [r.stage, r.n])), changed.rows[0]!.n);
                },
                { timeoutMs },
              ),
          },
        ],
      },
      {
        key: 'refresh',
        path: 'refresh (winback_audience, materialize: table)',
        agree: nearCount,
        note: 'both: the members into a new table, indexed on the key and analysed (the engine then swaps it in by rename)',
        engine: {
          id: 'engine',
          run: async () => {
            const r = await refreshTables(db!, schema);
            return String(r.tables.find((x) => x.name.endsWith('segment_winback_audience'))?.rows ?? 'missing');
          },
        },
        hands: ['one-scan', 'one-scan-candidates'].map((m) =>
          // As the engine's table: indexed on the key and analysed for its readers.
          hand(db!, `create-table-as/${m}`, wall, [`create table ${schema}.hand_refresh as ${winback(m)}`, `create index on ${schema}.hand_refresh (id)`, `analyze ${schema}.hand_refresh`, `select count(*) as n from ${schema}.hand_refresh`, `drop table ${schema}.hand_refresh`], (rows) => String(Number(rows[3]![0]!.n)), { write: true, timeoutMs }),
        ),
      },
      {
        key: 'deploy',
        path: 'deploy (fresh schema; winback_audience as a table + lifecycle snapshot)',
        agree: nearCount,
        note: 'engine: deploy of the bench project (views, one table, history, snapshot) into a new schema; hand-written: the table and the stage rows by hand',
        engine: {
          id: 'engine',
          run: async () => {
            const s = `${schema}_d${++deploys}`;
            schemas.push(s);
            const a = analyse(benchProject(s), catalog, T);
            const r = await deploy(db!, a, { schema: s, who: 'tally bench', catalog });
            if (!r.deployed) throw new Error('the deploy did not deploy');
            const n = await db!.query<{ n: number }>(`select count(*) as n from ${s}.segment_winback_audience`);
            await admin.query(`drop schema if exists "${s}" cascade`);
            return String(Number(n.rows[0]!.n));
          },
        },
        hands: [
          hand(
            db!,
            'create-tables-as/one-scan',
            wall,
            [`create table ${schema}.hand_deploy as ${winback('one-scan')}`, `create table ${schema}.hand_stages as ${STAGES_GROUPED}`, `select count(*) as n from ${schema}.hand_deploy`, `drop table ${schema}.hand_deploy`, `drop table ${schema}.hand_stages`],
            (rows) => String(Number(rows[2]![0]!.n)),
            { write: true, timeoutMs },
          ),
        ],
      },
    ];

    const reps = o.reps > 0 ? o.reps : 2;
    const readPaths: ReadPath[] = [];
    const rows: Row[] = [{ figure: 'floor: select count(*) from events', value: floorMs, unit: 'ms' }];
    const detail: unknown[] = [];
    for (const c of cases.filter((c) => !o.cases.length || o.cases.includes(c.key))) {
      o.log(`  ${c.path}`);
      const all = [c.engine, ...c.hands];
      const times = new Map<Variant, number[]>(all.map((v) => [v, []]));
      const answers = new Map<Variant, string>();
      const errors = new Map<Variant, string>();
      const once = async (v: Variant) => {
        const s = now();
        const a = await v.run();
        return { ms: now() - s, a };
      };
      for (const v of all) {
        try {
          const r = await once(v);
          answers.set(v, r.a);
          o.log(`    warm-up ${v === c.engine ? 'engine' : `hand: ${v.id}`}: ${r.ms.toFixed(0)} ms -> ${r.a.slice(0, 160)}`);
        } catch (e) {
          errors.set(v, errorText(e));
          o.log(`    warm-up ${v.id}: ${errorText(e)}`);
        }
      }
      const live = all.filter((v) => !errors.has(v));
      for (let round = 0; round < reps; round++) {
        for (let i = 0; i < live.length; i++) {
          const v = live[(i + round) % live.length]!;
          try {
            times.get(v)!.push((await once(v)).ms);
          } catch (e) {
            errors.set(v, errorText(e));
          }
        }
      }
      const engineMs = median(times.get(c.engine)!);
      const reference = answers.get(c.engine);
      const agree = (h: Variant) => answers.has(h) && reference !== undefined && (c.agree ?? ((a, b) => a === b))(reference, answers.get(h)!);
      const correct = c.hands.filter((h) => agree(h) && times.get(h)!.length);
      const wrongHands = c.hands.filter((h) => answers.has(h) && !agree(h));
      const byTime = correct.sort((a, b) => median(times.get(a)!) - median(times.get(b)!));
      // The reference: the best one-scan hand (probing hands only when there is no other).
      const best = byTime.find((h) => !h.probes) ?? byTime[0];
      const handMs = best ? median(times.get(best)!) : NaN;
      const probing = byTime.find((h) => h.probes && h !== best);
      const probeNote = probing ? `per-entity index probes (hand: ${probing.id}, not used by the engine by design): ${median(times.get(probing)!).toFixed(0)} ms, engine ${(engineMs / median(times.get(probing)!)).toFixed(2)}x that` : undefined;
      const note = [c.note, probeNote].filter(Boolean).join('; ');
      readPaths.push({
        path: c.path,
        engineMs,
        handMs,
        hand: best?.id ?? (wrongHands.length ? `none agreed: ${wrongHands.map((h) => h.id).join(', ')}` : 'none'),
        floorMs,
        wrong: !best && wrongHands.length > 0,
        ...(note ? { note } : {}),
      });
      rows.push({ figure: c.path, value: engineMs, unit: 'ms', reference: { label: `best hand: ${best?.id ?? 'none'}`, value: handMs }, ratio: engineMs / handMs });
      for (const h of wrongHands) o.log(`    !! hand ${h.id} answered ${answers.get(h)?.slice(0, 200)} (engine: ${reference?.slice(0, 200)})`);
      detail.push({ key: c.key, path: c.path, answer: reference, variants: all.map((v) => ({ id: v.id, times: times.get(v), answer: answers.get(v), error: errors.get(v) })) });
    }
    return {
      name: 'readpaths',
      title: `read paths at ${ds.customersLoaded.toLocaleString('en-US')} customers / ${ds.eventsLoaded.toLocaleString('en-US')} events`,
      rows,
      notes: [`times: median of ${reps} rounds after one warm-up, variants in rotating order; answers checked against the engine's`],
      detail: { floorTimes, cases: detail },
      readPaths,
    };
  } finally {
    await db?.close();
    for (const s of schemas) await admin.query(`drop schema if exists "${s}" cascade`).catch(() => undefined);
    await admin.close();
  }
}
