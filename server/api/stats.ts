// Per-channel statistics from the store (so they survive restarts and add up across engine
// processes): messages received, rejected, filtered, waiting to be queued; per destination
// sent, filtered, errored (retrying), dead-lettered, and queued now (queue depth).
import type { Kysely } from 'kysely';
import { destinationId, type ChannelDefinition } from '../../channels/definition.js';
import type { DeliveryQueue } from '../../core/queue.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';

export interface DestinationStats {
  queued: number;
  sent: number;
  filtered: number;
  errored: number;
  deadLettered: number;
}

export interface ChannelStats extends DestinationStats {
  channel: string;
  /** Every message stored for the channel (accepted, filtered and rejected; not duplicates). */
  received: number;
  rejected: number;
  /** Stored but not yet handed to the queue (e.g. while the broker was away). */
  backlog: number;
  destinations: Record<string, DestinationStats>;
}

export async function channelStats(kysely: Kysely<StoreDatabase>, queue: DeliveryQueue, channel: ChannelDefinition): Promise<ChannelStats> {
  const byStatus = await kysely
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('channel', '=', channel.id)
    .groupBy('status')
    .execute();
  const count = (status: string) => Number(byStatus.find((r) => r.status === status)?.n ?? 0);
  const ids = channel.destinations.map((d) => destinationId(channel.id, d.name));
  const byDestination = ids.length
    ? await kysely
        .selectFrom('message_destinations')
        .select(['destination', 'status', (eb) => eb.fn.countAll<number>().as('n')])
        .where('destination', 'in', ids)
        .groupBy(['destination', 'status'])
        .execute()
    : [];
  const destinations: Record<string, DestinationStats> = {};
  for (const id of ids) {
    const n = (status: string) => Number(byDestination.find((r) => r.destination === id && r.status === status)?.n ?? 0);
    destinations[id] = {
      queued: await queue.depth(id).catch(() => 0),
      sent: n('sent'),
      filtered: n('filtered'),
      errored: n('retrying') + n('errored'),
      deadLettered: n('dead-lettered'),
    };
  }
  const sum = (k: keyof DestinationStats) => Object.values(destinations).reduce((t, d) => t + d[k], 0);
  return {
    channel: channel.id,
    received: byStatus.reduce((t, r) => t + Number(r.n), 0),
    rejected: count('rejected'),
    filtered: count('filtered') + sum('filtered'),
    backlog: count('received'),
    queued: sum('queued'),
    sent: sum('sent'),
    errored: sum('errored'),
    deadLettered: sum('deadLettered'),
    destinations,
  };
}
