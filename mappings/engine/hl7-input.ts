// The input an HL7 v2 mapping reads: the message's JSON view plus the MSH values most
// mappings need, available as `$var` names.
import { toView, type Hl7Message } from '../../adapters/hl7v2/parse.js';
import type { MappingInput } from './types.js';

export function hl7Input(msg: Hl7Message): MappingInput {
  const h = msg.header;
  return {
    kind: 'hl7v2',
    view: toView(msg),
    vars: {
      messageType: h.messageType,
      event: h.triggerEvent,
      structure: h.structure,
      controlId: h.controlId,
      sendingApplication: h.sendingApplication,
      sendingFacility: h.sendingFacility,
      receivingApplication: h.receivingApplication,
      receivingFacility: h.receivingFacility,
      messageDateTime: h.dateTime,
      version: h.version,
    },
  };
}

export function jsonInput(data: unknown, vars?: Record<string, unknown>): MappingInput {
  return { kind: 'json', data, vars };
}
