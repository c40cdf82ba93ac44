// The starter project that `tally init` writes: tally.yaml, the Entity/Events mapping and a first
// segment. STARTER_MODEL is also the one copy of the small customers + events mapping that the tests
// and the bench build on (test/helpers/model.ts), so a change to the mapping's shape is made here once.

import { PROJECT_FILE } from './project.js';

/** definitions/model.yaml of a new project: who you segment (Entity) and what they do (Events). */
export const STARTER_MODEL = `# Map your warehouse tables: who you segment (Entity) and what they do (Events).
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
`;

/** The starter's files by path relative to the project folder; `name` is the project's name. */
export function starterFiles(name: string): Record<string, string> {
  return {
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
    'definitions/model.yaml': STARTER_MODEL,
    'definitions/segments.yaml': `kind: Segment
name: recent_buyers
version: 1
description: Bought something in the last 30 days
where: { event: purchase, within: 30d }
`,
  };
}
