// Every diagnostic code, named once, with a one-line meaning.
//
// Codes are a stable contract (`validate --format json`, SARIF, CI annotations, the editor), so
// they are declared here and nowhere else: `DiagnosticCode` types `RawDiagnostic.code`,
// `Diagnostic.code` and the sink's methods, and a misspelt code at a call site is a type error.
// Call sites keep the literal string (`sink.error('unknown-reference', ...)`); the type checks it.
// The meanings serve documentation and hover; the groups follow docs/language.md's "Diagnostics"
// section, which lists the same codes (test/diagnostic-codes.test.ts checks that both agree).

export const DIAGNOSTIC_CODES = {
  // YAML and shape (syntax/, the project file, the schemas)
  'yaml-syntax': 'the file is not valid YAML',
  'alias-limit': 'a YAML alias expands past the limits (1,000 aliases, 10,000 expanded nodes per document)',
  'bad-file-name': 'a definition file name contains a control character',
  'not-a-mapping': 'a document (or tally.yaml) is not a mapping',
  'missing-kind': 'a definition has no `kind`',
  'unknown-kind': 'a `kind` that Tally does not know',
  'unknown-key': 'a key the schema of this kind does not allow',
  'missing-key': 'a required key is missing',
  'wrong-type': 'a value of the wrong type (a string where a mapping belongs, ...)',
  'bad-value': 'a value outside what the key allows',
  'bad-name': 'a name that is not lowercase letters, digits and _ (at most 63)',
  'bad-duration': 'a duration that is not a positive whole number and a unit (30m, 12h, 90d, 4w)',
  'bad-instant': 'a date or instant that is not ISO 8601 or does not exist',
  'bad-timezone': 'a time zone that is not an IANA name',
  schema: 'a schema rule with no more specific code',

  // Forms (model/: exactly one form, operators, aggregates, comparisons)
  'condition-form': 'a condition with no form or with more than one',
  'empty-condition': 'an empty condition',
  'bad-condition': 'a condition that is not a mapping',
  'metric-form': 'a metric with no form or with more than one',
  'cohort-form': 'a cohort with neither or both of a timestamp `attribute` and an event (`event`/`stream`)',
  'returns-form': 'a Cohort\'s `returns` with none or more than one of `days`, `weeks`, `months`',
  'missing-operator': 'a condition without an operator',
  'conflicting-operator': 'more than one operator in one condition',
  'unexpected-operator': 'an operator this form does not take',
  'unexpected-key': 'a key that does not belong where it is written',
  'conflicting-aggregate': 'more than one aggregate in one event condition',
  'missing-event': 'an event condition or metric that says neither `event` nor `stream`',
  'missing-property': 'an aggregate or metric that needs `property`',
  'missing-window': 'a metric or cohort that needs `within`',
  'missing-comparison': 'an aggregate or target without a comparison',
  'conflicting-comparison': 'more than one comparison where one belongs',
  'bad-stage-ref': 'a `stage` not written `lifecycle.stage`',
  'empty-list': 'an empty `all`/`any`/`in` list (always true or always false)',
  'empty-range': '`between` with low above high (never true)',
  'missing-breakdown': 'a `breakdown` that says none of `attribute`, `segments`, `lifecycle`, `score`',
  'conflicting-breakdown': 'a `breakdown` that groups by more than one thing',

  // Names and references (resolve/)
  'duplicate-name': 'two definitions of one kind (or two bands) share a name',
  'unknown-reference': 'a reference to a definition that does not exist',
  'unknown-stage': 'a stage the lifecycle does not have',
  'unknown-band': 'a band the score does not have',
  'unknown-group': 'a breakdown target for a group that cannot exist (a segment, stage or band not in the breakdown)',
  'breakdown-unsupported': 'a breakdown on a metric form that has none yet (a funnel conversion)',
  'unknown-attribute': 'an attribute the entity does not declare (or its table lacks)',
  'unknown-property': 'an event property the stream does not declare',
  'unknown-event-type': 'an event type with no events in the live data yet (warning)',
  'unknown-table': 'a table the database (or a test\'s mapping) does not have',
  'unknown-column': 'a column the table does not have',
  'no-entity': 'the project has no Entity, so nothing can be about one',
  'ambiguous-entity': 'several entities could be meant; say which with `entity:`',
  'entity-mismatch': 'a reference to a definition about another entity',
  'no-stream': 'no Events definition holds these events',
  'ambiguous-stream': 'several Events could hold these events; say which with `stream:`',
  'no-type-column': 'an event type filter on Events without a `type` column',
  cycle: 'a definition depends on itself',

  // Types and structure
  'type-mismatch': 'a value or column of the wrong type for its use',
  'lifecycle-fallback': 'the last (fallback) stage of a lifecycle has a `where`',
  'unreachable-stage': 'a stage without `where` before the last, so later stages never match',
  'unreachable-band': 'a band that can never match',
  'band-fallback': 'the last band has a bound, so low scores get no band',
  'empty-cohort-window': 'a retention cohort window not longer than its return window',
  'ignored-key': 'a key that is accepted but has no effect',

  // SMART lint (KPIs)
  'smart-no-target': 'a KPI without a target',
  'smart-not-time-bound': 'a KPI target without a deadline',
  'smart-no-owner': 'a KPI without an owner',
  'smart-no-description': 'a KPI without a description',
  'smart-no-funnel': 'a KPI without a funnel stage',
  'smart-deadline-past': 'a KPI target whose deadline has passed',
  'smart-already-met': 'a KPI target its baseline already meets',
  'smart-no-guardrail': 'a KPI without a guardrail',
  'guardrail-stricter': 'a guardrail stricter than the target',
  'guardrail-direction': 'a guardrail pointing the other way from the target',

  // Ranges
  'score-out-of-range': 'a score comparison outside 0 to 100',
  'band-out-of-range': 'a band bound outside 0 to 100',

  // Campaigns
  'bad-weights': 'variant weights that add up to 0',
  'duplicate-variant': 'two variants share a name',
  'multiple-holdouts': 'more than one holdout variant',
  'schedule-ends-before-start': 'a schedule that ends before it starts',
  'no-holdout': 'a campaign without a holdout (no lift to measure)',
  'holdout-too-large': 'a holdout over half the audience',
  'empty-audience': 'a campaign audience with no members as of T (live data)',

  // Tests (`kind: Test`)
  'bad-column': 'a column name in `given` that cannot be a column',
  'subject-has-errors': 'a test whose subject has errors (tally test only)',
  'fixture-error': 'a given row that cannot be loaded, or a test query that failed',

  // Index advice (information, tally advise only)
  'advise-jsonb-include': 'advised indexes include a whole jsonb column read by definitions',
  'advise-property-filter': 'events selected by a jsonb property alone: an expression index serves it',

  // Project
  'no-project-file': 'no tally.yaml in the project directory',
  'db-unreachable': 'the embedded default database could not be opened; catalog checks skipped',

  // Deploy
  'version-not-bumped': 'a changed definition without a higher `version`',
  'version-lowered': 'a `version` lower than the deployed one',
  'removed-without-flag': 'a deployed definition no longer defined, without --allow-drop',
  'not-owned': 'deploy would drop or replace a relation Tally did not create',
  'version-bumped-unchanged': 'a higher `version` on a definition whose meaning did not change',
  'reserved-name': 'a name reserved for Tally\'s own objects in the deploy schema',

  // Run (the working copy against what is deployed)
  'not-deployed': 'a campaign (or what it depends on) is not deployed',
  'differs-from-deployed': 'the working copy differs from what is deployed',
  'deployed-unreadable': 'the deployed definition cannot be read back',

  // Funnels
  'funnel-steps': 'a funnel with fewer than two steps',
  'duplicate-step': 'two steps of one funnel share a name',
  'unknown-step': 'a step the funnel does not have',
  'conversion-form': 'a `conversion` metric mixing `step` with `from`/`to`, or `from` without `to`',
  'conversion-order': 'a `conversion` whose `from` step is not before its `to` step',

  // Catalog probes
  'event-types-unchecked': 'the event types of an events table could not be read (timeout, refused query): event names over it are not checked (warning)',
  // Series (tally series: arguments, not files)
  'series-kind': 'a series of a kind that has none (kpi, segment, lifecycle, score have one)',
  'series-not-found': 'a series of a definition the project does not have',
  'series-invalid': 'a series of a definition that has errors',
  'series-every': 'a series period (`--every`) that is not day, week or month',
  'series-bad-date': 'a series bound (`--from`, `--to`) that is not an ISO date',
  'series-range': 'a series whose `--from` is after its `--to`',
  'series-too-long': 'a series of more than 1,000 periods',
  // Currency
  'currency-not-configured': 'an amount in a declared currency column read while tally.yaml converts no currency',
  // Activation (destinations and syncs)
  'destination-form': 'a Destination without exactly one of webhook, folder, postgres',
  'sync-source': 'a Sync source that is not a segment, or a campaign with its variant',
  'bad-url': 'a webhook `url` that is not an absolute http(s) URL',
  'insecure-url': 'a webhook `url` over plain http to a host that is not local (warning)',
  'secret-unset': 'the environment variable a destination names is not set (warning; tally sync refuses)',
  'unknown-variant': 'a variant the campaign does not have',
  'unknown-field': 'a field (attribute, trait or score) the synced entity\'s profile does not have',
  'duplicate-field': 'two fields of one sync share a name',
} as const satisfies Record<string, string>;

/** Every code a diagnostic may carry. */
export type DiagnosticCode = keyof typeof DIAGNOSTIC_CODES;

export function isDiagnosticCode(code: string): code is DiagnosticCode {
  return Object.prototype.hasOwnProperty.call(DIAGNOSTIC_CODES, code);
}
