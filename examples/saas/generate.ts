// The example SaaS's data: a deterministic generator of accounts, their product activity, orders,
// survey answers, marketing spend and exchange rates, and a loader. Shaped unlike the shop on
// purpose (so nothing in Tally fits only one shape):
// - accounts have TEXT keys (`acc_00042`), an `mrr` number, `plan`, `region` and the acquisition
//   `channel` (NULL for some), `created_at` (a few after the anchor: they do not exist yet);
// - `activity` is a typed stream with JSON properties (`feature`, `seats`), some rows after the
//   anchor (invisible), some of keys with no account (orphans);
// - `orders` has NO type column, amounts in EUR, USD or GBP (a `currency` column; a few in JPY,
//   which has no rate, and a few with no currency);
// - `surveys` holds NPS (0-10) and CSAT (1-5) answers in one table, typed by `kind`, some scores
//   NULL, some out of scale;
// - `marketing_costs` (date, channel, amount, currency) and `fx_rates` (date, currency, rate).
// Everything is a pure function of the options (a seeded PRNG, times back from `anchor`).

import type { Db } from '../../engine/src/db/db.js';

export interface SaasOptions {
  /** Number of accounts (default 2 000). */
  accounts?: number;
  /** PRNG seed (default 7). */
  seed?: number;
  /** The instant the data ends at (default {@link SAAS_ANCHOR}); a few rows lie after it on purpose. */
  anchor?: Date;
  /** History length in days (default 365). */
  days?: number;
}

export const SAAS_ANCHOR = new Date('2026-11-01T00:00:00Z');
const DAY = 86_400;

export const PLANS = ['starter', 'team', 'enterprise'] as const;
export const REGIONS = ['emea', 'amer', 'apac'] as const;
export const CHANNELS = ['google', 'linkedin', 'partner', 'organic'] as const;
const FEATURES = ['dashboard', 'reports', 'api', 'export', 'alerts'] as const;
const CURRENCIES = ['EUR', 'USD', 'GBP'] as const;

/** mulberry32: small, fast, deterministic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SaasData {
  accounts: { id: string; name: string; plan: string; region: string | null; channel: string | null; mrr: number | null; created_at: number }[];
  activity: { account_id: string; event: string; at: number; properties: string }[];
  orders: { account_id: string; ordered_at: number; amount: number; currency: string | null }[];
  surveys: { account_id: string; kind: 'nps' | 'csat'; answered_at: number; score: number | null }[];
  costs: { spent_on: string; channel: string | null; amount: number; currency: string }[];
  rates: { day: string; currency: string; rate: number }[];
}

const dayText = (sec: number) => new Date(sec * 1000).toISOString().slice(0, 10);

/** The whole data set (small: every table in memory). */
export function generateSaas(opts: SaasOptions = {}): SaasData {
  const n = opts.accounts ?? 2000;
  const days = opts.days ?? 365;
  const end = Math.floor((opts.anchor ?? SAAS_ANCHOR).getTime() / 1000);
  const start = end - days * DAY;
  const r = prng(opts.seed ?? 7);
  const pick = <X>(xs: readonly X[]): X => xs[Math.floor(r() * xs.length)]!;
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: SaasData = { accounts: [], activity: [], orders: [], surveys: [], costs: [], rates: [] };
  for (let i = 1; i <= n; i++) {
    const id = `acc_${String(i).padStart(5, '0')}`;
    // Sign-ups grow over the year; one in 150 is created after the anchor (does not exist yet).
    const created = i % 150 === 0 ? end + int(1, 20) * DAY : start + Math.floor(Math.sqrt(r()) * (end - start));
    const plan = r() < 0.55 ? 'starter' : r() < 0.75 ? 'team' : 'enterprise';
    const mrr = r() < 0.04 ? null : plan === 'starter' ? int(0, 2) * 29 : plan === 'team' ? 99 * int(1, 5) : 490 * int(1, 8);
    const engaged = r(); // 0 = dormant, 1 = power user
    const channel = r() < 0.08 ? null : pick(CHANNELS);
    out.accounts.push({ id, name: `Account ${i}`, plan, region: r() < 0.05 ? null : pick(REGIONS), channel, mrr, created_at: created });
    if (created > end) continue;
    // Activity: sessions with feature use, more for engaged accounts, fading for some.
    const fadeAt = r() < 0.3 ? created + Math.floor(r() * (end - created)) : end;
    const sessions = Math.floor(engaged * engaged * 120 * ((end - created) / (days * DAY)) + (r() < 0.5 ? 1 : 0));
    out.activity.push({ account_id: id, event: 'visit', at: created - int(0, 3) * DAY - int(60, 3600), properties: JSON.stringify({ utm_source: channel ?? 'direct' }) });
    for (let s = 0; s < sessions; s++) {
      const at = created + Math.floor(r() * (fadeAt - created));
      out.activity.push({ account_id: id, event: 'login', at, properties: '{}' });
      if (r() < 0.8) out.activity.push({ account_id: id, event: 'feature_used', at: at + int(10, 900), properties: JSON.stringify({ feature: pick(FEATURES), seats: int(1, 40) }) });
    }
    // Orders (invoices): monthly for paying accounts while active, in their billing currency.
    if (mrr) {
      const currency = r() < 0.02 ? 'JPY' : r() < 0.02 ? null : pick(CURRENCIES);
      for (let t = created + int(0, 5) * DAY; t <= Math.min(fadeAt + 30 * DAY, end); t += 30 * DAY) out.orders.push({ account_id: id, ordered_at: t, amount: Math.round(mrr * (0.9 + r() * 0.2) * 100) / 100, currency });
    }
    // Surveys: NPS now and then, CSAT after support contacts; some scores missing or out of scale.
    if (r() < 0.35) out.surveys.push({ account_id: id, kind: 'nps', answered_at: created + Math.floor(r() * (end - created)), score: r() < 0.05 ? null : Math.min(10, Math.max(0, Math.round(engaged * 10 + (r() - 0.5) * 6))) });
    for (let k = int(0, 3); k > 0; k--) {
      const x = r();
      out.surveys.push({ account_id: id, kind: 'csat', answered_at: created + Math.floor(r() * (end - created)), score: x < 0.05 ? null : x < 0.07 ? 0 : Math.min(5, Math.max(1, Math.round(1 + engaged * 4 + (r() - 0.5) * 2))) });
    }
  }
  // Orphans (keys with no account) and future rows (after the anchor: invisible at it).
  for (let k = 0; k < 40; k++) out.activity.push({ account_id: `acc_ghost_${k % 7}`, event: 'login', at: end - int(1, 60) * DAY, properties: '{}' });
  out.orders.push({ account_id: 'acc_ghost_1', ordered_at: end - 5 * DAY, amount: 5000, currency: 'EUR' });
  for (let k = 0; k < 20; k++) out.activity.push({ account_id: out.accounts[k]!.id, event: 'login', at: end + int(1, 10) * DAY, properties: '{}' });
  out.surveys.push({ account_id: 'acc_ghost_2', kind: 'csat', answered_at: end - DAY, score: 1 });
  // Spend by day and channel (EUR, some USD), and daily rates with weekend gaps.
  for (let d = days; d >= 0; d--) {
    const day = dayText(end - d * DAY);
    for (const ch of ['google', 'linkedin', 'partner'] as const) if (r() < 0.9) out.costs.push({ spent_on: day, channel: ch, amount: Math.round((ch === 'linkedin' ? 400 : 250) * (0.5 + r()) * 100) / 100, currency: ch === 'linkedin' ? 'USD' : 'EUR' });
    const weekday = new Date((end - d * DAY) * 1000).getUTCDay();
    if (weekday !== 0 && weekday !== 6) {
      out.rates.push({ day, currency: 'USD', rate: Math.round((0.9 + 0.05 * Math.sin(d / 30)) * 10000) / 10000 });
      out.rates.push({ day, currency: 'GBP', rate: Math.round((1.15 + 0.03 * Math.cos(d / 45)) * 10000) / 10000 });
    }
  }
  return out;
}

