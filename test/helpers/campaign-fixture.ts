// The hand-built campaign timeline shared by campaign.test.ts and campaign-cli.test.ts: a project
// (customer entity, events, three segments, three campaigns) and its data.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Db } from '../../engine/src/db/db.js';

import { model } from './model.js';

export const MODEL = model({ attributes: { country: 'string', blocked: 'boolean' }, pii: false, propertyTypes: null });

export const SEGMENTS = `kind: Segment
name: anyone
version: 1
where: { attribute: country, is_null: false }
---
kind: Segment
name: german
version: 1
where: { attribute: country, eq: DE }
---
kind: Segment
name: blocked
version: 1
where: { attribute: blocked, eq: true }
`;

export const CAMPAIGNS = `kind: Campaign
name: newsletter
version: 1
audience: { segment: anyone }
channel: email
entry: { every: 1d }
frequency_cap: { max: 1, per: 2d }
variants:
  - { name: send, weight: 1 }
---
kind: Campaign
name: promo
version: 1
audience: { segment: german, exclude: [blocked] }
channel: email
schedule: { start: 2026-01-02, end: 2026-01-04 }
entry: once
frequency_cap: { max: 2, per: 7d }
variants:
  - { name: control, weight: 1, holdout: true }
  - { name: offer, weight: 1 }
goal: { event: purchase, within: 2d }
---
kind: Campaign
name: cart
version: 1
audience: { segment: anyone }
channel: push
trigger: { event: add_to_cart, delay: 1h }
entry: { every: 2d }
variants:
  - { name: control, weight: 1, holdout: true }
  - { name: nudge, weight: 3 }
goal: { event: purchase, within: 1d }
`;

/** Customers: 1 DE, 2 DE blocked, 3 FR, 4 DE, 5 DE (exists from 2026-01-05). */
export async function loadTimeline(db: Db): Promise<void> {
  await db.exec(`
create table customers (id bigint primary key, country text, blocked boolean not null default false, created_at timestamptz);
create table events (customer_id bigint not null, event_name text not null, occurred_at timestamptz not null);
insert into customers values
  (1, 'DE', false, '2025-06-01T00:00:00Z'),
  (2, 'DE', true,  '2025-06-01T00:00:00Z'),
  (3, 'FR', false, '2025-06-01T00:00:00Z'),
  (4, 'DE', false, '2025-06-01T00:00:00Z'),
  (5, 'DE', false, '2026-01-05T00:00:00Z');
insert into events values
  (2, 'add_to_cart', '2025-12-30T10:00:00Z'),  -- +1h is before the first run's window (T - 1d, T]: never
  (3, 'add_to_cart', '2025-12-31T12:00:00Z'),  -- +1h in (Dec 31, Jan 1]: cart on Jan 1
  (3, 'add_to_cart', '2026-01-01T23:30:00Z'),  -- +1h = Jan 2 00:30: not in Jan 2's window, in Jan 3's; re-entry exactly 2d later
  (4, 'add_to_cart', '2026-01-02T10:00:00Z'),  -- cart on Jan 3 (holdout: not sent)
  (4, 'add_to_cart', '2026-01-03T05:00:00Z'),  -- Jan 4: entered Jan 3, within 2d: held back by entry
  (1, 'add_to_cart', '2026-01-04T23:00:00Z'),  -- +1h = Jan 5 00:00 exactly: in Jan 5's window (upper bound inclusive)
  (1, 'purchase',    '2026-01-02T00:00:00Z'),  -- exactly at promo enrollment: not a conversion (strictly after)
  (1, 'purchase',    '2026-01-04T00:00:00Z'),  -- exactly enrolled_at + 2d: a conversion (window end inclusive)
  (4, 'purchase',    '2026-01-04T00:00:01Z'),  -- 1 s after control's window: not a conversion
  (1, 'login',       '2026-01-01T08:00:00Z');
`);
}

export function writeProject(dir: string, files: Record<string, string>): string {
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  writeFileSync(join(dir, 'tally.yaml'), 'tally: 1\nname: campaigns\ndefinitions: ["definitions/**/*.yaml"]\ndeploy:\n  schema: tally\ntimezone: UTC\n');
  for (const [f, t] of Object.entries(files)) writeFileSync(join(dir, 'definitions', f), t);
  return dir;
}
