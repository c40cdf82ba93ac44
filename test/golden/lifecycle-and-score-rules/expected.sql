-- Lifecycle bad_stage_name (pass)
select "e"."id" as key, case when coalesce("p1"."a1", 0) >= 1 then 'Active-Users' when coalesce("p1"."a2", 0) >= 1 then '' else 'rest' end as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) filter (where "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz) as "a1", count(*) filter (where "ev"."event_name" = 'purchase') as "a2" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Lifecycle one_stage (pass)
select "e"."id" as key, case  else 'everyone' end as value from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Score band_out_of_range (pass)
select "e"."id" as key, (100 * coalesce(least(greatest(((coalesce("p1"."a1", 0) - 0)::float8 / nullif(10, 0)), 0), 1), 0)) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Score bands_out_of_order (pass)
select "e"."id" as key, (100 * coalesce(least(greatest(((coalesce("p1"."a1", 0) - 0)::float8 / nullif(10, 0)), 0), 1), 0)) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Score last_band_bounded (pass)
select "e"."id" as key, (100 * coalesce(least(greatest(((coalesce("p1"."a1", 0) - 0)::float8 / nullif(10, 0)), 0), 1), 0)) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Trait orders (pass)
select "e"."id" as key, coalesce("p1"."a1", 0) as value from "customers" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);
