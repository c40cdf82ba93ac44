// Portability to distributed PostgreSQL (Citus; issue 17), enforced on plain PostgreSQL and PGlite
// since no registry ships Citus for CI: every statement the commands send on the example shop
// (validate's catalog probes and lints, a preview of every definition of every kind, plan before and
// after a deploy and after an edit, deploy, check, snapshot, refresh, run, report, and a report of a
// campaign nobody is enrolled in) is recorded with its plan and checked against the portability
// rules of ARCHITECTURE.md (test/helpers/portability.ts: R1–R5). The checker itself is tested on
// the shapes that failed on Citus, so a rule that stops catching anything fails here too.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { Project, type Analysis } from '../engine/src/project.js';
import { analyzeLive } from '../engine/src/db/live.js';
import { preview } from '../engine/src/preview/preview.js';
import { PREVIEW_KINDS, KIND_OF } from '../engine/src/protocol.js';
import { planProject } from '../engine/src/deploy/plan.js';
import { deploy, refreshTables } from '../engine/src/deploy/deploy.js';
import { checkKpis } from '../engine/src/kpi/check.js';
import { snapshotLifecycles } from '../engine/src/deploy/snapshot.js';
import { runCampaigns } from '../engine/src/campaign/run.js';
import { reportCampaign } from '../engine/src/campaign/report.js';
import { campaignDataLints } from '../engine/src/campaign/campaign.js';
import { eventTypeProbe, eventTypeStep, loadCatalog, readEventTypes } from '../engine/src/db/catalog-load.js';
import { splitStatements } from '../engine/src/sql/statements.js';
import { shopDistributionStatements, shopSchemaStatements } from '../examples/shop/generate.js';
import type { Catalog } from '../engine/src/resolve/catalog.js';
import { forEachBackend } from './helpers/databases.js';
import { copyShop, shopDb, useShop, type ShopDb } from './helpers/shop.js';
import { runTally } from './helpers/cli.js';
import { portabilityViolations, readsTable, recordingDb, type Recorded } from './helpers/portability.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-portability-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const DAY = 86_400_000;
const T = new Date('2026-10-01T00:00:00Z');
const SCHEMA = 'tally';
const CX = { userTables: ['customers', 'events'], stateSchema: SCHEMA };

/** A segment stored as a table, so `refresh` has something to rebuild. */
const MATERIALIZED = `kind: Segment
name: zz_portability_table
version: 1
description: A materialized copy of champions (portability test).
materialize: table
where: { segment: champions }
`;

