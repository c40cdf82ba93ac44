// tally plan: what a deploy would change, and what it would do to the numbers (LANGUAGE.md §8–§9).
//
// The "before" side is the deployed state re-analysed from the sources recorded in the history
// (every deployed definition's YAML, grouped back into its file), with the project's current
// tally.yaml and the live catalog. Both sides compile with the same as-of instant, so the impact is
// a like-for-like comparison on today's data:
//
//   segment    members before / after, entering (+) and leaving (−)
//              (when both versions exist over the same entity, one scan evaluates both: the
//              compiler's *Change queries; otherwise two member sets are compared)
//   trait,     entities with a value before / after, and how many entities' values change
//   score
//   lifecycle  the stage distribution before / after, and how many entities move stage
//   kpi        value and status before / after
//   campaign   who a run at T would enroll, before / after
//
// Nothing is written: every query runs in one read-only transaction under a statement timeout. A
// definition whose impact cannot be measured (its deployed source no longer compiles, a timeout, a
// query the database refuses) is `{ k: 'unmeasured', reason }`: the renderings say so, the plan
// still answers, and `tally plan --fail-on unmeasured` exits 1.
//
// Portability (ARCHITECTURE.md "Portability rules"): a side that does not exist (a new or removed
// definition) is not an empty relation joined to the other side: the impact of a one-sided change is
// read from the existing side alone, so no statement has an outer join over a constant-false qual.

import type { RawDiagnostic } from '../diagnostics.js';
import { evaluateKpi, type KpiStatus } from '../kpi/status.js';
import { evaluateGroups, splitTotal } from '../kpi/breakdown.js';
import { compileMetricBreakdown, type BreakdownRow } from '../sql/breakdown.js';
import type { KpiGroup } from '../protocol.js';
import type { Kind, KpiDef, LifecycleDef } from '../model/types.js';
import type { Analysis, DefinitionInfo } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import { compileMembers, compileMembersChange, compileMetric, compileValues, compileValuesChange, type SqlOptions } from '../sql/compile.js';
import type { Db } from '../db/db.js';
import { DbError } from '../db/db.js';
import { readDeployed } from '../state/deployed.js';
import { notOwned, recordedVersions } from './deploy.js';
import { previewCampaign } from '../campaign/campaign.js';
import { syncDiffCounts } from '../sync/diff.js';
import { hasCampaignState, hasSyncState } from '../state/ddl.js';
import { deployedAnalysis } from '../state/deployed-project.js';
import { checkVersions, type ChangeStatus } from './versions.js';

export interface PlanOptions {
  readonly schema: string;
  readonly asOf: Date;
  readonly allowDrop?: boolean;
  /** Statement timeout per impact query, in milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** The live catalog, for analysing the deployed sources the same way as the project. */
  readonly catalog?: Catalog;
  /** Plan a rollback (`--ref`): lower versions may restore what an earlier deploy recorded. */
  readonly rollback?: boolean;
  /** Skip the impact queries (versions only). */
  readonly impact?: boolean;
}

export interface SegmentImpact {
  readonly k: 'segment';
  readonly before: number | null;
  readonly after: number | null;
  readonly entering: number;
  readonly leaving: number;
}
export interface ValuesImpact {
  readonly k: 'values';
  /** Entities with a non-null value. */
  readonly before: number | null;
  readonly after: number | null;
  /** Entities whose value differs between the two definitions (NULL-safe). */
  readonly changed: number;
  readonly entities: number;
}
export interface LifecycleImpact {
  readonly k: 'lifecycle';
  readonly before: Record<string, number> | null;
  readonly after: Record<string, number> | null;
  /** Entities whose stage differs between the two definitions. */
  readonly moved: number;
}
export interface KpiSide {
  readonly value: number | null;
  readonly status: KpiStatus;
  /** With `breakdown:`: the value per group (sql/breakdown.ts), each with its status when it has a target. */
  readonly groups?: readonly KpiGroup[];
}
export interface KpiImpact {
  readonly k: 'kpi';
  readonly before: KpiSide | null;
  readonly after: KpiSide | null;
}
export interface CampaignImpact {
  readonly k: 'campaign';
  /** Who a run at T would enroll, under each version (null: that version does not exist). */
  readonly before: number | null;
  readonly after: number | null;
}
export type Impact = SegmentImpact | ValuesImpact | LifecycleImpact | KpiImpact | CampaignImpact | { readonly k: 'none' } | UnmeasuredImpact;

