// The example shop's data generator: deterministic, internally consistent, and loadable.

import assert from 'node:assert/strict';
import { connect, type Db } from '../engine/src/db/db.js';
import { DEFAULT_ANCHOR, generateShop, loadShop, type ShopBatch, type ShopOptions } from '../examples/shop/generate.js';

const DAY = 86_400;

function append(to: unknown[], from: readonly unknown[]): void {
  for (const x of from) to.push(x);
}

function max(xs: readonly number[]): number {
  let m = -Infinity;
  for (const x of xs) if (x > m) m = x;
  return m;
}

/** All batches of a generation, concatenated into one batch. */
function generateAll(opts: ShopOptions): ShopBatch & { batches: number } {
  const out: ShopBatch = {
    customers: { id: [], email: [], name: [], country: [], plan: [], created_at: [] },
    events: { customer_id: [], event_name: [], occurred_at: [], properties: [] },
    archetypes: [],
  };
  let batches = 0;
  for (const b of generateShop(opts)) {
    batches++;
    for (const k of Object.keys(out.customers) as (keyof ShopBatch['customers'])[]) append(out.customers[k], b.customers[k]);
    for (const k of Object.keys(out.events) as (keyof ShopBatch['events'])[]) append(out.events[k], b.events[k]);
    append(out.archetypes, b.archetypes);
  }
  return { ...out, batches };
}

