// Correctness: the engine's numbers against an independent oracle.
//
// The oracle (test/oracle/evaluate.ts) evaluates LANGUAGE.md's semantics in memory over the same
// generated rows (test/oracle/data.ts) that are loaded into PGlite and PostgreSQL. Each case below
// is data: a YAML definition set, an as-of instant and the definition to evaluate. Segments are
// compared as exact member sets under every strategy (probe, pass, auto) and both literal modes;
// traits, scores and lifecycles per entity; KPIs by value and status. Numbers match within 1e-9
// relative. Some cases also pin planted edge rows (`includes`/`excludes`) or an expected status, so
// that a case cannot pass vacuously.

import assert from 'node:assert/strict';
import {
  Project,
  compileMembers,
  compileMetric,
  compileValues,
  loadCatalog,
  preview,
  type Catalog,
  type Kind,
  type SqlOptions,
  type Strategy,
} from '../engine/src/index.js';
import { createTestDb, forEachBackend, type TestDb } from './helpers/databases.js';
import { model, SIGNED_UP_AT } from './helpers/model.js';
import { DAY, EDGE, T, T2, generateData, loadData } from './oracle/data.js';
import { Oracle, parseDefinitions, type Value } from './oracle/evaluate.js';

const DATA = generateData();

/** A third instant: mid-day, with milliseconds, so T + 1 ms rows become visible. */
const T3 = new Date(T.getTime() + 12 * 3_600_000 + 34 * 60_000 + 56_789);
/** Before any data: nobody exists yet. */
const T0 = new Date('2024-01-01T00:00:00Z');

const tally = (timezone = 'UTC') => `tally: 1
name: correctness
definitions: ["definitions/**/*.yaml"]
timezone: ${timezone}
`;
const TALLY = tally();

/** 2026-06-01T23:00Z: still June 1st in UTC, already June 2nd in Europe/Berlin. */
const T4 = new Date('2026-06-01T23:00:00Z');

const MODEL = model({
  attributes: { id: 'number', signed_up_at: SIGNED_UP_AT, created_at: 'timestamp', email: 'string', country: 'string', plan: 'string', score_hint: 'number', vip: 'boolean' },
  propertyTypes: 'amount: number, score: number',
});

// ------------------------------------------------------------------------------- definition helpers

const seg = (where: string, name = 's') => `kind: Segment\nname: ${name}\nversion: 1\nwhere: ${where}\n`;
const trait = (name: string, type: string, compute: string) => `kind: Trait\nname: ${name}\nversion: 1\ntype: ${type}\ncompute: ${compute}\n`;
const docs = (...xs: string[]) => xs.join('---\n');

const TRAITS = docs(
  trait('ltv', 'number', '{ event: purchase, sum: amount }'),
  trait('orders', 'number', '{ event: purchase }'),
  trait('purchases_90d', 'number', '{ event: purchase, within: 90d }'),
  trait('big_orders', 'number', '{ event: purchase, where: [{ property: amount, gte: 100 }] }'),
  trait('avg_order', 'number', '{ event: purchase, avg: amount }'),
  trait('min_order', 'number', '{ event: purchase, min: amount, within: 180d }'),
  trait('max_order', 'number', '{ event: purchase, max: amount }'),
  trait('first_purchase_at', 'timestamp', '{ event: purchase, first: time }'),
  trait('last_purchase_at', 'timestamp', '{ event: purchase, last: time }'),
  trait('last_amount', 'number', '{ event: purchase, last: amount, where: [{ property: amount, is_null: false }] }'),
  trait('days_since_purchase', 'number', '{ event: purchase, days_since: last }'),
  trait('days_since_first_seen', 'number', '{ stream: events, days_since: first }'),
  trait('sessions_30d', 'number', '{ event: login, within: 30d }'),
  trait('days_since_login', 'number', '{ event: login, days_since: last }'),
  trait('web_logins_14d', 'number', '{ event: login, within: 14d, where: [{ property: channel, eq: web }] }'),
  trait('best_score', 'number', '{ event: survey, max: score }'),
);

const SCORE = `kind: Score
name: health
version: 1
components:
  - { trait: sessions_30d, weight: 0.3, from: 0, to: 6 }
  - { trait: days_since_login, weight: 0.3, from: 60, to: 0 }
  - { trait: purchases_90d, weight: 0.25, from: 0, to: 3 }
  - { trait: ltv, weight: 0.15, from: 0, to: 500 }
bands:
  - { name: healthy, gte: 60 }
  - { name: neutral, gt: 30 }
  - { name: at_risk }
`;

/** A score without count components: isolates score-integer-division from the rest of §5. */
const RECENCY = `kind: Score
name: recency
version: 1
components:
  - { trait: days_since_login, weight: 2, from: 60, to: 0 }
  - { trait: avg_order, weight: 1, from: 0, to: 200 }
  - { trait: days_since_purchase, weight: 1.5, from: 120, to: 10 }
bands:
  - { name: hot, gt: 70 }
  - { name: warm, gte: 25 }
  - { name: cold }
`;

const LIFECYCLE = `kind: Lifecycle
name: lc
version: 1
stages:
  - { name: new, where: { attribute: signed_up_at, within: 7d } }
  - { name: churned, where: { not: { stream: events, within: 90d } } }
  - { name: dormant, where: { not: { stream: events, within: 30d } } }
  - { name: active }
`;

const LIFECYCLE2 = `kind: Lifecycle
name: value_lc
version: 1
stages:
  - { name: vip_buyer, where: { all: [{ attribute: vip, eq: true }, { trait: orders, gte: 1 }] } }
  - { name: slipping, where: { score: health, band: at_risk } }
  - { name: lapsed, where: { stage: lc.dormant } }
  - { name: other }
`;

const PROFILE = docs(TRAITS, SCORE, LIFECYCLE);

/** A KPI; without `extra` it gets a loose target (a KPI with no target is an error). */
const kpi = (metric: string, extra = 'target: { gte: 0, by: 2027-03-31 }\n', name = 'k') =>
  `kind: Kpi\nname: ${name}\nversion: 1\nowner: growth\ndescription: test kpi\nfunnel: retention\nmetric: ${metric}\n${extra}`;

/** A KPI whose value is exactly 4 at T: four planted customers that exist at T (1002 does not). */
const FOUR = '{ count: { attribute: id, in: [1004, 1005, 1006, 1007, 1002] } }';

// ------------------------------------------------------------------------------- the case table

type Status = 'met' | 'on_track' | 'at_risk' | 'missed' | 'failed';

interface Case {
  name: string;
  kind: Kind;
  subject: string;
  yaml: string;
  asOf?: Date;
  /** Planted rows the oracle must (not) put in the segment, to pin the edge cases. */
  includes?: number[];
  excludes?: number[];
  /** An empty or all-entities segment is expected (otherwise the oracle must find a proper subset). */
  trivial?: boolean;
  /** KPI: the expected value (checked against the oracle too) and status. */
  value?: number | null;
  status?: Status;
  /** Project time zone (default UTC): date-only instants are midnights there. */
  timezone?: string;
}

// Regression cases for two engine bugs this suite found (both fixed): a score component over a
// count trait was normalised with integer division (bigint / integer truncates), and a `sum` trait
// of a customer whose matching events all lack the property was NULL instead of 0 (a trait is NULL
// only when there are no matching events; a sum over no values is 0).

const S = 'Segment' as const;
const K = 'Kpi' as const;

