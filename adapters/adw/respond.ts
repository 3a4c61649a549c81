// Builds the council's answer to an ADW notice, shaped as NHS England's response examples are:
// a message Bundle whose MessageHeader answers the notice (response.identifier = the notice's
// MessageHeader id, code ok) from the council's ODS endpoint back to the hospital's, with the
// coded reason, and the resources the examples carry (ReferralRequest with the episode identifier,
// Encounter, Patient, the hospital's liaison and the council's responder, hospital, council, team,
// ward). Also the infrastructure rejection for a message that cannot be read or checked.
import { randomUUID } from 'node:crypto';
import { isObject, messageHeader, objects, ofType, referralRequest, resolve, str } from './bundle.js';
import type { AdwIssue } from './check.js';
import { adwEvent, NOTICE_EVENTS, ODS_ENDPOINT_PREFIX, REASON_SYSTEMS, RESPONSE_EVENTS, SNOMED, type Answer } from './events.js';
import { resourceToXml, type Json, type JsonObject } from './fhir-dstu2.js';
import type { AdwFormat } from './parse.js';

const SD = 'https://fhir.nhs.uk/StructureDefinition/';
const CC = 'https://fhir.hl7.org.uk/StructureDefinition/';
const SDS_JOB_ROLE = 'https://fhir.hl7.org.uk/CareConnect-SDSJobRoleName-1';

export interface AdwReason {
  /** A code from ADW-NoticeAcceptReason-1 or ADW-NoticeRejectReason-1, e.g. OFT "Other - Free Text". */
  code: string;
  display: string;
  /** Free text; the spec's examples give it with OFT. */
  text?: string;
}

/** The council's person answering (the response's MessageHeader.author). */
export interface Responder {
  family: string;
  given: string[];
  phone?: string;
  email?: string;
  /** SDS job role, e.g. R1340 "Approved Social Worker". */
  role?: { code: string; display: string };
}

export interface ResponseOptions {
  answer: Answer;
  reason: AdwReason;
  responder: Responder;
  /**
   * Resources the answer attaches (NHS England's discharge agreement example attaches an ITK
   * document Bundle, a letter as PDF): added as entries, referenced from the ReferralRequest's
   * supportingInformation. Each needs an id.
   */
  supportingDocuments?: JsonObject[];
  /**
   * A letter to attach as NHS England's discharge agreement example does: an ITK document Bundle
   * (ITK-Document-Bundle-1) holding a DocumentReference (type "Letter", from the responder, held by
   * the council, to the hospital liaison), the Patient, both practitioners, the council and the
   * file as a Binary. Referenced from the ReferralRequest's supportingInformation.
   */
  letter?: Letter;
  now?: Date;
  newId?: () => string;
}

/** A file sent with an answer (see ResponseOptions.letter). */
export interface Letter {
  content: Buffer;
  /** MIME type, e.g. application/pdf. */
  contentType: string;
  /** The ITK care setting of the sender (SNOMED CT), e.g. 408458006 "Specialist multidisciplinary team". */
  careSetting?: { code: string; display: string };
}

/** MIME types a letter may have: documents, not anything a reader's system might run. */
export const LETTER_TYPES = ['application/pdf', 'text/plain', 'text/html', 'application/rtf', 'image/png', 'image/jpeg', 'image/tiff',
  'application/msword', 'application/vnd.openxmlformats-officedocument.wordprocessingml.document'] as const;

export class AdwResponseError extends Error {}

