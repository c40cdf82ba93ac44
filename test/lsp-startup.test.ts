// The language server publishes diagnostics from the files alone without waiting for the
// database, whatever it does: one that accepts connections and never answers, and a slow one
// (a proxy that holds PostgreSQL's answers until the test lets them through). The catalog checks
// follow in a second publish when the database answers. The real server over stdio, a real client.
//
// Nothing here is timed: "promptly" is asserted by order (the diagnostics arrived while the
// database had not answered yet), not by a clock.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection as tcpConnect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createProtocolConnection, StreamMessageReader, StreamMessageWriter, type ProtocolConnection, type PublishDiagnosticsParams } from 'vscode-languageserver-protocol/node.js';
import { loadShop } from '../examples/shop/generate.js';

const REPO = join(import.meta.dirname, '..');
const ANCHOR = new Date('2026-11-01T00:00:00Z');

class Client {
  /** Every publication, in arrival order. */
  readonly publications: PublishDiagnosticsParams[] = [];
  private waiters: (() => void)[] = [];
  constructor(
    readonly proc: ChildProcess,
    readonly conn: ProtocolConnection,
  ) {
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.publications.push(p);
      for (const w of this.waiters.splice(0)) w();
    });
    conn.onNotification('window/showMessage', () => undefined);
    conn.onNotification('window/logMessage', () => undefined);
    conn.onRequest('window/showMessageRequest', () => null);
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('workspace/codeLens/refresh', () => null);
    conn.listen();
  }

  /** The first publication for `uri` (from index `from` on) that satisfies `pred`, and its index. */
  async publication(uri: string, pred: (p: PublishDiagnosticsParams) => boolean, from = 0, timeoutMs = 30_000): Promise<{ p: PublishDiagnosticsParams; index: number }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = from; i < this.publications.length; i++) if (this.publications[i]!.uri === uri && pred(this.publications[i]!)) return { p: this.publications[i]!, index: i };
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for diagnostics of ${uri}; got: ${JSON.stringify(this.publications.filter((p) => p.uri === uri).map((p) => p.diagnostics.map((d) => `${d.code}/${d.severity}`)))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.conn.sendRequest('shutdown'), new Promise((r) => setTimeout(r, 5000))]);
      this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    this.proc.kill();
  }
}

async function startServer(root: string, databaseUrl: string): Promise<Client> {
  const proc = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'lsp', '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const client = new Client(proc, conn);
  const uri = pathToFileURL(root).href;
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: uri, workspaceFolders: [{ uri, name: 'shop' }], capabilities: {}, initializationOptions: { databaseUrl, previewTimeoutMs: 5000 } });
  conn.sendNotification('initialized', {});
  return client;
}

/** A copy of the example whose segments.yaml has a file-only error and a catalog-dependent one. */
function project(): { root: string; uri: string; text: string } {
  const root = mkdtempSync(join(tmpdir(), 'tally-lsp-startup-'));
  cpSync(join(REPO, 'examples', 'shop'), root, { recursive: true, filter: (src) => !src.includes(`${'/'}.tally`) });
  const file = join(root, 'definitions', 'segments.yaml');
  const text = `${readFileSync(file, 'utf8')}\n---\nkind: Segment\nname: broken_ref\nversion: 1\nwhere: { segment: no_such_segment }\n---\nkind: Segment\nname: typo\nversion: 1\nwhere: { attribute: countri, eq: DE }\n`;
  return { root, uri: pathToFileURL(file).href, text };
}

const has = (p: PublishDiagnosticsParams, code: string, severity?: number) => p.diagnostics.some((d) => d.code === code && (severity === undefined || d.severity === severity));

/** A TCP listener that accepts connections and never sends a byte. */
async function silentDatabase(): Promise<{ port: number; accepted: () => number; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const server = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    accepted: () => sockets.length,
    close: () => closeServer(server, sockets),
  };
}

