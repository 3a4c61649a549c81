// How the viewer writes numbers, dates and ages (NHS.UK content style: "943 476 5919",
// "7 December 2026", "3 Dec 2026 at 2:05pm"). Instants are shown in UK time.

/** 10 digits as 3-3-4 ("943 476 5919"); anything else as it came. */
export function formatNhsNumber(value: unknown): string {
  const s = typeof value === 'string' ? value : '';
  return /^\d{10}$/.test(s) ? `${s.slice(0, 3)} ${s.slice(3, 6)} ${s.slice(6)}` : s;
}

const DAY = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
const MONTH = new Intl.DateTimeFormat('en-GB', { month: 'long', year: 'numeric', timeZone: 'UTC' });
const WHEN = new Intl.DateTimeFormat('en-GB', { day: 'numeric', month: 'short', year: 'numeric', hour: 'numeric', minute: '2-digit', hour12: true, timeZone: 'Europe/London' });

/**
 * A FHIR date or dateTime for people: `2026-12-03` → "3 December 2026", `2026-12` → "December
 * 2026", an instant → "3 Dec 2026 at 2:05pm" (UK time). Unreadable values are shown as they are.
 */
export function formatDate(value: unknown): string {
  if (typeof value !== 'string' || !value) return '';
  if (/^\d{4}$/.test(value)) return value;
  if (/^\d{4}-\d{2}$/.test(value)) return MONTH.format(new Date(`${value}-01T00:00:00Z`));
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return DAY.format(new Date(`${value}T00:00:00Z`));
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const parts = Object.fromEntries(WHEN.formatToParts(d).map((p) => [p.type, p.value]));
  return `${parts.day} ${parts.month} ${parts.year} at ${parts.hour}:${parts.minute}${(parts.dayPeriod ?? '').toLowerCase()}`;
}

/** "Female", "Male", "Other", "Unknown" (FHIR administrative gender, capitalised). */
export function formatGender(value: unknown): string {
  return typeof value === 'string' && value ? value.charAt(0).toUpperCase() + value.slice(1) : '';
}

/** A FHIR status code in words: `in-progress` → "In progress", `entered-in-error` → "Entered in error". */
export function formatStatus(value: unknown): string {
  if (typeof value !== 'string' || !value) return '';
  const words = value.replace(/[-_]+/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
