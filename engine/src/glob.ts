// Minimal globbing for `definitions:` patterns (Node 20 has no fs.glob): **, *, ?, {a,b}.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        const slash = glob[i + 2] === '/';
        re += slash ? '(?:.*/)?' : '.*';
        i += slash ? 2 : 1;
      } else re += '[^/]*';
    } else if (c === '?') re += '[^/]';
    else if (c === '{') {
      const end = glob.indexOf('}', i);
      if (end < 0) re += '\\{';
      else {
        re += `(?:${glob
          .slice(i + 1, end)
          .split(',')
          .map((s) => s.replace(/[.+^$()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*'))
          .join('|')})`;
        i = end;
      }
    } else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

const SKIP = new Set(['node_modules', '.git', '.tally', 'dist', 'out']);

/** Project-relative paths (forward slashes) under `root` matching any of `globs`, sorted. */
export function globFiles(root: string, globs: readonly string[]): string[] {
  const res = globs.map((g) => globToRegExp(g.replace(/^\.\//, '')));
  const out: string[] = [];
  const walk = (dir: string, rel: string, depth: number) => {
    if (depth > 20) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!SKIP.has(e.name)) walk(join(dir, e.name), r, depth + 1);
      } else if (e.isFile() && res.some((re) => re.test(r))) out.push(r);
    }
  };
  walk(root, '', 0);
  return out.sort();
}
