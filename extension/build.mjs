// Bundles the extension with esbuild:
//   dist/extension.cjs  the VS Code client (vscode-languageclient), CommonJS, `vscode` external;
//   dist/server.mjs     the language server (server/src + engine, every dependency bundled);
//   dist/db-worker.mjs  the embedded database's worker thread (engine/src/db/thread.ts looks
//                       for it next to the server bundle);
//   dist/webview.js     the preview panel's script (browser);
//   dist/pglite.wasm, pglite.data, initdb.wasm: PGlite finds them next to the bundle that holds
//                       its code (`new URL('./pglite.wasm', import.meta.url)`);
//   dist/snippets.json  the engine's SNIPPETS (one per kind) as a VS Code snippets file, generated
//                       here so the editor's snippets are the language server's, never a copy.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { writeValidators } from '../scripts/generate-validators.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const dist = join(here, 'dist');
const production = process.argv.includes('--production');
const started = Date.now();
rmSync(dist, { recursive: true, force: true });
// The engine's schema validators are generated code; regenerate it so the server bundle matches schemas/.
writeValidators();
mkdirSync(dist, { recursive: true });

const common = { bundle: true, sourcemap: !production, minify: production, logLevel: 'warning', absWorkingDir: root };
// A CommonJS `require` for the bundled packages that still call it (pg's optional parts).
const esmBanner = { js: "import { createRequire as __tallyCreateRequire } from 'node:module'; const require = __tallyCreateRequire(import.meta.url);" };
const node = { ...common, platform: 'node', target: 'node20', format: 'esm', banner: esmBanner, external: ['pg-native'] };

await Promise.all([
  build({ ...common, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode'], entryPoints: [join(here, 'src/extension.ts')], outfile: join(dist, 'extension.cjs') }),
  build({ ...node, entryPoints: [join(here, 'src/server-main.ts')], outfile: join(dist, 'server.mjs') }),
  build({ ...node, entryPoints: [join(root, 'engine/src/db/worker.ts')], outfile: join(dist, 'db-worker.mjs') }),
  build({ ...common, platform: 'browser', target: 'es2022', format: 'iife', entryPoints: [join(here, 'src/webview/preview.ts')], outfile: join(dist, 'webview.js') }),
]);

const require = createRequire(join(root, 'package.json'));
const pgliteDist = dirname(require.resolve('@electric-sql/pglite'));
for (const f of ['pglite.wasm', 'pglite.data', 'initdb.wasm']) copyFileSync(join(pgliteDist, f), join(dist, f));

// Snippets: import the engine's SNIPPETS through a throwaway bundle.
const tmp = join(dist, '.snippets.mjs');
await build({ ...node, sourcemap: false, minify: false, entryPoints: [join(here, 'src/snippets-source.ts')], outfile: tmp });
const { SNIPPETS } = await import(pathToFileURL(tmp).href);
rmSync(tmp, { force: true });
const snippets = {};
for (const [kind, body] of Object.entries(SNIPPETS)) {
  snippets[`New ${kind}`] = { prefix: [kind.toLowerCase(), `tally-${kind.toLowerCase()}`], body: body.replace(/\n$/, '').split('\n'), description: `A new Tally ${kind} definition` };
}
writeFileSync(join(dist, 'snippets.json'), JSON.stringify(snippets, null, 2) + '\n');
if (process.env.TALLY_BUILD_QUIET !== '1') console.log(`tally extension: built dist/ in ${Date.now() - started} ms${production ? ' (production)' : ''}`);
