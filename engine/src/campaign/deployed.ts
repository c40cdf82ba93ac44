// What a campaign run enrolls: the deployed campaigns (LANGUAGE.md §7, "a run enrolls what is
// deployed"). The deployed state is re-analysed from its recorded sources (deployed-project.ts, as
// `tally plan` does), and each campaign to run is compared with the working copy, together with
// everything it depends on (its audience and exclusion segments and what they reference, the
// entity, the events). Any difference refuses the run, with a diagnostic at the definition that
// differs in the working copy, so nothing is recorded under a version it was not computed from:
//
//   not-deployed            the campaign (or a definition it now depends on) was never deployed
//   differs-from-deployed   its meaning (fingerprint) or its version differs from the deployed one
//   deployed-unreadable     the deployed source cannot be analysed any more (say, a column it reads
//                           is gone); redeploying fixes it
//
// The meanings are compared by fingerprint, both computed now (the working copy's and the recorded
// source's), so a fingerprint that a Tally upgrade computes differently does not refuse a run.

import type { Diagnostic, DiagnosticCode, RawDiagnostic } from '../diagnostics.js';
import type { IrCampaign } from '../ir/ir.js';
import type { Kind } from '../model/types.js';
import { toDiagnostic, type Analysis, type DefinitionInfo } from '../project.js';
import type { Catalog } from '../resolve/catalog.js';
import type { Db } from '../db/db.js';
import { deployedKey, readDeployed } from '../state/deployed.js';
import { deployedAnalysis } from '../state/deployed-project.js';

/** One deployed campaign, as a run enrolls it. */
export interface DeployedCampaign {
  readonly name: string;
  readonly version: number;
  /** The fingerprint recorded by the deploy (what the enrollments refer to). */
  readonly fingerprint: string;
  readonly ir: IrCampaign;
}

export interface DeployedCampaigns {
  /** By name; only when `diagnostics` has no error. */
  readonly campaigns: ReadonlyMap<string, DeployedCampaign>;
  /** Errors refuse the run (each at the working copy's definition). */
  readonly diagnostics: readonly Diagnostic[];
  /** Per refused campaign, a one-line reason (the first difference). */
  readonly reasons: ReadonlyMap<string, string>;
}

const splitId = (id: string): [Kind, string] => [id.slice(0, id.indexOf(':')) as Kind, id.slice(id.indexOf(':') + 1)];
const label = (kind: string, name: string) => `${kind === 'Kpi' ? 'KPI' : kind.toLowerCase()} '${name}'`;

/** The definition and everything it depends on, transitively (ids `Kind:name`, itself first). */
function closure(analysis: Analysis, info: DefinitionInfo): string[] {
  const out = [`${info.def.kind}:${info.def.name}`];
  const seen = new Set(out);
  for (let i = 0; i < out.length; i++) {
    const [kind, name] = splitId(out[i]!);
    for (const dep of analysis.get(kind, name)?.resolved.deps ?? []) if (!seen.has(dep)) (seen.add(dep), out.push(dep));
  }
  return out;
}

/** What the deployed-state check found, for any kind of definition (campaigns for `tally run`, syncs for `tally sync`). */
export interface DeployedCheck {
  /** The deployed project re-analysed from its recorded sources. */
  readonly deployed?: Analysis;
  /** Names that match what is deployed, with their recorded version and fingerprint. */
  readonly ok: ReadonlyMap<string, { readonly version: number; readonly fingerprint: string; readonly info: DefinitionInfo }>;
  readonly diagnostics: readonly Diagnostic[];
  readonly reasons: ReadonlyMap<string, string>;
}

/**
 * Checks the definitions `names` of `kind` in the working copy, and everything each depends on,
 * against the deployed state (read inside the caller's transaction): `not-deployed`,
 * `deployed-unreadable`, `differs-from-deployed`, each at the working copy's definition.
 * `usable` says whether the deployed resolution of the definition itself can be run.
 */