forEachBackend('portability rules over every command on the example shop', (backend) => {
  let shop: ShopDb | undefined;
  let projectDir = '';
  const log: Recorded[] = [];
  const marks = new Map<string, [number, number]>();
  let analysis: Analysis;
  let catalog: Catalog;

  /** Runs `fn` against a recording connection and remembers which statements it sent. */
  async function command<T>(name: string, fn: (db: Db) => Promise<T>): Promise<T> {
    const start = log.length;
    const out = await shop!.withDb((db) => fn(recordingDb(db, log)));
    marks.set(name, [start, log.length]);
    return out;
  }
  const sent = (name: string) => {
    const [a, b] = marks.get(name) ?? [0, 0];
    return log.slice(a, b);
  };

  before(async function () {
    this.timeout(600_000);
    projectDir = copyShop(TMP, `shop-${backend}`);
    shop = await shopDb(backend, TMP, 300);
    const project = Project.load(projectDir);
    project.setFile('definitions/zz_portability.yaml', MATERIALIZED);
    const asOf = { now: T };

    // validate: the catalog (tables, the event-type probe) and the live lints
    ({ analysis, catalog } = await command('validate', async (db) => {
      const live = await analyzeLive(db, project, asOf);
      await campaignDataLints(db, live.analysis, T);
      return live;
    }));
    assert.equal(analysis.errorCount, 0, analysis.diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('; '));
    assert.ok(analysis.diagnostics.every((d) => d.code !== 'event-types-unchecked'), 'the probe answered');

    await command('preview', async (db) => {
      for (const kind of PREVIEW_KINDS) {
        for (const info of analysis.ofKind(KIND_OF[kind])) await preview(db, analysis, kind, info.def.name, { asOf: T, sampleSize: 3, timeoutMs: 60_000 });
      }
    });
    const firstPlan = await command('plan (all new)', (db) => planProject(db, analysis, { schema: SCHEMA, asOf: T, catalog, timeoutMs: 60_000 }));
    assert.ok(firstPlan.items.every((i) => i.impact.k !== 'unmeasured'), JSON.stringify(firstPlan.items.filter((i) => i.impact.k === 'unmeasured')));
    const d = await command('deploy', (db) => deploy(db, analysis, { schema: SCHEMA, catalog }));
    assert.equal(d.refused, false);
    // A changed segment and trait: the plan's two-sided queries (both versions in one scan).
    const file = (p: string) => project.file(p)!.text;
    const edited = Project.load(projectDir);
    edited.setFile('definitions/zz_portability.yaml', MATERIALIZED);
    edited.setFile('definitions/segments.yaml', file('definitions/segments.yaml').replace('{ trait: days_since_last_purchase, lte: 30 }', '{ trait: days_since_last_purchase, lte: 45 }'));
    edited.setFile('definitions/profile.yaml', file('definitions/profile.yaml').replace('compute: { event: purchase, within: 90d }', 'compute: { event: purchase, within: 120d }'));
    const editedAnalysis = edited.analyze({ catalog, now: T });
    const secondPlan = await command('plan (changed)', (db) => planProject(db, editedAnalysis, { schema: SCHEMA, asOf: T, catalog, timeoutMs: 60_000 }));
    assert.ok(secondPlan.items.some((i) => i.status === 'changed' && i.impact.k === 'segment'));
    assert.ok(secondPlan.items.some((i) => i.status === 'changed' && i.impact.k === 'values'));
    assert.ok(secondPlan.items.every((i) => i.impact.k !== 'unmeasured'));
    await command('check', (db) => checkKpis(db, analysis, { asOf: T }));
    await command('snapshot', (db) => snapshotLifecycles(db, project, { schema: SCHEMA, asOf: T, catalog }));
    const refreshed = await command('refresh', (db) => refreshTables(db, SCHEMA));
    assert.ok(JSON.stringify(refreshed).includes('zz_portability_table'), JSON.stringify(refreshed));
    const empty = await command('report (nobody enrolled)', (db) => reportCampaign(db, analysis, 'winback_dormant', { asOf: T }));
    assert.equal(empty.status, 'no-enrollments');
    await command('run', async (db) => {
      for (let day = 0; day < 4; day++) assert.equal((await runCampaigns(db, analysis, { asOf: new Date(T.getTime() + day * DAY), catalog })).refused, false);
    });
    await command('preview campaign (with history)', async (db) => {
      for (const info of analysis.ofKind('Campaign')) await preview(db, analysis, 'campaign', info.def.name, { asOf: new Date(T.getTime() + 4 * DAY), sampleSize: 0 });
    });
    await command('report', async (db) => {
      let reported = 0;
      for (const info of analysis.ofKind('Campaign')) {
        const r = await reportCampaign(db, analysis, info.def.name, { asOf: new Date(T.getTime() + 10 * DAY) });
        assert.equal(r.status, r.variants.some((v) => v.enrolled > 0) ? 'ok' : 'no-enrollments');
        if (r.status === 'ok') reported++;
      }
      assert.ok(reported > 0, 'some campaign enrolled someone');
    });
  });
  after(async () => {
    await shop?.drop();
  });

  it('every command sent statements, and EXPLAIN planned every query over the shop', () => {
    for (const name of marks.keys()) assert.ok(sent(name).length > 0, `${name} sent nothing`);
    const planned = log.filter((r) => r.plan);
    assert.ok(planned.length > 100, `${planned.length} statements planned`);
    const failed = log.filter((r) => r.explainError && readsTable(r.sql, CX.userTables));
    assert.deepEqual(failed.map((r) => `${r.explainError}: ${r.sql.slice(0, 120)}`), []);
  });

  it('R1–R5 hold for every statement of every command', () => {
    assert.deepEqual(portabilityViolations(log, CX), []);
  });

  it('R3 in practice: run, report and the campaign previews read the history in statements of their own', () => {
    const runSql = sent('run');
    assert.ok(runSql.some((r) => /^\s*create temporary table "tally_candidates"/i.test(r.sql) && readsTable(r.sql, CX.userTables)), 'the candidates are evaluated into a temporary table');
    assert.ok(runSql.some((r) => /insert into "tally"\."campaign_enrollments"/i.test(r.sql) && readsTable(r.sql, ['tally_candidates'])), 'the enrollments come from it');
    for (const name of ['run', 'preview campaign (with history)', 'report']) {
      assert.ok(sent(name).some((r) => readsTable(r.sql, ['campaign_enrollments'], SCHEMA)), `${name} reads the enrollments`);
      assert.ok(sent(name).some((r) => readsTable(r.sql, CX.userTables)), `${name} reads the user's tables`);
    }
  });

  it('R4 in practice: the event-type probe is a loose index scan driven statement by statement (no recursive CTE), and DDL went one statement at a time', () => {
    // The shop has an index leading with event_name: a loose index scan driven statement by statement.
    const steps = sent('validate').filter((r) => /^select min\("event_name"\) as v from "public"\."events"( where "event_name" > \$1)?$/.test(r.sql));
    assert.ok(steps.length >= 2, 'the event-type probe ran');
    assert.ok(steps.every((r) => r.plan && !JSON.stringify(r.plan).includes('Seq Scan')), 'each step is an index probe');
    assert.ok(log.some((r) => /^create table if not exists "tally"\.campaign_runs \(/.test(r.sql)), 'the campaign tables were created statement by statement');
  });

  it('the checker catches each shape that failed on Citus', async function () {
    this.timeout(60_000);
    const bad: Recorded[] = [];
    await shop!.withDb(async (db) => {
      const rec = recordingDb(db, bad);
      // R1: the old exclusion, an uncorrelated `key in (select ...)` in the select list.
      await rec.query(`select count(*) filter (where x) from (select e.id in (select c.id from customers c where starts_with(c.email, 'qa+')) as x from customers e) s`);
      // R2: the old empty "before" side of a plan, outer-joined.
      await rec.query(`select count(*) from customers c left join (select * from (select customer_id as key from events) as e where false) o on o.key = c.id`);
      // R3: the old candidate query, joining the customers with the enrollment history.
      await rec.query(`select count(*) from customers c left join (select distinct entity_key from tally.campaign_enrollments) en on en.entity_key = c.id::text`);
      // R4: the old event-type probe.
      await rec.query(`with recursive t as (select min(event_name) as v from events union all select (select min(event_name) from events where event_name > t.v) from t where t.v is not null) select v from t where v is not null limit 1000`);
      // R5: a multi-statement DDL string.
      await rec.exec(`create temporary table tally_portability_a (x int); drop table tally_portability_a`);
    });
    const v = portabilityViolations(bad, CX);
    for (const rule of ['R1 ', 'R2 ', 'R3 ', 'R4 ', 'R5 ']) assert.ok(v.some((l) => l.startsWith(rule)), `${rule}not caught: ${v.join('\n')}`);
  });

  it('both event-type probes (loose index scan, select distinct without the index) read the same types', async function () {
    this.timeout(60_000);
    await shop!.withDb(async (db) => {
      const indexed = await readEventTypes(db, 'public', 'events', 'event_name', 10_000);
      await db.exec('create table events_noindex as select * from events');
      try {
        const plain = await readEventTypes(db, 'public', 'events_noindex', 'event_name', 10_000);
        assert.deepEqual(plain, indexed);
        const all = (await db.query<{ v: string }>('select distinct event_name as v from events order by 1')).rows.map((r) => r.v);
        assert.deepEqual(indexed, all);
        assert.ok(all.length > 5);
      } finally {
        await db.exec('drop table events_noindex');
      }
    });
  });

  it('a failed event-type probe is a warning naming what failed and what is not checked, never swallowed', async function () {
    this.timeout(60_000);
    const project = Project.load(projectDir);
    project.setFile('definitions/zz_typo.yaml', `kind: Segment\nname: zz_typo\nversion: 1\nwhere: { event: purchse, within: 30d }\n`);
    const defs = project.analyze({ now: T }).definitions;
    const ok = await shop!.withDb((db) => loadCatalog(db, defs));
    const withTypes = project.analyze({ catalog: ok, now: T });
    assert.ok(withTypes.diagnostics.some((d) => d.code === 'unknown-event-type' && /purchse/.test(d.message)));
    // The same catalog read on a connection whose probe fails.
    const failing = await shop!.withDb(async (db) => {
      const broken: Db = { ...db, transaction: () => Promise.reject(new Error('probe refused: recursive CTEs are not supported')) };
      return loadCatalog(broken, defs);
    });
    const a = project.analyze({ catalog: failing, now: T });
    const w = a.diagnostics.find((d) => d.code === 'event-types-unchecked');
    assert.ok(w, a.diagnostics.map((d) => d.code).join(', '));
    assert.equal(w.severity, 'warning');
    assert.match(w.message, /could not be read \(probe refused: recursive CTEs are not supported\)/);
    assert.match(w.message, /not checked/);
    assert.ok(!a.diagnostics.some((d) => d.code === 'unknown-event-type'), 'nothing checked against types that were never read');
  });
});

describe('portability helpers', () => {
  it('splitStatements: semicolons in literals, identifiers, dollar quotes and comments do not split', () => {
    assert.deepEqual(splitStatements(`create function f() returns trigger language plpgsql as $fn$ begin raise exception 'a; b'; end $fn$;\n-- c; d\nselect ';' as "x;y"; /* e; */ select 2;`), [
      `create function f() returns trigger language plpgsql as $fn$ begin raise exception 'a; b'; end $fn$`,
      `-- c; d\nselect ';' as "x;y"`,
      `/* e; */ select 2`,
    ]);
    assert.deepEqual(splitStatements('  ;; '), []);
    assert.deepEqual(splitStatements("select 'it''s; fine'"), ["select 'it''s; fine'"]);
  });

  it('the event-type probes are bounded statements with no recursive CTE', () => {
    assert.deepEqual(eventTypeStep('public', 'events', 'event_name'), { first: 'select min("event_name") as v from "public"."events"', after: 'select min("event_name") as v from "public"."events" where "event_name" > $1' });
    const q = eventTypeProbe('public', 'events', 'event_name');
    assert.equal(q, 'select distinct "event_name" as v from "public"."events" where "event_name" is not null order by 1 limit 1000');
  });

  it('the demo loader: the distributed DDL distributes customers by id and events by customer_id, co-located, with the distribution column in every primary key', () => {
    const [customers, events] = shopSchemaStatements(undefined, true);
    assert.match(customers!, /id bigint primary key/);
    assert.match(events!, /primary key \(customer_id, id\)/);
    assert.doesNotMatch(events!, /bigserial primary key/);
    assert.deepEqual(shopDistributionStatements('shop'), [
      `select create_distributed_table('"shop"."customers"', 'id')`,
      `select create_distributed_table('"shop"."events"', 'customer_id', colocate_with => '"shop"."customers"')`,
    ]);
    for (const st of [...shopSchemaStatements('shop', true), ...shopDistributionStatements('shop')]) assert.equal(splitStatements(st).length, 1);
  });
});

forEachBackend('cli: an unmeasured plan impact, a report with no enrollments, demo --distributed without citus', (backend) => {
  const shop = useShop(backend, TMP, () => copyShop(TMP, `cli-${backend}`));

  it('plan: an impact the database refused to compute says so in text, markdown and json, and --fail-on unmeasured exits 1', async function () {
    this.timeout(300_000);
    // One purchase whose amount is not a number: every impact that sums amounts fails in the database.
    await shop.withDb((db) => db.query(`insert into events (customer_id, event_name, occurred_at, properties) values (1, 'purchase', '2026-09-01T00:00:00Z', '{"amount": "n/a"}')`));
    try {
      const text = await shop.tally(['plan', '--as-of', '2026-10-01']);
      assert.equal(text.code, 0, text.err);
      assert.match(text.out, /impact not measured: .*invalid input syntax for type numeric/);
      assert.match(text.out, /\d+ impacts were not measured/);
      const md = await shop.tally(['plan', '--as-of', '2026-10-01', '--format', 'markdown']);
      assert.match(md.out, /\*\*\d+ impacts were not measured\*\*/);
      const json = await shop.tally(['plan', '--as-of', '2026-10-01', '--format', 'json']);
      const j = JSON.parse(json.out) as { unmeasured: number; changes: { impact: { k: string; reason?: string } | null }[] };
      assert.ok(j.unmeasured > 0);
      const un = j.changes.filter((c) => c.impact?.k === 'unmeasured');
      assert.equal(un.length, j.unmeasured);
      assert.ok(un.every((c) => typeof c.impact!.reason === 'string' && c.impact!.reason.length > 0));
      assert.ok(!json.out.includes('"k": "error"'));
      const failing = await shop.tally(['plan', '--as-of', '2026-10-01', '--fail-on', 'unmeasured']);
      assert.equal(failing.code, 1);
      assert.match(failing.err, /impacts not measured \(--fail-on unmeasured\)/);
      const bad = await shop.tally(['plan', '--fail-on', 'sometimes']);
      assert.equal(bad.code, 2);
      assert.match(bad.err, /--fail-on for tally plan takes 'unmeasured' or 'none'/);
    } finally {
      await shop.withDb((db) => db.query(`delete from events where properties->>'amount' = 'n/a'`));
    }
    const clean = await shop.tally(['plan', '--as-of', '2026-10-01', '--fail-on', 'unmeasured']);
    assert.equal(clean.code, 0, clean.err);
    assert.doesNotMatch(clean.out, /not measured/);
  });

  it('report of a campaign nobody is enrolled in: says so (status no-enrollments, a warning), exit 0', async function () {
    this.timeout(120_000);
    const r = await shop.tally(['report', 'winback_dormant', '--as-of', '2026-10-01', '--format', 'json']);
    assert.equal(r.code, 0);
    assert.equal((JSON.parse(r.out) as { status: string }).status, 'no-enrollments');
    assert.match(r.err, /warning: campaign 'winback_dormant' has no enrollments as of 2026-10-01T00:00:00.000Z: nothing to report/);
    const text = await shop.tally(['report', 'winback_dormant', '--as-of', '2026-10-01']);
    assert.equal(text.code, 0);
    assert.match(text.out, /nobody is enrolled as of .* \(no run recorded\): nothing to report/);
  });

  it('demo --distributed: refused with a clear message when the database has no citus extension, before anything is dropped', async function () {
    this.timeout(120_000);
    const r = await shop.tally(['demo', '--force', '--distributed', '--customers', '10']);
    assert.equal(r.code, 2);
    assert.match(r.err, backend === 'postgres' ? /has no citus extension, so it cannot hold distributed tables .*nothing was loaded/ : /the embedded database cannot hold distributed tables/);
    // The shop's tables are still there, untouched.
    const n = await shop.withDb((db) => db.query<{ n: number }>('select count(*) as n from customers'));
    assert.equal(Number(n.rows[0]!.n), 200);
    const noDb = await runTally(['demo', '--distributed', '--project', shop.project], { cwd: shop.project });
    assert.equal(noDb.code, 2);
    assert.match(noDb.err, /--distributed loads a distributed layout \(Citus\): it needs --db postgres:/);
  });
});
