-- Kpi deadline_passed
select ("m1"."v1")::float8 as value from (select count(*) as "v1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and exists (select 1 from "customers" as "e" where "e"."id" = "ev"."customer_id" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";

-- Kpi guardrail_above_target
select ("m1"."v1")::float8 as value from (select count(*) as "v1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and exists (select 1 from "customers" as "e" where "e"."id" = "ev"."customer_id" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";

-- Kpi guardrail_wrong_direction
select ("m1"."v1")::float8 as value from (select count(*) as "v1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and exists (select 1 from "customers" as "e" where "e"."id" = "ev"."customer_id" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";

-- Kpi met_at_baseline
select ("m1"."v")::float8 as value from (select (count(*) filter (where not g.recent))::float8 / nullif(count(*), 0) as v from (select "ev"."customer_id" as k, bool_or("ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz) as recent from "events" as ev where "ev"."occurred_at" > '2026-04-02T00:00:00.000Z'::timestamptz and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz group by "ev"."customer_id" having bool_or("ev"."occurred_at" <= '2026-05-02T00:00:00.000Z'::timestamptz)) as g where exists (select 1 from "customers" as "e" where "e"."id" = "g"."k" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";

-- Kpi no_owner_description_funnel_guardrail
select ("m1"."v1")::float8 as value from (select count(*) as "v1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and exists (select 1 from "customers" as "e" where "e"."id" = "ev"."customer_id" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";

-- Kpi smart_and_clean
select ("m1"."v1")::float8 as value from (select count(*) as "v1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and exists (select 1 from "customers" as "e" where "e"."id" = "ev"."customer_id" and ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null))) as "m1";
