// What a council needs from an ADW notice, read from a checked message Bundle: who sent it and
// to whom, which notice it is, the person, the hospital and ward, the hospital's contacts, the
// expected discharge date and the episode identifier that ties the notices about one stay.
import { isObject, list, messageHeader, objects, ofType, referralRequest, resolve, str } from './bundle.js';
import { odsOf } from './check.js';
import { adwEvent, NHS_NUMBER_SYSTEM, REASON_SYSTEMS, type NoticeType, type Withdrawn } from './events.js';
import type { Json, JsonObject } from './fhir-dstu2.js';

export interface Coded {
  system?: string;
  code: string;
  display?: string;
}

export interface PersonName {
  use?: string;
  family?: string;
  given: string[];
  prefix: string[];
}

export interface Address {
  use?: string;
  lines: string[];
  city?: string;
  district?: string;
  postalCode?: string;
}

export interface Telecom {
  system?: string;
  value: string;
  use?: string;
}

export interface Contact {
  name?: string;
  /** The role as the hospital put it (role text, else the SDS job role's display). */
  role?: string;
  roleCode?: Coded;
  phone?: string;
  email?: string;
}

export interface Notice {
  /** MessageHeader.id: what a response's `response.identifier` names. */
  id: string;
  event: Coded;
  type: NoticeType;
  /** For a withdrawal: which notices it withdraws. */
  withdrawn?: Withdrawn;
  /** MessageHeader.timestamp, as the sender wrote it. */
  sentAt?: string;
  /** When Tramline received it (ISO 8601). */
  receivedAt: string;
  senderOds?: string;
  receiverOds?: string;
  /** ReferralRequest.identifier (Encounter.identifier for an admission notice): the same for every notice about one episode. */
  episode?: { system?: string; value: string };
  encounter?: { system?: string; value: string };
  person: {
    nhsNumber?: string;
    /** CareConnect NHS number verification status code, e.g. 01 "Number present and verified". */
    nhsNumberStatus?: string;
    identifiers: { system?: string; value: string }[];
    names: PersonName[];
    birthDate?: string;
    gender?: string;
    addresses: Address[];
    telecom: Telecom[];
  };
  hospital?: { name?: string; ods?: string };
  ward?: string;
  localAuthority?: { name?: string; ods?: string };
  team?: string;
  leadClinician?: Contact;
  hospitalLiaison?: Contact;
  admittedOn?: string;
  /** Encounter.period.end, the expected (or proposed) discharge date. */
  expectedDischargeDate?: string;
  withdrawalReason?: Coded;
}

