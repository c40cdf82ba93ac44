// The checkout's commit, recorded with deploys and KPI checks (`git_commit`).

import { execFileSync } from 'node:child_process';

/** The checkout's HEAD commit when the project is inside a git work tree, else null. */
export function gitCommit(dir: string): string | null {
  try {
    const out = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'], timeout: 5000 }).toString().trim();
    return /^[0-9a-f]{40,64}$/.test(out) ? out : null;
  } catch {
    return null;
  }
}