/** The response Bundle (DSTU2 JSON) answering `notice`. */
export function buildResponse(notice: JsonObject, options: ResponseOptions): JsonObject {
  const header = messageHeader(notice);
  const event = adwEvent(isObject(header?.event) ? str(header.event.code) : undefined);
  if (!header || event?.kind !== 'notice' || !event.responses) {
    throw new AdwResponseError('only an assessment, discharge or withdrawal notice can be answered');
  }
  const responseEvent = RESPONSE_EVENTS.find((e) => e.code === event.responses?.[options.answer]);
  if (!responseEvent) throw new AdwResponseError('no response event for this notice');
  const newId = options.newId ?? randomUUID;
  const now = options.now ?? new Date();

  const referral = referralRequest(notice)?.resource;
  const encounter = resolve(notice, referral?.encounter)?.resource ?? ofType(notice, 'Encounter')[0]?.resource;
  const patient = resolve(notice, referral?.patient)?.resource ?? ofType(notice, 'Patient')[0]?.resource;
  const liaison = resolve(notice, header.author)?.resource ?? resolve(notice, referral?.requester)?.resource;
  const hospital = resolve(notice, encounter?.serviceProvider)?.resource;
  const council = resolve(notice, header.receiver)?.resource;
  const team =
    ofType(notice, 'Organization').find((o) => council && resolve(notice, o.resource.partOf)?.resource === council)?.resource ??
    (resolve(notice, objects(referral?.recipient)[0])?.resource !== council ? resolve(notice, objects(referral?.recipient)[0])?.resource : undefined);
  const ward = objects(encounter?.location).map((l) => resolve(notice, l.location)?.resource).find(Boolean);
  if (!referral || !encounter || !patient || !liaison || !hospital || !council) {
    throw new AdwResponseError('the notice lacks a resource its response must carry');
  }

  // Every resource gets a new id; references are rewritten to the new fullUrls.
  const ids = { header: newId(), referral: newId(), encounter: newId(), patient: newId(), liaison: newId(), responder: newId(),
    hospital: newId(), council: newId(), team: newId(), ward: newId() };
  const ref = (id: string): JsonObject => ({ reference: `urn:uuid:${id}` });
  const meta = (profile: string): JsonObject => ({ profile: [profile] });
  const source = endpointOf(header.source);
  const destination = endpointOf(objects(header.destination)[0]);

  const responseHeader: JsonObject = {
    resourceType: 'MessageHeader',
    id: ids.header,
    meta: meta(responseEvent.profile),
    timestamp: isoSeconds(now),
    event: { system: SNOMED, code: responseEvent.code },
    response: { identifier: str(header.id) ?? '', code: 'ok' },
    source: { endpoint: destination },
    destination: [{ endpoint: source }],
    author: ref(ids.responder),
    receiver: ref(ids.liaison),
    responsible: ref(ids.council),
    reason: {
      coding: [{ system: REASON_SYSTEMS[options.answer], code: options.reason.code, display: options.reason.display }],
      ...(options.reason.text ? { text: options.reason.text } : {}),
    },
    data: [ref(ids.referral)],
  };
  const status = event.type === 'withdrawal' ? 'cancelled' : options.answer === 'accept' ? 'accepted' : 'rejected';
  const referralProfile = event.type === 'withdrawal' ? 'ADW-Cancel-ReferralRequest-1' : options.answer === 'accept' ? 'ADW-Accept-ReferralRequest-1' : 'ADW-Reject-ReferralRequest-1';
  const responseReferral: JsonObject = {
    resourceType: 'ReferralRequest',
    id: ids.referral,
    meta: meta(`${SD}${referralProfile}`),
    status,
    identifier: referral.identifier ?? [],
    patient: ref(ids.patient),
    requester: ref(ids.liaison),
    recipient: [ref(team ? ids.team : ids.council)],
    encounter: ref(ids.encounter),
  };
  const documents = [...(options.supportingDocuments ?? [])];
  if (options.letter) {
    documents.push(letterBundle(options.letter, { patient, liaison, responder: options.responder, council, now, newId }));
  }
  if (documents.some((d) => !str(d.id) || !str(d.resourceType))) throw new AdwResponseError('a supporting document needs a resourceType and an id');
  if (documents.length) responseReferral.supportingInformation = documents.map((d) => ref(String(d.id)));
  const responseEncounter: JsonObject = pick({ resourceType: 'Encounter', id: ids.encounter, meta: meta(`${SD}CareConnect-ADW-Encounter-1`) }, encounter, ['identifier', 'status', 'class']);
  responseEncounter.patient = ref(ids.patient);
  if (ward) responseEncounter.location = [{ location: ref(ids.ward) }];
  responseEncounter.serviceProvider = ref(ids.hospital);

  const responsePatient = pick({ resourceType: 'Patient', id: ids.patient, meta: meta(`${CC}CareConnect-Patient-1`) }, patient, []);
  responsePatient.identifier = objects(patient.identifier).map((i) => (i.assigner ? { ...i, assigner: ref(ids.hospital) } : i));
  Object.assign(responsePatient, pick({}, patient, ['name', 'gender', 'birthDate']));

  const practitionerOf = (id: string, name: JsonObject, telecom: JsonObject[], org: string, role: Json | undefined): JsonObject => ({
    resourceType: 'Practitioner', id, meta: meta(`${CC}CareConnect-Practitioner-1`), name,
    ...(telecom.length ? { telecom } : {}),
    practitionerRole: [{ managingOrganization: ref(org), ...(role ? { role } : {}) }],
  });
  const liaisonRole = objects(liaison.practitionerRole).map((r) => r.role).find((r) => r !== undefined);
  const responseLiaison = practitionerOf(ids.liaison, isObject(liaison.name) ? liaison.name : {}, objects(liaison.telecom), ids.hospital, liaisonRole);
  const r = options.responder;
  const responder = practitionerOf(
    ids.responder,
    { family: [r.family], given: r.given },
    [...(r.email ? [{ system: 'email', value: r.email }] : []), ...(r.phone ? [{ system: 'phone', value: r.phone }] : [])],
    team ? ids.team : ids.council,
    r.role ? { coding: [{ system: SDS_JOB_ROLE, code: r.role.code, display: r.role.display }] } : undefined,
  );
  const org = (id: string, from: JsonObject, extra: JsonObject = {}): JsonObject =>
    ({ ...pick({ resourceType: 'Organization', id, meta: meta(`${CC}CareConnect-Organization-1`) }, from, ['identifier', 'type', 'name']), ...extra });

  const resources: JsonObject[] = [
    responseHeader, responseReferral, responseEncounter, responsePatient, responseLiaison, responder,
    org(ids.hospital, hospital), org(ids.council, council),
    ...(team ? [org(ids.team, team, { partOf: ref(ids.council) })] : []),
    ...(ward ? [{ ...pick({ resourceType: 'Location', id: ids.ward, meta: meta(`${CC}CareConnect-Location-1`) }, ward, ['name']), managingOrganization: ref(ids.hospital) }] : []),
    ...documents,
  ];
  return messageBundle(newId(), resources);
}