const DDL = `
create table accounts (id text primary key, name text not null, plan text not null, region text, channel text, mrr numeric, created_at timestamptz not null);
create table activity (account_id text not null, event text not null, at timestamptz not null, properties jsonb not null default '{}');
create table orders (account_id text not null, ordered_at timestamptz not null, amount numeric not null, currency text);
create table surveys (account_id text not null, kind text not null, answered_at timestamptz not null, score numeric);
create table marketing_costs (spent_on date not null, channel text, amount numeric not null, currency text not null);
create table fx_rates (day date not null, currency text not null, rate numeric not null);
`;

const TABLES = ['activity', 'orders', 'surveys', 'marketing_costs', 'fx_rates', 'accounts'];

/** Creates the tables (dropping them first with `replace`), loads the rows (parameters only), indexes and analyzes. */
export async function loadSaas(db: Db, opts: SaasOptions & { replace?: boolean } = {}): Promise<{ accounts: number; rows: number }> {
  const d = generateSaas(opts);
  const ts = (sec: number) => new Date(sec * 1000).toISOString();
  const insert = async (tx: Db, table: string, cols: string[], rows: unknown[][]) => {
    for (let i = 0; i < rows.length; i += 2000) {
      const chunk = rows.slice(i, i + 2000);
      const params: unknown[] = [];
      const values = chunk.map((row) => `(${row.map((v) => `$${params.push(v)}`).join(', ')})`);
      await tx.query(`insert into ${table} (${cols.join(', ')}) values ${values.join(', ')}`, params);
    }
  };
  await db.transaction(async (tx) => {
    if (opts.replace) await tx.exec(`drop table if exists ${TABLES.join(', ')}`);
    await tx.exec(DDL);
    await insert(tx, 'accounts', ['id', 'name', 'plan', 'region', 'channel', 'mrr', 'created_at'], d.accounts.map((a) => [a.id, a.name, a.plan, a.region, a.channel, a.mrr, ts(a.created_at)]));
    await insert(tx, 'activity', ['account_id', 'event', 'at', 'properties'], d.activity.map((a) => [a.account_id, a.event, ts(a.at), a.properties]));
    await insert(tx, 'orders', ['account_id', 'ordered_at', 'amount', 'currency'], d.orders.map((o) => [o.account_id, ts(o.ordered_at), o.amount, o.currency]));
    await insert(tx, 'surveys', ['account_id', 'kind', 'answered_at', 'score'], d.surveys.map((s) => [s.account_id, s.kind, ts(s.answered_at), s.score]));
    await insert(tx, 'marketing_costs', ['spent_on', 'channel', 'amount', 'currency'], d.costs.map((c) => [c.spent_on, c.channel, c.amount, c.currency]));
    await insert(tx, 'fx_rates', ['day', 'currency', 'rate'], d.rates.map((x) => [x.day, x.currency, x.rate]));
    await tx.exec(`create index activity_key_time on activity (account_id, event, at); create index orders_key_time on orders (account_id, ordered_at); create index surveys_kind_time on surveys (kind, answered_at)`);
  });
  await db.exec(`analyze ${TABLES.join('; analyze ')}`);
  return { accounts: d.accounts.length, rows: d.activity.length + d.orders.length + d.surveys.length + d.costs.length + d.rates.length };
}
