// Index advice (engine/src/advise/): what `tally advise` recommends for the example shop and for a
// differently shaped project (no type column, text keys, a jsonb property filter), its JSON
// rendering as a golden file, and on a real PostgreSQL: the advised statements are valid SQL, and
// EXPLAIN of a selective segment then reads the advised index.

import { strict as assert } from 'node:assert';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Project, compileMemberCount, toDiagnostic } from '../engine/src/index.js';
import { adviseIndexes, type AdviseCatalog, type AdvisedIndex, type ExistingIndex } from '../engine/src/advise/advise.js';
import { adviceJson, adviceSql, adviceText } from '../engine/src/advise/render.js';
import { loadIndexes } from '../engine/src/advise/load.js';
import type { IrMembersQuery } from '../engine/src/ir/ir.js';
import { loadShop } from '../examples/shop/generate.js';
import { main } from '../engine/cli/main.js';
import type { Io } from '../engine/cli/io.js';
import { createTestDb, postgresReachable, type TestDb } from './helpers/databases.js';

const SHOP = join(__dirname, '..', 'examples', 'shop');
const GOLDEN = join(__dirname, 'advise', 'shop.advice.json');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** The indexes examples/shop/generate.ts creates (shopIndexSql), as pg_index would list them. */
const SHOP_INDEXES: ExistingIndex[] = [
  { schema: 'public', table: 'customers', name: 'customers_pkey', keys: ['id'], include: [], method: 'btree', partial: false, valid: true },
  { schema: 'public', table: 'customers', name: 'customers_country_idx', keys: ['country'], include: [], method: 'btree', partial: false, valid: true },
  { schema: 'public', table: 'events', name: 'events_pkey', keys: ['id'], include: [], method: 'btree', partial: false, valid: true },
  { schema: 'public', table: 'events', name: 'events_customer_event_time_idx', keys: ['customer_id', 'event_name', 'occurred_at'], include: [], method: 'btree', partial: false, valid: true },
  { schema: 'public', table: 'events', name: 'events_event_time_idx', keys: ['event_name', 'occurred_at'], include: [], method: 'btree', partial: false, valid: true },
];
const SHOP_CATALOG: AdviseCatalog = { indexes: SHOP_INDEXES, searchPath: ['public'] };

function shape(i: AdvisedIndex): string {
  const keys = i.keys.map((k) => ('property' in k ? `${k.column}->>${k.property}` : k.column)).join(',');
  return `${i.table}(${keys})${i.include.length ? `+(${i.include.join(',')})` : ''}`;
}

function find(indexes: readonly AdvisedIndex[], s: string): AdvisedIndex {
  const i = indexes.find((x) => shape(x) === s);
  assert.ok(i, `expected an advised index ${s}; got ${indexes.map(shape).join('; ')}`);
  return i;
}

