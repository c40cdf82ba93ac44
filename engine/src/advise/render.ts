// Renderings of index advice (advise.ts): text for people, SQL to review and apply, JSON for tools.
// Shared by the CLI (`tally advise`) and anything else that shows advice.

import type { Diagnostic } from '../diagnostics.js';
import type { AdvisedIndex, IndexAdvice, IndexKey } from './advise.js';
import { sqlComment } from '../sql/comment.js';

export interface AdviceView {
  readonly advice: IndexAdvice;
  /** The notes as positioned diagnostics (Project converts offsets). */
  readonly notes: readonly Diagnostic[];
  /** Whether the advice was compared against a live database's indexes. */
  readonly connected: boolean;
  /** Definitions left out because they have errors. */
  readonly skipped: number;
}

function keyText(k: IndexKey): string {
  return 'property' in k ? `(${k.column} ->> '${k.property}')` : k.column;
}

function shape(i: AdvisedIndex): string {
  return `(${i.keys.map(keyText).join(', ')})${i.include.length ? ` include (${i.include.join(', ')})` : ''}`;
}

function uses(i: AdvisedIndex, max = 6): string {
  const names = i.usedBy.map((u) => `${u.kind.toLowerCase()} ${u.name}`);
  return names.length <= max ? names.join(', ') : `${names.slice(0, max).join(', ')} and ${names.length - max} more`;
}

/** The JSON shape of `tally advise --format json`. */
export function adviceJson(v: AdviceView): unknown {
  return {
    connected: v.connected,
    missing: v.advice.indexes.filter((i) => i.status === 'missing').length,
    indexes: v.advice.indexes.map((i) => ({
      table: i.table,
      name: i.name,
      purpose: i.purpose,
      keys: i.keys.map(keyText),
      include: i.include,
      status: i.status,
      ...(i.existing ? { existing: i.existing } : {}),
      supersedes: i.supersedes,
      why: i.why,
      usedBy: i.usedBy.map((u) => ({ kind: u.kind.toLowerCase(), name: u.name })),
      sql: i.sql,
    })),
    notes: v.notes,
    skippedDefinitions: v.skipped,
  };
}

export function adviceText(v: AdviceView): string {
  const lines: string[] = [];
  const missing = v.advice.indexes.filter((i) => i.status !== 'exists');
  const present = v.advice.indexes.filter((i) => i.status === 'exists');
  if (!v.advice.indexes.length) return 'no index advice: no definition reads events or filters entities';
  lines.push(
    v.connected
      ? `${missing.length} index${missing.length === 1 ? '' : 'es'} to create, ${present.length} already served by existing indexes`
      : `${missing.length} index${missing.length === 1 ? '' : 'es'} advised (not compared with a database: none reachable)`,
  );
  for (const i of missing) {
    lines.push('', `+ ${i.table} ${shape(i)}`, `    why: ${i.why}`, `    used by: ${uses(i)}`);
    if (i.supersedes.length) lines.push(`    makes redundant: ${i.supersedes.join(', ')} (its keys are a prefix of this one; drop it after checking nothing else needs it)`);
    lines.push(`    ${i.sql}`);
  }
  if (present.length) {
    lines.push('', 'already served:');
    for (const i of present) lines.push(`  = ${i.table} ${shape(i)} by ${i.existing}: ${i.why}`);
  }
  for (const n of v.notes) lines.push('', `note [${n.code}] ${n.file}:${n.range.start.line + 1}: ${n.message}`);
  if (v.skipped) lines.push('', `${v.skipped} definition${v.skipped === 1 ? '' : 's'} with errors left out (run tally validate)`);
  lines.push('', 'Tally never creates these itself: review them, then apply with psql (CONCURRENTLY does not block writes; each runs outside a transaction).');
  return lines.join('\n');
}

/** One line of an SQL comment: event types and names come from definitions and must not end it. */
function comment(text: string): string {
  return sqlComment(text);
}

/** A script of the missing indexes, each with why as a comment. */
export function adviceSql(v: AdviceView): string {
  const missing = v.advice.indexes.filter((i) => i.status !== 'exists');
  const out = ['-- Indexes advised by `tally advise` (Tally never creates them itself).', '-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block: run this file with psql as is.'];
  if (!missing.length) out.push('-- nothing to create: every advised index is already served by an existing one.');
  for (const i of missing) {
    out.push('', comment(i.why), comment(`used by: ${uses(i, 12)}`));
    if (i.supersedes.length) out.push(comment(`makes redundant: ${i.supersedes.join(', ')}`));
    out.push(i.sql);
  }
  return out.join('\n');
}
