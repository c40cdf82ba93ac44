// A bounded fuzz test (issue 10): definition files mutated in hostile ways (alias bombs, deep
// nesting, control characters, huge scalars, random character flips and truncations of the example
// shop's files) go through analysis, compilation and the real language server. Nothing may throw,
// hang past a bound, or report a diagnostic whose range is not inside its file.
//
// Deterministic: one seed (FUZZ_SEED overrides it to explore; a failure message names the case).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter, type ProtocolConnection, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node.js';
import { Project, PROJECT_FILE, type Diagnostic, type Kind, type Range } from '../engine/src/index.js';

const REPO = join(import.meta.dirname, '..');
const SHOP = join(REPO, 'examples', 'shop');
const SEED = Number(process.env.FUZZ_SEED ?? 20261203);
const IN_PROCESS_CASES = 240;
const LSP_CASES = 40;
/** Generous: a loaded CI machine is slow, but an alias bomb took 40 s and more. */
const CASE_BOUND_MS = 10_000;

// ---- a deterministic generator --------------------------------------------------------------------

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Gen {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

const CONTROL = ['\u0000', '\u0007', '\u001b', '\t', '\r', '\n', '\u000b', '\u2028', '\u2029', '\u202e', '\ufeff', '\u0085', '\ud800', '\udfff', '\u007f'];
const SYNTAX = ['{', '}', '[', ']', ':', ',', '-', '#', '&', '*', '!', '|', '>', '"', "'", '%', '@', '`', '?', ' ', '\n', '  '];
const WORDS = ['a', 'Z', '9', '0', 'null', 'true', '~', '.inf', '2026-02-30', '+99:00', '0001-01-01', 'equals', 'é', '日本', '😀'];

function aliasBomb(g: Gen): string {
  const depth = 3 + g.int(10);
  const width = 2 + g.int(11);
  const lines = [`b0: &b0 [${Array(width).fill('lol').join(', ')}]`];
  for (let i = 1; i < depth; i++) lines.push(`b${i}: &b${i} [${Array(width).fill(`*b${i - 1}`).join(', ')}]`);
  lines.push(`where: { attribute: country, in: *b${depth - 1} }`);
  return lines.join('\n');
}

function deepNesting(g: Gen): string {
  const n = g.pick([10, 60, 200, 300, 1000, 5000]);
  if (g.int(2) === 0) return `where: ${'['.repeat(n)}${']'.repeat(n)}`;
  const lines: string[] = [];
  for (let i = 0; i < n && i < 400; i++) lines.push(`${' '.repeat(i)}k${i}:`);
  return `where:\n${lines.map((l) => ` ${l}`).join('\n')} x`;
}

function hugeScalar(g: Gen): string {
  const n = g.pick([10_000, 100_000, 400_000]);
  switch (g.int(4)) {
    case 0:
      return `description: ${'x'.repeat(n)}`;
    case 1:
      return `name: ${'a'.repeat(n)}`;
    case 2:
      return `description: "${'\\u0000'.repeat(n / 100)}${'y'.repeat(n)}"`;
    default:
      return `where: { attribute: country, in: [${Array(n / 100).fill('DE').join(', ')}] }`;
  }
}

/** One mutation of one example file; returns the new text and what was done (for failure messages). */
function mutate(g: Gen, text: string): { text: string; what: string } {
  const at = () => g.int(text.length + 1);
  switch (g.int(9)) {
    case 0: {
      let t = text;
      const n = 1 + g.int(8);
      for (let i = 0; i < n; i++) {
        const p = g.int(t.length + 1);
        const c = g.pick([g.pick(CONTROL), g.pick(SYNTAX), g.pick(WORDS)]);
        t = t.slice(0, p) + c + t.slice(p + (g.int(2) ? 1 : 0));
      }
      return { text: t, what: `${n} character flips` };
    }
    case 1: {
      const p = at();
      return { text: text.slice(0, p), what: `truncated at ${p}` };
    }
    case 2: {
      const a = at();
      const b = Math.min(text.length, a + g.int(200));
      return g.int(2) ? { text: text.slice(0, a) + text.slice(b), what: `cut ${a}-${b}` } : { text: text.slice(0, b) + text.slice(a, b) + text.slice(b), what: `duplicated ${a}-${b}` };
    }
    case 3: {
      const bomb = aliasBomb(g);
      return g.int(2) ? { text: `${text}\n---\nkind: Segment\nname: bomb\nversion: 1\n${bomb}\n`, what: 'alias bomb document' } : { text: `kind: Segment\nname: bomb\nversion: 1\n${bomb}\n`, what: 'alias bomb file' };
    }
    case 4:
      return { text: `${text}\n---\nkind: Segment\nname: deep\nversion: 1\n${deepNesting(g)}\n`, what: 'deep nesting' };
    case 5: {
      // A control character inside a scalar (after a `: `).
      const idx = [...text.matchAll(/: /g)].map((m) => m.index! + 2);
      const p = idx.length ? g.pick(idx) + g.int(4) : at();
      return { text: text.slice(0, p) + g.pick(CONTROL) + text.slice(p), what: `control character at ${p}` };
    }
    case 6:
      return { text: `${text}\n---\nkind: Segment\nname: huge\nversion: 1\n${hugeScalar(g)}\n`, what: 'huge scalar' };
    case 7: {
      const lines = text.split('\n');
      for (let i = 0; i < 3; i++) {
        const a = g.int(lines.length);
        const b = g.int(lines.length);
        [lines[a], lines[b]] = [lines[b]!, lines[a]!];
      }
      return { text: lines.join('\n'), what: 'lines swapped' };
    }
    default: {
      // Indentation damage: a tab or odd spaces at the start of some lines.
      const lines = text.split('\n');
      for (let i = 0; i < 3; i++) {
        const a = g.int(lines.length);
        lines[a] = g.pick(['\t', ' ', '   ', '\u00a0']) + lines[a];
      }
      return { text: lines.join('\n'), what: 'indentation damage' };
    }
  }
}

// ---- range validity --------------------------------------------------------------------------------

/** Line lengths as LSP counts them: UTF-16 units, lines ended by \r\n, \n or \r. */
function lineLengths(text: string): number[] {
  return text.split(/\r\n|\r|\n/).map((l) => l.length);
}

function rangeProblem(range: Range, text: string): string | undefined {
  const lines = lineLengths(text);
  const ok = (p: { line: number; character: number }) =>
    Number.isInteger(p.line) && Number.isInteger(p.character) && p.line >= 0 && p.character >= 0 && p.line < lines.length && p.character <= lines[p.line]!;
  if (!ok(range.start) || !ok(range.end)) return `range ${JSON.stringify(range)} outside the file (${lines.length} lines)`;
  const { start, end } = range;
  if (end.line < start.line || (end.line === start.line && end.character < start.character)) return `range ${JSON.stringify(range)} ends before it starts`;
  return undefined;
}

function checkDiagnostics(diags: readonly (Omit<Diagnostic, 'code'> & { readonly code: string })[], textOf: (file: string) => string | undefined, label: string): void {
  for (const d of diags) {
    const text = textOf(d.file);
    assert.ok(text !== undefined, `${label}: a diagnostic for unknown file ${JSON.stringify(d.file)}`);
    const bad = rangeProblem(d.range, text) ?? (d.fix ? rangeProblem(d.fix.range, text) : undefined);
    assert.equal(bad, undefined, `${label}: ${d.code} ${d.message.slice(0, 200)}: ${bad}`);
    assert.ok(d.code && d.message && d.severity, `${label}: a diagnostic without code, message or severity`);
  }
}

// ---- the cases -----------------------------------------------------------------------------------

const TALLY_YAML = readFileSync(join(SHOP, 'tally.yaml'), 'utf8');
const EXAMPLE: Record<string, string> = Object.fromEntries(
  readdirSync(join(SHOP, 'definitions'))
    .sort()
    .map((f) => [`definitions/${f}`, readFileSync(join(SHOP, 'definitions', f), 'utf8')]),
);
const FILES = Object.keys(EXAMPLE);

interface Case {
  file: string;
  text: string;
  what: string;
}

function cases(seed: number, n: number): Case[] {
  const g = new Gen(seed);
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const file = g.int(20) === 0 ? PROJECT_FILE : g.pick(FILES);
    const base = file === PROJECT_FILE ? TALLY_YAML : EXAMPLE[file]!;
    // Now and then two mutations on top of each other.
    let m = mutate(g, base);
    if (g.int(4) === 0) {
      const m2 = mutate(g, m.text);
      m = { text: m2.text, what: `${m.what}, then ${m2.what}` };
    }
    out.push({ file, text: m.text, what: `case ${i} (seed ${seed}): ${file}: ${m.what}` });
  }
  return out;
}

