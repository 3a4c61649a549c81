// What a case system needs to match an inbound message to a person without parsing it: the
// identifiers (NHS number flagged), message type and sending facility. From an HL7 v2
// message's PID-3, or from an ADW notice as a notice channel routes it (JSON, `kind: adw-notice`).
import { NHS_NUMBER_SYSTEM } from '../adw/events.js';
import type { Notice } from '../adw/notice.js';
import { nhsNumberOf, patientIdentifiers, type PatientIdentifier } from '../hl7v2/identifiers.js';
import { parseHl7 } from '../hl7v2/parse.js';

export interface InboxFacts {
  messageType: string;
  sendingFacility: string;
  controlId: string;
  identifiers: PatientIdentifier[];
  nhsNumber?: string;
}

export function extractInboxFacts(body: string): InboxFacts {
  if (body.startsWith('{')) return noticeFacts(body);
  const msg = parseHl7(body);
  const h = msg.header;
  const identifiers = patientIdentifiers(msg);
  return {
    messageType: [h.messageType, h.triggerEvent].filter(Boolean).join('^'),
    sendingFacility: h.sendingFacility,
    controlId: h.controlId,
    identifiers,
    nhsNumber: nhsNumberOf(identifiers),
  };
}

/** An ADW notice: message type `ADW^<type>[^<withdraws>]`, the notice id, the hospital's ODS code. */
function noticeFacts(body: string): InboxFacts {
  const parsed = JSON.parse(body) as { kind?: unknown; notice?: Notice };
  const notice = parsed.notice;
  if (parsed.kind !== 'adw-notice' || !notice || typeof notice.id !== 'string') throw new Error('JSON that is not an ADW notice');
  const identifiers: PatientIdentifier[] = (notice.person?.identifiers ?? []).map((i) =>
    i.system === NHS_NUMBER_SYSTEM ? { value: i.value, type: 'NH', authority: 'NHS' } : { value: i.value, ...(i.system ? { authority: i.system } : {}) },
  );
  return {
    messageType: ['ADW', notice.type, notice.withdrawn].filter(Boolean).join('^'),
    sendingFacility: notice.senderOds ?? notice.hospital?.ods ?? '',
    controlId: notice.id,
    identifiers,
    nhsNumber: notice.person?.nhsNumber,
  };
}
