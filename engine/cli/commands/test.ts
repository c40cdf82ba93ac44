// tally test [NAME...]: runs the project's `kind: Test` fixtures, each in isolation (a fresh
// in-memory PGlite per test; with --db postgres://… a throwaway schema per test). Formats: text
// (one line per test, a diff for each failure), json, junit. Exit 1 when a test fails or is
// malformed, 0 when all pass.

import { join, relative } from 'node:path';
import { connect, DbError, redactUrl, type Db } from '../../src/db/db.js';
import { fixtureNames, mismatchLines, runFixtures, showValue, type FixtureReport, type FixtureResult } from '../../src/fixtures/fixtures.js';
import { didYouMean } from '../../src/resolve/suggest.js';
import { announceDatabase, loadProjectOrFail, type DatabaseUsed } from '../context.js';
import { diagnosticsText } from '../format-diagnostics.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, timeoutOption, type GlobalOptions } from '../main.js';
import { junitXml, type JunitCase } from '../../src/kpi/render.js';

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

function subjectText(t: FixtureResult): string {
  return t.subject ? `${t.subject.kind} ${t.subject.name}` : '';
}

/** The diff of a failed test, or why it could not run, as indented lines. */
export function failureLines(t: FixtureResult): string[] {
  if (t.status === 'failed') return t.mismatches.flatMap(mismatchLines);
  if (t.status === 'error') return [t.message ?? 'the test could not run'];
  return [];
}

export function testText(report: FixtureReport, diagnostics: (t: FixtureResult) => string): string {
  if (!report.tests.length) return 'no tests in the project (add `kind: Test` definitions; see docs/language.md)';
  const out: string[] = [];
  for (const t of report.tests) {
    const mark = t.status === 'passed' ? '✓' : '✗';
    const what = [subjectText(t), t.as_of ? `as of ${t.as_of}` : ''].filter(Boolean).join(' ');
    const tail = t.status === 'error' ? ' (error)' : '';
    out.push(`${mark} ${t.name}${what ? ` (${what})` : ''}${tail}`);
    if (t.status === 'failed') for (const l of failureLines(t)) out.push(`    ${l}`);
    if (t.status === 'error') {
      const d = t.diagnostics.length ? diagnostics(t) : `${t.message ?? 'the test could not run'}`;
      for (const l of d.split('\n')) out.push(`    ${l}`);
    }
  }
  const n = report.tests.length;
  out.push('', `${n} test${n === 1 ? '' : 's'}: ${report.passed} passed, ${report.failed} failed${report.errors ? `, ${report.errors} could not run` : ''}`);
  return out.join('\n');
}

export function testJunit(report: FixtureReport, shown: (file: string) => string): string {
  const cases: JunitCase[] = report.tests.map((t) => {
    const where = `${shown(t.file)}:${t.line}`;
    const base = { name: t.name, classname: `tally.test${t.subject ? `.${t.subject.kind}` : ''}`, file: shown(t.file), line: t.line, timeSeconds: t.duration_ms / 1000 };
    if (t.status === 'failed') {
      const lines = failureLines(t);
      return { ...base, failure: { message: lines.filter((l) => !l.startsWith(' ')).join('; '), type: 'mismatch', body: `${where}: ${subjectText(t)} as of ${t.as_of}\n${lines.join('\n')}` } };
    }
    if (t.status === 'error') {
      const body = [t.message ?? '', ...t.diagnostics.map((d) => `${shown(d.file)}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.code}: ${d.message}`)].join('\n');
      return { ...base, error: { message: t.message ?? 'the test could not run', type: 'malformed', body: `${where}: ${body}` } };
    }
    return { ...base, systemOut: `${subjectText(t)} as of ${t.as_of}: ${expectSummary(t)}` };
  });
  return junitXml('tally test', cases);
}

function expectSummary(t: FixtureResult): string {
  const e = t.expected ?? {};
  return Object.entries(e)
    .map(([k, v]) => `${k} ${typeof v === 'object' && v !== null && !Array.isArray(v) ? JSON.stringify(v) : Array.isArray(v) ? `[${v.map(showValue).join(', ')}]` : showValue(v)}`)
    .join(', ');
}