/** A proxy to PostgreSQL that holds everything the database sends until `release()`. */
async function heldProxy(target: { host: string; port: number }): Promise<{ port: number; release: () => void; close: () => Promise<void> }> {
  const sockets: Socket[] = [];
  const queued: (() => void)[] = [];
  let released = false;
  const server: Server = createServer((client) => {
    const upstream = tcpConnect(target.port, target.host);
    sockets.push(client, upstream);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (released) client.write(d);
      else queued.push(() => client.write(d));
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    release: () => {
      released = true;
      for (const q of queued.splice(0)) q();
    },
    close: () => closeServer(server, sockets),
  };
}

function closeServer(server: Server, sockets: Socket[]): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((r) => server.close(() => r()));
}

describe('language server: diagnostics never wait for the database', function () {
  this.timeout(120_000);

  before(function () {
    if (!existsSync(join(REPO, 'dist', 'cli.mjs'))) spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, stdio: 'inherit' });
  });

  it('publishes diagnostics from the files alone while the database accepts and never answers', async () => {
    const db = await silentDatabase();
    const { root, uri, text } = project();
    const client = await startServer(root, `postgres://tally@127.0.0.1:${db.port}/shop`);
    try {
      client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
      const { p } = await client.publication(uri, (x) => has(x, 'unknown-reference'));
      // Without the catalog, an attribute the entity does not declare is only a warning.
      assert.ok(has(p, 'unknown-attribute', 2), JSON.stringify(p.diagnostics.map((d) => d.code)));
      // The server asks the database; it accepts and stays silent: the connection is pending.
      for (let i = 0; i < 200 && db.accepted() === 0; i++) await new Promise((r) => setTimeout(r, 100));
      assert.ok(db.accepted() >= 1, 'the server did try the database');
      const [status] = (await client.conn.sendRequest('tally/status')) as { connected: boolean; offline: string | null }[];
      assert.deepEqual([status!.connected, status!.offline], [false, null]);
      // Edits are checked while the database stays silent.
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ text: text.replace('no_such_segment', 'dach') }] });
      await client.publication(uri, (x) => !has(x, 'unknown-reference'));
    } finally {
      await client.stop();
      await db.close();
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('publishes file-only diagnostics before a slow database answers, then the catalog checks', async function () {
    const { postgresReachable, createTestDb } = await import('./helpers/databases.js');
    if (!(await postgresReachable())) this.skip();
    const testDb = await createTestDb('postgres');
    const target = new URL(testDb.url);
    const proxy = await heldProxy({ host: target.hostname, port: Number(target.port || 5432) });
    const { root, uri, text } = project();
    let client: Client | undefined;
    try {
      await loadShop(testDb.db, { customers: 50, anchor: ANCHOR });
      const viaProxy = new URL(testDb.url);
      viaProxy.hostname = '127.0.0.1';
      viaProxy.port = String(proxy.port);
      client = await startServer(root, viaProxy.href);
      client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text } });
      const first = await client.publication(uri, (x) => has(x, 'unknown-reference'));
      assert.ok(has(first.p, 'unknown-attribute', 2), 'a warning before the catalog is loaded');
      assert.ok(!has(first.p, 'unknown-attribute', 1));
      // Published while every byte from the database was still held back (released only now).
      const [status] = (await client.conn.sendRequest('tally/status')) as { connected: boolean }[];
      assert.equal(status!.connected, false, 'not connected yet');
      proxy.release();
      // The second publish carries the catalog checks: the attribute is not a column, an error now.
      const second = await client.publication(uri, (x) => has(x, 'unknown-attribute', 1), first.index + 1);
      assert.ok(has(second.p, 'unknown-reference'), 'file diagnostics stay');
      const [after] = (await client.conn.sendRequest('tally/status')) as { connected: boolean }[];
      assert.equal(after!.connected, true);
    } finally {
      await client?.stop();
      await proxy.close();
      await testDb.drop().catch(() => undefined);
      rmSync(root, { recursive: true, force: true });
    }
  });
});
