// The message search form: read from the query string leniently (a wrong field is shown on the
// form with a GOV.UK error message, never a bare 400), into the store's MessageFilter.
import { isValidNhsNumber, normaliseNhsNumber } from '../../../mappings/functions/nhs-number.js';
import { DESTINATION_STATUSES, MESSAGE_STATUSES, type DestinationStatus, type MessageFilter, type MessageStatus } from '../../../core/store.js';

export const PAGE_SIZE = 50;

export interface SearchForm {
  channel: string;
  status: string;
  destinationStatus: string;
  messageType: string;
  controlId: string;
  nhsNumber: string;
  from: string;
  to: string;
}

export interface ParsedSearch {
  form: SearchForm;
  filter: MessageFilter;
  errors: { field: keyof SearchForm; text: string }[];
  /** Some criterion was given (or a page after the first). */
  searched: boolean;
  /** The NHS number searched for: the search is audited against that patient. */
  patient?: string;
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim().slice(0, 200) : '');

/** `2026-12-07T10:30` (a datetime-local input, read as UTC) or a full ISO time. */
function parseTime(value: string): Date | undefined {
  if (!value) return undefined;
  const withZone = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?$/.test(value) ? `${value}Z` : value;
  const d = new Date(withZone);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The cursor of the next page: `<receivedAt ms>.<id>` of the last message shown. */
export function cursorOf(m: { receivedAt: Date; id: string }): string {
  return `${m.receivedAt.getTime()}.${m.id}`;
}

function parseCursor(value: string): MessageFilter['after'] {
  const match = /^(\d{1,15})\.([A-Za-z0-9-]{1,64})$/.exec(value);
  return match ? { receivedAt: new Date(Number(match[1])), id: match[2] } : undefined;
}

export function parseSearch(query: Record<string, unknown>, channels: string[]): ParsedSearch {
  const form: SearchForm = {
    channel: text(query.channel),
    status: text(query.status),
    destinationStatus: text(query.destinationStatus),
    messageType: text(query.messageType),
    controlId: text(query.controlId),
    nhsNumber: text(query.nhsNumber),
    from: text(query.from),
    to: text(query.to),
  };
  const errors: ParsedSearch['errors'] = [];
  if (form.channel && !channels.includes(form.channel)) errors.push({ field: 'channel', text: 'Choose a deployed channel' });
  if (form.status && !(MESSAGE_STATUSES as readonly string[]).includes(form.status)) errors.push({ field: 'status', text: 'Choose a status from the list' });
  if (form.destinationStatus && !(DESTINATION_STATUSES as readonly string[]).includes(form.destinationStatus)) errors.push({ field: 'destinationStatus', text: 'Choose a destination status from the list' });
  const compact = form.nhsNumber ? normaliseNhsNumber(form.nhsNumber) : undefined;
  const nhsNumber = compact && isValidNhsNumber(compact) ? compact : undefined;
  if (form.nhsNumber && !nhsNumber) errors.push({ field: 'nhsNumber', text: 'Enter a valid 10-digit NHS number, for example 943 476 5919' });
  const from = parseTime(form.from);
  const to = parseTime(form.to);
  if (form.from && !from) errors.push({ field: 'from', text: 'Enter the start as a date and time, for example 2026-12-07T09:00' });
  if (form.to && !to) errors.push({ field: 'to', text: 'Enter the end as a date and time, for example 2026-12-07T17:00' });
  if (from && to && from >= to) errors.push({ field: 'to', text: 'The end must be after the start' });
  const after = parseCursor(text(query.after));
  const filter: MessageFilter = {
    ...(form.channel ? { channel: form.channel } : {}),
    ...(form.status ? { status: form.status as MessageStatus } : {}),
    ...(form.destinationStatus ? { destinationStatus: form.destinationStatus as DestinationStatus } : {}),
    ...(form.messageType ? { messageType: form.messageType } : {}),
    ...(form.controlId ? { controlId: form.controlId } : {}),
    // The store keys people with an NHS number as `nhs:<number>`, as the API's patient search does.
    ...(nhsNumber ? { patientKey: `nhs:${nhsNumber}` } : {}),
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(after ? { after } : {}),
    limit: PAGE_SIZE + 1,
  };
  return { form, filter, errors, searched: Object.values(form).some(Boolean) || Boolean(after), ...(nhsNumber ? { patient: nhsNumber } : {}) };
}