const segmentCases: Case[] = [
  // --- string attribute, all operators, NULL rows
  { name: 'country eq DE', kind: S, subject: 's', yaml: seg('{ attribute: country, eq: DE }'), excludes: [EDGE.createdAfterT] },
  { name: 'country ne DE excludes NULL country', kind: S, subject: 's', yaml: seg('{ attribute: country, ne: DE }'), includes: [EDGE.emptyCountry, EDGE.createdAtT], excludes: [EDGE.createdAfterT] },
  { name: 'not country eq DE includes NULL country', kind: S, subject: 's', yaml: seg('{ not: { attribute: country, eq: DE } }'), includes: [EDGE.emptyCountry], excludes: [EDGE.createdAfterT, EDGE.createdLater] },
  { name: 'country in [DE, AT, CH]', kind: S, subject: 's', yaml: seg('{ attribute: country, in: [DE, AT, CH] }'), includes: [EDGE.nullAmountOnly] },
  { name: 'country not_in [DE, AT] excludes NULL', kind: S, subject: 's', yaml: seg('{ attribute: country, not_in: [DE, AT] }'), includes: [EDGE.emptyCountry, EDGE.ties] },
  { name: 'not country in [DE, AT] includes NULL', kind: S, subject: 's', yaml: seg('{ not: { attribute: country, in: [DE, AT] } }') },
  { name: 'country is_null true', kind: S, subject: 's', yaml: seg('{ attribute: country, is_null: true }'), excludes: [EDGE.emptyCountry, EDGE.createdAfterT] },
  { name: 'country is_null false (empty string is not NULL)', kind: S, subject: 's', yaml: seg('{ attribute: country, is_null: false }'), includes: [EDGE.emptyCountry] },
  { name: 'email contains example (case-sensitive)', kind: S, subject: 's', yaml: seg('{ attribute: email, contains: example }') },
  { name: 'email starts_with user_ (underscore is literal)', kind: S, subject: 's', yaml: seg('{ attribute: email, starts_with: user_ }') },
  { name: 'email contains %_ (LIKE wildcards are literal)', kind: S, subject: 's', yaml: seg('{ attribute: email, contains: "%_" }'), includes: [EDGE.wildcardEmail] },
  { name: 'email contains 100% (percent is literal)', kind: S, subject: 's', yaml: seg('{ attribute: email, contains: "100%" }'), includes: [EDGE.wildcardEmail] },
  { name: "email contains a quote (inline literal escaping)", kind: S, subject: 's', yaml: seg(`{ attribute: email, contains: "o'b" }`), includes: [EDGE.quoteEmail] },
  { name: 'email contains a backslash (LIKE escape character is literal)', kind: S, subject: 's', yaml: seg('{ attribute: email, contains: "\\\\" }'), includes: [EDGE.quoteEmail] },
  { name: 'email starts_with c1 (prefix, not substring)', kind: S, subject: 's', yaml: seg('{ attribute: email, starts_with: c1 }') },
  { name: 'plan starts_with team_', kind: S, subject: 's', yaml: seg('{ attribute: plan, starts_with: team_ }'), includes: [EDGE.negativeHint] },
  { name: 'not plan starts_with team_ includes NULL plan', kind: S, subject: 's', yaml: seg('{ not: { attribute: plan, starts_with: team_ } }') },
  { name: 'plan ne free', kind: S, subject: 's', yaml: seg('{ attribute: plan, ne: free }'), excludes: [EDGE.noEvents] },
  // --- number attribute
  { name: 'score_hint eq 5', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, eq: 5 }'), includes: [EDGE.noAmountOnly] },
  { name: 'score_hint ne 5 excludes NULL', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, ne: 5 }'), includes: [EDGE.negativeHint] },
  { name: 'score_hint gt 5', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, gt: 5 }'), excludes: [EDGE.noAmountOnly] },
  { name: 'score_hint gte 5', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, gte: 5 }'), includes: [EDGE.noAmountOnly, EDGE.noEvents] },
  { name: 'score_hint lt 2.5', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, lt: 2.5 }'), includes: [EDGE.negativeHint] },
  { name: 'score_hint lte 2.5', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, lte: 2.5 }') },
  { name: 'score_hint between [2.5, 7.5] inclusive', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, between: [2.5, 7.5] }'), includes: [EDGE.noAmountOnly] },
  { name: 'score_hint in [0, 10, -1]', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, in: [0, 10, -1] }'), includes: [EDGE.negativeHint, EDGE.noEvents] },
  { name: 'score_hint eq 2.25 (decimal)', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, eq: 2.25 }') },
  { name: 'score_hint not_in [5] excludes NULL', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, not_in: [5] }') },
  { name: 'score_hint is_null true', kind: S, subject: 's', yaml: seg('{ attribute: score_hint, is_null: true }'), excludes: [EDGE.createdAfterT] },
  { name: 'not score_hint gt 5 includes NULL', kind: S, subject: 's', yaml: seg('{ not: { attribute: score_hint, gt: 5 } }') },
  { name: 'id in [...] drops ids that do not exist at T', kind: S, subject: 's', yaml: seg('{ attribute: id, in: [1, 2, 3, 1001, 1002, 1003] }'), includes: [EDGE.createdAtT], excludes: [EDGE.createdAfterT, EDGE.createdLater] },
  // --- boolean attribute
  { name: 'vip eq true', kind: S, subject: 's', yaml: seg('{ attribute: vip, eq: true }'), includes: [EDGE.noEvents] },
  { name: 'vip eq false', kind: S, subject: 's', yaml: seg('{ attribute: vip, eq: false }'), includes: [EDGE.negativeHint] },
  { name: 'vip ne true excludes NULL', kind: S, subject: 's', yaml: seg('{ attribute: vip, ne: true }') },
  { name: 'not vip eq true includes NULL', kind: S, subject: 's', yaml: seg('{ not: { attribute: vip, eq: true } }') },
  { name: 'vip is_null true', kind: S, subject: 's', yaml: seg('{ attribute: vip, is_null: true }') },
  { name: 'vip in [true]', kind: S, subject: 's', yaml: seg('{ attribute: vip, in: [true] }') },
  // --- timestamp attribute
  { name: 'signed_up_at within 7d: (T-7d, T]', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, within: 7d }'), includes: [EDGE.createdAtT, EDGE.createdAfterT7], excludes: [EDGE.createdAtT7, EDGE.createdAfterT] },
  { name: 'signed_up_at within 7d at T3', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, within: 7d }'), asOf: T3, includes: [EDGE.createdAfterT, EDGE.createdAtT], excludes: [EDGE.createdAtT7, EDGE.createdLater] },
  { name: 'signed_up_at before 30d', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, before: 30d }'), excludes: [EDGE.cohortAtUpperEdge] },
  { name: 'signed_up_at after 30d', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, after: 30d }'), includes: [EDGE.cohortAfterUpperEdge], excludes: [EDGE.cohortAtUpperEdge] },
  { name: 'signed_up_at before 2026-01-01 (date)', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, before: 2026-01-01 }') },
  { name: 'signed_up_at before 2026-01-01 in UTC', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, before: 2026-01-01 }'), includes: [EDGE.newYearBerlin] },
  { name: 'signed_up_at before 2026-01-01 in Europe/Berlin', kind: S, subject: 's', timezone: 'Europe/Berlin', yaml: seg('{ attribute: signed_up_at, before: 2026-01-01 }'), excludes: [EDGE.newYearBerlin] },
  { name: 'signed_up_at after 2026-01-01T00:00 (no offset) in Europe/Berlin', kind: S, subject: 's', timezone: 'Europe/Berlin', yaml: seg('{ attribute: signed_up_at, after: "2026-01-01T00:00:00" }'), includes: [EDGE.newYearBerlin] },
  { name: 'signed_up_at after 2026-01-01T12:00:00Z', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, after: "2026-01-01T12:00:00Z" }') },
  { name: 'created_at gte 2026-03-01', kind: S, subject: 's', yaml: seg('{ attribute: created_at, gte: "2026-03-01" }') },
  { name: 'created_at lt 2026-03-01', kind: S, subject: 's', yaml: seg('{ attribute: created_at, lt: "2026-03-01" }') },
  { name: 'created_at between two dates', kind: S, subject: 's', yaml: seg('{ attribute: created_at, between: ["2025-10-01", "2026-02-01"] }') },
  { name: 'not signed_up_at within 30d', kind: S, subject: 's', yaml: seg('{ not: { attribute: signed_up_at, within: 30d } }'), includes: [EDGE.cohortAtUpperEdge] },
  { name: 'signed_up_at is_null false = everyone existing', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, is_null: false }'), trivial: true, excludes: [EDGE.createdAfterT] },
  { name: 'signed_up_at after 30d at T2', kind: S, subject: 's', yaml: seg('{ attribute: signed_up_at, after: 30d }'), asOf: T2 },
  // --- nesting
  {
    name: 'nested any/all/not',
    kind: S,
    subject: 's',
    yaml: seg('{ any: [ { all: [ { attribute: country, eq: DE }, { attribute: vip, eq: true } ] }, { not: { any: [ { attribute: plan, eq: free }, { attribute: score_hint, gt: 5 } ] } } ] }'),
  },
  {
    name: 'not all [ne, not eq] (De Morgan over NULLs)',
    kind: S,
    subject: 's',
    yaml: seg('{ not: { all: [ { attribute: country, ne: DE }, { not: { attribute: vip, eq: true } } ] } }'),
  },
  { name: 'double not over NULL comparison', kind: S, subject: 's', yaml: seg('{ not: { not: { attribute: country, ne: DE } } }') },
  // --- events
  { name: 'event alone means count >= 1', kind: S, subject: 's', yaml: seg('{ event: purchase }'), includes: [EDGE.noAmountOnly, EDGE.nullAmountOnly], excludes: [EDGE.noEvents, EDGE.createdLater] },
  { name: 'event count gte 3', kind: S, subject: 's', yaml: seg('{ event: purchase, gte: 3 }'), includes: [EDGE.purchaseAtT90] },
  { name: 'event count eq 0', kind: S, subject: 's', yaml: seg('{ event: purchase, eq: 0 }'), includes: [EDGE.noEvents, EDGE.createdAtT], excludes: [EDGE.createdAfterT, EDGE.createdLater] },
  { name: 'login within 30d eq 0', kind: S, subject: 's', yaml: seg('{ event: login, within: 30d, eq: 0 }'), includes: [EDGE.loginAtT30, EDGE.noEvents], excludes: [EDGE.loginAtT] },
  { name: 'sum amount within 30d gt 0', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 30d, sum: amount, gt: 0 }'), includes: [EDGE.negativeHint], excludes: [EDGE.noAmountOnly] },
  { name: 'min amount is_null false', kind: S, subject: 's', yaml: seg('{ event: purchase, min: amount, is_null: false }'), excludes: [EDGE.noAmountOnly, EDGE.nullAmountOnly, EDGE.noEvents] },
  { name: 'not max amount lt 100 includes no-purchase', kind: S, subject: 's', yaml: seg('{ not: { event: purchase, max: amount, lt: 100 } }'), includes: [EDGE.noEvents, EDGE.noAmountOnly] },
  { name: 'where amount in [50, 100, 150]', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: amount, in: [50, 100, 150] }] }'), includes: [EDGE.purchaseAtT90] },
  { name: 'where amount ne 40 (ties)', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 7d, where: [{ property: amount, ne: 40 }] }'), excludes: [EDGE.ties, EDGE.noAmountOnly] },
  { name: 'event count lt 2', kind: S, subject: 's', yaml: seg('{ event: purchase, lt: 2 }'), includes: [EDGE.noEvents, EDGE.noAmountOnly] },
  { name: 'login within 30d (boundary)', kind: S, subject: 's', yaml: seg('{ event: login, within: 30d }'), includes: [EDGE.loginAfterT30, EDGE.loginAtT], excludes: [EDGE.loginAtT30, EDGE.loginAfterT] },
  { name: 'not login within 30d', kind: S, subject: 's', yaml: seg('{ not: { event: login, within: 30d } }'), includes: [EDGE.loginAtT30, EDGE.loginAfterT, EDGE.noEvents], excludes: [EDGE.loginAtT, EDGE.createdAfterT] },
  { name: 'login within 30d at T3 (T + 1 ms visible)', kind: S, subject: 's', yaml: seg('{ event: login, within: 30d }'), asOf: T3, includes: [EDGE.loginAfterT, EDGE.loginAtT] },
  { name: 'login within 30d at T2 (boundary)', kind: S, subject: 's', yaml: seg('{ event: login, within: 30d }'), asOf: T2, includes: [EDGE.loginAtT2Edge] },
  { name: 'login within 30d at T2 - 1 ms (T2 - 30d now inside)', kind: S, subject: 's', yaml: seg('{ event: login, within: 30d }'), asOf: new Date(T2.getTime() - 1), includes: [EDGE.loginAtT2Edge] },
  { name: 'purchase within 1d: (T-1d, T]', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 1d }') },
  { name: 'purchase within 90d gte 2 (boundary)', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 90d, gte: 2 }'), includes: [EDGE.purchaseAtT90] },
  { name: 'purchase within 90d gte 3 (T-90d excluded)', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 90d, gte: 3 }'), excludes: [EDGE.purchaseAtT90] },
  { name: 'purchase within 60d at T2', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 60d, gte: 1 }'), asOf: T2 },
  { name: 'sum amount gte 200', kind: S, subject: 's', yaml: seg('{ event: purchase, sum: amount, gte: 200 }'), includes: [EDGE.purchaseAtT90] },
  { name: 'sum amount eq 0 (no purchases, or none with an amount)', kind: S, subject: 's', yaml: seg('{ event: purchase, sum: amount, eq: 0 }'), includes: [EDGE.noEvents, EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'sum amount lt 50', kind: S, subject: 's', yaml: seg('{ event: purchase, sum: amount, lt: 50 }'), includes: [EDGE.noEvents, EDGE.negativeHint] },
  { name: 'sum amount within 90d between [100, 300]', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 90d, sum: amount, between: [100, 300] }'), includes: [EDGE.purchaseAtT90] },
  { name: 'sum over purchases without amount eq 0', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: amount, is_null: true }], sum: amount, eq: 0 }'), includes: [EDGE.noAmountOnly, EDGE.noEvents], trivial: true },
  { name: 'avg amount gte 100', kind: S, subject: 's', yaml: seg('{ event: purchase, avg: amount, gte: 100 }'), excludes: [EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'not avg amount gte 100 includes no-purchase', kind: S, subject: 's', yaml: seg('{ not: { event: purchase, avg: amount, gte: 100 } }'), includes: [EDGE.noEvents, EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'min amount lt 10', kind: S, subject: 's', yaml: seg('{ event: purchase, min: amount, lt: 10 }'), includes: [EDGE.negativeHint] },
  { name: 'max amount gte 400 within 60d', kind: S, subject: 's', yaml: seg('{ event: purchase, within: 60d, max: amount, gte: 400 }') },
  { name: 'avg amount is_null true (no amounts)', kind: S, subject: 's', yaml: seg('{ event: purchase, avg: amount, is_null: true }'), includes: [EDGE.noEvents, EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'max survey score lte 6', kind: S, subject: 's', yaml: seg('{ event: survey, max: score, lte: 6 }') },
  { name: 'where amount gte 100, count gte 2', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: amount, gte: 100 }], gte: 2 }') },
  { name: 'where channel ne email excludes missing channel', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: channel, ne: email }] }'), excludes: [EDGE.noAmountOnly] },
  { name: 'where channel is_null true', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: channel, is_null: true }] }') },
  { name: 'where amount is_null true (missing key or JSON null)', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: amount, is_null: true }] }'), includes: [EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'login where channel in [web, app] within 14d', kind: S, subject: 's', yaml: seg('{ event: login, within: 14d, where: [{ property: channel, in: [web, app] }] }'), includes: [EDGE.ties] },
  { name: 'where channel starts_with paid_', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: channel, starts_with: paid_ }] }') },
  { name: 'where channel contains aid', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: channel, contains: aid }] }') },
  { name: 'where channel not_in [email, web]', kind: S, subject: 's', yaml: seg('{ event: login, where: [{ property: channel, not_in: [email, web] }] }') },
  { name: 'where amount between [50, 100] and channel eq email', kind: S, subject: 's', yaml: seg('{ event: purchase, where: [{ property: amount, between: [50, 100] }, { property: channel, eq: email }] }') },
  { name: 'sum with where amount lt 100, gte 150', kind: S, subject: 's', yaml: seg('{ event: purchase, sum: amount, where: [{ property: amount, lt: 100 }], gte: 150 }') },
  { name: 'survey where score gte 9 within 90d', kind: S, subject: 's', yaml: seg('{ event: survey, within: 90d, where: [{ property: score, gte: 9 }] }') },
  // --- stream-only
  { name: 'stream within 30d (any activity)', kind: S, subject: 's', yaml: seg('{ stream: events, within: 30d }'), includes: [EDGE.createdAtT, EDGE.loginAtT], excludes: [EDGE.loginAtT30] },
  { name: 'not stream (never any event)', kind: S, subject: 's', yaml: seg('{ not: { stream: events } }'), includes: [EDGE.noEvents, EDGE.createdAtT7, EDGE.emptyCountry], excludes: [EDGE.createdAfterT] },
  { name: 'stream gte 20', kind: S, subject: 's', yaml: seg('{ stream: events, gte: 20 }') },
  { name: 'stream within 7d where channel eq web', kind: S, subject: 's', yaml: seg('{ stream: events, within: 7d, where: [{ property: channel, eq: web }] }'), includes: [EDGE.ties] },
  { name: 'stream + event together', kind: S, subject: 's', yaml: seg('{ stream: events, event: login, within: 14d, gte: 2 }'), includes: [EDGE.ties] },
  // --- segment references (2 levels)
  {
    name: 'segment refs, 2 levels',
    kind: S,
    subject: 's',
    yaml: docs(
      seg('{ attribute: country, in: [DE, AT] }', 'dach'),
      seg('{ all: [ { segment: dach }, { event: purchase, within: 90d } ] }', 'dach_buyers'),
      seg('{ any: [ { segment: dach_buyers }, { all: [ { not: { segment: dach } }, { attribute: vip, eq: true } ] } ] }'),
    ),
  },
  {
    name: 'segment refs at T2',
    kind: S,
    subject: 's',
    asOf: T2,
    yaml: docs(
      seg('{ event: login, within: 30d }', 'recent'),
      seg('{ all: [ { segment: recent }, { event: purchase, sum: amount, gte: 100 } ] }', 'recent_buyers'),
      seg('{ not: { segment: recent_buyers } }'),
    ),
  },
  // --- stages, traits, scores
  { name: 'stage lc.dormant', kind: S, subject: 's', yaml: docs(LIFECYCLE, seg('{ stage: lc.dormant }')), includes: [EDGE.loginAtT30], excludes: [EDGE.loginAtT] },
  { name: 'stage lc.churned', kind: S, subject: 's', yaml: docs(LIFECYCLE, seg('{ stage: lc.churned }')), includes: [EDGE.noEvents], excludes: [EDGE.createdAtT, EDGE.createdAfterT] },
  { name: 'stage lc.new', kind: S, subject: 's', yaml: docs(LIFECYCLE, seg('{ stage: lc.new }')), includes: [EDGE.createdAtT, EDGE.createdAfterT7], excludes: [EDGE.createdAtT7] },
  { name: 'not stage lc.active at T2', kind: S, subject: 's', asOf: T2, yaml: docs(LIFECYCLE, seg('{ not: { stage: lc.active } }')) },
  { name: 'stage over a lifecycle that uses score and stage', kind: S, subject: 's', yaml: docs(PROFILE, LIFECYCLE2, seg('{ stage: value_lc.slipping }')) },
  { name: 'trait ltv gte 200', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: ltv, gte: 200 }')) },
  { name: 'not trait ltv gte 100 (NULL ltv included)', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ not: { trait: ltv, gte: 100 } }')), includes: [EDGE.noEvents] },
  { name: 'trait orders eq 0 (count trait is 0)', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: orders, eq: 0 }')), includes: [EDGE.noEvents, EDGE.createdAtT] },
  { name: 'trait ltv is_null true (no purchases)', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: ltv, is_null: true }')), includes: [EDGE.noEvents] },
  { name: 'trait last_purchase_at after 30d', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: last_purchase_at, after: 30d }')), includes: [EDGE.noAmountOnly, EDGE.nullAmountOnly] },
  { name: 'trait last_purchase_at within 7d', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: last_purchase_at, within: 7d }')), includes: [EDGE.ties, EDGE.negativeHint] },
  { name: 'trait first_purchase_at before 2026-01-01', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: first_purchase_at, before: 2026-01-01 }')) },
  { name: 'trait days_since_purchase lt 10', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: days_since_purchase, lt: 10 }')), excludes: [EDGE.noAmountOnly] },
  { name: 'trait sessions_30d between [1, 3]', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ trait: sessions_30d, between: [1, 3] }')), includes: [EDGE.loginAtT, EDGE.ties] },
  { name: 'score health gte 50', kind: S, subject: 's', yaml: docs(TRAITS, SCORE, seg('{ score: health, gte: 50 }')) },
  { name: 'score band at_risk', kind: S, subject: 's', yaml: docs(TRAITS, SCORE, seg('{ score: health, band: at_risk }')), includes: [EDGE.noEvents] },
  { name: 'score band neutral at T2', kind: S, subject: 's', asOf: T2, yaml: docs(TRAITS, SCORE, seg('{ score: health, band: neutral }')) },
  { name: 'score recency band warm', kind: S, subject: 's', yaml: docs(TRAITS, RECENCY, seg('{ score: recency, band: warm }')) },
  { name: 'score recency lt 20', kind: S, subject: 's', yaml: docs(TRAITS, RECENCY, seg('{ score: recency, lt: 20 }')), includes: [EDGE.noEvents] },
  { name: 'not score band healthy', kind: S, subject: 's', yaml: docs(TRAITS, SCORE, seg('{ not: { score: health, band: healthy } }')) },
  // --- a high_value_dormant-like mix
  {
    name: 'LANGUAGE.md example segment',
    kind: S,
    subject: 's',
    yaml: docs(
      LIFECYCLE,
      seg(
        '{ all: [ { attribute: country, in: [DE, AT, CH, US] }, { event: purchase, gte: 2 }, { event: purchase, sum: amount, gte: 200 }, { not: { event: login, within: 14d } }, { any: [ { stage: lc.dormant }, { stage: lc.churned } ] } ] }',
      ),
    ),
  },
  // --- nobody exists yet
  { name: 'no entity exists before the data (T0)', kind: S, subject: 's', asOf: T0, yaml: seg('{ not: { event: purchase } }'), trivial: true },
  // --- shapes of issue 11: pass with candidate keys, two EXISTS as one pass, shared max/min slots, empty
  { name: 'attribute filter + aggregates: the grouped scan reads only the candidates (NULL country, window edges)', kind: S, subject: 's', yaml: seg('{ all: [ { attribute: country, in: [DE, AT, ""] }, { event: purchase, within: 90d, gte: 2 }, { not: { event: login, within: 30d } } ] }'), includes: [EDGE.purchaseAtT90] },
  { name: 'not attribute + aggregate: candidates include NULL attributes', kind: S, subject: 's', yaml: seg('{ all: [ { not: { attribute: country, eq: DE } }, { event: purchase, sum: amount, lt: 50 } ] }'), includes: [EDGE.emptyCountry] },
  { name: 'two EXISTS conjuncts become one pass', kind: S, subject: 's', yaml: seg('{ all: [ { event: purchase }, { not: { event: login, within: 30d } } ] }'), includes: [EDGE.noAmountOnly, EDGE.nullAmountOnly, EDGE.purchaseAtT90], excludes: [EDGE.noEvents] },
  { name: 'one EXISTS and an attribute: a semi-join', kind: S, subject: 's', yaml: seg('{ all: [ { attribute: vip, eq: true }, { event: login, within: 30d } ] }') },
  { name: 'last time, days since last and a max of the time share one slot', kind: S, subject: 's', yaml: docs(TRAITS, seg('{ any: [ { all: [ { trait: days_since_purchase, gte: 5 }, { trait: days_since_purchase, lte: 60 } ] }, { trait: last_purchase_at, before: 120d }, { trait: first_purchase_at, within: 30d }, { trait: last_purchase_at, within: 10d } ] }')), includes: [EDGE.ties] },
  { name: 'score band tested twice (its expression once per entity)', kind: S, subject: 's', yaml: docs(TRAITS, SCORE, seg('{ any: [ { score: health, band: at_risk }, { all: [ { score: health, band: neutral }, { score: health, lt: 45 } ] } ] }')), includes: [EDGE.noEvents] },
  { name: 'empty segment: count 0, no sample', kind: S, subject: 's', yaml: seg('{ all: [ { attribute: country, eq: DE }, { event: purchase, gte: 100000 } ] }'), trivial: true },
  { name: 'empty segment in the pass shape with a score', kind: S, subject: 's', yaml: docs(TRAITS, SCORE, seg('{ all: [ { score: health, gt: 100 }, { trait: orders, gte: 1 } ] }')), trivial: true },
];

