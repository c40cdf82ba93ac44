// `kind: Test` fixtures as data (LANGUAGE.md §10): reading a Test definition against the project
// (its subject, `as_of`, the `given` rows per mapped table, `expect`), with a diagnostic for every
// problem. Pure: the analysis reports these in `tally validate` and the editor, and `tally test`
// (fixtures/fixtures.ts) runs the well-formed ones.

import type { DiagnosticCode, LineIndex, RawDiagnostic, Span } from '../diagnostics.js';
import type { IrTable } from '../ir/ir.js';
import type { Definition, EntityDef, CostsDef, EventsDef, Kind, LifecycleDef, ProjectCurrency, TableRef } from '../model/types.js';
import type { ResolvedDefinition } from './context.js';
import { getPair, toValue, type YNode } from '../syntax/nodes.js';
import { badInstant, parseInstant } from '../time.js';
import { didYouMean } from '../suggest.js';

export type SubjectKind = 'segment' | 'kpi' | 'lifecycle' | 'trait' | 'score';
export const SUBJECT_KINDS: readonly SubjectKind[] = ['segment', 'kpi', 'lifecycle', 'trait', 'score'];

/** Which `expect` keys fit which subject. */
export const EXPECT_KEYS: Record<SubjectKind, readonly string[]> = {
  segment: ['members', 'count'],
  kpi: ['value'],
  lifecycle: ['stages', 'values', 'members', 'count'],
  trait: ['values', 'members', 'count'],
  score: ['values', 'members', 'count'],
};

export interface Expectation {
  members?: unknown[];
  count?: number;
  value?: number | null;
  stages?: Record<string, number>;
  values?: Record<string, unknown>;
}

export const SUBJECT_KIND_OF: Record<SubjectKind, Kind> = { segment: 'Segment', kpi: 'Kpi', lifecycle: 'Lifecycle', trait: 'Trait', score: 'Score' };

// ---- parsing a Test ---------------------------------------------------------------------------------

export interface GivenTable {
  readonly written: string;
  readonly keySpan: Span;
  readonly rows: { values: Record<string, unknown>; span: Span }[];
}

export interface FixtureSpec {
  readonly name: string;
  readonly file: string;
  readonly line: number;
  readonly subject: { kind: SubjectKind; name: string };
  readonly asOf: Date;
  readonly given: Map<string, GivenTable>;
  readonly expect: Expectation;
  readonly expectSpan: Span;
}

/**
 * What reading a Test needs of an analysis: project.ts's `Analysis` is one. Declared here, not
 * imported from project.ts, because project.ts reads Tests through this module (no import cycle).
 */
export interface FixtureAnalysis {
  get(kind: Kind, name: string): FixtureDefinition | undefined;
  ofKind(kind: Kind): readonly FixtureDefinition[];
  readonly project: {
    file(path: string): { readonly lines: LineIndex } | undefined;
    readonly config: { readonly timezone: string; readonly currency?: ProjectCurrency };
  };
}

/** A definition as a Test reads it (project.ts's `DefinitionInfo` is one). */
export interface FixtureDefinition {
  readonly def: Definition;
  readonly resolved: ResolvedDefinition;
  readonly hasErrors: boolean;
}

export const writtenTable = (t: TableRef | IrTable): string => (t.schema ? `${t.schema}.${t.name}` : t.name);

/** The tables the project maps, by their name as written in `table:`. */
export function mappedTables(analysis: FixtureAnalysis): Map<string, { entities: EntityDef[]; events: EventsDef[]; ref: TableRef }> {
  const out = new Map<string, { entities: EntityDef[]; events: EventsDef[]; ref: TableRef }>();
  const slot = (t: TableRef) => {
    const w = writtenTable(t);
    let s = out.get(w);
    if (!s) out.set(w, (s = { entities: [], events: [], ref: t }));
    return s;
  };
  for (const i of analysis.ofKind('Entity')) {
    const e = i.def as EntityDef;
    if (e.table?.name) slot(e.table).entities.push(e);
  }
  for (const i of analysis.ofKind('Events')) {
    const e = i.def as EventsDef;
    if (e.table?.name) slot(e.table).events.push(e);
  }
  // A cost source's table is given like any mapped table (it has no entity).
  for (const i of analysis.ofKind('Costs')) {
    const c = i.def as CostsDef;
    if (c.table?.name) slot(c.table);
  }
  // The project's rates table (tally.yaml `currency.rates`), when amounts convert.
  const rates = analysis.project.config.currency?.rates;
  if (rates) {
    const dot = rates.table.indexOf('.');
    slot(dot > 0 ? { schema: rates.table.slice(0, dot), name: rates.table.slice(dot + 1), span: [0, 0] } : { name: rates.table, span: [0, 0] });
  }
  return out;
}

