// The language server, tested at the protocol level: the real `tally lsp --stdio` process and a
// real JSON-RPC client (vscode-languageserver-protocol), on a copy of the example project.

import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CancellationTokenSource,
  ErrorCodes,
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type ProtocolConnection,
  type PublishDiagnosticsParams,
} from 'vscode-languageserver-protocol/node.js';
import { connect } from '../engine/src/index.js';
import { TallyErrorCodes } from '../server/src/params.js';
import { loadShop } from '../examples/shop/generate.js';

const REPO = join(import.meta.dirname, '..');
const ANCHOR = new Date('2026-11-01T00:00:00Z');

class Client {
  readonly diagnostics = new Map<string, PublishDiagnosticsParams>();
  /** window/showMessage(Request) texts and tally/asOfChanged params, in order. */
  readonly shown: string[] = [];
  readonly asOfChanges: { asOf: string | null }[] = [];
  private waiters: (() => void)[] = [];
  stderr = '';
  constructor(
    readonly proc: ChildProcess,
    readonly conn: ProtocolConnection,
  ) {
    conn.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
      this.diagnostics.set(p.uri, p);
      for (const w of this.waiters.splice(0)) w();
    });
    conn.onNotification('window/showMessage', (p: { message: string }) => this.shown.push(p.message));
    conn.onNotification('tally/asOfChanged', (p: { asOf: string | null }) => this.asOfChanges.push(p));
    conn.onRequest('window/showMessageRequest', (p: { message: string }) => {
      this.shown.push(p.message);
      return null;
    });
    conn.onNotification('window/logMessage', () => undefined);
    proc.stderr?.on('data', (d: Buffer) => {
      this.stderr += d.toString();
    });
    conn.onRequest('client/registerCapability', () => null);
    conn.onRequest('workspace/codeLens/refresh', () => null);
    conn.listen();
  }

  /** Waits until the latest diagnostics for `uri` satisfy `pred`. */
  async diagnosticsFor(uri: string, pred: (p: PublishDiagnosticsParams) => boolean, timeoutMs = 15_000): Promise<PublishDiagnosticsParams> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const p = this.diagnostics.get(uri);
      if (p && pred(p)) return p;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for diagnostics of ${uri}; last: ${JSON.stringify(p?.diagnostics.map((d) => d.code))}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 500));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The code lens titles of a file by definition name, once none is still computing. */
  async lensTitles(uri: string, timeoutMs = 60_000): Promise<Map<string, string>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lenses = (await this.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } })) as { command?: { title: string; arguments?: { name: string }[] } }[];
      const titles = new Map(lenses.map((l) => [l.command?.arguments?.[0]?.name ?? '', l.command?.title ?? '']));
      if (titles.size && ![...titles.values()].includes('computing…')) return titles;
      if (Date.now() > deadline) throw new Error(`lenses still computing: ${[...titles.values()].join(' | ')}`);
      await new Promise((r) => setTimeout(r, 300));
    }
  }

  /** The error code and message a request is answered with (it must fail). */
  async failure(method: string, params: unknown): Promise<{ code: number; message: string }> {
    return this.conn.sendRequest(method, params).then(
      (r) => {
        throw new Error(`${method} answered ${JSON.stringify(r).slice(0, 200)} instead of failing`);
      },
      (e: { code: number; message: string }) => ({ code: e.code, message: e.message }),
    );
  }

  async stop(): Promise<void> {
    try {
      await this.conn.sendRequest('shutdown');
      this.conn.sendNotification('exit');
    } catch {
      // already gone
    }
    this.conn.dispose();
    this.proc.kill();
  }
}

async function startServer(root: string, initializationOptions: Record<string, unknown> = {}): Promise<Client> {
  const proc = spawn(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'lsp', '--stdio'], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
  const conn = createProtocolConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  const client = new Client(proc, conn);
  const uri = pathToFileURL(root).href;
  await conn.sendRequest('initialize', {
    processId: process.pid,
    rootUri: uri,
    workspaceFolders: [{ uri, name: 'shop' }],
    capabilities: { workspace: { codeLens: { refreshSupport: true } }, textDocument: { completion: { completionItem: { snippetSupport: true } } } },
    initializationOptions,
  });
  conn.sendNotification('initialized', {});
  return client;
}

async function until(probe: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
}

function copyExample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'tally-lsp-'));
  cpSync(join(REPO, 'examples', 'shop'), dir, { recursive: true, filter: (src) => !src.includes(`${'/'}.tally`) });
  return dir;
}

/** Line/character of the n-th occurrence of `needle` in `text` (plus `delta` characters). */
function positionOf(text: string, needle: string, delta = 0, nth = 0): { line: number; character: number } {
  let i = -1;
  for (let k = 0; k <= nth; k++) i = text.indexOf(needle, i + 1);
  assert.ok(i >= 0, `'${needle}' not found`);
  const before = text.slice(0, i + delta);
  const lines = before.split('\n');
  return { line: lines.length - 1, character: lines[lines.length - 1]!.length };
}

