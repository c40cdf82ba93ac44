// The `tally` command line: parses options, dispatches to one file per command, maps outcomes to
// exit codes (0 ok, 1 findings, 2 usage or connection error). Never prints a stack trace for
// user input; an unexpected internal error prints one line and where to report it.

import { parseArgs } from 'node:util';
import { resolve as resolvePath } from 'node:path';
import { instantProblem, parseInstant, DbError, didYouMean, redactSecrets } from '../src/index.js';
import { CliError, EXIT_USAGE, type Io } from './io.js';
import type { GlobalOptions } from './options.js';
import { runValidate } from './commands/validate.js';
import { runCompile } from './commands/compile.js';
import { runPreview } from './commands/preview.js';
import { runInit } from './commands/init.js';
import { runDemo } from './commands/demo.js';
import { runLsp } from './commands/lsp.js';
import { runCheck } from './commands/check.js';
import { runTest } from './commands/test.js';
import { runDeploy } from './commands/deploy.js';
import { runHistory } from './commands/history.js';
import { runRun } from './commands/run.js';
import { runReport } from './commands/report.js';
import { runPlan } from './commands/plan.js';
import { runSnapshot } from './commands/snapshot.js';
import { runRefresh } from './commands/refresh.js';
import { runAdvise } from './commands/advise.js';
import { runSeries } from './commands/series.js';
import { runReview } from './commands/review.js';
import { runSyncCommand } from './commands/sync.js';


const COMMANDS: Record<string, { summary: string; run: (g: GlobalOptions, io: Io) => Promise<number> }> = {
  init: { summary: 'scaffold a project in --project DIR (default .)', run: runInit },
  demo: { summary: 'load sample data into the embedded database and tour the example project (--db URL --force [--distributed: Citus, co-located tables])', run: runDemo },
  validate: { summary: 'all diagnostics (--format text|json|github|sarif)', run: runValidate },
  compile: { summary: 'write one SQL file per definition to --out DIR, plus manifest.json', run: runCompile },
  preview: { summary: 'live result of segment|trait|score|lifecycle|kpi|campaign|cohort|funnel|sync NAME (--format text|json)', run: runPreview },
  check: { summary: 'KPI statuses as of T for CI (--format text|json|junit|markdown|github, --fail-on failed,missed,at_risk|none)', run: runCheck },
  test: { summary: 'run the kind: Test fixtures, each in isolation (--format text|json|junit)', run: runTest },
  plan: { summary: 'what deploy would change, with members entering/leaving and KPI before/after as of T (--allow-drop, --fail-on unmeasured|none, --format text|markdown|json)', run: runPlan },
  deploy: { summary: 'apply the project to the database in one transaction: views + append-only history (--allow-drop, --format text|json)', run: runDeploy },
  refresh: { summary: 'rebuild the deployed `materialize: table` definitions, each swapped in atomically (--format text|json)', run: runRefresh },
  snapshot: { summary: "record the day's stage distribution of every deployed lifecycle, for transition reports (run daily; --format text|json)", run: runSnapshot },
  advise: { summary: 'indexes that would serve the project, with why; compared with the live ones, never created (--format text|json|sql)', run: runAdvise },
  history: { summary: 'every recorded deploy, newest first; --kpi, --lifecycle, --sync NAME for their records (--format text|json)', run: runHistory },
  run: { summary: 'enroll campaign audiences as of T, append-only (--campaign NAME, --export csv|jsonl FILE, --format text|json)', run: runRun },
  report: { summary: 'campaign results: conversion per variant, lift vs holdout, p-values, SRM check (--format text|json|markdown)', run: runReport },
  series: { summary: 'kpi|segment|lifecycle|score NAME per period, each as of its end, with target and pace line (--from D --to D --every day|week|month, --format text|json|csv)', run: runSeries },
  review: { summary: 'the periodic review: KPIs against pace and target by funnel stage, lifecycles, cohorts, funnels, campaigns, deploys (--out review.html, --from D --to D --every week|month|day, --format html|markdown|json)', run: runReview },
  sync: { summary: 'deliver each deployed sync\'s changes (entered/exited/changed since the last delivery) to its destination (--sync NAME, --dry-run, --format text|json)', run: runSyncCommand },
  lsp: { summary: 'the language server over stdio (--stdio), for VS Code and any LSP editor', run: runLsp },
};

const USAGE = `tally: growth operations as code

usage: tally <command> [--project DIR] [--db URL] [--as-of ISO] [--format F]

commands:
${Object.entries(COMMANDS)
  .map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`)
  .join('\n')}

options:
  --project DIR   the project folder holding tally.yaml (default .)
  --db URL        postgres://user@host:5432/db, pglite:<dir> or pglite:memory
                  (default: TALLY_DATABASE_URL, DATABASE_URL, warehouse.url, then pglite:<project>/.tally/db)
  --as-of ISO     evaluate as of this instant (default now, UTC)
  --format F      output format (per command)
  --offline       validate (advise, compile) without any database: no catalog checks

