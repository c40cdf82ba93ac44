// Diagnostics as text, JSON (the contract), GitHub workflow annotations and SARIF 2.1.0.

import { relative, join } from 'node:path';
import { type Diagnostic, type RawDiagnostic, type Project, LineIndex, redactSecrets, toDiagnostic } from '../src/index.js';

/** A diagnostic's file as the user's shell (and a CI checkout) sees it: relative to the cwd. */
function shownPath(projectRoot: string, cwd: string, file: string): string {
  return relative(cwd, join(projectRoot, file)).replace(/\\/g, '/') || file;
}

export function diagnosticsText(list: readonly Diagnostic[], projectRoot: string, cwd: string, sources?: (file: string) => string | undefined): string {
  const lines: string[] = [];
  for (const d of list) {
    const p = shownPath(projectRoot, cwd, d.file);
    lines.push(`${p}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity} [${d.code}] ${redactSecrets(d.message)}`);
    const text = sources?.(d.file);
    if (text !== undefined) {
      const src = text.split(/\r?\n/)[d.range.start.line];
      if (src !== undefined && src.trim()) {
        const width = d.range.end.line === d.range.start.line ? Math.max(1, d.range.end.character - d.range.start.character) : Math.max(1, src.length - d.range.start.character);
        lines.push(`    ${src}`);
        lines.push(`    ${' '.repeat(d.range.start.character)}${'^'.repeat(width)}`);
      }
    }
  }
  return lines.join('\n');
}

export function summaryLine(list: readonly Diagnostic[], files: number, definitions: number): string {
  const errors = list.filter((d) => d.severity === 'error').length;
  const warnings = list.filter((d) => d.severity === 'warning').length;
  const plural = (n: number, w: string) => `${n} ${w}${n === 1 ? '' : 's'}`;
  return `${plural(definitions, 'definition')} in ${plural(files, 'file')}: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`;
}

/** The contract's `{"diagnostics": [...]}`, plus `extra` fields after it (e.g. `database`). */
export function diagnosticsJson(list: readonly Diagnostic[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ diagnostics: list.map((d) => ({ file: d.file, range: d.range, severity: d.severity, code: d.code, message: redactSecrets(d.message), ...(d.fix ? { fix: d.fix } : {}) })), ...extra }, null, 2);
}

function escapeData(s: string): string {
  return s.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}
function escapeProperty(s: string): string {
  return escapeData(s).replace(/:/g, '%3A').replace(/,/g, '%2C');
}

/** GitHub Actions workflow commands: `::error file=…,line=…,col=…::message`. */
export function diagnosticsGithub(list: readonly Diagnostic[], projectRoot: string, cwd: string): string {
  return list
    .map((d) => {
      const level = d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'notice';
      const props = [
        `file=${escapeProperty(shownPath(projectRoot, cwd, d.file))}`,
        `line=${d.range.start.line + 1}`,
        `col=${d.range.start.character + 1}`,
        `endLine=${d.range.end.line + 1}`,
        `endColumn=${d.range.end.character + 1}`,
        `title=${escapeProperty(`tally ${d.code}`)}`,
      ];
      return `::${level} ${props.join(',')}::${escapeData(redactSecrets(d.message))}`;
    })
    .join('\n');
}

/** SARIF 2.1.0, for code-scanning uploads; `properties` go in the run's property bag (e.g. `database`). */
export function diagnosticsSarif(list: readonly Diagnostic[], projectRoot: string, cwd: string, version: string, properties?: Record<string, unknown>): string {
  const codes = [...new Set(list.map((d) => d.code))].sort();
  const sarif = {
    $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
    version: '2.1.0',
    runs: [
      {
        tool: {
          driver: {
            name: 'tally',
            version,
            informationUri: 'https://github.com/tally-dev/tally',
            rules: codes.map((c) => ({ id: c, name: c.replace(/(^|-)([a-z0-9])/g, (_, _d: string, ch: string) => ch.toUpperCase()), shortDescription: { text: c.replace(/-/g, ' ') } })),
          },
        },
        results: list.map((d) => ({
          ruleId: d.code,
          ruleIndex: codes.indexOf(d.code),
          level: d.severity === 'error' ? 'error' : d.severity === 'warning' ? 'warning' : 'note',
          message: { text: redactSecrets(d.message) },
          locations: [
            {
              physicalLocation: {
                artifactLocation: { uri: shownPath(projectRoot, cwd, d.file).split('/').map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' },
                region: {
                  startLine: d.range.start.line + 1,
                  startColumn: d.range.start.character + 1,
                  endLine: d.range.end.line + 1,
                  endColumn: d.range.end.character + 1,
                },
              },
            },
          ],
        })),
        ...(properties ? { properties } : {}),
      },
    ],
  };
  return JSON.stringify(sarif, null, 2);
}

/** Engine diagnostics with offsets (deploy, plan) as positioned diagnostics of `project`'s files. */
export function renderRaw(project: Project, list: readonly RawDiagnostic[]): Diagnostic[] {
  return list.map((d) => toDiagnostic(d, project.file(d.file)?.lines ?? new LineIndex('')));
}
