// The sync tests' project and data: customers 1-8 (1-5 in DE), their purchases, a segment of the
// Germans and one of everyone, a trait, and destinations on the test's receiver.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../engine/src/db/db.js';
import { model, SIGNED_UP_AT } from './model.js';
import type { Receiver } from './receiver.js';

export const SECRET = 'sk_test_7f3a9c1e5b2d4f608a1c3e5f7b9d0e2a';

export const SYNC_MODEL = model({ attributes: { signed_up_at: SIGNED_UP_AT, country: 'string', email: 'string' }, pii: false });

export function syncDefinitions(receiver: Pick<Receiver, 'url'>, opts: { batchSize?: number } = {}): string {
  const hook = (name: string, path: string, extra = '', attempts = 4) => `kind: Destination
name: ${name}
version: 1
webhook:
  url: ${receiver.url(path)}
  secret_env: SYNC_SECRET
  headers: { X-Team: growth }
  batch_size: ${opts.batchSize ?? 2}
  timeout: 500ms
  backoff: 10ms
  max_attempts: ${attempts}${extra}
`;
  return [
    `kind: Segment
name: german
version: 1
where: { attribute: country, eq: DE }
`,
    `kind: Segment
name: everyone
version: 1
where: { attribute: country, is_null: false }
`,
    `kind: Trait
name: spend
version: 1
type: number
compute: { event: purchase, sum: amount }
`,
    hook('crm', '/german'),
    hook('every_hook', '/everyone', '\n  rate_limit: 50', 5),
    hook('upsert_hook', '/upsert'),
    hook('add_hook', '/add'),
    `kind: Destination
name: closed_port
version: 1
webhook:
  url: http://127.0.0.1:1/x?token=abc
  secret_env: SYNC_SECRET
  timeout: 500ms
  backoff: 10ms
  max_attempts: 2
`,
    `kind: Destination
name: files
version: 1
folder: { path: out, format: csv }
`,
    `kind: Destination
name: crm_table
version: 1
postgres: { url_env: SYNC_DEST_DB, table: crm.audience }
`,
    `kind: Sync
name: german_table
version: 1
source: { segment: german }
fields: { attributes: [email], traits: [spend] }
destination: crm_table
`,
    `kind: Sync
name: german_crm
version: 1
source: { segment: german }
fields: { attributes: [email, signed_up_at], traits: [spend] }
mode: mirror
destination: crm
`,
    `kind: Sync
name: everyone_hook
version: 1
source: { segment: everyone }
fields: { attributes: [email] }
destination: every_hook
`,
    `kind: Sync
name: german_upsert
version: 1
source: { segment: german }
fields: { attributes: [email] }
mode: upsert
destination: upsert_hook
`,
    `kind: Sync
name: german_add
version: 1
source: { segment: german }
fields: { attributes: [email] }
mode: add_only
destination: add_hook
`,
    `kind: Sync
name: nowhere
version: 1
source: { segment: german }
destination: closed_port
`,
    `kind: Sync
name: german_files
version: 1
source: { segment: german }
fields: { attributes: [email] }
destination: files
`,
  ].join('---\n');
}

export function syncProject(dir: string, receiver: Pick<Receiver, 'url'>, opts: { batchSize?: number } = {}): string {
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), 'tally: 1\nname: sync_test\ndefinitions: ["definitions/**/*.yaml"]\ndeploy:\n  schema: tally\ntimezone: UTC\n');
  writeFileSync(join(dir, 'definitions', 'model.yaml'), SYNC_MODEL);
  writeFileSync(join(dir, 'definitions', 'syncs.yaml'), syncDefinitions(receiver, opts));
  return dir;
}

/** Customers 1-8: 1-5 in DE (5 without email), 6-8 in FR; purchases for 1 (10 + 20) and 3 (5). */
export async function loadSyncData(db: Db): Promise<void> {
  await db.exec(`
create table customers (id bigint primary key, country text, email text, created_at timestamptz);
create table events (customer_id bigint not null, event_name text not null, occurred_at timestamptz not null, properties jsonb);
insert into customers values
  (1, 'DE', 'a@example.com', '2025-06-01T00:00:00Z'),
  (2, 'DE', 'b@example.com', '2025-06-01T00:00:00Z'),
  (3, 'DE', 'c@example.com', '2025-06-01T00:00:00Z'),
  (4, 'DE', 'd@example.com', '2025-06-01T00:00:00Z'),
  (5, 'DE', null, '2025-06-01T00:00:00Z'),
  (6, 'FR', 'f@example.com', '2025-06-01T00:00:00Z'),
  (7, 'FR', 'g@example.com', '2025-06-01T00:00:00Z'),
  (8, 'FR', 'h@example.com', '2025-06-01T00:00:00Z');
insert into events values
  (1, 'purchase', '2026-01-01T00:00:00Z', '{"amount": 10}'),
  (1, 'purchase', '2026-02-01T00:00:00Z', '{"amount": 20}'),
  (3, 'purchase', '2026-03-01T00:00:00Z', '{"amount": 5}');
`);
}
