#!/usr/bin/env node
// The `tally` command: a thin launcher for the bundled CLI (built by `npm install` / `npm run build`).
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(fileURLToPath(import.meta.url));
const bundle = join(here, '..', 'dist', 'cli.mjs');
if (!existsSync(bundle)) {
  console.error('tally: the CLI is not built yet; run `npm install` (or `npm run build`) in the Tally checkout first.');
  process.exit(2);
}
const { main } = await import(pathToFileURL(bundle).href);
process.exitCode = await main(process.argv.slice(2));
