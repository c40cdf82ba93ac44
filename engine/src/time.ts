// Time: durations (`90d`), instants (`2027-03-31`, `2026-06-01T00:00:00Z`) and the project time zone.
//
// Every evaluation happens as of an instant T. A duration D means the half-open window (T - D, T].
// Date-only instants are midnight in the project's time zone.

export type DurationUnit = 'm' | 'h' | 'd' | 'w';

export interface Duration {
  readonly count: number;
  readonly unit: DurationUnit;
  /** Exact length in milliseconds (a day is 24 h: windows are measured in elapsed time, not calendar days). */
  readonly ms: number;
  readonly text: string;
}

const UNIT_MS: Record<DurationUnit, number> = { m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const UNIT_WORD: Record<DurationUnit, [string, string]> = {
  m: ['minute', 'minutes'],
  h: ['hour', 'hours'],
  d: ['day', 'days'],
  w: ['week', 'weeks'],
};

const DURATION_RE = /^([1-9][0-9]{0,8})([mhdw])$/;

export function parseDuration(text: string): Duration | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  const count = Number(m[1]);
  const unit = m[2] as DurationUnit;
  return { count, unit, ms: count * UNIT_MS[unit], text };
}

export function describeDuration(d: Duration): string {
  const [one, many] = UNIT_WORD[d.unit];
  return `${d.count} ${d.count === 1 ? one : many}`;
}

/** A PostgreSQL interval literal for a duration, e.g. `90 days`. */
export function intervalText(d: Duration): string {
  const unit = d.unit === 'm' ? 'minutes' : d.unit === 'h' ? 'hours' : d.unit === 'd' ? 'days' : 'weeks';
  return `${d.count} ${unit}`;
}

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

export interface ParsedInstant {
  readonly date: Date;
  /** True for a bare date (`2027-03-31`), which means midnight at the start of that day. */
  readonly dateOnly: boolean;
}

/** Parses an ISO date or date-time; a bare date or a date-time without offset is read in `timezone`. */
export function parseInstant(text: string, timezone = 'UTC'): ParsedInstant | undefined {
  let m = DATE_RE.exec(text);
  if (m) {
    const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
    if (!validDate(y, mo, d)) return undefined;
    return { date: new Date(zonedToUtc(y, mo, d, 0, 0, 0, 0, timezone)), dateOnly: true };
  }
  m = DATETIME_RE.exec(text);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  const frac = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  if (!validDate(y, mo, d) || h > 23 || mi > 59 || s > 59) return undefined;
  const zone = m[8];
  if (zone) {
    let offsetMin = 0;
    if (zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      offsetMin = sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4)));
    }
    return { date: new Date(Date.UTC(y, mo - 1, d, h, mi, s, frac) - offsetMin * 60_000), dateOnly: false };
  }
  return { date: new Date(zonedToUtc(y, mo, d, h, mi, s, frac, timezone)), dateOnly: false };
}

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(Date.UTC(y, mo, 0)).getUTCDate();
  return d <= days;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

const validZones = new Map<string, boolean>([['UTC', true]]);

export function isValidTimeZone(tz: string): boolean {
  let ok = validZones.get(tz);
  if (ok === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: tz });
      ok = true;
    } catch {
      ok = false;
    }
    validZones.set(tz, ok);
  }
  return ok;
}

function offsetMs(utcMs: number, tz: string): number {
  if (tz === 'UTC' || tz === 'Etc/UTC') return 0;
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(tz, f);
  }
  const parts: Record<string, number> = {};
  for (const p of f.formatToParts(new Date(utcMs))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const asUtc = Date.UTC(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, tz: string): number {
  const guess = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  if (tz === 'UTC' || !isValidTimeZone(tz)) return guess;
  const first = guess - offsetMs(guess, tz);
  return guess - offsetMs(first, tz);
}

/** The calendar date (YYYY-MM-DD) of an instant in a time zone. */
export function dateInZone(date: Date, tz = 'UTC'): string {
  const t = date.getTime() + (isValidTimeZone(tz) ? offsetMs(date.getTime(), tz) : 0);
  return new Date(t).toISOString().slice(0, 10);
}

export function addDays(date: Date, days: number): Date {
  return new Date(date.getTime() + days * 86_400_000);
}
