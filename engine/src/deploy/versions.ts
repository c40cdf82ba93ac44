// Version rules against the deployed state (LANGUAGE.md §8): pure functions, no I/O.
//
//   new        not deployed (or dropped earlier)
//   changed    the fingerprint differs from the deployed one; needs a higher `version:`
//   unchanged  same fingerprint (a higher version alone is a warning, and is recorded)
//   removed    deployed but no longer in the project; an error unless --allow-drop
//
// Diagnostics are raw (file + span) so shells render them like `tally validate` does.

import type { DiagnosticCode, RawDiagnostic } from '../diagnostics.js';
import type { Kind } from '../model/types.js';
import type { Analysis, DefinitionInfo } from '../project.js';
import { deployedKey, type DeployedDefinition, type DeployedState } from '../state/deployed.js';

export type ChangeStatus = 'new' | 'changed' | 'unchanged' | 'removed';

/** Kinds a deploy records; `kind: Test` fixtures are not deployed. */
export const DEPLOYED_KINDS: readonly Kind[] = ['Entity', 'Events', 'Segment', 'Trait', 'Score', 'Lifecycle', 'Kpi', 'Campaign', 'Costs', 'Destination', 'Sync'];

export interface DefinitionChange {
  /** Lower-case kind, as recorded. */
  readonly kind: string;
  readonly name: string;
  readonly status: ChangeStatus;
  /** The project's version (the deployed one for `removed`). */
  readonly version: number;
  readonly fingerprint: string | null;
  readonly deployed?: DeployedDefinition;
  readonly info?: DefinitionInfo;
  /** Whether a deploy writes a row for it (new, changed, a version-only bump, an allowed drop). */
  readonly record: boolean;
  /** A lower version that restores exactly what an earlier deploy recorded (a rollback, `--ref`). */
  readonly restored?: boolean;
  /** The version-rule diagnostics about this definition (also in `VersionCheck.diagnostics`). */
  readonly diagnostics: readonly RawDiagnostic[];
}

export interface VersionCheck {
  readonly changes: readonly DefinitionChange[];
  readonly diagnostics: readonly RawDiagnostic[];
}

/** The project file, where a removed definition's diagnostic points when its file is gone. */
const PROJECT_FILE = 'tally.yaml';

export interface VersionOptions {
  readonly allowDrop?: boolean;
  /**
   * Rollbacks: `kind:name:version:fingerprint` of every version ever recorded. A lower version is
   * allowed when it restores one of these exactly (same version, same meaning).
   */
  readonly restorable?: ReadonlySet<string>;
}

export function checkVersions(analysis: Analysis, deployed: DeployedState, opts: VersionOptions = {}): VersionCheck {
  const changes: DefinitionChange[] = [];
  const diagnostics: RawDiagnostic[] = [];
  const seen = new Set<string>();
  for (const info of analysis.infos) {
    const def = info.def;
    if (!DEPLOYED_KINDS.includes(def.kind)) continue;
    const kind = def.kind.toLowerCase();
    const key = deployedKey(kind, def.name);
    seen.add(key);
    const fp = info.fingerprint;
    const prev = deployed.definitions.get(key);
    if (!prev) {
      changes.push({ kind, name: def.name, status: 'new', version: def.version, fingerprint: fp, info, record: true, diagnostics: [] });
      continue;
    }
    const own: RawDiagnostic[] = [];
    const err = (code: DiagnosticCode, message: string, severity: 'error' | 'warning' = 'error') => {
      const d: RawDiagnostic = { code, severity, message, file: def.file, span: def.versionSpan };
      diagnostics.push(d);
      own.push(d);
    };
    const changed = prev.fingerprint !== fp;
    const restored = def.version < prev.version && !!opts.restorable?.has(`${kind}:${def.name}:${def.version}:${fp}`);
    if (restored) {
      // A rollback to a recorded version: allowed, and recorded as a new row.
    } else if (def.version < prev.version) {
      err(
        'version-lowered',
        `${kind} '${def.name}' is deployed at version ${prev.version}; version ${def.version} is lower. Versions only go up: set \`version: ${changed ? prev.version + 1 : prev.version}\``,
      );
    } else if (changed && def.version === prev.version) {
      err(
        'version-not-bumped',
        `${kind} '${def.name}' changed meaning since version ${prev.version} was deployed (fingerprint ${prev.fingerprint!.slice(0, 12)}, now ${fp.slice(0, 12)}); set \`version: ${prev.version + 1}\` to deploy it, or undo the change`,
      );
    } else if (!changed && def.version > prev.version) {
      err(
        'version-bumped-unchanged',
        `${kind} '${def.name}' is at version ${def.version} but its meaning is unchanged since version ${prev.version} (fingerprint ${fp.slice(0, 12)}); the bump is recorded, though nothing else changes`,
        'warning',
      );
    }
    const status: ChangeStatus = changed ? 'changed' : 'unchanged';
    changes.push({ kind, name: def.name, status, version: def.version, fingerprint: fp, deployed: prev, info, record: changed || def.version > prev.version || restored, ...(restored ? { restored } : {}), diagnostics: own });
  }
  for (const [key, prev] of deployed.definitions) {
    if (seen.has(key)) continue;
    const own: RawDiagnostic[] = [];
    changes.push({ kind: prev.kind, name: prev.name, status: 'removed', version: prev.version, fingerprint: null, deployed: prev, record: !!opts.allowDrop, diagnostics: own });
    if (opts.allowDrop) continue;
    const file = prev.file && analysis.project.file(prev.file) ? prev.file : PROJECT_FILE;
    own.push({
      code: 'removed-without-flag',
      severity: 'error',
      file,
      span: [0, 0],
      message: `${prev.kind} '${prev.name}' (version ${prev.version}) is deployed but no longer defined${prev.file ? ` (it was in ${prev.file})` : ''}; restore it, or deploy with --allow-drop to drop it`,
    });
    diagnostics.push(...own);
  }
  return { changes, diagnostics };
}
