// Retention: each channel's `retention.contentDays` says how long message content (raw and
// transformed) is kept. Pruning deletes older content; metadata, history and the audit trail
// stay. Runs daily in the engine and on demand with `tramline messages prune`.
import type { ChannelDefinition } from '../../channels/definition.js';
import { reasonOf } from '../../core/errors.js';
import type { AuditActor, AuditEntryInput } from '../audit/types.js';
import { log } from '../../core/logger.js';
import type { MessageStore } from '../../core/store.js';

const DAY_MS = 24 * 60 * 60 * 1000;

export interface PruneResult {
  channel: string;
  olderThan: Date;
  /** Content rows deleted (one per stored stage). */
  removed: number;
}

export interface PruneOptions {
  store: Pick<MessageStore, 'prune'>;
  channels: Pick<ChannelDefinition, 'id' | 'retention'>[];
  audit?: { record(entry: AuditEntryInput): Promise<void> };
  actor?: AuditActor;
  now?: Date;
  /** Overrides every channel's contentDays (CLI `--older-than-days`). */
  days?: number;
}

/** Prune each channel that has a retention period (or all given channels when `days` is set). */
export async function pruneContent(o: PruneOptions): Promise<PruneResult[]> {
  const now = (o.now ?? new Date()).getTime();
  const results: PruneResult[] = [];
  for (const channel of o.channels) {
    const days = o.days ?? channel.retention?.contentDays;
    if (days === undefined) continue;
    const olderThan = new Date(now - days * DAY_MS);
    const removed = await o.store.prune({ channel: channel.id, olderThan });
    results.push({ channel: channel.id, olderThan, removed });
    await o.audit?.record({
      category: o.actor?.kind === 'cli' ? 'cli' : 'system',
      action: 'retention.prune',
      outcome: 'success',
      actor: o.actor ?? { id: 'tramline', kind: 'system' },
      target: channel.id,
      detail: { removed, olderThan: olderThan.toISOString(), days },
    });
  }
  return results;
}

export interface RetentionSchedule {
  /** Prune now (also what the timer does). */
  run(): Promise<PruneResult[]>;
  stop(): Promise<void>;
}

/** Prune shortly after start, then every `intervalMs` (default daily). */
export function scheduleRetention(o: Omit<PruneOptions, 'now' | 'days'> & { intervalMs?: number; firstRunDelayMs?: number }): RetentionSchedule {
  let running: Promise<PruneResult[]> | undefined;
  const run = () =>
    (running ??= pruneContent(o)
      .then((results) => {
        const removed = results.reduce((t, r) => t + r.removed, 0);
        if (results.length) log.info({ channels: results.length, removed }, 'retention: old content pruned');
        return results;
      })
      .catch((err: unknown) => {
        log.error({ reason: reasonOf(err) }, 'retention: pruning failed; will try again');
        return [];
      })
      .finally(() => (running = undefined)));
  const first = setTimeout(() => void run(), o.firstRunDelayMs ?? 60_000);
  const every = setInterval(() => void run(), o.intervalMs ?? DAY_MS);
  first.unref();
  every.unref();
  return {
    run,
    async stop() {
      clearTimeout(first);
      clearInterval(every);
      await running;
    },
  };
}
