// What the clinicians' viewer shows, independent of where it came from: the record module
// (record.ts) builds these from the shared care record's FHIR resources; the pages (pages/)
// render them with NHS.UK frontend. Nothing here holds FHIR types, so pages never reach into
// resources and the record module never formats HTML.

/** Where an item came from and how fresh it is ("Blackpool Council, Mosaic, updated 3 Dec 2026"). */
export interface Provenance {
  /** Organisation name (or ODS code when the name is unknown). */
  organisation?: string;
  /** Sending system, from meta.source or the identifier system. */
  system?: string;
  /** ISO instant of meta.lastUpdated. */
  lastUpdated?: string;
}

/** One row of a search result: enough demographics to tell people apart. */
export interface PersonSummary {
  /** Opaque id used in the record page URL (the FHIR Patient id, or several joined). */
  id: string;
  name: string;
  /** 10 digits, no spaces; pages show it 3-3-4. */
  nhsNumber?: string;
  /** YYYY-MM-DD (or YYYY / YYYY-MM when that is all that is known). */
  birthDate?: string;
  gender?: string;
  /** One line, e.g. "1 Talbot Road, Blackpool, FY1 1AA". */
  address?: string;
  postcode?: string;
  deceased?: boolean;
}

export interface FindByNhsNumber {
  kind: 'nhs-number';
  nhsNumber: string;
}

export interface FindByDemographics {
  kind: 'demographics';
  family: string;
  /** YYYY-MM-DD */
  birthDate: string;
  given?: string;
  postcode?: string;
  gender?: 'male' | 'female' | 'other' | 'unknown';
}

export type FindQuery = FindByNhsNumber | FindByDemographics;

export interface Contact {
  name?: string;
  role?: string;
  phone?: string;
  email?: string;
}

/** A social care service (EpisodeOfCare): current when `end` is absent or in the future. */
export interface CareService {
  title: string;
  category?: string;
  status: string;
  start?: string;
  end?: string;
  current: boolean;
  provenance: Provenance;
}

/** Requests, assessments and reviews: social care events with an outcome. */
export interface CareEvent {
  kind: 'request' | 'assessment' | 'review';
  title: string;
  status: string;
  start?: string;
  end?: string;
  outcome?: string;
  provenance: Provenance;
}

export interface AllocatedWorker {
  worker?: Contact;
  team?: Contact;
  provenance: Provenance;
}

export interface Carer {
  name?: string;
  relationship?: string;
  phone?: string;
  provenance: Provenance;
}

/** A hospital stay or attendance (Encounter from ADT). */
export interface HospitalEncounter {
  /** e.g. "Inpatient", "Emergency". */
  class?: string;
  /** e.g. "in-progress", "finished". */
  status: string;
  admitted?: string;
  discharged?: string;
  /** Current or last ward/bed, e.g. "Ward 3, Bed 12". */
  ward?: string;
  /** Earlier locations, oldest first, for transfers. */
  transfers: { location: string; from?: string; to?: string }[];
  consultant?: string;
  hospital?: string;
  dischargeDestination?: string;
  provenance: Provenance;
}

export interface TimelineItem {
  /** ISO date or instant the item happened (start, or end for a discharge). */
  at: string;
  area: 'social care' | 'hospital';
  title: string;
  detail?: string;
  provenance: Provenance;
}

/** A problem or diagnosis (Condition): the social care primary support reason, hospital diagnoses. */
export interface Problem {
  area: 'social care' | 'hospital';
  title: string;
  /** Clinical status, e.g. "active". */
  status?: string;
  /** When it was recorded (or began), ISO date or instant. */
  recorded?: string;
  provenance: Provenance;
}

/** A warning to show above the record (Flag), e.g. a safety concern; only active ones are listed. */
export interface Alert {
  title: string;
  status: string;
  start?: string;
  end?: string;
  provenance: Provenance;
}

/** The patient banner (NHS.UK pattern). */
export interface Banner {
  name: string;
  nhsNumber?: string;
  birthDate?: string;
  /** Whole years at today's date (or at death). */
  age?: number;
  gender?: string;
  address?: string;
  gpPractice?: string;
  deceased?: string;
}

export interface PersonRecord {
  banner: Banner;
  /** Every NHS number and local identifier the record merged, for the audit entry. */
  identifiers: { system: string; value: string }[];
  socialCare: {
    services: CareService[];
    events: CareEvent[];
    allocated: AllocatedWorker[];
    carers: Carer[];
  };
  hospital: { encounters: HospitalEncounter[] };
  /** Conditions from both areas, newest first. */
  problems: Problem[];
  /** Active Flags. */
  alerts: Alert[];
  /** Both areas, newest first. */
  timeline: TimelineItem[];
}

/** What the pages need from the shared care record; record.ts implements it. */
export interface ViewerData {
  find(query: FindQuery): Promise<PersonSummary[]>;
  /** Undefined when there is no such person (or every resource for them is excluded). */
  record(personId: string): Promise<PersonRecord | undefined>;
}

/** The shared care record could not be reached or answered with a server error. */
export class RecordUnavailableError extends Error {
  constructor(message: string, override readonly cause?: unknown) {
    super(message);
    this.name = 'RecordUnavailableError';
  }
}

/** The shared care record refused a request (a 4xx other than a timeout): configuration or a bad query. */
export class RecordRequestError extends Error {
  constructor(
    message: string,
    readonly status?: number,
    override readonly cause?: unknown,
  ) {
    super(message);
    this.name = 'RecordRequestError';
  }
}

/** A find query the viewer cannot run (e.g. an NHS number that is not 10 digits); the message says why. */
export class InvalidQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidQueryError';
  }
}
