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
await emptyClusterTemplate();

/**
 * dist/pglite-empty.tar.gz: an empty embedded database (PGlite's initdb output), made once per
 * PGlite version. A new embedded database (`tally demo`) starts from it instead of running initdb,
 * which holds three WebAssembly instances at once (~900 MB peak); opening a data directory needs
 * one (see engine/src/run/db.ts). Skipped with TALLY_NO_TEMPLATE=1; without it Tally runs initdb.
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
