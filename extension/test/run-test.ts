// The @vscode/test-electron form of the extension's integration tests, for contributors whose
// machines can download VS Code (`npm run test:electron` in extension/). CI runs the code-server
// suite instead (e2e/, `npm run test:e2e` at the root): the download does not work there.
// The suite runs inside VS Code's extension host on a copy of examples/shop (run `npm run demo`
// at the root first, for its embedded database).

import { build } from 'esbuild';
import { cpSync, existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runTests } from '@vscode/test-electron';

const here = import.meta.dirname;
const extension = join(here, '..');
const repo = join(extension, '..');

const db = join(repo, 'examples', 'shop', '.tally', 'db');
if (!existsSync(db)) throw new Error('examples/shop/.tally/db is missing: run `npm run demo` at the repository root first');
const project = join(mkdtempSync(join(tmpdir(), 'tally-electron-')), 'shop');
cpSync(join(repo, 'examples', 'shop'), project, { recursive: true });

const suite = join(extension, 'out-test', 'suite.cjs');
await build({ entryPoints: [join(here, 'suite', 'index.ts')], outfile: suite, bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['vscode', 'mocha'], sourcemap: true, logLevel: 'warning' });

await runTests({
  version: process.env.VSCODE_VERSION ?? 'stable',
  extensionDevelopmentPath: extension,
  extensionTestsPath: suite,
  launchArgs: [project, '--disable-extensions', '--disable-workspace-trust', '--skip-welcome', '--skip-release-notes'],
  extensionTestsEnv: { TALLY_TEST_PROJECT: project, TALLY_REPO: repo },
});