describe('language server over stdio', function () {
  this.timeout(120_000);
  let root: string;
  let client: Client;
  let segUri: string;
  let segText: string;

  before(function () {
    if (!existsSync(join(REPO, 'dist', 'cli.mjs'))) spawnSync(process.execPath, [join(REPO, 'esbuild.mjs')], { cwd: REPO, stdio: 'inherit' });
  });

  /** Starts the server on `root` with definitions/segments.yaml open in the editor. */
  async function startWithSegmentsOpen(): Promise<void> {
    client = await startServer(root);
    segUri = pathToFileURL(join(root, 'definitions', 'segments.yaml')).href;
    segText = readFileSync(join(root, 'definitions', 'segments.yaml'), 'utf8');
    client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: segUri, languageId: 'yaml', version: 1, text: segText } });
  }
  async function stopAndRemove(): Promise<void> {
    await client.stop();
    rmSync(root, { recursive: true, force: true });
  }

  describe('offline (no database)', () => {
    before(async () => {
      root = copyExample();
      await startWithSegmentsOpen();
    });
    after(stopAndRemove);

    it('forgets definition files deleted on disk: by a watched-file event, or when an editor closes after the deletion', async () => {
      const names = async () => ((await client.conn.sendRequest('tally/definitions', {})) as { definitions: { name: string }[] }).definitions.map((d) => d.name);
      const write = (file: string, name: string) => {
        const path = join(root, 'definitions', file);
        writeFileSync(path, `kind: Segment\nname: ${name}\nversion: 1\nwhere: { attribute: country, eq: DE }\n`);
        client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(path).href, type: 1 }] });
        return path;
      };
      const a = write('gone_a.yaml', 'gone_a');
      const b = write('gone_b.yaml', 'gone_b');
      assert.ok((await names()).includes('gone_a') && (await names()).includes('gone_b'));
      // a: deleted while closed; the watcher says so.
      rmSync(a);
      client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: pathToFileURL(a).href, type: 3 }] });
      // b: open in an editor, deleted (the event is ignored while the buffer is open), then closed.
      const bUri = pathToFileURL(b).href;
      client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: bUri, languageId: 'yaml', version: 1, text: readFileSync(b, 'utf8') } });
      rmSync(b);
      client.conn.sendNotification('workspace/didChangeWatchedFiles', { changes: [{ uri: bUri, type: 3 }] });
      client.conn.sendNotification('textDocument/didClose', { textDocument: { uri: bUri } });
      const left = await names();
      assert.equal(left.includes('gone_a'), false);
      assert.equal(left.includes('gone_b'), false);
      assert.ok(left.includes('high_value_dormant'));
    });

    it('publishes diagnostics, then flags a broken reference and clears it when fixed', async () => {
      const ref = segText.match(/segment: ([a-z_]+)/);
      assert.ok(ref, 'the example has a segment reference');
      const broken = segText.replace(ref[0], `segment: ${ref[1]}x`);
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 2 }, contentChanges: [{ text: broken }] });
      const bad = await client.diagnosticsFor(segUri, (p) => p.diagnostics.some((d) => d.code === 'unknown-reference'));
      const d = bad.diagnostics.find((x) => x.code === 'unknown-reference')!;
      assert.match(d.message, new RegExp(`did you mean '${ref[1]}'`));
      const expectedStart = positionOf(broken, `segment: ${ref[1]}x`, 'segment: '.length);
      assert.deepEqual(d.range.start, expectedStart);
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 3 }, contentChanges: [{ text: segText }] });
      await client.diagnosticsFor(segUri, (p) => !p.diagnostics.some((x) => x.code === 'unknown-reference'));
    });

    it('survives a file broken mid-edit', async () => {
      const half = `${segText}\n---\nkind: Segment\nname: half\nwhere: { attribute: country, eq: "DE\n`;
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 4 }, contentChanges: [{ text: half }] });
      const p = await client.diagnosticsFor(segUri, (x) => x.diagnostics.some((d) => d.code === 'yaml-syntax'));
      assert.ok(p.diagnostics.length > 0);
      // Still answers requests on the other documents of the file.
      const symbols = (await client.conn.sendRequest('textDocument/documentSymbol', { textDocument: { uri: segUri } })) as { name: string }[];
      assert.ok(symbols.length > 3, 'earlier documents still have symbols');
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 5 }, contentChanges: [{ text: segText }] });
      await client.diagnosticsFor(segUri, (x) => !x.diagnostics.some((d) => d.code === 'yaml-syntax'));
    });

    it('completes segment names after `segment:`', async () => {
      const pos = positionOf(segText, 'segment: ', 'segment: '.length);
      const items = (await client.conn.sendRequest('textDocument/completion', { textDocument: { uri: segUri }, position: pos })) as { label: string }[];
      const labels = items.map((i) => i.label);
      assert.ok(labels.includes('high_value_dormant'), `got ${labels.slice(0, 10).join(', ')}`);
    });

    it('completes condition keys with their docs', async () => {
      const text = `${segText}\n---\nkind: Segment\nname: typing\nversion: 1\nwhere: { attr }\n`;
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 6 }, contentChanges: [{ text }] });
      const pos = positionOf(text, '{ attr }', 6);
      const items = (await client.conn.sendRequest('textDocument/completion', { textDocument: { uri: segUri }, position: pos })) as { label: string; documentation?: { value: string } }[];
      const attr = items.find((i) => i.label === 'attribute');
      assert.ok(attr, `got ${items.map((i) => i.label).join(', ')}`);
      assert.ok((attr.documentation?.value ?? '').length > 10);
      client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 7 }, contentChanges: [{ text: segText }] });
    });

    it('hovers a key with schema docs and a reference with its definition', async () => {
      const keyHover = (await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: segUri }, position: positionOf(segText, 'where:', 1) })) as { contents: { value: string } };
      assert.match(keyHover.contents.value, /where/);
      const ref = segText.match(/segment: ([a-z_]+)/)!;
      const refHover = (await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: segUri }, position: positionOf(segText, ref[0], 'segment: '.length + 1) })) as { contents: { value: string } };
      assert.match(refHover.contents.value, new RegExp(`Segment ${ref[1]}`));
    });

    it('goes to definition, finds references and renames across files', async () => {
      const ref = segText.match(/segment: ([a-z_]+)/)!;
      const pos = positionOf(segText, ref[0], 'segment: '.length + 1);
      const defs = (await client.conn.sendRequest('textDocument/definition', { textDocument: { uri: segUri }, position: pos })) as { uri: string; range: { start: { line: number } } }[];
      assert.equal(defs.length, 1);
      const targetText = readFileSync(new URL(defs[0]!.uri), 'utf8');
      assert.equal(targetText.split('\n')[defs[0]!.range.start.line]!.trim(), `name: ${ref[1]}`);
      const refs = (await client.conn.sendRequest('textDocument/references', { textDocument: { uri: segUri }, position: pos, context: { includeDeclaration: true } })) as unknown[];
      assert.ok(refs.length >= 2);
      const bad = await client.conn.sendRequest('textDocument/rename', { textDocument: { uri: segUri }, position: pos, newName: 'Not-Valid' }).then(
        () => 'accepted',
        (e: Error) => e.message,
      );
      assert.match(String(bad), /not a valid name/);
      const edit = (await client.conn.sendRequest('textDocument/rename', { textDocument: { uri: segUri }, position: pos, newName: `${ref[1]}_v2` })) as { changes: Record<string, unknown[]> };
      const count = Object.values(edit.changes).reduce((n, e) => n + e.length, 0);
      assert.equal(count, refs.length, 'one edit per reference and the declaration');
    });

    it('answers previews with a clear offline error', async () => {
      const err = await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'high_value_dormant' }).then(
        () => undefined,
        (e: { message: string; data?: { offline?: boolean } }) => e,
      );
      assert.ok(err, 'preview must fail offline');
      assert.match(err.message, /previews are off/);
    });

    it('switches to a database named in the client settings', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tally-lsp-setting-'));
      try {
        const db = await connect(`pglite:${dir}`, { baseDir: dir, create: true });
        await loadShop(db, { customers: 150, anchor: ANCHOR });
        await db.close();
        client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { databaseUrl: `pglite:${dir}` } } });
        const deadline = Date.now() + 30_000;
        let count: number | undefined;
        while (count === undefined && Date.now() < deadline) {
          count = await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'lifecycle', name: 'customer_lifecycle', asOf: ANCHOR.toISOString() }).then(
            (r) => Object.values((r as { stages: Record<string, number> }).stages).reduce((a, b) => a + b, 0),
            () => undefined,
          );
          if (count === undefined) await new Promise((r) => setTimeout(r, 300));
        }
        assert.equal(count, 150);
      } finally {
        client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: {} } });
        await new Promise((r) => setTimeout(r, 300));
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('serves compiled SQL', async () => {
      const r = (await client.conn.sendRequest('tally/compiledSql', { uri: segUri, kind: 'segment', name: 'high_value_dormant' })) as { sql: string };
      assert.match(r.sql, /^select "e"\."id" as key from "customers"/);
    });
    it('answers bad params of every custom request with InvalidParams, saying what is wrong', async () => {
      const cases: [string, unknown, RegExp][] = [
        ['tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: 'yesterday' }, /^invalid params for tally\/preview: asOf 'yesterday' is not an ISO instant; write 2026-06-01 or 2026-06-01T00:00:00Z$/],
        ['tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: '2026-02-30' }, /: asOf '2026-02-30' is not an ISO instant/],
        ['tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: 20261001 }, /: asOf must be a string$/],
        ['tally/preview', { uri: segUri, kind: 'widget', name: 'dach' }, /: kind must be one of segment, trait, score, lifecycle, kpi, campaign, cohort, funnel, sync$/],
        ['tally/preview', { uri: segUri, kind: 'segment' }, /: params must have required property 'name'$/],
        ['tally/preview', { uri: segUri, kind: 'segment', name: '' }, /: name must not be empty$/],
        ['tally/preview', { uri: 42, kind: 'segment', name: 'dach' }, /: uri must be a string$/],
        ['tally/preview', { uri: segUri, kind: 'segment', name: 'dach', detail: 'yes' }, /: detail must be a boolean$/],
        ['tally/preview', null, /: params must be an object$/],
        ['tally/compiledSql', { uri: segUri, kind: 'entity', name: 'customer' }, /: kind must be one of segment, lifecycle, kpi, trait, score, campaign, cohort, funnel, sync$/],
        ['tally/compiledSql', { uri: segUri, kind: 'segment', name: 'dach', asOf: '2026-10-01T25:00' }, /: asOf '2026-10-01T25:00' is not an ISO instant/],
        ['tally/plan', { uri: segUri, asOf: 'soon' }, /^invalid params for tally\/plan: asOf 'soon' is not an ISO instant/],
        ['tally/plan', { uri: segUri, allowDrop: 'yes' }, /: allowDrop must be a boolean$/],
        ['tally/check', { uri: segUri, failOn: 'sometimes' }, /^invalid params for tally\/check: failOn: /],
        ['tally/check', { uri: segUri, asOf: '' }, /: asOf '' is not an ISO instant/],
        ['tally/definitions', { compute: 'yes' }, /^invalid params for tally\/definitions: compute must be a boolean$/],
        ['tally/definitions', 'all', /: params must be an object or absent$/],
        ['tally/review', { uri: segUri, every: 'year' }, /^invalid params for tally\/review: every must be one of day, week, month$/],
        ['tally/review', { uri: segUri, from: 'last week' }, /^invalid params for tally\/review: from must be a day \(YYYY-MM-DD\)$/],
        ['tally/review', { uri: segUri, to: '2026-02-31' }, /^invalid params for tally\/review: to must be a day \(YYYY-MM-DD\)$/],
      ];
      for (const [method, params, message] of cases) {
        const e = await client.failure(method, params);
        assert.equal(e.code, ErrorCodes.InvalidParams, `${method} ${JSON.stringify(params)}: ${e.code} ${e.message}`);
        assert.match(e.message, message);
      }
      // Good params still get their answer: offline, a preview says so, not invalid params.
      assert.equal((await client.failure('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: '2026-10-01' })).code, TallyErrorCodes.Offline);
      assert.ok(((await client.conn.sendRequest('tally/definitions')) as { definitions: unknown[] }).definitions.length > 10);
    });

    it('answers bad params of the standard requests with InvalidParams naming the field, never an internal error', async () => {
      const doc = { uri: segUri };
      const at = { line: 0, character: 0 };
      const cases: [string, unknown, RegExp][] = [
        ['textDocument/hover', { position: at }, /^invalid params for textDocument\/hover: params must have required property 'textDocument'$/],
        ['textDocument/hover', { textDocument: doc, position: { line: '3', character: 0 } }, /: position\.line must be a non-negative integer$/],
        ['textDocument/hover', { textDocument: doc }, /: params must have required property 'position'$/],
        ['textDocument/completion', { textDocument: {}, position: at }, /^invalid params for textDocument\/completion: textDocument must have required property 'uri'$/],
        ['textDocument/completion', { textDocument: doc, position: { line: 0, character: 1.5 } }, /: position\.character must be a non-negative integer$/],
        ['textDocument/definition', { textDocument: 'seg.yaml', position: at }, /: textDocument must be an object$/],
        ['textDocument/references', { textDocument: doc, position: at }, /^invalid params for textDocument\/references: params must have required property 'context'$/],
        ['textDocument/references', { textDocument: doc, position: at, context: { includeDeclaration: 'yes' } }, /: context\.includeDeclaration must be a boolean$/],
        ['textDocument/prepareRename', { textDocument: doc, position: { line: -1, character: 0 } }, /: position\.line must be a non-negative integer$/],
        ['textDocument/rename', { textDocument: doc, position: at }, /^invalid params for textDocument\/rename: params must have required property 'newName'$/],
        ['textDocument/rename', { textDocument: doc, position: at, newName: 42 }, /: newName must be a string$/],
        ['textDocument/documentSymbol', {}, /^invalid params for textDocument\/documentSymbol: params must have required property 'textDocument'$/],
        ['textDocument/codeLens', { textDocument: { uri: 7 } }, /^invalid params for textDocument\/codeLens: textDocument\.uri must be a string$/],
        ['workspace/symbol', {}, /^invalid params for workspace\/symbol: params must have required property 'query'$/],
      ];
      for (const [method, params, message] of cases) {
        const e = await client.failure(method, params);
        assert.equal(e.code, ErrorCodes.InvalidParams, `${method} ${JSON.stringify(params)}: ${e.code} ${e.message}`);
        assert.match(e.message, message);
      }
      // Good params still get their answer, and the server is still up.
      const hover = (await client.conn.sendRequest('textDocument/hover', { textDocument: doc, position: at })) as unknown;
      assert.ok(hover === null || typeof hover === 'object');
      assert.ok(((await client.conn.sendRequest('textDocument/documentSymbol', { textDocument: doc })) as unknown[]).length > 0);
      assert.ok(Array.isArray(await client.conn.sendRequest('workspace/symbol', { query: 'dach' })));
    });

    it("holds the editor's as-of from the initialization option and the setting: status, compiled SQL, duration hovers", async () => {
      const other = await startServer(root, { asOf: '2026-10-01' });
      try {
        const campaignsUri = pathToFileURL(join(root, 'definitions', 'campaigns.yaml')).href;
        const campaigns = readFileSync(join(root, 'definitions', 'campaigns.yaml'), 'utf8');
        other.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: campaignsUri, languageId: 'yaml', version: 1, text: campaigns } });
        const status = async () => ((await other.conn.sendRequest('tally/status')) as { asOf: string | null }[])[0]!.asOf;
        const sql = async () => (await other.conn.sendRequest('tally/compiledSql', { uri: segUri, kind: 'segment', name: 'dach' })) as { sql: string; asOf: string | null };
        const hover = async () => ((await other.conn.sendRequest('textDocument/hover', { textDocument: { uri: campaignsUri }, position: positionOf(campaigns, 'within: 14d', 'within: '.length + 1) })) as { contents: { value: string } }).contents.value;
        assert.equal(await status(), '2026-10-01T00:00:00.000Z');
        const at = await sql();
        assert.equal(at.asOf, '2026-10-01T00:00:00.000Z');
        assert.ok(at.sql.includes('2026-10-01T00:00:00') && !/now\(\)/.test(at.sql), at.sql.slice(0, 300));
        assert.match(await hover(), /As of 2026-10-01 00:00: 2026-09-17 00:00 \(excluded\) to 2026-10-01 00:00 \(included\)/);
        // Emptied: now again, and the client is told.
        other.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { asOf: '' } } });
        await until(() => other.asOfChanges.length === 1);
        assert.deepEqual(other.asOfChanges, [{ asOf: null }]);
        assert.equal(await status(), null);
        const now = await sql();
        assert.equal(now.asOf, null);
        assert.match(now.sql, /now\(\)/);
        assert.match(await hover(), /As of now: /);
        // Not an instant: said once, figures stay as of now (no change to announce).
        other.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { asOf: 'next tuesday' } } });
        await until(() => other.shown.some((m) => m.includes("tally.asOf 'next tuesday' is not an ISO instant")));
        assert.equal(await status(), null);
        assert.equal(other.asOfChanges.length, 1);
        // A setting that leaves the as-of out (e.g. only the timeout) does not reset it.
        other.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { asOf: '2026-10-01T12:30:00+02:00' } } });
        await until(() => other.asOfChanges.length === 2);
        other.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { previewTimeoutMs: 4000 } } });
        assert.equal(await status(), '2026-10-01T10:30:00.000Z');
      } finally {
        await other.stop();
      }
    });
  });

  describe('online (PGlite with the shop data)', () => {
    let dbDir: string;
    before(async () => {
      root = copyExample();
      dbDir = join(root, '.tally', 'db');
      const db = await connect(`pglite:${dbDir}`, { baseDir: root, create: true });
      await loadShop(db, { customers: 400, anchor: ANCHOR });
      await db.close();
      await startWithSegmentsOpen();
    });
    after(stopAndRemove);

    it('previews a segment, a lifecycle and a KPI as of the data anchor', async () => {
      const seg = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: ANCHOR.toISOString() })) as { count: number; sample: Record<string, unknown>[] };
      assert.ok(seg.count > 0);
      assert.ok(seg.sample.every((r) => String(r.email).includes('***')), 'PII masked');
      const lc = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'lifecycle', name: 'customer_lifecycle', asOf: ANCHOR.toISOString() })) as { stages: Record<string, number> };
      assert.equal(Object.values(lc.stages).reduce((a, b) => a + b, 0), 400);
      const kpi = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'kpi', name: 'd30_retention', asOf: ANCHOR.toISOString() })) as { status: string };
      assert.match(kpi.status, /^(met|on_track|at_risk|missed|failed)$/);
      const camp = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'campaign', name: 'winback_dormant', asOf: '2026-10-01T00:00:00Z' })) as {
        kind: string;
        audience: number;
        variants: { name: string; count: number; holdout: boolean }[];
        held_back: Record<string, number>;
      };
      assert.equal(camp.kind, 'campaign');
      assert.deepEqual(camp.variants.map((v) => [v.name, v.holdout]), [['control', true], ['ten_off', false], ['twenty_off', false]]);
      assert.equal(camp.variants.reduce((a, v) => a + v.count, 0), camp.audience);
      assert.deepEqual(Object.keys(camp.held_back), ['exclusions', 'schedule', 'trigger', 'entry', 'frequency_cap']);
    });

    it('plans the workspace and runs the checks, with KPI locations for the Problems panel', async function () {
      this.timeout(60_000);
      const plan = (await client.conn.sendRequest('tally/plan', { uri: segUri, asOf: ANCHOR.toISOString() })) as {
        refused: boolean;
        markdown: string;
        json: { summary: Record<string, number>; changes: { kind: string; name: string; impact: { after: number } | null }[] };
      };
      assert.equal(plan.refused, false);
      assert.match(plan.markdown, /^### Tally plan: 0 changed, \d+ new, 0 removed, 0 unchanged/);
      const seg = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: ANCHOR.toISOString() })) as { count: number };
      assert.equal(plan.json.changes.find((c) => c.kind === 'segment' && c.name === 'dach')!.impact!.after, seg.count);
      const check = (await client.conn.sendRequest('tally/check', { uri: segUri, asOf: ANCHOR.toISOString() })) as {
        kpis: { name: string; status: string; uri: string; range: { start: { line: number; character: number } }; message: string }[];
        markdown: string;
        passed: boolean;
      };
      const kpiFile = readFileSync(join(root, 'definitions', 'kpis.yaml'), 'utf8').split('\n');
      assert.ok(check.kpis.length >= 10);
      for (const k of check.kpis) {
        assert.match(k.status, /^(met|on_track|at_risk|missed|failed)$/);
        assert.equal(k.uri, pathToFileURL(join(root, 'definitions', 'kpis.yaml')).href);
        assert.equal(kpiFile[k.range.start.line]!.slice(k.range.start.character), k.name);
        // The sentence CI annotations use (kpi/render.ts kpiSentence), ending in the status.
        assert.ok(k.message.startsWith(`${k.name} is `) && k.message.includes(`: ${k.status.replace('_', ' ')}`), k.message);
      }
      assert.match(check.markdown, /Tally check: /);
      assert.equal(check.passed, !check.kpis.some((k) => k.status === 'failed' || k.status === 'missed'));
    });

    it('answers tally/review with the review as data and as the page in the editor theme', async function () {
      this.timeout(120_000);
      const r = (await client.conn.sendRequest('tally/review', { uri: segUri, every: 'month' })) as {
        root: string;
        html: string;
        data: { kind: string; every: string; stages: { kpis: unknown[] }[]; lifecycles: unknown[]; cohorts: unknown[]; funnels: unknown[]; campaigns: { variants: unknown[] }[] };
      };
      assert.equal(r.data.kind, 'review');
      assert.equal(r.data.every, 'month');
      assert.ok(r.data.cohorts.length >= 1 && r.data.funnels.length >= 1, 'cohorts and funnels are reviewed');
      assert.match(r.html, /--vscode-editor-background/);
      assert.doesNotMatch(r.html, /<script/i);
      const charts = r.data.stages.reduce((n, s) => n + s.kpis.length, 0) + r.data.lifecycles.length + r.data.cohorts.length + r.data.funnels.length + r.data.campaigns.filter((c) => c.variants.length).length;
      assert.equal(r.html.match(/<svg /g)?.length ?? 0, charts);
    });

    it('shows live figures in code lenses', async () => {
      const deadline = Date.now() + 30_000;
      let titles: string[] = [];
      while (Date.now() < deadline) {
        const lenses = (await client.conn.sendRequest('textDocument/codeLens', { textDocument: { uri: segUri } })) as { command?: { title: string } }[];
        titles = lenses.map((l) => l.command?.title ?? '');
        if (titles.length && titles.every((t) => t !== 'computing…')) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.ok(titles.some((t) => /^\d[\d,]* customers?$/.test(t)), `lens titles: ${titles.slice(0, 5).join(' | ')}`);
    });

    it('shows a campaign lens: who a run now would enroll', async () => {
      const uri = pathToFileURL(join(root, 'definitions', 'campaigns.yaml')).href;
      client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'yaml', version: 1, text: readFileSync(join(root, 'definitions', 'campaigns.yaml'), 'utf8') } });
      const deadline = Date.now() + 30_000;
      let titles: string[] = [];
      while (Date.now() < deadline) {
        const lenses = (await client.conn.sendRequest('textDocument/codeLens', { textDocument: { uri } })) as { command?: { title: string } }[];
        titles = lenses.map((l) => l.command?.title ?? '');
        if (titles.length && titles.every((t) => t !== 'computing…')) break;
        await new Promise((r) => setTimeout(r, 300));
      }
      assert.equal(titles.length, 2, titles.join(' | '));
      for (const t of titles) assert.match(t, /^would enroll \d[\d,]* of \d[\d,]*$/);
    });

    it('answers the editor extras: detailed previews and the definitions list with live figures', async () => {
      const at = ANCHOR.toISOString();
      const seg = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: at, detail: true })) as {
        count: number;
        lifecycle?: { name: string; stages: Record<string, number> };
        deployed?: unknown;
      };
      assert.equal(seg.lifecycle?.name, 'customer_lifecycle');
      assert.equal(Object.values(seg.lifecycle!.stages).reduce((a, b) => a + b, 0), seg.count, 'every member is in exactly one stage');
      assert.ok('deployed' in seg);
      const kpi = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'kpi', name: 'd30_retention', asOf: at, detail: true })) as {
        value: number | null;
        series?: { at: string; value: number | null; expected: number | null }[];
        pace?: { from: { at: string }; to: { at: string } };
        format?: string;
      };
      assert.equal(kpi.series?.length, 8);
      assert.equal(kpi.series!.at(-1)!.at, at);
      assert.equal(kpi.series!.at(-1)!.value, kpi.value);
      assert.ok(kpi.pace && Date.parse(kpi.pace.to.at) > Date.parse(kpi.pace.from.at));
      assert.equal(kpi.format, 'percent');
      const defs = (await client.conn.sendRequest('tally/definitions', { compute: true })) as {
        projects: { root: string; files: string[] }[];
        definitions: { kind: string; name: string; uri: string; count: number | null; status: string | null }[];
      };
      assert.equal(defs.projects.length, 1);
      assert.ok(defs.projects[0]!.files.includes(segUri));
      assert.ok(defs.definitions.some((d) => d.kind === 'Segment' && d.name === 'dach' && d.uri === segUri));
      const deadline = Date.now() + 30_000;
      let live = defs;
      while (Date.now() < deadline && !(live.definitions.some((d) => d.kind === 'Kpi' && d.status) && live.definitions.some((d) => d.kind === 'Segment' && d.count !== null))) {
        await new Promise((r) => setTimeout(r, 300));
        live = (await client.conn.sendRequest('tally/definitions', {})) as typeof defs;
      }
      assert.ok(live.definitions.some((d) => d.kind === 'Kpi' && /^(met|on_track|at_risk|missed|failed)$/.test(d.status ?? '')));
      assert.ok(live.definitions.some((d) => d.kind === 'Segment' && typeof d.count === 'number'));
    });

    it('answers a preview past its timeout with the timeout (code 4), and reconnects at once when the limit is raised', async () => {
      const ask = (name: string) =>
        client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'kpi', name, asOf: ANCHOR.toISOString(), detail: true }).then(
          () => 0,
          (e: { code: number }) => e.code,
        );
      client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { previewTimeoutMs: 1 } } });
      // The ones queued behind the preview that timed out (its worker is gone) say so too, not "offline".
      assert.deepEqual(await Promise.all(['d30_retention', 'd7_retention', 'churn_30d', 'activation_rate'].map(ask)), Array(4).fill(TallyErrorCodes.Timeout));
      client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { previewTimeoutMs: 5000 } } });
      assert.equal(await ask('d30_retention'), 0);
      const [status] = (await client.conn.sendRequest('tally/status')) as { connected: boolean; offline: string | null }[];
      assert.deepEqual([status!.connected, status!.offline], [true, null]);
    });

    it("shows every figure at the editor's as-of: lenses, the preview panel, the view, hovers, plan and checks agree", async function () {
      this.timeout(180_000);
      const asOf = '2026-10-01T00:00:00.000Z';
      const count = (title: string) => Number(title.replace(/\D/g, ''));
      const asOfNow = await client.lensTitles(segUri);
      client.asOfChanges.length = 0;
      client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { asOf: '2026-10-01' } } });
      await until(() => client.asOfChanges.length === 1);
      assert.deepEqual(client.asOfChanges, [{ asOf }]);
      try {
        const lenses = await client.lensTitles(segUri);
        let moved = 0;
        for (const [name, title] of lenses) {
          if (!/ customers?$/.test(title)) continue;
          // What the preview panel asks (no asOf: the server's), and the same instant named.
          const panel = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name, detail: true })) as { count: number; as_of: string };
          assert.equal(panel.as_of, asOf);
          assert.equal(count(title), panel.count, `${name}: lens '${title}', panel ${panel.count}`);
          const named = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name, asOf: '2026-10-01' })) as { count: number };
          assert.equal(named.count, panel.count);
          if (count(asOfNow.get(name)!) !== panel.count) moved++;
        }
        assert.ok(moved > 0, 'some segment sizes differ between now and the as-of (else the lenses could still be as of now)');
        // A hover's live figure is the lens's.
        const hover = (await client.conn.sendRequest('textDocument/hover', { textDocument: { uri: segUri }, position: positionOf(segText, 'segment: champions', 'segment: '.length + 1) })) as { contents: { value: string } };
        assert.ok(hover.contents.value.includes(lenses.get('champions')!), hover.contents.value);
        // The Tally view's figures.
        let defs: { definitions: { kind: string; name: string; count: number | null; status: string | null }[] } = { definitions: [] };
        const deadline = Date.now() + 60_000;
        for (;;) {
          defs = (await client.conn.sendRequest('tally/definitions', { compute: true })) as typeof defs;
          const kpi = defs.definitions.find((d) => d.kind === 'Kpi' && d.name === 'd30_retention');
          if (defs.definitions.find((d) => d.kind === 'Segment' && d.name === 'dach')?.count != null && kpi?.status) break;
          if (Date.now() > deadline) throw new Error('the definitions list has no figures');
          await new Promise((r) => setTimeout(r, 300));
        }
        assert.equal(defs.definitions.find((d) => d.name === 'dach')!.count, count(lenses.get('dach')!));
        // A KPI: lens, panel, view and checks at the same instant.
        const kpiUri = pathToFileURL(join(root, 'definitions', 'kpis.yaml')).href;
        client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: kpiUri, languageId: 'yaml', version: 1, text: readFileSync(join(root, 'definitions', 'kpis.yaml'), 'utf8') } });
        const kpiLens = (await client.lensTitles(kpiUri)).get('d30_retention')!;
        const kpi = (await client.conn.sendRequest('tally/preview', { uri: kpiUri, kind: 'kpi', name: 'd30_retention', detail: true })) as { value: number; status: string; as_of: string };
        assert.equal(kpi.as_of, asOf);
        assert.ok(kpiLens.endsWith(`· ${kpi.status.replace('_', ' ')}`), `${kpiLens} vs ${kpi.status}`);
        assert.equal(defs.definitions.find((d) => d.name === 'd30_retention')!.status, kpi.status);
        const check = (await client.conn.sendRequest('tally/check', { uri: segUri })) as { kpis: { name: string; value: number | null; status: string }[] };
        const checked = check.kpis.find((k) => k.name === 'd30_retention')!;
        assert.deepEqual([checked.value, checked.status], [kpi.value, kpi.status]);
        // The plan measures impacts at the same instant.
        const plan = (await client.conn.sendRequest('tally/plan', { uri: segUri })) as { json: { changes: { kind: string; name: string; impact: { after: number } | null }[] } };
        assert.equal(plan.json.changes.find((c) => c.kind === 'segment' && c.name === 'dach')!.impact!.after, count(lenses.get('dach')!));
      } finally {
        client.conn.sendNotification('workspace/didChangeConfiguration', { settings: { tally: { asOf: '' } } });
        await until(() => client.asOfChanges.length === 2);
      }
      assert.deepEqual(client.asOfChanges[1], { asOf: null });
      // Back to now: the lenses are recomputed at now, like the panel.
      const again = await client.lensTitles(segUri);
      const panel = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', detail: true })) as { count: number; as_of: string };
      assert.ok(Date.now() - Date.parse(panel.as_of) < 60_000, panel.as_of);
      assert.equal(count(again.get('dach')!), panel.count);
    });
  });
});