const valueCases: Case[] = [
  ...[
    'ltv', 'orders', 'purchases_90d', 'big_orders', 'avg_order', 'min_order', 'max_order', 'first_purchase_at', 'last_purchase_at',
    'last_amount', 'days_since_purchase', 'days_since_first_seen', 'sessions_30d', 'days_since_login', 'web_logins_14d', 'best_score',
  ].flatMap((n): Case[] => [
    { name: `trait ${n}`, kind: 'Trait', subject: n, yaml: TRAITS },
    { name: `trait ${n} at T2`, kind: 'Trait', subject: n, yaml: TRAITS, asOf: T2 },
  ]),
  { name: 'trait sessions_30d at T3', kind: 'Trait', subject: 'sessions_30d', yaml: TRAITS, asOf: T3 },
  { name: 'score health', kind: 'Score', subject: 'health', yaml: docs(TRAITS, SCORE) },
  { name: 'score health at T2', kind: 'Score', subject: 'health', yaml: docs(TRAITS, SCORE), asOf: T2 },
  { name: 'score health at T3', kind: 'Score', subject: 'health', yaml: docs(TRAITS, SCORE), asOf: T3 },
  { name: 'score recency (no count components)', kind: 'Score', subject: 'recency', yaml: docs(TRAITS, RECENCY) },
  { name: 'score recency at T2', kind: 'Score', subject: 'recency', yaml: docs(TRAITS, RECENCY), asOf: T2 },
  { name: 'lifecycle lc', kind: 'Lifecycle', subject: 'lc', yaml: LIFECYCLE },
  { name: 'lifecycle lc at T2', kind: 'Lifecycle', subject: 'lc', yaml: LIFECYCLE, asOf: T2 },
  { name: 'lifecycle lc at T3', kind: 'Lifecycle', subject: 'lc', yaml: LIFECYCLE, asOf: T3 },
  { name: 'lifecycle value_lc (trait, score band, stage)', kind: 'Lifecycle', subject: 'value_lc', yaml: docs(PROFILE, LIFECYCLE2) },
];

