// A Tally upgrade must not force version bumps on definitions nobody changed: the fingerprints of
// the example project as it stood at v0.1 (its sources copied in test/fingerprints/shop-v0.1, the
// fingerprints that v0.1 computed beside them) must come out the same from today's engine. A
// better SQL shape or a new IR field is not a change of the user's meaning (ARCHITECTURE.md,
// invariant 6). When a change of meaning is intended, say so in the release notes and regenerate
// with UPDATE_GOLDEN=1.

import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project } from '../engine/src/index.js';
import { REPO } from './helpers/shop.js';

const DIR = join(REPO, 'test', 'fingerprints');

describe('fingerprints are stable across Tally versions', () => {
  it('the v0.1 example project fingerprints as it did under v0.1', async () => {
    const project = await Project.load(join(DIR, 'shop-v0.1'));
    const analysis = project.analyze({ now: new Date('2026-11-01T00:00:00Z') });
    assert.equal(analysis.errorCount, 0, JSON.stringify(analysis.diagnostics.filter((d) => d.severity === 'error')));
    const actual: Record<string, string> = {};
    for (const d of analysis.definitions) actual[`${d.kind}:${d.name}`] = analysis.get(d.kind, d.name)!.fingerprint;
    const file = join(DIR, 'shop-v0.1.fingerprints.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, JSON.stringify(actual, null, 2) + '\n');
    const expected = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
    assert.equal(Object.keys(actual).length, 61);
    assert.deepEqual(actual, expected);
  });
});
