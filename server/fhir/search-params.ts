// The search parameters the sandbox understands, as element paths in its index. Enough for
// what the social care flow writes and what the viewer reads; anything else is refused
// with 400 rather than silently ignored (an ignored filter returns other people's records).

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
  'incoming-referral': { paths: ['referralRequest'] },
  team: { paths: ['team'] },
  link: { paths: ['link.other'] },
  author: { paths: ['author'] },
};

/** Type-specific meanings that differ from the common table. */
const BY_TYPE: Record<string, Record<string, ReferenceParam>> = {
  Patient: { organization: { paths: ['managingOrganization'] } },
  EpisodeOfCare: { organization: { paths: ['managingOrganization'] } },
  CareTeam: { participant: { paths: ['participant.member'] } },
};

export function referenceParam(resourceType: string, name: string): ReferenceParam | undefined {
  return BY_TYPE[resourceType]?.[name] ?? COMMON[name];
}

export function referenceParamNames(): string[] {
  return Object.keys(COMMON).sort();
}

/** Result parameters accepted and handled (or harmlessly ignored, like `_format`). */
export const RESULT_PARAMS = new Set(['_include', '_revinclude', '_include:iterate', '_revinclude:iterate', '_count', '_format', '_total', '_sort']);
