// Declarative message filters from channel files. A filtered message is an outcome, not an
// error: it is stored, acknowledged and recorded as filtered.
import type { Hl7Message } from '../core/hl7/message.js';
import type { MessageFilter } from './definition.js';

const oneOf = (allowed: string[] | undefined, value: string): boolean => !allowed?.length || allowed.includes(value);

export function hl7Matches(filter: MessageFilter | undefined, msg: Hl7Message): boolean {
  if (!filter) return true;
  const h = msg.header;
  return (
    oneOf(filter.messageTypes, h.messageType) &&
    oneOf(filter.triggerEvents, h.triggerEvent) &&
    oneOf(filter.sendingFacilities, h.sendingFacility) &&
    oneOf(filter.wards, msg.get('PV1-3.1') ?? '')
  );
}
