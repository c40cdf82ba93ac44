// A real HTTP receiver for sync tests, on 127.0.0.1 (node:http): it verifies each request's
// signature (HMAC-SHA256 over `timestamp + "." + body`), records every request, and answers as
// the test's fault script says: a status, a body, headers (Retry-After), a delay past the
// client's timeout, a connection reset, or a hook that runs before answering (killing a sync
// process mid-batch). Bounded: it only ever serves loopback requests the test makes.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WireChange {
  idempotency_key: string;
  op: 'enter' | 'exit' | 'change';
  key: string;
  fields: Record<string, unknown> | null;
  changed?: string[];
}

export interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
  json: { sync: string; run: number; batch: number; changes: WireChange[] } | null;
  signatureOk: boolean;
  /** What the receiver did with it. */
  answered: string;
}

export type Fault =
  | { status: number; body?: string; headers?: Record<string, string> }
  | { delayMs: number; status?: number }
  | { reset: true }
  | { before: () => void; status?: number; hang?: boolean };

export class Receiver {
  readonly requests: Received[] = [];
  /** Per path, the answers to give in order (then 200 `{"ok":true}`). */
  readonly faults = new Map<string, Fault[]>();
  private server?: Server;
  port = 0;

  constructor(readonly secret: string) {}

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const ts = String(req.headers['x-tally-timestamp'] ?? '');
        const sig = String(req.headers['x-tally-signature'] ?? '');
        const expected = `sha256=${createHmac('sha256', this.secret).update(`${ts}.${body}`).digest('hex')}`;
        const signatureOk = sig.length === expected.length && timingSafeEqual(Buffer.from(sig), Buffer.from(expected));
        let json: Received['json'] = null;
        try {
          json = JSON.parse(body);
        } catch {
          json = null;
        }
        const path = req.url ?? '/';
        const fault = this.faults.get(path)?.shift();
        const rec: Received = { path, headers: req.headers, body, json, signatureOk, answered: '200' };
        this.requests.push(rec);
        if (!fault) {
          res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
          return;
        }
        if ('reset' in fault) {
          rec.answered = 'reset';
          req.socket.destroy();
          return;
        }
        if ('delayMs' in fault) {
          rec.answered = `late ${fault.delayMs}ms`;
          const t = setTimeout(() => {
            if (!res.destroyed) res.writeHead(fault.status ?? 200).end('{"ok":"late"}');
          }, fault.delayMs);
          res.on('close', () => clearTimeout(t));
          return;
        }
        if ('before' in fault) {
          rec.answered = fault.hang ? 'hang' : String(fault.status ?? 200);
          fault.before();
          if (!fault.hang) res.writeHead(fault.status ?? 200).end('{"ok":true}');
          return;
        }
        rec.answered = String(fault.status);
        res.writeHead(fault.status, fault.headers ?? {}).end(fault.body ?? '');
      });
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
  }

  url(path: string): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  /** Requests to one path. */
  on(path: string): Received[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Every change a path received, de-duplicated by idempotency key (first seen wins), and how many were duplicates. */
  distinct(path: string): { changes: Map<string, WireChange>; duplicates: number } {
    const changes = new Map<string, WireChange>();
    let duplicates = 0;
    for (const r of this.on(path)) {
      for (const c of r.json?.changes ?? []) {
        if (changes.has(c.idempotency_key)) duplicates++;
        else changes.set(c.idempotency_key, c);
      }
    }
    return { changes, duplicates };
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}
