// Bundles the CLI (and later the language server and the extension) with esbuild.
// Runtime dependencies stay external: PGlite finds its WebAssembly next to its own package files,
// and pg has optional native parts; bundling them would break both.
import { build } from 'esbuild';

const started = Date.now();
await build({
  entryPoints: ['engine/cli/main.ts'],
  outfile: 'dist/cli.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
// The embedded database's worker thread (engine/src/run/db-thread.ts looks for it next to the CLI).
await build({
  entryPoints: ['engine/src/run/db-worker.ts'],
  outfile: 'dist/db-worker.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});
if (process.env.TALLY_BUILD_QUIET !== '1') {
  console.log(`tally: built dist/cli.mjs in ${Date.now() - started} ms`);
}
