-- Segment customers_de (probe)
select "e"."id" as key from "customers" as "e" where "e"."country" = 'DE';

-- Segment pro_accounts (probe)
select "e"."id" as key from "accounts" as "e" where "e"."plan" = 'pro';
