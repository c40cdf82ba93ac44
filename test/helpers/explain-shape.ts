// Query-shape assertions from the planner itself: EXPLAIN (FORMAT JSON) of a statement,
// walked node by node, fails when an events table is read per row of something else. That is
//  - a SubPlan (a correlated subquery, hashed or not) that scans an events table; InitPlans run
//    once and are fine;
//  - a scan of an events table that runs more than once: with ANALYZE, `Actual Loops` > 1 (under a
//    Gather every worker runs its copy once, so there the limit is the number of processes);
//    without, an events scan on the inner side of a nested loop over more than one planned row.
// A regression to per-row probes is caught at a modest data size without timing anything.

import assert from 'node:assert/strict';
import type { Db } from '../../engine/src/db/db.js';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Schema'?: string;
  'Parent Relationship'?: string;
  'Subplan Name'?: string;
  'Actual Loops'?: number;
  'Plan Rows'?: number;
  'Workers Launched'?: number;
  'Workers Planned'?: number;
  Plans?: PlanNode[];
}

export interface ShapeOptions {
  /** Table names (unqualified, or schema.name) whose per-row reads fail the check. */
  readonly eventsTables: readonly string[];
  /** A label for the failure message (e.g. the definition). */
  readonly label?: string;
  /**
   * Run the statement (EXPLAIN ANALYZE, the default) and check actual loops. With false (planning
   * only, fast) an events scan on the inner side of a nested loop whose outer side is planned at
   * more than one row counts as run per row.
   */
  readonly analyze?: boolean;
}

/** What is wrong with a plan, one line each (empty: no per-row probe over an events table). */
export function perRowProbes(root: PlanNode, opts: ShapeOptions): string[] {
  const events = new Set(opts.eventsTables.map((t) => t.toLowerCase()));
  const isEvents = (n: PlanNode) =>
    n['Relation Name'] !== undefined && (events.has(n['Relation Name'].toLowerCase()) || (n.Schema !== undefined && events.has(`${n.Schema}.${n['Relation Name']}`.toLowerCase())));
  const scansEvents = (n: PlanNode): boolean => isEvents(n) || (n.Plans ?? []).some(scansEvents);
  const problems: string[] = [];
  const walk = (n: PlanNode, path: string, allowedLoops: number): void => {
    const here = `${path}${path ? ' > ' : ''}${n['Node Type']}${n['Relation Name'] ? ` on ${n['Relation Name']}` : ''}`;
    if (n['Parent Relationship'] === 'SubPlan' && !/^InitPlan/.test(n['Subplan Name'] ?? '') && scansEvents(n)) {
      problems.push(`${n['Subplan Name'] ?? 'SubPlan'} scans an events table: ${here}`);
    }
    if (isEvents(n) && (n['Actual Loops'] ?? 1) > allowedLoops) {
      problems.push(`${n['Node Type']} on ${n['Relation Name']} ran ${n['Actual Loops']} times: ${here}`);
    }
    if (n['Node Type'] === 'Nested Loop' && n['Actual Loops'] === undefined) {
      const [outer, inner] = n.Plans ?? [];
      if (outer && inner && (outer['Plan Rows'] ?? 1) > 1 && scansEvents(inner)) problems.push(`an events table on the inner side of a nested loop over ${outer['Plan Rows']} planned rows: ${here}`);
    }
    let allowed = allowedLoops;
    if (n['Node Type'] === 'Gather' || n['Node Type'] === 'Gather Merge') allowed = allowedLoops * ((n['Workers Launched'] ?? n['Workers Planned'] ?? 0) + 1);
    for (const child of n.Plans ?? []) walk(child, here, allowed);
  };
  walk(root, '', 1);
  return problems;
}

/** EXPLAIN (FORMAT JSON) of `sql`, with ANALYZE unless told not to, in a read-only transaction; the root plan node. */
export async function explainJson(db: Db, sql: string, params: readonly unknown[] = [], analyze = true): Promise<PlanNode> {
  return db.transaction(
    async (tx) => {
      const r = await tx.query<Record<string, unknown>>(`explain (${analyze ? 'analyze, ' : ''}format json) ${sql}`, params);
      const raw = Object.values(r.rows[0]!)[0];
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode }[];
      return doc[0]!.Plan;
    },
    { readOnly: true, timeoutMs: 120_000 },
  );
}

/** Fails when the statement's plan reads an events table per row (see perRowProbes). */
export async function assertNoPerRowProbes(db: Db, sql: string, params: readonly unknown[], opts: ShapeOptions): Promise<PlanNode> {
  const plan = await explainJson(db, sql, params, opts.analyze ?? true);
  const problems = perRowProbes(plan, opts);
  assert.deepEqual(problems, [], `${opts.label ? `${opts.label}: ` : ''}per-row probe over events in\n${sql}`);
  return plan;
}
