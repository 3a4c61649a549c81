// Routing keys and subscriptions. Keys are `<channel>.hl7v2.<type>.<event>.<facility>`: the
// channel comes first so one exchange serves every channel, and a destination's `routes`
// (written relative to its channel, e.g. `hl7v2.ADT.#`) cannot pick up another channel's feed.
import { nhsNumberOf, patientIdentifiers } from '../adapters/hl7v2/identifiers.js';
import type { Hl7Message } from '../core/hl7/message.js';
import { destinationId, type ChannelDefinition } from './definition.js';
import { topicMatches, type Subscription } from '../core/queue.js';
import type { MessageStore } from '../core/store.js';

/** Routing-key words may not contain dots or be empty. */
const word = (s: string): string => (s.replace(/[.\s]/g, '_') || '_');

export function hl7RoutingKey(channel: string, msg: Hl7Message): string {
  const h = msg.header;
  return [channel, 'hl7v2', word(h.messageType), word(h.triggerEvent), word(h.sendingFacility)].join('.');
}

export function subscriptionsOf(channel: ChannelDefinition): Subscription[] {
  return channel.destinations.map((d) => ({
    destination: destinationId(channel.id, d.name),
    bindings: (d.routes?.length ? d.routes : ['#']).map((r) => `${channel.id}.${r}`),
    concurrency: d.concurrency ?? defaultConcurrency(d.type),
  }));
}

/**
 * Deliveries in flight for a destination that does not set `concurrency`. A case inbox writes
 * the rows of concurrent deliveries in one insert and one commit, so more in flight costs it
 * fewer commits per row: at 8 its deliveries fell behind a few hundred msg/s of intake. A FHIR
 * server (the shared care record) takes concurrent transactions; at 8 the mllp-steady bench's
 * deliveries stopped at ~240/s (each waits on a round trip and a status commit), at 32 they
 * doubled, at 64 no more. Elsewhere 8 keeps a far end (an HTTP API, an MLLP listener) from
 * being flooded. Messages of one patient are delivered in order whatever the number.
 */
export function defaultConcurrency(type: string): number {
  if (type === 'case-inbox') return 64;
  return type === 'fhir' ? 32 : 8;
}

const routed = new WeakMap<ChannelDefinition, Map<string, string[]>>();
const MAX_ROUTED_KEYS = 1000;

/** The destinations whose routes take a message with this routing key (ids, as subscriptionsOf names them). */
export function destinationsFor(channel: ChannelDefinition, routingKey: string): string[] {
  let byKey = routed.get(channel);
  if (!byKey) routed.set(channel, (byKey = new Map()));
  let ids = byKey.get(routingKey);
  if (!ids) {
    ids = subscriptionsOf(channel)
      .filter((s) => s.bindings.some((b) => topicMatches(b, routingKey)))
      .map((s) => s.destination);
    if (byKey.size >= MAX_ROUTED_KEYS) byKey.clear();
    byKey.set(routingKey, ids);
  }
  return ids;
}

/**
 * The envelope's partition key: the patient's, hashed by the store (never in clear on a queue or
 * in a broker header); a message with no patient is its own partition.
 */
export function partitionKeyOf(store: Pick<MessageStore, 'partitionKeyOf'>, messageId: string, patientKey: string | undefined): string {
  return patientKey !== undefined ? store.partitionKeyOf(patientKey) : `msg:${messageId}`;
}

/** Ordering key: the NHS number where there is one, else the first PID-3 identifier. */
export function hl7PatientKey(msg: Hl7Message): string | undefined {
  const ids = patientIdentifiers(msg);
  const nhs = nhsNumberOf(ids);
  if (nhs) return `nhs:${nhs}`;
  return ids[0] ? `${ids[0].authority ?? ids[0].type ?? 'id'}:${ids[0].value}` : undefined;
}
