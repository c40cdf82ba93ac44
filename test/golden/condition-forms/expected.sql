-- Lifecycle journey (pass)
select "e"."id" as key, case when (("p1"."a1" is not null) is true) then 'buyer' else 'browser' end as value from "customers" as "e" left join (select "ev"."customer_id" as k, max("ev"."occurred_at") as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);

-- Score health (pass)
select "e"."id" as key, (100 * coalesce(least(greatest(((coalesce("p1"."a1", 0) - 0)::float8 / nullif(10, 0)), 0), 1), 0)) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);

-- Segment base (probe)
select "e"."id" as key from "customers" as "e" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null) and "e"."country" = 'DE';

-- Trait orders (pass)
select "e"."id" as key, coalesce("p1"."a1", 0) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);