export function extractNotice(bundle: JsonObject, receivedAt: Date = new Date()): Notice {
  const header = messageHeader(bundle) ?? {};
  const event = isObject(header.event) ? header.event : {};
  const known = adwEvent(str(event.code));
  const type: NoticeType = known?.kind === 'notice' ? known.type : known?.kind === 'response' ? known.answers : 'assessment';
  const referral = referralRequest(bundle)?.resource;
  const encounter =
    resolve(bundle, referral?.encounter)?.resource ??
    list(header.data).map((d) => resolve(bundle, d)?.resource).find((r) => r?.resourceType === 'Encounter') ??
    ofType(bundle, 'Encounter')[0]?.resource;
  const patient = resolve(bundle, referral?.patient ?? encounter?.patient)?.resource ?? ofType(bundle, 'Patient')[0]?.resource;
  const hospitalOrg = resolve(bundle, encounter?.serviceProvider)?.resource;
  const ward = objects(encounter?.location).map((l) => resolve(bundle, l.location)?.resource).find(Boolean);
  const council = resolve(bundle, header.receiver)?.resource ?? resolve(bundle, objects(referral?.recipient)[0])?.resource;
  const councilOrg = council?.resourceType === 'Organization' ? council : undefined;
  const team = ofType(bundle, 'Organization').find(
    (o) => councilOrg && resolve(bundle, o.resource.partOf)?.resource === councilOrg,
  )?.resource;
  const responsible = resolve(bundle, header.responsible)?.resource;
  const author = resolve(bundle, header.author)?.resource ?? resolve(bundle, referral?.requester)?.resource;
  const period = isObject(encounter?.period) ? encounter.period : {};
  const reason = objects(isObject(header.reason) ? header.reason.coding : undefined).find((c) => c.system === REASON_SYSTEMS.withdrawal);
  const identifiers = objects(patient?.identifier);
  const nhs = identifiers.find((i) => i.system === NHS_NUMBER_SYSTEM);

  return {
    id: str(header.id) ?? '',
    event: { system: str(event.system), code: str(event.code) ?? '', display: known?.display },
    type,
    ...(known?.kind === 'notice' && known.withdrawn ? { withdrawn: known.withdrawn } : {}),
    sentAt: str(header.timestamp),
    receivedAt: receivedAt.toISOString(),
    senderOds: odsOf(isObject(header.source) ? str(header.source.endpoint) : undefined),
    receiverOds: odsOf(str(objects(header.destination)[0]?.endpoint)),
    episode: identifierOf(referral ? referral.identifier : type === 'admission' ? encounter?.identifier : undefined),
    encounter: identifierOf(encounter?.identifier),
    person: {
      nhsNumber: str(nhs?.value),
      nhsNumberStatus: nhsStatus(nhs),
      identifiers: identifiers.flatMap((i) => (str(i.value) ? [{ system: str(i.system), value: str(i.value) as string }] : [])),
      names: objects(patient?.name).map(nameOf),
      birthDate: str(patient?.birthDate),
      gender: str(patient?.gender),
      addresses: objects(patient?.address).map((a) => ({
        use: str(a.use),
        lines: strings(a.line),
        city: str(a.city),
        district: str(a.district),
        postalCode: str(a.postalCode),
      })),
      telecom: objects(patient?.telecom).flatMap((t) => (str(t.value) ? [{ system: str(t.system), value: str(t.value) as string, use: str(t.use) }] : [])),
    },
    hospital: hospitalOrg ? { name: str(hospitalOrg.name), ods: odsCodeOf(hospitalOrg) } : undefined,
    ward: str(ward?.name),
    localAuthority: councilOrg ? { name: str(councilOrg.name), ods: odsCodeOf(councilOrg) } : undefined,
    team: str(team?.name),
    leadClinician: responsible?.resourceType === 'Practitioner' ? contactOf(responsible) : undefined,
    hospitalLiaison: author?.resourceType === 'Practitioner' ? contactOf(author) : undefined,
    admittedOn: str(period.start),
    expectedDischargeDate: str(period.end),
    withdrawalReason: reason ? { system: str(reason.system), code: str(reason.code) ?? '', display: str(reason.display) } : undefined,
  };
}

function strings(v: Json | undefined): string[] {
  return list(v).filter((s): s is string => typeof s === 'string');
}

function identifierOf(v: Json | undefined): { system?: string; value: string } | undefined {
  const id = objects(v).find((i) => str(i.value));
  return id ? { ...(str(id.system) ? { system: str(id.system) } : {}), value: str(id.value) as string } : undefined;
}

function nameOf(n: JsonObject): PersonName {
  return { use: str(n.use), family: strings(n.family).join(' ') || undefined, given: strings(n.given), prefix: strings(n.prefix) };
}

function nhsStatus(nhs: JsonObject | undefined): string | undefined {
  for (const ext of objects(nhs?.extension)) {
    const concept = isObject(ext.valueCodeableConcept) ? ext.valueCodeableConcept : undefined;
    const code = str(objects(concept?.coding)[0]?.code);
    if (code && String(ext.url).includes('NHSNumberVerificationStatus')) return code;
  }
  return undefined;
}

const ODS_SYSTEMS = new Set(['https://fhir.nhs.uk/Id/ods-site-code', 'https://fhir.nhs.uk/Id/ods-organization-code']);

export function odsCodeOf(org: JsonObject): string | undefined {
  return str(objects(org.identifier).find((i) => ODS_SYSTEMS.has(String(i.system)))?.value);
}

function contactOf(p: JsonObject): Contact {
  // DSTU2 Practitioner.name is one HumanName.
  const name = isObject(p.name) ? nameOf(p.name) : undefined;
  const role = objects(p.practitionerRole).map((r) => (isObject(r.role) ? r.role : undefined)).find(Boolean);
  const coding = objects(role?.coding)[0];
  const telecom = objects(p.telecom);
  return {
    name: name ? [...name.prefix, ...name.given, name.family].filter(Boolean).join(' ') || undefined : undefined,
    role: str(role?.text) ?? str(coding?.display),
    roleCode: coding && str(coding.code) ? { system: str(coding.system), code: str(coding.code) as string, display: str(coding.display) } : undefined,
    phone: str(telecom.find((t) => t.system === 'phone')?.value),
    email: str(telecom.find((t) => t.system === 'email')?.value),
  };
}
