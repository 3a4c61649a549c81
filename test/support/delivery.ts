// Shared by the destination tests: an envelope as the engine would hand a destination, and
// the DeliveryError a failed delivery must reject with.
import { expect } from '@jest/globals';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import { adt } from './hl7.js';

export function adtEnvelope(controlId: string, nhsNumber: string, body = adt({ controlId, nhsNumber })): Envelope {
  return {
    messageId: `msg-${controlId}`,
    channel: 'adt-in',
    routingKey: 'hl7v2.ADT.A01.RCB',
    partitionKey: `nhs:${nhsNumber}`,
    body,
    headers: { messageType: 'ADT^A01', sendingFacility: 'RCB', controlId, receivedAt: '2026-06-15T09:30:01.000Z' },
  };
}

/** The DeliveryError `p` rejects with (fails the test if it resolves or rejects otherwise). */
export async function deliveryFailure(p: Promise<unknown>): Promise<DeliveryError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DeliveryError);
  return err as DeliveryError;
}
