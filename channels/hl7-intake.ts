// HL7 v2 intake for a channel: bytes in, ACK out. The order is the safety property:
// decode → parse → store (durable) → queue (durable) → ACK. An AA/CA therefore always means
// the message is on disk; anything that fails before that gets AR/CR and an ERR segment.
import { ackForUnparseable, ackMode, buildAck, immediateAckCode, recoverMsh, type AckCode, type AckOutcome } from '../adapters/hl7v2/ack.js';
import { decodeHl7Bytes } from '../adapters/hl7v2/charset.js';
import { checkControlCharacters, checkHl7Limits, DEFAULT_HL7_LIMITS } from '../adapters/hl7v2/limits.js';
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import type { Hl7Message } from '../core/hl7/message.js';
import { mapHl7ToBundle } from '../mappings/index.js';
import { performance } from 'node:perf_hooks';
import { log } from '../core/logger.js';
import { newMessageId, type MessageStore, type NewMessage, type ReceiveResult } from '../core/store.js';
import type { ChannelDefinition, MllpSourceConfig } from './definition.js';
import { ParseError, reasonOf, TramlineError } from '../core/errors.js';
import { hl7Matches } from './filter.js';
import type { DeliveryQueue, Envelope } from '../core/queue.js';
import { destinationsFor, hl7PatientKey, hl7RoutingKey, partitionKeyOf } from './routing.js';
import { markStoredAfterPublish, REPUBLISH_AFTER_MS, unmarked, type PendingReceives } from './stored-after-publish.js';

/** Warnings listed in one message's `warnings` event; beyond this they are only counted. */
const MAX_LISTED_WARNINGS = 20;

/** How long the `queued` status write may wait for others (nobody waits for it). */
const QUEUED_STATUS_LINGER_MS = 10;

export interface IntakeStats {
  received: number;
  rejected: number;
  duplicates: number;
  filtered: number;
  queued: number;
  backlogged: number;
  mappingErrors: number;
}

export interface Hl7IntakeOptions {
  channel: ChannelDefinition & { source: MllpSourceConfig };
  store: MessageStore;
  queue: DeliveryQueue;
  /** False while the queue (RabbitMQ) is unreachable. */
  queueAvailable?: () => boolean;
  /** Told of every acknowledgement sent (for the audit trail): ids and codes only. */
  onAck?: (ack: AckEvent) => void;
  /**
   * With a queue outside the store (RabbitMQ): publish while the message is being stored, not
   * after, and ACK once both are done; the envelope is marked so that its consumer delivers it
   * only once the message is found stored (stored-after-publish.ts). This process's consumers
   * learn of its store writes here.
   */
  publishAhead?: PendingReceives;
}

export interface AckEvent {
  channel: string;
  /** The stored message, when it was stored. */
  messageId?: string;
  /** AA/AE/AR/CA/CE/CR, or `none` when enhanced mode asked for no commit ACK. */
  code: string;
}

/**
 * The envelope for a stored HL7 v2 message. With a mapping, the body is its output (a FHIR
 * transaction Bundle as JSON) and mapping or validation failures throw; else the HL7 text.
 * `partitionKey`: partitionKeyOf (routing.ts) of the message's patient. `warnings`, when given,
 * gets the mapping's warnings (`<output>: <what>`, e.g. an unknown code kept as text).
 */
export function hl7Envelope(
  channel: string,
  messageId: string,
  text: string,
  msg: Hl7Message,
  receivedAt: Date,
  mapping: string | undefined,
  partitionKey: string,
  warnings?: string[],
): Envelope {
  const h = msg.header;
  let body = text;
  if (mapping) {
    const mapped = mapHl7ToBundle(msg, mapping);
    for (const issue of mapped.issues) warnings?.push(`${issue.target}: ${issue.message}`);
    body = JSON.stringify(mapped.bundle);
  }
  return {
    messageId,
    channel,
    routingKey: hl7RoutingKey(channel, msg),
    partitionKey,
    body,
    headers: {
      kind: mapping ? 'bundle' : 'hl7v2',
      messageType: `${h.messageType}^${h.triggerEvent}`,
      sendingFacility: h.sendingFacility,
      controlId: h.controlId,
      receivedAt: receivedAt.toISOString(),
    },
  };
}

