// tally deploy [--allow-drop] [--ref GIT-REF] [--format text|json]: apply the project to the
// database in one transaction (views in the deploy schema, an append-only history). Refuses
// projects with errors and version-rule errors (exit 1, diagnostics rendered like `tally validate`).
// --ref deploys the project as it was at a commit (a rollback): a lower version is then allowed
// when it restores exactly what an earlier deploy recorded; the history gains rows, never loses any.

import { deploy, deployJson, deployText } from '../../src/index.js';
import { analyzeAt } from '../context.js';
import { diagnosticsJson, diagnosticsText, renderRaw, summaryLine } from '../format-diagnostics.js';
import { gitCommit } from '../git.js';
import { EXIT_FINDINGS, EXIT_OK, type Io } from '../io.js';
import { checkFormat, type GlobalOptions } from '../options.js';



export async function runDeploy(g: GlobalOptions, io: Io): Promise<number> {
  const format = checkFormat(g, ['text', 'json']);
  const { at, analysis, db, catalog, used } = await analyzeAt(g, io);
  const project = at.project;
  const sources = (f: string) => project.file(f)?.text;
  try {
    if (analysis.errorCount > 0) {
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
      if (format === 'json') io.out(JSON.stringify({ deployed: false, refused: true, diagnostics: JSON.parse(diagnosticsJson(errors)).diagnostics, database: used }, null, 2));
      else io.err(diagnosticsText(errors, at.shownRoot, io.cwd, sources));
      io.err(`${summaryLine(analysis.diagnostics, project.filePaths.length, analysis.definitions.length)}; nothing deployed${at.ref ? ` (at ${at.ref})` : ''}`);
      return EXIT_FINDINGS;
    }
    const result = await deploy(db!, analysis, {
      schema: project.config.deploySchema,
      allowDrop: g.values['allow-drop'] === true,
      who: io.env.USER ?? process.env.USER ?? 'unknown',
      gitCommit: at.commit ?? gitCommit(project.root),
      rollback: at.ref !== undefined,
      catalog,
    });
    const diagnostics = renderRaw(project, result.diagnostics);
    if (format === 'json') io.out(JSON.stringify({ ...(deployJson(result, JSON.parse(diagnosticsJson(diagnostics)).diagnostics, project.config.deploySchema) as object), database: used }, null, 2));
    else {
      if (diagnostics.length) (result.refused ? io.err : io.out)(diagnosticsText(diagnostics, at.shownRoot, io.cwd, sources));
      io.out(deployText(result, project.config.deploySchema));
    }
    return result.refused ? EXIT_FINDINGS : EXIT_OK;
  } finally {
    await db?.close();
    at.cleanup();
  }
}




