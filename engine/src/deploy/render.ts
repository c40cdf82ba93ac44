// Renderings of the deploy room's results for people: `tally deploy` (text, json), the deploy
// history, lifecycle snapshots and their history (`tally history`, `tally snapshot`). The plan's
// renderers are in plan-render.ts. Pure functions of a result; the CLI prints them.

import type { DeployResult } from './deploy.js';
import type { LifecycleHistory, SnapshotResult } from './snapshot.js';
import type { HistoryEntry } from '../state/deployed.js';

/** `tally deploy --format json` (without the `database` field the CLI adds); `diagnostics` as JSON objects. */
export function deployJson(r: DeployResult, diagnostics: unknown, schema: string): unknown {
  return {
    deployed: r.deployed,
    refused: r.refused,
    deploy_id: r.deployId,
    schema,
    changes: r.changes.map((c) => ({
      kind: c.kind,
      name: c.name,
      status: c.status,
      version: c.version,
      deployed_version: c.deployed?.version ?? null,
      fingerprint: c.fingerprint,
      recorded: r.deployed && c.record,
      restored: c.restored === true,
    })),
    views: r.views,
    snapshot: r.snapshot ?? null,
    diagnostics,
  };
}

/** `tally deploy`'s text: one line per recorded change, then the summary. */
export function deployText(r: DeployResult, schema: string): string {
  const lines: string[] = [];
  const shown = r.changes.filter((c) => c.status !== 'unchanged' || c.record);
  for (const c of shown) {
    const sign = c.status === 'new' ? '+' : c.status === 'removed' ? '-' : '~';
    const v = c.deployed && c.status !== 'removed' && c.deployed.version !== c.version ? `v${c.deployed.version} -> v${c.version}` : `v${c.version}`;
    lines.push(`  ${sign} ${c.kind} ${c.name} ${v} (${c.restored ? `restores v${c.version}` : c.status === 'unchanged' ? 'version only' : c.status})`);
  }
  const unchanged = r.changes.filter((c) => c.status === 'unchanged' && !c.record).length;
  if (r.refused) {
    lines.unshift('deploy refused: fix the version errors above; nothing was written');
    return lines.join('\n');
  }
  if (!r.deployed) return `nothing to deploy: ${unchanged} definition${unchanged === 1 ? '' : 's'} unchanged`;
  lines.unshift(`deployed #${r.deployId} to schema ${schema}: ${shown.length} recorded, ${r.views.created.length} view${r.views.created.length === 1 ? '' : 's'} created or replaced, ${r.views.dropped.length} dropped, ${unchanged} unchanged`);
  if (r.snapshot?.taken.length) lines.push(`lifecycle snapshot for ${r.snapshot.day}: ${r.snapshot.taken.map((t) => t.lifecycle).join(', ')}`);
  for (const p of r.snapshot?.problems ?? []) lines.push(`lifecycle snapshot skipped: ${p}`);
  return lines.join('\n');
}

/** `tally history`'s text: every deploy, newest first, with what it recorded. */
export function deployHistoryText(history: readonly HistoryEntry[], schema: string): string {
  if (!history.length) return `no deploys recorded in schema ${schema} yet`;
  const lines: string[] = [];
  for (const d of history) {
    lines.push(`#${d.id}  ${d.at}  ${d.who ?? 'unknown'}${d.git_commit ? `  ${d.git_commit.slice(0, 12)}` : ''}  tally ${d.tally_version ?? '?'}`);
    for (const x of d.definitions) {
      lines.push(x.dropped ? `    - ${x.kind} ${x.name} v${x.version} (dropped)` : `    ${x.kind} ${x.name} v${x.version}  ${x.fingerprint!.slice(0, 12)}`);
    }
  }
  return lines.join('\n');
}

/** `tally history --lifecycle NAME`'s text: daily distributions, then the transitions between them. */
export function lifecycleHistoryText(lifecycle: string, h: LifecycleHistory): string {
  if (!h.days.length) return `no snapshots of lifecycle '${lifecycle}' recorded yet: \`tally deploy\` and \`tally snapshot\` take them`;
  const lines = [`lifecycle ${lifecycle}: ${h.days.length} daily snapshot${h.days.length === 1 ? '' : 's'}`];
  for (const d of h.days) lines.push(`  ${d.day}  ${Object.entries(d.stages).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}`);
  for (const t of h.transitions) {
    lines.push(`  ${t.from_day} -> ${t.to_day}: ${t.moves.length ? t.moves.map((m) => `${m.from ?? '(new)'} -> ${m.to ?? '(gone)'} ${m.entities.toLocaleString('en-US')}`).join(', ') : 'no one changed stage'}`);
  }
  return lines.join('\n');
}

/** `tally snapshot`'s text. */
export function snapshotText(result: SnapshotResult, schema: string): string {
  const lines = [`lifecycle snapshot for ${result.day} in schema ${schema}`];
  for (const t of result.taken) lines.push(`  ${t.lifecycle} v${t.version}: ${Object.entries(t.stages).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')} (${t.changed.toLocaleString('en-US')} changed stage since the last record)`);
  for (const n of result.skipped) lines.push(`  ${n}: already recorded for ${result.day}`);
  for (const p of result.problems) lines.push(`  skipped ${p}`);
  if (!result.taken.length && !result.skipped.length && !result.problems.length) lines.push('  no lifecycle is deployed: run `tally deploy` first');
  return lines.join('\n');
}