describe('tally advise: the example shop', () => {
  const project = Project.load(SHOP);
  const analysis = project.analyze();
  const advice = adviseIndexes(analysis.infos, SHOP_CATALOG);

  it('advises per stream a window index (type, time) carrying the key and the measures, and a probe index (key, type, time)', () => {
    const window = find(advice.indexes, 'public.events(event_name,occurred_at)+(customer_id,properties)');
    assert.equal(window.purpose, 'window');
    assert.equal(window.status, 'missing');
    assert.deepEqual(window.supersedes, ['events_event_time_idx'], 'the generator\'s (event_name, occurred_at) is a prefix of it');
    assert.ok(window.usedBy.some((u) => u.kind === 'Trait' && u.name === 'lifetime_value'), 'lifetime_value sums amount over a grouped scan');
    assert.ok(window.usedBy.some((u) => u.kind === 'Kpi' && u.name === 'revenue_30d'));
    const probe = find(advice.indexes, 'public.events(customer_id,event_name,occurred_at)+(properties)');
    assert.equal(probe.purpose, 'probe');
    // A selective segment is a grouped scan of its candidates' events (sql/compile.ts chooseStrategy), not a probe per customer.
    assert.ok(!probe.usedBy.some((u) => u.kind === 'Segment' && u.name === 'high_value_dormant'), 'a selective segment does not probe per customer');
    assert.ok(probe.usedBy.some((u) => u.kind === 'Kpi' && u.name === 'd30_retention'), 'retention probes returns per cohort member');
    assert.deepEqual(probe.supersedes, ['events_customer_event_time_idx']);
    // The shape follows the compiler's choice: champions (three aggregates, no entity filter) is one
    // grouped scan, never a probe per customer.
    assert.ok(window.usedBy.some((u) => u.name === 'champions'));
    assert.ok(!probe.usedBy.some((u) => u.name === 'champions'));
  });

  it('advises an untyped window index for definitions that read every event type in a window', () => {
    const all = find(advice.indexes, 'public.events(occurred_at)+(customer_id,event_name)');
    assert.deepEqual(
      all.usedBy.map((u) => `${u.kind}:${u.name}`),
      ['Campaign:winback_dormant', 'Kpi:arpu_30d', 'Kpi:churn_30d', 'Kpi:high_priority_ticket_rate', 'Lifecycle:customer_lifecycle', 'Segment:dormant_customers', 'Segment:high_value_dormant', 'Segment:winback_audience'],
    );
  });

  it('recognises what existing indexes already serve (country, the primary key) and advises attribute filters that have none', () => {
    const country = find(advice.indexes, 'public.customers(country)');
    assert.equal(country.status, 'exists');
    assert.equal(country.existing, 'customers_country_idx');
    assert.ok(country.usedBy.some((u) => u.name === 'high_value_dormant'));
    const key = find(advice.indexes, 'public.customers(id)');
    assert.equal(key.status, 'exists');
    assert.equal(key.existing, 'customers_pkey');
    assert.equal(find(advice.indexes, 'public.customers(plan)').status, 'missing');
    // No advised index is a key prefix of another one on the same table that carries its columns.
    for (const a of advice.indexes)
      for (const b of advice.indexes) {
        if (a === b || a.table !== b.table) continue;
        const ak = a.keys.map((k) => k.column);
        const bk = b.keys.map((k) => k.column);
        const prefix = ak.length < bk.length && ak.every((k, i) => bk[i] === k);
        assert.ok(!(prefix && a.include.every((c) => bk.includes(c) || b.include.includes(c))), `${shape(a)} is covered by ${shape(b)}`);
      }
  });

  it('without a catalog every index is advised with status unknown; with one, a covering index (longer keys, INCLUDE columns) counts', () => {
    const offline = adviseIndexes(analysis.infos);
    assert.ok(offline.indexes.every((i) => i.status === 'unknown'));
    assert.equal(offline.indexes.length, advice.indexes.length);
    const wider: AdviseCatalog = {
      searchPath: ['public'],
      indexes: [...SHOP_INDEXES, { schema: 'public', table: 'events', name: 'mine', keys: ['event_name', 'occurred_at', 'customer_id'], include: ['properties', 'id'], method: 'btree', partial: false, valid: true }],
    };
    const w = find(adviseIndexes(analysis.infos, wider).indexes, 'public.events(event_name,occurred_at)+(customer_id,properties)');
    assert.equal(w.status, 'exists');
    assert.equal(w.existing, 'mine');
    // A partial or invalid index, or another method, does not count.
    const partial: AdviseCatalog = { searchPath: ['public'], indexes: SHOP_INDEXES.map((i) => (i.name === 'customers_country_idx' ? { ...i, partial: true } : i)) };
    assert.equal(find(adviseIndexes(analysis.infos, partial).indexes, 'public.customers(country)').status, 'missing');
  });

  it('notes once, at the Events definition, that measures are read from the jsonb column', () => {
    const notes = advice.notes.filter((n) => n.code === 'advise-jsonb-include');
    assert.equal(notes.length, 1);
    assert.equal(notes[0]!.file, 'definitions/model.yaml');
    assert.match(notes[0]!.message, /'amount'.*jsonb column properties of events/);
    assert.equal(notes[0]!.severity, 'information');
  });

  it('renders JSON (golden), text and an SQL script of only the missing indexes', () => {
    const view = { advice, notes: advice.notes.map((n) => toDiagnostic(n, project.file(n.file)!.lines)), connected: true, skipped: 0 };
    const json = JSON.stringify(adviceJson(view), null, 2) + '\n';
    if (UPDATE || !existsSync(GOLDEN)) writeFileSync(GOLDEN, json);
    assert.equal(json, readFileSync(GOLDEN, 'utf8'), 'advice JSON differs (UPDATE_GOLDEN=1 to accept)');
    const sql = adviceSql(view);
    const statements = sql.split('\n').filter((l) => l.startsWith('create index'));
    assert.equal(statements.length, advice.indexes.filter((i) => i.status === 'missing').length);
    assert.ok(!sql.includes('"country"'), 'an index that exists is not in the script');
    const text = adviceText(view);
    assert.match(text, /^\d+ indexes to create, 2 already served by existing indexes/);
    assert.match(text, /Tally never creates these itself/);
  });

  it('keeps text from definitions inside the SQL script\'s comments (an event type with a newline)', () => {
    const p = Project.load(SHOP);
    p.setFile('definitions/zz_odd.yaml', 'kind: Segment\nname: odd_type\nversion: 1\nwhere: { event: "x\\ndrop table customers; --", within: 30d }\n');
    const a = adviseIndexes(p.analyze().infos, SHOP_CATALOG);
    assert.ok(a.indexes.some((i) => i.why.includes('\n')), 'the type reached the sentence');
    const sql = adviceSql({ advice: a, notes: [], connected: true, skipped: 0 });
    for (const line of sql.split('\n')) assert.ok(line === '' || line.startsWith('-- ') || line.startsWith('create index concurrently if not exists '), line);
  });

  it('skips definitions with errors', () => {
    const p = Project.load(SHOP);
    p.setFile('definitions/zz_broken.yaml', 'kind: Segment\nname: broken_one\nversion: 1\nwhere: { event: purchase, within: 30d, gte: nope }\n');
    const a = adviseIndexes(p.analyze().infos, SHOP_CATALOG);
    assert.ok(a.indexes.every((i) => !i.usedBy.some((u) => u.name === 'broken_one')));
  });
});

