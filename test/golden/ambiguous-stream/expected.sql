-- Segment any_activity (probe)
select "e"."id" as key from "customers" as "e" where exists (select 1 from "web_events" as ev where "ev"."customer_id" = "e"."id" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz);

-- Segment big_orders (probe)
select "e"."id" as key from "customers" as "e" where coalesce((select sum("ev"."total") from "orders" as ev where "ev"."customer_id" = "e"."id" and "ev"."ordered_at" <= '2026-06-01T00:00:00.000Z'::timestamptz), 0) >= 100;

-- Segment explicit_stream (probe)
select "e"."id" as key from "customers" as "e" where exists (select 1 from "app_events" as ev where "ev"."customer_id" = "e"."id" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-05-02T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase');
