// tally init: scaffold a project in --project DIR: the engine's starterFiles (tally.yaml, the
// Entity/Events mapping, a first segment); refused when tally.yaml exists, other existing files kept.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join, relative } from 'node:path';
import { PROJECT_FILE, starterFiles } from '../../src/index.js';
import { CliError, EXIT_OK, type Io } from '../io.js';
import type { GlobalOptions } from '../options.js';

export async function runInit(g: GlobalOptions, io: Io): Promise<number> {
  const dir = g.project;
  if (existsSync(join(dir, PROJECT_FILE))) throw new CliError(`${relative(io.cwd, join(dir, PROJECT_FILE)) || PROJECT_FILE} already exists; not overwriting it`);
  const name = basename(dir).toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^[^a-z]+/, '') || 'growth';
  mkdirSync(join(dir, 'definitions'), { recursive: true });
  const files = starterFiles(name);
  for (const [rel, text] of Object.entries(files)) {
    const p = join(dir, rel);
    if (existsSync(p)) continue;
    writeFileSync(p, text);
  }
  if (!existsSync(join(dir, '.gitignore'))) writeFileSync(join(dir, '.gitignore'), '.tally/\n');
  const shown = relative(io.cwd, dir) || '.';
  io.out(`created a Tally project in ${shown}:
  ${PROJECT_FILE}
  definitions/model.yaml      (map your customers and events tables)
  definitions/segments.yaml   (a first segment)

next: edit definitions/model.yaml to match your tables, then
  tally validate --project ${shown} --db postgres://user@host:5432/db`);
  return EXIT_OK;
}