/** An impact that could not be measured, and why (a timeout, a deployed source that no longer compiles, a refused query). */
export interface UnmeasuredImpact {
  readonly k: 'unmeasured';
  readonly reason: string;
}

export interface PlanItem {
  /** Lower-case kind, as recorded. */
  readonly kind: string;
  readonly name: string;
  readonly status: ChangeStatus;
  readonly version: number;
  readonly deployedVersion: number | null;
  readonly fingerprint: string | null;
  readonly deployedFingerprint: string | null;
  /** Project-relative file and 1-based line of the definition (the deployed file for `removed`). */
  readonly file: string | null;
  readonly line: number | null;
  /** Changed or new definitions this one depends on (transitively), `kind name`: why it changed. */
  readonly via: readonly string[];
  /** Definitions that depend on this one (transitively), `kind name`: what else its change reaches. */
  readonly affects: readonly string[];
  /** A rollback to a version recorded earlier (`--ref`). */
  readonly restored: boolean;
  /** Whether a deploy would write a history row for it. */
  readonly record: boolean;
  readonly impact: Impact;
  /** Version-rule diagnostics about this definition. */
  readonly errors: readonly string[];
  readonly warnings: readonly string[];
  /** Higher is riskier: the order a reviewer reads the plan in. */
  readonly risk: number;
}

export interface Plan {
  readonly as_of: string;
  readonly schema: string;
  /** The latest deploy's id (null: nothing deployed yet). */
  readonly deployed_id: number | null;
  /** Riskiest first; unchanged definitions last. */
  readonly items: readonly PlanItem[];
  readonly summary: Record<ChangeStatus, number>;
  /** Whether `tally deploy` would refuse this (version-rule errors). */
  readonly refused: boolean;
  /** Version-rule diagnostics, raw (file + span), for rendering like `tally validate`. */
  readonly diagnostics: readonly RawDiagnostic[];
  /** Deployed definitions whose recorded source no longer analyses cleanly (their "before" is unknown). */
  readonly deployedProblems: readonly string[];
  /** Each sync's impact: what `tally sync` would deliver now (the working copy's definition). */
  readonly syncs: readonly SyncImpact[];
}

/**
 * A sync's impact in the plan, from the same diff function `tally sync` delivers (sync/diff.ts):
 * who would enter, leave or change since the last delivered state, as of T, under the working
 * copy's definition; `delivered`: how many of those its mode sends.
 */
export interface SyncImpact {
  readonly name: string;
  readonly destination: string;
  readonly mode: string;
  readonly entering: number;
  readonly leaving: number;
  readonly changing: number;
  readonly delivered: number;
  readonly error: string | null;
}

const IMPACT_KINDS = new Set(['segment', 'trait', 'score', 'lifecycle', 'kpi', 'campaign']);

