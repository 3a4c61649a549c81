// HL7 v2 TS/DTM → FHIR date and dateTime. A time without an explicit offset is UK local
// time, so it gets the Europe/London offset in force at that moment (GMT +00:00 or BST
// +01:00), worked out with Intl rather than a date library.
import { InvalidValueError } from '../engine/invalid-value.js';
import { Args, text, type MappingFunction } from './types.js';

interface Hl7Timestamp {
  year: string;
  month?: string;
  day?: string;
  hour?: string;
  minute?: string;
  second?: string;
  fraction?: string;
  /** `+hhmm` / `-hhmm` as written. */
  offset?: string;
}

// The layout is YYYY[MM[DD[HH[MM[SS[.S{1,4}]]]]]][+/-ZZZZ]: read by position rather than with a
// regular expression, whose eight captures cost more than the rest of a conversion.
const ZERO = 48;
const PLUS = 43;
const MINUS = 45;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/** Days in `month` (1–12) of `year`, Gregorian leap years included (no Date per call). */
function daysInMonth(year: number, month: number): number {
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  return month === 2 && leap ? 29 : DAYS_IN_MONTH[month - 1];
}

function isDigits(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i) - ZERO;
    if (c < 0 || c > 9) return false;
  }
  return true;
}

/** The number written by the digits at `at` and `at + 1`. */
function twoDigits(s: string, at: number): number {
  return (s.charCodeAt(at) - ZERO) * 10 + s.charCodeAt(at + 1) - ZERO;
}

function notTimestamp(): never {
  throw new InvalidValueError(`not an HL7 date/time (expected YYYY[MM[DD[HHMM[SS]]]][+ZZZZ])`);
}

/** Split and range-check an HL7 timestamp; throws InvalidValueError when it is not one. */
export function parseHl7Timestamp(raw: string): Hl7Timestamp {
  const t = raw.trim();
  let end = t.length;
  let offset: string | undefined;
  const sign = end >= 9 ? t.charCodeAt(end - 5) : 0;
  if (sign === PLUS || sign === MINUS) {
    if (!isDigits(t, end - 4, end)) notTimestamp();
    offset = t.slice(end - 5);
    end -= 5;
  }
  let fraction: string | undefined;
  const dot = t.indexOf('.');
  if (dot >= 0) {
    // Fractions of a second follow whole seconds only: 1–4 digits after 14.
    if (dot !== 14 || end - dot < 2 || end - dot > 5 || !isDigits(t, dot + 1, end)) notTimestamp();
    fraction = t.slice(dot + 1, end);
    end = dot;
  }
  if (end < 4 || end > 14 || end % 2 !== 0 || !isDigits(t, 0, end)) notTimestamp();
  const year = t.slice(0, 4);
  const month = end >= 6 ? t.slice(4, 6) : undefined;
  const day = end >= 8 ? t.slice(6, 8) : undefined;
  const hour = end >= 10 ? t.slice(8, 10) : undefined;
  const minute = end >= 12 ? t.slice(10, 12) : undefined;
  const second = end >= 14 ? t.slice(12, 14) : undefined;
  if (month !== undefined) {
    const m = twoDigits(t, 4);
    if (m < 1 || m > 12) throw new InvalidValueError(`HL7 date has month ${month}`);
    if (day !== undefined) {
      const d = twoDigits(t, 6);
      if (d < 1 || d > daysInMonth(Number(year), m)) throw new InvalidValueError(`HL7 date has day ${day} in month ${month}`);
    }
  }
  if (hour !== undefined && twoDigits(t, 8) > 23) throw new InvalidValueError(`HL7 time has hour ${hour}`);
  if (minute !== undefined && twoDigits(t, 10) > 59) throw new InvalidValueError(`HL7 time has minute ${minute}`);
  if (second !== undefined && twoDigits(t, 12) > 59) throw new InvalidValueError(`HL7 time has second ${second}`);
  if (offset !== undefined && (twoDigits(offset, 1) > 14 || twoDigits(offset, 3) > 59)) {
    throw new InvalidValueError(`HL7 time has offset ${offset}`);
  }
  return { year, month, day, hour, minute, second, fraction, offset };
}

const londonParts = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/London',
  hourCycle: 'h23',
  year: 'numeric',
  month: 'numeric',
  day: 'numeric',
  hour: 'numeric',
  minute: 'numeric',
  second: 'numeric',
});

// Offsets change twice a year on the hour, so memoising per UTC hour keeps Intl off the
// hot path for a stream of messages from the same day.
const offsetByHour = new Map<number, number>();

/** Minutes Europe/London is ahead of UTC at the instant `utcMs`. */
export function londonOffsetMinutes(utcMs: number): number {
  const hourKey = Math.floor(utcMs / 3_600_000);
  const cached = offsetByHour.get(hourKey);
  if (cached !== undefined) return cached;
  const at = hourKey * 3_600_000;
  const p: Record<string, number> = {};
  for (const part of londonParts.formatToParts(new Date(at))) {
    if (part.type !== 'literal') p[part.type] = Number(part.value);
  }
  const wall = Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second);
  const offset = Math.round((wall - at) / 60_000);
  if (offsetByHour.size > 50_000) offsetByHour.clear();
  offsetByHour.set(hourKey, offset);
  return offset;
}

/**
 * Offset for a London wall-clock time. In the autumn repeated hour the earlier (BST)
 * reading is taken; a time in the spring gap is read with the offset in force before it.
 */
