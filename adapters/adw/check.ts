// Checks a parsed ADW message against the ADW message definitions, as far as Tramline relies on
// them: a message Bundle led by a MessageHeader with a known event, the resources that event
// requires, an episode identifier, a valid NHS number and ODS endpoints. Each problem is a path
// and a reason; no reason quotes a patient's values.
import { isValidNhsNumber } from '../../core/nhs-number.js';
import { isObject, messageHeader, objects, ofType, referralRequest, resolve, str } from './bundle.js';
import { adwEvent, NHS_NUMBER_SYSTEM, ODS_ENDPOINT_PREFIX, REASON_SYSTEMS, SNOMED } from './events.js';
import type { JsonObject } from './fhir-dstu2.js';

export interface AdwIssue {
  path: string;
  reason: string;
}

export function checkAdw(bundle: JsonObject): AdwIssue[] {
  const issues: AdwIssue[] = [];
  const add = (path: string, reason: string) => issues.push({ path, reason });

  if (bundle.resourceType !== 'Bundle') add('Bundle', 'not a Bundle');
  if (bundle.type !== 'message') add('Bundle.type', 'must be "message"');
  const header = messageHeader(bundle);
  if (!header) {
    add('Bundle.entry[0]', 'the first entry must be a MessageHeader');
    return issues;
  }
  const h = 'Bundle.entry[0].resource';
  if (!str(header.id)) add(`${h}.id`, 'MessageHeader has no id');
  if (!str(header.timestamp)) add(`${h}.timestamp`, 'missing');

  const event = isObject(header.event) ? header.event : undefined;
  const known = adwEvent(str(event?.code));
  if (!event || event.system !== SNOMED) add(`${h}.event.system`, `must be ${SNOMED}`);
  if (!known) add(`${h}.event.code`, 'not an ADW event');

  const source = isObject(header.source) ? str(header.source.endpoint) : undefined;
  if (!odsOf(source)) add(`${h}.source.endpoint`, `must be ${ODS_ENDPOINT_PREFIX}<ODS code>`);
  const destinations = objects(header.destination);
  if (destinations.length === 0) add(`${h}.destination`, 'missing');
  destinations.forEach((d, i) => {
    if (!odsOf(str(d.endpoint))) add(`${h}.destination[${i}].endpoint`, `must be ${ODS_ENDPOINT_PREFIX}<ODS code>`);
  });

  // References inside the message must resolve: a dangling one means a resource is missing.
  for (const field of ['author', 'receiver', 'responsible'] as const) {
    if (header[field] !== undefined && !resolve(bundle, header[field])) add(`${h}.${field}`, 'refers to no entry in the Bundle');
  }

  if (known?.kind === 'notice') {
    for (const type of known.requires) {
      if (ofType(bundle, type).length === 0) add('Bundle.entry', `${known.display}: must carry a ${type}`);
    }
  }
  if (known?.kind === 'notice' && known.type === 'withdrawal') {
    // Withdrawal reasons are coded 01–13 (ADW-WithdrawalReason-1).
    const coding = objects(isObject(header.reason) ? header.reason.coding : undefined).find((c) => c.system === REASON_SYSTEMS.withdrawal);
    if (!coding || !/^(0[1-9]|1[0-3])$/.test(str(coding.code) ?? '')) {
      add(`${h}.reason`, `a withdrawal needs a reason coded 01–13 from ${REASON_SYSTEMS.withdrawal}`);
    }
  }
  if (known?.kind === 'response') {
    const response = isObject(header.response) ? header.response : undefined;
    if (!str(response?.identifier)) add(`${h}.response.identifier`, 'a response must name the message it answers');
  }

  const referral = referralRequest(bundle);
  if (!referral && known?.kind === 'response') add('Bundle.entry', `${known.display}: must carry a ReferralRequest`);
  if (referral) {
    const identifiers = objects(referral.resource.identifier);
    if (!identifiers.some((i) => str(i.value))) {
      add(`Bundle.entry[${referral.index}].resource.identifier`, 'the ReferralRequest needs the episode identifier');
    }
    if (!resolve(bundle, referral.resource.patient)) add(`Bundle.entry[${referral.index}].resource.patient`, 'refers to no Patient in the Bundle');
  }

  for (const patient of ofType(bundle, 'Patient')) {
    objects(patient.resource.identifier).forEach((id, i) => {
      if (id.system !== NHS_NUMBER_SYSTEM) return;
      const value = str(id.value);
      if (!value || !isValidNhsNumber(value) || value !== value.trim()) {
        add(`Bundle.entry[${patient.index}].resource.identifier[${i}].value`, 'NHS number is not 10 digits with a valid Modulus 11 check digit');
      }
    });
  }

  return issues;
}

/** The ODS code of an `urn:nhs-uk:addressing:ods:<code>` endpoint. */
export function odsOf(endpoint: string | undefined): string | undefined {
  if (!endpoint?.startsWith(ODS_ENDPOINT_PREFIX)) return undefined;
  const code = endpoint.slice(ODS_ENDPOINT_PREFIX.length);
  return /^[A-Z0-9]{3,10}$/i.test(code) ? code : undefined;
}
