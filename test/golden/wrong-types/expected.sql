-- Segment filters_not_a_list (probe)
select "e"."42" as key from "" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and exists (select 1 from "events" as ev where "ev"."customer_id" = "e"."42" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase');

-- Trait trait_bad_type (pass)
select "e"."42" as key, coalesce("p1"."a1", 0) as value from "" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."42" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);

-- Trait trait_type_list (pass)
select "e"."42" as key, coalesce("p1"."a1", 0) as value from "" as "e" left join (select "ev"."customer_id" as k, count(*) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."42" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true);
