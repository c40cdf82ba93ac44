// Generates a project of N definitions (segments, traits, KPIs over the shop model) as text files,
// shared by the compile-throughput bench and the language-server bench.

import { model, SIGNED_UP_AT } from '../test/helpers/model.js';

export function generateDefinitionFiles(n: number, perFile = 1): Map<string, string> {
  const files = new Map<string, string>();
  files.set(
    'definitions/model.yaml',
    model({ attributes: { signed_up_at: SIGNED_UP_AT, country: 'string', plan: 'string' }, propertyTypes: 'amount: number, score: number' }),
  );
  const countries = ['DE', 'AT', 'CH', 'US', 'GB', 'FR', 'NL'];
  let doc = 0;
  let file = 0;
  let buf: string[] = [];
  const flush = () => {
    if (buf.length) files.set(`definitions/gen/f${String(file++).padStart(4, '0')}.yaml`, buf.join('---\n'));
    buf = [];
  };
  for (let i = 0; i < n; i++) {
    const c1 = countries[i % countries.length];
    const c2 = countries[(i + 3) % countries.length];
    const w = 7 + (i % 90);
    const kind = i % 10;
    let text: string;
    if (kind < 6) {
      text = `kind: Segment
name: seg_${i}
version: ${1 + (i % 3)}
description: "Generated segment ${i}"   # a comment
entity: customer
where:
  all:
    - { attribute: country, in: [${c1}, ${c2}] }
    - { event: purchase, within: ${w}d, gte: ${1 + (i % 3)} }
    - { event: purchase, sum: amount, gte: ${50 + i} }
    - not: { event: login, within: ${1 + (i % 20)}d }
    - any:
        - { attribute: plan, eq: pro }
        - { attribute: signed_up_at, before: 2026-01-01 }
`;
    } else if (kind < 8) {
      text = `kind: Trait
name: trait_${i}
version: 1
description: Purchases in ${w} days
type: number
compute: { event: purchase, within: ${w}d, sum: amount, where: [{ property: amount, gte: 10 }] }
`;
    } else {
      text = `kind: Kpi
name: kpi_${i}
version: 1
owner: growth-team
description: Buyers share ${i}
funnel: revenue
metric:
  ratio:
    numerator: { active: { event: purchase, within: ${w}d } }
    denominator: { active: { stream: events, within: ${w}d } }
target:
  gte: 0.35
  by: 2027-03-31
  baseline: { value: 0.28, on: 2026-10-01 }
guardrail: { gte: 0.1 }
`;
    }
    buf.push(text);
    doc++;
    if (buf.length >= perFile) flush();
  }
  flush();
  void doc;
  return files;
}