/** Plans the project against the deployed state of `db` as of `opts.asOf`. Reads only. */
export async function planProject(db: Db, analysis: Analysis, opts: PlanOptions): Promise<Plan> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return db.transaction(
    async (tx) => {
      const state = await readDeployed(tx, opts.schema, { withSource: true });
      const restorable = opts.rollback && state.exists ? await recordedVersions(tx, opts.schema) : undefined;
      const versions = checkVersions(analysis, state, { allowDrop: opts.allowDrop, restorable });
      // What deploy would refuse: relations in the deploy schema Tally does not own.
      const foreign = await notOwned(tx, opts.schema, state, versions.changes.filter((c) => c.record));
      const check = {
        changes: versions.changes.map((c) => {
          const mine = foreign.filter((f) => f.kind === c.kind && f.name === c.name).map(({ kind: _k, name: _n, ...d }) => d);
          return mine.length ? { ...c, diagnostics: [...c.diagnostics, ...mine] } : c;
        }),
        diagnostics: [...versions.diagnostics, ...foreign.map(({ kind: _k, name: _n, ...d }) => d)],
      };
      const before = deployedAnalysis(analysis.project, state, { catalog: opts.catalog, now: opts.asOf });
      const changedIds = new Set(check.changes.filter((c) => c.status === 'new' || c.status === 'changed').map((c) => `${c.info?.def.kind}:${c.name}`));
      const items: PlanItem[] = [];
      for (const c of check.changes) {
        const diags = c.diagnostics;
        const info = c.info;
        const oldInfo = before.analysis?.get(kindOf(c.kind), c.name);
        let impact: Impact = { k: 'none' };
        if (opts.impact !== false && c.status !== 'unchanged' && IMPACT_KINDS.has(c.kind)) {
          const oldSide = c.status === 'new' ? undefined : usable(oldInfo);
          const newSide = c.status === 'removed' ? undefined : usable(info);
          if (c.status !== 'new' && !oldSide) impact = { k: 'unmeasured', reason: `the deployed version ${c.deployed?.version ?? '?'} no longer compiles against this database${before.problems.has(`${c.kind}:${c.name}`) ? `: ${before.problems.get(`${c.kind}:${c.name}`)}` : ''}` };
          else if (c.status !== 'removed' && !newSide) impact = { k: 'unmeasured', reason: 'the definition has errors' };
          else impact = await measure(tx, c.kind, oldSide, newSide, opts.asOf, timeoutMs, { before: before.analysis, after: analysis });
        }
        const via = info && c.status === 'changed' ? dependencyChanges(analysis, info, changedIds) : [];
        const affects = c.status === 'changed' || c.status === 'removed' ? dependents(c.status === 'removed' ? before.analysis : analysis, `${kindOf(c.kind)}:${c.name}`) : [];
        const errors = diags.filter((d) => d.severity === 'error').map((d) => d.message);
        const warnings = diags.filter((d) => d.severity !== 'error').map((d) => d.message);
        const line = info ? lineOf(analysis, info) : null;
        const item: Omit<PlanItem, 'risk'> = {
          kind: c.kind,
          name: c.name,
          status: c.status,
          version: c.version,
          deployedVersion: c.deployed?.version ?? null,
          fingerprint: c.fingerprint,
          deployedFingerprint: c.deployed?.fingerprint ?? null,
          file: info?.def.file ?? c.deployed?.file ?? null,
          line,
          via,
          affects,
          restored: c.restored === true,
          record: c.record,
          impact,
          errors,
          warnings,
        };
        items.push({ ...item, risk: riskOf(item) });
      }
      items.sort((a, b) => b.risk - a.risk || a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name));
      const summary: Record<ChangeStatus, number> = { new: 0, changed: 0, unchanged: 0, removed: 0 };
      for (const i of items) summary[i.status]++;
      return {
        as_of: opts.asOf.toISOString(),
        schema: opts.schema,
        deployed_id: state.lastDeployId,
        items,
        summary,
        refused: check.diagnostics.some((d) => d.severity === 'error'),
        diagnostics: check.diagnostics,
        deployedProblems: [...before.problems.entries()].map(([k, v]) => `${k.replace(':', ' ')}: ${v}`),
        syncs: opts.impact === false ? [] : await syncImpacts(tx, analysis, opts),
      };
    },
    { readOnly: true, timeoutMs },
  );
}

/** Each sync's diff counts (sync/diff.ts, the same statement `tally sync` runs), in its own savepoint-free read. */
async function syncImpacts(tx: Db, analysis: Analysis, opts: PlanOptions): Promise<SyncImpact[]> {
  const syncs = analysis.ofKind('Sync').filter((i) => i.resolved.sync);
  if (!syncs.length) return [];
  const hasState = await hasSyncState(tx, opts.schema);
  const hasEnrollments = await hasCampaignState(tx, opts.schema);
  const out: SyncImpact[] = [];
  for (const info of syncs.sort((a, b) => a.def.name.localeCompare(b.def.name))) {
    const s = info.resolved.sync!;
    const base = { name: s.name, destination: `${s.destination.name} (${s.destination.k})`, mode: s.mode };
    if (info.hasErrors) {
      out.push({ ...base, entering: 0, leaving: 0, changing: 0, delivered: 0, error: 'the definition has errors' });
      continue;
    }
    const c = await syncDiffCounts(tx, s, { asOf: { kind: 'instant', at: opts.asOf }, literals: 'param', stateSchema: opts.schema, hasState, hasEnrollments });
    out.push({ ...base, entering: c.entered, leaving: c.exited, changing: c.changed, delivered: c.delivered, error: null });
  }
  return out;
}

function kindOf(lower: string): Kind {
  return lower === 'kpi' ? 'Kpi' : ((lower[0]!.toUpperCase() + lower.slice(1)) as Kind);
}

