// The options every command receives (parsed once by main.ts) and the checks of per-command
// options: the format, whole numbers in range, the statement timeout. Commands import these from
// here, never from main.ts, so no command depends on the dispatcher.

import { CliError } from './io.js';

export interface GlobalOptions {
  /** The command being run (`validate`, `preview`, …). */
  readonly command: string;
  readonly project: string;
  readonly db?: string;
  readonly asOf: Date;
  readonly asOfGiven: boolean;
  readonly format?: string;
  readonly values: Record<string, string | boolean | undefined>;
  readonly positionals: string[];
}

export function checkFormat(g: GlobalOptions, allowed: string[], fallback = 'text'): string {
  const f = g.format ?? fallback;
  if (!allowed.includes(f)) throw new CliError(`--format '${f}' is not one of: ${allowed.join(', ')}`);
  return f;
}

/**
 * A whole-number option (`--timeout`, `--sample`, `--customers`, `--seed`) checked for range: a
 * usage error (exit 2) names the option and the range, so no out-of-range value reaches a database
 * setting (`--timeout 1e12` was a raw PostgreSQL error). Digits only: no exponents, hex or fractions.
 */
export function intOption(g: GlobalOptions, name: string, range: { min: number; max: number; fallback: number; unit?: string; example?: string }): number {
  const raw = g.values[name];
  if (raw === undefined) return range.fallback;
  const text = String(raw).trim();
  const n = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    const what = range.unit ? `${range.unit}, a whole number` : 'a whole number';
    throw new CliError(`--${name} takes ${what} from ${range.min.toLocaleString('en-US')} to ${range.max.toLocaleString('en-US')}${range.example ? `, e.g. --${name} ${range.example}` : ''} (got '${text}')`);
  }
  return n;
}

/** `--timeout MS`: a statement timeout PostgreSQL accepts (1 ms to 24 h). */
export function timeoutOption(g: GlobalOptions, fallback = 30_000): number {
  return intOption(g, 'timeout', { min: 1, max: 86_400_000, fallback, unit: 'milliseconds', example: '5000' });
}
