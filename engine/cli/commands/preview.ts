// tally preview segment|trait|score|lifecycle|kpi NAME: live figures as of T.

import { KIND_OF, preview, PreviewError, PREVIEW_KINDS, previewText, type Preview, type PreviewKind } from '../../src/index.js';
import { printBlockingErrors, withLiveAnalysis } from '../context.js';
import { CliError, EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, intOption, timeoutOption, type GlobalOptions } from '../options.js';

export async function runPreview(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const [kindArg, name] = g.positionals;
  if (!kindArg || !name) throw new CliError(`usage: tally preview <${PREVIEW_KINDS.join('|')}> NAME`);
  if (!(PREVIEW_KINDS as readonly string[]).includes(kindArg)) throw new CliError(`cannot preview '${kindArg}'; kinds: ${PREVIEW_KINDS.join(', ')}`);
  const kind = kindArg as PreviewKind;
  const sample = intOption(g, 'sample', { min: 0, max: 1000, fallback: 10 });
  const timeout = timeoutOption(g);

  return withLiveAnalysis(g, io, async (live) => {
    const { db, used, analysis } = live;
    if (printBlockingErrors(io, live, [{ kind: KIND_OF[kind], name }], `${kind} '${name}' has errors; fix them first`)) return EXIT_FINDINGS;
    let p: Preview;
    try {
      p = await preview(db, analysis, kind, name, { asOf: g.asOf, sampleSize: sample, timeoutMs: timeout });
    } catch (e) {
      if (e instanceof PreviewError) {
        io.err(`tally: ${e.message}`);
        return e.code === 'not-found' ? 2 : EXIT_FINDINGS;
      }
      throw e;
    }
    if (format === 'json') {
      const { sql: _sql, ...rest } = p as Preview & { sql: string };
      io.out(JSON.stringify({ ...rest, database: used }, null, 2));
    } else io.out(previewText(p, analysis));
    return EXIT_OK;
  });
}
