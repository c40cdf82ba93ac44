// Section "campaign": `tally preview campaign`, `tally run` and `tally report` at scale (issue 11),
// against the best hand-written SQL for the same answer, on the segment bench's data set (1M
// customers, ~28M events), which it only reads.
//
// The campaign is the example shop's cart_reminder under another name (bench_cart): a triggered
// push (add_to_cart), audience cart_abandoners (added to cart in 7 days without buying) minus
// internal_test_accounts, re-entry every 30 days, a cap of 1 push per day, a 20/80 holdout split and a
// purchase goal within 3 days. Its deploy schema and history live in `bench_campaign_state` (kept
// between runs of the bench, never in the data set's schema): the bench deploys it there and runs it
// daily for the 7 days before the anchor T (a run already made is left alone), so the report has
// enrollments and the run at T has entry and cap history to join. Then, as of T:
//
//   preview   previewCampaign (its one read-only statement plus the run lookup)
//             vs one hand-written grouped pass over the 7-day events with the hold-back reasons
//   run       the run's enrollment statement (candidates, insert, per-reason counts), in a
//             transaction rolled back so every round enrolls the same people
//             vs the same insert written by hand
//   report    reportCampaign (conversions per version and variant)
//             vs hand-written conversions: a semi-join, and an index probe per enrollment
//
// Every hand-written answer is checked against the engine's. Rounds alternate engine and hand
// variants after one warm-up each; the figure is the median.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, type Analysis } from '../engine/src/index.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { loadCatalog } from '../engine/src/db/catalog-load.js';
import { connect, type Db } from '../engine/src/db/db.js';
import { deploy } from '../engine/src/deploy/deploy.js';
import { candidateOptions, previewCampaign, type GroupRow } from '../engine/src/campaign/campaign.js';
import { reportCampaign } from '../engine/src/campaign/report.js';
import { enroll, runCampaigns } from '../engine/src/campaign/run.js';
import { cumulativeShares } from '../engine/src/campaign/assign.js';
import { ensureDataset, MARKER_TABLE, schemaName, type DataSectionOptions } from './lib/dataset.js';
import { SHOP_DIR } from './lib/bench-project.js';
import { BenchPg, databaseUrl, engineUrl, ensureDatabase } from './lib/pg.js';
import { median, now, type Row, type Section } from './lib/report.js';

/** Engine / best hand-written query for the same answer. */
export const CAMPAIGN_TARGET = 1.1;
export const STATE_SCHEMA = 'bench_campaign_state';
/** The section's cases (`--cases`). */
export const CAMPAIGN_CASES = ['preview', 'run', 'report'];
const CAMPAIGN = 'bench_cart';
const DAY = 86_400_000;

export interface CampaignBenchOptions extends DataSectionOptions {
  /** preview, run, report (default all). */
  cases?: readonly string[];
}

const BENCH_FILE = `kind: Segment
name: cart_abandoners
version: 1
where:
  all:
    - { stream: events, event: add_to_cart, within: 7d }
    - not: { event: purchase, within: 7d }
---
kind: Segment
name: internal_test_accounts
version: 1
where: { attribute: email, starts_with: "qa+" }
---
kind: Campaign
name: ${CAMPAIGN}
version: 1
audience: { segment: cart_abandoners, exclude: [internal_test_accounts] }
channel: push
trigger: { event: add_to_cart }
entry: { every: 30d }
frequency_cap: { max: 1, per: 1d }
variants:
  - { name: control, weight: 20, holdout: true }
  - { name: reminder, weight: 80 }
goal: { event: purchase, within: 3d }
`;

export function analyse(catalog: Catalog | undefined, asOf: Date): Analysis {
  const tallyYaml = readFileSync(join(SHOP_DIR, 'tally.yaml'), 'utf8').replace(/^deploy:\n  schema: tally$/m, `deploy:\n  schema: ${STATE_SCHEMA}`);
  if (!tallyYaml.includes(STATE_SCHEMA)) throw new Error('campaign bench: the shop tally.yaml no longer has `deploy: schema: tally`');
  const project = new Project(SHOP_DIR, tallyYaml);
  project.setFile('definitions/model.yaml', readFileSync(join(SHOP_DIR, 'definitions/model.yaml'), 'utf8'));
  project.setFile('definitions/zz_campaign_bench.yaml', BENCH_FILE);
  const a = project.analyze({ catalog, now: asOf });
  const errors = a.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`the campaign bench project has errors: ${errors.map((d) => d.message).join('; ')}`);
  return a;
}

// ---- hand-written SQL ($1 = T, $2 = the trigger's lower bound, $3 = the state schema's enrollments are named inline) ----

const EN = `${STATE_SCHEMA}.campaign_enrollments`;

