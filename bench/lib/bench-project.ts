// The project the segment bench compiles: the example shop's definitions from disk, plus two
// segments written for the bench (a selective one and a population-wide one).

import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Project, compileDistribution, compileMemberCount, type Analysis, type CompiledQuery, type Strategy } from '../../engine/src/index.js';
import type { IrMembersQuery, IrValuesQuery } from '../../engine/src/ir/ir.js';

export const SHOP_DIR = join(fileURLToPath(new URL('.', import.meta.url)), '..', '..', 'examples', 'shop');

export const BENCH_DEFINITIONS = `# Written for bench/segments.ts.
kind: Segment
name: bench_selective
version: 1
description: DACH-minus-DE buyers (2+ purchases in 90d, 200+ spent in 365d) who have not logged in for 14 days.
entity: customer
where:
  all:
    - { attribute: country, in: [AT, CH] }
    - { event: purchase, within: 90d, gte: 2 }
    - { event: purchase, within: 365d, sum: amount, gte: 200 }
    - not: { event: login, within: 14d }
---
kind: Segment
name: bench_population
version: 1
description: Frequent buyers, recent visitors, or customers with no activity for 90 days.
entity: customer
where:
  any:
    - { event: purchase, within: 30d, gte: 3 }
    - { event: login, within: 7d }
    - not: { stream: events, within: 90d }
`;

export function loadBenchProject(): { project: Project; analysis: Analysis } {
  const project = Project.load(SHOP_DIR);
  project.setFile('definitions/zz_bench.yaml', BENCH_DEFINITIONS);
  const analysis = project.analyze();
  const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
  if (errors.length) throw new Error(`the bench project has errors: ${errors.map((d) => `${d.file}:${d.range.start.line + 1}: ${d.message}`).join('; ')}`);
  return { project, analysis };
}

export type EngineStrategy = Strategy | 'auto';

export function engineMemberCount(analysis: Analysis, segment: string, asOf: Date, strategy: EngineStrategy): CompiledQuery {
  const q = analysis.get('Segment', segment)?.resolved.query;
  if (!q || q.k !== 'members') throw new Error(`no segment ${segment}`);
  return compileMemberCount(q as IrMembersQuery, { asOf: { kind: 'instant', at: asOf }, literals: 'param', strategy });
}

export function engineDistribution(analysis: Analysis, lifecycle: string, asOf: Date, strategy: EngineStrategy): CompiledQuery {
  const q = analysis.get('Lifecycle', lifecycle)?.resolved.query;
  if (!q || q.k !== 'values') throw new Error(`no lifecycle ${lifecycle}`);
  return compileDistribution(q as IrValuesQuery, { asOf: { kind: 'instant', at: asOf }, literals: 'param', strategy });
}
