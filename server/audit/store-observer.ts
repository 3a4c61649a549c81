// Watch what the engine writes to the message store without changing the engine: the engine
// is handed a proxy of its store whose writes also tell observers (audit trail, metrics) what
// happened. Observers see ids, statuses and metadata — never content.
import { log } from '../../core/logger.js';
import type { MessageStore } from '../../core/store.js';
import type { ContentStage, DestinationStatus, MessageStatus, NewMessage, ReceiveResult } from '../../core/store.js';

export interface MessageStoreObserver {
  received?(message: Omit<NewMessage, 'raw'>, result: ReceiveResult): Promise<void> | void;
  statusChanged?(id: string, status: MessageStatus, error?: string): Promise<void> | void;
  destinationChanged?(id: string, destination: string, status: DestinationStatus, options: { attempts?: number; error?: string }): Promise<void> | void;
  eventAdded?(id: string, event: string, options: { destination?: string; detail?: string }): Promise<void> | void;
  contentSaved?(id: string, stage: ContentStage): Promise<void> | void;
}

function withoutContent(message: NewMessage): Omit<NewMessage, 'raw'> {
  const { raw: _raw, ...meta } = message;
  return meta;
}

/**
 * A MessageStore that behaves exactly like `store` and reports each write after it succeeds.
 * Observers are not waited for: the message is already durable in the store (with its own
 * event history), and an ACK or delivery must not wait on the audit writer's next commit —
 * it batches entries and is flushed when the engine stops.
 */
export function observeStore(store: MessageStore, observers: MessageStoreObserver[]): MessageStore {
  const each = async (call: (o: MessageStoreObserver) => Promise<void> | void | undefined) => {
    for (const o of observers) {
      try {
        void Promise.resolve(call(o)).catch((err: unknown) => log.error({ reason: (err as Error).message }, 'store observer failed'));
      } catch (err) {
        log.error({ reason: (err as Error).message }, 'store observer failed');
      }
    }
  };
  const overrides: Partial<MessageStore> = {
    async receive(message) {
      const result = await store.receive(message);
      await each((o) => o.received?.(withoutContent(message), result));
      return result;
    },
    async setStatus(id, status, error, options) {
      await store.setStatus(id, status, error, options);
      await each((o) => o.statusChanged?.(id, status, error));
    },
    async setDestinationStatus(id, destination, status, options = {}) {
      await store.setDestinationStatus(id, destination, status, options);
      // What the destination reported stays in the store: observers never see content.
      const { attempts, error } = options;
      await each((o) => o.destinationChanged?.(id, destination, status, { attempts, error }));
    },
    async addEvent(id, event, options = {}) {
      await store.addEvent(id, event, options);
      await each((o) => o.eventAdded?.(id, event, options));
    },
    async saveContent(id, stage, content) {
      await store.saveContent(id, stage, content);
      await each((o) => o.contentSaved?.(id, stage));
    },
  };
  return new Proxy(store, {
    get(target, prop, receiver) {
      if (Object.prototype.hasOwnProperty.call(overrides, prop)) return overrides[prop as keyof MessageStore];
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
