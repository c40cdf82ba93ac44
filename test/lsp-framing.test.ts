// The language server's base-protocol framing under broken input: the real `tally lsp --stdio`
// process, raw bytes written to its stdin (a Content-Length too short, too long, on the last
// message, a body that is not JSON, a header without a length, a message one byte at a time), and
// its answers read back with vscode-jsonrpc's reader. After each broken frame the server must keep
// answering, and say what happened in the client's log (window/logMessage).

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { StreamMessageReader, type Message } from 'vscode-languageserver-protocol/node.js';

const REPO = join(import.meta.dirname, '..');

interface Answer {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

class RawClient {
  readonly answers = new Map<number, Answer>();
  readonly logs: string[] = [];
  private nextId = 1;

  constructor(readonly proc: ChildProcess) {
    const reader = new StreamMessageReader(proc.stdout!);
    reader.listen((m: Message) => {
      const msg = m as { id?: number; method?: string; params?: { message?: string }; result?: unknown; error?: Answer['error'] };
      if (msg.method === 'window/logMessage') this.logs.push(msg.params?.message ?? '');
      else if (msg.method && msg.id !== undefined) this.write(frame({ jsonrpc: '2.0', id: msg.id, result: null })); // requests to the client
      else if (msg.id !== undefined && !msg.method) this.answers.set(msg.id, { id: msg.id, result: msg.result, error: msg.error });
    });
  }

  write(bytes: string | Buffer): void {
    this.proc.stdin!.write(bytes);
  }

  request(method: string, params: unknown): { id: number; body: string } {
    const id = this.nextId++;
    return { id, body: JSON.stringify({ jsonrpc: '2.0', id, method, params }) };
  }

