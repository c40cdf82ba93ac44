// Incremental analysis must give exactly what a from-scratch analysis gives: after every edit in
// a seeded series (renames, broken references, new and removed definitions, type changes), the
// diagnostics, the IR of every definition and the reference sites match a fresh Project's.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, ir } from '../engine/src/index.js';

const SHOP = join(import.meta.dirname, '..', 'examples', 'shop');
const NOW = new Date('2026-11-01T00:00:00Z');

function fresh(files: Map<string, string>): Project {
  const p = new Project(SHOP, readFileSync(join(SHOP, 'tally.yaml'), 'utf8'));
  for (const [k, v] of files) p.setFile(k, v);
  return p;
}

function snapshot(p: Project) {
  const a = p.analyze({ now: NOW });
  return {
    diagnostics: a.diagnostics.map((d) => `${d.file}:${d.range.start.line}:${d.range.start.character} ${d.code} ${d.message}`),
    ir: a.infos.map((i) => `${i.def.kind}:${i.def.name}:${i.hasErrors}:${ir.structuralKey(i.resolved.query ?? null)}`),
    refs: a.refs.map((r) => `${r.file}:${r.span[0]}:${r.kind}:${r.target}`).sort(),
  };
}

function exampleFiles(): Map<string, string> {
  const files = new Map<string, string>();
  for (const f of readdirSync(join(SHOP, 'definitions'))) files.set(`definitions/${f}`, readFileSync(join(SHOP, 'definitions', f), 'utf8'));
  return files;
}

describe('incremental analysis', () => {

  it('reuses unaffected definitions and matches a fresh analysis after every edit', () => {
    const files = exampleFiles();
    const live = fresh(files);
    live.analyze({ now: NOW });
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const seg = 'definitions/segments.yaml';
    const prof = 'definitions/profile.yaml';
    const lc = 'definitions/lifecycle.yaml';
    const edits: [string, (t: string) => string][] = [
      [seg, (t) => t.replace('within: 90d', 'within: 91d')],
      [seg, (t) => t.replace(/segment: ([a-z_]+)/, 'segment: $1_missing')],
      [seg, (t) => `${t}\n---\nkind: Segment\nname: added_later\nversion: 1\nwhere: { segment: champions }\n`],
      [prof, (t) => t.replace('name: lifetime_value', 'name: lifetime_value2')],
      [prof, (t) => t.replace('name: lifetime_value2', 'name: lifetime_value')],
      [lc, (t) => t.replace(/within: 7d/, 'within: 8d')],
      [seg, (t) => t.replace(/\n---\nkind: Segment\nname: added_later[\s\S]*$/, '\n')],
      [prof, (t) => t.replace('type: number', 'type: string')],
      [seg, (t) => t.replace(/segment: ([a-z_]+)_missing/, 'segment: $1')],
      [prof, (t) => t.replace('type: string', 'type: number')],
      [seg, (t) => `${t}\n---\nkind: Segment\nname: champions\nversion: 1\nwhere: { attribute: country, eq: DE }\n`],
      [seg, (t) => t.replace(/\n---\nkind: Segment\nname: champions\nversion: 1\nwhere: \{ attribute: country, eq: DE \}\n$/, '\n')],
    ];
    let reusedSomewhere = false;
    for (let round = 0; round < 3; round++) {
      for (const [file, edit] of edits) {
        const before = files.get(file)!;
        const after = edit(before);
        files.set(file, after);
        live.setFile(file, after);
        const got = snapshot(live);
        if (live.lastReused > 0) reusedSomewhere = true;
        const want = snapshot(fresh(files));
        assert.deepEqual(got, want, `after editing ${file} (round ${round})`);
        if (rnd(3) === 0) live.analyze({ now: NOW }); // sometimes analyse twice (cache hit)
      }
    }
    assert.ok(reusedSomewhere, 'incremental analysis reused definitions');
  });

  it('re-resolves only what an edit can affect', () => {
    const files = exampleFiles();
    const live = fresh(files);
    const total = live.analyze({ now: NOW }).infos.length;
    const seg = 'definitions/segments.yaml';
    live.setFile(seg, files.get(seg)!.replace('within: 90d', 'within: 92d'));
    live.analyze({ now: NOW });
    const segmentsInFile = live.file(seg)!.definitions.length;
    assert.ok(live.lastReused >= total - segmentsInFile - 5, `reused ${live.lastReused} of ${total}`);
  });
});
