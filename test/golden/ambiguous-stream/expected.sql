-- Segment any_activity (probe)
select "e"."id" as key from "customers" as "e" where exists (select 1 from "web_events" as ev where "ev"."customer_id" = "e"."id" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz);

-- Segment big_orders (pass)
select "e"."id" as key from "customers" as "e" left join (select "ev"."customer_id" as k, sum("ev"."total") as "a1" from "orders" as ev where "ev"."ordered_at" <= '2026-06-01T00:00:00.000Z'::timestamptz group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where coalesce("p1"."a1", 0) >= 100;

-- Segment explicit_stream (probe)
select "e"."id" as key from "customers" as "e" where exists (select 1 from "app_events" as ev where "ev"."customer_id" = "e"."id" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase');