function usable(info: DefinitionInfo | undefined): DefinitionInfo | undefined {
  return info && !info.hasErrors && (info.resolved.query || info.resolved.campaign) ? info : undefined;
}

function lineOf(analysis: Analysis, info: DefinitionInfo): number {
  const f = analysis.project.file(info.def.file);
  return f ? f.lines.position(info.def.nameSpan[0]).line + 1 : 1;
}


function dependencyChanges(analysis: Analysis, info: DefinitionInfo, changed: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  const visit = (id: string) => {
    for (const dep of analysis.get(id.slice(0, id.indexOf(':')) as Kind, id.slice(id.indexOf(':') + 1))?.resolved.deps ?? []) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      if (changed.has(dep)) out.push(label(dep));
      visit(dep);
    }
  };
  visit(`${info.def.kind}:${info.def.name}`);
  return out.sort();
}

const label = (id: string) => id.replace(':', ' ').replace(/^[A-Z][a-z]*/, (k) => k.toLowerCase());

function dependents(analysis: Analysis | undefined, id: string): string[] {
  if (!analysis) return [];
  const rev = new Map<string, string[]>();
  for (const i of analysis.infos) {
    const me = `${i.def.kind}:${i.def.name}`;
    for (const d of i.resolved.deps) {
      let l = rev.get(d);
      if (!l) rev.set(d, (l = []));
      l.push(me);
    }
  }
  const seen = new Set<string>([id]);
  const stack = [id];
  while (stack.length) for (const d of rev.get(stack.pop()!) ?? []) if (!seen.has(d)) (seen.add(d), stack.push(d));
  seen.delete(id);
  return [...seen].map(label).sort();
}

/** Inline literals (Kysely's escaping): both sides go into one statement. */
function inline(asOf: Date): SqlOptions {
  return { asOf: { kind: 'instant', at: asOf }, literals: 'inline' };
}

interface Analyses {
  readonly before?: Analysis;
  readonly after: Analysis;
}

async function measure(tx: Db, kind: string, oldInfo: DefinitionInfo | undefined, newInfo: DefinitionInfo | undefined, asOf: Date, timeoutMs: number, analyses: Analyses): Promise<Impact> {
  await tx.exec('savepoint tally_plan');
  try {
    const out = await measureRaw(tx, kind, oldInfo, newInfo, asOf, analyses);
    await tx.exec('release savepoint tally_plan');
    return out;
  } catch (e) {
    await tx.exec('rollback to savepoint tally_plan');
    const msg = e instanceof DbError && e.code === 'db-timeout' ? `timed out after ${timeoutMs} ms; raise --timeout` : (e as Error).message;
    return { k: 'unmeasured', reason: msg };
  }
}

