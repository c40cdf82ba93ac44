// Section "lsp": the language server (`tally lsp --stdio`, the bundled dist/cli.mjs) over its real
// stdio protocol, on a generated workspace of N definition files (bench/gen-defs.ts, one definition
// per file), driven by a vscode-languageserver-protocol client in this process.
//
//   indexing     initialize + initialized -> first answered workspace/symbol, and -> diagnostics of
//                a deliberately broken file (the server publishes only files with diagnostics; the
//                broken one has a resolve-stage error, so its diagnostics imply a full analysis)
//   edit         one open segment file, a one-character edit toggled on and off (didChange, full
//                text): time from the didChange to the publishDiagnostics for that file showing
//                the new state. Two edits: `within: 7d` -> `within: 7 d` (a bad duration: a
//                per-file check) and `attribute: country` -> `attribute: countryx` (an unknown
//                attribute: a whole-project resolve check). Also with a 5 ms debounce.
//   requests     completion (a value after `attribute: `, a key position) and hover (a key, a
//                reference) on the open file, one at a time; and completion sent right after an
//                edit (the usual case: a trigger character was just typed).
//   memory       VmRSS of the server process after indexing and after the edits.
//   open         the second server run has a database that accepts connections and never answers
//                (a TCP listener in this process): didOpen -> the opened file's first diagnostics.
//   reference    yaml-language-server on the same open file, validating against
//                schemas/segment.schema.json: the same `7d` -> `7 d` toggle (a pattern error).
//
// Run alone: node --import tsx bench/lsp.ts [--defs 1000] [--edits 200] [--requests 200]
//                                           [--no-yls] [--cpu-prof DIR]
// --cpu-prof DIR runs Tally's server as `node --cpu-prof --cpu-prof-dir=DIR ...` (Node 20 refuses
// --cpu-prof in NODE_OPTIONS); the profile is written when the server exits, and the section's notes
// list its heaviest functions (bench/lsp/cpuprofile.ts).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node.js';
import { generateDefinitionFiles } from './gen-defs.js';
import { summariseCpuProfile } from './lsp/cpuprofile.js';
import { median, renderSection, type Row, type Section } from './lib/report.js';

export type { Row } from './lib/report.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const TALLY_BIN = join(ROOT, 'bin', 'tally.mjs');
const DIST = join(ROOT, 'dist', 'cli.mjs');
const YLS_BIN = join(ROOT, 'node_modules', 'yaml-language-server', 'bin', 'yaml-language-server');

// Issue 11's goals: indexing 1,000 files <= 1 s, diagnostics within 100 ms of opening whatever the
// database does, edit -> diagnostics >= 2x faster than yaml-language-server net of debounce, <= 150 MB.
export const INDEX_TARGET_MS = 1000;
export const OPEN_TARGET_MS = 100;
export const EDIT_NET_RATIO_TARGET = 0.5;
export const EDIT_P95_TARGET_MS = 30;
export const REQUEST_P95_TARGET_MS = 15;
export const RSS_TARGET_MB = 150;
/** The server's default diagnostics debounce (server/src/state.ts): none (the next event-loop turn). */
export const TALLY_DEBOUNCE_MS = 0;

const TALLY_YAML = 'tally: 1\nname: bench\ndefinitions: ["definitions/**/*.yaml"]\n';
/** A resolve-stage error (unknown segment): published only after a whole-project analysis. */
const BROKEN_FILE = 'definitions/zz_broken.yaml';
const BROKEN_TEXT = `kind: Segment
name: zz_broken
version: 1
entity: customer
where: { segment: no_such_segment }
`;
/** The open file: the first generated segment (seg_0). */
const EDIT_FILE = 'definitions/gen/f0000.yaml';

export interface LspBenchOptions {
  defs: number;
  /** Measured toggles per edit loop (after a warm-up). */
  edits: number;
  warmupEdits: number;
  /** Measured requests per completion/hover position. */
  requests: number;
  /** Milliseconds between one edit's diagnostics and the next edit (a typist's pause). */
  gapMs: number;
  yls: boolean;
  /** Run Tally's server with --cpu-prof into this folder. */
  cpuProfDir?: string;
  log: (s: string) => void;
}

export const DEFAULT_LSP_OPTIONS: LspBenchOptions = { defs: 1000, edits: 200, warmupEdits: 20, requests: 200, gapMs: 20, yls: true, log: (s) => process.stderr.write(s + '\n') };

