// The audit trail's filter form: read from the query string leniently (a wrong field is shown on
// the form with a GOV.UK error message, never a bare 400), into the trail's AuditFilter. Newest
// first; the next page starts before the last entry shown (`before=<seq>`).
import { isValidNhsNumber, normaliseNhsNumber } from '../../../mappings/functions/nhs-number.js';
import { AUDIT_CATEGORIES, AUDIT_OUTCOMES, type AuditCategory, type AuditFilter, type AuditOutcome } from '../../audit/types.js';

export const AUDIT_PAGE_SIZE = 50;

export interface AuditSearchForm {
  from: string;
  to: string;
  actor: string;
  category: string;
  action: string;
  patient: string;
  outcome: string;
}

export interface ParsedAuditSearch {
  form: AuditSearchForm;
  /** Asks for one entry more than a page, to know whether there is a next page. */
  filter: AuditFilter;
  errors: { field: keyof AuditSearchForm; text: string }[];
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 200) : '');

/** `2026-12-07T10:30` (a datetime-local input, read as UTC) or a full ISO time. */
export function parseUtcTime(value: string): Date | undefined {
  if (!value) return undefined;
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}Z` : value;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** An NHS number as the trail files it (10 digits, no spaces), or undefined when it is not one. */
export function trailPatient(value: string): string | undefined {
  const compact = normaliseNhsNumber(value);
  return compact && isValidNhsNumber(compact) ? compact : undefined;
}

export function parseAuditSearch(query: Record<string, unknown>, pageSize = AUDIT_PAGE_SIZE): ParsedAuditSearch {
  const form: AuditSearchForm = {
    from: text(query.from),
    to: text(query.to),
    actor: text(query.actor),
    category: text(query.category),
    action: text(query.action),
    patient: text(query.patient),
    outcome: text(query.outcome),
  };
  const errors: ParsedAuditSearch['errors'] = [];
  const from = parseUtcTime(form.from);
  const to = parseUtcTime(form.to);
  if (form.from && !from) errors.push({ field: 'from', text: 'Enter the start as a date and time, for example 2026-12-07T09:00' });
  if (form.to && !to) errors.push({ field: 'to', text: 'Enter the end as a date and time, for example 2026-12-07T17:00' });
  if (from && to && from >= to) errors.push({ field: 'to', text: 'The end must be after the start' });
  if (form.category && !(AUDIT_CATEGORIES as readonly string[]).includes(form.category)) errors.push({ field: 'category', text: 'Choose a kind of entry from the list' });
  if (form.outcome && !(AUDIT_OUTCOMES as readonly string[]).includes(form.outcome)) errors.push({ field: 'outcome', text: 'Choose an outcome from the list' });
  // The trail files people under the NHS number; anything else stored there (a local id) is matched as typed.
  const patient = form.patient ? (trailPatient(form.patient) ?? (/^[A-Za-z0-9:._-]{1,64}$/.test(form.patient) ? form.patient : undefined)) : undefined;
  if (form.patient && !patient) errors.push({ field: 'patient', text: 'Enter an NHS number, for example 943 476 5919' });
  const before = /^\d{1,15}$/.test(text(query.before)) ? Number(text(query.before)) : undefined;
  const filter: AuditFilter = {
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(form.actor ? { actor: form.actor } : {}),
    ...(form.category && !errors.some((e) => e.field === 'category') ? { category: form.category as AuditCategory } : {}),
    ...(form.action ? { action: form.action } : {}),
    ...(patient ? { patient } : {}),
    ...(form.outcome && !errors.some((e) => e.field === 'outcome') ? { outcome: form.outcome as AuditOutcome } : {}),
    ...(before !== undefined ? { beforeSeq: before } : {}),
    newestFirst: true,
    limit: pageSize + 1,
  };
  return { form, filter, errors };
}

/** The query string of the search as filled in (empty fields left out), e.g. for the next page's link. */
export function searchParams(form: AuditSearchForm, extra: Record<string, string> = {}): URLSearchParams {
  return new URLSearchParams({ ...Object.fromEntries(Object.entries(form).filter(([, v]) => v)), ...extra });
}
