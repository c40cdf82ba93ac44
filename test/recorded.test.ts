// What Tally records over time (kpi/recorded.ts, deploy/snapshot.ts): KPI check history written by `tally check`, and
// daily lifecycle snapshots with per-entity stage changes written by `tally deploy` and
// `tally snapshot`. Checked against oracles: the check's own JSON, and each entity's stage at two
// instants fetched separately and compared in JavaScript. Append-only, idempotent per instant/day.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Db } from '../engine/src/db/db.js';
import { Project } from '../engine/src/project.js';
import { compileValues } from '../engine/src/sql/compile.js';
import { forEachBackend } from './helpers/databases.js';
import { copyShop, useShop } from './helpers/shop.js';

const TMP = mkdtempSync(join(tmpdir(), 'tally-recorded-test-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

forEachBackend('recorded history', (backend) => {
  const shop = useShop(backend, TMP, () => copyShop(TMP, `shop-${backend}`));
  const withDb = <T>(fn: (db: Db) => Promise<T>) => shop.withDb(fn);
  const tally = (argv: string[]) => shop.tally(argv);
  const rows = (sql: string) => withDb(async (db) => (await db.query<Record<string, unknown>>(sql)).rows);

  it('tally check records one row per KPI; the same instant again adds nothing; --no-record writes nothing', async function () {
    this.timeout(120_000);
    const first = await tally(['check', '--as-of', '2026-10-01', '--format', 'json', '--fail-on', 'none']);
    assert.equal(first.code, 0, first.err);
    const kpis = (JSON.parse(first.out) as { kpis: { name: string; value: number | null; status: string; expected: number | null }[] }).kpis;
    const recorded = await rows(`select kpi, value, status, expected, as_of from tally.kpi_checks order by kpi`);
    assert.equal(recorded.length, kpis.length);
    for (const k of kpis) {
      const r = recorded.find((x) => x.kpi === k.name)!;
      assert.deepEqual({ value: r.value, status: r.status, expected: r.expected }, { value: k.value, status: k.status, expected: k.expected });
      assert.equal(new Date(String(r.as_of)).toISOString(), '2026-10-01T00:00:00.000Z');
    }
    await tally(['check', '--as-of', '2026-10-01', '--fail-on', 'none']);
    await tally(['check', '--as-of', '2026-10-08', '--fail-on', 'none', '--no-record']);
    assert.equal((await rows(`select count(*) as n from tally.kpi_checks`))[0]!.n, kpis.length);
    await tally(['check', '--as-of', '2026-10-15', '--fail-on', 'none']);
    const h = await tally(['history', '--kpi', 'revenue_30d', '--format', 'json']);
    const checks = (JSON.parse(h.out) as { checks: { as_of: string; value: number }[] }).checks;
    assert.deepEqual(
      checks.map((c) => c.as_of),
      ['2026-10-01T00:00:00.000Z', '2026-10-15T00:00:00.000Z'],
    );
    assert.equal(checks[0]!.value, kpis.find((k) => k.name === 'revenue_30d')!.value);
  });

  it('a deploy takes the day’s lifecycle snapshot; snapshots per day equal the lifecycle as of that instant; transitions equal the oracle', async function () {
    this.timeout(180_000);
    const d = await tally(['deploy', '--format', 'json']);
    assert.equal(d.code, 0, d.err);
    const deployed = JSON.parse(d.out) as { snapshot: { day: string; taken: { lifecycle: string }[] } };
    assert.deepEqual(deployed.snapshot.taken.map((t) => t.lifecycle), ['customer_lifecycle']);
    const T1 = '2026-10-01T06:00:00Z';
    const T2 = '2026-10-20T06:00:00Z';
    for (const t of [T1, T2]) {
      const s = await tally(['snapshot', '--as-of', t, '--format', 'json']);
      assert.equal(s.code, 0, s.err);
    }
    // The same day again adds nothing.
    const again = JSON.parse((await tally(['snapshot', '--as-of', '2026-10-20T23:00:00Z', '--format', 'json'])).out) as { skipped: string[]; taken: unknown[] };
    assert.deepEqual(again, { ...again, skipped: ['customer_lifecycle'], taken: [] });

    // Oracle: each entity's stage at each instant, fetched on its own.
    const analysis = Project.load(shop.project).analyze();
    const q = analysis.get('Lifecycle', 'customer_lifecycle')!.resolved.query!;
    const stages = async (at: string) => {
      const c = compileValues(q as never, { asOf: { kind: 'instant', at: new Date(at) }, literals: 'param' });
      return withDb(async (db) => new Map((await db.query<{ key: unknown; value: string }>(c.sql, c.parameters)).rows.map((r) => [String(r.key), r.value])));
    };
    const a = await stages(T1);
    const b = await stages(T2);
    const dist = (m: Map<string, string>) => {
      const out: Record<string, number> = {};
      for (const v of m.values()) out[v] = (out[v] ?? 0) + 1;
      return out;
    };
    const moves = new Map<string, number>();
    for (const k of new Set([...a.keys(), ...b.keys()])) {
      const from = a.get(k) ?? null;
      const to = b.get(k) ?? null;
      if (from !== to) moves.set(`${from}>${to}`, (moves.get(`${from}>${to}`) ?? 0) + 1);
    }
    assert.ok(moves.size > 1);

    const h = JSON.parse((await tally(['history', '--lifecycle', 'customer_lifecycle', '--format', 'json'])).out) as {
      days: { day: string; stages: Record<string, number> }[];
      transitions: { from_day: string; to_day: string; moves: { from: string | null; to: string | null; entities: number }[] }[];
    };
    assert.deepEqual(h.days.slice(0, 2).map((x) => x.day), ['2026-10-01', '2026-10-20']);
    assert.deepEqual(h.days[0]!.stages, dist(a));
    assert.deepEqual(h.days[1]!.stages, dist(b));
    const t = h.transitions[0]!;
    assert.deepEqual([t.from_day, t.to_day], ['2026-10-01', '2026-10-20']);
    assert.deepEqual(new Map(t.moves.map((m) => [`${m.from}>${m.to}`, m.entities])), moves);
  });

  it('check history and snapshots are append-only', async () => {
    await withDb(async (db) => {
      for (const sql of ['update tally.kpi_checks set value = 0', 'delete from tally.lifecycle_snapshots', 'delete from tally.lifecycle_stage_changes', 'truncate tally.kpi_checks']) {
        await assert.rejects(db.query(sql), /append-only/, sql);
      }
    });
  });
});
