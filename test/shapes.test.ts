// Query shapes (issue 11, goal 7): EXPLAIN of every segment, trait, score and lifecycle read path
// of the example shop project shows no per-row read of the events table: no SubPlan over events,
// no scan of events run more than once. The shop's data is generated once for this file
// (examples/shop/generate.ts, 20,000 customers, ~560k events) into a throwaway PostgreSQL database.
// Paths: the members/values SQL a deploy writes into its views and `materialize: table` bodies (and
// refresh replays), the SQL at an instant (snapshot, plan's fallback), every preview statement, and
// plan's paired impact statements for an edited project.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, loadCatalog, preview, type Analysis, type Catalog, type Db, type DefinitionInfo, type Kind } from '../engine/src/index.js';
import { compileMembersChange, compileQuery, compileValues, compileValuesChange, type SqlOptions } from '../engine/src/sql/compile.js';
import { DEFAULT_ANCHOR, loadShop } from '../examples/shop/generate.js';
import { createTestDb, postgresReachable, type TestDb } from './helpers/databases.js';
import assert from 'node:assert/strict';
import { assertNoPerRowProbes, explainJson, perRowProbes } from './helpers/explain-shape.js';
import { SHOP } from './helpers/shop.js';

const CUSTOMERS = 20_000;
/** Planning only (fast); the plan test below also executes. */
const EVENTS = { eventsTables: ['events'], analyze: false };
const T = DEFAULT_ANCHOR;
const AT: SqlOptions = { asOf: { kind: 'instant', at: T }, literals: 'inline' };
const NOW: SqlOptions = { asOf: { kind: 'now' }, literals: 'inline' };
const KINDS: [Kind, 'segment' | 'trait' | 'score' | 'lifecycle'][] = [
  ['Segment', 'segment'],
  ['Trait', 'trait'],
  ['Score', 'score'],
  ['Lifecycle', 'lifecycle'],
];

function shopProject(edits: [string, string, string][] = []): Project {
  const project = Project.load(SHOP);
  for (const [file, from, to] of edits) {
    const text = readFileSync(join(SHOP, file), 'utf8');
    if (!text.includes(from)) throw new Error(`the shape test's edit no longer applies: ${file}: ${from}`);
    project.setFile(file, text.replace(from, to));
  }
  return project;
}

function definitions(analysis: Analysis): [Kind, 'segment' | 'trait' | 'score' | 'lifecycle', DefinitionInfo][] {
  return KINDS.flatMap(([kind, name]) => analysis.ofKind(kind).map((info): [Kind, typeof name, DefinitionInfo] => [kind, name, info]));
}

/** A Db that records every statement it runs (inside transactions too). */
function recording(db: Db, log: { sql: string; params: readonly unknown[] }[]): Db {
  const wrap = (tx: Db): Db => ({
    kind: tx.kind,
    label: tx.label,
    query(text, params) {
      log.push({ sql: text, params: params ?? [] });
      return tx.query(text, params);
    },
    exec(text) {
      log.push({ sql: text, params: [] });
      return tx.exec(text);
    },
    transaction: (fn, opts) => tx.transaction((inner) => fn(wrap(inner)), opts),
    close: () => tx.close(),
  });
  return wrap(db);
}

