// Time: durations (`90d`), instants (`2027-03-31`, `2026-06-01T00:00:00Z`) and the project time zone.
//
// Every evaluation happens as of an instant T. A duration D means the half-open window (T - D, T].
// Date-only instants are midnight in the project's time zone.

import type { Span } from './diagnostics.js';

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

const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** The widest UTC offset an instant may carry, either way: +14:00 (Kiribati) is the widest in use. */
export const MAX_OFFSET_MINUTES = 14 * 60;
/** The earliest instant: PostgreSQL's calendar has no year 0000 (1 BC comes before 0001). */
const EARLIEST_MS = -62135596800000; // 0001-01-01T00:00:00Z

export interface ParsedInstant {
  readonly date: Date;
  /** True for a bare date (`2027-03-31`), which means midnight at the start of that day. */
  readonly dateOnly: boolean;
}

/**
 * Milliseconds since the epoch of a UTC calendar time. Date.UTC reads years 0–99 as 1900–1999;
 * setUTCFullYear sets year, month and day together, so 0004-02-29 stays a leap day.
 */
export function utcTime(y: number, monthIndex: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  if (y >= 100 || y < 0) return Date.UTC(y, monthIndex, d, h, mi, s, ms);
  const t = new Date(Date.UTC(2000, 0, 1, h, mi, s, ms));
  t.setUTCFullYear(y, monthIndex, d);
  return t.getTime();
}

/** Parses an ISO date or date-time; a bare date or a date-time without offset is read in `timezone`. */
export function parseInstant(text: string, timezone = 'UTC'): ParsedInstant | undefined {
  return readInstant(text, timezone).instant;
}

/**
 * Why text is not an instant, when the reason is more precise than "not ISO": year 0000, a day
 * the month does not have, an offset beyond ±14:00. `start`/`end` locate the part within text.
 */
export function instantProblem(text: string, timezone = 'UTC'): { message: string; start: number; end: number } | undefined {
  return readInstant(text, timezone).problem;
}

/**
 * The diagnostic for an instant written at `span` that does not parse: the precise part and reason
 * when instantProblem knows one (the offset of `+99:00`, the day of `2026-02-30`), else `fallback`
 * on the whole value. The part is located in the source when the scalar is written as is (plain, or
 * quoted without escapes).
 */
export function badInstant(text: string, span: Span, fallback: string, timezone = 'UTC'): { span: Span; message: string } {
  const problem = instantProblem(text, timezone);
  if (!problem) return { span, message: fallback };
  const length = span[1] - span[0];
  const base = length === text.length ? span[0] : length === text.length + 2 ? span[0] + 1 : undefined;
  const at: Span = base === undefined ? span : [base + problem.start, base + problem.end];
  return { span: at, message: `'${text}' is not a valid instant: ${problem.message}` };
}

type InstantReading = { instant?: ParsedInstant; problem?: { message: string; start: number; end: number } };

function readInstant(text: string, timezone: string): InstantReading {
  const m = DATE_RE.exec(text) ?? DATETIME_RE.exec(text);
  if (!m) return {};
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y === 0) return { problem: { message: `there is no year 0000 (PostgreSQL's calendar goes from 1 BC to 0001); the earliest date is 0001-01-01`, start: 0, end: 4 } };
  if (mo < 1 || mo > 12) return { problem: { message: `month ${m[2]} does not exist; months are 01 to 12`, start: 5, end: 7 } };
  if (!validDate(y, mo, d)) return { problem: { message: `${m[1]}-${m[2]} has no day ${m[3]}`, start: 8, end: 10 } };
  const dateOnly = m.length === 4;
  if (dateOnly) return bounded({ date: new Date(zonedToUtc(y, mo, d, 0, 0, 0, 0, timezone)), dateOnly: true }, text);
  const [h, mi, s] = [Number(m[4]), Number(m[5]), Number(m[6] ?? 0)];
  const frac = m[7] ? Math.round(Number(m[7]) * 1000) : 0;
  if (h > 23 || mi > 59 || s > 59) return { problem: { message: `'${text.slice(11, 11 + (m[6] ? 8 : 5))}' is not a time of day (00:00:00 to 23:59:59)`, start: 11, end: 11 + (m[6] ? 8 : 5) } };
  const zone = m[8];
  if (zone) {
    let offsetMin = 0;
    if (zone !== 'Z') {
      const sign = zone[0] === '-' ? -1 : 1;
      const digits = zone.slice(1).replace(':', '');
      const oh = Number(digits.slice(0, 2));
      const om = Number(digits.slice(2, 4));
      offsetMin = sign * (oh * 60 + om);
      if (om > 59 || oh * 60 + om > MAX_OFFSET_MINUTES) {
        const start = text.length - zone.length;
        return { problem: { message: `the UTC offset ${zone} is out of range: offsets go from -14:00 to +14:00, minutes 00 to 59`, start, end: text.length } };
      }
    }
    return bounded({ date: new Date(utcTime(y, mo - 1, d, h, mi, s, frac) - offsetMin * 60_000), dateOnly: false }, text);
  }
  return bounded({ date: new Date(zonedToUtc(y, mo, d, h, mi, s, frac, timezone)), dateOnly: false }, text);
}

function bounded(instant: ParsedInstant, text: string): InstantReading {
  if (instant.date.getTime() >= EARLIEST_MS) return { instant };
  return { problem: { message: `${text} is before 0001-01-01T00:00:00Z, the earliest instant PostgreSQL can store`, start: 0, end: text.length } };
}

function validDate(y: number, mo: number, d: number): boolean {
  if (mo < 1 || mo > 12 || d < 1) return false;
  const days = new Date(utcTime(y, mo, 0)).getUTCDate();
  return d <= days;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

const validZones = new Map<string, boolean>([['UTC', true]]);

/** Whether `text` is a calendar day written YYYY-MM-DD (2026-02-31 is not). */
export function isDay(text: string): boolean {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
}

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
  const asUtc = utcTime(parts.year!, parts.month! - 1, parts.day!, parts.hour!, parts.minute!, parts.second!);
  return asUtc - Math.floor(utcMs / 1000) * 1000;
}

function zonedToUtc(y: number, mo: number, d: number, h: number, mi: number, s: number, ms: number, tz: string): number {
  const guess = utcTime(y, mo - 1, d, h, mi, s, ms);
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
