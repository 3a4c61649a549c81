// CLD rows → one mapping input per person. A CLD extract has one row per event, repeating the
// person's fields on each; the shared care record wants one transaction Bundle per person.
// The mapping language maps one input to one output and has no date comparison, so this pure
// pre-step groups the rows and works out each event's FHIR status from its dates.
//
//   { person: {...}, asOf, events: [{..., fhirStatus}], caredFor: [...], sensitivity: [...] }
import type { CldRecord } from './cld-validate.js';

/** Fields about the person (and the submission), repeated on every row. */
export const CLD_PERSON_FIELDS = [
  'LA_Code',
  'LA_Name',
  'Reporting_Period_Start_Date',
  'Reporting_Period_End_Date',
  'LA_Person_Unique_Identifier',
  'NHS_Number',
  'GP_Practice_Code',
  'GP_Practice_Name',
  'Gender',
  'Ethnicity',
  'Date_of_Birth',
  'Date_of_Death',
  'Postcode',
  'Client_Type',
  'Primary_Support_Reason',
  'Accommodation_Status',
  'Employment_Status',
  'Has_Unpaid_Carer',
  'Autism_Spectrum_Disorder_ASD',
  'Visual_Impairment',
  'Hearing_Impairment',
  'Dementia',
  'Client_Funding_Status',
  'Total_Hrs_Caring_per_week',
  'No_of_adults_being_cared_for',
  'Allocated_Worker_ID',
  'Allocated_Worker_Name',
  'Allocated_Worker_Role',
  'Allocated_Team_Name',
  'Allocated_Team_Telephone',
] as const;

/** Fields about the row's one event. */
export const CLD_EVENT_FIELDS = [
  'Event_Type',
  'Event_Reference',
  'Event_Start_Date',
  'Event_End_Date',
  'Event_Description',
  'Event_Outcome',
  'Request_Route_of_Access',
  'Assessment_Type',
  'Eligible_Needs_Identified',
  'Method_of_Assessment',
  'Service_Type',
  'Service_Component',
  'Delivery_Mechanism',
  'Provider_CQC_Location_ID',
  'Provider_CQC_Location_Name',
  'Review_Reason',
  'Review_Outcomes_Achieved',
  'Method_of_Review',
  'Unit_Cost',
  'Cost_Frequency_Unit_Type',
  'Planned_units_per_week',
] as const;

const LINKED_PERSON_FIELDS = ['Adult_1_Linked_Person_ID', 'Adult_2_Linked_Person_ID', 'Adult_3_Linked_Person_ID'] as const;

export type CldEventStatus = 'planned' | 'active' | 'finished' | 'in-progress' | 'completed';

export interface CldEvent extends Record<string, unknown> {
  Event_Type: string;
  Event_Reference: string;
  /** The FHIR status of the resource this event becomes, judged at `asOf`. */
  fhirStatus: CldEventStatus;
}

export interface CldPersonInput {
  person: Record<string, unknown>;
  /** The date statuses are judged at (YYYY-MM-DD). */
  asOf: string;
  events: CldEvent[];
  /** Council person ids of the adults this person cares for (unpaid carers). */
  caredFor: string[];
  /** Every Sensitivity flag on the person's rows (Tramline extension); the mapping refuses any. */
  sensitivity: string[];
}

export interface GroupOptions {
  /**
   * Judge event statuses at this date (YYYY-MM-DD). Default: the rows' latest
   * Reporting_Period_End_Date, else today (UTC) — an extract re-sent gives the same result.
   */
  asOf?: string;
}

