// What a case system needs to match an inbound HL7 v2 message to a person without parsing
// it: the PID-3 identifiers (NHS number flagged), message type and sending facility.
import { nhsNumberOf, patientIdentifiers, type PatientIdentifier } from '../hl7v2/identifiers.js';
import { parseHl7 } from '../hl7v2/parse.js';

export interface InboxFacts {
  messageType: string;
  sendingFacility: string;
  controlId: string;
  identifiers: PatientIdentifier[];
  nhsNumber?: string;
}

export function extractInboxFacts(hl7: string): InboxFacts {
  const msg = parseHl7(hl7);
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
