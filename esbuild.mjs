// Bundles the CLI (with the language server) and the embedded database's worker thread with
// esbuild; later the VS Code extension too.
// Runtime dependencies stay external: PGlite finds its WebAssembly next to its own package files,
// and pg has optional native parts; bundling them would break both.
import { build } from 'esbuild';

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
};

const started = Date.now();
await build({ ...common, entryPoints: ['engine/cli/main.ts'], outfile: 'dist/cli.mjs' });
// engine/src/run/db-thread.ts looks for the worker next to the CLI bundle.
await build({ ...common, entryPoints: ['engine/src/run/db-worker.ts'], outfile: 'dist/db-worker.mjs' });
if (process.env.TALLY_BUILD_QUIET !== '1') {
  console.log(`tally: built dist/cli.mjs and dist/db-worker.mjs in ${Date.now() - started} ms`);
}