/**
 * The infrastructure rejection of a message Tramline could not read or check: a message Bundle
 * whose MessageHeader answers the original (when its id is known) with `fatal-error` and an
 * OperationOutcome in `details` listing each problem (path and reason, no patient values).
 */
export function buildRejection(
  original: JsonObject | undefined,
  issues: readonly AdwIssue[],
  ours: { ods: string; theirs?: string },
  options: { now?: Date; newId?: () => string } = {},
): JsonObject {
  const newId = options.newId ?? randomUUID;
  const header = original ? messageHeader(original) : undefined;
  const headerId = newId();
  const outcomeId = newId();
  const theirs = ours.theirs ?? endpointOf(header?.source).slice(ODS_ENDPOINT_PREFIX.length);
  const event = isObject(header?.event) ? header.event : undefined;
  const knownEvent = adwEvent(str(event?.code));
  const outcome: JsonObject = {
    resourceType: 'OperationOutcome',
    id: outcomeId,
    issue: (issues.length ? issues : [{ path: '', reason: 'message not readable' }]).map((i) => ({
      severity: 'error',
      code: i.path === '' ? 'structure' : i.path.endsWith('event.code') ? 'not-supported' : 'invalid',
      diagnostics: i.reason,
      ...(i.path ? { location: [i.path] } : {}),
    })),
  };
  const responseHeader: JsonObject = {
    resourceType: 'MessageHeader',
    id: headerId,
    timestamp: isoSeconds(options.now ?? new Date()),
    // The event answered, when it could be read; otherwise the first ADW event stands in, as
    // MessageHeader.event is required.
    event: { system: SNOMED, code: knownEvent ? knownEvent.code : str(event?.code) ?? NOTICE_EVENTS[0].code },
    response: { identifier: str(header?.id) ?? 'unknown', code: 'fatal-error', details: { reference: `urn:uuid:${outcomeId}` } },
    source: { endpoint: `${ODS_ENDPOINT_PREFIX}${ours.ods}` },
    ...(theirs ? { destination: [{ endpoint: `${ODS_ENDPOINT_PREFIX}${theirs}` }] } : {}),
  };
  return messageBundle(newId(), [responseHeader, outcome]);
}

/** The response in the format its notice came in. */
export function serialiseAdw(bundle: JsonObject, format: AdwFormat): string {
  return format === 'xml' ? `<?xml version="1.0" encoding="UTF-8"?>\n${resourceToXml(bundle)}` : `${JSON.stringify(bundle, null, 2)}\n`;
}

const ITK = 'https://fhir.nhs.uk/StructureDefinition/';

