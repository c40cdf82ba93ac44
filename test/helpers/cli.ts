// Runs the CLI in-process (`main(argv, io)`) with captured output and a controlled environment.

import { main } from '../../engine/cli/main.js';
import type { Io } from '../../engine/cli/io.js';

export interface Run {
  code: number;
  out: string;
  err: string;
}

/** No stack trace may ever reach the user. */
export const STACK = /\n\s+at /;

export async function runTally(argv: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];
  const io: Io = { out: (t) => void out.push(t), err: (t) => void err.push(t), tty: false, cwd: opts.cwd, env: opts.env ?? {} };
  const code = await main(argv, io);
  return { code, out: out.join('\n'), err: err.join('\n') };
}
