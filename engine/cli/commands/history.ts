// tally history [--format text|json]: every recorded deploy, newest first, with what it recorded.

import { readHistory } from '../../src/run/deploy-state.js';
import { connectOrFail, loadProjectOrFail } from '../context.js';
import { EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../main.js';

export async function runHistory(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const project = loadProjectOrFail(g, io);
  const { db } = await connectOrFail(g, project, io);
  try {
    const schema = project.config.deploySchema;
    const history = await readHistory(db, schema);
    if (format === 'json') {
      io.out(JSON.stringify({ schema, deploys: history }, null, 2));
      return EXIT_OK;
    }
    if (!history.length) {
      io.out(`no deploys recorded in schema ${schema} yet`);
      return EXIT_OK;
    }
    const lines: string[] = [];
    for (const d of history) {
      lines.push(`#${d.id}  ${d.at}  ${d.who ?? 'unknown'}${d.git_commit ? `  ${d.git_commit.slice(0, 12)}` : ''}  tally ${d.tally_version ?? '?'}`);
      for (const x of d.definitions) {
        lines.push(x.dropped ? `    - ${x.kind} ${x.name} v${x.version} (dropped)` : `    ${x.kind} ${x.name} v${x.version}  ${x.fingerprint!.slice(0, 12)}`);
      }
    }
    io.out(lines.join('\n'));
    return EXIT_OK;
  } finally {
    await db.close();
  }
}
