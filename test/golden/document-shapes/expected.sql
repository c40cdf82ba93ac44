-- Segment  (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment 1st_segment (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment a_name_that_is_far_too_long_to_be_a_valid_tally_name_because_it_has_70 (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment after_empty_document (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment Bad-Name (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment meta_description_list (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment meta_owner_empty (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment meta_owner_number (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment meta_tags_duplicate (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment meta_tags_string (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment no_version (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment version_fraction (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment version_negative (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment version_quoted (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment version_word (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';

-- Segment version_zero (probe)
select "e"."id" as key from "customers" as "e" where coalesce("e"."created_at" <= '2026-06-01T00:00:00.000Z'::timestamptz, true) and "e"."country" = 'DE';