export class Hl7Intake {
  readonly stats: IntakeStats = { received: 0, rejected: 0, duplicates: 0, filtered: 0, queued: 0, backlogged: 0, mappingErrors: 0 };

  constructor(private readonly opts: Hl7IntakeOptions) {}

  private get channelId(): string {
    return this.opts.channel.id;
  }

  /**
   * Handle one framed message; resolves with the ACK bytes to send (null: none wanted). Never
   * throws. The ACK echoes MSH fields (MSA-2 = MSH-10) as the sender's own bytes, whatever
   * their character set: it is built from the raw MSH, byte for byte (see ackBytes).
   */
  async handle(raw: Buffer, remoteAddress = ''): Promise<Buffer | null> {
    const receivedAt = new Date();
    const source = this.opts.channel.source;
    let text: string;
    let msg: Hl7Message;
    try {
      text = decodeHl7Bytes(raw, { strict: true, fallback: source.charset }).text;
      const limits = { ...DEFAULT_HL7_LIMITS, ...source.limits };
      msg = parseHl7(text, limits);
      // Before anything reads a field: these bound the work and keep bad bytes out of the store.
      checkHl7Limits(msg, limits);
      checkControlCharacters(text, msg);
    } catch (err) {
      return this.reject(raw, err, remoteAddress, receivedAt);
    }

    const h = msg.header;
    const filtered = !hl7Matches(this.opts.channel.pipeline?.filter, msg);
    const patientKey = hl7PatientKey(msg);
    const message: NewMessage = {
      channel: this.channelId,
      receivedAt,
      sender: h.sendingFacility || h.sendingApplication || remoteAddress,
      controlId: h.controlId,
      messageType: `${h.messageType}^${h.triggerEvent}`,
      patientKey,
      status: filtered ? 'filtered' : 'received',
      raw,
    };
    // What was accepted but degraded (a sloppy MSH-2, an unknown code kept as text): recorded
    // in the message's history, so the sender's feed can be fixed while messages keep flowing.
    const warnings = [...msg.warnings];
    let envelope: Envelope | undefined;
    let mappingError: unknown;
    /** The publish sharing the receive's commit (embedded queue), when there is one. */
    let queuedWithReceive: Promise<unknown> | undefined;
    /** A publish started before the receive finished (publishAhead), and when it started. */
    let publishedAhead: { done: Promise<unknown>; at: number } | undefined;
    let stored: ReceiveResult;
    try {
      const queueUp = !filtered && (this.opts.queueAvailable?.() ?? true);
      const publishWithReceive = queueUp ? this.opts.queue.publishWithReceive : undefined;
      const ahead = queueUp && !publishWithReceive ? this.opts.publishAhead : undefined;
      if (publishWithReceive || ahead) {
        // The envelope needs the message id: chosen here, so that the message and its queue
        // rows commit together (one fsync before the ACK, not one for each), or so that the
        // publish need not wait for the store.
        try {
          envelope = this.envelope(newMessageId(), text, msg, receivedAt, patientKey, warnings);
        } catch (err) {
          mappingError = err;
        }
      }
      if (envelope && (publishWithReceive || ahead)) {
        // Timed from before either starts: a consumer's clock starts later, on first sight.
        const at = performance.now();
        const receiving = this.opts.store.receive({ ...message, id: envelope.messageId });
        ahead?.track(
          envelope.messageId,
          receiving.then((r) => !r.duplicate),
        );
        const publishing = publishWithReceive ? publishWithReceive([envelope]) : this.opts.queue.publish([markStoredAfterPublish(envelope)]);
        // Awaited below once the message is known to be stored; a failure then means "queue later".
        publishing.catch(() => undefined);
        if (publishWithReceive) queuedWithReceive = publishing;
        else publishedAhead = { done: publishing, at };
        stored = await receiving;
      } else {
        stored = await this.opts.store.receive(message);
      }
    } catch (err) {
      log.error({ channel: this.channelId, controlId: h.controlId, reason: reasonOf(err) }, 'message could not be stored');
      return this.ack(raw, msg, undefined, 'reject', 'message could not be stored; send again later');
    }
    /** How long the store took after the publish started, when it started ahead. */
    const storedAfterMs = publishedAhead ? performance.now() - publishedAhead.at : 0;
    this.stats.received++;

    if (stored.duplicate) {
      this.stats.duplicates++;
      log.info({ channel: this.channelId, messageId: stored.id }, 'duplicate acknowledged, not delivered again');
      return this.ack(raw, msg, stored.id, 'accept');
    }
    if (filtered) {
      this.stats.filtered++;
      return this.ack(raw, msg, stored.id, 'accept');
    }

    try {
      if (mappingError !== undefined) throw mappingError;
      envelope ??= this.envelope(stored.id, text, msg, receivedAt, patientKey, warnings);
    } catch (err) {
      // Stored, but its content does not map: an application error the sender should hear
      // about; an engineer fixes the mapping and reprocesses the message.
      this.stats.mappingErrors++;
      await this.opts.store.setStatus(stored.id, 'errored', reasonOf(err)).catch(() => undefined);
      log.warn({ channel: this.channelId, messageId: stored.id, kind: err instanceof TramlineError ? err.kind : 'Error' }, 'mapping failed');
      return this.ack(raw, msg, stored.id, 'error', `message could not be mapped: ${err instanceof TramlineError ? err.kind : 'error'}`);
    }
    // Committed with the message already: its history event need not hold the ACK back.
    if (warnings.length && (queuedWithReceive || publishedAhead)) void this.recordWarnings(stored.id, warnings);
    else if (warnings.length) await this.recordWarnings(stored.id, warnings);
    const available = this.opts.queueAvailable?.() ?? true;
    try {
      if (queuedWithReceive) await queuedWithReceive;
      else if (publishedAhead) {
        await publishedAhead.done;
        // A consumer may have given up on the marked copy by now (stored-after-publish.ts): one
        // that needs no check goes out before the ACK. Destinations take a message id once.
        if (storedAfterMs > REPUBLISH_AFTER_MS) await this.opts.queue.publish([unmarked(envelope)]);
      } else if (!available) throw new Error('queue unavailable');
      else await this.opts.queue.publish([envelope]);
      // Not waited for: the message is stored and queued, which is what the ACK promises. If the
      // status write is lost, the backlog queues the message again and destinations ignore it.
      // It may wait a few ms to share one UPDATE with the status writes of other messages.
      void this.opts.store.setStatus(stored.id, 'queued', undefined, { lingerMs: QUEUED_STATUS_LINGER_MS, destinations: destinationsFor(this.opts.channel, envelope.routingKey) }).catch((err: unknown) => log.warn({ channel: this.channelId, messageId: stored.id, reason: reasonOf(err) }, 'status not recorded'));
      this.stats.queued++;
    } catch (err) {
      // Stored but not queued: the backlog publisher sends it when the queue is back.
      this.stats.backlogged++;
      log.warn({ channel: this.channelId, messageId: stored.id, reason: reasonOf(err) }, 'stored; queued later');
      if (this.opts.channel.source.whenQueueDown === 'nak') {
        return this.ack(raw, msg, stored.id, 'reject', 'delivery queue unavailable; message kept, send again later');
      }
    }
    return this.ack(raw, msg, stored.id, 'accept');
  }

