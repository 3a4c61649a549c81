// The search parameters the sandbox understands, per resource type, as element paths in its
// index. Enough for what the social care flow writes and what the viewer reads; anything else
// is refused with 400 rather than silently ignored (an ignored filter returns other people's
// records). The CapabilityStatement is built from the same tables, so it lists only what works.

export interface ReferenceParam {
  /** Element paths (as indexed) that the parameter searches. */
  paths: readonly string[];
  /** Only references to this type count (e.g. `patient` is the subject when it is a Patient). */
  target?: string;
}

const COMMON: Record<string, ReferenceParam> = {
  patient: { paths: ['patient', 'subject', 'beneficiary'], target: 'Patient' },
  subject: { paths: ['subject'] },
  encounter: { paths: ['encounter', 'context'] },
  'episode-of-care': { paths: ['episodeOfCare'] },
  'care-manager': { paths: ['careManager'] },
  organization: { paths: ['managingOrganization', 'organization'] },
  'general-practitioner': { paths: ['generalPractitioner'] },
  participant: { paths: ['participant.member', 'participant.individual'] },
  practitioner: { paths: ['participant.individual', 'practitioner'], target: 'Practitioner' },
  'based-on': { paths: ['basedOn'] },
  requester: { paths: ['requester'] },
  performer: { paths: ['performer'] },
  'service-provider': { paths: ['serviceProvider'] },
  'part-of': { paths: ['partOf'] },
  partof: { paths: ['partOf'] },
  'incoming-referral': { paths: ['referralRequest'] },
  team: { paths: ['team'] },
  link: { paths: ['link.other'] },
  author: { paths: ['author'] },
};

/** Type-specific meanings that differ from the common table. */
const PATHS_BY_TYPE: Record<string, Record<string, ReferenceParam>> = {
  Patient: { organization: { paths: ['managingOrganization'] } },
  EpisodeOfCare: { organization: { paths: ['managingOrganization'] } },
  CareTeam: { participant: { paths: ['participant.member'] } },
};

interface TypeParams {
  /** Reference parameters (FHIR R4 names) this type has. */
  references: readonly string[];
  /** Whether FHIR R4 gives the type a `status` token parameter. */
  status: boolean;
  /** String and date parameters (only Patient's name and birth date are indexed). */
  strings?: readonly string[];
  dates?: readonly string[];
}

/** The types the social care flow writes and the viewer reads, with their R4 parameters the index serves. */
const LISTED: Record<string, TypeParams> = {
  Patient: { references: ['general-practitioner', 'link', 'organization'], status: false, strings: ['name', 'family', 'given'], dates: ['birthdate'] },
  Organization: { references: ['partof'], status: false },
  Practitioner: { references: [], status: false },
  PractitionerRole: { references: ['organization', 'practitioner'], status: false },
  RelatedPerson: { references: ['patient'], status: false },
  EpisodeOfCare: { references: ['care-manager', 'incoming-referral', 'organization', 'patient', 'team'], status: true },
  Encounter: { references: ['based-on', 'episode-of-care', 'part-of', 'participant', 'patient', 'practitioner', 'service-provider', 'subject'], status: true },
  ServiceRequest: { references: ['based-on', 'encounter', 'patient', 'performer', 'requester', 'subject'], status: true },
  Condition: { references: ['encounter', 'patient', 'subject'], status: false },
  CarePlan: { references: ['based-on', 'encounter', 'part-of', 'patient', 'subject'], status: true },
  CareTeam: { references: ['encounter', 'participant', 'patient', 'subject'], status: true },
  Flag: { references: ['author', 'encounter', 'patient', 'subject'], status: true },
  Observation: { references: ['based-on', 'encounter', 'part-of', 'patient', 'performer', 'subject'], status: true },
};

export const LISTED_TYPES = Object.keys(LISTED);

/** Types the sandbox stores but does not list: the common parameters, as before. */
const UNLISTED: TypeParams = { references: Object.keys(COMMON), status: true };

const paramsOf = (resourceType: string): TypeParams => LISTED[resourceType] ?? UNLISTED;

export function referenceParam(resourceType: string, name: string): ReferenceParam | undefined {
  if (!paramsOf(resourceType).references.includes(name)) return undefined;
  return PATHS_BY_TYPE[resourceType]?.[name] ?? COMMON[name];
}

export function referenceParamNames(resourceType: string): string[] {
  return [...paramsOf(resourceType).references].sort();
}

export const hasStatusParam = (resourceType: string): boolean => paramsOf(resourceType).status;
export const isStringParam = (resourceType: string, name: string): boolean => paramsOf(resourceType).strings?.includes(name) ?? false;
export const isDateParam = (resourceType: string, name: string): boolean => paramsOf(resourceType).dates?.includes(name) ?? false;
export const stringParamNames = (resourceType: string): readonly string[] => paramsOf(resourceType).strings ?? [];
export const dateParamNames = (resourceType: string): readonly string[] => paramsOf(resourceType).dates ?? [];

/** Result parameters accepted and handled (or harmlessly ignored, like `_format`). */
export const RESULT_PARAMS = new Set(['_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_count', '_format', '_total', '_sort']);
