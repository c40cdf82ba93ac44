// Destinations and syncs as definitions: every reference checked with did-you-mean at its exact
// place, the URL and secret diagnostics, the fingerprint, and the editor (hover docs from the
// schemas, completion of the sync's references). No database.

import assert from 'node:assert/strict';
import { LanguageService, Project } from '../engine/src/index.js';
import { SYNC_MODEL } from './helpers/sync-fixture.js';

const TALLY = 'tally: 1\nname: syncs\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const T = new Date('2026-06-01T00:00:00Z');
const BASE = `kind: Segment
name: german
version: 1
where: { attribute: country, eq: DE }
---
kind: Trait
name: spend
version: 1
type: number
compute: { event: purchase, sum: amount }
---
kind: Campaign
name: winback
version: 1
audience: { segment: german }
channel: email
variants:
  - { name: control, weight: 1, holdout: true }
  - { name: ten_off, weight: 1 }
---
kind: Destination
name: crm
version: 1
webhook: { url: 'https://hooks.example.com/tally', secret_env: TALLY_TEST_SYNC_SECRET_UNSET }
`;

function analyze(syncs: string) {
  const p = new Project('/virtual/s', TALLY);
  p.setFile('definitions/model.yaml', SYNC_MODEL);
  p.setFile('definitions/base.yaml', BASE);
  p.setFile('definitions/syncs.yaml', syncs);
  return { p, a: p.analyze({ now: T }) };
}

/** `code@line:char-char message` of the diagnostics in syncs.yaml. */
function diags(syncs: string, severity?: string): string[] {
  return analyze(syncs)
    .a.diagnostics.filter((d) => d.file === 'definitions/syncs.yaml' && (!severity || d.severity === severity))
    .map((d) => `${d.code}@${d.range.start.line}:${d.range.start.character}-${d.range.end.character} ${d.message}`);
}

const sync = (body: string) => `kind: Sync\nname: s\nversion: 1\n${body}`;