  private envelope(id: string, text: string, msg: Hl7Message, receivedAt: Date, patientKey: string | undefined, warnings: string[]): Envelope {
    return hl7Envelope(this.channelId, id, text, msg, receivedAt, this.opts.channel.pipeline?.map, partitionKeyOf(this.opts.store, id, patientKey), warnings);
  }

  /** One `warnings` event: each names the field and the reason (at most a code, never patient data). */
  private async recordWarnings(messageId: string, warnings: readonly string[]): Promise<void> {
    const listed = warnings.slice(0, MAX_LISTED_WARNINGS);
    const more = warnings.length - listed.length;
    const detail = listed.join('; ') + (more > 0 ? `; and ${more} more` : '');
    await this.opts.store.addEvent(messageId, 'warnings', { detail }).catch((err: unknown) => log.warn({ channel: this.channelId, messageId, reason: reasonOf(err) }, 'warnings not recorded'));
  }

  private ack(raw: Buffer, msg: Hl7Message, messageId: string | undefined, outcome: AckOutcome, errorText?: string): Buffer | null {
    // Enhanced mode: MSH-15 NE (or SU/ER not met) asks for no commit ACK, so none is sent.
    const code: AckCode | undefined = immediateAckCode(this.ackMode(msg), outcome);
    this.opts.onAck?.({ channel: this.channelId, messageId, code: code ?? 'none' });
    if (!code) return null;
    const source = { ...recoverMsh(raw.toString('latin1', 0, mshEnd(raw))), separators: msg.separators };
    return ackBytes(buildAck(source, errorText ? { code, error: { text: errorText, hl7ErrorCode: '207', severity: 'E' } } : { code }));
  }