/** The grouping key of a row: council + person id. */
export function cldPersonKey(row: CldRecord): string {
  return `${String(row.LA_Code ?? '').toUpperCase()}|${String(row.LA_Person_Unique_Identifier ?? '')}`;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

/**
 * FHIR status from the event's dates at `asOf`. Dates are ISO, so text order is date order.
 * An event that ends on or before `asOf` is over; one that starts after it has not begun.
 */
export function cldEventStatus(eventType: string, start: string | undefined, end: string | undefined, asOf: string): CldEventStatus {
  const over = end !== undefined && end <= asOf;
  const notYet = start !== undefined && start > asOf;
  switch (eventType) {
    case 'Service':
      return over ? 'finished' : notYet ? 'planned' : 'active';
    case 'Request':
      return over ? 'completed' : 'active';
    default:
      return over ? 'finished' : notYet ? 'planned' : 'in-progress';
  }
}

function latestReportingEnd(rows: readonly CldRecord[]): string | undefined {
  let best: string | undefined;
  for (const r of rows) {
    const d = str(r.Reporting_Period_End_Date);
    if (d && (!best || d > best)) best = d;
  }
  return best;
}

/**
 * Build the mapping input for one person's rows (validated and normalised). Person fields come
 * from the most recent row that has them (latest Event_Start_Date; later rows win ties), so a
 * value missing from the newest row is still taken from an older one. Events are de-duplicated
 * by type + reference (the later row wins) and ordered by start date, then reference.
 */
export function toCldPersonInput(rows: readonly CldRecord[], options: GroupOptions = {}): CldPersonInput {
  if (!rows.length) throw new Error('toCldPersonInput needs at least one row');
  const key = cldPersonKey(rows[0]);
  if (rows.some((r) => cldPersonKey(r) !== key)) throw new Error('toCldPersonInput: rows belong to more than one person');
  const asOf = options.asOf ?? latestReportingEnd(rows) ?? new Date().toISOString().slice(0, 10);

  // Oldest first, so later assignments (newer rows) win.
  const byRecency = rows
    .map((row, index) => ({ row, index, start: str(row.Event_Start_Date) ?? '' }))
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : a.index - b.index));

  const person: Record<string, unknown> = {};
  const events = new Map<string, CldEvent>();
  const caredFor: string[] = [];
  const sensitivity: string[] = [];
  for (const { row } of byRecency) {
    for (const f of CLD_PERSON_FIELDS) if (row[f] !== undefined && row[f] !== '') person[f] = row[f];
    const flag = str(row.Sensitivity);
    if (flag && !sensitivity.includes(flag)) sensitivity.push(flag);
    const type = str(row.Event_Type);
    const ref = str(row.Event_Reference);
    if (type && ref) {
      const event: Record<string, unknown> = {};
      for (const f of CLD_EVENT_FIELDS) if (row[f] !== undefined && row[f] !== '') event[f] = row[f];
      event.fhirStatus = cldEventStatus(type, str(row.Event_Start_Date), str(row.Event_End_Date), asOf);
      events.set(`${type}|${ref}`, event as CldEvent);
    }
  }
  for (const row of rows) {
    for (const f of LINKED_PERSON_FIELDS) {
      const id = str(row[f]);
      if (id && !caredFor.includes(id)) caredFor.push(id);
    }
  }
  const orderedEvents = [...events.values()].sort((a, b) => {
    const sa = str(a.Event_Start_Date) ?? '';
    const sb = str(b.Event_Start_Date) ?? '';
    if (sa !== sb) return sa < sb ? -1 : 1;
    return a.Event_Reference < b.Event_Reference ? -1 : a.Event_Reference > b.Event_Reference ? 1 : 0;
  });
  return { person, asOf, events: orderedEvents, caredFor, sensitivity };
}

/** Group validated, normalised rows by person (first-seen order) into mapping inputs. */
export function groupCldRows(rows: readonly CldRecord[], options: GroupOptions = {}): CldPersonInput[] {
  const groups = new Map<string, CldRecord[]>();
  for (const row of rows) {
    const k = cldPersonKey(row);
    const list = groups.get(k);
    if (list) list.push(row);
    else groups.set(k, [row]);
  }
  return [...groups.values()].map((g) => toCldPersonInput(g, options));
}