// ---- statistics ------------------------------------------------------------------------------------

export function percentile(xs: readonly number[], p: number): number {
  if (!xs.length) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  // nearest rank
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const p50 = (xs: readonly number[]) => percentile(xs, 50);
const p95 = (xs: readonly number[]) => percentile(xs, 95);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---- process facts (/proc) ------------------------------------------------------------------------

function procStatus(pid: number): { rssMb: number; hwmMb: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024 };
  } catch {
    return { rssMb: NaN, hwmMb: NaN };
  }
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) && n > 0 ? n : 100;
})();

/** User + system CPU milliseconds the process has used so far. */
function procCpuMs(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK; // fields 14 and 15 (utime, stime)
  } catch {
    return NaN;
  }
}

// ---- build -----------------------------------------------------------------------------------------

function newestSource(): { path: string; mtime: number } {
  let best = { path: join(ROOT, 'esbuild.mjs'), mtime: statSync(join(ROOT, 'esbuild.mjs')).mtimeMs };
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs|json)$/.test(e.name)) {
        const m = statSync(p).mtimeMs;
        if (m > best.mtime) best = { path: p, mtime: m };
      }
    }
  };
  for (const d of ['engine', 'server/src', 'schemas']) if (existsSync(join(ROOT, d))) walk(join(ROOT, d));
  return best;
}

/** Builds dist/cli.mjs when it is missing or older than a source. */
export function ensureBuilt(log: (s: string) => void): void {
  const src = newestSource();
  if (existsSync(DIST) && statSync(DIST).mtimeMs >= src.mtime) return;
  log(`lsp: building dist/cli.mjs (${existsSync(DIST) ? `${src.path.slice(ROOT.length + 1)} is newer` : 'missing'}) ...`);
  const r = spawnSync(process.execPath, [join(ROOT, 'esbuild.mjs')], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TALLY_BUILD_QUIET: '1' }, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`node esbuild.mjs failed (${r.status}): ${r.stderr || r.stdout}`);
}

// ---- the client ------------------------------------------------------------------------------------

interface Publication {
  params: PublishDiagnosticsParams;
  at: number;
}

class LspClient {
  private readonly latest = new Map<string, Publication>();
  private waiters: (() => void)[] = [];
  stderr = '';
  exited = false;
  /** Answers to workspace/configuration, by section. */
  configuration: Record<string, unknown> = {};