  private ackMode(msg: Hl7Message) {
    const configured = this.opts.channel.source.ackMode;
    if (configured === 'original') return { enhanced: false, accept: 'NE', application: 'AL' } as const;
    const mode = ackMode(msg);
    if (configured === 'enhanced' && !mode.enhanced) return { enhanced: true, accept: 'AL', application: 'NE' } as const;
    return mode;
  }

  /** Unreadable or unacceptable input: keep the bytes (as rejected, for inspection) and answer AR/CR. */
  private async reject(raw: Buffer, err: unknown, remoteAddress: string, receivedAt: Date): Promise<Buffer> {
    this.stats.rejected++;
    const reason = err instanceof ParseError ? err.message : reasonOf(err);
    let messageId: string | undefined;
    if (raw.length) {
      try {
        ({ id: messageId } = await this.opts.store.receive({
          channel: this.channelId,
          receivedAt,
          sender: remoteAddress,
          status: 'rejected',
          error: reasonOf(err),
          raw,
        }));
      } catch (storeErr) {
        log.error({ channel: this.channelId, reason: reasonOf(storeErr) }, 'rejected message could not be stored');
      }
    }
    log.warn({ channel: this.channelId, messageId, reason }, 'message rejected');
    const ack = ackForUnparseable(raw.subarray(0, mshEnd(raw)), err instanceof Error ? err : reason);
    this.opts.onAck?.({ channel: this.channelId, messageId, code: /\rMSA\|(\w\w)/.exec(ack)?.[1] ?? 'AR' });
    return ackBytes(ack);
  }

  /** A frame over the size limit: answer AR/CR from what arrived and record it. */
  oversize(prefix: Buffer, limit: number, remoteAddress = ''): Buffer {
    const err = new ParseError(`message exceeds the ${limit}-byte limit`);
    void this.reject(prefix, err, remoteAddress, new Date());
    return ackBytes(ackForUnparseable(prefix.subarray(0, mshEnd(prefix)), err));
  }
}

/** End of the MSH segment (the ACK needs nothing after it); MSH may follow a BOM or blank lines. */
function mshEnd(raw: Buffer): number {
  const start = Math.max(0, raw.indexOf('MSH'));
  const cr = raw.indexOf(0x0d, start);
  const lf = raw.indexOf(0x0a, start);
  const end = cr < 0 ? lf : lf < 0 ? cr : Math.min(cr, lf);
  return end < 0 ? raw.length : end;
}

/**
 * The ACK was built from the MSH read as Latin-1 (one character per byte), and everything
 * else in it is ASCII: encoding it as Latin-1 gives back the sender's exact bytes for every
 * echoed field, in whatever ASCII-compatible character set they were written.
 */
function ackBytes(ack: string): Buffer {
  return Buffer.from(ack, 'latin1');
}
