// The engine's view of a RabbitMQ queue: a publish stops waiting when the broker goes away.
import { describe, expect, test } from '@jest/globals';
import type { DeliveryQueue, Envelope } from '../../core/queue.js';
import { publishUntilDisconnect, QueueDisconnectedError } from '../../server/publish-until-disconnect.js';

function fakeConnection() {
  const listeners = new Set<(connected: boolean) => void>();
  return {
    connected: true,
    listeners,
    onConnectionChange(listener: (connected: boolean) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    drop() {
      this.connected = false;
      for (const l of [...listeners]) l(false);
    },
  };
}

function fakeQueue(publish: DeliveryQueue['publish']): DeliveryQueue {
  return {
    start: async () => undefined,
    publish,
    consume: async () => undefined,
    listDeadLetters: async () => [],
    replayDeadLetters: async () => 7,
    discardDeadLetters: async () => 0,
    depth: async () => 0,
    close: async () => undefined,
  };
}

const envelope: Envelope = { messageId: 'm1', channel: 'c', routingKey: 'c.hl7v2.ADT.A01.X', partitionKey: 'p', body: 'MSH|', headers: {} };

describe('publishUntilDisconnect', () => {
  test('a publish waiting for its confirm fails as soon as the connection drops; the listener is removed', async () => {
    const connection = fakeConnection();
    const queue = publishUntilDisconnect(
      fakeQueue(() => new Promise<void>(() => undefined)),
      connection,
    );
    const pending = queue.publish([envelope]);
    expect(connection.listeners.size).toBe(1);
    connection.drop();
    await expect(pending).rejects.toBeInstanceOf(QueueDisconnectedError);
    expect(connection.listeners.size).toBe(0);
  });

  test('confirmed publishes resolve; publishes while disconnected fail at once; other methods pass through', async () => {
    const connection = fakeConnection();
    const queue = publishUntilDisconnect(
      fakeQueue(async () => undefined),
      connection,
    );
    await expect(queue.publish([envelope])).resolves.toBeUndefined();
    expect(connection.listeners.size).toBe(0);
    expect(await queue.replayDeadLetters('d')).toBe(7);
    connection.drop();
    await expect(queue.publish([envelope])).rejects.toBeInstanceOf(QueueDisconnectedError);
  });

  test('a broker nack still fails the publish with its own error', async () => {
    const queue = publishUntilDisconnect(
      fakeQueue(async () => {
        throw new Error('nacked');
      }),
      fakeConnection(),
    );
    await expect(queue.publish([envelope])).rejects.toThrow('nacked');
  });
});
