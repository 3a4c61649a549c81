// Message lifecycle events into the audit trail: received, filtered, rejected, duplicate,
// mapped, delivered, delivery failed, dead-lettered, reprocessed. Ids and statuses only.
import type { MessageStoreObserver } from './store-observer.js';
import type { AuditActor, AuditEntryInput } from './types.js';

export const ENGINE_ACTOR: AuditActor = { id: 'tramline', kind: 'system' };

/** Events added through `MessageStore.addEvent` that are worth an audit entry of their own. */
const AUDITED_EVENTS = new Set([
  'reprocessed', 'replayed', 'discarded', 'mapped', 'transformed',
  // Hospital notices (ADW): received, withdrawn, answered (who, which reason), viewed, rejected back to the sender.
  'notice-received', 'notice-withdrawn', 'notice-accepted', 'notice-rejected', 'notice-viewed', 'rejection-queued',
]);
const MAX_REASON = 300;

function reason(text: string | undefined): Record<string, unknown> {
  return text ? { reason: text.length > MAX_REASON ? `${text.slice(0, MAX_REASON)}…` : text } : {};
}

export function messageAuditObserver(audit: { record(entry: AuditEntryInput): Promise<void> }): MessageStoreObserver {
  const record = (entry: Omit<AuditEntryInput, 'category' | 'actor'>) => audit.record({ category: 'message', actor: ENGINE_ACTOR, ...entry });
  return {
    received(message, result) {
      const detail = { channel: message.channel, ...(message.messageType ? { messageType: message.messageType } : {}) };
      if (result.duplicate) return record({ action: 'message.duplicate', outcome: 'success', messageId: result.id, target: message.channel, detail });
      if (message.status === 'rejected') return record({ action: 'message.rejected', outcome: 'failure', messageId: result.id, target: message.channel, detail: { ...detail, ...reason(message.error) } });
      if (message.status === 'filtered') return record({ action: 'message.filtered', outcome: 'success', messageId: result.id, target: message.channel, detail });
      return record({ action: 'message.received', outcome: 'success', messageId: result.id, target: message.channel, detail });
    },
    statusChanged(id, status, error) {
      if (status === 'errored') return record({ action: 'message.errored', outcome: 'failure', messageId: id, detail: reason(error) });
      return undefined;
    },
    destinationChanged(id, destination, status, options) {
      const attempts = options.attempts !== undefined ? { attempts: options.attempts } : {};
      switch (status) {
        case 'sent':
          return record({ action: 'message.delivered', outcome: 'success', messageId: id, target: destination, detail: attempts });
        case 'filtered':
          return record({ action: 'message.filtered', outcome: 'success', messageId: id, target: destination, detail: attempts });
        case 'retrying':
          return record({ action: 'message.delivery-failed', outcome: 'failure', messageId: id, target: destination, detail: { ...attempts, ...reason(options.error) } });
        case 'dead-lettered':
          return record({ action: 'message.dead-lettered', outcome: 'failure', messageId: id, target: destination, detail: { ...attempts, ...reason(options.error) } });
        default:
          return undefined;
      }
    },
    eventAdded(id, event, options) {
      if (!AUDITED_EVENTS.has(event)) return undefined;
      return record({ action: `message.${event}`, outcome: 'success', messageId: id, target: options.destination, detail: reason(options.detail) });
    },
    contentSaved(id, stage) {
      if (stage === 'transformed') return record({ action: 'message.mapped', outcome: 'success', messageId: id });
      return undefined;
    },
  };
}
