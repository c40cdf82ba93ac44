// Bundles the CLI (with the language server) and the embedded database's worker thread with
// esbuild; later the VS Code extension too.
// pg and PGlite stay external: PGlite finds its WebAssembly next to its own package files, and pg
// has optional native parts; bundling them would break both. Every other dependency is bundled:
// kysely alone is ~290 files, and resolving and loading them was most of a cold `tally validate`.
// Code split: what only some commands need (the language server, PGlite's glue) is in chunks
// loaded on first use, next to cli.mjs (engine/src/db/thread.ts finds db-worker.mjs relative to its chunk).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { writeValidators } from './scripts/generate-validators.mjs';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  external: ['pg', 'pg-native', '@electric-sql/pglite'],
  // Bundled CommonJS packages (vscode-languageserver) `require` Node's built-ins.
  banner: { js: "import { createRequire as __tallyCreateRequire } from 'node:module'; const require = __tallyCreateRequire(import.meta.url);" },
  sourcemap: true,
  logLevel: 'warning',
};

const started = Date.now();
// Chunk names carry a content hash: drop the previous build's so dist/ holds only live ones.
for (const f of (() => { try { return readdirSync('dist'); } catch { return []; } })()) if (f.startsWith('chunk-')) rmSync(`dist/${f}`);
// The schemas' validators are generated code (checked in; regenerated here so a bundle never lags schemas/).
if (writeValidators()) console.log('tally: regenerated engine/src/syntax/validators.generated.ts from schemas/');
await build({ ...common, entryPoints: { cli: 'engine/cli/main.ts' }, outdir: 'dist', splitting: true, outExtension: { '.js': '.mjs' }, chunkNames: 'chunk-[hash]' });
// engine/src/db/thread.ts looks for the worker next to the CLI bundle.
await build({ ...common, entryPoints: ['engine/src/db/worker.ts'], outfile: 'dist/db-worker.mjs' });
if (process.env.TALLY_BUILD_QUIET !== '1') {
  console.log(`tally: built dist/cli.mjs and dist/db-worker.mjs in ${Date.now() - started} ms`);
}
await emptyClusterTemplate();

/**
 * dist/pglite-empty.tar.gz: an empty embedded database (PGlite's initdb output), made once per
 * PGlite version. A new embedded database (`tally demo`) starts from it instead of running initdb,
 * which holds three WebAssembly instances at once (~900 MB peak); opening a data directory needs
 * one (see engine/src/db/db.ts). Skipped with TALLY_NO_TEMPLATE=1; without it Tally runs initdb.
 */
async function emptyClusterTemplate() {
  if (process.env.TALLY_NO_TEMPLATE === '1') return;
  const { existsSync, readFileSync, writeFileSync, renameSync } = await import('node:fs');
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const pkg = JSON.parse(readFileSync(require.resolve('@electric-sql/pglite').replace(/dist[\\/]index\.cjs$/, 'package.json'), 'utf8'));
  const file = 'dist/pglite-empty.tar.gz';
  const stamp = 'dist/pglite-empty.json';
  if (existsSync(file) && existsSync(stamp) && JSON.parse(readFileSync(stamp, 'utf8')).pglite === pkg.version) return;
  const t0 = Date.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const pg = await PGlite.create();
  const tarball = await pg.dumpDataDir('gzip');
  await pg.close();
  writeFileSync(`${file}.tmp`, Buffer.from(await tarball.arrayBuffer()));
  renameSync(`${file}.tmp`, file);
  writeFileSync(stamp, JSON.stringify({ pglite: pkg.version }));
  if (process.env.TALLY_BUILD_QUIET !== '1') console.log(`tally: made ${file} (an empty embedded database, PGlite ${pkg.version}) in ${Date.now() - t0} ms`);
}
