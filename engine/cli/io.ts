// Output plumbing and small text helpers for the CLI.

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** Whether stdout is a terminal (colours and widths). */
  readonly tty: boolean;
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
}

export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

/** A usage or connection problem: printed as one line, exit code 2. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT_USAGE,
  ) {
    super(message);
  }
}

export { table, formatNumber, percent } from '../src/index.js';
