// One webhook request: POST a JSON body, signed, with a timeout; the answer classified.
//
// Signature: `X-Tally-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>` and
// `X-Tally-Timestamp: <unix seconds>` (a receiver checks both, and rejects old timestamps against
// replay). What counts as acknowledgement is the status alone: a 2xx acknowledges the whole batch.
// The body of any answer is recorded (truncated, control characters escaped) and never parsed, so
// a receiver answering garbage cannot make Tally mark or skip anything; it is on the record.
//
//   acknowledged  2xx
//   retry         408, 429 (its Retry-After honoured), 5xx, a timeout, a connection reset
//   rejected      any other status (4xx; 3xx: redirects are not followed): the batch stops there
//   unreachable   the connection could not be made (refused, no such host, no route)
//
// The URL's query string, the headers and the secret never reach a message: errors name the
// request by origin and path only (a token may ride in a query string).

import { createHmac } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export type AttemptOutcome = 'acknowledged' | 'retry' | 'rejected' | 'unreachable';

export interface AttemptResult {
  readonly outcome: AttemptOutcome;
  readonly status: number | null;
  /** What went wrong (no secret, no query string), or null. */
  readonly error: string | null;
  /** The receiver's answer, truncated to RESPONSE_LIMIT characters, or null. */
  readonly response: string | null;
  /** A 429's Retry-After in milliseconds. */
  readonly retryAfterMs: number | null;
  readonly durationMs: number;
}

export interface WebhookRequest {
  readonly url: string;
  readonly headers: readonly { readonly name: string; readonly value: string }[];
  readonly secret: string | null;
  readonly timeoutMs: number;
}

export const RESPONSE_LIMIT = 500;
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'EADDRNOTAVAIL']);

/** The request as it may be named in a message: origin and path, never the query string. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(an invalid URL)';
  }
}

/** The signature header's value for a body sent at `timestamp` (unix seconds). */
export function signBody(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** Text safe to record and print: truncated, control characters as \uXXXX. */
export function recordable(text: string, limit = RESPONSE_LIMIT): string {
  const cut = text.length > limit ? `${text.slice(0, limit)}… (${text.length} characters)` : text;
  return cut.replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Retry-After: delta seconds or an HTTP date, in milliseconds (null when absent or unreadable). */
export function retryAfterMs(value: string | undefined, now = Date.now()): number | null {
  if (!value) return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : Math.max(0, t - now);
}

export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'acknowledged';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'rejected';
}

/** POSTs `body`; never throws (every failure is an AttemptResult). */
export function postJson(req: WebhookRequest, body: string): Promise<AttemptResult> {
  const started = Date.now();
  const timestamp = String(Math.floor(started / 1000));
  return new Promise((resolve) => {
    let settled = false;
    const done = (r: Omit<AttemptResult, 'durationMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({ ...r, durationMs: Date.now() - started });
    };
    let url: URL;
    try {
      url = new URL(req.url);
    } catch {
      done({ outcome: 'unreachable', status: null, error: 'the URL is not valid', response: null, retryAfterMs: null });
      return;
    }
    const headers: Record<string, string> = {};
    for (const h of req.headers) headers[h.name] = h.value;
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(body));
    headers['user-agent'] = 'tally-sync';
    headers['x-tally-timestamp'] = timestamp;
    if (req.secret) headers['x-tally-signature'] = signBody(req.secret, timestamp, body);
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const r = send(url, { method: 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size <= 64 * 1024) chunks.push(c);
      });
      res.on('error', (e) => done({ outcome: 'retry', status: res.statusCode ?? null, error: `the answer broke off: ${errorText(e)}`, response: null, retryAfterMs: null }));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        const text = Buffer.concat(chunks).toString('utf8');
        const ra = status === 429 ? retryAfterMs(headerValue(res.headers['retry-after'])) : null;
        const outcome = classifyStatus(status);
        done({ outcome, status, error: outcome === 'acknowledged' ? null : `the receiver answered ${status}`, response: text ? recordable(text) : null, retryAfterMs: ra });
      });
    });
    const timer = setTimeout(() => {
      done({ outcome: 'retry', status: null, error: `no answer within ${req.timeoutMs} ms (timeout)`, response: null, retryAfterMs: null });
      r.destroy();
    }, req.timeoutMs);
    r.on('error', (e: NodeJS.ErrnoException) => {
      const code = e.code ?? '';
      done({ outcome: UNREACHABLE.has(code) ? 'unreachable' : 'retry', status: null, error: `${describeUrl(req.url)}: ${errorText(e)}`, response: null, retryAfterMs: null });
    });
    r.end(body);
  });
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function errorText(e: NodeJS.ErrnoException): string {
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ECONNRESET') return 'connection reset by the receiver';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'no such host';
  if (code === 'EHOSTUNREACH' || code === 'ENETUNREACH') return 'no route to the host';
  if (code === 'EPIPE') return 'the receiver closed the connection';
  if (code === 'UND_ERR_SOCKET' || /socket hang up/.test(e.message)) return 'the receiver closed the connection (socket hang up)';
  return code || 'the request failed';
}
