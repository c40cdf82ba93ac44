// The worker side of a database in a worker thread (see thread.ts): owns one connection and
// runs the statements the main thread sends, one at a time.

import { parentPort, workerData } from 'node:worker_threads';
import { connect, DbError, type Db } from './db.js';

interface Request {
  id: number;
  op: 'query' | 'exec' | 'close';
  text?: string;
  params?: unknown[];
}

const port = parentPort!;
let db: Db | undefined;
try {
  db = await connect(workerData.url as string, workerData.options as Parameters<typeof connect>[1]);
  port.postMessage({ ready: true });
} catch (e) {
  port.postMessage({ ready: false, error: { message: (e as Error).message, code: e instanceof DbError ? e.code : 'db-unreachable' } });
}

port.on('message', async (m: Request) => {
  try {
    if (!db) throw new DbError('not connected', 'db-unreachable');
    if (m.op === 'query') port.postMessage({ id: m.id, result: await db.query(m.text!, m.params) });
    else if (m.op === 'exec') {
      await db.exec(m.text!);
      port.postMessage({ id: m.id, result: null });
    } else {
      await db.close();
      port.postMessage({ id: m.id, result: null });
    }
  } catch (e) {
    const err = e as DbError;
    port.postMessage({ id: m.id, error: { message: err.message, code: err instanceof DbError ? err.code : 'db-query', sqlState: err.sqlState } });
  }
});