export async function checkDeployed(
  tx: Db,
  analysis: Analysis,
  kind: Kind,
  names: readonly string[],
  opts: { schema: string; catalog?: Catalog; now: Date; usable: (info: DefinitionInfo) => boolean; fix: string; verb: (kind: Kind) => string },
): Promise<DeployedCheck> {
  const state = await readDeployed(tx, opts.schema, { withSource: true });
  const { analysis: deployed, problems } = deployedAnalysis(analysis.project, state, { catalog: opts.catalog, now: opts.now });
  const raw = new Map<string, { d: RawDiagnostic; users: string[] }>();
  const reasons = new Map<string, string>();
  const ok = new Map<string, { version: number; fingerprint: string; info: DefinitionInfo }>();
  const what0 = kind.toLowerCase();
  const report = (info: DefinitionInfo, user: string, code: DiagnosticCode, message: (via: string) => string) => {
    const id = `${info.def.kind}:${info.def.name}`;
    let entry = raw.get(id);
    if (!entry) raw.set(id, (entry = { d: { code, severity: 'error', file: info.def.file, span: info.def.nameSpan, message: '' }, users: [] }));
    entry.users.push(user);
    entry.d = { ...entry.d, message: message(entry.users.map((c) => `'${c}'`).join(', ')) };
    if (!reasons.has(user)) reasons.set(user, message(`'${user}'`));
  };
  const fix = opts.fix;
  for (const name of names) {
    const info = analysis.get(kind, name);
    if (!info) continue;
    // Dependencies first, then the definition itself: one whose own text is unchanged differs
    // only through what it depends on, so those are named, not it.
    const ids = closure(analysis, info);
    let differs = false;
    for (const id of [...ids.slice(1), ids[0]!]) {
      const [depKind, defName] = splitId(id);
      const working = analysis.get(depKind, defName);
      if (!working) continue;
      const self = id === ids[0];
      const what = label(depKind, defName);
      const through = (via: string) => (self ? '' : `; ${what0} ${via} ${opts.verb(depKind)}`);
      const recorded = state.definitions.get(deployedKey(depKind, defName));
      if (!recorded) {
        report(working, name, 'not-deployed', (via) => `${what} is not deployed${through(via)}; ${fix}`);
        differs = true;
        continue;
      }
      const before = deployed?.get(depKind, defName);
      if (!before || before.hasErrors || (self && !opts.usable(before))) {
        const why = problems.get(deployedKey(depKind, defName));
        report(working, name, 'deployed-unreadable', (via) => `the deployed ${what} (version ${recorded.version}) cannot be read${why ? `: ${why}` : ''}${through(via)}; redeploy it (\`tally deploy\`) before running`);
        differs = true;
        continue;
      }
      const meaning = before.fingerprint !== working.fingerprint;
      const version = recorded.version !== working.def.version;
      if (!meaning && !version) continue;
      if (self && differs && !version) continue;
      const how = meaning
        ? `its meaning in the working copy differs from the deployed version ${recorded.version}${version ? ` (the working copy says version ${working.def.version})` : ''}`
        : `the working copy says version ${working.def.version}, the deployed one is version ${recorded.version}`;
      report(working, name, 'differs-from-deployed', (via) => `${what} differs from what is deployed: ${how}${through(via)}; ${fix}, or undo the change`);
      differs = true;
    }
    if (differs) continue;
    const recorded = state.definitions.get(deployedKey(kind, name))!;
    ok.set(name, { version: recorded.version, fingerprint: recorded.fingerprint!, info: deployed!.get(kind, name)! });
  }
  const diagnostics: Diagnostic[] = [];
  for (const { d } of raw.values()) {
    const file = analysis.project.file(d.file);
    if (file) diagnostics.push(toDiagnostic(d, file.lines));
  }
  return { deployed, ok, diagnostics, reasons };
}

/**
 * Reads the deployed state (inside the run's transaction) and checks the campaigns `names` of the
 * working copy against it. The caller has already refused campaigns with errors in the working copy.
 */
export async function deployedCampaigns(tx: Db, analysis: Analysis, names: readonly string[], opts: { schema: string; catalog?: Catalog; now: Date }): Promise<DeployedCampaigns> {
  const check = await checkDeployed(tx, analysis, 'Campaign', names, {
    ...opts,
    usable: (info) => !!info.resolved.campaign,
    fix: 'a run enrolls what is deployed: deploy it first (`tally plan`, then `tally deploy`)',
    verb: (kind) => (kind === 'Segment' ? 'enrolls through it' : 'depends on it'),
  });
  const campaigns = new Map<string, DeployedCampaign>();
  for (const [name, r] of check.ok) campaigns.set(name, { name, version: r.version, fingerprint: r.fingerprint, ir: r.info.resolved.campaign! });
  return { campaigns: check.diagnostics.length ? new Map() : campaigns, diagnostics: check.diagnostics, reasons: check.reasons };
}