export function londonOffsetForWallTime(wallAsUtcMs: number): number {
  const day = 86_400_000;
  const before = londonOffsetMinutes(wallAsUtcMs - day);
  const after = londonOffsetMinutes(wallAsUtcMs + day);
  const candidates = before === after ? [before] : [Math.max(before, after), Math.min(before, after)];
  for (const offset of candidates) {
    if (londonOffsetMinutes(wallAsUtcMs - offset * 60_000) === offset) return offset;
  }
  return before;
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? '-' : '+';
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
}

/** FHIR `date` at the precision given (year, year-month or full date). */
export function hl7ToFhirDate(raw: string): string {
  const ts = parseHl7Timestamp(raw);
  if (ts.month === undefined) return ts.year;
  if (ts.day === undefined) return `${ts.year}-${ts.month}`;
  return `${ts.year}-${ts.month}-${ts.day}`;
}

// Wall-clock hour (YYYYMMDDHH) → Europe/London offset; a few thousand hours cover years of messages.
const offsetByWallHour = new Map<string, string>();

function londonOffsetText(ts: Hl7Timestamp): string {
  const key = `${ts.year}${ts.month}${ts.day}${ts.hour}`;
  let offset = offsetByWallHour.get(key);
  if (offset === undefined) {
    const wall = Date.UTC(Number(ts.year), Number(ts.month) - 1, Number(ts.day), Number(ts.hour), Number(ts.minute ?? 0), Number(ts.second ?? 0));
    offset = formatOffset(londonOffsetForWallTime(wall));
    if (offsetByWallHour.size > 50_000) offsetByWallHour.clear();
    offsetByWallHour.set(key, offset);
  }
  return offset;
}

/** FHIR `dateTime`: a date when no time is given, otherwise seconds and an offset. */
export function hl7ToFhirDateTime(raw: string): string {
  const ts = parseHl7Timestamp(raw);
  if (ts.month === undefined) return ts.year;
  if (ts.day === undefined) return `${ts.year}-${ts.month}`;
  const date = `${ts.year}-${ts.month}-${ts.day}`;
  if (ts.hour === undefined) return date;
  const minute = ts.minute ?? '00';
  const second = ts.second ?? '00';
  const fraction = ts.fraction ? `.${ts.fraction}` : '';
  const offset = ts.offset !== undefined ? `${ts.offset.slice(0, 3)}:${ts.offset.slice(3)}` : londonOffsetText(ts);
  return `${date}T${ts.hour}:${minute}:${second}${fraction}${offset}`;
}

/** A date as case systems export it (2026-07-15, 15/07/2026, 20260715) → FHIR date. */
export function recordDateToFhir(raw: string): string {
  const t = raw.trim();
  let m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?$/.exec(t);
  let y: string, mo: string, d: string;
  if (m) [, y, mo, d] = m;
  else if ((m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(t))) [y, mo, d] = [m[3], m[2].padStart(2, '0'), m[1].padStart(2, '0')];
  else if ((m = /^(\d{4})(\d{2})(\d{2})$/.exec(t))) [, y, mo, d] = m;
  else throw new InvalidValueError('not a date (expected YYYY-MM-DD, DD/MM/YYYY or YYYYMMDD)');
  return hl7ToFhirDate(`${y}${mo}${d}`);
}

export const dateFunctions: MappingFunction[] = [
  {
    name: 'date',
    args: Args([]),
    returns: 'FHIR date',
    description: 'A record date (YYYY-MM-DD, UK DD/MM/YYYY or YYYYMMDD; a time part is dropped) → FHIR date, range-checked.',
    examples: [
      { input: '2026-07-15', output: '2026-07-15' },
      { input: '5/7/2026', output: '2026-07-05' },
      { input: '20260715', output: '2026-07-15' },
      { input: '2026-07-15T10:00:00Z', output: '2026-07-15' },
      { input: '31/02/2026', error: 'day 31' },
      { input: '07-15-2026', error: 'not a date' },
    ],
    bind() {
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : recordDateToFhir(t);
      };
    },
  },
  {
    name: 'hl7Date',
    args: Args([]),
    returns: 'FHIR date',
    description: 'HL7 TS/DT → FHIR date (time of day dropped, precision kept).',
    examples: [
      { input: '19651213', output: '1965-12-13' },
      { input: '196512131515', output: '1965-12-13' },
      { input: '196512', output: '1965-12' },
      { input: '196513121515', error: 'month 13' },
      { input: '20230229', error: 'day 29' },
      { input: '', output: undefined },
    ],
    bind() {
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : hl7ToFhirDate(t);
      };
    },
  },
  {
    name: 'hl7DateTime',
    args: Args([]),
    returns: 'FHIR dateTime (or date)',
    description: 'HL7 TS/DTM → FHIR dateTime; local times get the Europe/London offset (GMT/BST).',
    examples: [
      { input: '202601151030', output: '2026-01-15T10:30:00+00:00' },
      { input: '20260715103045', output: '2026-07-15T10:30:45+01:00' },
      { input: '20260329005959', output: '2026-03-29T00:59:59+00:00' },
      { input: '20260329020000', output: '2026-03-29T02:00:00+01:00' },
      { input: '20261025013000', output: '2026-10-25T01:30:00+01:00' },
      { input: '20261025020000', output: '2026-10-25T02:00:00+00:00' },
      { input: '202607151030-0500', output: '2026-07-15T10:30:00-05:00' },
      { input: '20260715', output: '2026-07-15' },
      { input: '2026071510', output: '2026-07-15T10:00:00+01:00' },
      { input: '20260715103045.25', output: '2026-07-15T10:30:45.25+01:00' },
      { input: '2026-07-15', error: 'not an HL7 date/time' },
      { input: '202607152500', error: 'hour 25' },
    ],
    bind() {
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : hl7ToFhirDateTime(t);
      };
    },
  },
];