const kpiCases: Case[] = [
  // --- every metric form
  { name: 'kpi count segment', kind: K, subject: 'k', yaml: docs(seg('{ event: purchase, within: 90d }', 'buyers'), kpi('{ count: { segment: buyers } }')) },
  { name: 'kpi count condition', kind: K, subject: 'k', yaml: kpi('{ count: { attribute: country, eq: DE } }') },
  { name: 'kpi count at T0 is 0', kind: K, subject: 'k', asOf: T0, yaml: kpi('{ count: { not: { attribute: country, eq: DE } } }'), value: 0 },
  { name: 'kpi count segment with stage at T2', kind: K, subject: 'k', asOf: T2, yaml: docs(LIFECYCLE, seg('{ any: [{ stage: lc.dormant }, { stage: lc.new }] }', 'quiet'), kpi('{ count: { segment: quiet } }')) },
  { name: 'kpi events purchase 30d', kind: K, subject: 'k', yaml: kpi('{ events: { event: purchase, within: 30d } }') },
  { name: 'kpi events whole stream', kind: K, subject: 'k', yaml: kpi('{ events: { stream: events } }') },
  { name: 'kpi events where', kind: K, subject: 'k', yaml: kpi('{ events: { event: login, where: [{ property: channel, in: [web, app] }], within: 60d } }') },
  { name: 'kpi events at T3', kind: K, subject: 'k', asOf: T3, yaml: kpi('{ events: { event: purchase, within: 1d } }') },
  { name: 'kpi sum amount 30d', kind: K, subject: 'k', yaml: kpi('{ sum: { property: amount, event: purchase, within: 30d } }') },
  { name: 'kpi sum over no events is 0', kind: K, subject: 'k', yaml: kpi('{ sum: { property: amount, event: purchase, where: [{ property: channel, eq: nowhere }] } }'), value: 0 },
  { name: 'kpi sum over events without the property is 0', kind: K, subject: 'k', yaml: kpi('{ sum: { property: amount, event: purchase, where: [{ property: amount, is_null: true }] } }'), value: 0 },
  { name: 'kpi avg amount 30d', kind: K, subject: 'k', yaml: kpi('{ avg: { property: amount, event: purchase, within: 30d } }') },
  { name: 'kpi avg over no events is NULL', kind: K, subject: 'k', yaml: kpi('{ avg: { property: amount, event: purchase, where: [{ property: channel, eq: nowhere }] } }'), value: null },
  { name: 'kpi active 30d', kind: K, subject: 'k', yaml: kpi('{ active: { stream: events, within: 30d } }') },
  { name: 'kpi active login 1d (DAU)', kind: K, subject: 'k', yaml: kpi('{ active: { event: login, within: 1d } }') },
  { name: 'kpi active at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ active: { stream: events, within: 30d } }') },
  {
    name: 'kpi ratio',
    kind: K,
    subject: 'k',
    yaml: docs(seg('{ event: purchase, within: 30d }', 'buyers'), kpi('{ ratio: { numerator: { count: { segment: buyers } }, denominator: { active: { stream: events, within: 30d } } } }')),
  },
  { name: 'kpi ratio with zero denominator is NULL', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { events: { event: purchase } }, denominator: { events: { event: purchase, where: [{ property: channel, eq: nowhere }] } } } }'), value: null },
  { name: 'kpi ratio of sums', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { sum: { property: amount, event: purchase, within: 30d } }, denominator: { sum: { property: amount, event: purchase, within: 90d } } } }') },
  { name: 'kpi retention login 30d', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 90d }, return: { event: login }, days: 30 } }') },
  { name: 'kpi retention stream 30d', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 } }') },
  { name: 'kpi retention 7d at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ retention: { cohort: { event: signup, within: 60d }, return: { event: purchase }, days: 7 } }') },
  { name: 'kpi retention with cohort where', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 180d, where: [{ property: channel, in: [web, app] }] }, return: { event: login, where: [{ property: channel, eq: web }] }, days: 14 } }') },
  { name: 'kpi retention empty cohort is NULL', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 90d, where: [{ property: channel, eq: nowhere }] }, return: { stream: events }, days: 30 } }'), value: null },
  { name: 'kpi retention at T0 is NULL', kind: K, subject: 'k', asOf: T0, yaml: kpi('{ retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 } }'), value: null },
  { name: 'kpi churn stream 30d', kind: K, subject: 'k', yaml: kpi('{ churn: { stream: events, within: 30d } }') },
  { name: 'kpi churn login 14d at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ churn: { event: login, within: 14d } }') },
  { name: 'kpi churn purchase 60d', kind: K, subject: 'k', yaml: kpi('{ churn: { event: purchase, within: 60d } }') },
  { name: 'kpi churn with nobody active before is NULL', kind: K, subject: 'k', yaml: kpi('{ churn: { event: purchase, where: [{ property: channel, eq: nowhere }], within: 30d } }'), value: null },
  { name: 'kpi nps 90d', kind: K, subject: 'k', yaml: kpi('{ nps: { event: survey, property: score, within: 90d } }') },
  { name: 'kpi nps 180d at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ nps: { event: survey, property: score, within: 180d } }') },
  // One scan per stream for several leaves (flat FILTERs, or grouped per key when `active` is one).
  { name: 'kpi ratio active/active same stream (dau/mau)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { active: { event: login, within: 1d } }, denominator: { active: { event: login, within: 30d } } } }') },
  { name: 'kpi ratio active/active at T3 (edges after T visible)', kind: K, subject: 'k', asOf: T3, yaml: kpi('{ ratio: { numerator: { active: { event: login, within: 1d } }, denominator: { active: { stream: events, within: 7d } } } }') },
  { name: 'kpi ratio events/active same stream', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { events: { event: support_ticket, within: 30d, where: [{ property: channel, eq: web }] } }, denominator: { active: { stream: events, within: 30d } } } }') },
  { name: 'kpi ratio sum/active same stream (arpu)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { sum: { property: amount, event: purchase, within: 30d } }, denominator: { active: { stream: events, within: 30d } } } }') },
  { name: 'kpi ratio avg/active same stream (avg per key, NULL amounts)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { avg: { property: amount, event: purchase, within: 60d } }, denominator: { active: { event: login, within: 14d } } } }') },
  { name: 'kpi ratio sum/active at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ ratio: { numerator: { sum: { property: amount, event: purchase, within: 30d } }, denominator: { active: { stream: events, within: 30d } } } }') },
  { name: 'kpi ratio events/events one scan with FILTERs', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { events: { event: signup, within: 90d, where: [{ property: channel, eq: web }] } }, denominator: { events: { event: signup, within: 90d } } } }') },
  { name: 'kpi ratio events of two types and windows', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { events: { event: purchase, within: 7d } }, denominator: { events: { event: login, within: 30d } } } }') },
  { name: 'kpi ratio avg/sum flat', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { avg: { property: amount, event: purchase } }, denominator: { sum: { property: amount, event: purchase, within: 14d } } } }') },
  { name: 'kpi ratio active over an empty set is NULL', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { active: { event: login, within: 1d } }, denominator: { active: { event: login, within: 30d, where: [{ property: channel, eq: nowhere }] } } } }'), value: null },
  { name: 'kpi active over nobody is 0', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { active: { event: login, within: 30d, where: [{ property: channel, eq: nowhere }] } }, denominator: { active: { event: login, within: 30d } } } }'), value: 0 },
  { name: 'kpi avg per key over no events is NULL', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { avg: { property: amount, event: purchase, where: [{ property: channel, eq: nowhere }] } }, denominator: { active: { stream: events, within: 400d } } } }'), value: null },
  // Counts over one entity in one scan (shared conjuncts in WHERE, the rest as FILTERs).
  { name: 'kpi ratio count/count (repurchase)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { count: { event: purchase, gte: 2 } }, denominator: { count: { event: purchase } } } }') },
  { name: 'kpi ratio count/count with a shared cohort (activation)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { count: { all: [{ attribute: signed_up_at, after: 120d }, { attribute: signed_up_at, before: 7d }, { event: purchase }] } }, denominator: { count: { all: [{ attribute: signed_up_at, after: 120d }, { attribute: signed_up_at, before: 7d }] } } } }') },
  { name: 'kpi ratio count/count with an empty cohort is NULL', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { count: { all: [{ attribute: signed_up_at, after: 1d }, { attribute: signed_up_at, before: 2d }, { event: purchase }] } }, denominator: { count: { all: [{ attribute: signed_up_at, after: 1d }, { attribute: signed_up_at, before: 2d }] } } } }'), value: null },
  { name: 'kpi ratio count/count at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ ratio: { numerator: { count: { event: login, within: 30d, gte: 2 } }, denominator: { count: { any: [{ event: login, within: 30d }, { attribute: country, eq: DE }] } } } }') },
  { name: 'kpi ratio count/events (two sources)', kind: K, subject: 'k', yaml: kpi('{ ratio: { numerator: { count: { event: purchase, within: 30d } }, denominator: { events: { event: purchase, within: 30d } } } }') },
  // Existence at T2 and T3 for the other forms.
  { name: 'kpi retention at T3', kind: K, subject: 'k', asOf: T3, yaml: kpi('{ retention: { cohort: { event: signup, within: 90d }, return: { event: login }, days: 30 } }') },
  { name: 'kpi retention return on any event (ties at c)', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 120d }, return: { stream: events }, days: 7 } }') },
  { name: 'kpi churn login 30d at T3', kind: K, subject: 'k', asOf: T3, yaml: kpi('{ churn: { event: login, within: 30d } }') },
  { name: 'kpi churn stream 30d at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ churn: { stream: events, within: 30d } }') },
  { name: 'kpi nps 90d at T3', kind: K, subject: 'k', asOf: T3, yaml: kpi('{ nps: { event: survey, property: score, within: 90d } }') },
  { name: 'kpi events whole stream at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ events: { stream: events } }') },
  { name: 'kpi avg amount at T2', kind: K, subject: 'k', asOf: T2, yaml: kpi('{ avg: { property: amount, event: purchase, within: 30d } }') },
  { name: 'kpi nps with no responses is NULL', kind: K, subject: 'k', yaml: kpi('{ nps: { event: survey, property: score, within: 90d, where: [{ property: channel, eq: nowhere }] } }'), value: null },
  // --- statuses (value 4 at T)
  { name: 'status met', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 4, by: 2027-03-31 }\nguardrail: { gte: 1 }\n'), value: 4, status: 'met' },
  { name: 'status met (lte)', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { lte: 4, by: 2027-03-31 }\n'), value: 4, status: 'met' },
  { name: 'status met (between)', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { between: [3, 4], by: 2027-03-31 }\n'), value: 4, status: 'met' },
  { name: 'status missed: by 2026-05-31 is due at T', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-05-31, baseline: { value: 0, on: 2026-01-01 } }\n'), value: 4, status: 'missed' },
  { name: 'status not missed on the deadline day (by 2026-06-01)', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-06-01 }\n'), value: 4, status: 'at_risk' },
  { name: 'status missed with a date-time by', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gt: 4, by: "2026-05-31T23:59:59Z" }\n'), value: 4, status: 'missed' },
  { name: 'status at_risk below the pace line', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-12-31, baseline: { value: 0, on: 2026-01-01 } }\n'), value: 4, status: 'at_risk' },
  { name: 'status on_track above the pace line', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-12-31, baseline: { value: 0, on: 2026-05-01 } }\n'), value: 4, status: 'on_track' },
  { name: 'status on_track (lte, falling line)', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { lte: 2, by: 2026-12-31, baseline: { value: 10, on: 2026-01-01 } }\n'), value: 4, status: 'on_track' },
  { name: 'status at_risk (lte, falling line)', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { lte: 2, by: 2026-07-01, baseline: { value: 5, on: 2026-01-01 } }\n'), value: 4, status: 'at_risk' },
  { name: 'status at_risk without baseline', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2027-03-31 }\n'), value: 4, status: 'at_risk' },
  { name: 'status failed: guardrail beats a met target', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 4, by: 2027-03-31 }\nguardrail: { gte: 5 }\n'), value: 4, status: 'failed' },
  { name: 'status failed: guardrail beats missed', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-01-31 }\nguardrail: { lt: 4 }\n'), value: 4, status: 'failed' },
  { name: 'status guardrail at its bound is not violated', kind: K, subject: 'k', yaml: kpi(FOUR, 'target: { gte: 4, by: 2027-03-31 }\nguardrail: { lte: 4 }\n'), value: 4, status: 'met' },
  { name: 'status NULL value: at_risk, guardrail not violated', kind: K, subject: 'k', yaml: kpi('{ avg: { property: amount, event: purchase, where: [{ property: channel, eq: nowhere }] } }', 'target: { gte: 1, by: 2027-03-31 }\nguardrail: { gte: 0 }\n'), value: null, status: 'at_risk' },
  { name: 'status at_risk at T3 (on the day of a date-only by)', kind: K, subject: 'k', asOf: T3, yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-06-01 }\n'), status: 'at_risk' },
  { name: 'status at_risk at T4 on the by day in UTC', kind: K, subject: 'k', asOf: T4, yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-06-01 }\n'), status: 'at_risk' },
  { name: 'status missed at T4 past the by day in Europe/Berlin', kind: K, subject: 'k', asOf: T4, timezone: 'Europe/Berlin', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-06-01 }\n'), status: 'missed' },
  { name: 'status pace line from a Berlin baseline date', kind: K, subject: 'k', timezone: 'Europe/Berlin', yaml: kpi(FOUR, 'target: { gte: 10, by: 2026-12-31, baseline: { value: 0, on: 2026-05-01 } }\n'), status: 'on_track' },
  { name: 'status missed at T3 (past a date-time by)', kind: K, subject: 'k', asOf: T3, yaml: kpi(FOUR, 'target: { gte: 10, by: "2026-06-01T12:00:00Z" }\n'), status: 'missed' },
  // --- statuses on real metrics (the oracle computes the expected status)
  { name: 'status on retention', kind: K, subject: 'k', yaml: kpi('{ retention: { cohort: { event: signup, within: 90d }, return: { stream: events }, days: 30 } }', 'target: { gte: 0.9, by: 2027-03-31, baseline: { value: 0.1, on: 2026-01-01 } }\nguardrail: { gte: 0.05 }\n') },
  { name: 'status on churn (lower is better)', kind: K, subject: 'k', yaml: kpi('{ churn: { stream: events, within: 30d } }', 'target: { lte: 0.05, by: 2027-03-31, baseline: { value: 0.9, on: 2026-01-01 } }\n') },
  { name: 'status on nps', kind: K, subject: 'k', yaml: kpi('{ nps: { event: survey, property: score, within: 90d } }', 'target: { gte: 90, by: 2027-03-31 }\nguardrail: { gte: -100 }\n') },
];

const CASES: Case[] = [...segmentCases, ...valueCases, ...kpiCases];

// ------------------------------------------------------------------------------- comparison helpers

function close(a: number, b: number): boolean {
  if (a === b) return true;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b), 1e-300);
}

function sameValue(engine: unknown, oracle: Value): boolean {
  if (oracle === null) return engine === null || engine === undefined;
  if (engine === null || engine === undefined) return false;
  if (oracle instanceof Date) return new Date(engine as string | Date).getTime() === oracle.getTime();
  if (typeof oracle === 'number') return close(Number(engine), oracle);
  return engine === oracle;
}

function setDiff(engine: number[], oracle: number[]): string {
  const e = new Set(engine);
  const o = new Set(oracle);
  const extra = engine.filter((x) => !o.has(x));
  const missing = oracle.filter((x) => !e.has(x));
  return `engine ${engine.length} vs oracle ${oracle.length}; engine-only: [${extra.slice(0, 20).join(', ')}]; oracle-only: [${missing.slice(0, 20).join(', ')}]`;
}

const asNumber = (x: unknown) => (x === null || x === undefined ? null : Number(x));

// ------------------------------------------------------------------------------- the oracle itself

describe('correctness oracle (self-checks on the planted edge rows)', () => {
  const model = parseDefinitions(MODEL);
  const o = new Oracle(DATA, model);
  const at = T.getTime();

  it('the data set is deterministic and holds the boundary rows', () => {
    assert.deepEqual(JSON.stringify(generateData()), JSON.stringify(DATA));
    const times = new Set(DATA.events.map((e) => e.occurred_at.getTime()));
    for (const d of [1, 7, 14, 30, 60, 90]) assert.ok(times.has(at - d * DAY), `an event exactly at T - ${d}d`);
    assert.ok(times.has(at) && times.has(at + 1), 'events at T and T + 1 ms');
    assert.ok(DATA.customers.some((c) => c.created_at.getTime() > at), 'customers created after T');
    assert.ok(!o.existing(at).some((c) => c.id === EDGE.createdAfterT) && o.existing(at).some((c) => c.id === EDGE.createdAtT), 'existence at T');
  });

  it('two-valued logic and windows', () => {
    const seg1 = new Oracle(DATA, [...model, ...parseDefinitions(seg('{ attribute: country, ne: DE }', 'a'), seg('{ not: { attribute: country, eq: DE } }', 'b'))]);
    const a = seg1.members('a', at);
    const b = seg1.members('b', at);
    const nullCountry = DATA.customers.filter((c) => c.country === null && c.created_at.getTime() <= at).map((c) => c.id);
    assert.ok(nullCountry.length > 0, 'some NULL countries');
    for (const id of nullCountry) assert.ok(!a.has(id) && b.has(id), `NULL country ${id}`);
    const w = o.satisfying({ event: 'login', within: '30d' }, at);
    assert.ok(!w.has(EDGE.loginAtT30) && w.has(EDGE.loginAfterT30) && w.has(EDGE.loginAtT) && !w.has(EDGE.loginAfterT), 'login within 30d boundaries');
  });

  it('retention: first cohort event, (T-W, T-N] cohort window, (c, c+N] return window', () => {
    const { cohort, returned } = o.retention({ cohort: { event: 'signup', within: '90d' }, return: { event: 'login' }, days: 30 }, at);
    assert.ok(!cohort.has(EDGE.doubleSignup), 'first signup is before the window');
    assert.ok(cohort.has(EDGE.retentionReturnAtC) && !returned.has(EDGE.retentionReturnAtC), 'return at exactly c does not count');
    assert.ok(cohort.has(EDGE.retentionReturnAtCN) && returned.has(EDGE.retentionReturnAtCN), 'return at exactly c + N counts');
    assert.ok(cohort.has(EDGE.retentionReturnAfterCN) && !returned.has(EDGE.retentionReturnAfterCN), 'return at c + N + 1 ms does not');
    assert.ok(!cohort.has(EDGE.cohortAtLowerEdge), 'first event exactly at T - W is outside');
    assert.ok(cohort.has(EDGE.cohortAtUpperEdge) && returned.has(EDGE.cohortAtUpperEdge), 'first event exactly at T - N is inside');
    assert.ok(!cohort.has(EDGE.cohortAfterUpperEdge), 'first event after T - N is outside');
    assert.ok(cohort.size > 10 && returned.size > 0 && returned.size < cohort.size, `cohort ${cohort.size}, returned ${returned.size}`);
  });

  it('existence: orphan keys and entities created after A count for nothing in every event-based KPI form', () => {
    // Each form's value differs once the rule is off, so the planted rows make every case below meaningful.
    const forms: [string, Date][] = [
      ['{ events: { stream: events } }', T],
      ['{ events: { event: purchase, within: 30d } }', T3],
      ['{ sum: { property: amount, event: purchase, within: 30d } }', T],
      ['{ sum: { property: amount, event: purchase, within: 30d } }', T2],
      ['{ avg: { property: amount, event: purchase, within: 30d } }', T],
      ['{ active: { event: login, within: 7d } }', T],
      ['{ retention: { cohort: { event: signup, within: 90d }, return: { event: login }, days: 30 } }', T],
      ['{ churn: { event: login, within: 30d } }', T],
      ['{ nps: { event: survey, property: score, within: 90d } }', T],
      ['{ ratio: { numerator: { active: { event: login, within: 1d } }, denominator: { active: { event: login, within: 30d } } } }', T],
    ];
    for (const [metric, asOf] of forms) {
      const defs = parseDefinitions(MODEL, kpi(metric));
      const withRule = new Oracle(DATA, defs).kpi('k', asOf.getTime()).value;
      const without = new Oracle(DATA, defs, 'UTC', false).kpi('k', asOf.getTime()).value;
      assert.ok(withRule !== null && without !== null && !close(withRule, without), `${metric} @ ${asOf.toISOString()}: ${withRule} vs ${without} without the rule`);
    }
    assert.ok(!DATA.customers.some((c) => c.id === EDGE.orphan || c.id === EDGE.orphanTwin), 'orphan keys have no customer row');
    assert.ok(o.existsAt(EDGE.createdAfterT2, T.getTime()) && !o.existsAt(EDGE.createdAfterT2, T2.getTime()) && !o.existsAt(EDGE.importedAfterT, T3.getTime()));
  });

  it('NPS takes the latest response in the window; churn uses (T-2P, T-P] then (T-P, T]', () => {
    const r = o.npsResponses({ event: 'survey', property: 'score', within: '90d' }, at);
    assert.equal(r.get(EDGE.npsChanged), 2);
    assert.equal(r.get(EDGE.npsOutside), 8);
    const c = o.churn({ event: 'login', within: '30d' }, at);
    assert.ok(c.active.has(EDGE.loginAtT30) && c.churned.has(EDGE.loginAtT30), 'login at T - 30d: active before, churned');
    assert.ok(!c.active.has(EDGE.loginAfterT30), 'login after T - 30d: not active before');
  });
});

// ------------------------------------------------------------------------------- the suite

forEachBackend('correctness', (backend) => {
  let tdb: TestDb | undefined;
  let catalog: Catalog;

  before(async function () {
    this.timeout(120_000);
    tdb = await createTestDb(backend);
    await loadData(tdb.db, DATA);
    const model = new Project('/virtual/proj', TALLY);
    model.setFile('definitions/model.yaml', MODEL);
    catalog = await loadCatalog(tdb.db, model.analyze({ now: T }).definitions);
  });

  after(async () => {
    await tdb?.drop();
  });

  it('loads exactly the generated rows', async () => {
    const db = tdb!.db;
    const c = await db.query<{ n: number }>('select count(*)::int as n from customers');
    const e = await db.query<{ n: number; s: number }>(`select count(*)::int as n, coalesce(sum((properties->>'amount')::numeric), 0) as s from events`);
    assert.equal(c.rows[0]!.n, DATA.customers.length);
    assert.equal(e.rows[0]!.n, DATA.events.length);
    const sum = DATA.events.reduce((s, x) => s + (typeof x.properties?.amount === 'number' ? (x.properties.amount as number) : 0), 0);
    assert.ok(close(Number(e.rows[0]!.s), sum), 'sum of amounts');
    assert.ok(DATA.customers.length >= 300 && DATA.events.length >= 5000, `data set size ${DATA.customers.length}/${DATA.events.length}`);
  });

  for (const c of CASES) {
    const asOf = c.asOf ?? T;
    it(`${c.name}${c.asOf ? ` @ ${asOf.toISOString()}` : ''}`, async () => {
      const db = tdb!.db;
      const project = new Project('/virtual/proj', tally(c.timezone));
      project.setFile('definitions/model.yaml', MODEL);
      project.setFile('definitions/case.yaml', c.yaml);
      const analysis = project.analyze({ now: asOf, catalog });
      const errors = analysis.diagnostics.filter((d) => d.severity === 'error');
      assert.deepEqual(errors.map((d) => `${d.file}:${d.range.start.line + 1} ${d.code} ${d.message}`), [], 'definitions have errors');
      const info = analysis.get(c.kind, c.subject);
      assert.ok(info?.resolved.query, `no query for ${c.kind} ${c.subject}`);
      const query = info.resolved.query;
      const oracle = new Oracle(DATA, parseDefinitions(MODEL, c.yaml), c.timezone);
      const at = asOf.getTime();
      const param: SqlOptions = { asOf: { kind: 'instant', at: asOf }, literals: 'param' };

      if (c.kind === 'Segment') {
        if (query.k !== 'members') assert.fail(`query kind ${query.k}`);
        const expected = [...oracle.members(c.subject, at)].sort((a, b) => a - b);
        // The case itself must be meaningful: a proper subset, and the planted rows where it says.
        const existing = oracle.existing(at).length;
        if (!c.trivial) assert.ok(expected.length > 0 && expected.length < existing, `oracle: trivial segment (${expected.length} of ${existing})`);
        for (const id of c.includes ?? []) assert.ok(expected.includes(id), `oracle: ${id} should be a member`);
        for (const id of c.excludes ?? []) assert.ok(!expected.includes(id), `oracle: ${id} should not be a member`);
        const runs: [string, SqlOptions][] = (['param', 'inline'] as const).flatMap((literals) =>
          (['probe', 'pass', 'auto'] as Strategy[]).map((strategy): [string, SqlOptions] => [`${literals}/${strategy}`, { ...param, literals, strategy }]),
        );
        for (const [label, opts] of runs) {
          const q = compileMembers(query, opts);
          const r = await db.query<{ key: unknown }>(q.sql, q.parameters);
          const got = r.rows.map((x) => Number(x.key)).sort((a, b) => a - b);
          assert.equal(new Set(got).size, got.length, `${label}: duplicate members`);
          assert.ok(got.length === expected.length && got.every((x, i) => x === expected[i]), `${label} (${q.strategy}): ${setDiff(got, expected)}`);
        }
        // One statement feeds the preview's count and its sample: the first members by key.
        for (const sampleSize of [10, 0, 3]) {
          const pv = await preview(db, analysis, 'segment', c.subject, { asOf, sampleSize });
          assert.ok(pv.kind === 'segment');
          assert.equal(pv.count, expected.length, `preview count (sample ${sampleSize})`);
          assert.deepEqual(pv.sample.map((r) => Number(r.id)), expected.slice(0, sampleSize), `preview sample (sample ${sampleSize})`);
          assert.ok(pv.sample.every((r) => !Object.keys(r).some((k) => k.startsWith('__tally'))), 'no internal columns in the sample');
        }
        return;
      }

      if (c.kind === 'Trait' || c.kind === 'Score' || c.kind === 'Lifecycle') {
        if (query.k !== 'values') assert.fail(`query kind ${query.k}`);
        const expected: Map<number, Value> =
          c.kind === 'Trait' ? oracle.trait(c.subject, at) : c.kind === 'Score' ? oracle.score(c.subject, at) : oracle.lifecycle(c.subject, at);
        const q = compileValues(query, param);
        const r = await db.query<{ key: unknown; value: unknown }>(q.sql, q.parameters);
        const got = new Map<number, unknown>();
        for (const row of r.rows) {
          const k = Number(row.key);
          assert.ok(!got.has(k), `duplicate row for ${k}`);
          got.set(k, row.value);
        }
        const notExisting = [...got.keys()].filter((k) => !expected.has(k));
        assert.deepEqual(notExisting, [], 'rows for entities that do not exist at T');
        // Every existing entity has a stage (contract) and a score (NULL traits count as 0); a trait
        // may leave out an entity whose value is NULL.
        if (c.kind !== 'Trait') assert.equal(got.size, expected.size, `one ${c.kind.toLowerCase()} row per existing entity`);
        const wrong: string[] = [];
        for (const [k, v] of expected) {
          const e = got.has(k) ? got.get(k) : null;
          if (!sameValue(e, v)) wrong.push(`${k}: engine ${JSON.stringify(e)} oracle ${v instanceof Date ? v.toISOString() : JSON.stringify(v)}`);
        }
        assert.deepEqual(wrong.slice(0, 15), [], `${wrong.length} of ${expected.size} values differ`);
        // Non-vacuous: the values are not all the same.
        assert.ok(new Set([...expected.values()].map((v) => String(v))).size > 1, 'oracle: constant values');
        if (c.kind === 'Trait' || c.kind === 'Score') {
          // One statement: entities, how many have a value, and the first non-NULL values by key.
          const nonNull = [...expected.entries()].filter(([, v]) => v !== null).sort((a, b) => a[0] - b[0]);
          for (const sampleSize of [10, 0]) {
            const pv = await preview(db, analysis, c.kind === 'Trait' ? 'trait' : 'score', c.subject, { asOf, sampleSize });
            assert.ok(pv.kind === 'trait' || pv.kind === 'score');
            assert.equal(pv.entities, oracle.existing(at).length, 'preview entities');
            assert.equal(pv.count, nonNull.length, 'preview count of values');
            assert.deepEqual(pv.sample.map((r) => Number(r.key)), nonNull.slice(0, sampleSize).map(([k]) => k), 'preview sample keys');
            for (const r of pv.sample) assert.ok(sameValue(r.value, expected.get(Number(r.key))!), `preview sample value of ${r.key}`);
          }
        }
        if (c.kind === 'Lifecycle') {
          const pv = await preview(db, analysis, 'lifecycle', c.subject, { asOf });
          assert.ok(pv.kind === 'lifecycle', 'lifecycle preview');
          const dist: Record<string, number> = {};
          for (const s of new Set(expected.values())) dist[s as string] = 0;
          for (const v of expected.values()) dist[v as string]!++;
          for (const [s, n] of Object.entries(pv.stages)) assert.equal(n, dist[s] ?? 0, `stage ${s}`);
          assert.equal(pv.total, oracle.existing(at).length, 'stage total = entities existing at T');
        }
        if (c.kind === 'Score') {
          const pv = await preview(db, analysis, 'score', c.subject, { asOf });
          assert.ok(pv.kind === 'score' && pv.bands, 'score preview with bands');
          const dist: Record<string, number> = {};
          for (const b of (parseDefinitions(c.yaml).find((d) => d.kind === 'Score' && d.name === c.subject)!.bands as { name: string }[])) dist[b.name] = 0;
          for (const v of expected.values()) dist[oracle.bandOf(c.subject, v as number)!]!++;
          assert.deepEqual(pv.bands, dist, 'band distribution');
        }
        return;
      }

      // KPI
      if (query.k !== 'metric') assert.fail(`query kind ${query.k}`);
      const expected = oracle.kpi(c.subject, at);
      if ('value' in c) assert.ok(c.value === null ? expected.value === null : expected.value !== null && close(expected.value, c.value!), `oracle value ${expected.value} (case expects ${c.value})`);
      if (c.status) assert.equal(expected.status, c.status, 'oracle status');
      const m = compileMetric(query.metric, param);
      const r = await db.query<{ value: unknown }>(m.sql, m.parameters);
      assert.equal(r.rows.length, 1, 'one row');
      const got = asNumber(r.rows[0]!.value);
      assert.ok(sameValue(got, expected.value), `value: engine ${got} oracle ${expected.value}`);
      const inline = compileMetric(query.metric, { ...param, literals: 'inline' });
      const ri = await db.query<{ value: unknown }>(inline.sql, inline.parameters);
      assert.ok(sameValue(asNumber(ri.rows[0]!.value), expected.value), `inline value: engine ${ri.rows[0]!.value} oracle ${expected.value}`);
      const pv = await preview(db, analysis, 'kpi', c.subject, { asOf });
      assert.ok(pv.kind === 'kpi', 'kpi preview');
      assert.ok(sameValue(pv.value, expected.value), `preview value ${pv.value} oracle ${expected.value}`);
      assert.equal(pv.status, expected.status, `status (value ${expected.value})`);
    });
  }
});