describe('kind: Destination and kind: Sync', () => {
  it('a clean sync resolves to IR, with no diagnostics; its fingerprint follows its audience', () => {
    const text = sync('source: { segment: german }\nfields: { attributes: [email], traits: [spend] }\nmode: upsert\ndestination: crm\n');
    assert.deepEqual(diags(text, 'error'), []);
    const { p, a } = analyze(text);
    const s = a.get('Sync', 's')!.resolved.sync!;
    assert.deepEqual(s.fields.map((f) => [f.name, f.from, f.type]), [['email', 'attribute', 'string'], ['spend', 'trait', 'number']]);
    assert.equal(s.mode, 'upsert');
    assert.equal(s.destination.k, 'webhook');
    const before = a.get('Sync', 's')!.fingerprint;
    p.setFile('definitions/base.yaml', BASE.replace('eq: DE', 'eq: AT'));
    assert.notEqual(p.analyze({ now: T }).get('Sync', 's')!.fingerprint, before, 'the sync inlines its segment');
  });

  it('every reference has did-you-mean at its exact place: segment, campaign, variant, fields, destination', () => {
    const d = diags(sync('source: { segment: germna }\nfields: { attributes: [emial], traits: [spnd], scores: [x] }\ndestination: crn\n'), 'error');
    assert.deepEqual(d, [
      "unknown-reference@3:19-25 no segment named 'germna' (did you mean 'german'?)",
      "unknown-field@4:23-28 no attribute of entity 'customer' named 'emial' (did you mean 'email'?) to send; fields are the attributes, traits and scores of the synced entity",
      "unknown-field@4:40-44 no trait named 'spnd' (did you mean 'spend'?) to send; fields are the attributes, traits and scores of the synced entity",
      "unknown-field@4:56-57 no score named 'x' to send; fields are the attributes, traits and scores of the synced entity",
      "unknown-reference@5:13-16 no destination named 'crn' (did you mean 'crm'?)",
    ]);
    const v = diags(sync('source: { campaign: winbak, variant: ten_of }\ndestination: crm\n'), 'error');
    assert.deepEqual(v, ["unknown-reference@3:20-26 no campaign named 'winbak' (did you mean 'winback'?)"]);
    const v2 = diags(sync('source: { campaign: winback, variant: ten_of }\ndestination: crm\n'), 'error');
    assert.deepEqual(v2, ["unknown-variant@3:38-44 no variant in campaign 'winback' named 'ten_of' (did you mean 'ten_off'?) (variants: control, ten_off)"]);
  });

  it('source and destination forms; duplicate field names', () => {
    assert.match(diags(sync('source: { segment: german, campaign: winback }\ndestination: crm\n')).join('\n'), /sync-source.*not both/);
    assert.match(diags(sync('source: { campaign: winback }\ndestination: crm\n')).join('\n'), /sync-source.*needs `variant`/);
    assert.match(diags(sync('source: { segment: german }\nfields: { attributes: [email], traits: [email] }\ndestination: crm\n')).join('\n'), /duplicate-field/);
    assert.match(diags('kind: Destination\nname: d\nversion: 1\n').join('\n'), /destination-form.*exactly one of/);
    assert.match(diags("kind: Destination\nname: d\nversion: 1\nwebhook: { url: 'https://x.example' }\nfolder: { path: out }\n").join('\n'), /destination-form@4:0-6 a destination is exactly one of webhook, folder, postgres; this one has webhook and folder/);
  });

  it('URLs: malformed and credential-carrying are errors at the URL; plain http to a remote host warns; local http is fine', () => {
    const dest = (url: string) => `kind: Destination\nname: d\nversion: 1\nwebhook: { url: '${url}' }\n`;
    assert.deepEqual(diags(dest('hooks.example.com/x')), ["bad-url@3:16-37 'hooks.example.com/x' is not an absolute http(s) URL; write e.g. https://hooks.example.com/tally"]);
    assert.match(diags(dest('ftp://x.example/y')).join('\n'), /bad-url/);
    const cred = diags(dest('https://bob:hunter2@x.example/y'));
    assert.match(cred.join('\n'), /bad-url.*carries credentials/);
    assert.ok(!cred.join('\n').includes('hunter2'), 'the password is not repeated');
    assert.deepEqual(diags(dest('http://x.example/y')).map((d) => d.split(' ')[0]), ['insecure-url@3:16-36']);
    assert.deepEqual(diags(dest('http://127.0.0.1:8080/y')), []);
    assert.deepEqual(diags(dest('http://localhost/y')), []);
  });

  it('an unset secret variable is a warning at its name (tally sync makes it an error)', () => {
    const text = sync('source: { segment: german }\ndestination: crm\n');
    const { a } = analyze(text);
    const w = a.diagnostics.filter((d) => d.code === 'secret-unset');
    assert.equal(w.length, 1);
    assert.equal(w[0]!.severity, 'warning');
    assert.equal(w[0]!.file, 'definitions/base.yaml');
  });

  it('the editor: hover docs from the schema, completion of segments, variants, fields and destinations', () => {
    const text = sync('source: { campaign: winback, variant: ten_off }\nfields: { traits: [spend], attributes: [email] }\nmode: mirror\ndestination: crm\n');
    const { p } = analyze(text);
    const s = new LanguageService(p, () => p.analyze({ now: T }));
    const at = (needle: string, d = 1) => text.indexOf(needle) + d;
    assert.match(JSON.stringify(s.hoverAt('definitions/syncs.yaml', at('mode'))), /mirror.*upsert.*add_only/);
    assert.match(JSON.stringify(s.hoverAt('definitions/syncs.yaml', at('destination:'))), /The Destination to deliver to/);
    const labels = (needle: string, d: number) => s.completionsAt('definitions/syncs.yaml', at(needle, d)).map((c) => c.label);
    assert.deepEqual(labels('ten_off', 2), ['control', 'ten_off']);
    assert.deepEqual(labels('crm', 1), ['crm']);
    assert.ok(labels('spend', 1).includes('spend'));
    assert.ok(labels('email]', 1).includes('email'));
    assert.deepEqual(labels('mirror', 1).sort(), ['add_only', 'mirror', 'upsert']);
  });
});
