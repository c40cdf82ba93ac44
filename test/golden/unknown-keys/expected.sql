-- Kpi funnel_typo
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi metric_inner_typo
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Kpi target_typos
select ((select count(*) from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-25T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase'))::float8 as value;

-- Segment top_level_typo (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Trait compute_typo (pass)
select "e"."id" as key, coalesce("p1"."a1", 0) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Trait trait_from_trait (pass)
select "e"."id" as key, coalesce("p1"."a1", 0) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);
