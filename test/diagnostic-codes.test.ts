// Diagnostic codes are a contract: declared once (engine/src/diagnostic-codes.ts, whose type checks
// every call site), and listed for users in docs/language.md's "Diagnostics" section. These tests
// keep the two lists equal and check that every code the golden cases expect is declared.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DIAGNOSTIC_CODES, isDiagnosticCode } from '../engine/src/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The codes written in backquotes in docs/language.md's "## Diagnostics" section. */
function documentedCodes(): string[] {
  const text = readFileSync(join(ROOT, 'docs', 'language.md'), 'utf8');
  const start = text.indexOf('\n## Diagnostics\n');
  assert.ok(start >= 0, 'docs/language.md has a "## Diagnostics" section');
  const next = text.indexOf('\n## ', start + 1);
  const section = text.slice(start, next < 0 ? undefined : next);
  return [...section.matchAll(/`([a-z][a-z0-9]*(?:-[a-z0-9]+)*)`/g)].map((m) => m[1]!);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('diagnostic codes', () => {
  it('docs/language.md lists exactly the declared codes', () => {
    const documented = documentedCodes();
    const declared = Object.keys(DIAGNOSTIC_CODES);
    const duplicated = documented.filter((c, i) => documented.indexOf(c) !== i);
    assert.deepEqual(duplicated, [], 'a code listed twice in docs/language.md');
    assert.deepEqual(
      documented.filter((c) => !isDiagnosticCode(c)),
      [],
      'documented but not declared in engine/src/diagnostic-codes.ts',
    );
    assert.deepEqual(
      declared.filter((c) => !documented.includes(c)),
      [],
      'declared but not listed in docs/language.md "Diagnostics"',
    );
  });

  it('every code has a one-line meaning', () => {
    for (const [code, meaning] of Object.entries(DIAGNOSTIC_CODES)) {
      assert.match(code, /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/, `code ${code} is kebab-case`);
      assert.ok(meaning.length > 0 && !meaning.includes('\n'), `${code} has a one-line meaning`);
    }
  });

  it('every code the golden cases expect is declared', () => {
    const seen = new Set<string>();
    for (const file of filesUnder(join(ROOT, 'test', 'golden'))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:error|warning|information|hint)\[([a-z0-9-]+)\]/g)) seen.add(m[1]!);
    }
    assert.ok(seen.size > 10, 'the golden cases expect diagnostics');
    assert.deepEqual([...seen].filter((c) => !isDiagnosticCode(c)).sort(), []);
  });
});
