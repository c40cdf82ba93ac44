-- Kpi deadline_passed
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi guardrail_above_target
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi guardrail_wrong_direction
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi met_at_baseline
select ((select (count(*) filter (where not exists (select 1 from "events" as cv where "cv"."customer_id" = "pr"."k" and "cv"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz and "cv"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz)))::float8 / nullif(count(*), 0) from (select distinct "ev"."customer_id" as k from "events" as ev where "ev"."occurred_at" > '2026-04-02T00:00:00.000Z'::timestamptz and "ev"."occurred_at" <= '2026-05-02T00:00:00.000Z'::timestamptz and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz) as pr))::float8 as value;

-- Kpi no_owner_description_funnel_guardrail
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi smart_and_clean
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;
