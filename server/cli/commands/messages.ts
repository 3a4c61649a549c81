// `tramline messages list|show|reprocess`: browse stored messages and queue them again.
// Output shows metadata and status only; content is printed only by `show --content`.
import { InvalidArgumentError, type Command } from 'commander';
import { DESTINATION_STATUSES, MESSAGE_STATUSES, type MessageFilter, type MessageRecord, type MessageStatus } from '../../../core/store.js';
import { loadChannelsOrThrow, openPublisher, withStore } from '../context.js';
import { registerPruneCommand } from './prune.js';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function date(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('must be a date/time such as 2026-11-26T10:00:00Z');
  return d;
}

function status(value: string): MessageStatus {
  if (!(MESSAGE_STATUSES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${MESSAGE_STATUSES.join(', ')}`);
  return value as MessageStatus;
}

function toJson(m: MessageRecord) {
  return {
    id: m.id,
    channel: m.channel,
    receivedAt: m.receivedAt.toISOString(),
    sender: m.sender,
    controlId: m.controlId,
    messageType: m.messageType,
    status: m.status,
    error: m.error,
    destinations: Object.fromEntries(m.destinations.map((d) => [d.destination, { status: d.status, attempts: d.attempts, error: d.error, updatedAt: d.updatedAt.toISOString() }])),
  };
}

/** JSON content as JSON, anything else (an HL7 ACK) as text with readable line ends. */
function jsonOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.replace(/\r/g, '\n');
  }
}

function line(m: MessageRecord): string {
  const dests = m.destinations.map((d) => `${d.destination}=${d.status}`).join(' ') || '-';
  return [m.id, m.receivedAt.toISOString(), m.channel, m.messageType ?? '-', m.controlId ?? '-', m.status, dests].join('  ');
}

interface FilterOptions {
  channel?: string;
  status?: MessageStatus;
  destinationStatus?: MessageFilter['destinationStatus'];
  from?: Date;
  to?: Date;
  type?: string;
  controlId?: string;
  limit?: number;
}

function filterOf(o: FilterOptions): MessageFilter {
  return { channel: o.channel, status: o.status, destinationStatus: o.destinationStatus, from: o.from, to: o.to, messageType: o.type, controlId: o.controlId, limit: o.limit };
}

function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--channel <id>', 'channel id')
    .option('--status <status>', `message status (${MESSAGE_STATUSES.join(', ')})`, status)
    .option('--destination-status <status>', `status at any destination (${DESTINATION_STATUSES.join(', ')})`)
    .option('--from <time>', 'received at or after', date)
    .option('--to <time>', 'received before', date)
    .option('--type <type>', 'message type, e.g. ADT^A01')
    .option('--control-id <id>', "sender's message control id (MSH-10)");
}

export function registerMessagesCommand(program: Command): void {
  const messages = program.command('messages').description('browse and reprocess stored messages');
  registerPruneCommand(messages);

  addFilterOptions(messages.command('list').description('list messages, newest first'))
    .option('--limit <n>', 'most messages to show', positiveInt, 50)
    .option('--json', 'print JSON (one array)')
    .action(async (o: FilterOptions & { json?: boolean }) => {
      await withStore(async ({ store }) => {
        const list = await store.list(filterOf(o));
        if (o.json) console.log(JSON.stringify(list.map(toJson), null, 2));
        else if (!list.length) console.log('no messages');
        else for (const m of list) console.log(line(m));
      });
    });

  messages
    .command('show')
    .description('one message with its destinations and history')
    .argument('<id>', 'message id')
    .option('--content', 'also print the raw content (patient data: mind where you paste it)')
    .action(async (id: string, o: { content?: boolean }) => {
      await withStore(async ({ store }) => {
        const m = await store.get(id);
        if (!m) throw new Error(`no message with id ${id}`);
        const events = await store.events(id);
        const out: Record<string, unknown> = { ...toJson(m), events: events.map((e) => ({ ...e, at: e.at.toISOString() })) };
        if (o.content) {
          const raw = await store.readContent(id, 'raw');
          const { decodeForDisplay } = await import('../../../adapters/hl7v2/charset.js');
          const shown = raw ? decodeForDisplay(raw) : undefined;
          out.content = shown ? shown.text.replace(/\r/g, '\n') : null;
          if (shown?.note) out.contentNote = shown.note;
          const transformed = await store.readContent(id, 'transformed');
          if (transformed) out.transformed = JSON.parse(transformed.toString('utf8')) as unknown;
          // Stored before responses were kept per destination: a failure's OperationOutcome.
          const response = await store.readContent(id, 'response');
          if (response) out.response = JSON.parse(response.toString('utf8')) as unknown;
          // What each destination was sent and answered (a FHIR Bundle and its transaction-response, an ACK, an OperationOutcome).
          const reported: Record<string, Record<string, unknown>> = {};
          for (const s of await store.contentStages(id)) {
            const bytes = s.destination ? await store.readContent(id, s.stage, s.destination) : undefined;
            if (s.destination && bytes) (reported[s.destination] ??= {})[s.stage] = jsonOrText(bytes.toString('utf8'));
          }
          if (Object.keys(reported).length) out.destinationContent = reported;
        }
        console.log(JSON.stringify(out, null, 2));
      });
    });

  addFilterOptions(messages.command('reprocess').description('queue messages again (by id, or every message matching the filter)'))
    .argument('[ids...]', 'message ids')
    .option('--limit <n>', 'most messages to reprocess with a filter', positiveInt, 1000)
    .action(async (ids: string[], o: FilterOptions) => {
      const filtered = Object.entries(o).some(([k, v]) => k !== 'limit' && v !== undefined);
      if (!ids.length && !filtered) throw new Error('name message ids or give a filter (e.g. --channel C --destination-status dead-lettered)');
      await withStore(async (opened, config) => {
        const { store } = opened;
        const records = ids.length ? await Promise.all(ids.map((id) => store.get(id))) : await store.list({ ...filterOf(o), oldestFirst: true });
        const channels = await loadChannelsOrThrow(config.channelsDir);
        const byId = new Map(channels.map((c) => [c.id, c]));
        const { envelopeForStored } = await import('../../../channels/republish.js');
        const queue = await openPublisher(opened, config, channels);
        let done = 0;
        try {
          for (const [i, m] of records.entries()) {
            if (!m) throw new Error(`no message with id ${ids[i]}`);
            let envelope;
            try {
              envelope = await envelopeForStored(store, byId.get(m.channel), m);
            } catch (err) {
              console.error(`${m.id}: ${(err as Error).message}; skipped`);
              continue;
            }
            await queue.publish([envelope]);
            await store.setStatus(m.id, 'queued');
            await store.addEvent(m.id, 'reprocessed', { detail: 'via CLI' });
            done++;
          }
        } finally {
          await queue.close();
        }
        console.log(`${done} message(s) queued again`);
      });
    });
}
