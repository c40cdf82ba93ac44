// The portability rules of ARCHITECTURE.md ("Portability rules": SQL that runs on PostgreSQL and on
// a distributed PostgreSQL such as Citus), checked over the statements a command really sends.
//
// `recordingDb` wraps a Db: every statement sent through it (query or exec, inside transactions too)
// is recorded with its parameters and, for the statements EXPLAIN accepts, the planner's plan,
// taken just before the statement runs (in the same transaction, under a savepoint, so a temporary
// table it reads exists and a failed EXPLAIN leaves the transaction usable; EXPLAIN without ANALYZE
// executes nothing). `portabilityViolations` then checks the rules, one line per violation:
//
//   R1 subplan-over-user-table  no SubPlan (a subquery evaluated per row or hashed beside the
//                               query, e.g. an uncorrelated `key in (select ...)` in a select list
//                               or a NOT IN) whose plan reads a user table; InitPlans (run once) and
//                               subqueries the planner turns into joins are fine
//   R2 constant-false-qual      no plan node with a constant-false one-time filter, and no
//                               `where false` in a statement that reads a user table (an outer join
//                               over such a relation is what Citus refuses)
//   R3 user-and-state           no statement reads a user table and a Tally state table (or a
//                               temporary table of Tally's) together; a temporary table filled
//                               from a query over the user's tables (CREATE TEMP TABLE ... AS) is
//                               the sanctioned bridge, so its target does not count as read
//   R4 recursive-cte            no `with recursive` (Citus runs recursive CTEs on one shard only)
//   R5 one-statement            every query string holds at most one statement (DDL one at a time)

import type { Db } from '../../engine/src/db/db.js';
import { splitStatements } from '../../engine/src/sql/statements.js';
import { CAMPAIGN_TABLES, HISTORY_TABLES } from '../../engine/src/state-objects.js';
import type { PlanNode } from './explain-shape.js';

export interface Recorded {
  readonly sql: string;
  readonly params: readonly unknown[];
  /** The plan, when the statement is one EXPLAIN takes (select, with, insert, create table as). */
  plan?: PlanNode & Record<string, unknown>;
  /** Why EXPLAIN failed, when it did. */
  explainError?: string;
}

const EXPLAINABLE = /^\s*(select|with|insert|create\s+(temporary\s+|temp\s+)?table\s+\S+\s+(on\s+commit\s+drop\s+)?as\s)/i;

/** A Db that records every statement (and its plan) into `log`. */
export function recordingDb(db: Db, log: Recorded[], inTx = false): Db {
  const record = async (sql: string, params: readonly unknown[]) => {
    const r: Recorded = { sql, params };
    log.push(r);
    if (!EXPLAINABLE.test(sql) || /^\s*explain\b/i.test(sql)) return;
    try {
      if (inTx) await db.query('savepoint tally_portability');
      const out = await db.query<Record<string, unknown>>(`explain (format json) ${sql}`, params);
      const raw = Object.values(out.rows[0]!)[0];
      r.plan = ((typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan: PlanNode & Record<string, unknown> }[])[0]!.Plan;
      if (inTx) await db.query('release savepoint tally_portability');
    } catch (e) {
      r.explainError = (e as Error).message;
      if (inTx) await db.query('rollback to savepoint tally_portability');
    }
  };
  return {
    kind: db.kind,
    label: db.label,
    async query(text, params) {
      await record(text, params ?? []);
      return db.query(text, params);
    },
    async exec(text) {
      await record(text, []);
      return db.exec(text);
    },
    transaction(fn, options) {
      return db.transaction((tx) => fn(recordingDb(tx, log, true)), options);
    },
    close: () => db.close(),
  };
}

export interface RuleContext {
  /** The user's tables (the Entity and Events mappings), unqualified names. */
  readonly userTables: readonly string[];
  /** The deploy schema holding Tally's state tables. */
  readonly stateSchema: string;
}

/** Tally's temporary tables (filled from the user's tables, read together with its state). */
export const TEMP_TABLES = ['tally_candidates', 'tally_stage_now'];

const ident = (name: string) => `"?${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"?`;

/** Whether `sql` reads one of `tables` (after FROM or JOIN, optionally schema-qualified). */
export function readsTable(sql: string, tables: readonly string[], schema?: string): boolean {
  if (!tables.length) return false;
  const qual = schema ? `${ident(schema)}\\.` : `(?:"?[A-Za-z_][\\w$]*"?\\.)?`;
  const re = new RegExp(`\\b(?:from|join)\\s+${qual}(?:${tables.map(ident).join('|')})(?=[\\s),;]|$)`, 'i');
  return re.test(sql);
}

function walk(node: PlanNode & Record<string, unknown>, visit: (n: PlanNode & Record<string, unknown>, underSubPlan: boolean) => void, underSubPlan = false): void {
  visit(node, underSubPlan);
  for (const c of (node.Plans ?? []) as (PlanNode & Record<string, unknown>)[]) walk(c, visit, underSubPlan || c['Parent Relationship'] === 'SubPlan');
}

/** One line per violation of R1–R5 over the recorded statements (empty: all rules hold). */
export function portabilityViolations(log: readonly Recorded[], cx: RuleContext): string[] {
  const out: string[] = [];
  const user = cx.userTables;
  const state = [...HISTORY_TABLES, ...CAMPAIGN_TABLES];
  const short = (sql: string) => sql.replace(/\s+/g, ' ').slice(0, 160);
  for (const r of log) {
    const sql = r.sql;
    const readsUser = readsTable(sql, user);
    // R1, R2 over the plan.
    if (r.plan) {
      walk(r.plan, (n, underSubPlan) => {
        if (underSubPlan && typeof n['Relation Name'] === 'string' && user.includes(n['Relation Name'])) out.push(`R1 subplan-over-user-table: a SubPlan reads ${n['Relation Name']}: ${short(sql)}`);
        if (n['One-Time Filter'] === 'false') out.push(`R2 constant-false-qual: a plan node with One-Time Filter false: ${short(sql)}`);
      });
    }
    if (readsUser && /\bwhere\s+false\b/i.test(sql)) out.push(`R2 constant-false-qual: \`where false\` in a statement over a user table: ${short(sql)}`);
    // R3: the CTAS target is written, not read.
    const body = sql.replace(/^\s*create\s+(?:temporary\s+|temp\s+)?table\s+\S+\s+(?:on\s+commit\s+drop\s+)?as\s/i, '');
    const readsState = readsTable(body, state, cx.stateSchema) || readsTable(body, TEMP_TABLES);
    if (readsUser && readsState) out.push(`R3 user-and-state: reads a user table and Tally's own tables in one statement: ${short(sql)}`);
    // R4, R5 over the text.
    if (/\bwith\s+recursive\b/i.test(sql)) out.push(`R4 recursive-cte: ${short(sql)}`);
    const n = splitStatements(sql).length;
    if (n > 1) out.push(`R5 one-statement: ${n} statements in one query: ${short(sql)}`);
  }
  return out;
}
