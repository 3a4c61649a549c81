// Per-channel statistics from the store (so they survive restarts and add up across engine
// processes): messages received, rejected, filtered, waiting to be queued; per destination
// sent, filtered, errored (retrying), dead-lettered, and queued now (queue depth).
import { sql, type Kysely } from 'kysely';
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

/** What happened to the messages a channel received in a window (e.g. the last hour). */
export interface ChannelActivity {
  /** Messages received since the window's start (rejected included). */
  received: number;
  rejected: number;
  /** Deliveries of those messages, per state now: waiting, sent, retrying or failed, dead-lettered. */
  queued: number;
  sent: number;
  errored: number;
  deadLettered: number;
}

export async function channelActivity(kysely: Kysely<StoreDatabase>, channel: ChannelDefinition, since: Date): Promise<ChannelActivity> {
  const at = since.getTime();
  const byStatus = await kysely
    .selectFrom('messages')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('channel', '=', channel.id)
    .where('received_at', '>=', at)
    .groupBy('status')
    .execute();
  const deliveries = await kysely
    .selectFrom('message_destinations as d')
    .innerJoin('messages as m', 'm.id', 'd.message_id')
    .select(['d.status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('m.channel', '=', channel.id)
    .where('m.received_at', '>=', at)
    .groupBy('d.status')
    .execute();
  const n = (status: string) => Number(deliveries.find((r) => r.status === status)?.n ?? 0);
  return {
    received: byStatus.reduce((t, r) => t + Number(r.n), 0),
    rejected: Number(byStatus.find((r) => r.status === 'rejected')?.n ?? 0),
    queued: n('queued'),
    sent: n('sent'),
    errored: n('retrying') + n('errored'),
    deadLettered: n('dead-lettered'),
  };
}

export interface LastError {
  at: Date;
  /** The destination id, or absent when the channel rejected the message itself. */
  destination?: string;
  messageId: string;
  error: string;
}

/** The newest failure of a channel: a rejected message or a delivery retrying, failed or dead-lettered. */
export async function lastChannelError(kysely: Kysely<StoreDatabase>, channel: ChannelDefinition): Promise<LastError | undefined> {
  const ids = channel.destinations.map((d) => destinationId(channel.id, d.name));
  const delivery = ids.length
    ? await kysely
        .selectFrom('message_destinations')
        .select(['message_id', 'destination', 'error', 'updated_at'])
        .where('status', 'in', ['retrying', 'errored', 'dead-lettered'])
        .where('destination', 'in', ids)
        .where('error', 'is not', null)
        .orderBy('updated_at', 'desc')
        .limit(1)
        .executeTakeFirst()
    : undefined;
  const rejected = await kysely
    .selectFrom('messages')
    .select(['id', 'error', 'received_at'])
    .where('status', '=', 'rejected')
    .where('channel', '=', channel.id)
    .orderBy('received_at', 'desc')
    .limit(1)
    .executeTakeFirst();
  const fromDelivery = delivery && { at: new Date(Number(delivery.updated_at)), destination: delivery.destination, messageId: delivery.message_id, error: delivery.error ?? '' };
  const fromRejection = rejected && { at: new Date(Number(rejected.received_at)), messageId: rejected.id, error: rejected.error ?? 'rejected' };
  if (!fromDelivery) return fromRejection;
  if (!fromRejection) return fromDelivery;
  return fromDelivery.at >= fromRejection.at ? fromDelivery : fromRejection;
}

/**
 * Messages a channel received per bucket of `bucketMs`, `buckets` of them from `since` on,
 * oldest first (a throughput sparkline).
 */
export async function channelThroughput(kysely: Kysely<StoreDatabase>, channel: ChannelDefinition, since: Date, bucketMs: number, buckets: number): Promise<number[]> {
  const start = Math.floor(since.getTime());
  const width = Math.max(1, Math.floor(bucketMs));
  // Whole numbers written into the statement (not parameters), so PostgreSQL sees the grouped
  // expression and the selected one as the same; integer division on both databases.
  const bucket = sql<number>`(received_at - ${sql.lit(start)}) / ${sql.lit(width)}`;
  const rows = await kysely
    .selectFrom('messages')
    .select([bucket.as('bucket'), (eb) => eb.fn.countAll<number>().as('n')])
    .where('channel', '=', channel.id)
    .where('received_at', '>=', start)
    .where('received_at', '<', start + width * buckets)
    .groupBy(bucket)
    .execute();
  const counts = new Array<number>(buckets).fill(0);
  for (const r of rows) {
    const i = Math.floor(Number(r.bucket));
    if (i >= 0 && i < buckets) counts[i] += Number(r.n);
  }
  return counts;
}
