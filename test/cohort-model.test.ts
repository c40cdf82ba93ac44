// `kind: Cohort` and the retention form's attribute cohort: lowering and resolution diagnostics
// (codes, exact ranges, did-you-mean), the IR, and the compiled SQL's shape (offline).

import assert from 'node:assert/strict';
import { LanguageService, Project } from '../engine/src/index.js';

const MODEL = `kind: Entity
name: customer
version: 1
table: customers
key: id
created_at: created_at
attributes:
  signed_up_at: { column: created_at, type: timestamp }
  country: { type: string }
---
kind: Events
name: events
version: 1
entity: customer
table: events
entity_key: customer_id
time: occurred_at
type: event_name
`;

function diags(text: string): { code: string; text: string; message: string }[] {
  const p = new Project('/v', 'tally: 1\nname: t\ndefinitions: ["**/*.yaml"]\ntimezone: Europe/Berlin\n');
  p.setFile('model.yaml', MODEL);
  p.setFile('c.yaml', text);
  const a = p.analyze({ now: new Date('2026-11-02T00:00:00Z') });
  const lines = text.split('\n');
  return a.diagnostics
    .filter((d) => d.file === 'c.yaml' && !d.code.startsWith('smart-'))
    .map((d) => ({ code: d.code, text: lines[d.range.start.line]!.slice(d.range.start.character, d.range.end.line === d.range.start.line ? d.range.end.character : undefined), message: d.message }));
}

const cohort = (body: string) => `kind: Cohort\nname: c\nversion: 1\n${body}\n`;

describe('kind: Cohort (model and resolution)', () => {
  it('a clean cohort resolves to dialect-free IR carrying the project time zone', () => {
    const p = new Project('/v', 'tally: 1\nname: t\ndefinitions: ["**/*.yaml"]\ntimezone: Europe/Berlin\n');
    p.setFile('model.yaml', MODEL);
    p.setFile('c.yaml', cohort('cohort: { attribute: signed_up_at, every: week, count: 12 }\nreturn: { event: login }\nreturns: { weeks: 12 }'));
    const a = p.analyze({ now: new Date('2026-11-02T00:00:00Z') });
    assert.deepEqual(a.diagnostics.filter((d) => d.severity === 'error'), []);
    const q = a.get('Cohort', 'c')!.resolved.cohort!;
    assert.equal(q.timezone, 'Europe/Berlin');
    assert.deepEqual(q.returns, { unit: 'weeks', count: 12 });
    assert.doesNotMatch(JSON.stringify(q), /interval|date_trunc|at time zone/i);
    const sql = a.sqlFor('Cohort', 'c', { asOf: { kind: 'now' }, literals: 'inline' })!.sql;
    assert.match(sql, /date_trunc\('week', "e"."created_at"::timestamptz at time zone 'Europe\/Berlin'\)/);
    assert.match(sql, /generate_series\(0, 11\)/);
    assert.match(sql, /count\(m\.k\) filter \(where "m"\."r12"\)/);
    assert.doesNotMatch(sql, /\bexists\b.*"rv"/);
  });

  it('reports both or neither cohort source (cohort-form) at the offending key', () => {
    assert.deepEqual(diags(cohort('cohort: { attribute: signed_up_at, event: signup, every: week, count: 4 }\nreturn: { event: login }\nreturns: { weeks: 4 }')).map((d) => [d.code, d.text]), [['cohort-form', 'event']]);
    assert.deepEqual(diags(cohort('cohort: { every: week, count: 4 }\nreturn: { event: login }\nreturns: { weeks: 4 }')).map((d) => [d.code, d.text]), [['cohort-form', '{ every: week, count: 4 }']]);
  });

  it('reports returns with no or two forms (returns-form) and unsorted day offsets', () => {
    assert.deepEqual(diags(cohort('cohort: { attribute: signed_up_at, every: week, count: 4 }\nreturn: { event: login }\nreturns: { weeks: 4, months: 2 }')).map((d) => [d.code, d.text]), [['returns-form', 'months']]);
    assert.deepEqual(diags(cohort('cohort: { attribute: signed_up_at, every: week, count: 4 }\nreturn: { event: login }\nreturns: { days: [7, 1] }')).map((d) => [d.code, d.text]), [['bad-value', '1']]);
  });

  it('checks the schema: every, count, unknown keys', () => {
    const d = diags(cohort('cohort: { attribute: signed_up_at, every: day, count: 0 }\nreturn: { event: login, within: 7d }\nreturns: { weeks: 4 }'));
    assert.ok(d.some((x) => x.text === 'day'), JSON.stringify(d));
    assert.ok(d.some((x) => x.text === '0'), JSON.stringify(d));
    assert.ok(d.some((x) => x.code === 'unknown-key' && x.text === 'within'), JSON.stringify(d));
  });

  it('a non-timestamp attribute is a type mismatch; a misspelt one gets did-you-mean', () => {
    assert.deepEqual(diags(cohort('cohort: { attribute: country, every: week, count: 4 }\nreturn: { event: login }\nreturns: { weeks: 4 }')).map((d) => [d.code, d.text]), [['type-mismatch', 'country']]);
    const d = diags(cohort('cohort: { attribute: signed_up_att, every: week, count: 4 }\nreturn: { event: login }\nreturns: { weeks: 4 }'));
    assert.deepEqual(d.map((x) => [x.code, x.text]), [['unknown-attribute', 'signed_up_att']]);
    assert.match(d[0]!.message, /did you mean 'signed_up_at'/);
  });

  it('the KPI retention form takes an attribute cohort; mixing it with events is cohort-form', () => {
    const kpi = (c: string) => `kind: Kpi\nname: k\nversion: 1\nmetric:\n  retention: { cohort: ${c}, return: { event: login }, days: 7 }\ntarget: { gte: 0, by: 2027-12-31 }\n`;
    assert.deepEqual(diags(kpi('{ attribute: signed_up_at, within: 90d }')).filter((d) => d.code !== 'smart-no-guardrail'), []);
    assert.deepEqual(diags(kpi('{ attribute: signed_up_at, event: signup, within: 90d }')).map((d) => [d.code, d.text]), [['cohort-form', 'event']]);
    assert.deepEqual(diags(kpi('{ attribute: signed_up_at, within: 5d }')).map((d) => [d.code, d.text]), [['empty-cohort-window', '5d']]);
    assert.deepEqual(diags(kpi('{ attribute: country, within: 90d }')).map((d) => [d.code, d.text]), [['type-mismatch', 'country']]);
  });

  it('the editor: hover docs and key completion come from the Cohort schema', () => {
    const p = new Project('/v', 'tally: 1\nname: t\ndefinitions: ["**/*.yaml"]\n');
    p.setFile('model.yaml', MODEL);
    const text = cohort('cohort: { attribute: signed_up_at, every: week, count: 12 }\n\nreturns: { weeks: 4 }');
    p.setFile('c.yaml', text);
    const ls = new LanguageService(p, () => p.analyze({ now: new Date('2026-11-02T00:00:00Z') }));
    const hover = ls.hoverAt('c.yaml', text.indexOf('every') + 1);
    assert.match(hover?.markdown ?? '', /ISO week, Monday 00:00 in the project time zone/);
    const labels = ls.completionsAt('c.yaml', text.indexOf('\n\n') + 1).map((c) => c.label);
    assert.ok(labels.includes('return') && !labels.includes('cohort'), labels.join(', '));
    assert.match(ls.hoverAt('c.yaml', text.indexOf('weeks') + 1)?.markdown ?? '', /k columns W1..Wk/);
  });
});