describe('language server on PostgreSQL', function () {
  this.timeout(120_000);
  let root: string;
  let client: Client;
  let segUri: string;
  let testDb: import('./helpers/databases.js').TestDb;

  before(async function () {
    const { postgresReachable, createTestDb } = await import('./helpers/databases.js');
    if (!(await postgresReachable())) this.skip();
    testDb = await createTestDb('postgres');
    await loadShop(testDb.db, { customers: 300, anchor: ANCHOR });
    root = copyExample();
    client = await startServer(root, { databaseUrl: testDb.url, previewTimeoutMs: 5000 });
    segUri = pathToFileURL(join(root, 'definitions', 'segments.yaml')).href;
    client.conn.sendNotification('textDocument/didOpen', { textDocument: { uri: segUri, languageId: 'yaml', version: 1, text: readFileSync(join(root, 'definitions', 'segments.yaml'), 'utf8') } });
  });
  after(async () => {
    await client?.stop();
    await testDb?.drop().catch(() => undefined);
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('previews against the server and checks the live catalog', async () => {
    const seg = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: ANCHOR.toISOString() })) as { count: number };
    assert.ok(seg.count > 0);
    const status = (await client.conn.sendRequest('tally/status')) as { connected: boolean; database: string }[];
    assert.equal(status[0]!.connected, true);
    assert.ok(!status[0]!.database.includes('password'));
    // An attribute that is not a column is now an error (the catalog is loaded).
    const text = `${readFileSync(join(root, 'definitions', 'segments.yaml'), 'utf8')}\n---\nkind: Segment\nname: typo\nversion: 1\nwhere: { attribute: countri, eq: DE }\n`;
    client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 2 }, contentChanges: [{ text }] });
    const d = await client.diagnosticsFor(segUri, (p) => p.diagnostics.some((x) => x.code === 'unknown-attribute'));
    const diag = d.diagnostics.find((x) => x.code === 'unknown-attribute')!;
    assert.equal(diag.severity, 1, 'an error with the catalog connected');
    assert.match(diag.message, /did you mean 'country'/);
  });

  it('compares a segment with its deployed version at the preview\'s instant, not the view\'s now', async () => {
    const deployed = spawnSync(process.execPath, [join(REPO, 'bin', 'tally.mjs'), 'deploy', '--project', root, '--db', testDb.url], { encoding: 'utf8', env: { ...process.env, TALLY_DATABASE_URL: '', DATABASE_URL: '' } });
    assert.equal(deployed.status, 0, deployed.stderr);
    type Detailed = { count: number; deployed: { count: number; same_definition: boolean } | null };
    const dach = async () => (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: '2026-10-01', detail: true })) as Detailed;
    const unchanged = await dach();
    assert.deepEqual([unchanged.deployed?.count, unchanged.deployed?.same_definition], [unchanged.count, true]);
    // The deployed view counts as of now: another figure, which the panel must not compare with.
    const viewNow = Number((await testDb.db.query<{ n: number }>('select count(*) as n from tally.segment_dach')).rows[0]!.n);
    assert.notEqual(viewNow, unchanged.count, 'the as-of must move dach for this test to prove anything');
    // Widened in the editor: the deployed version is still counted at the same instant.
    const text = readFileSync(join(root, 'definitions', 'segments.yaml'), 'utf8');
    const widened = text.replace('where: { attribute: country, in: [DE, AT, CH] }', 'where: { attribute: country, in: [DE, AT, CH, FR] }');
    assert.notEqual(widened, text);
    client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 10 }, contentChanges: [{ text: widened }] });
    let edited: Detailed | undefined;
    for (let i = 0; i < 20 && !(edited && edited.deployed?.same_definition === false); i++) edited = await dach().catch(() => undefined);
    assert.ok(edited && edited.count > unchanged.count, JSON.stringify(edited));
    assert.deepEqual([edited.deployed?.count, edited.deployed?.same_definition], [unchanged.count, false]);
    client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 11 }, contentChanges: [{ text }] });
  });

  it('cancels a running preview when the client asks', async () => {
    // Hold a lock so the preview's query waits: the cancellation must answer it at once.
    const pg = (await import('pg')).default;
    const locker = new pg.Client({ connectionString: testDb.url });
    await locker.connect();
    try {
      await locker.query('begin');
      await locker.query('lock table customers in access exclusive mode');
      const source = new CancellationTokenSource();
      const pending = client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'paying_plan', asOf: ANCHOR.toISOString() }, source.token);
      await new Promise((r) => setTimeout(r, 300));
      const started = Date.now();
      source.cancel();
      const err = await pending.then(
        () => undefined,
        (e: { code?: number }) => e,
      );
      assert.equal(err?.code, -32800, 'RequestCancelled');
      assert.ok(Date.now() - started < 2000, 'answered promptly');
    } finally {
      await locker.query('rollback').catch(() => undefined);
      await locker.end();
    }
    // The server answers previews again once the lock is gone.
    const again = (await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach', asOf: ANCHOR.toISOString() })) as { count: number };
    assert.ok(again.count > 0);
  });

  it('keeps working when the database goes away', async () => {
    await testDb.drop();
    const err = await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'paying_plan', asOf: ANCHOR.toISOString() }).then(
      () => undefined,
      (e: Error) => e,
    );
    assert.ok(err, 'a preview on a dropped database fails');
    assert.doesNotMatch(err.message, /\n\s+at /, 'no stack trace');
    // Diagnostics still flow.
    const text = 'kind: Segment\nname: after_drop\nversion: 1\nwhere: { segment: nope }\n';
    client.conn.sendNotification('textDocument/didChange', { textDocument: { uri: segUri, version: 3 }, contentChanges: [{ text }] });
    await client.diagnosticsFor(segUri, (p) => p.diagnostics.some((x) => x.code === 'unknown-reference'));
    assert.equal(client.proc.exitCode, null, 'the server is still running');
  });
});