const NOW = new Date('2026-11-01T00:00:00Z');
const SQL_OPTIONS = { asOf: { kind: 'now' as const }, literals: 'inline' as const };

describe('fuzz: hostile definition files', function () {
  this.timeout(600_000);

  it(`${IN_PROCESS_CASES} mutated projects: analysis and compilation never throw, stay within ${CASE_BOUND_MS} ms, and every range is inside its file`, () => {
    // One project, edited case by case (the way the editor drives it), so the incremental paths run too.
    const project = new Project('/fuzz', TALLY_YAML);
    for (const [f, t] of Object.entries(EXAMPLE)) project.setFile(f, t);
    let slowest = 0;
    for (const c of cases(SEED, IN_PROCESS_CASES)) {
      const started = performance.now();
      // Now and then the file also gets a hostile name (control characters: bad-file-name).
      const renamed = c.file !== PROJECT_FILE && c.what.length % 7 === 0 ? c.file.replace('.yaml', '\n\u001b.yaml') : c.file;
      if (c.file === PROJECT_FILE) project.setProjectFile(c.text);
      else {
        if (renamed !== c.file) project.deleteFile(c.file);
        project.setFile(renamed, c.text);
      }
      const texts = (file: string) => (file === PROJECT_FILE ? (c.file === PROJECT_FILE ? c.text : TALLY_YAML) : file === renamed ? c.text : EXAMPLE[file]);
      try {
        const analysis = project.analyze({ now: NOW });
        checkDiagnostics(analysis.diagnostics, texts, c.what);
        for (const info of analysis.infos) analysis.sqlFor(info.def.kind as Kind, info.def.name, SQL_OPTIONS);
      } catch (e) {
        assert.fail(`${c.what}: threw ${(e as Error).stack ?? String(e)}`);
      }
      const ms = performance.now() - started;
      slowest = Math.max(slowest, ms);
      assert.ok(ms < CASE_BOUND_MS, `${c.what}: took ${Math.round(ms)} ms`);
      // Back to the example for the next case.
      if (c.file === PROJECT_FILE) project.setProjectFile(TALLY_YAML);
      else {
        if (renamed !== c.file) project.deleteFile(renamed);
        project.setFile(c.file, EXAMPLE[c.file]!);
      }
    }
    // The example itself is clean again after all that.
    assert.deepEqual(project.analyze({ now: NOW }).diagnostics.filter((d) => d.severity === 'error'), []);
  });

  describe(`the language server (real process over stdio), ${LSP_CASES} mutated files`, () => {
    let root = '';
    let proc: ChildProcess;
    let conn: ProtocolConnection;
    let stderr = '';
    const published = new Map<string, PublishDiagnosticsParams>();
    let lastPublish = 0;

    before(async () => {
      if (!existsSync(join(REPO, 'dist', 'cli.mjs'))) spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, stdio: 'inherit' });
      root = mkdtempSync(join(tmpdir(), 'tally-fuzz-'));
      cpSync(SHOP, root, { recursive: true, filter: (src) => !src.includes('/.tally') });
      proc = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'lsp', '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
      proc.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
      conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
        published.set(p.uri, p);
        lastPublish = Date.now();
      });
      for (const n of ['window/showMessage', 'window/logMessage', '$/progress']) conn.onNotification(n, () => undefined);
      for (const r of ['window/showMessageRequest', 'client/registerCapability', 'workspace/codeLens/refresh', 'window/workDoneProgress/create']) conn.onRequest(r, () => null);
      conn.listen();
      const uri = pathToFileURL(root).href;
      await conn.sendRequest('initialize', { processId: process.pid, rootUri: uri, workspaceFolders: [{ uri, name: 'fuzz' }], capabilities: {}, initializationOptions: { debounceMs: 5 } });
      conn.sendNotification('initialized', {});
    });

    after(async () => {
      try {
        await within(conn.sendRequest('shutdown'), 5000, 'shutdown');
        conn.sendNotification('exit');
      } catch {
        // reported by the test itself
      }
      conn.dispose();
      proc.kill();
      rmSync(root, { recursive: true, force: true });
    });

    async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
      try {
        return await Promise.race([p, timeout]);
      } finally {
        clearTimeout(timer);
      }
    }

    /** Waits until no diagnostics were published for `quietMs` (the debounced run for the last edit is done). */
    async function settle(quietMs = 150): Promise<void> {
      const deadline = Date.now() + CASE_BOUND_MS;
      const since = Date.now();
      while (Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 30));
        if (Date.now() - Math.max(lastPublish, since) >= quietMs) return;
      }
    }

    it('answers every request in time, stays up, and publishes only ranges inside the files', async () => {
      const g = new Gen(SEED + 1);
      const current = new Map<string, string>(Object.entries(EXAMPLE).map(([f, t]) => [pathToFileURL(join(root, f)).href, t]));
      const version = new Map<string, number>();
      // Only definition files: the editor sends tally.yaml changes through the file watcher.
      for (const c of cases(SEED + 2, LSP_CASES * 2).filter((x) => x.file !== PROJECT_FILE).slice(0, LSP_CASES)) {
        const uri = pathToFileURL(join(root, c.file)).href;
        const v = (version.get(uri) ?? 0) + 1;
        version.set(uri, v);
        if (v === 1) conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: v, text: c.text } });
        else conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [{ text: c.text }] });
        current.set(uri, c.text);
        // Requests at random places of the mutated text: each must answer (any result) within the bound.
        const lines = c.text.split(/\r\n|\r|\n/);
        const line = g.int(lines.length);
        const position = { line, character: g.int((lines[line]?.length ?? 0) + 1) };
        const doc = { textDocument: { uri }, position };
        await within(conn.sendRequest('textDocument/hover', doc), CASE_BOUND_MS, `${c.what}: hover`);
        await within(conn.sendRequest('textDocument/completion', doc), CASE_BOUND_MS, `${c.what}: completion`);
        await within(conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri } }), CASE_BOUND_MS, `${c.what}: documentSymbol`);
        await within(conn.sendRequest('textDocument/definition', doc), CASE_BOUND_MS, `${c.what}: definition`);
        await settle();
        for (const [u, p] of published) {
          const text = current.get(u);
          if (text === undefined) continue; // tally.yaml
          checkDiagnostics(
            p.diagnostics.map((d) => ({ file: u, range: d.range, severity: 'error', code: String(d.code), message: d.message })),
            () => text,
            `${c.what} (published for ${u})`,
          );
        }
      }
      assert.equal(proc.exitCode, null, `the server exited: ${stderr.slice(-2000)}`);
      assert.doesNotMatch(stderr, /\n\s+at |Unhandled|uncaught/i, stderr.slice(-2000));
      // Back to the example: the server converges to no errors.
      for (const [uri, text] of current) {
        if (!version.has(uri)) continue;
        const v = version.get(uri)! + 1;
        version.set(uri, v);
        conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: v }, contentChanges: [{ text: EXAMPLE[Object.keys(EXAMPLE).find((f) => uri.endsWith(f))!]! }] });
        void text;
      }
      await settle(300);
      const errors = [...published.values()].flatMap((p) => p.diagnostics.filter((d) => d.severity === 1).map((d) => `${p.uri}: ${d.message}`));
      assert.deepEqual(errors, []);
    });
  });
});
