// The ADW message events (MessageHeader.event, SNOMED CT) and what each requires: one table, read
// by the checks, the notice extraction and the response builder.

export const SNOMED = 'http://snomed.info/sct';
export const ODS_ENDPOINT_PREFIX = 'urn:nhs-uk:addressing:ods:';

export type NoticeType = 'assessment' | 'discharge' | 'withdrawal' | 'admission';
export type Withdrawn = 'all' | 'assessment-only' | 'discharge-only';
export type Answer = 'accept' | 'reject';

export interface NoticeEvent {
  kind: 'notice';
  code: string;
  display: string;
  type: NoticeType;
  withdrawn?: Withdrawn;
  /** Resource types the notice must carry (beyond MessageHeader). */
  requires: readonly string[];
  /** The response events, when the notice is answered. */
  responses?: Record<Answer, string>;
}

export interface ResponseEvent {
  kind: 'response';
  code: string;
  display: string;
  answers: NoticeType;
  answer: Answer;
  /** MessageHeader profile of the response (ADW-<Name>-MessageHeader-1). */
  profile: string;
}

const NOTICE_PARTIES = ['ReferralRequest', 'Encounter', 'Patient', 'Practitioner', 'Organization', 'Location'] as const;

export const NOTICE_EVENTS: readonly NoticeEvent[] = [
  {
    kind: 'notice', code: '975701000000106', display: 'Assessment Notice', type: 'assessment',
    requires: [...NOTICE_PARTIES, 'QuestionnaireResponse', 'Condition'],
    responses: { accept: '975711000000108', reject: '975721000000102' },
  },
  {
    kind: 'notice', code: '975731000000100', display: 'Discharge Notice', type: 'discharge',
    requires: [...NOTICE_PARTIES, 'QuestionnaireResponse'],
    responses: { accept: '975821000000109', reject: '975831000000106' },
  },
  ...([
    ['975841000000102', 'Withdraw All Notices', 'all'],
    ['1078011000000107', 'Withdraw Assessment Only', 'assessment-only'],
    ['975851000000104', 'Withdraw Discharge Only', 'discharge-only'],
  ] as const).map(([code, display, withdrawn]): NoticeEvent => ({
    kind: 'notice', code, display, type: 'withdrawal', withdrawn, requires: NOTICE_PARTIES,
    responses: { accept: '1025651000000109', reject: '1025641000000106' },
  })),
  // The admission notice (in NHS England's examples) tells the council of an admission; it carries
  // no ReferralRequest (the Encounter is its data) and is not answered.
  {
    kind: 'notice', code: '895571000000108', display: 'Admission Notice', type: 'admission',
    requires: ['Encounter', 'Patient', 'Practitioner', 'Organization', 'Location', 'Condition'],
  },
];

const STRUCTURE = 'https://fhir.nhs.uk/StructureDefinition/';

export const RESPONSE_EVENTS: readonly ResponseEvent[] = [
  { kind: 'response', code: '975711000000108', display: 'Assessment Notice Accept', answers: 'assessment', answer: 'accept', profile: `${STRUCTURE}ADW-AssessmentNoticeAcceptResponse-MessageHeader-1` },
  { kind: 'response', code: '975721000000102', display: 'Assessment Notice Reject', answers: 'assessment', answer: 'reject', profile: `${STRUCTURE}ADW-AssessmentNoticeRejectResponse-MessageHeader-1` },
  { kind: 'response', code: '975821000000109', display: 'Discharge Agreement', answers: 'discharge', answer: 'accept', profile: `${STRUCTURE}ADW-DischargeNoticeAcceptResponse-MessageHeader-1` },
  { kind: 'response', code: '975831000000106', display: 'Discharge Disagreement', answers: 'discharge', answer: 'reject', profile: `${STRUCTURE}ADW-DischargeNoticeRejectResponse-MessageHeader-1` },
  { kind: 'response', code: '1025651000000109', display: 'Withdraw Accept', answers: 'withdrawal', answer: 'accept', profile: `${STRUCTURE}ADW-WithdrawalNoticeAcceptResponse-MessageHeader-1` },
  { kind: 'response', code: '1025641000000106', display: 'Withdraw Reject', answers: 'withdrawal', answer: 'reject', profile: `${STRUCTURE}ADW-WithdrawalNoticeRejectResponse-MessageHeader-1` },
];

export function adwEvent(code: string | undefined): NoticeEvent | ResponseEvent | undefined {
  return NOTICE_EVENTS.find((e) => e.code === code) ?? RESPONSE_EVENTS.find((e) => e.code === code);
}

export const REASON_SYSTEMS = {
  accept: 'https://fhir.nhs.uk/ADW-NoticeAcceptReason-1',
  reject: 'https://fhir.nhs.uk/ADW-NoticeRejectReason-1',
  withdrawal: 'https://fhir.nhs.uk/ADW-WithdrawalReason-1',
} as const;

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