describe('language server: warehouse.url needing an unset variable', function () {
  this.timeout(120_000);
  it('goes offline saying which setting and which variable, never the embedded database instead', async () => {
    const root = copyExample();
    writeFileSync(join(root, 'tally.yaml'), `${readFileSync(join(root, 'tally.yaml'), 'utf8')}warehouse:\n  url: postgres://app:s3cr3t@127.0.0.1:1/\${TALLY_LSP_TEST_UNSET}\n`);
    const client = await startServer(root);
    try {
      const segUri = pathToFileURL(join(root, 'definitions', 'segments.yaml')).href;
      const err = await client.conn.sendRequest('tally/preview', { uri: segUri, kind: 'segment', name: 'dach' }).then(
        () => undefined,
        (e: { message: string }) => e,
      );
      assert.ok(err, 'preview must fail offline');
      assert.match(err.message, /previews are off: warehouse\.url in tally\.yaml \(postgres:\/\/app:\*\*\*@127\.0\.0\.1:1\/\$\{TALLY_LSP_TEST_UNSET\}\) needs \$TALLY_LSP_TEST_UNSET, which is not set: set it or set tally\.databaseUrl/);
      const [status] = (await client.conn.sendRequest('tally/status')) as { connected: boolean; offline: string | null }[];
      assert.equal(status!.connected, false);
      assert.match(status!.offline ?? '', /needs \$TALLY_LSP_TEST_UNSET/);
      assert.doesNotMatch(JSON.stringify(status), /s3cr3t/);
    } finally {
      await client.stop();
      rmSync(root, { recursive: true, force: true });
    }
  });
});
