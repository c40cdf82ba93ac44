// The sync diff at scale: a mirror sync of a segment of N customers (default 100k) with 1% churn
// (half leave or join the segment, half change a sent field), the engine's diff (sql/sync.ts, as
// `tally sync` and `tally plan` run it) against a hand-written diff query of the same meaning over
// the same tables, in the same run. Prints both medians and the ratio.
//
//   npx tsx bench/sync.ts [--customers N] [--reps R] [--db postgres://…/postgres]
// It creates and drops its own database (tally_bench_sync_<pid>) on the server.

import pg from 'pg';
import { connect } from '../engine/src/db/db.js';
import { Project } from '../engine/src/project.js';
import { ensureSyncState } from '../engine/src/state/ddl.js';
import { syncDiff } from '../engine/src/sync/diff.js';

const args = process.argv.slice(2);
const opt = (name: string, d: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : d;
};
const N = Number(opt('--customers', '100000'));
const REPS = Number(opt('--reps', '5'));
const ADMIN = opt('--db', 'postgres://postgres@127.0.0.1:5432/postgres');
const NAME = `tally_bench_sync_${process.pid}`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: ADMIN });
  await admin.connect();
  await admin.query(`create database ${NAME}`);
  const url = new URL(ADMIN);
  url.pathname = `/${NAME}`;
  const db = await connect(url.toString(), { baseDir: '.' });
  try {
    await db.exec(`create table customers (id bigint primary key, country text, email text, created_at timestamptz);
      insert into customers select g, case when g % 2 = 0 then 'DE' else 'FR' end, 'c' || g || '@example.com', '2025-01-01' from generate_series(1, ${N}) g;
      analyze customers;`);
    const p = new Project('/virtual/bench', 'tally: 1\nname: b\ndefinitions: ["d/*.yaml"]\ntimezone: UTC\n');
    p.setFile('d/m.yaml', `kind: Entity\nname: customer\nversion: 1\ntable: customers\nkey: id\ncreated_at: created_at\nattributes:\n  country: { type: string }\n  email: { type: string }\n---\nkind: Segment\nname: german\nversion: 1\nwhere: { attribute: country, eq: DE }\n---\nkind: Destination\nname: f\nversion: 1\nfolder: { path: out }\n---\nkind: Sync\nname: b\nversion: 1\nsource: { segment: german }\nfields: { attributes: [email] }\ndestination: f\n`);
    const sync = p.analyze({ now: new Date() }).get('Sync', 'b')!.resolved.sync!;
    const asOf = new Date('2026-06-01T00:00:00Z');
    const o = { asOf: { kind: 'instant' as const, at: asOf }, literals: 'param' as const, stateSchema: 'tally', hasState: true, hasEnrollments: false };
    await db.transaction((tx) => ensureSyncState(tx, 'tally'));
    // The first delivery: every member entered and was acknowledged.
    const first = await syncDiff(db, sync, o);
    await db.query(`insert into tally.sync_runs (id, sync, version, fingerprint, destination, mode, as_of, entered, exited, changed) values (1, 'b', 1, 'x', 'f', 'mirror', $1, $2, 0, 0)`, [asOf.toISOString(), first.entered]);
    const c = first.changes;
    await db.query(`insert into tally.sync_changes (run_id, sync, seq, key, op, fields, idempotency_key) select 1, 'b', * from unnest($1::int[], $2::text[], $3::text[], $4::jsonb[], $5::text[])`, [c.map((_, i) => i + 1), c.map((x) => x.key), c.map((x) => x.op), c.map((x) => JSON.stringify(x.fields)), c.map((x) => x.idempotencyKey)]);
    await db.query(`insert into tally.sync_acks (run_id, change_id, batch) select 1, id, 1 from tally.sync_changes`);
    // 1% churn: 0.5% move country (leave or join), 0.5% change their email.
    await db.exec(`update customers set country = case when country = 'DE' then 'FR' else 'DE' end where id % 200 = 1;
      update customers set email = 'new' || id || '@example.com' where id % 200 = 2;
      analyze customers; analyze tally.sync_changes; analyze tally.sync_acks;`);
    const hand = `with cur as (select id::text as key, jsonb_build_object('email', email) as fields from customers where country = 'DE' and (created_at is null or created_at <= $1)),
      last as (select distinct on (c.key) c.key, c.op, c.fields from tally.sync_changes c join tally.sync_acks a on a.change_id = c.id where c.sync = 'b' order by c.key, a.id desc)
      select coalesce(cur.key, l.key) as key, case when cur.key is null then 'exit' when l.key is null or l.op = 'exit' then 'enter' else 'change' end as op
      from cur full join last l on l.key = cur.key
      where (cur.key is null and l.op <> 'exit') or (cur.key is not null and (l.key is null or l.op = 'exit' or cur.fields <> l.fields))`;
    const engineMs: number[] = [];
    const handMs: number[] = [];
    let engineRows = 0;
    let handRows = 0;
    for (let i = 0; i < REPS; i++) {
      let t = performance.now();
      const d = await syncDiff(db, sync, o);
      engineMs.push(performance.now() - t);
      engineRows = d.changes.length;
      t = performance.now();
      handRows = (await db.query(hand, [asOf.toISOString()])).rows.length;
      handMs.push(performance.now() - t);
    }
    if (engineRows !== handRows) throw new Error(`the two diffs disagree: engine ${engineRows}, hand-written ${handRows}`);
    const e = median(engineMs);
    const h = median(handMs);
    console.log(`sync diff, mirror, ${N.toLocaleString('en-US')} customers (${first.entered.toLocaleString('en-US')} members), 1% churn: ${engineRows} changes`);
    console.log(`  engine (sql/sync.ts + idempotency keys)  ${e.toFixed(1)} ms`);
    console.log(`  hand-written diff query                  ${h.toFixed(1)} ms`);
    console.log(`  ratio                                    ${(e / h).toFixed(2)}x  (median of ${REPS})`);
  } finally {
    await db.close();
    await admin.query(`drop database if exists ${NAME}`);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