/** The candidates with their flags, by hand: one grouped pass over the 7-day add_to_cart/purchase events. */
const handCandidates = `
  select c.id::text as entity_key,
         starts_with(c.email, 'qa+') is true as excluded,
         a.trig as triggered,
         ent.k is not null as entered,
         cap.k is not null as capped,
         case when (('x' || substr(encode(sha256(convert_to('${CAMPAIGN}:' || c.id::text, 'UTF8')), 'hex'), 1, 8))::bit(32)::bigint)::float8 / 4294967296.0 < 0.2 then 0 else 1 end as variant
    from (select customer_id,
                 bool_or(event_name = 'add_to_cart') as cart, bool_or(event_name = 'purchase') as bought,
                 bool_or(event_name = 'add_to_cart' and occurred_at > $2::timestamptz) as trig
            from events
           where event_name in ('add_to_cart', 'purchase') and occurred_at > $1::timestamptz - interval '7 days' and occurred_at <= $1::timestamptz
           group by customer_id) a
    join customers c on c.id = a.customer_id and (c.created_at <= $1::timestamptz or c.created_at is null)
    left join (select distinct entity_key as k from ${EN} where campaign = '${CAMPAIGN}' and enrolled_at < $1::timestamptz and enrolled_at > $1::timestamptz - interval '30 days') ent on ent.k = c.id::text
    left join (select entity_key as k from ${EN} where channel = 'push' and not holdout and enrolled_at > $1::timestamptz - interval '1 day' and enrolled_at <= $1::timestamptz group by entity_key having count(*) >= 1) cap on cap.k = c.id::text
   where a.cart and not a.bought`;

const handCounts = `select excluded, triggered, entered, capped, variant, count(*) as count from (${handCandidates}) x group by 1, 2, 3, 4, 5`;

const handEnroll = `with cand as materialized (${handCandidates}),
  ins as (insert into ${EN} (run_id, campaign, version, channel, entity_key, variant, holdout, enrolled_at, fingerprint)
          select $3::bigint, '${CAMPAIGN}', 1, 'push', entity_key, (array['control', 'reminder'])[variant + 1], variant = 0, $1::timestamptz, 'hand'
            from cand where not excluded and triggered and not entered and not capped returning 1)
  select excluded, triggered, entered, capped, variant, count(*) as count from cand group by 1, 2, 3, 4, 5`;

const HAND_REPORT: Record<string, string> = {
  'semi-join': `with enr as materialized (select entity_key, variant, enrolled_at from ${EN} where campaign = '${CAMPAIGN}' and enrolled_at <= $1::timestamptz)
    select e.variant, count(*) as enrolled, count(*) filter (where exists (select 1 from events ev where ev.customer_id = e.entity_key::bigint and ev.event_name = 'purchase'
             and ev.occurred_at > e.enrolled_at and ev.occurred_at <= e.enrolled_at + interval '3 days' and ev.occurred_at <= $1::timestamptz)) as converted
      from enr e group by e.variant`,
  'join-distinct': `with enr as materialized (select entity_key, variant, enrolled_at from ${EN} where campaign = '${CAMPAIGN}' and enrolled_at <= $1::timestamptz),
    conv as (select distinct e.entity_key, e.enrolled_at from enr e join events ev on ev.customer_id = e.entity_key::bigint and ev.event_name = 'purchase'
              and ev.occurred_at > e.enrolled_at and ev.occurred_at <= e.enrolled_at + interval '3 days' and ev.occurred_at <= $1::timestamptz)
    select e.variant, count(*) as enrolled, count(c.entity_key) as converted from enr e left join conv c using (entity_key, enrolled_at) group by e.variant`,
};

// ---- answers -------------------------------------------------------------------------------------


/** The hold-back breakdown of a candidate grouping, as text (the preview's and the run's answer). */
function breakdownAnswer(rows: readonly GroupRow[]): string {
  const held = { exclusions: 0, trigger: 0, entry: 0, frequency_cap: 0 };
  const variants = [0, 0];
  let segment = 0;
  for (const r of rows) {
    const n = Number(r.count);
    segment += n;
    if (r.excluded) held.exclusions += n;
    else if (!r.triggered) held.trigger += n;
    else if (r.entered) held.entry += n;
    else if (r.capped) held.frequency_cap += n;
    else variants[Number(r.variant)]! += n;
  }
  return JSON.stringify({ segment, held, variants });
}

const reportAnswer = (rows: { variant: string; enrolled: number; converted: number }[]) =>
  JSON.stringify(Object.fromEntries([...rows].sort((a, b) => a.variant.localeCompare(b.variant)).map((r) => [r.variant, [Number(r.enrolled), Number(r.converted)]])));

// ---- measuring -----------------------------------------------------------------------------------