export interface ParsedFixture {
  /** The fixture, when it is well-formed. */
  readonly spec?: FixtureSpec;
  /** What is wrong with it (empty when `spec` is given). */
  readonly diagnostics: RawDiagnostic[];
  readonly subject?: FixtureSpec['subject'];
  /** 1-based line of the test's `name:`. */
  readonly line: number;
}

/** Reads a `kind: Test` definition against the project: never throws, every problem a diagnostic. */
export function parseFixture(analysis: FixtureAnalysis, info: FixtureDefinition, tables: ReadonlySet<string>): ParsedFixture {
  const def = info.def;
  const file = analysis.project.file(def.file)!;
  const line = file.lines.position(def.nameSpan[0]).line + 1;
  const raws: RawDiagnostic[] = [];
  const error = (code: DiagnosticCode, span: Span, message: string, fix?: string) =>
    raws.push({ code, severity: 'error', message, file: def.file, span, ...(fix ? { fix: { span, text: fix } } : {}) });
  const root = def.node;

  // subject
  let subject: FixtureSpec['subject'] | undefined;
  const subjectPair = getPair(root, 'subject');
  if (!subjectPair || subjectPair.value.kind !== 'map' || subjectPair.value.pairs.length !== 1) {
    error('missing-key', subjectPair?.value.span ?? def.nameSpan, `a test needs \`subject:\` with exactly one of ${SUBJECT_KINDS.join(', ')}, e.g. \`subject: { segment: high_value_dormant }\``);
  } else {
    const p = subjectPair.value.pairs[0]!;
    const kind = String(p.key.value);
    const name = p.value.kind === 'scalar' && p.value.value !== null ? String(p.value.value) : '';
    if (!(SUBJECT_KINDS as readonly string[]).includes(kind)) {
      const dym = didYouMean(kind, SUBJECT_KINDS);
      error('unexpected-key', p.key.span, `a test's subject is one of ${SUBJECT_KINDS.join(', ')}, not '${kind}'${dym.text}`, dym.best);
    } else if (!name) {
      error('missing-key', p.value.span, `name the ${kind} under test, e.g. \`${kind}: my_${kind}\``);
    } else {
      const target = analysis.get(SUBJECT_KIND_OF[kind as SubjectKind], name);
      if (!target) {
        const names = analysis.ofKind(SUBJECT_KIND_OF[kind as SubjectKind]).map((i) => i.def.name);
        const dym = didYouMean(name, names);
        error('unknown-reference', p.value.span, `no ${kind} named '${name}'${dym.text || (names.length ? '' : `; the project has no ${kind}s`)}`, dym.best);
      } else if (target.hasErrors || !target.resolved.query) {
        error('subject-has-errors', p.value.span, `${kind} '${name}' has errors, so this test cannot run; run \`tally validate\` and fix them first`);
      }
      subject = { kind: kind as SubjectKind, name };
    }
  }

  // as_of
  let asOf: Date | undefined;
  const asOfPair = getPair(root, 'as_of');
  if (!asOfPair) error('missing-key', def.nameSpan, 'a test needs `as_of:`, the instant it evaluates at, e.g. `as_of: 2026-06-01T00:00:00Z`');
  else {
    const text = asOfPair.value.kind === 'scalar' && asOfPair.value.value !== null ? String(asOfPair.value.value) : '';
    const parsed = text ? parseInstant(text, analysis.project.config.timezone) : undefined;
    if (!parsed) {
      const bad = text ? badInstant(text, asOfPair.value.span, `as_of '${text}' is not an ISO instant; write 2026-06-01 or 2026-06-01T00:00:00Z`, analysis.project.config.timezone) : undefined;
      error('bad-instant', bad?.span ?? asOfPair.value.span, bad?.message ?? `as_of '${text}' is not an ISO instant; write 2026-06-01 or 2026-06-01T00:00:00Z`);
    } else asOf = parsed.date;
  }

  // given
  const given = new Map<string, GivenTable>();
  const givenPair = getPair(root, 'given');
  if (givenPair && givenPair.value.kind === 'map') {
    for (const p of givenPair.value.pairs) {
      const written = String(p.key.value);
      if (!tables.has(written)) {
        const dym = didYouMean(written, tables);
        error('unknown-table', p.key.span, `no Entity, Events or Costs maps a table '${written}'${dym.text || (tables.size ? `; mapped tables: ${[...tables].join(', ')}` : '')}`, dym.best);
        continue;
      }
      if (given.has(written)) continue;
      const rows: GivenTable['rows'] = [];
      const items: YNode[] = p.value.kind === 'seq' ? p.value.items : [];
      if (p.value.kind !== 'seq' && !(p.value.kind === 'scalar' && p.value.value === null)) error('bad-value', p.value.span, `the rows of '${written}' are a list of mappings, e.g. \`- { id: 1 }\``);
      for (const item of items) {
        if (item.kind !== 'map') {
          error('bad-value', item.span, `each row of '${written}' is a mapping of column to value, e.g. \`{ id: 1, country: DE }\``);
          continue;
        }
        for (const c of item.pairs) {
          const col = String(c.key.value);
          if (!col.trim() || Buffer.byteLength(col) > 63) error('bad-column', c.key.span, `'${col}' cannot be a column name (1 to 63 bytes)`);
        }
        rows.push({ values: toValue(item) as Record<string, unknown>, span: item.span });
      }
      given.set(written, { written, keySpan: p.key.span, rows });
    }
  }

  // expect
  const expect: Expectation = {};
  const expectPair = getPair(root, 'expect');
  if (!expectPair || expectPair.value.kind !== 'map') {
    error('missing-key', expectPair?.value.span ?? def.nameSpan, 'a test needs `expect:`, e.g. `expect: { members: [1] }`');
  } else {
    const em = expectPair.value;
    if (!em.pairs.length) error('missing-key', em.span, `\`expect\` has nothing to compare; give ${subject ? EXPECT_KEYS[subject.kind].join(', ') : 'members, count, value, stages or values'}`);
    for (const p of em.pairs) {
      const k = String(p.key.value);
      if (subject && !EXPECT_KEYS[subject.kind].includes(k)) {
        error('unexpected-key', p.key.span, `\`${k}\` does not fit a ${subject.kind} subject; expect ${EXPECT_KEYS[subject.kind].join(' or ')}`);
        continue;
      }
      const v = toValue(p.value);
      switch (k) {
        case 'members':
          if (!Array.isArray(v) || v.some((x) => x === null || typeof x === 'object')) error('bad-value', p.value.span, '`members` is a list of entity keys, e.g. `[1, 2]`');
          else expect.members = v;
          break;
        case 'count':
          if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) error('bad-value', p.value.span, '`count` is a whole number ≥ 0');
          else expect.count = v;
          break;
        case 'value':
          if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) error('bad-value', p.value.span, '`value` is a number, or null for a NULL value');
          else expect.value = v;
          break;
        case 'stages': {
          if (p.value.kind !== 'map') {
            error('bad-value', p.value.span, '`stages` maps each stage to its number of entities, e.g. `{ new: 1, active: 2 }`');
            break;
          }
          const lc = subject ? (analysis.get('Lifecycle', subject.name)?.def as LifecycleDef | undefined) : undefined;
          const stageNames = lc ? lc.stages.map((s) => s.name.name) : [];
          const stages: Record<string, number> = {};
          for (const sp of p.value.pairs) {
            const sn = String(sp.key.value);
            const n = toValue(sp.value);
            if (lc && !stageNames.includes(sn)) {
              const dym = didYouMean(sn, stageNames);
              error('unknown-stage', sp.key.span, `lifecycle '${lc.name}' has no stage '${sn}'${dym.text || `; its stages: ${stageNames.join(', ')}`}`, dym.best);
            } else if (typeof n !== 'number' || !Number.isInteger(n) || n < 0) error('bad-value', sp.value.span, `the number of entities in stage '${sn}' is a whole number ≥ 0`);
            else stages[sn] = n;
          }
          expect.stages = stages;
          break;
        }
        case 'values': {
          if (p.value.kind !== 'map') {
            error('bad-value', p.value.span, '`values` maps entity keys to values, e.g. `{ "1": 250, "2": null }`');
            break;
          }
          const lc = subject?.kind === 'lifecycle' ? (analysis.get('Lifecycle', subject.name)?.def as LifecycleDef | undefined) : undefined;
          const stageNames = lc ? lc.stages.map((s) => s.name.name) : [];
          const values: Record<string, unknown> = {};
          for (const vp of p.value.pairs) {
            const val = toValue(vp.value);
            if (val !== null && typeof val === 'object') {
              error('bad-value', vp.value.span, 'a value is text, a number, a boolean or null');
              continue;
            }
            if (lc && val !== null && !stageNames.includes(String(val))) {
              const dym = didYouMean(String(val), stageNames);
              error('unknown-stage', vp.value.span, `lifecycle '${lc.name}' has no stage '${String(val)}'${dym.text || `; its stages: ${stageNames.join(', ')}`}`, dym.best);
              continue;
            }
            values[String(vp.key.value)] = val;
          }
          expect.values = values;
          break;
        }
        default:
          error('unexpected-key', p.key.span, `\`${k}\` is not something a test can expect; use members, count, value, stages or values`);
      }
    }
  }

  if (raws.length || !subject || !asOf || !expectPair) return { diagnostics: raws, ...(subject ? { subject } : {}), line };
  return { spec: { name: def.name, file: def.file, line, subject, asOf, given, expect, expectSpan: expectPair.value.span }, diagnostics: [], subject, line };
}

