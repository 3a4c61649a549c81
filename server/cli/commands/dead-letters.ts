// `tramline dead-letters list|replay|discard`: a destination's dead letters, with the queue the
// engine uses (embedded in the store, or RabbitMQ when TRAMLINE_AMQP_URL is set). A replayed
// message keeps its id: the store records `replayed` (and `discarded`) next to its history, and
// the audit trail gets the same entries as through the API. Output carries metadata only.
import os from 'node:os';
import { InvalidArgumentError, type Command } from 'commander';
import { destinationId, type ChannelDefinition } from '../../../channels/definition.js';
import type { DeadLetter, DeliveryQueue } from '../../../core/queue.js';
import type { Config } from '../../../core/config.js';
import type { MessageStore } from '../../../core/store.js';
import type { OpenedStore } from '../../open-store.js';
import { loadChannelsOrThrow, openPublisher, withStore } from '../context.js';

/** Dead-letter queues hold at most this many messages in one look (a replay of "all" reads them all). */
const ALL = 100_000;

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function toJson(d: DeadLetter) {
  return {
    messageId: d.envelope.messageId,
    channel: d.envelope.channel,
    destination: d.destination,
    routingKey: d.envelope.routingKey,
    messageType: d.envelope.headers.messageType,
    controlId: d.envelope.headers.controlId,
    reason: d.reason,
    attempts: d.attempts,
    deadLetteredAt: d.deadLetteredAt.toISOString(),
  };
}

function line(d: DeadLetter): string {
  const h = d.envelope.headers;
  return [d.envelope.messageId, d.deadLetteredAt.toISOString(), h.messageType ?? '-', h.controlId ?? '-', `attempts=${d.attempts}`, d.reason].join('  ');
}


interface Session {
  queue: DeliveryQueue;
  /** The store seen through the audit trail (events added here are audited). */
  store: MessageStore;
  opened: OpenedStore;
}

function requireDestination(channels: ChannelDefinition[], destination: string): void {
  const known = channels.filter((c) => c.enabled).flatMap((c) => c.destinations.map((d) => destinationId(c.id, d.name)));
  if (!known.includes(destination)) {
    throw new Error(`no destination ${destination} in the deployed channels (known: ${known.join(', ') || 'none'})`);
  }
}

async function withQueue<T>(destination: string, fn: (session: Session, config: Config) => Promise<T>): Promise<T> {
  return withStore(async (opened, config) => {
    const channels = await loadChannelsOrThrow(config.channelsDir);
    requireDestination(channels, destination);
    // The audit trail loads when a command runs, not on every CLI start.
    const { messageAuditObserver } = await import('../../audit/message-audit.js');
    const { observeStore } = await import('../../audit/store-observer.js');
    const { AuditTrail } = await import('../../audit/trail.js');
    const audit = new AuditTrail(opened.db, opened.audit);
    const store = observeStore(opened.store, [messageAuditObserver(audit)]);
    const queue = await openPublisher(opened, config, channels);
    try {
      return await fn({ queue, store, opened }, config);
    } finally {
      await queue.close();
      await audit.flush();
    }
  });
}

const by = () => `via CLI by ${os.userInfo().username}`;

export function registerDeadLettersCommand(program: Command): void {
  const deadLetters = program.command('dead-letters').description("list, replay or discard a destination's dead letters");

  deadLetters
    .command('list')
    .description('dead letters of one destination, oldest first (metadata and reason, no content)')
    .requiredOption('--destination <id>', 'destination id: <channel>.<destination name>')
    .option('--limit <n>', 'most dead letters to show', positiveInt, 100)
    .option('--json', 'print JSON (one array)')
    .action(async (o: { destination: string; limit: number; json?: boolean }) => {
      await withQueue(o.destination, async ({ queue }) => {
        const list = await queue.listDeadLetters(o.destination, o.limit);
        if (o.json) console.log(JSON.stringify(list.map(toJson), null, 2));
        else if (!list.length) console.log('no dead letters');
        else for (const d of list) console.log(line(d));
      });
    });

  deadLetters
    .command('replay')
    .description('put dead letters back on the queue (all of the destination, or the given message ids); they keep their ids')
    .requiredOption('--destination <id>', 'destination id: <channel>.<destination name>')
    .argument('[ids...]', 'message ids (default: every dead letter of the destination)')
    .action(async (ids: string[], o: { destination: string }) => {
      await withQueue(o.destination, async ({ queue, store }) => {
        const wanted = ids.length ? ids : (await queue.listDeadLetters(o.destination, ALL)).map((d) => d.envelope.messageId);
        if (!wanted.length) {
          console.log('0 dead letter(s) replayed');
          return;
        }
        const present = new Set((await queue.listDeadLetters(o.destination, ALL)).map((d) => d.envelope.messageId));
        const missing = wanted.filter((id) => !present.has(id));
        const found = wanted.filter((id) => present.has(id));
        // Recorded first: a replayed message can be delivered before this command gets to write,
        // and the history must read dead-lettered → replayed → delivered.
        for (const id of found) await store.addEvent(id, 'replayed', { destination: o.destination, detail: by() });
        let replayed: number;
        try {
          replayed = found.length ? await queue.replayDeadLetters(o.destination, found) : 0;
        } catch (err) {
          for (const id of found) await store.addEvent(id, 'replay-failed', { destination: o.destination, detail: (err as Error).message });
          throw err;
        }
        for (const id of missing) console.error(`${id}: not a dead letter of ${o.destination}; skipped`);
        console.log(`${replayed} dead letter(s) replayed`);
        if (missing.length) process.exitCode = 1;
      });
    });

  deadLetters
    .command('discard')
    .description('remove dead letters an operator gave up on; the reason is kept in each message history')
    .requiredOption('--destination <id>', 'destination id: <channel>.<destination name>')
    .requiredOption('--reason <text>', 'why they are given up (kept in the message history and audit trail)')
    .argument('<ids...>', 'message ids')
    .action(async (ids: string[], o: { destination: string; reason: string }) => {
      if (!o.reason.trim()) throw new Error('--reason must say why');
      await withQueue(o.destination, async (session) => {
        const present = new Set((await session.queue.listDeadLetters(o.destination, ALL)).map((d) => d.envelope.messageId));
        const found = ids.filter((id) => present.has(id));
        const discarded = found.length ? await session.queue.discardDeadLetters(o.destination, found) : 0;
        for (const id of found) await session.store.addEvent(id, 'discarded', { destination: o.destination, detail: `${o.reason} (${by()})` });
        for (const id of ids.filter((i) => !present.has(i))) console.error(`${id}: not a dead letter of ${o.destination}; skipped`);
        console.log(`${discarded} dead letter(s) discarded`);
        if (found.length < ids.length) process.exitCode = 1;
      });
    });
}