interface Variant {
  id: string;
  engine: boolean;
  run: () => Promise<string>;
  times: number[];
  answer?: string;
  error?: string;
}

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

async function measure(variants: Variant[], reps: number): Promise<void> {
  for (const v of variants) {
    try {
      v.answer = await v.run();
    } catch (e) {
      v.error = errorText(e);
    }
  }
  for (let i = 0; i < reps; i++) {
    const order = i % 2 ? [...variants].reverse() : variants;
    for (const v of order) {
      if (v.error) continue;
      const t = now();
      try {
        const a = await v.run();
        v.times.push(now() - t);
        if (a !== v.answer) v.error = `answer changed between rounds: ${a} vs ${v.answer}`;
      } catch (e) {
        v.error = errorText(e);
      }
    }
  }
}

/** Runs `fn` in a transaction that is always rolled back (the run writes; every round enrolls the same people). */
async function rolledBack<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  let out: T | undefined;
  const ROLLBACK = 'campaign bench: rollback';
  await db
    .transaction(async (tx) => {
      out = await fn(tx);
      throw new Error(ROLLBACK);
    })
    .catch((e: Error) => {
      if (e.message !== ROLLBACK) throw e;
    });
  return out!;
}

export async function campaignSection(o: CampaignBenchOptions): Promise<Section> {
  await ensureDatabase(o.server, o.database);
  const admin = await BenchPg.open(databaseUrl(o.server, o.database));
  let db: Db | undefined;
  try {
    // Only ever reuse a loaded data set: never (re)load the shared one from here.
    const want = schemaName({ customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days });
    const marker = await admin.query<{ n: number }>(`select count(*) as n from ${MARKER_TABLE} where schema_name = $1`, [want]).catch(() => [{ n: 0 }]);
    if (!Number(marker[0]?.n)) throw new Error(`the data set ${want} is not loaded (run \`npm run bench -- segments\` first); the campaign bench only reads a loaded one`);
    const ds = await ensureDataset(admin, { customers: o.customers, seed: o.seed, anchor: o.anchor, days: o.days }, o.log);
    db = await connect(engineUrl(o.server, o.database, ds.schema), { baseDir: SHOP_DIR, timezone: 'UTC' });
    const T = o.anchor;
    const catalog = await loadCatalog(db, analyse(undefined, T).definitions, { eventTypes: false });
    const analysis = analyse(catalog, T);
    const d = await deploy(db, analysis, { schema: STATE_SCHEMA, who: 'tally bench', catalog });
    if (d.refused) throw new Error(`the campaign bench deploy was refused: ${d.diagnostics.map((x) => x.message).join('; ')}`);

    // History: daily runs over the week before T (left alone when already made).
    let t = now();
    let enrolled = 0;
    for (let day = 7; day >= 1; day--) {
      const r = await runCampaigns(db, analysis, { asOf: new Date(T.getTime() - day * DAY), campaign: CAMPAIGN, catalog, who: 'tally bench' });
      if (r.refused) throw new Error(`the campaign bench run was refused: ${r.diagnostics.map((x) => x.message).join('; ')}`);
      enrolled += r.campaigns[0]!.enrolled;
    }
    const history = Number((await db.query<{ n: number }>(`select count(*) as n from ${EN} where campaign = $1`, [CAMPAIGN])).rows[0]!.n);
    o.log(`  campaign: ${history.toLocaleString('en-US')} enrollments in ${STATE_SCHEMA} (${enrolled} added now in ${((now() - t) / 1000).toFixed(1)} s)`);

    const c = analysis.get('Campaign', CAMPAIGN)!.resolved.campaign!;
    const since = new Date(T.getTime() - DAY); // daily runs: the previous run is T - 1 day
    const params = [T.toISOString(), since.toISOString()];
    const ro = { readOnly: true, timeoutMs: o.timeoutMs };
    const hand = (sql: string, p: unknown[] = params) => async () => breakdownAnswer((await db!.transaction((tx) => tx.query<GroupRow>(sql, p), ro)).rows);
    const reps = o.reps > 0 ? o.reps : 3;

    const preview: Variant[] = [
      {
        id: 'engine: previewCampaign',
        engine: true,
        times: [],
        run: async () => {
          const p = await previewCampaign(db!, analysis, CAMPAIGN, { asOf: T, timeoutMs: o.timeoutMs });
          const h = p.held_back;
          return JSON.stringify({ segment: p.segment, held: { exclusions: h.exclusions, trigger: h.trigger, entry: h.entry, frequency_cap: h.frequency_cap }, variants: p.variants.map((v) => v.count) });
        },
      },
      { id: 'hand: one grouped pass + history joins', engine: false, times: [], run: hand(handCounts) },
    ];
    const shares = cumulativeShares(c.variants.map((v) => v.weight)) ?? [];
    const run: Variant[] = [
      {
        id: 'engine: the run statement (insert + counts)',
        engine: true,
        times: [],
        run: () =>
          rolledBack(db!, async (tx) => {
            // The engine's run statements: the candidates into a temporary table, then the hold-backs + insert + counts.
            const o = await candidateOptions(tx, c, STATE_SCHEMA, T, { heldKeys: false });
            return breakdownAnswer(await enroll(tx, c, o, { asOf: T, stateSchema: STATE_SCHEMA, runId: 999_999_999, version: 1, fingerprint: 'bench' }));
          }),
      },
      { id: 'hand: one grouped pass + history joins, insert', engine: false, times: [], run: () => rolledBack(db!, async (tx) => breakdownAnswer((await tx.query<GroupRow>(handEnroll, [...params, 999_999_999])).rows)) },
    ];
    const report: Variant[] = [
      {
        id: 'engine: reportCampaign',
        engine: true,
        times: [],
        run: async () => reportAnswer((await reportCampaign(db!, analysis, CAMPAIGN, { asOf: T, timeoutMs: o.timeoutMs })).variants.map((v) => ({ variant: v.name, enrolled: v.enrolled, converted: v.converted ?? 0 }))),
      },
      ...Object.entries(HAND_REPORT).map(([id, sql]) => ({
        id: `hand: ${id}`,
        engine: false,
        times: [] as number[],
        run: async () => reportAnswer((await db!.transaction((tx) => tx.query<{ variant: string; enrolled: number; converted: number }>(sql, [T.toISOString()]), ro)).rows),
      })),
    ];

    const rows: Row[] = [];
    const notes: string[] = [
      `data: ${ds.customersLoaded.toLocaleString('en-US')} customers, ${ds.eventsLoaded.toLocaleString('en-US')} events in ${o.database}.${ds.schema} (read only); campaign state in ${o.database}.${STATE_SCHEMA}: ${history.toLocaleString('en-US')} enrollments of ${CAMPAIGN} (the shop's cart_reminder) from daily runs over the 7 days before ${T.toISOString()}`,
      `times: median of ${reps} rounds after one warm-up, engine and hand-written alternating; the run's statement runs in a transaction rolled back each round; ratio = engine / best hand-written query with the engine's answer`,
    ];
    const detail: unknown[] = [];
    for (const [key, variants] of [
      ['preview campaign', preview],
      ['run', run],
      ['report', report],
    ] as const) {
      if (o.cases?.length && !o.cases.includes(key.split(' ')[0]!)) continue;
      o.log(`  campaign: ${key} ...`);
      t = now();
      await measure(variants, reps);
      const engine = variants.find((v) => v.engine)!;
      const correct = variants.filter((v) => !v.engine && !v.error && v.answer === engine.answer && v.times.length).sort((a, b) => median(a.times) - median(b.times));
      const bestHand = correct[0];
      const bestMs = bestHand ? median(bestHand.times) : NaN;
      const engineMs = engine.times.length ? median(engine.times) : NaN;
      rows.push({ figure: `${key}${engine.error ? `  (${engine.error})` : ''}`, value: engineMs, unit: 'ms', reference: { label: bestHand ? bestHand.id : 'best hand: none', value: bestMs }, ratio: engineMs / bestMs, target: `<= ${CAMPAIGN_TARGET}x best hand`, met: !engine.error && engineMs / bestMs <= CAMPAIGN_TARGET });
      for (const v of variants.filter((x) => !x.engine)) {
        const wrong = v.answer !== undefined && v.answer !== engine.answer;
        rows.push({ figure: `  ${v.id}${wrong ? '  !! WRONG ANSWER' : ''}${v.error ? `  (${v.error})` : ''}`, value: v.times.length ? median(v.times) : NaN, unit: 'ms', ...(v === bestHand ? { ratio: 1 } : { reference: { label: 'best hand', value: bestMs }, ratio: median(v.times) / bestMs }) });
        if (wrong) notes.push(`!! ${key}: ${v.id} returned ${v.answer}, the engine ${engine.answer}`);
      }
      notes.push(`${key}: the engine says ${engine.answer ?? engine.error}`);
      detail.push({ case: key, variants: variants.map((v) => ({ id: v.id, times: v.times, answer: v.answer ?? null, error: v.error ?? null })) });
      o.log(`    done in ${((now() - t) / 1000).toFixed(0)} s`);
    }
    return { name: 'campaign', title: `campaign: preview, run and report vs hand-written on PostgreSQL (${ds.customersLoaded.toLocaleString('en-US')} customers)`, rows, notes, detail: { dataset: ds.schema, stateSchema: STATE_SCHEMA, enrollments: history, cases: detail } };
  } finally {
    await db?.close();
    await admin.close();
  }
}