describe('query shapes: no per-row probe over events (EXPLAIN, example shop at 20k customers, PostgreSQL)', function () {
  this.timeout(120_000);
  let tdb: TestDb | undefined;
  let catalog: Catalog;
  let analysis: Analysis;

  before(async function () {
    if (!(await postgresReachable())) this.skip();
    tdb = await createTestDb('postgres');
    await loadShop(tdb.db, { customers: CUSTOMERS, anchor: T });
    const project = shopProject();
    catalog = await loadCatalog(tdb.db, project.analyze({}).definitions);
    analysis = project.analyze({ catalog, now: T });
  });

  after(async () => {
    await tdb?.drop();
  });

  it('the check itself catches a correlated probe and a per-row nested loop (planned and executed)', async () => {
    const correlated = `select c.id from customers c where (select count(*) from events e where e.customer_id = c.id and e.event_name = 'purchase') >= 2`;
    for (const analyze of [false, true]) {
      const plan = await explainJson(tdb!.db, correlated, [], analyze);
      assert.ok(perRowProbes(plan, EVENTS).some((p) => /SubPlan/.test(p)), `a correlated count is a SubPlan (analyze ${analyze})`);
    }
    const lateral = `select c.id, l.n from (select * from customers order by id limit 50) c cross join lateral (select count(*) as n from events e where e.customer_id = c.id) l`;
    assert.ok(perRowProbes(await explainJson(tdb!.db, lateral, [], true), EVENTS).some((p) => /ran \d+ times/.test(p)), 'a lateral probe runs per row');
    assert.ok(perRowProbes(await explainJson(tdb!.db, lateral, [], false), EVENTS).some((p) => /inner side of a nested loop/.test(p)), 'a lateral probe is planned per row');
    assert.deepEqual(perRowProbes(await explainJson(tdb!.db, `select count(*) from events`, [], true), EVENTS), [], 'a plain scan is fine');
  });

  it('the project has every kind to check', () => {
    for (const [kind] of KINDS) if (!analysis.ofKind(kind).length) throw new Error(`no ${kind} in the example`);
  });

  it('deploy views, materialize: table bodies and refresh (the SQL at now())', async () => {
    for (const [, kind, info] of definitions(analysis)) {
      const q = info.resolved.query!;
      await assertNoPerRowProbes(tdb!.db, compileQuery(q, NOW).sql, [], { ...EVENTS, label: `${kind} ${info.def.name}` });
    }
  });

  it('the SQL at an instant (snapshot, plan fallback, compile --as-of)', async () => {
    for (const [, kind, info] of definitions(analysis)) {
      const q = info.resolved.query!;
      await assertNoPerRowProbes(tdb!.db, compileQuery(q, AT).sql, [], { ...EVENTS, label: `${kind} ${info.def.name}` });
    }
  });

  it('snapshot: each lifecycle as takeLifecycleSnapshot compiles it', async () => {
    for (const info of analysis.ofKind('Lifecycle')) {
      const q = info.resolved.query!;
      if (q.k !== 'values') throw new Error('lifecycle without a values query');
      await assertNoPerRowProbes(tdb!.db, compileValues(q, AT).sql, [], { ...EVENTS, label: `lifecycle ${info.def.name}` });
    }
  });

  it('every preview statement (segment, trait, score, lifecycle; with the editor detail)', async () => {
    for (const [, kind, info] of definitions(analysis)) {
      for (const detail of [true]) {
        const log: { sql: string; params: readonly unknown[] }[] = [];
        await preview(recording(tdb!.db, log), analysis, kind, info.def.name, { asOf: T, timeoutMs: 60_000, detail });
        const reads = log.filter((s) => /\bfrom "?events"?\b/i.test(s.sql));
        if (!reads.length && /event|trait|score|lifecycle|stage/.test(JSON.stringify(info.resolved.query))) {
          // Every definition of the example except pure attribute segments reads events.
          if (kind !== 'segment') throw new Error(`${kind} ${info.def.name}: no statement read events`);
        }
        for (const s of reads) await assertNoPerRowProbes(tdb!.db, s.sql, s.params, { ...EVENTS, label: `preview ${kind} ${info.def.name}${detail ? ' (detail)' : ''}` });
      }
    }
  });

  it("plan: both versions of every changed definition in one statement", async () => {
    const edited = shopProject([
      ['definitions/lifecycle.yaml', '{ not: { stream: events, within: 30d } }', '{ not: { stream: events, within: 45d } }'],
      ['definitions/profile.yaml', '{ trait: sessions_30d, weight: 0.30, from: 0, to: 6 }', '{ trait: sessions_30d, weight: 0.30, from: 0, to: 8 }'],
      ['definitions/profile.yaml', 'compute: { event: purchase, within: 90d }', 'compute: { event: purchase, within: 60d }'],
      ['definitions/segments.yaml', '{ attribute: plan, in: [pro, business] }', '{ attribute: plan, in: [business] }'],
      ['definitions/segments.yaml', 'not: { event: login, within: 14d }', 'not: { event: login, within: 21d }'],
    ]).analyze({ catalog, now: T });
    let pairs = 0;
    for (const [kindName, kind, after] of definitions(edited)) {
      const before = analysis.get(kindName, after.def.name);
      const a = before?.resolved.query;
      const b = after.resolved.query;
      if (!a || !b || before!.fingerprint === after.fingerprint) continue;
      const pair = a.k === 'members' && b.k === 'members' ? compileMembersChange(a, b, AT) : a.k === 'values' && b.k === 'values' ? compileValuesChange(a, b, AT) : undefined;
      if (!pair) continue;
      pairs++;
      // Executed (EXPLAIN ANALYZE): actual loops, not only the planned shape.
      await assertNoPerRowProbes(tdb!.db, pair.sql, pair.parameters, { ...EVENTS, label: `plan ${kind} ${after.def.name}`, analyze: true });
    }
    if (pairs < 8) throw new Error(`only ${pairs} changed definitions paired; the edits no longer reach what they should`);
  });
});
