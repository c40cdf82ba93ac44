// Section "demo": `node bin/tally.mjs demo --project <a temp copy of examples/shop>`, end to end,
// from the built CLI (dist/cli.mjs; built with `node esbuild.mjs` when missing). Reference in the
// same run: the floor of any embedded-database demo, a Node process that opens a fresh PGlite data
// directory, runs `select 1` and closes it.

import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, now, type Row, type Section } from './lib/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_TARGET_S = 15;

export interface DemoOptions {
  runs: number;
  log: (s: string) => void;
}

interface ProcessRun {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string): Promise<ProcessRun> {
  return new Promise((resolve, reject) => {
    const t = now();
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: now() - t, code, stdout, stderr }));
  });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
      newest = Math.max(newest, newestMtime(p));
    } else if (/\.(ts|json|mjs)$/.test(entry.name)) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

const FLOOR_SCRIPT = `
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create(process.argv[1]);
await db.query('select 1');
await db.close();
`;

export async function demoSection(o: DemoOptions): Promise<Section> {
  const notes: string[] = [];
  const bundle = join(ROOT, 'dist', 'cli.mjs');
  if (!existsSync(bundle)) {
    o.log('demo: dist/cli.mjs is missing; building it with node esbuild.mjs ...');
    const b = spawnSync(process.execPath, ['esbuild.mjs'], { cwd: ROOT, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('node esbuild.mjs failed');
    notes.push('dist/cli.mjs was missing: built it with node esbuild.mjs');
  } else {
    const srcNewest = Math.max(newestMtime(join(ROOT, 'engine')), newestMtime(join(ROOT, 'examples')));
    const built = statSync(bundle).mtimeMs;
    if (srcNewest > built) notes.push(`note: dist/cli.mjs (${new Date(built).toISOString()}) is older than the newest engine/examples source (${new Date(srcNewest).toISOString()}); the demo ran the bundle as built`);
  }

  const work = mkdtempSync(join(tmpdir(), 'tally-bench-demo-'));
  try {
    // Reference: node + PGlite on a fresh data directory.
    const floors: number[] = [];
    for (let i = 0; i < Math.max(2, o.runs); i++) {
      const dir = join(work, `floor-${i}`);
      const r = await run(process.execPath, ['--input-type=module', '-e', FLOOR_SCRIPT, dir], ROOT);
      if (r.code !== 0) throw new Error(`PGlite floor failed: ${r.stderr.trim()}`);
      floors.push(r.ms);
    }
    o.log(`demo: floor (node + fresh PGlite + select 1): ${floors.map((x) => (x / 1000).toFixed(1)).join(', ')} s`);

    const runs: { ms: number; loadS?: number; doneS?: number }[] = [];
    let failed: string | undefined;
    for (let i = 0; i < o.runs; i++) {
      const project = join(work, `shop-${i}`);
      cpSync(join(ROOT, 'examples', 'shop'), project, { recursive: true, filter: (src) => !src.includes(`${'/'}.tally`) });
      const r = await run(process.execPath, [join(ROOT, 'bin', 'tally.mjs'), 'demo', '--project', project], work);
      const loaded = /loaded .* in ([\d.]+) s/.exec(r.stdout);
      const done = /done in ([\d.]+) s/.exec(r.stdout);
      o.log(`demo: run ${i + 1}: ${(r.ms / 1000).toFixed(1)} s, exit ${r.code}${loaded ? `, load ${loaded[1]} s` : ''}${done ? `, done ${done[1]} s (as printed)` : ''}`);
      if (r.code !== 0) {
        failed = `demo exited with ${r.code}: ${(r.stderr || r.stdout).trim().split('\n').slice(-5).join(' | ')}`;
        break;
      }
      runs.push({ ms: r.ms, loadS: loaded ? Number(loaded[1]) : undefined, doneS: done ? Number(done[1]) : undefined });
      rmSync(project, { recursive: true, force: true });
    }
    const floor = median(floors);
    const rows: Row[] = [];
    if (runs.length) {
      const med = median(runs.map((r) => r.ms)) / 1000;
      const first = runs[0]!.ms / 1000;
      const worst = Math.max(...runs.map((r) => r.ms)) / 1000;
      const ref = { label: 'node+PGlite floor', value: floor / 1000, unit: 's' };
      rows.push(
        { figure: `tally demo end to end, median of ${runs.length}`, value: med, unit: 's', reference: ref, ratio: med / (floor / 1000), target: `< ${DEMO_TARGET_S} s`, met: med < DEMO_TARGET_S },
        { figure: 'tally demo end to end, worst run', value: worst, unit: 's', reference: ref, ratio: worst / (floor / 1000), target: `< ${DEMO_TARGET_S} s`, met: worst < DEMO_TARGET_S },
        { figure: 'tally demo end to end, first run', value: first, unit: 's', reference: ref, ratio: first / (floor / 1000) },
      );
      const loads = runs.map((r) => r.loadS).filter((x): x is number => x !== undefined);
      const dones = runs.map((r) => r.doneS).filter((x): x is number => x !== undefined);
      if (loads.length) rows.push({ figure: '  demo clock: generate + load 10k customers', value: median(loads), unit: 's' });
      if (loads.length && dones.length) rows.push({ figure: '  demo clock: validate + previews', value: median(dones) - median(loads), unit: 's' });
      if (dones.length) rows.push({ figure: '  outside the demo clock: node start, imports, exit', value: med - median(dones), unit: 's' });
    }
    if (failed) {
      rows.push({ figure: 'tally demo', value: NaN, unit: 's', target: `< ${DEMO_TARGET_S} s`, met: false });
      notes.push(`!! ${failed}`);
    }
    notes.push(`reference runs (ms): ${floors.map((x) => x.toFixed(0)).join(' ')}; demo runs (ms): ${runs.map((r) => r.ms.toFixed(0)).join(' ')}`);
    return { name: 'demo', title: 'demo: tally demo on a temp copy of examples/shop (built CLI, embedded PGlite)', rows, notes, detail: { floors, runs, failed } };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