Every command that connects says which database it used: on stderr (\`tally: database: …\`),
or as the \`database\` field of JSON output. A database you named (--db, TALLY_DATABASE_URL,
DATABASE_URL, warehouse.url) that cannot be reached is an error, never a silent fallback.

exit codes: 0 ok, 1 findings, 2 usage or connection error`;

export async function main(argv: string[], io: Io = processIo()): Promise<number> {
  const shown = io;
  // Error text may carry a URL or a driver's message: credentials are masked whatever the scheme.
  io = { ...shown, err: (t) => shown.err(redactSecrets(t)) };
  try {
    return await dispatch(argv, io);
  } catch (e) {
    if (e instanceof CliError) {
      io.err(`tally: ${e.message}`);
      return e.exitCode;
    }
    if (e instanceof DbError) {
      io.err(`tally: ${e.message}`);
      return EXIT_USAGE;
    }
    const fsCode = (e as { code?: unknown })?.code;
    if (typeof fsCode === 'string' && /^E(NOTDIR|ACCES|PERM|EXIST|ISDIR|NOENT|ROFS|NOSPC)$/.test(fsCode)) {
      const path = (e as { path?: string }).path;
      const what: Record<string, string> = {
        ENOTDIR: 'is not a directory (or a parent of it is a file)',
        EACCES: 'is not accessible (permission denied)',
        EPERM: 'is not accessible (operation not permitted)',
        EEXIST: 'already exists',
        EISDIR: 'is a directory',
        ENOENT: 'does not exist',
        EROFS: 'is on a read-only file system',
        ENOSPC: 'cannot be written: no space left on the device',
      };
      io.err(`tally: ${path ?? 'a path'} ${what[fsCode]}`);
      return EXIT_USAGE;
    }
    const err = e as Error;
    io.err(`tally: internal error: ${err?.message ?? String(e)}\n(this is a bug in Tally; set TALLY_DEBUG=1 for details)`);
    if (io.env.TALLY_DEBUG) io.err(String(err?.stack ?? ''));
    return 3;
  }
}

async function dispatch(argv: string[], io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        project: { type: 'string', short: 'p' },
        db: { type: 'string' },
        'as-of': { type: 'string' },
        format: { type: 'string', short: 'f' },
        out: { type: 'string', short: 'o' },
        sample: { type: 'string' },
        timeout: { type: 'string' },
        'fail-on': { type: 'string' },
        customers: { type: 'string' },
        seed: { type: 'string' },
        strategy: { type: 'string' },
        force: { type: 'boolean' },
        'allow-drop': { type: 'boolean' },
        'no-record': { type: 'boolean' },
        ref: { type: 'string' },
        kpi: { type: 'string' },
        lifecycle: { type: 'string' },
        campaign: { type: 'string' },
        export: { type: 'string' },
        sync: { type: 'string' },
        'dry-run': { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        stdio: { type: 'boolean' },
        offline: { type: 'boolean' },
        distributed: { type: 'boolean' },
        // tally series, tally review
        from: { type: 'string' },
        to: { type: 'string' },
        every: { type: 'string' },
        example: { type: 'string' },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message.replace(/\. To specify.*$/s, '')}\n\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.version) {
    io.out('tally 0.1.0');
    return 0;
  }
  const [command, ...rest] = positionals;
  if (!command || values.help) {
    io.out(USAGE);
    return command || values.help ? 0 : EXIT_USAGE;
  }
  const entry = COMMANDS[command];
  if (!entry) {
    const dym = didYouMean(command, Object.keys(COMMANDS)).text;
    throw new CliError(`unknown command '${command}'${dym}\n\n${USAGE}`);
  }
  if (values.offline && command !== 'validate' && command !== 'compile' && command !== 'advise') {
    throw new CliError(`--offline applies to validate, advise and compile; tally ${command} ${command === 'init' ? 'never connects anyway' : 'needs a database'}`);
  }
  let asOf = new Date();
  const asOfText = values['as-of'];
  if (asOfText !== undefined) {
    const p = parseInstant(asOfText, 'UTC');
    if (!p) {
      const why = instantProblem(asOfText, 'UTC');
      throw new CliError(why ? `--as-of '${asOfText}' is not a valid instant: ${why.message}` : `--as-of '${asOfText}' is not an ISO instant; write 2026-06-01 or 2026-06-01T00:00:00Z`);
    }
    asOf = p.date;
  }
  const g: GlobalOptions = {
    command,
    project: resolvePath(io.cwd, values.project ?? '.'),
    db: values.db,
    asOf,
    asOfGiven: asOfText !== undefined,
    format: values.format,
    values: values as Record<string, string | boolean | undefined>,
    positionals: rest,
  };
  return entry.run(g, io);
}

export function processIo(): Io {
  return {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
    tty: Boolean(process.stdout.isTTY),
    cwd: process.cwd(),
    env: process.env,
  };
}
