// tally test [NAME...]: runs the project's `kind: Test` fixtures, each in isolation (a fresh
// in-memory PGlite per test; with --db postgres://… a throwaway schema per test). Formats: text
// (one line per test, a diff for each failure), json, junit. Exit 1 when a test fails or is
// malformed, 0 when all pass.

import { join, relative } from 'node:path';
import { connect, DbError, didYouMean, fixtureNames, redactUrl, runFixtures, testJunit, testText, type Db, type FixtureReport } from '../../src/index.js';
import { announceDatabase, loadProjectOrFail, type DatabaseUsed } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../options.js';

export async function runTest(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json', 'junit']);
  const timeout = timeoutOption(g);
  const project = loadProjectOrFail(g, io);
  const analysis = project.analyze({ now: g.asOf });

  const all = fixtureNames(analysis);
  for (const n of g.positionals) {
    if (!all.includes(n)) {
      const dym = didYouMean(n, all);
      throw new CliError(`no test named '${n}'${dym.text || (all.length ? `; there are: ${all.join(', ')}` : '; the project has no tests')}`);
    }
  }

  // Only an explicit PostgreSQL --db runs tests there; otherwise every test gets its own PGlite.
  let postgres: Db | undefined;
  if (g.db !== undefined && /^postgres(ql)?:\/\//.test(g.db)) {
    try {
      postgres = await connect(g.db, { baseDir: io.cwd, timezone: project.config.timezone });
    } catch (e) {
      if (e instanceof DbError) throw new CliError(`${e.message} (database from --db)`);
      throw e;
    }
  } else if (g.db !== undefined && g.db.startsWith('pglite:')) {
    io.err(`tally: tests run on fresh in-memory PGlite databases; ${g.db} is not used`);
  } else if (g.db !== undefined) {
    throw new CliError(`'${redactUrl(g.db)}' is not a database URL Tally understands; use postgres://user@host:5432/db (tests run in throwaway schemas there) or leave --db out (a fresh in-memory PGlite per test)`);
  }
  const used: DatabaseUsed = postgres ? { url: postgres.label, source: '--db' } : { url: 'pglite:memory', source: 'a fresh in-memory PGlite per test' };
  announceDatabase(g, io, used, postgres ? `${postgres.label} (from --db), a throwaway schema per test` : 'a fresh in-memory PGlite per test');

  let report: FixtureReport;
  try {
    report = await runFixtures(analysis, { postgres, timeoutMs: timeout, names: g.positionals.length ? g.positionals : undefined });
  } finally {
    await postgres?.close();
  }

  const shown = (file: string) => relative(io.cwd, join(project.root, file)).replace(/\\/g, '/') || file;
  const diagnostics = report.tests.flatMap((t) => t.diagnostics);
  if (diagnostics.length && format !== 'text') io.err(diagnosticsText(diagnostics, project.root, io.cwd, (f) => project.file(f)?.text));

  switch (format) {
    case 'json':
      io.out(JSON.stringify({ tests: report.tests, passed: report.passed, failed: report.failed, errors: report.errors, database: used }, null, 2));
      break;
    case 'junit':
      io.out(testJunit(report, shown));
      break;
    default:
      io.out(testText(report, (t) => diagnosticsText(t.diagnostics, project.root, io.cwd, (f) => project.file(f)?.text)));
  }
  return report.failed + report.errors > 0 ? EXIT_FINDINGS : EXIT_OK;
}