/** No type column, text keys in a schema, a column measure, a jsonb property filter without a type. */
const OTHER_FILES: Record<string, string> = {
  'tally.yaml': 'tally: 1\nname: other\ndefinitions: ["defs/*.yaml"]\n',
  'defs/model.yaml': `kind: Entity
name: account
version: 1
table: app.accounts
key: account_uuid
attributes:
  tier: { type: string }
  region: { type: string }
---
kind: Events
name: clicks
version: 1
entity: account
table: app.clicks
entity_key: account_uuid
time: ts
properties: props
columns:
  duration_ms: { type: number }
`,
  'defs/segments.yaml': `kind: Segment
name: busy_gold
version: 1
where:
  all:
    - { attribute: tier, eq: gold }
    - { stream: clicks, within: 7d, gte: 3 }
---
kind: Segment
name: campaign_clickers
version: 1
where: { stream: clicks, within: 30d, where: [{ property: campaign, eq: spring }] }
---
kind: Kpi
name: spring_clicks
version: 1
owner: growth
description: Clicks on the spring campaign in the last 30 days.
metric:
  events: { stream: clicks, within: 30d, where: [{ property: campaign, eq: spring }] }
target: { gte: 1000, by: 2027-03-31 }
---
kind: Trait
name: time_spent_30d
version: 1
entity: account
type: number
compute: { stream: clicks, within: 30d, sum: duration_ms }
`,
};

function otherProject(): Project {
  const p = new Project('/virtual/other', OTHER_FILES['tally.yaml']!);
  for (const [f, text] of Object.entries(OTHER_FILES)) if (f !== 'tally.yaml') p.setFile(f, text);
  return p;
}

describe('tally advise: a stream without a type column, text keys, a jsonb property filter', () => {
  const project = otherProject();
  const analysis = project.analyze();

  it('resolves without errors', () => {
    assert.deepEqual(analysis.diagnostics.filter((d) => d.severity === 'error'), []);
  });

  it('advises (key, time) probes, (time) windows with the column measure, the attribute, and an expression index for the property filter', () => {
    const advice = adviseIndexes(analysis.infos, { searchPath: ['public'], indexes: [] });
    // A single "any" condition is an EXISTS semi-join (chooseStrategy), and reads the property; a
    // count of 3+ with an attribute filter is a grouped scan of the candidates' clicks.
    const probe = find(advice.indexes, 'app.clicks(account_uuid,ts)+(props)');
    assert.equal(probe.purpose, 'probe');
    assert.deepEqual(probe.usedBy.map((u) => u.name), ['campaign_clickers']);
    const window = find(advice.indexes, 'app.clicks(ts)+(account_uuid,duration_ms,props)');
    assert.deepEqual(window.usedBy.map((u) => u.name).sort(), ['busy_gold', 'spring_clicks', 'time_spent_30d']);
    const prop = find(advice.indexes, 'app.clicks(props->>campaign,ts)+(account_uuid)');
    assert.equal(prop.purpose, 'property');
    assert.match(prop.sql, /on "app"\."clicks" \(\(\("props" ->> 'campaign'\)\), "ts"\) include \("account_uuid"\);$/);
    assert.equal(find(advice.indexes, 'app.accounts(tier)').purpose, 'attribute');
    assert.ok(advice.notes.some((n) => n.code === 'advise-property-filter' && /'campaign'/.test(n.message)));
    for (const i of advice.indexes) assert.match(i.sql, /^create index concurrently if not exists "tally_[a-z0-9_]+" on "app"\."[a-z]+" \(.+\)( include \(.+\))?;$/);
  });
});

