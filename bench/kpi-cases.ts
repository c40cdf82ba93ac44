// KPI cases for bench/segments.ts: every KPI form of the example shop project, the engine's
// compileMetric SQL against the best hand-written SQL for the same answer.
//
// Every hand-written query applies the existence rule (LANGUAGE.md §6, docs/language.md): an
// event counts only when its key is a customer that exists at T (created_at <= T). Each KPI gets
// the obvious set-based shapes and, where one could win, the per-row probe a person would write.
// `:T`, `:T30` ... are T and T minus 30 days (see bind() in lib/pg.ts).

import { existsSync, readFileSync } from 'node:fs';
import { compileMetric, type Analysis } from '../engine/src/index.js';

/** One way to answer a case (also the segments section's Variant): engine-<strategy> or hand:<shape>. */
export interface KpiVariant {
  id: string;
  label: string;
  kind: 'engine' | 'hand';
  sql: string;
  params: unknown[];
  strategy?: string;
}

export interface KpiCase {
  key: string;
  title: string;
  short: string;
  answer: (rows: Record<string, unknown>[]) => string;
  variants: KpiVariant[];
}

const EXISTS_C = `exists (select 1 from customers c where c.id = e.customer_id and c.created_at <= :T)`;

/** KPI name -> its hand-written shapes (name -> SQL returning one row with `value`). */
export const KPI_HAND: Record<string, { form: string; shapes: Record<string, string> }> = {
  weekly_signups: {
    form: 'events',
    shapes: {
      'semi-join': `select count(*) as value from events e where e.event_name = 'signup' and e.occurred_at > :T7 and e.occurred_at <= :T and ${EXISTS_C}`,
      join: `select count(*) as value from events e join customers c on c.id = e.customer_id where c.created_at <= :T and e.event_name = 'signup' and e.occurred_at > :T7 and e.occurred_at <= :T`,
    },
  },
  referral_signup_share: {
    form: 'ratio of events',
    shapes: {
      'one-pass-filter': `select (count(*) filter (where e.properties ->> 'source' = 'referral'))::float8 / nullif(count(*), 0) as value
        from events e where e.event_name = 'signup' and e.occurred_at > :T30 and e.occurred_at <= :T and ${EXISTS_C}`,
    },
  },
  activation_rate: {
    form: 'ratio of count (selective cohort)',
    shapes: {
      'probe-exists': `select (count(*) filter (where exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at <= :T)))::float8 / nullif(count(*), 0) as value
        from customers c where c.created_at > :T37 and c.created_at < :T7 and c.created_at <= :T`,
      'probe-semi-join-two-counts': `select (select count(*) from customers c where c.created_at > :T37 and c.created_at < :T7 and c.created_at <= :T
          and exists (select 1 from events e where e.customer_id = c.id and e.event_name = 'purchase' and e.occurred_at <= :T))::float8
        / nullif((select count(*) from customers c where c.created_at > :T37 and c.created_at < :T7 and c.created_at <= :T), 0) as value`,
      'grouped-left-join': `select (count(p.customer_id))::float8 / nullif(count(*), 0) as value
        from customers c left join (select customer_id from events where event_name = 'purchase' and occurred_at <= :T group by customer_id) p on p.customer_id = c.id
        where c.created_at > :T37 and c.created_at < :T7 and c.created_at <= :T`,
    },
  },
  repurchase_rate: {
    form: 'ratio of count (population-wide)',
    shapes: {
      'grouped-join': `select (count(*) filter (where g.n >= 2))::float8 / nullif(count(*), 0) as value
        from (select customer_id, count(*) as n from events where event_name = 'purchase' and occurred_at <= :T group by customer_id) g
        join customers c on c.id = g.customer_id where c.created_at <= :T`,
    },
  },
  d7_retention: {
    form: 'retention',
    shapes: retentionShapes(60, 7),
  },
  d30_retention: {
    form: 'retention',
    shapes: retentionShapes(120, 30),
  },
  churn_30d: {
    form: 'churn',
    shapes: {
      'grouped-one-pass': `select (count(*) filter (where not g.recent))::float8 / nullif(count(*), 0) as value
        from (select customer_id, bool_or(occurred_at > :T30) as recent from events where occurred_at > :T60 and occurred_at <= :T
              group by customer_id having bool_or(occurred_at <= :T30)) g
        join customers c on c.id = g.customer_id where c.created_at <= :T`,
    },
  },
  dau_mau: {
    form: 'ratio of active (same stream)',
    shapes: {
      'grouped-one-pass': `select (count(*) filter (where g.last > :T1))::float8 / nullif(count(*), 0) as value
        from (select customer_id, max(occurred_at) as last from events where event_name = 'login' and occurred_at > :T30 and occurred_at <= :T group by customer_id) g
        join customers c on c.id = g.customer_id where c.created_at <= :T`,
      'two-count-distinct': `select (select count(distinct e.customer_id) from events e where e.event_name = 'login' and e.occurred_at > :T1 and e.occurred_at <= :T and ${EXISTS_C})::float8
        / nullif((select count(distinct e.customer_id) from events e where e.event_name = 'login' and e.occurred_at > :T30 and e.occurred_at <= :T and ${EXISTS_C}), 0) as value`,
    },
  },
  nps: {
    form: 'nps',
    shapes: {
      'distinct-on': `select ((count(*) filter (where score >= 9)) - (count(*) filter (where score <= 6)))::float8 * 100 / nullif(count(*), 0) as value
        from (select distinct on (e.customer_id) (e.properties ->> 'score')::numeric as score from events e
              where e.event_name = 'survey' and e.occurred_at > :T90 and e.occurred_at <= :T and (e.properties ->> 'score') is not null and ${EXISTS_C}
              order by e.customer_id, e.occurred_at desc) s`,
    },
  },
  high_priority_ticket_rate: {
    form: 'ratio of events / active (same stream)',
    shapes: {
      'grouped-one-pass': `select sum(g.n)::float8 / nullif(count(*), 0) as value
        from (select customer_id, count(*) filter (where event_name = 'support_ticket' and properties ->> 'priority' = 'high') as n
              from events where occurred_at > :T30 and occurred_at <= :T group by customer_id) g
        join customers c on c.id = g.customer_id where c.created_at <= :T`,
    },
  },
  revenue_30d: {
    form: 'sum',
    shapes: {
      'semi-join': `select coalesce(sum((e.properties ->> 'amount')::numeric), 0)::float8 as value from events e
        where e.event_name = 'purchase' and e.occurred_at > :T30 and e.occurred_at <= :T and ${EXISTS_C}`,
    },
  },
  arpu_30d: {
    form: 'ratio of sum / active (same stream)',
    shapes: {
      'grouped-one-pass': `select coalesce(sum(g.s), 0)::float8 / nullif(count(*), 0) as value
        from (select customer_id, sum((properties ->> 'amount')::numeric) filter (where event_name = 'purchase') as s
              from events where occurred_at > :T30 and occurred_at <= :T group by customer_id) g
        join customers c on c.id = g.customer_id where c.created_at <= :T`,
    },
  },
  avg_order_value_30d: {
    form: 'avg',
    shapes: {
      'semi-join': `select avg((e.properties ->> 'amount')::numeric)::float8 as value from events e
        where e.event_name = 'purchase' and e.occurred_at > :T30 and e.occurred_at <= :T and ${EXISTS_C}`,
    },
  },
};

