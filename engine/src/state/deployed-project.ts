// The deployed state as an analysed project: each definition's recorded YAML put back into its
// file and analysed with the project's current tally.yaml (configuration is not deployed) and the
// live catalog. `tally plan` compares against it; lifecycle snapshots evaluate what is deployed.

import { Project, type Analysis } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import type { DeployedDefinition, DeployedState } from '../state/deployed.js';

/** The deployed state as an analysed project: each recorded source put back into its file. */
export function deployedAnalysis(project: Project, state: DeployedState, opts: { catalog?: Catalog; now: Date }): { analysis?: Analysis; problems: Map<string, string> } {
  const problems = new Map<string, string>();
  if (!state.definitions.size) return { problems };
  const byFile = new Map<string, DeployedDefinition[]>();
  for (const d of state.definitions.values()) {
    if (d.source === null || d.source === undefined) continue;
    const file = d.file ?? `deployed/${d.kind}.yaml`;
    let list = byFile.get(file);
    if (!list) byFile.set(file, (list = []));
    list.push(d);
  }
  const old = new Project(project.root, project.projectFileText);
  for (const [file, defs] of byFile) old.setFile(file, defs.map((d) => d.source!.replace(/^---\s*\n/, '')).join('\n---\n'));
  const analysis = old.analyze({ catalog: opts.catalog, now: opts.now });
  for (const info of analysis.infos) {
    if (!info.hasErrors) continue;
    const first = analysis.blockingErrors([info.def])[0];
    problems.set(`${info.def.kind.toLowerCase()}:${info.def.name}`, first ? `${first.message} (${first.file}:${first.range.start.line + 1})` : 'it has errors');
  }
  return { analysis, problems };
}