/** The CLI in-process with a capturing Io and an empty environment. */
async function tally(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), tty: false, cwd: process.cwd(), env: {} };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('tally advise: the CLI', () => {
  it('without a database: every index advised with status unknown, exit 0; a bad format or an argument is a usage error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-advise-'));
    try {
      cpSync(SHOP, dir, { recursive: true, filter: (src) => !src.includes('.tally') });
      const r = await tally(['advise', '--project', dir, '--format', 'json']);
      assert.equal(r.code, 0, r.err);
      const j = JSON.parse(r.out) as { connected: boolean; indexes: { status: string }[] };
      assert.equal(j.connected, false);
      assert.ok(j.indexes.length > 0 && j.indexes.every((i) => i.status === 'unknown'));
      const text = await tally(['advise', '--project', dir]);
      assert.match(text.out, /advised \(not compared with a database: none reachable\)/);
      assert.equal((await tally(['advise', '--project', dir, '--format', 'junit'])).code, 2);
      assert.equal((await tally(['advise', 'segment', '--project', dir])).code, 2);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('tally advise on PostgreSQL: the statements apply, and the planner uses them', function () {
  this.timeout(180_000);
  let t: TestDb | undefined;
  before(async function () {
    if (!(await postgresReachable())) this.skip();
    t = await createTestDb('postgres');
  });
  after(async () => t?.drop());

  it('applies every advised statement of both projects, then reports them as existing', async () => {
    const db = t!.db;
    await loadShop(db, { customers: 3000, seed: 11 });
    await db.exec(`create schema app;
      create table app.accounts (account_uuid text primary key, tier text, region text);
      create table app.clicks (account_uuid text not null, ts timestamptz not null, duration_ms int, props jsonb not null default '{}')`);
    for (const p of [Project.load(SHOP), otherProject()]) {
      const analysis = p.analyze();
      const before = adviseIndexes(analysis.infos, await loadIndexes(db));
      const missing = before.indexes.filter((i) => i.status === 'missing');
      assert.ok(missing.length > 0);
      // CREATE INDEX CONCURRENTLY runs outside a transaction block: one statement at a time.
      for (const i of missing) await db.exec(i.sql);
      const after = adviseIndexes(analysis.infos, await loadIndexes(db));
      assert.deepEqual(after.indexes.filter((i) => i.status !== 'exists').map(shape), [], 'every advised index now exists');
      for (const i of missing) assert.equal(after.indexes.find((x) => shape(x) === shape(i))?.existing, i.name);
    }
  });

  it('the CLI compares with the live indexes: json says every index exists, sql has nothing to create', async () => {
    const r = await tally(['advise', '--project', SHOP, '--db', t!.url, '--format', 'json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { connected: boolean; missing: number; indexes: { status: string; existing?: string }[] };
    assert.equal(j.connected, true);
    assert.equal(j.missing, 0);
    assert.ok(j.indexes.every((i) => i.status === 'exists' && i.existing));
    const sql = await tally(['advise', '--project', SHOP, '--db', t!.url, '--format', 'sql']);
    assert.match(sql.out, /-- nothing to create/);
    assert.doesNotMatch(sql.out, /^create index/m);
  });

  it('EXPLAIN of a selective segment (one event type over a window) reads the advised window index, index-only', async () => {
    const db = t!.db;
    const p = Project.load(SHOP);
    p.setFile('definitions/zz_one_type.yaml', 'kind: Segment\nname: bought_30d\nversion: 1\nentity: customer\nwhere: { event: purchase, within: 30d }\n');
    const q = p.analyze().get('Segment', 'bought_30d')!.resolved.query as IrMembersQuery;
    const c = compileMemberCount(q, { asOf: { kind: 'instant', at: new Date('2026-11-01T00:00:00Z') }, literals: 'inline' });
    await db.exec('vacuum analyze');
    // The generator's own indexes could serve it too (with heap visits): leave only the advised ones.
    await db.exec('drop index events_event_time_idx; drop index events_customer_event_time_idx');
    const plan = (await db.query<{ 'QUERY PLAN': string }>(`explain ${c.sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
    assert.match(plan, /Index Only Scan using tally_events_event_name_occurred_at_incl_idx/, plan);
    assert.doesNotMatch(plan, /Seq Scan on events/, plan);
  });
});
