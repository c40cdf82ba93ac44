// Golden cases: test/golden/<case>/ holds a project (tally.yaml optional) whose definition files
// carry their expected diagnostics inline, as annotation comments under the line they point at:
//
//   where: { segment: high_valeu }
//   #                 ^^^^^^^^^^ error[unknown-reference] @4:18-4:28: no segment named 'high_valeu' (did you mean 'high_value'?)
//
// (0-based line:character positions, as in LSP; the carets are for the eye), and `expected.sql`
// with every definition's compiled SQL as of 2026-06-01T00:00:00Z (inline literals, auto shape).
// The runner strips the annotations, analyses, re-annotates and compares the whole text.
// UPDATE_GOLDEN=1 rewrites the files from what the engine produces now.

import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { Project, PROJECT_FILE, type Diagnostic } from '../engine/src/index.js';

const ROOT = join(import.meta.dirname, 'golden');
const AS_OF = new Date('2026-06-01T00:00:00Z');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const DEFAULT_PROJECT = 'tally: 1\nname: golden\ndefinitions: ["definitions/**/*.yaml"]\ntimezone: UTC\n';
const ANNOTATION = /^\s*# *\^+ (error|warning|information|hint)\[/;

function isAnnotation(line: string): boolean {
  return ANNOTATION.test(line);
}

export function stripAnnotations(text: string): string {
  return text
    .split('\n')
    .filter((l) => !isAnnotation(l))
    .join('\n');
}

function annotate(text: string, diags: Diagnostic[]): string {
  const lines = text.split('\n');
  const byLine = new Map<number, Diagnostic[]>();
  for (const d of diags) {
    const l = Math.min(d.range.start.line, lines.length - 1);
    byLine.set(l, [...(byLine.get(l) ?? []), d]);
  }
  const out: string[] = [];
  lines.forEach((line, i) => {
    out.push(line);
    for (const d of byLine.get(i) ?? []) {
      const start = d.range.start.character;
      const end = d.range.end.line === d.range.start.line ? d.range.end.character : Math.max(line.length, start + 1);
      const pad = Math.max(start, 1);
      const carets = '^'.repeat(Math.max(1, end - start));
      const r = d.range;
      out.push(`#${' '.repeat(pad - 1)}${carets} ${d.severity}[${d.code}] @${r.start.line}:${r.start.character}-${r.end.line}:${r.end.character}: ${d.message}`);
    }
  });
  return out.join('\n');
}

function listFiles(dir: string, base = dir): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listFiles(p, base));
    else out.push(relative(base, p).replace(/\\/g, '/'));
  }
  return out;
}

/** Loads a case with annotations stripped; diagnostics positions then match the stripped text. */
function loadCase(dir: string): { project: Project; files: Map<string, string> } {
  const projectText = existsSync(join(dir, PROJECT_FILE)) ? readFileSync(join(dir, PROJECT_FILE), 'utf8') : DEFAULT_PROJECT;
  const project = new Project(dir, projectText);
  const files = new Map<string, string>();
  for (const rel of listFiles(dir)) {
    if (!rel.endsWith('.yaml') || rel === PROJECT_FILE) continue;
    const raw = readFileSync(join(dir, rel), 'utf8');
    files.set(rel, raw);
    if (project.isDefinitionFile(rel)) project.setFile(rel, stripAnnotations(raw));
  }
  return { project, files };
}

function renderSql(project: Project): string {
  const a = project.analyze({ now: AS_OF });
  const parts: string[] = [];
  for (const info of [...a.infos].sort((x, y) => `${x.def.kind}:${x.def.name}`.localeCompare(`${y.def.kind}:${y.def.name}`))) {
    if (info.hasErrors) continue;
    const q = a.sqlFor(info.def.kind, info.def.name, { asOf: { kind: 'instant', at: AS_OF }, literals: 'inline' });
    if (!q) continue;
    parts.push(`-- ${info.def.kind} ${info.def.name}${q.strategy ? ` (${q.strategy})` : ''}\n${q.sql};\n`);
  }
  return parts.join('\n');
}

describe('golden cases', () => {
  const cases = existsSync(ROOT) ? readdirSync(ROOT).filter((n) => statSync(join(ROOT, n)).isDirectory()).sort() : [];
  it('has cases', () => assert.ok(cases.length > 0));
  for (const name of cases) {
    it(name, () => {
      const dir = join(ROOT, name);
      const { project, files } = loadCase(dir);
      const analysis = project.analyze({ now: AS_OF });
      const diags = analysis.diagnostics;
      // Diagnostics on the project file or on files outside the globs would be invisible inline.
      const stray = diags.filter((d) => !files.has(d.file));
      assert.deepEqual(stray.map((d) => `${d.file}: ${d.code} ${d.message}`), [], 'diagnostics outside the annotated files');
      for (const [rel, raw] of files) {
        if (!project.isDefinitionFile(rel)) continue;
        const expected = annotate(stripAnnotations(raw), diags.filter((d) => d.file === rel));
        if (UPDATE) {
          if (expected !== raw) writeFileSync(join(dir, rel), expected);
        } else assert.equal(raw, expected, `${name}/${rel}: diagnostics differ (UPDATE_GOLDEN=1 to accept)`);
      }
      const sqlFile = join(dir, 'expected.sql');
      const sql = renderSql(project);
      if (UPDATE) writeFileSync(sqlFile, sql);
      else {
        assert.ok(existsSync(sqlFile), `${name}: no expected.sql (UPDATE_GOLDEN=1 to create it)`);
        assert.equal(sql, readFileSync(sqlFile, 'utf8'), `${name}: compiled SQL differs (UPDATE_GOLDEN=1 to accept)`);
      }
    });
  }
});