describe('examples/shop generator', () => {
  describe('determinism', () => {
    it('yields identical batches for identical options', () => {
      const opts = { customers: 400, seed: 7, anchor: new Date('2026-03-15T12:00:00Z'), days: 200, batchEvents: 2000 };
      const a = [...generateShop(opts)];
      const b = [...generateShop({ ...opts, anchor: new Date(opts.anchor) })];
      assert.ok(a.length > 1, 'expected several batches');
      assert.deepStrictEqual(a, b);
    });

    it('yields different data for a different seed', () => {
      const a = generateAll({ customers: 300, seed: 1 });
      const b = generateAll({ customers: 300, seed: 2 });
      assert.equal(a.customers.id.length, b.customers.id.length);
      assert.notDeepStrictEqual(a.events, b.events);
      assert.notDeepStrictEqual(a.customers.created_at, b.customers.created_at);
      assert.notDeepStrictEqual(a.customers.country, b.customers.country);
    });

    it('does not depend on how the batches are cut', () => {
      const small = generateAll({ customers: 300, batchEvents: 500 });
      const large = generateAll({ customers: 300, batchEvents: 1_000_000 });
      assert.ok(small.batches > 5 && large.batches === 1, `batches: ${small.batches} vs ${large.batches}`);
      assert.deepStrictEqual(small.customers, large.customers);
      assert.deepStrictEqual(small.events, large.events);
    });

    it('is relative to the anchor: moving it moves every time by the same amount', () => {
      const a = generateAll({ customers: 200, anchor: new Date('2026-01-01T00:00:00Z') });
      const b = generateAll({ customers: 200, anchor: new Date('2026-01-11T00:00:00Z') });
      assert.deepStrictEqual(b.customers.created_at, a.customers.created_at.map((t) => t + 10 * DAY));
      assert.deepStrictEqual(b.events.occurred_at, a.events.occurred_at.map((t) => t + 10 * DAY));
      assert.deepStrictEqual(b.events.properties, a.events.properties);
    });

    it('defaults to a fixed anchor and 10 000 customers, not the wall clock', () => {
      const first = generateShop().next().value as ShopBatch;
      assert.equal(first.customers.id[0], 1);
      const all = generateAll({});
      assert.equal(all.customers.id.length, 10_000);
      const anchorSec = DEFAULT_ANCHOR.getTime() / 1000;
      assert.ok(max(all.events.occurred_at) <= anchorSec);
      assert.ok(max(all.events.occurred_at) > anchorSec - DAY, 'the data should run right up to the anchor');
    });
  });

  describe('invariants', () => {
    const anchor = new Date('2026-08-01T06:30:00.500Z');
    const anchorSec = Math.floor(anchor.getTime() / 1000);
    const days = 400;
    const data = generateAll({ customers: 5000, seed: 11, anchor });
    const n = data.customers.id.length;
    const createdById = new Map(data.customers.id.map((id, i) => [id, data.customers.created_at[i]!]));

    it('has ids 1..n in signup order, all within the history', () => {
      assert.deepStrictEqual(data.customers.id, Array.from({ length: 5000 }, (_, i) => i + 1));
      for (let i = 0; i < n; i++) {
        const t = data.customers.created_at[i]!;
        assert.ok(t <= anchorSec && t >= anchorSec - days * DAY, `created_at out of range for ${i + 1}`);
        if (i > 0) assert.ok(t >= data.customers.created_at[i - 1]!, 'created_at should not decrease with id');
      }
    });

    it('grows over time: more signups in the second half of the history than in the first', () => {
      const mid = anchorSec - (days / 2) * DAY;
      const late = data.customers.created_at.filter((t) => t > mid).length;
      assert.ok(late > 0.6 * n && late < 0.8 * n, `late signups: ${late} of ${n}`);
    });

    it('has exactly one signup per customer, at created_at', () => {
      const signups = new Map<number, number[]>();
      data.events.event_name.forEach((e, i) => {
        if (e !== 'signup') return;
        const id = data.events.customer_id[i]!;
        signups.set(id, [...(signups.get(id) ?? []), data.events.occurred_at[i]!]);
      });
      assert.equal(signups.size, n);
      for (const [id, times] of signups) assert.deepStrictEqual(times, [createdById.get(id)], `customer ${id}`);
    });

    it('has no row after the anchor, and every event belongs to an existing customer after its signup', () => {
      for (let i = 0; i < data.events.customer_id.length; i++) {
        const t = data.events.occurred_at[i]!;
        const created = createdById.get(data.events.customer_id[i]!);
        assert.ok(created !== undefined, `event ${i} has an unknown customer`);
        assert.ok(t <= anchorSec, `event ${i} is after the anchor`);
        assert.ok(t >= created, `event ${i} is before its customer's signup`);
        assert.ok(Number.isInteger(t), 'times are whole seconds');
      }
      assert.ok(max(data.customers.created_at) <= anchorSec);
    });

    it('keeps each customer\'s events together and in time order', () => {
      const { customer_id: ids, occurred_at: ts } = data.events;
      for (let i = 1; i < ids.length; i++) {
        assert.ok(ids[i]! >= ids[i - 1]!, 'events are grouped by customer');
        if (ids[i] === ids[i - 1]) assert.ok(ts[i]! >= ts[i - 1]!, 'events of a customer are in time order');
      }
    });

    it('leaves about 3% of countries empty and weights the rest towards DE', () => {
      const nulls = data.customers.country.filter((c) => c === null).length / n;
      assert.ok(nulls > 0.015 && nulls < 0.045, `null share ${nulls}`);
      const counts = new Map<string, number>();
      for (const c of data.customers.country) if (c) counts.set(c, (counts.get(c) ?? 0) + 1);
      const top = [...counts].sort((a, b) => b[1] - a[1])[0]!;
      assert.equal(top[0], 'DE');
      assert.ok(counts.size >= 8, 'several countries');
    });

    it('has valid plans, emails and mostly present names', () => {
      assert.ok(data.customers.plan.every((p) => p === 'free' || p === 'pro' || p === 'business'));
      assert.ok(new Set(data.customers.plan).size === 3);
      data.customers.email.forEach((e, i) => assert.match(e, new RegExp(`^(user|qa\\+)${i + 1}@[a-z.]+$`)));
      assert.equal(new Set(data.customers.email).size, n, 'emails are unique');
      const named = data.customers.name.filter((x) => x !== null).length;
      assert.ok(named > 0.95 * n && named < n);
    });

    it('averages 25-40 events per customer with a realistic mix', () => {
      const perCustomer = data.events.customer_id.length / n;
      assert.ok(perCustomer >= 25 && perCustomer <= 40, `events per customer ${perCustomer}`);
      const byName = new Map<string, number>();
      for (const e of data.events.event_name) byName.set(e, (byName.get(e) ?? 0) + 1);
      assert.deepStrictEqual(
        [...byName.keys()].sort(),
        ['add_to_cart', 'login', 'purchase', 'signup', 'support_ticket', 'survey', 'view_item'],
      );
      const c = (k: string) => byName.get(k) ?? 0;
      assert.ok(c('view_item') > c('add_to_cart') && c('add_to_cart') > c('purchase'), 'a funnel narrows');
      assert.ok(new Set(data.archetypes).size === 6, 'all archetypes occur');
    });

    it('gives purchases an amount with at most 2 decimals and an integer item count', () => {
      let purchases = 0;
      data.events.event_name.forEach((e, i) => {
        const p = JSON.parse(data.events.properties[i]!) as Record<string, unknown>;
        if (e !== 'purchase') return;
        purchases++;
        assert.deepStrictEqual(Object.keys(p).sort(), ['amount', 'items']);
        assert.equal(typeof p.amount, 'number');
        assert.ok((p.amount as number) > 0);
        assert.equal(Math.round((p.amount as number) * 100) / 100, p.amount);
        assert.ok(Number.isInteger(p.items) && (p.items as number) >= 1);
      });
      assert.ok(purchases > n / 2);
    });

    it('has NPS answers 0..10 from a minority, some answering more than once', () => {
      const answers = new Map<number, number>();
      data.events.event_name.forEach((e, i) => {
        if (e !== 'survey') return;
        const { score } = JSON.parse(data.events.properties[i]!) as { score: number };
        assert.ok(Number.isInteger(score) && score >= 0 && score <= 10, `score ${score}`);
        const id = data.events.customer_id[i]!;
        answers.set(id, (answers.get(id) ?? 0) + 1);
      });
      assert.ok(answers.size > 0.05 * n && answers.size < 0.4 * n, `responders ${answers.size}`);
      const repeat = [...answers.values()].filter((k) => k > 1).length;
      assert.ok(repeat > 0 && repeat < answers.size / 2, `repeat responders ${repeat}`);
    });

    it('has support tickets of low and high priority, and {} on plain events', () => {
      const priorities = new Set<string>();
      data.events.event_name.forEach((e, i) => {
        const props = data.events.properties[i]!;
        if (e === 'support_ticket') priorities.add((JSON.parse(props) as { priority: string }).priority);
        else if (e === 'login' || e === 'view_item' || e === 'add_to_cart') assert.equal(props, '{}');
        else if (e === 'signup') assert.match(props, /^\{"source":"(organic|paid|referral)"\}$/);
      });
      assert.deepStrictEqual([...priorities].sort(), ['high', 'low']);
    });
  });

  describe('loadShop into PGlite', function () {
    this.timeout(120_000);
    let db: Db;
    const opts = { customers: 500, seed: 5, anchor: new Date('2026-05-01T00:00:00Z') };
    const expected = generateAll(opts);

    before(async () => {
      db = await connect('pglite:memory', { baseDir: '.' });
    });
    after(async () => {
      await db?.close();
    });

    it('loads exactly the generated rows and reports their counts', async () => {
      const loaded = await loadShop(db, opts);
      assert.deepStrictEqual(loaded, { customers: 500, events: expected.events.customer_id.length });
      const r = await db.query<{ customers: number; events: number; signups: number; revenue: number }>(
        `select (select count(*) from customers) as customers, (select count(*) from events) as events,
                (select count(distinct customer_id) from events where event_name = 'signup') as signups,
                (select sum((properties->>'amount')::numeric) from events where event_name = 'purchase') as revenue`,
      );
      const revenueCents = expected.events.properties.reduce((s, p, i) => {
        return expected.events.event_name[i] === 'purchase' ? s + Math.round((JSON.parse(p) as { amount: number }).amount * 100) : s;
      }, 0);
      assert.deepStrictEqual(r.rows[0], { customers: 500, events: loaded.events, signups: 500, revenue: revenueCents / 100 });
    });

    it('stores times, nulls and properties faithfully', async () => {
      const r = await db.query<{ id: number; email: string; country: string | null; created_at: string }>(
        'select id, email, country, created_at from customers order by id',
      );
      assert.deepStrictEqual(
        r.rows.map((x) => [x.id, x.email, x.country, x.created_at]),
        expected.customers.id.map((id, i) => [
          id,
          expected.customers.email[i],
          expected.customers.country[i],
          new Date(expected.customers.created_at[i]! * 1000).toISOString(),
        ]),
      );
      const ev = await db.query<{ id: number; customer_id: number; occurred_at: string; properties: unknown }>(
        'select id, customer_id, occurred_at, properties from events order by id limit 200',
      );
      ev.rows.forEach((row, i) => {
        assert.equal(row.id, i + 1, 'serial ids follow the generation order');
        assert.equal(row.customer_id, expected.events.customer_id[i]);
        assert.equal(row.occurred_at, new Date(expected.events.occurred_at[i]! * 1000).toISOString());
        assert.deepStrictEqual(row.properties, JSON.parse(expected.events.properties[i]!));
      });
      const late = await db.query<{ n: number }>('select count(*) as n from events where occurred_at > $1', [opts.anchor.toISOString()]);
      assert.equal(late.rows[0]!.n, 0);
    });

    it('creates the indexes after loading', async () => {
      const r = await db.query<{ indexname: string }>(
        `select indexname from pg_indexes where tablename in ('customers', 'events') and indexname not like '%pkey' order by 1`,
      );
      assert.deepStrictEqual(
        r.rows.map((x) => x.indexname),
        ['customers_country_idx', 'events_customer_event_time_idx', 'events_event_time_idx'],
      );
    });

    it('loads into a named schema, refuses to overwrite, and replaces on request', async () => {
      const small = { customers: 20, seed: 3, anchor: opts.anchor, schema: 'Shop Data' };
      const first = await loadShop(db, small);
      const r = await db.query<{ n: number }>('select count(*) as n from "Shop Data".customers');
      assert.equal(r.rows[0]!.n, 20);
      await assert.rejects(loadShop(db, small), /already exists/);
      const again = await loadShop(db, { ...small, replace: true });
      assert.deepStrictEqual(again, first);
      const e = await db.query<{ n: number }>('select count(*) as n from "Shop Data".events');
      assert.equal(e.rows[0]!.n, first.events);
    });
  });
});
