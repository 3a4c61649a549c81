// A destination's own mapping (`map` on a destination of an HL7 v2 channel): the message is
// mapped when that destination delivers it, so one channel can hand the case inbox the HL7
// message as it came and the shared care record its FHIR Bundle. The mapping runs in the
// engine's mapping threads (mappings/map-pool.ts). A message that does not map is
// dead-lettered for that destination only (permanent: the same message will not map on a
// retry; fix the mapping and replay), with a content-free reason.
import { DeliveryError, TramlineError } from '../core/errors.js';
import type { Envelope } from '../core/queue.js';
import type { BundleMapper } from '../mappings/map-pool.js';

export type EnvelopeMapper = (envelope: Envelope) => Promise<Envelope>;

export function destinationMapper(mapping: string, mapper: BundleMapper): EnvelopeMapper {
  return async (envelope) => {
    let body: string;
    try {
      body = await mapper.bundleJson(envelope.body, mapping);
    } catch (err) {
      if (err instanceof DeliveryError) throw err;
      throw new DeliveryError(`message could not be mapped with ${mapping}: ${err instanceof TramlineError ? err.kind : 'error'}`, false);
    }
    return { ...envelope, body, headers: { ...envelope.headers, kind: 'bundle' } };
  };
}
