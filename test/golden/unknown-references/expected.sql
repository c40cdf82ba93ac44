-- Lifecycle customer_lifecycle (pass)
select "e"."id" as key, case when not (("p1"."a1" > '2026-05-02T00:00:00.000Z'::timestamptz) is true) then 'dormant' else 'active' end as value from "customers" as "e" left join (select "ev"."customer_id" as k, max("ev"."occurred_at") as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);

-- Score health (pass)
select "e"."id" as key, (100 * coalesce(least(greatest((("p1"."a1" - 0)::float8 / nullif(1000, 0)), 0), 1), 0)) as value from "customers" as "e" left join (select "ev"."customer_id" as k, coalesce(sum(("ev"."properties" ->> 'amount')::numeric), case when count(*) > 0 then 0 end) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);

-- Segment high_value (pass)
select "e"."id" as key from "customers" as "e" left join (select "ev"."customer_id" as k, sum(("ev"."properties" ->> 'amount')::numeric) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null) and coalesce("p1"."a1", 0) >= 500;

-- Trait lifetime_value (pass)
select "e"."id" as key, "p1"."a1" as value from "customers" as "e" left join (select "ev"."customer_id" as k, coalesce(sum(("ev"."properties" ->> 'amount')::numeric), case when count(*) > 0 then 0 end) as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);
