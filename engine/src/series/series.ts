// Series: a definition's figures over a range of periods, each evaluated as of its end.
// Read-only and under a statement timeout, like previews. (First cut: the interface.)

import type { Analysis } from '../project.js';
import type { Db } from '../db/db.js';
import type { SeriesEvery, SeriesKind, SeriesOutcome } from '../protocol.js';

export interface SeriesRequest {
  readonly kind: SeriesKind;
  readonly name: string;
  /** The first and last day (YYYY-MM-DD, in the project time zone) the periods cover. */
  readonly from: string;
  readonly to: string;
  readonly every: SeriesEvery;
  /** The statement timeout (ms); 30 s by default. */
  readonly timeoutMs?: number;
}

export async function computeSeries(_db: Db, _analysis: Analysis, _req: SeriesRequest): Promise<SeriesOutcome> {
  return { diagnostics: [] };
}
