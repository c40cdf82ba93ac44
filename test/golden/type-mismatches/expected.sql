-- Trait coupon_code (pass)
select "e"."id" as key, "p1"."a1" as value from "customers" as "e" left join (select "ev"."customer_id" as k, (array_agg(("ev"."properties" ->> 'coupon') order by "ev"."occurred_at" desc))[1] as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);

-- Trait last_purchase_at (pass)
select "e"."id" as key, "p1"."a1" as value from "customers" as "e" left join (select "ev"."customer_id" as k, max("ev"."occurred_at") as "a1" from "events" as ev where "ev"."occurred_at" <= '2026-06-01T00:00:00.000Z'::timestamptz and "ev"."event_name" = 'purchase' group by "ev"."customer_id") as "p1" on "p1"."k" = "e"."id" where ("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz or "e"."created_at" is null);
