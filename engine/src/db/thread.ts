// A Db whose connection lives in a worker thread, so a long query on the embedded PGlite (which
// runs in-process) never blocks the caller's event loop: the language server keeps answering
// while a preview runs. A query past its timeout terminates the worker (PGlite cannot be
// interrupted from inside); the Db is then closed and the caller reconnects.

import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { connect, DbError, redactUrl, type ConnectOptions, type Db, type QueryResult } from './db.js';

/** The bundled worker next to the bundle (dist/db-worker.mjs), when there is one. */
function workerFile(): URL | undefined {
  const url = new URL('./db-worker.mjs', import.meta.url);
  try {
    return existsSync(fileURLToPath(url)) ? url : undefined;
  } catch {
    return undefined;
  }
}

export async function connectInWorker(url: string, options: ConnectOptions): Promise<Db> {
  const file = workerFile();
  if (!file) return connect(url, options); // running from sources: same thread
  const worker = new Worker(file, { workerData: { url, options } });
  worker.unref();
  const ready = await new Promise<{ ready: boolean; error?: { message: string; code: DbError['code'] } }>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (e) => resolve({ ready: false, error: { message: e.message, code: 'db-unreachable' } }));
  });
  if (!ready.ready) {
    await worker.terminate();
    throw new DbError(ready.error?.message ?? 'cannot start the database worker', ready.error?.code ?? 'db-unreachable');
  }
  let nextId = 1;
  let closed = false;
  /** Why the worker ended (a timeout): what later queries on this closed Db report too. */
  let endedBy: DbError | undefined;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  worker.on('message', (m: { id?: number; result?: unknown; error?: { message: string; code: DbError['code']; sqlState?: string } }) => {
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (!p) return;
    if (m.error) p.reject(new DbError(m.error.message, m.error.code, m.error.sqlState));
    else p.resolve(m.result);
  });
  const fail = (e: DbError) => {
    closed = true;
    endedBy ??= e;
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  };
  worker.on('error', (e) => fail(new DbError(`the database worker failed: ${e.message}`, 'db-unreachable')));
  worker.on('exit', () => fail(new DbError('the database worker stopped', 'db-unreachable')));

  let timeoutMs = 0;
  const send = <T,>(op: 'query' | 'exec' | 'close', text?: string, params?: readonly unknown[]): Promise<T> => {
    if (closed) return Promise.reject(endedBy ? new DbError(endedBy.message, endedBy.code, endedBy.sqlState) : new DbError('the database connection is closed', 'db-unreachable'));
    const id = nextId++;
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      if (timeoutMs > 0 && op !== 'close') {
        timer = setTimeout(() => {
          const err = new DbError(`the query was cancelled after ${timeoutMs} ms on ${label}`, 'db-timeout');
          fail(err);
          void worker.terminate();
        }, timeoutMs);
      }
      pending.set(id, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      worker.postMessage({ id, op, text, params });
    });
  };

  const label = url.startsWith('pglite:') ? url : redactUrl(url);
  const kind = url.startsWith('pglite:') ? 'pglite' : 'postgres';
  // One statement at a time; a transaction holds the line until it ends.
  let chain: Promise<unknown> = Promise.resolve();
  const exclusive = <T,>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };
  const direct: Db = {
    kind,
    label,
    query: <R,>(text: string, params?: readonly unknown[]) => send<QueryResult<R>>('query', text, params),
    exec: (text) => send<void>('exec', text),
    transaction: (fn) => fn(direct),
    close: async () => undefined,
  };
  return {
    kind,
    label,
    query: (text, params) => exclusive(() => direct.query(text, params)),
    exec: (text) => exclusive(() => direct.exec(text)),
    transaction: (fn, opts) =>
      exclusive(async () => {
        await direct.exec(opts?.readOnly ? 'BEGIN READ ONLY' : 'BEGIN');
        timeoutMs = opts?.timeoutMs ?? 0;
        try {
          if (opts?.timeoutMs && kind === 'postgres') await direct.exec(`SET LOCAL statement_timeout = ${Math.max(1, Math.floor(opts.timeoutMs))}`);
          const out = await fn(direct);
          await direct.exec('COMMIT');
          return out;
        } catch (e) {
          if (!closed) await direct.exec('ROLLBACK').catch(() => undefined);
          throw e;
        } finally {
          timeoutMs = 0;
        }
      }),
    close: async () => {
      if (!closed) await send('close').catch(() => undefined);
      closed = true;
      await worker.terminate();
    },
  };
}