async function measureRaw(tx: Db, kind: string, oldInfo: DefinitionInfo | undefined, newInfo: DefinitionInfo | undefined, asOf: Date, analyses: Analyses): Promise<Impact> {
  const o = inline(asOf);
  const q = (info: DefinitionInfo | undefined) => info?.resolved.query;
  if (kind === 'campaign') {
    // Who a run now would enroll (the campaign preview), under each version.
    const audience = async (info: DefinitionInfo | undefined, analysis: Analysis | undefined) =>
      info && analysis ? (await previewCampaign(tx, analysis, info.def.name, { asOf })).audience : null;
    return { k: 'campaign', before: await audience(oldInfo, analyses.before), after: await audience(newInfo, analyses.after) };
  }
  if (kind === 'segment') {
    const a = q(oldInfo);
    const b = q(newInfo);
    // Both versions over the same entity: one scan evaluating both conditions.
    const pair = a?.k === 'members' && b?.k === 'members' ? compileMembersChange(a, b, o) : undefined;
    if (pair) {
      const r = await tx.query<{ before: number; after: number; entering: number; leaving: number }>(pair.sql);
      const row = r.rows[0]!;
      return { k: 'segment', before: Number(row.before), after: Number(row.after), entering: Number(row.entering), leaving: Number(row.leaving) };
    }
    const oldSql = a?.k === 'members' ? compileMembers(a, o).sql : undefined;
    const newSql = b?.k === 'members' ? compileMembers(b, o).sql : undefined;
    if (!oldSql || !newSql) {
      // One side only (new or removed): every member enters or leaves.
      const n = Number((await tx.query<{ n: number }>(`select count(*) as n from (${oldSql ?? newSql}) as s`)).rows[0]!.n);
      return { k: 'segment', before: oldSql ? n : null, after: newSql ? n : null, entering: newSql ? n : 0, leaving: oldSql ? n : 0 };
    }
    const r = await tx.query<{ before: number; after: number; entering: number; leaving: number }>(
      `with o as materialized (${oldSql}), n as materialized (${newSql})
       select (select count(*) from o) as before, (select count(*) from n) as after,
              (select count(*) from n where not exists (select 1 from o where o.key = n.key)) as entering,
              (select count(*) from o where not exists (select 1 from n where n.key = o.key)) as leaving`,
    );
    const row = r.rows[0]!;
    return { k: 'segment', before: a ? Number(row.before) : null, after: b ? Number(row.after) : null, entering: Number(row.entering), leaving: Number(row.leaving) };
  }
  if (kind === 'trait' || kind === 'score' || kind === 'lifecycle') {
    const a = q(oldInfo);
    const b = q(newInfo);
    const pair = a?.k === 'values' && b?.k === 'values' ? compileValuesChange(a, b, o) : undefined;
    if (pair && kind === 'lifecycle') {
      const r = await tx.query<{ o: string | null; n: string | null; count: number }>(`select o::text as o, n::text as n, count(*) as count from (${pair.sql}) as t group by 1, 2`);
      const dist = (info: DefinitionInfo, side: 'o' | 'n') => {
        const stages: Record<string, number> = {};
        for (const st of (info.def as LifecycleDef).stages) stages[st.name.name] = 0;
        for (const row of r.rows) if (row[side] !== null) stages[row[side]!] = (stages[row[side]!] ?? 0) + Number(row.count);
        return stages;
      };
      const moved = r.rows.filter((row) => row.o !== row.n).reduce((sum, row) => sum + Number(row.count), 0);
      return { k: 'lifecycle', before: dist(oldInfo!, 'o'), after: dist(newInfo!, 'n'), moved };
    }
    if (pair) {
      const r = await tx.query<{ before: number; after: number; changed: number; entities: number }>(
        `select count(o) as before, count(n) as after, count(*) filter (where o::text is distinct from n::text) as changed, count(*) as entities from (${pair.sql}) as t`,
      );
      const row = r.rows[0]!;
      return { k: 'values', before: Number(row.before), after: Number(row.after), changed: Number(row.changed), entities: Number(row.entities) };
    }
    const oldSql = a?.k === 'values' ? compileValues(a, o).sql : undefined;
    const newSql = b?.k === 'values' ? compileValues(b, o).sql : undefined;
    if (!oldSql || !newSql) return oneSidedValues(tx, kind, oldSql ? oldInfo : undefined, newSql ? newInfo : undefined, (oldSql ?? newSql)!);
    if (kind === 'lifecycle') {
      const r = await tx.query<{ side: string; value: string | null; count: number }>(
        `with o as materialized (${oldSql}), n as materialized (${newSql})
         select 'o' as side, value::text as value, count(*) as count from o group by value
         union all select 'n', value::text, count(*) from n group by value
         union all select 'm', null, count(*) from o full join n on o.key = n.key where o.value::text is distinct from n.value::text`,
      );
      const dist = (info: DefinitionInfo | undefined, side: string) => {
        if (!info) return null;
        const stages: Record<string, number> = {};
        for (const s of (info.def as LifecycleDef).stages) stages[s.name.name] = 0;
        for (const row of r.rows) if (row.side === side && row.value !== null) stages[row.value] = Number(row.count);
        return stages;
      };
      return { k: 'lifecycle', before: dist(oldInfo, 'o'), after: dist(newInfo, 'n'), moved: Number(r.rows.find((x) => x.side === 'm')?.count ?? 0) };
    }
    const r = await tx.query<{ before: number; after: number; changed: number; entities: number }>(
      `with o as materialized (${oldSql}), n as materialized (${newSql})
       select (select count(value) from o) as before, (select count(value) from n) as after,
              count(*) filter (where o.value::text is distinct from n.value::text) as changed, count(*) as entities
         from o full join n on o.key = n.key`,
    );
    const row = r.rows[0]!;
    return { k: 'values', before: a ? Number(row.before) : null, after: b ? Number(row.after) : null, changed: Number(row.changed), entities: Number(row.entities) };
  }
  if (kind === 'kpi') {
    const side = async (info: DefinitionInfo | undefined): Promise<KpiSide | null> => {
      const m = q(info);
      if (!info || m?.k !== 'metric') return null;
      const opts = { asOf: { kind: 'instant', at: asOf }, literals: 'param' } as const;
      // With a breakdown whose groups add up to the KPI, its one statement also answers the value.
      let split: ReturnType<typeof splitTotal> | undefined;
      if (m.breakdown) {
        const b = compileMetricBreakdown(m.metric, m.breakdown, opts, { withTotal: true });
        split = splitTotal((await tx.query<BreakdownRow>(b.sql, b.parameters)).rows);
      }
      let value: number | null;
      if (split?.total !== undefined) value = split.total;
      else {
        const c = compileMetric(m.metric, opts);
        const r = await tx.query<{ value: number | null }>(c.sql, c.parameters);
        const raw = r.rows[0]?.value;
        value = raw === null || raw === undefined || !Number.isFinite(Number(raw)) ? null : Number(raw);
      }
      const ev = evaluateKpi(info.def as KpiDef, value, asOf);
      if (!split) return { value, status: ev.status };
      return { value, status: ev.status, groups: evaluateGroups(info.def as KpiDef, split.groups, asOf) };
    };
    return { k: 'kpi', before: await side(oldInfo), after: await side(newInfo) };
  }
  return { k: 'none' };
}

