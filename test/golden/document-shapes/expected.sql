-- Segment after_empty_document (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';
