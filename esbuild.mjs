// Bundles the CLI (with the language server) and the embedded database's worker thread with
// esbuild; later the VS Code extension too.
// pg and PGlite stay external: PGlite finds its WebAssembly next to its own package files, and pg
// has optional native parts; bundling them would break both. Every other dependency is bundled:
// kysely alone is ~290 files, and resolving and loading them was most of a cold `tally validate`.
// Code split: what only some commands need (the language server, PGlite's glue) is in chunks
// loaded on first use, next to cli.mjs (db-thread.ts finds db-worker.mjs relative to its chunk).
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
// engine/src/run/db-thread.ts looks for the worker next to the CLI bundle.
await build({ ...common, entryPoints: ['engine/src/run/db-worker.ts'], outfile: 'dist/db-worker.mjs' });
if (process.env.TALLY_BUILD_QUIET !== '1') {
  console.log(`tally: built dist/cli.mjs and dist/db-worker.mjs in ${Date.now() - started} ms`);
}