/** The ITK document Bundle carrying a letter (see ResponseOptions.letter). */
function letterBundle(
  letter: Letter,
  from: { patient: JsonObject; liaison: JsonObject; responder: Responder; council: JsonObject; now: Date; newId: () => string },
): JsonObject {
  if (!(LETTER_TYPES as readonly string[]).includes(letter.contentType)) throw new AdwResponseError(`a letter of type ${letter.contentType.slice(0, 80)} cannot be attached (${LETTER_TYPES.join(', ')})`);
  if (!letter.content.length) throw new AdwResponseError('the letter is empty');
  const ids = { bundle: from.newId(), reference: from.newId(), recipient: from.newId(), patient: from.newId(), author: from.newId(), custodian: from.newId(), binary: from.newId() };
  const ref = (id: string): JsonObject => ({ reference: `urn:uuid:${id}` });
  const meta = (profile: string): JsonObject => ({ profile: [profile] });
  // Within the document, practitioners carry their role but no organisation, and the patient's
  // identifiers no assigner: the document stands alone.
  const practitioner = (id: string, p: JsonObject): JsonObject => ({
    resourceType: 'Practitioner', id, meta: meta(`${CC}CareConnect-Practitioner-1`), ...pick({}, p, ['name', 'telecom']),
    practitionerRole: objects(p.practitionerRole).map((r) => pick({}, r, ['role'])).filter((r) => Object.keys(r).length),
  });
  const liaisonRole = objects(from.liaison.practitionerRole).map((r) => r.role).find((r) => r !== undefined);
  const r = from.responder;
  const reference: JsonObject = {
    resourceType: 'DocumentReference',
    id: ids.reference,
    meta: meta(`${ITK}ITK-DocumentReference-1`),
    extension: [
      { url: `${ITK}Extension-ITK-InformationRecipient-1`, valueReference: ref(ids.recipient) },
      ...(letter.careSetting ? [{ url: `${ITK}Extension-ITK-CareSettingType-1`, valueCodeableConcept: { coding: [{ system: SNOMED, code: letter.careSetting.code, display: letter.careSetting.display }] } }] : []),
    ],
    subject: ref(ids.patient),
    type: { coding: [{ system: SNOMED, code: '823751000000102', display: 'Letter (record artifact)' }] },
    author: [ref(ids.author)],
    custodian: ref(ids.custodian),
    indexed: isoSeconds(from.now),
    status: 'current',
    docStatus: { coding: [{ system: 'http://hl7.org/fhir/composition-status', code: 'final', display: 'Final' }] },
    content: [{ attachment: { url: `urn:uuid:${ids.binary}` } }],
  };
  const resources: JsonObject[] = [
    reference,
    { ...practitioner(ids.recipient, from.liaison), ...(liaisonRole ? { practitionerRole: [{ role: liaisonRole }] } : {}) },
    {
      resourceType: 'Patient', id: ids.patient, meta: meta(`${CC}CareConnect-Patient-1`),
      identifier: objects(from.patient.identifier).map((i) => { const { assigner: _assigner, ...rest } = i; return rest; }),
      ...pick({}, from.patient, ['name', 'gender', 'birthDate']),
    },
    practitioner(ids.author, {
      name: { family: [r.family], given: r.given },
      ...(r.email || r.phone ? { telecom: [...(r.email ? [{ system: 'email', value: r.email }] : []), ...(r.phone ? [{ system: 'phone', value: r.phone }] : [])] } : {}),
      ...(r.role ? { practitionerRole: [{ role: { coding: [{ system: SDS_JOB_ROLE, code: r.role.code, display: r.role.display }] } }] } : {}),
    }),
    pick({ resourceType: 'Organization', id: ids.custodian, meta: meta(`${CC}CareConnect-Organization-1`) }, from.council, ['identifier', 'type', 'name']),
    { resourceType: 'Binary', id: ids.binary, meta: meta(`${ITK}ITK-Binary-1`), contentType: letter.contentType, content: letter.content.toString('base64') },
  ];
  return {
    resourceType: 'Bundle', id: ids.bundle, meta: meta(`${ITK}ITK-Document-Bundle-1`), type: 'document',
    entry: resources.map((resource) => ({ fullUrl: `urn:uuid:${String(resource.id)}`, resource })),
  };
}

function messageBundle(id: string, resources: JsonObject[]): JsonObject {
  return {
    resourceType: 'Bundle',
    id,
    meta: { profile: [`${SD}ADW-Message-Bundle-1`] },
    type: 'message',
    entry: resources.map((resource) => ({ fullUrl: `urn:uuid:${String(resource.id)}`, resource })),
  };
}

function pick(into: JsonObject, from: JsonObject, keys: readonly string[]): JsonObject {
  for (const k of keys) if (from[k] !== undefined) into[k] = from[k];
  return into;
}

function endpointOf(v: Json | undefined): string {
  return isObject(v) ? str(v.endpoint) ?? '' : '';
}

/** FHIR instant to the second with the UTC offset written out, as the examples have it. */
function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