  constructor(
    readonly name: string,
    readonly proc: ChildProcess,
    readonly conn: ProtocolConnection,
  ) {
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.latest.set(p.uri, { params: p, at: now() });
      for (const w of this.waiters.splice(0)) w();
    });
    conn.onNotification('window/showMessage', () => undefined);
    conn.onNotification('window/logMessage', () => undefined);
    conn.onNotification('telemetry/event', () => undefined);
    conn.onNotification('$/progress', () => undefined);
    conn.onRequest('window/showMessageRequest', () => null);
    conn.onRequest('window/workDoneProgress/create', () => null);
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('client/unregisterCapability', () => null);
    conn.onRequest('workspace/codeLens/refresh', () => null);
    conn.onRequest('workspace/diagnostic/refresh', () => null);
    conn.onRequest('workspace/semanticTokens/refresh', () => null);
    conn.onRequest('workspace/workspaceFolders', () => null);
    conn.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => p.items.map((i) => (i.section ? this.configuration[i.section] ?? null : this.configuration)));
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-20_000);
    });
    proc.on('exit', (code, signal) => {
      this.exited = true;
      for (const w of this.waiters.splice(0)) w();
      // Pending requests fail instead of hanging.
      if (!this.stopped) {
        this.stderr += `\n[${this.name} exited: ${signal ?? code}]`;
        this.conn.dispose();
      }
    });
    conn.listen();
  }

  static start(name: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): LspClient {
    const proc = spawn(process.execPath, args, { cwd, stdio: ['pipe', 'pipe', 'pipe'], env });
    proc.stdin!.on('error', () => undefined); // EPIPE when the server is gone
    const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
    conn.onError(() => undefined);
    return new LspClient(name, proc, conn);
  }

  get pid(): number {
    return this.proc.pid!;
  }

  /** The first publication for `uri` received after `since` that satisfies `pred`; resolves with its arrival time. */
  async diagnostics(uri: string, pred: (p: PublishDiagnosticsParams) => boolean, since: number, timeoutMs = 30_000): Promise<Publication> {
    const deadline = now() + timeoutMs;
    for (;;) {
      const p = this.latest.get(uri);
      if (p && p.at >= since && pred(p.params)) return p;
      if (this.exited) throw new Error(`${this.name} exited while waiting for diagnostics of ${uri}; stderr: ${this.stderr.slice(-2000)}`);
      const left = deadline - now();
      if (left <= 0) throw new Error(`${this.name}: timed out waiting for diagnostics of ${uri}; last: ${JSON.stringify(p?.params.diagnostics.map((d) => d.message))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  lastDiagnostics(uri: string): PublishDiagnosticsParams | undefined {
    return this.latest.get(uri)?.params;
  }

  /** shutdown + exit, then waits for the process; kills it (by pid) if it does not go. */
  private stopped = false;

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (!this.exited) {
      try {
        await Promise.race([this.conn.sendRequest('shutdown'), sleep(5000)]);
        this.conn.sendNotification('exit');
      } catch {
        // already gone
      }
      const gone = new Promise<void>((r) => (this.exited ? r() : this.proc.once('exit', () => r())));
      await Promise.race([gone, sleep(10_000)]);
      if (!this.exited) {
        this.proc.kill('SIGTERM');
        await Promise.race([gone, sleep(3000)]);
        if (!this.exited) this.proc.kill('SIGKILL');
      }
    }
    this.conn.dispose();
  }
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' };
  delete env.NODE_OPTIONS; // not this process's tsx loader
  return env;
}

function initializeParams(root: string, initializationOptions: unknown) {
  const uri = pathToFileURL(root).href;
  return {
    processId: process.pid,
    rootUri: uri,
    workspaceFolders: [{ uri, name: 'bench' }],
    capabilities: {
      workspace: { codeLens: { refreshSupport: true }, configuration: true, didChangeConfiguration: { dynamicRegistration: true }, workspaceFolders: true, symbol: {} },
      textDocument: {
        synchronization: { dynamicRegistration: true, didSave: true },
        completion: { completionItem: { snippetSupport: true, documentationFormat: ['markdown', 'plaintext'] } },
        hover: { contentFormat: ['markdown', 'plaintext'] },
        publishDiagnostics: { relatedInformation: true },
      },
    },
    initializationOptions,
  };
}

// ---- positions -------------------------------------------------------------------------------------

function positionAt(text: string, offset: number): { line: number; character: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { line, character: offset - (before.lastIndexOf('\n') + 1) };
}

/** Position of `needle` in `text` plus `delta` characters. */
function positionOf(text: string, needle: string, delta = 0): { line: number; character: number } {
  const i = text.indexOf(needle);
  if (i < 0) throw new Error(`'${needle}' not found in the edited file`);
  return positionAt(text, i + delta);
}

function replaceOnce(text: string, from: string, to: string): string {
  if (!text.includes(from)) throw new Error(`'${from}' not found in the edited file`);
  return text.replace(from, to);
}

// ---- the workspace ---------------------------------------------------------------------------------

function writeWorkspace(defs: number): { root: string; files: number; editText: string } {
  const root = mkdtempSync(join(tmpdir(), 'tally-lsp-bench-'));
  writeFileSync(join(root, 'tally.yaml'), TALLY_YAML);
  const files = generateDefinitionFiles(defs, 1);
  files.set(BROKEN_FILE, BROKEN_TEXT);
  for (const [rel, text] of files) {
    mkdirSync(dirname(join(root, rel)), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  const editText = files.get(EDIT_FILE);
  if (!editText || !editText.startsWith('kind: Segment')) throw new Error(`${EDIT_FILE} is not a segment`);
  return { root, files: files.size, editText };
}

/** A TCP listener that accepts connections and never sends a byte: a database that never answers. */
async function silentDatabase(): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((sock) => {
    sockets.push(sock);
    sock.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    close: () => {
      for (const sock of sockets) sock.destroy();
      return new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---- measurements ----------------------------------------------------------------------------------

interface EditLoopResult {
  latencies: number[];
  cpuMsPerEdit: number;
  badMessage: string;
}

/**
 * Toggles the open document between `valid` and `invalid` (full-text didChange), waiting each time
 * for the diagnostics of `uri` to show the new state: some diagnostic when invalid, none when valid.
 */
async function editLoop(c: LspClient, uri: string, valid: string, invalid: string, o: { n: number; warmup: number; gapMs: number; version: { v: number }; isBad?: (p: PublishDiagnosticsParams) => boolean }): Promise<EditLoopResult> {
  const isBad = o.isBad ?? ((p: PublishDiagnosticsParams) => p.diagnostics.length > 0);
  const latencies: number[] = [];
  let badMessage = '';
  let cpu0 = NaN;
  const warmup = o.warmup + (o.warmup % 2);
  const n = o.n + (o.n % 2); // pairs, so that the loop ends on the valid text
  const total = warmup + n;
  for (let i = 0; i < total; i++) {
    if (i === warmup) cpu0 = procCpuMs(c.pid);
    const bad = i % 2 === 0;
    const t0 = now();
    c.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++o.version.v }, contentChanges: [{ text: bad ? invalid : valid }] });
    const pub = await c.diagnostics(uri, (p) => (bad ? isBad(p) : p.diagnostics.length === 0), t0);
    if (i >= warmup) latencies.push(pub.at - t0);
    if (bad && !badMessage) badMessage = pub.params.diagnostics.map((d) => (typeof d.code === 'string' ? `${d.code}: ${d.message}` : d.message)).join('; ');
    await sleep(o.gapMs);
  }
  const cpuMsPerEdit = (procCpuMs(c.pid) - cpu0) / n;
  return { latencies, cpuMsPerEdit, badMessage };
}

async function timeRequests(c: LspClient, method: string, params: unknown, n: number, check: (r: unknown) => boolean, warmup = 10): Promise<{ ms: number[]; sample: unknown }> {
  const ms: number[] = [];
  let sample: unknown;
  for (let i = 0; i < warmup + n; i++) {
    const t0 = now();
    const r = await c.conn.sendRequest(method, params);
    const t = now() - t0;
    if (i === 0) {
      sample = r;
      if (!check(r)) throw new Error(`${c.name}: ${method} gave an unexpected answer: ${JSON.stringify(r)?.slice(0, 300)}`);
    }
    if (i >= warmup) ms.push(t);
  }
  return { ms, sample };
}

const nonEmptyList = (r: unknown) => Array.isArray(r) ? r.length > 0 : Array.isArray((r as { items?: unknown[] })?.items) && (r as { items: unknown[] }).items.length > 0;
const hoverHas = (re: RegExp) => (r: unknown) => re.test(JSON.stringify((r as { contents?: unknown })?.contents ?? ''));
const labels = (r: unknown) => ((Array.isArray(r) ? r : (r as { items?: unknown[] })?.items ?? []) as { label: string }[]).map((i) => i.label);

interface TallyRun {
  initializeMs: number;
  firstSymbolMs: number;
  symbols: number;
  indexDiagMs: number;
  /** didOpen of the edited file -> its first publication. */
  openMs: number;
  rssIndexed: { rssMb: number; hwmMb: number };
  rssEdited?: { rssMb: number; hwmMb: number };
  edits: Record<string, EditLoopResult>;
  requests: Record<string, number[]>;
  samples: Record<string, string>;
  profile?: string;
}

/** One Tally server: indexing, edit loops, requests, memory. `full: false` runs only the duration edit loop. */
async function runTally(root: string, editText: string, o: LspBenchOptions, init: Record<string, unknown>, full: boolean, profileDir?: string): Promise<TallyRun> {
  // (--cpu-prof is not allowed in NODE_OPTIONS: it goes on the command line.)
  const before = profileDir && existsSync(profileDir) ? new Set(readdirSync(profileDir)) : new Set<string>();
  const c = LspClient.start('tally', [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), TALLY_BIN, 'lsp', '--stdio'], root, childEnv());
  const brokenUri = pathToFileURL(join(root, BROKEN_FILE)).href;
  const uri = pathToFileURL(join(root, EDIT_FILE)).href;
  try {
    // -- indexing
    const t0 = now();
    await c.conn.sendRequest('initialize', initializeParams(root, init));
    const initializeMs = now() - t0;
    c.conn.sendNotification('initialized', {});
    const symbols = (await c.conn.sendRequest('workspace/symbol', { query: '' })) as unknown[];
    const firstSymbolMs = now() - t0;
    const pub = await c.diagnostics(brokenUri, (p) => p.diagnostics.length > 0, t0, 60_000);
    const indexDiagMs = pub.at - t0;
    if (!symbols.length) throw new Error('workspace/symbol found no symbols');
    await sleep(500); // let the post-initialize work (database probe, timers) settle
    const rssIndexed = procStatus(c.pid);

    // -- the open file
    const version = { v: 1 };
    const tOpen = now();
    c.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: version.v, text: editText } });
    const openMs = (await c.diagnostics(uri, () => true, tOpen, 30_000)).at - tOpen;
    await sleep(200);
    const opened = c.lastDiagnostics(uri);
    if (opened?.diagnostics.length) throw new Error(`${EDIT_FILE} has diagnostics before any edit: ${JSON.stringify(opened.diagnostics)}`);

    const edits: Record<string, EditLoopResult> = {};
    const durationBad = replaceOnce(editText, 'within: 7d', 'within: 7 d');
    const attributeBad = replaceOnce(editText, 'attribute: country', 'attribute: countryx');
    const loop = { n: o.edits, warmup: o.warmupEdits, gapMs: o.gapMs, version };
    edits.duration = await editLoop(c, uri, editText, durationBad, { ...loop, isBad: (p) => p.diagnostics.some((d) => d.code === 'bad-duration') });
    const requests: Record<string, number[]> = {};
    const samples: Record<string, string> = {};
    if (full) {
      edits.attribute = await editLoop(c, uri, editText, attributeBad, { ...loop, isBad: (p) => p.diagnostics.some((d) => d.code === 'unknown-attribute') });

      // -- requests on the settled, valid document
      const doc = { uri };
      const at = (needle: string, delta: number) => ({ textDocument: doc, position: positionOf(editText, needle, delta) });
      const cases: [string, string, ReturnType<typeof at>, (r: unknown) => boolean][] = [
        ['completion: value after `attribute: `', 'textDocument/completion', at('attribute: country', 'attribute: '.length), (r) => labels(r).includes('plan')],
        ['completion: key (`ent|ity:`)', 'textDocument/completion', at('\nentity:', 4), (r) => labels(r).includes('description') || labels(r).includes('entity')],
        ['hover: key `where`', 'textDocument/hover', at('\nwhere:', 3), hoverHas(/where/)],
        ['hover: reference `entity: customer`', 'textDocument/hover', at('entity: customer', 'entity: '.length + 2), hoverHas(/customer/i)],
      ];
      for (const [label, method, params, check] of cases) {
        const r = await timeRequests(c, method, params, o.requests, check);
        requests[label] = r.ms;
        samples[label] = method === 'textDocument/completion' ? `${labels(r.sample).length} items: ${labels(r.sample).slice(0, 6).join(', ')}` : JSON.stringify((r.sample as { contents?: { value?: string } }).contents?.value ?? '').slice(0, 80);
      }

      // -- completion right after an edit (the analysis is stale: the request pays for it)
      const afterEdit: number[] = [];
      const n = Math.max(20, Math.floor(o.requests / 4) * 2);
      const pos = positionOf(editText, 'attribute: country', 'attribute: '.length);
      for (let i = 0; i < o.warmupEdits + n; i++) {
        const bad = i % 2 === 0;
        c.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version.v }, contentChanges: [{ text: bad ? durationBad : editText }] });
        const t0 = now();
        const r = await c.conn.sendRequest('textDocument/completion', { textDocument: doc, position: pos });
        const t = now() - t0;
        if (!labels(r).includes('plan')) throw new Error(`completion after an edit: unexpected ${JSON.stringify(labels(r))}`);
        if (i >= o.warmupEdits) afterEdit.push(t);
        await c.diagnostics(uri, (p) => (bad ? p.diagnostics.length > 0 : p.diagnostics.length === 0), t0);
        await sleep(o.gapMs);
      }
      requests['completion right after an edit'] = afterEdit;
    }
    const rssEdited = procStatus(c.pid);
    await c.stop();
    let profile: string | undefined;
    if (profileDir) {
      const fresh = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile') && !before.has(f));
      if (fresh.length) profile = join(profileDir, fresh.sort().at(-1)!);
    }
    return { initializeMs, firstSymbolMs, symbols: symbols.length, indexDiagMs, openMs, rssIndexed, rssEdited, edits, requests, samples, profile };
  } finally {
    await c.stop();
  }
}

interface YlsRun {
  version: string;
  edit: EditLoopResult;
  rssMb: number;
}

async function runYls(root: string, editText: string, o: LspBenchOptions): Promise<YlsRun> {
  const pkg = createRequire(import.meta.url)('yaml-language-server/package.json') as { version: string };
  const c = LspClient.start('yaml-language-server', [YLS_BIN, '--stdio'], root, childEnv());
  const uri = pathToFileURL(join(root, EDIT_FILE)).href;
  const schemaUri = pathToFileURL(join(ROOT, 'schemas', 'segment.schema.json')).href;
  c.configuration = {
    yaml: {
      validate: true,
      hover: true,
      completion: true,
      schemas: { [schemaUri]: ['definitions/gen/*.yaml'] },
      schemaStore: { enable: false },
      kubernetesCRDStore: { enable: false },
      format: { enable: false },
    },
    http: { proxy: '', proxyStrictSSL: false },
    '[yaml]': {},
    editor: { detectIndentation: true },
  };
  try {
    await c.conn.sendRequest('initialize', initializeParams(root, {}));
    c.conn.sendNotification('initialized', {});
    c.conn.sendNotification('workspace/didChangeConfiguration', { settings: c.configuration });
    await sleep(300);
    const version = { v: 1 };
    const t0 = now();
    c.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: version.v, text: editText } });
    await c.diagnostics(uri, (p) => p.diagnostics.length === 0, t0, 30_000);
    const bad = replaceOnce(editText, 'within: 7d', 'within: 7 d');
    // Make sure the schema is in force: the invalid text must be flagged (not merely "schema not loaded").
    const edit = await editLoop(c, uri, editText, bad, {
      n: o.edits,
      warmup: Math.min(o.warmupEdits, 10),
      gapMs: o.gapMs,
      version,
      isBad: (p) => p.diagnostics.some((d) => /pattern|match|duration/i.test(d.message)),
    });
    const rssMb = procStatus(c.pid).rssMb;
    return { version: pkg.version, edit, rssMb };
  } finally {
    await c.stop();
  }
}

// ---- the section -----------------------------------------------------------------------------------

export async function lspSection(opts: Partial<LspBenchOptions> = {}): Promise<Section> {
  const o: LspBenchOptions = { ...DEFAULT_LSP_OPTIONS, ...opts };
  ensureBuilt(o.log);
  const load0 = loadavg();
  const ws = writeWorkspace(o.defs);
  try {
    o.log(`lsp: ${ws.files} definition files in ${ws.root}; Tally (debounce default) ...`);
    const t = await runTally(ws.root, ws.editText, o, {}, true, o.cpuProfDir);
    o.log(`lsp: Tally with debounceMs: 5 and a database that never answers ...`);
    const silent = await silentDatabase();
    let t0: TallyRun;
    try {
      t0 = await runTally(ws.root, ws.editText, { ...o, edits: Math.max(50, Math.floor(o.edits / 2)) }, { debounceMs: 5, databaseUrl: `postgres://bench@127.0.0.1:${silent.port}/silent` }, false);
    } finally {
      await silent.close();
    }
    let y: YlsRun | undefined;
    if (o.yls) {
      o.log(`lsp: yaml-language-server ...`);
      y = await runYls(ws.root, ws.editText, o);
    }

    const rows: Row[] = [];
    const ms = 'ms';
    rows.push({ figure: 'index: initialize -> diagnostics published', value: t.indexDiagMs, unit: ms, target: `< ${INDEX_TARGET_MS / 1000} s`, met: t.indexDiagMs < INDEX_TARGET_MS });
    rows.push({ figure: 'index: initialize -> first workspace/symbol answer', value: t.firstSymbolMs, unit: ms, target: `< ${INDEX_TARGET_MS / 1000} s`, met: t.firstSymbolMs < INDEX_TARGET_MS });
    rows.push({ figure: '  initialize answered (files loaded+parsed)', value: t.initializeMs, unit: ms });
    rows.push({ figure: 'open -> its diagnostics (no database)', value: t.openMs, unit: ms, target: `< ${OPEN_TARGET_MS} ms`, met: t.openMs < OPEN_TARGET_MS });
    rows.push({ figure: 'open -> its diagnostics (database never answers)', value: t0.openMs, unit: ms, target: `< ${OPEN_TARGET_MS} ms`, met: t0.openMs < OPEN_TARGET_MS });
    rows.push({ figure: '  index with that database: initialize -> diagnostics', value: t0.indexDiagMs, unit: ms, target: `< ${INDEX_TARGET_MS / 1000} s`, met: t0.indexDiagMs < INDEX_TARGET_MS });

    const dur = t.edits.duration!;
    const yRef = (f: (xs: number[]) => number) => (y ? { label: `yaml-language-server ${y.version}`, value: f(y.edit.latencies) } : undefined);
    rows.push({ figure: 'edit `7d`->`7 d` -> diagnostics, p50', value: p50(dur.latencies), unit: ms, reference: yRef(p50), ratio: y ? p50(dur.latencies) / p50(y.edit.latencies) : undefined });
    rows.push({ figure: 'edit `7d`->`7 d` -> diagnostics, p95', value: p95(dur.latencies), unit: ms, reference: yRef(p95), ratio: y ? p95(dur.latencies) / p95(y.edit.latencies) : undefined, target: `p95 < ${EDIT_P95_TARGET_MS} ms`, met: p95(dur.latencies) < EDIT_P95_TARGET_MS });
    const att = t.edits.attribute!;
    rows.push({ figure: 'edit `country`->`countryx` -> diagnostics, p50', value: p50(att.latencies), unit: ms });
    rows.push({ figure: 'edit `country`->`countryx` -> diagnostics, p95', value: p95(att.latencies), unit: ms, target: `p95 < ${EDIT_P95_TARGET_MS} ms`, met: p95(att.latencies) < EDIT_P95_TARGET_MS });
    const d0 = t0.edits.duration!;
    rows.push({ figure: '  same `7d` edit, debounceMs 5, database silent, p50', value: p50(d0.latencies), unit: ms });
    rows.push({ figure: '  same `7d` edit, debounceMs 5, database silent, p95', value: p95(d0.latencies), unit: ms });
    rows.push({ figure: '  server CPU per edit (`7d` / `countryx`)', value: dur.cpuMsPerEdit, unit: ms, reference: { label: 'countryx', value: att.cpuMsPerEdit }, ratio: undefined });
    if (y) {
      const net = (xs: number[], debounce: number) => p95(xs) - debounce;
      rows.push({
        figure: `  edit p95 net of each debounce (${TALLY_DEBOUNCE_MS} / 200 ms)`,
        value: net(dur.latencies, TALLY_DEBOUNCE_MS),
        unit: ms,
        reference: { label: 'yaml-language-server', value: net(y.edit.latencies, 200) },
        ratio: net(dur.latencies, TALLY_DEBOUNCE_MS) / net(y.edit.latencies, 200),
        target: `ratio <= ${EDIT_NET_RATIO_TARGET}`,
        met: net(dur.latencies, TALLY_DEBOUNCE_MS) / net(y.edit.latencies, 200) <= EDIT_NET_RATIO_TARGET,
      });
      const net50 = (xs: number[], debounce: number) => p50(xs) - debounce;
      rows.push({
        figure: `  edit p50 net of each debounce (${TALLY_DEBOUNCE_MS} / 200 ms)`,
        value: net50(dur.latencies, TALLY_DEBOUNCE_MS),
        unit: ms,
        reference: { label: 'yaml-language-server', value: net50(y.edit.latencies, 200) },
        ratio: net50(dur.latencies, TALLY_DEBOUNCE_MS) / net50(y.edit.latencies, 200),
      });
    }
    for (const [label, xs] of Object.entries(t.requests)) {
      const targeted = label !== 'completion right after an edit';
      rows.push({ figure: `${label}, p95`, value: p95(xs), unit: ms, ...(targeted ? { target: `p95 < ${REQUEST_P95_TARGET_MS} ms`, met: p95(xs) < REQUEST_P95_TARGET_MS } : {}) });
    }
    rows.push({ figure: 'memory: server RSS after indexing', value: t.rssIndexed.rssMb, unit: 'MB', target: `< ${RSS_TARGET_MB} MB`, met: t.rssIndexed.rssMb < RSS_TARGET_MB });
    const edited = t.rssEdited!;
    rows.push({ figure: 'memory: server RSS after the edits', value: edited.rssMb, unit: 'MB', target: `< ${RSS_TARGET_MB} MB`, met: edited.rssMb < RSS_TARGET_MB });
    rows.push({ figure: '  peak RSS (VmHWM)', value: edited.hwmMb, unit: 'MB', ...(y ? { reference: { label: 'yaml-language-server RSS, 1 open file', value: y.rssMb } } : {}) });

    const notes = [
      `${ws.files} files (${o.defs} generated definitions, one per file, plus model.yaml and a broken file); edits: ${o.warmupEdits} warm-up + ${o.edits} measured toggles per loop, ${o.gapMs} ms pause after each; requests: 10 warm-up + ${o.requests} each, one at a time.`,
      `percentiles are nearest-rank; edit latency = didChange sent -> publishDiagnostics for the file received (client clock). Ratio = Tally / yaml-language-server (lower is better).`,
      `debounce: Tally ${TALLY_DEBOUNCE_MS} ms by default (initializationOptions {}: diagnostics at the next event-loop turn), yaml-language-server 200 ms (its fixed validationDelayMs). debounceMs 5 (second run) moves p50 by ${(p50(d0.latencies) - p50(dur.latencies)).toFixed(1)} ms, p95 by ${(p95(d0.latencies) - p95(dur.latencies)).toFixed(1)} ms.`,
      `server CPU per edit = user+system time of the server process over the measured toggles / their number (it does not grow while other processes hold the cores; wall latency does).`,
      `load average ${load0.map((x) => x.toFixed(2)).join(' ')} at start, ${loadavg().map((x) => x.toFixed(2)).join(' ')} at end, ${cpus().length} cores: client, server and neighbours share them.`,
      `workspace/symbol (query ''): ${t.symbols} symbols (the server caps the list). bad-duration: ${dur.badMessage.slice(0, 110)}`,
      `unknown-attribute: ${att.badMessage.slice(0, 110)}`,
      ...(y ? [`yaml-language-server ${y.version}: ${y.edit.badMessage.slice(0, 140)}`] : []),
      ...Object.entries(t.samples).map(([k, v]) => `${k}: ${v}`),
      ...Object.entries(t.requests).map(([k, xs]) => `${k}: p50 ${p50(xs).toFixed(2)} ms, max ${Math.max(...xs).toFixed(1)} ms`),
      `edit latencies (ms), Tally \`7d\`: min ${Math.min(...dur.latencies).toFixed(1)}, median ${median(dur.latencies).toFixed(1)}, max ${Math.max(...dur.latencies).toFixed(1)}${y ? `; yaml-language-server: min ${Math.min(...y.edit.latencies).toFixed(1)}, median ${median(y.edit.latencies).toFixed(1)}, max ${Math.max(...y.edit.latencies).toFixed(1)}` : ''}`,
    ];
    if (t.profile) {
      notes.push(`CPU profile of Tally's server: ${t.profile}`);
      for (const l of summariseCpuProfile(t.profile, 25)) notes.push(`  ${l}`);
    }
    return {
      name: 'lsp',
      title: `lsp: tally lsp --stdio on ${o.defs} definition files`,
      rows,
      notes,
      detail: { tally: { ...t, edits: Object.fromEntries(Object.entries(t.edits)) }, tallyDebounce0: t0, yls: y },
    };
  } finally {
    rmSync(ws.root, { recursive: true, force: true });
  }
}