/**
 * The impact of a trait, score or lifecycle that exists on one side only (exactly one of oldInfo,
 * newInfo): the same numbers the two-sided queries give against an empty other side (every entity
 * with a value changes; every staged entity moves), read from the existing side alone.
 */
async function oneSidedValues(tx: Db, kind: string, oldInfo: DefinitionInfo | undefined, newInfo: DefinitionInfo | undefined, sql: string): Promise<Impact> {
  if (kind === 'lifecycle') {
    const r = await tx.query<{ value: string | null; count: number }>(`select value::text as value, count(*) as count from (${sql}) as v group by value`);
    const info = (oldInfo ?? newInfo)!;
    const stages: Record<string, number> = {};
    for (const s of (info.def as LifecycleDef).stages) stages[s.name.name] = 0;
    let moved = 0;
    for (const row of r.rows) {
      if (row.value === null) continue;
      stages[row.value] = Number(row.count);
      moved += Number(row.count);
    }
    return { k: 'lifecycle', before: oldInfo ? stages : null, after: newInfo ? stages : null, moved };
  }
  const row = (await tx.query<{ n: number; entities: number }>(`select count(value) as n, count(*) as entities from (${sql}) as v`)).rows[0]!;
  const n = Number(row.n);
  return { k: 'values', before: oldInfo ? n : null, after: newInfo ? n : null, changed: n, entities: Number(row.entities) };
}

const STATUS_RANK: Record<KpiStatus, number> = { met: 0, on_track: 1, at_risk: 2, missed: 3, failed: 4 };

/**
 * Riskiest first: refused changes, then drops, then KPIs getting worse, then the share of a
 * segment, profile or lifecycle that changes, then new definitions; unchanged ones last.
 */
function riskOf(i: Omit<PlanItem, 'risk'>): number {
  if (i.status === 'unchanged') return i.errors.length ? 5000 : i.record ? 1 : 0;
  let r = i.status === 'removed' ? 3000 : i.status === 'changed' ? 100 : 10;
  if (i.errors.length) r += 5000;
  // The root of a change before what changed through it.
  if (i.status === 'changed' && !i.via.length) r += 50;
  const m = i.impact;
  if (m.k === 'unmeasured') r += 500;
  else if (m.k === 'kpi' && m.before && m.after) {
    const worse = STATUS_RANK[m.after.status] - STATUS_RANK[m.before.status];
    if (worse > 0) r += 1000 + 100 * worse;
  } else if (m.k === 'kpi' && m.after && STATUS_RANK[m.after.status] >= 3) r += 1000;
  else if (m.k === 'segment' && i.status !== 'new') r += Math.min(900, (900 * (m.entering + m.leaving)) / Math.max(1, m.before ?? 0, m.after ?? 0));
  else if (m.k === 'values' && i.status !== 'new') r += Math.min(900, (900 * m.changed) / Math.max(1, m.entities));
  else if (m.k === 'lifecycle' && i.status !== 'new') {
    const total = Object.values(m.after ?? m.before ?? {}).reduce((s, n) => s + n, 0);
    r += Math.min(900, (900 * m.moved) / Math.max(1, total));
  }
  return r;
}