/** Retention over signups in (T - within, T - days] returning with a login in (c, c + days]. */
function retentionShapes(within: number, days: number): Record<string, string> {
  const cohort = `select g.customer_id as k, g.c from (select customer_id, min(occurred_at) as c from events where event_name = 'signup' and occurred_at <= :T${days} group by customer_id having min(occurred_at) > :T${within}) g
    join customers cu on cu.id = g.customer_id where cu.created_at <= :T`;
  return {
    'cohort-join-returns': `with co as (${cohort}),
      r as (select distinct co.k from co join events e on e.customer_id = co.k and e.event_name = 'login' and e.occurred_at > co.c and e.occurred_at <= co.c + interval '${days} days' and e.occurred_at > :T${within} and e.occurred_at <= :T)
      select count(r.k)::float8 / nullif(count(*), 0) as value from co left join r on r.k = co.k`,
    'cohort-probe-exists': `select (count(*) filter (where exists (select 1 from events e where e.customer_id = co.k and e.event_name = 'login' and e.occurred_at > co.c and e.occurred_at <= co.c + interval '${days} days')))::float8 / nullif(count(*), 0) as value
      from (${cohort}) co`,
  };
}

export const numberAnswer = (rows: Record<string, unknown>[]): string => {
  const v = rows[0]?.value;
  return v === null || v === undefined ? 'null' : Number(v).toPrecision(10);
};

/**
 * Another engine's SQL for the same KPIs (to measure a change before/after in one run):
 * TALLY_BENCH_KPI_BEFORE=<file> with `{ <kpi>: { sql, params } }`, compiled by that engine.
 */
function beforeVariants(name: string): KpiVariant[] {
  const file = process.env.TALLY_BENCH_KPI_BEFORE;
  if (!file || !existsSync(file)) return [];
  const q = (JSON.parse(readFileSync(file, 'utf8')) as Record<string, { sql: string; params: unknown[] }>)[name];
  return q ? [{ id: 'engine-before', label: 'engine before', kind: 'engine', sql: q.sql, params: q.params }] : [];
}

/** One case per KPI of KPI_HAND: the engine's SQL and the hand-written shapes. */
export function kpiCases(analysis: Analysis, asOf: Date, bind: (text: string, asOf: Date) => { sql: string; params: unknown[] }): KpiCase[] {
  return Object.entries(KPI_HAND).map(([name, { form, shapes }]) => {
    const q = analysis.get('Kpi', name)?.resolved.query;
    if (!q || q.k !== 'metric') throw new Error(`no KPI ${name}`);
    const c = compileMetric(q.metric, { asOf: { kind: 'instant', at: asOf }, literals: 'param' });
    const hand = Object.entries(shapes).map(([shape, text]): KpiVariant => ({ id: `hand:${shape}`, label: `hand: ${shape}`, kind: 'hand', ...bind(text, asOf) }));
    return {
      key: `kpi:${name}`,
      short: `KPI ${name} (${form})`,
      title: `KPI ${name} (${form})`,
      answer: numberAnswer,
      variants: [...hand, { id: 'engine-auto', label: 'engine', kind: 'engine', sql: c.sql, params: [...c.parameters] }, ...beforeVariants(name)],
    };
  });
}
