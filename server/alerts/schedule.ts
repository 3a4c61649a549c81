// When a feed is expected to be busy: a rule's hours and days in its time zone.
import type { AlertRule, Weekday } from './rules.js';

const formats = new Map<string, Intl.DateTimeFormat>();

function localParts(at: Date, timeZone: string): { day: Weekday; minutes: number } {
  let f = formats.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formats.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(at).map((p) => [p.type, p.value]));
  return { day: parts.weekday.slice(0, 3).toLowerCase() as Weekday, minutes: Number(parts.hour) * 60 + Number(parts.minute) };
}

export function expectedAt(rule: Pick<AlertRule, 'hours' | 'days' | 'timeZone'>, at: Date): boolean {
  const { day, minutes } = localParts(at, rule.timeZone);
  if (rule.days && !rule.days.includes(day)) return false;
  if (rule.hours && (minutes < rule.hours[0] || minutes >= rule.hours[1])) return false;
  return true;
}

/** The whole look-back window lies in expected hours: a feed is not "silent" for the quiet night before 08:00. */
export function silenceCounts(rule: Pick<AlertRule, 'hours' | 'days' | 'timeZone' | 'minutes'>, now: Date): boolean {
  return expectedAt(rule, now) && expectedAt(rule, new Date(now.getTime() - rule.minutes * 60_000));
}
