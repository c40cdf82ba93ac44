-- Segment high_value (probe)
select "e"."id" as key from "customers" as "e" where (select count(*) from "events" as ev where "ev"."customer_id" = "e"."id" and "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."occurred_at" > '2026-03-03T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase') >= 2;
