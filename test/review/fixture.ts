// A hand-made ReviewData for the review's renderers (svg.ts, html.ts, markdown.ts): every chart
// kind, nulls (a missing period, an empty cohort cell, a funnel step nobody reached), a `between`
// target, a KPI without target, a lifecycle with and one without recorded transitions, immature
// cohort cells, a holdout, and hostile user strings (markup, quotes, pipes, newlines) in names,
// descriptions and owners, which every rendering must escape.

import type { ReviewData } from '../../engine/src/protocol.js';

export const HOSTILE = `<script>alert("x")</script> & 'q' | pipe`;

export function reviewFixture(): ReviewData {
  const weeks = ['2026-09-07', '2026-09-14', '2026-09-21', '2026-09-28', '2026-10-05'].map((d) => `${d}T00:00:00.000Z`);
  return {
    kind: 'review',
    project: 'shop <demo>',
    from: '2026-08-31T00:00:00.000Z',
    to: weeks[4]!,
    every: 'week',
    as_of: weeks[4]!,
    timezone: 'UTC',
    stages: [
      {
        stage: 'acquisition',
        kpis: [
          {
            name: 'weekly_signups',
            description: 'New accounts created in the last 7 days.',
            owner: 'acquisition-team',
            stage: 'acquisition',
            format: 'number',
            points: [
              { at: weeks[0]!, value: 300, expected: 310 },
              { at: weeks[1]!, value: 320, expected: 315 },
              { at: weeks[2]!, value: null, expected: 320 },
              { at: weeks[3]!, value: 335, expected: 325 },
              { at: weeks[4]!, value: 342, expected: 330 },
            ],
            target: { op: 'gte', value: 400, by: '2027-03-31' },
            baseline: { at: '2026-06-01T00:00:00.000Z', value: 188 },
            value: 342,
            status: 'on_track',
            expected: 330,
            gap: 12,
            change: { previous_at: weeks[3]!, previous: 335, delta: 7 },
            last_check: { as_of: '2026-10-01T00:00:00.000Z', value: 331, status: 'on_track' },
          },
        ],
      },
      {
        stage: 'retention',
        kpis: [
          {
            name: 'd7_retention',
            description: HOSTILE,
            owner: `team "<b>" | ops`,
            stage: 'retention',
            format: 'percent',
            points: weeks.map((at, i) => ({ at, value: 0.5 + i * 0.01, expected: null })),
            target: { op: 'between', value: [0.55, 0.6] },
            value: 0.54,
            status: 'at_risk',
            expected: null,
            gap: -0.01,
            change: { previous_at: weeks[3]!, previous: 0.53, delta: 0.010000000000000009 },
          },
        ],
      },
      {
        stage: 'other',
        kpis: [
          {
            name: HOSTILE,
            stage: 'other',
            format: 'currency',
            points: [{ at: weeks[4]!, value: 1234.5, expected: null }],
            value: 1234.5,
            status: 'at_risk',
            expected: null,
            gap: null,
            change: null,
          },
        ],
      },
    ],
    lifecycles: [
      {
        name: 'customer_stage',
        description: 'Where each customer is.',
        stages: ['new', 'active', 'dormant', HOSTILE],
        points: weeks.map((at, i) => ({ at, stages: { new: 100 + i, active: 500 - i * 3, dormant: 200 + i * 2, [HOSTILE]: i } })),
        transitions: {
          from_day: '2026-09-07',
          to_day: '2026-10-05',
          moves: [
            { from: 'active', to: 'dormant', entities: 42 },
            { from: null, to: 'new', entities: 17 },
            { from: 'dormant', to: null, entities: 1 },
          ],
        },
        snapshot_days: 5,
      },
      { name: 'plain', stages: ['a'], points: [{ at: weeks[4]!, stages: { a: 0 } }], transitions: null, snapshot_days: 0 },
    ],
    cohorts: [
      {
        kind: 'cohort',
        name: 'signup_weeks',
        entity: 'customers',
        every: 'week',
        columns: ['W1', 'W2', 'W3'],
        cohorts: [
          { start: '2026-09-07T00:00:00.000Z', size: 120, cells: [{ value: 0.5, returned: 60, immature: false }, { value: 0.25, returned: 30, immature: false }, { value: 0.2, returned: 24, immature: true }] },
          { start: '2026-09-14T00:00:00.000Z', size: 0, cells: [{ value: null, returned: 0, immature: false }, { value: null, returned: 0, immature: false }, { value: null, returned: 0, immature: true }] },
        ],
        timezone: 'UTC',
        as_of: weeks[4]!,
        sql: 'select 1',
      },
    ],
    funnels: [
      {
        kind: 'funnel',
        name: 'checkout',
        entity: 'customers',
        entrants: 1000,
        within: '90d',
        steps: [
          { name: 'view', reached: 1000, step_conversion: 1, overall_conversion: 1, median_hours_from_previous: null },
          { name: 'cart', reached: 400, step_conversion: 0.4, overall_conversion: 0.4, median_hours_from_previous: 1.5 },
          { name: HOSTILE, reached: 0, step_conversion: 0, overall_conversion: 0, median_hours_from_previous: null },
        ],
        as_of: weeks[4]!,
        sql: 'select 1',
      },
    ],
    campaigns: [
      {
        name: 'winback',
        owner: 'lifecycle-team',
        goal: 'purchase within 14 day',
        holdout: 'control',
        variants: [
          { name: 'control', holdout: true, enrolled: 500, converted: 40, rate: 0.08, low: 0.0594, high: 0.1069 },
          { name: 'email', holdout: false, enrolled: 1500, converted: 180, rate: 0.12, low: 0.1045, high: 0.1374 },
          { name: 'empty', holdout: false, enrolled: 0, converted: 0, rate: null, low: null, high: null },
        ],
        p_value: 0.0123,
        srm_mismatch: true,
        notes: ['a note'],
      },
    ],
    deploys: [{ id: 3, at: '2026-09-20T10:00:00.000Z', who: HOSTILE, git_commit: 'abcdef0123456789', definitions: [{ kind: 'Kpi', name: 'weekly_signups', version: 2, dropped: false }, { kind: 'Segment', name: 'old', version: 1, dropped: true }] }],
    notes: ['KPI broken has errors and is left out'],
  };
}
