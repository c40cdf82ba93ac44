// tally init: scaffold a project (tally.yaml + a model and a first segment) in --project DIR.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { PROJECT_FILE } from '../../src/index.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import type { GlobalOptions } from '../options.js';

export async function runInit(g: GlobalOptions, io: Io): Promise<number> {
  const dir = g.project;
  if (existsSync(join(dir, PROJECT_FILE))) throw new CliError(`${relative(io.cwd, join(dir, PROJECT_FILE)) || PROJECT_FILE} already exists; not overwriting it`);
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '') || 'growth';
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  const files: Record<string, string> = {
    [PROJECT_FILE]: `tally: 1
name: ${name}
definitions: ["definitions/**/*.yaml"]
# Your warehouse. Without it Tally uses the embedded database in .tally/db; once it is set, every
# command needs it reachable (an unset \${VAR} is an error; \`tally validate --offline\` skips it).
# warehouse:
#   url: \${DATABASE_URL}
deploy:
  schema: tally
timezone: UTC
`,
    'definitions/model.yaml': `# Map your warehouse tables: who you segment (Entity) and what they do (Events).
kind: Entity
name: customer
version: 1
description: A customer account
table: customers
key: id
created_at: created_at
attributes:
  signed_up_at: { column: created_at, type: timestamp }
  country: { type: string }
pii: [email]
---
kind: Events
name: events
version: 1
description: Everything customers do
entity: customer
table: events
entity_key: customer_id
time: occurred_at
type: event_name
properties: properties
property_types: { amount: number }
`,
    'definitions/segments.yaml': `kind: Segment
name: recent_buyers
version: 1
description: Bought something in the last 30 days
where: { event: purchase, within: 30d }
`,
  };
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    if (existsSync(p)) continue;
    writeFileSync(p, text);
  }
  if (!existsSync(join(dir, '.gitignore'))) writeFileSync(join(dir, '.gitignore'), '.tally/\n');
  const shown = relative(io.cwd, dir) || '.';
  io.out(`created a Tally project in ${shown}:
  ${PROJECT_FILE}
  definitions/model.yaml      (map your customers and events tables)
  definitions/segments.yaml   (a first segment)

next: edit definitions/model.yaml to match your tables, then
  tally validate --project ${shown} --db postgres://user@host:5432/db`);
  return EXIT_OK;
}