  async answer(id: number, timeoutMs = 10_000): Promise<Answer> {
    const deadline = Date.now() + timeoutMs;
    while (!this.answers.has(id)) {
      if (Date.now() > deadline) throw new Error(`no answer to request ${id}; log: ${this.logs.join(' / ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.answers.get(id)!;
  }

  async logged(pattern: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.find((l) => pattern.test(l));
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`nothing logged like ${pattern}; log: ${this.logs.join(' / ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** A base-protocol frame; `length` overrides the true byte length. */
function frame(message: unknown, length?: number): string {
  const body = typeof message === 'string' ? message : JSON.stringify(message);
  return `Content-Length: ${length ?? Buffer.byteLength(body)}\r\n\r\n${body}`;
}

describe('language server framing: broken Content-Length over stdio', function () {
  this.timeout(60_000);
  let root: string;
  let client: RawClient;
  let segUri: string;
  /** A request that needs the server's state: the document symbols of segments.yaml. */
  const symbols = () => client.request('textDocument/documentSymbol', { textDocument: { uri: segUri } });
  const assertSymbols = async (id: number) => {
    const a = await client.answer(id);
    assert.equal(a.error, undefined, JSON.stringify(a.error));
    assert.ok((a.result as { name: string }[]).some((s) => s.name === 'champions'));
  };

  before(async () => {
    if (!existsSync(join(REPO, 'dist', 'cli.mjs'))) spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, stdio: 'inherit' });
    root = mkdtempSync(join(tmpdir(), 'tally-framing-'));
    cpSync(join(REPO, 'examples', 'shop'), root, { recursive: true, filter: (src) => !src.includes(`${'/'}.tally`) });
    segUri = pathToFileURL(join(root, 'definitions', 'segments.yaml')).href;
    const proc = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'lsp', '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
    client = new RawClient(proc);
    const init = client.request('initialize', { processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {} });
    client.write(frame(init.body));
    await client.answer(init.id, 30_000);
    client.write(frame({ jsonrpc: '2.0', method: 'initialized', params: {} }));
  });

  after(async () => {
    const shutdown = client.request('shutdown', null);
    client.write(frame(shutdown.body));
    await client.answer(shutdown.id).catch(() => undefined);
    client.write(frame({ jsonrpc: '2.0', method: 'exit' }));
    client.proc.kill();
    rmSync(root, { recursive: true, force: true });
  });

  it('answers a message whose Content-Length is too short, and the next one', async () => {
    const broken = symbols();
    const next = symbols();
    client.write(frame(broken.body, 20) + frame(next.body));
    await assertSymbols(broken.id);
    await assertSymbols(next.id);
    assert.match(await client.logged(/declared Content-Length 20 but its JSON is \d+ bytes/), /broken message framing/);
  });

  it('answers a message whose Content-Length is too long, without swallowing the next one', async () => {
    const broken = symbols();
    const next = symbols();
    client.write(frame(broken.body, Buffer.byteLength(broken.body) + 40) + frame(next.body));
    await assertSymbols(broken.id);
    await assertSymbols(next.id);
    await client.logged(new RegExp(`declared Content-Length ${Buffer.byteLength(broken.body) + 40} but`));
  });

  it('answers the last message sent when its Content-Length is too long (at the pause)', async () => {
    const broken = symbols();
    client.write(frame(broken.body, Buffer.byteLength(broken.body) + 1000));
    await assertSymbols(broken.id);
    await client.logged(/read up to a pause in the input/);
  });

  it('drops a body that is not JSON, says so, and answers the next message', async () => {
    const next = symbols();
    const garbage = '{"jsonrpc": "2.0", "id": 9999, "method": tally';
    client.write(frame(garbage) + frame(next.body));
    await assertSymbols(next.id);
    const n = Buffer.byteLength(garbage);
    await client.logged(new RegExp(`dropped a message of ${n} bytes \\(Content-Length ${n}\\) that is not JSON`));
    assert.equal(client.answers.has(9999), false);
  });

  it('skips a header without a Content-Length, and bytes between messages', async () => {
    const next = symbols();
    const after = symbols();
    client.write(`Content-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{"x":1}stray bytes` + frame(next.body) + 'more stray' + frame(after.body));
    await assertSymbols(next.id);
    await assertSymbols(after.id);
    await client.logged(/skipped \d+ bytes that were not a message header/);
  });

  it('reads well-formed messages split at any byte, and never logs them as broken', async () => {
    const before = client.logs.length;
    const a = symbols();
    const b = client.request('tally/status', null);
    const bytes = Buffer.from(frame(a.body) + frame(b.body));
    for (let i = 0; i < bytes.length; i += 7) {
      client.write(bytes.subarray(i, i + 7));
      if (i % 70 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await assertSymbols(a.id);
    assert.ok(Array.isArray((await client.answer(b.id)).result));
    assert.deepEqual(client.logs.slice(before).filter((l) => /framing/.test(l)), []);
  });

  it('reads a message of several megabytes sent in 64 KB pieces, then the next one', async () => {
    const before = client.logs.length;
    const text = '# a long comment line of a file outside any project\n'.repeat(60_000);
    const open = frame({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri: pathToFileURL(join(tmpdir(), 'tally-framing-big.yaml')).href, languageId: 'yaml', version: 1, text } } });
    const next = symbols();
    const bytes = Buffer.from(open + frame(next.body));
    assert.ok(bytes.length > 3_000_000);
    for (let i = 0; i < bytes.length; i += 65_536) client.write(bytes.subarray(i, i + 65_536));
    await assertSymbols(next.id);
    assert.deepEqual(client.logs.slice(before).filter((l) => /framing/.test(l)), []);
  });

  it('keeps the message boundary when a document text holds a header-like string', async () => {
    // JSON escapes CR LF inside strings, so header-looking text in a body is not a header.
    const text = 'kind: Segment\nname: tricky\nversion: 1\ndescription: "Content-Length: 12\\r\\n\\r\\n"\nwhere: { attribute: country, eq: DE }\n';
    const uri = pathToFileURL(join(root, 'definitions', 'tricky.yaml')).href;
    client.write(frame({ jsonrpc: '2.0', method: 'textDocument/didOpen', params: { textDocument: { uri, languageId: 'yaml', version: 1, text } } }));
    const q = client.request('textDocument/documentSymbol', { textDocument: { uri } });
    client.write(frame(q.body));
    const a = await client.answer(q.id);
    assert.deepEqual((a.result as { name: string }[]).map((s) => s.name), ['tricky']);
  });
});
