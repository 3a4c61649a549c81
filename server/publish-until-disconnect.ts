// RabbitMQ's publisher keeps unconfirmed messages through an outage and sends them on the next
// connection, so a publish caught in flight when the broker goes away waits for the broker to
// come back. For the engine that would hold the sender's ACK (and every ACK behind it on that
// MLLP connection) for the whole outage. This view of the queue gives up on a publish as soon as
// the connection drops: the message is already in the store, so the intake ACKs it from there
// (or NAKs, per `whenQueueDown`) and the backlog queues it on reconnection. If the broker did get
// the first copy, the destination's idempotency key (the message id) absorbs the second.
import type { DeliveryQueue } from '../core/queue.js';

export interface ConnectionWatch {
  readonly connected: boolean;
  onConnectionChange(listener: (connected: boolean) => void): () => void;
}

export class QueueDisconnectedError extends Error {}

export function publishUntilDisconnect(queue: DeliveryQueue, connection: ConnectionWatch): DeliveryQueue {
  const publish: DeliveryQueue['publish'] = (envelopes) => {
    if (!connection.connected) return Promise.reject(new QueueDisconnectedError('message broker disconnected'));
    let unsubscribe = (): void => undefined;
    const lost = new Promise<never>((_, reject) => {
      unsubscribe = connection.onConnectionChange((connected) => {
        if (!connected) reject(new QueueDisconnectedError('message broker disconnected before the publish was confirmed'));
      });
    });
    const published = queue.publish(envelopes);
    // Settles later (sent again on reconnection) or never matters: nobody waits for it any more.
    published.catch(() => undefined);
    return Promise.race([published, lost]).finally(unsubscribe);
  };
  return new Proxy(queue, {
    get(target, prop, receiver) {
      if (prop === 'publish') return publish;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