/** The section's rows (for `npm run bench`). */
export async function runLspBench(opts: Partial<LspBenchOptions> = {}): Promise<Row[]> {
  return (await lspSection(opts)).rows;
}

// ---- run directly ----------------------------------------------------------------------------------

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opts: Partial<LspBenchOptions> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const num = () => {
      const n = Number(args[++i]);
      if (!Number.isFinite(n) || n < 1) throw new Error(`${a} takes a number >= 1`);
      return Math.floor(n);
    };
    if (a === '--defs') opts.defs = num();
    else if (a === '--edits') opts.edits = num();
    else if (a === '--requests') opts.requests = num();
    else if (a === '--gap') opts.gapMs = num();
    else if (a === '--no-yls') opts.yls = false;
    else if (a === '--cpu-prof') {
      const dir = args[++i];
      if (!dir) throw new Error('--cpu-prof takes a folder');
      opts.cpuProfDir = resolvePath(dir);
      mkdirSync(opts.cpuProfDir, { recursive: true });
    } else {
      console.error('usage: node --import tsx bench/lsp.ts [--defs N] [--edits N] [--requests N] [--gap MS] [--no-yls] [--cpu-prof DIR]');
      process.exit(2);
    }
  }
  const section = await lspSection(opts);
  console.log('\n' + renderSection(section));
}
