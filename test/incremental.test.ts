// Incremental analysis must give exactly what a from-scratch analysis gives: after every edit in
// a seeded series (renames, broken references, new and removed definitions and files, duplicate
// names, cycles, syntax errors, type and model changes), the diagnostics, the IR, fingerprint and
// error state of every definition and the reference sites match a fresh Project's; on the example
// shop and on a generated project of 1,000 files.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Project, ir } from '../engine/src/index.js';
import { generateDefinitionFiles } from '../bench/gen-defs.js';

const SHOP = join(import.meta.dirname, '..', 'examples', 'shop');
const NOW = new Date('2026-11-01T00:00:00Z');

function fresh(files: Map<string, string>, tallyYaml = readFileSync(join(SHOP, 'tally.yaml'), 'utf8')): Project {
  const p = new Project(SHOP, tallyYaml);
  for (const [k, v] of files) p.setFile(k, v);
  return p;
}

function snapshot(p: Project) {
  const a = p.analyze({ now: NOW });
  return {
    diagnostics: a.diagnostics.map((d) => `${d.file}:${d.range.start.line}:${d.range.start.character} ${d.code} ${d.message}`),
    ir: a.infos.map((i) => `${i.def.kind}:${i.def.name}:${i.hasErrors}:${ir.structuralKey(i.resolved.query ?? null)}`),
    fingerprints: a.infos.map((i) => i.fingerprint),
    byFile: [...a.diagnosticsByFile].map(([f, list]) => `${f}: ${JSON.stringify(list)}`).sort(),
    full: JSON.stringify(a.diagnostics),
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

  /** A seeded series of edits of every sort, each compared with a fresh analysis. */
  function randomEdits(files: Map<string, string>, steps: number, seed: number, tallyYaml?: string): number {
    let state = seed;
    const rnd = (n: number) => {
      state = (Math.imul(state, 1103515245) + 12345) & 0x7fffffff;
      return (state >>> 8) % n; // the high bits (the low ones of this generator repeat quickly)
    };
    const pick = <T,>(xs: readonly T[]): T => xs[rnd(xs.length)]!;
    const live = fresh(files, tallyYaml);
    live.analyze({ now: NOW });
    const deleted = new Map<string, string>();
    const names = () => [...files.values()].flatMap((t) => [...t.matchAll(/^name: ([a-z0-9_]+)$/gm)].map((m) => m[1]!));
    const kindsOf = (kind: string) => [...files.values()].flatMap((t) => t.split(/^---$/m)).filter((d) => d.includes(`kind: ${kind}\n`)).map((d) => /^name: ([a-z0-9_]+)$/m.exec(d)?.[1]).filter((n): n is string => !!n);
    let added = 0;
    let reused = 0;
    const ops: [string, () => void][] = [
      ['tweak a window', () => {
        const f = pick([...files.keys()]);
        files.set(f, files.get(f)!.replace(/within: (\d+)d/, (_, n: string) => `within: ${Number(n) + 1 + rnd(5)}d`));
      }],
      ['rename a definition', () => {
        const f = pick([...files.keys()]);
        files.set(f, files.get(f)!.replace(/^name: ([a-z0-9_]+)$/m, 'name: $1_r'));
      }],
      ['undo renames', () => {
        for (const [f, t] of files) if (/^name: [a-z0-9_]+_r$/m.test(t)) files.set(f, t.replace(/^name: ([a-z0-9_]+)_r$/gm, 'name: $1'));
      }],
      ['break a reference', () => {
        const f = pick([...files.keys()]);
        files.set(f, files.get(f)!.replace(/(segment|trait|score): ([a-z0-9_]+)([ ,}\n])/, '$1: $2_missing$3'));
      }],
      ['fix references', () => {
        for (const [f, t] of files) if (t.includes('_missing')) files.set(f, t.replace(/_missing/g, ''));
      }],
      ['delete a file', () => {
        const f = pick([...files.keys()].filter((k) => !k.endsWith('model.yaml')));
        deleted.set(f, files.get(f)!);
        files.delete(f);
      }],
      ['restore a file', () => {
        if (!deleted.size) return;
        const f = pick([...deleted.keys()]);
        files.set(f, deleted.get(f)!);
        deleted.delete(f);
      }],
      ['new file referencing others', () => {
        const segs = kindsOf('Segment');
        const traits = kindsOf('Trait');
        const n = added++;
        const conds = [`{ segment: ${pick(segs)} }`, ...(traits.length ? [`{ trait: ${pick(traits)}, gte: 1 }`] : [])];
        files.set(`definitions/new_${n}.yaml`, `kind: Segment\nname: added_${n}\nversion: 1\nwhere:\n  all: [${conds.join(', ')}]\n`);
      }],
      ['a cycle across files, and a dependent', () => {
        const n = added++;
        files.set(`definitions/cyc_${n}a.yaml`, `kind: Segment\nname: cyc_${n}_a\nversion: 1\nwhere: { segment: cyc_${n}_b }\n`);
        files.set(`definitions/cyc_${n}b.yaml`, `kind: Segment\nname: cyc_${n}_b\nversion: 1\nwhere: { any: [{ segment: cyc_${n}_a }, { attribute: country, eq: DE }] }\n`);
        files.set(`definitions/cyc_${n}c.yaml`, `kind: Segment\nname: cyc_${n}_c\nversion: 1\nwhere: { segment: cyc_${n}_b }\n`);
      }],
      ['break a cycle', () => {
        const f = [...files.keys()].find((k) => /cyc_\d+b\.yaml$/.test(k));
        if (f) files.set(f, files.get(f)!.replace(/\{ segment: cyc_\d+_a \}, /, ''));
      }],
      ['reference into a cycle from an existing definition', () => {
        const cyc = kindsOf('Segment').filter((n) => n.startsWith('cyc_'));
        const f = pick([...files.keys()].filter((k) => /(segments|gen\/f\d+)\.yaml$/.test(k)));
        if (cyc.length && f) files.set(f, files.get(f)!.replace(/^where:\n  all:\n/m, `where:\n  all:\n    - { segment: ${pick(cyc)} }\n`));
      }],
      ['reference into a cycle from a file resolved before it (which definition reports the cycle changes)', () => {
        const cyc = kindsOf('Segment').filter((n) => /^cyc_\d+_b$/.test(n));
        if (cyc.length) files.set(`definitions/a_ref_${added++}.yaml`, `kind: Segment\nname: ref_${added}\nversion: 1\nwhere: { segment: ${pick(cyc)} }\n`);
      }],
      ['duplicate a name', () => {
        const n = added++;
        files.set(`definitions/a_dup_${n}.yaml`, `kind: Segment\nname: ${pick(kindsOf('Segment'))}\nversion: 1\nwhere: { attribute: country, eq: AT }\n`);
      }],
      ['remove duplicates', () => {
        for (const f of [...files.keys()]) if (f.includes('a_dup_')) files.delete(f);
      }],
      ['a syntax error', () => {
        const f = pick([...files.keys()]);
        files.set(f, `${files.get(f)!}\nbroken: [\n`);
      }],
      ['fix syntax errors', () => {
        for (const [f, t] of files) if (t.endsWith('\nbroken: [\n')) files.set(f, t.slice(0, -'\nbroken: [\n'.length));
      }],
      ['change the model', () => {
        const f = [...files.keys()].find((k) => k.endsWith('model.yaml'))!;
        const t = files.get(f)!;
        files.set(f, t.includes('  plan: { type: string }\n') ? t.replace('  plan: { type: string }\n', '') : t.replace(/^attributes:\n/m, 'attributes:\n  plan: { type: string }\n'));
      }],
      ['reverse the documents of a file', () => {
        const f = pick([...files.keys()]);
        const docs = files.get(f)!.split(/^---\n/m);
        if (docs.length > 1) files.set(f, docs.reverse().map((d) => (d.endsWith('\n') ? d : `${d}\n`)).join('---\n'));
      }],
    ];
    for (let step = 0; step < steps; step++) {
      const before = new Map(files);
      const [label, op] = pick(ops);
      op();
      for (const f of before.keys()) if (!files.has(f)) live.deleteFile(f);
      for (const [f, t] of files) if (before.get(f) !== t) live.setFile(f, t);
      const got = snapshot(live);
      reused += live.lastReused;
      const want = snapshot(fresh(files, tallyYaml));
      assert.deepEqual(got, want, `step ${step}: ${label} (names: ${names().length})`);
    }
    return reused;
  }

  it('matches a fresh analysis over random edits of the example shop', function () {
    this.timeout(120_000);
    const reused = randomEdits(exampleFiles(), 150, 11);
    assert.ok(reused > 0, 'incremental analysis reused definitions');
  });

  it('matches a fresh analysis over random edits of a generated project of 1,000 files', function () {
    this.timeout(300_000);
    const files = generateDefinitionFiles(1000, 1);
    const reused = randomEdits(files, 40, 5, 'tally: 1\nname: gen\ndefinitions: ["definitions/**/*.yaml"]\n');
    assert.ok(reused > 1000, 'incremental analysis reused definitions');
  });

  it('re-resolves a cycle when a definition resolved before it starts referencing it (the cycle is reported elsewhere)', () => {
    const files = new Map([
      ['definitions/model.yaml', 'kind: Entity\nname: customer\nversion: 1\ntable: customers\nkey: id\nattributes:\n  country: { type: string }\n'],
      ['definitions/cyc_a.yaml', 'kind: Segment\nname: cyc_a\nversion: 1\nwhere: { segment: cyc_b }\n'],
      ['definitions/cyc_b.yaml', 'kind: Segment\nname: cyc_b\nversion: 1\nwhere: { any: [{ segment: cyc_a }, { attribute: country, eq: DE }] }\n'],
    ]);
    const live = fresh(files);
    assert.deepEqual(live.analyze({ now: NOW }).diagnostics.map((d) => `${d.file} ${d.code}`), ['definitions/cyc_b.yaml cycle']);
    files.set('definitions/a_ref.yaml', 'kind: Segment\nname: ref\nversion: 1\nwhere: { segment: cyc_b }\n');
    live.setFile('definitions/a_ref.yaml', files.get('definitions/a_ref.yaml')!);
    assert.deepEqual(snapshot(live), snapshot(fresh(files)));
    assert.deepEqual(live.analyze({ now: NOW }).diagnostics.map((d) => `${d.file} ${d.code}`), ['definitions/cyc_a.yaml cycle']);
  });
});
