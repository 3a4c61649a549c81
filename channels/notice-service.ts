// Deciding notices and sending the council's answers. One path for a person's decision (API,
// CLI, console) and an auto-accept rule: build the response with the notice's own format and
// check what would be sent against the DSTU2 schemas (a response that fails is a bug: stored as
// errored with the reasons, never sent); store it held (durable, but not yet for sending); claim
// the notice with it (only one answer wins); release it and queue it for the channel's `adw-out`
// destinations (the MESH outbox, addressed to the sending hospital's mailbox), where dispatch
// retries it until it is written. Each step is an event in the notice's message history, and so
// in the audit trail.
//
// A stop (crash, kill -9) at any point is safe: before the claim the held response is never sent
// and the notice still awaits an answer; after it, `recover()` (run as the engine starts) releases
// the held response the notice records, and the backlog sends it.
import { validateDstu2 } from '../adapters/adw/dstu2-schema.js';
import { AdwResponseError, buildResponse, serialiseAdw, type AdwReason, type Letter, type Responder } from '../adapters/adw/respond.js';
import type { Answer } from '../adapters/adw/events.js';
import { AdwParseError, parseAdw, STORED_ADW_LIMITS } from '../adapters/adw/parse.js';
import { reasonOf } from '../core/errors.js';
import { log } from '../core/logger.js';
import type { AwaitingCounts, NoticeFilter, NoticeRecord, NoticeStore } from '../core/notices.js';
import type { DeliveryQueue } from '../core/queue.js';
import type { MessageStore } from '../core/store.js';
import type { ChannelDefinition, NoticesConfig } from './definition.js';
import type { MessageStatus } from '../core/store.js';
import { ADW_OUT_PREFIX, outEnvelope, type OutKind } from './notice-envelopes.js';
import { destinationsFor, partitionKeyOf } from './routing.js';

/** The one reason code every ADW answer may use; channels list the others they use (notices.reasons). */
export const FREE_TEXT_REASON = { code: 'OFT', display: 'Other - Free Text' } as const;

const DEFAULT_RESPONDER: Responder = { family: 'Adult Social Care', given: [] };

/** A decision that cannot be made as asked: `status` is what an API answers (400, 404, 409). */
export class NoticeDecisionError extends Error {
  constructor(
    readonly status: 400 | 404 | 409 | 410 | 500,
    message: string,
  ) {
    super(message);
    this.name = 'NoticeDecisionError';
  }
}

export interface Decision {
  answer: Answer;
  reasonCode: string;
  /** Free text; required with OFT. */
  text?: string;
  /** `user <id>` or `rule <name>`, as the answer and the history show it. */
  by: string;
  /** A letter sent with the answer (an ITK document Bundle in the response; see docs/notices.md). */
  letter?: Letter;
}

/** The error of a stored response held until its notice records it (see `recover`). */
export const HELD_RESPONSE = 'held: sent once the notice records this answer';
export const UNCLAIMED_RESPONSE = 'not sent: the process stopped before the notice recorded this answer';

/**
 * Test hook for the kill -9 tests: when TRAMLINE_CRASH_AT names this point the process kills
 * itself there (SIGKILL, as kill -9 would). Unset, as in production, it does nothing.
 */
export function crashPoint(point: string): void {
  if (process.env.TRAMLINE_CRASH_AT === point) process.kill(process.pid, 'SIGKILL');
}

export interface NoticeServiceOptions {
  store: MessageStore;
  queue: DeliveryQueue;
  notices: NoticeStore;
  /** The deployed channel definitions (read on each call: a redeploy may change them). */
  channels: () => readonly ChannelDefinition[];
  queueAvailable?: () => boolean;
}

/** The reason codes a channel allows for an answer: OFT and what `notices.reasons` adds. */
export function allowedReasons(config: NoticesConfig | undefined, answer: Answer): { code: string; display: string }[] {
  return [FREE_TEXT_REASON, ...(config?.reasons?.[answer] ?? [])];
}

export class NoticeService {
  /** Where `recover` looks from (none: everything); see there. */
  private heldSince?: Date;

  constructor(private readonly o: NoticeServiceOptions) {}

  /** `now`: when `overdue` is judged (the alert rules pass the time they evaluate at). */
  list(filter?: NoticeFilter, now?: Date): Promise<NoticeRecord[]> {
    return this.o.notices.list(filter, now);
  }

  countAwaiting(filter?: Pick<NoticeFilter, 'channel' | 'type'>, now?: Date): Promise<AwaitingCounts> {
    return this.o.notices.countAwaiting(filter, now);
  }

  get(id: string): Promise<NoticeRecord | undefined> {
    return this.o.notices.get(id);
  }

  /**
   * The notice with what was read from it (the person's details): a view of a person's data,
   * recorded in the notice's message history (and so the audit trail) as `notice-viewed`.
   */
  async show(id: string, by: string): Promise<{ notice: NoticeRecord; content?: unknown } | undefined> {
    const notice = await this.o.notices.get(id);
    if (!notice) return undefined;
    const raw = await this.o.store.readContent(notice.messageId, 'raw');
    if (!raw) return { notice };
    const { extractNotice } = await import('../adapters/adw/notice.js');
    const content = extractNotice(parseAdw(raw, STORED_ADW_LIMITS).bundle, notice.receivedAt);
    await this.o.store.addEvent(notice.messageId, 'notice-viewed', { detail: `notice ${id} by ${by}` });
    return { notice, content };
  }

  async decide(id: string, d: Decision): Promise<NoticeRecord> {
    const notice = await this.o.notices.get(id);
    if (!notice) throw new NoticeDecisionError(404, `no notice ${id}`);
    if (notice.type === 'admission') throw new NoticeDecisionError(409, 'an admission notice is not answered');
    if (notice.state !== 'awaiting') throw new NoticeDecisionError(409, `notice ${id} is ${notice.state}, not awaiting an answer`);
    const channel = this.o.channels().find((c) => c.id === notice.channel);
    const allowed = allowedReasons(channel?.notices, d.answer);
    const known = allowed.find((r) => r.code === d.reasonCode);
    if (!known) throw new NoticeDecisionError(400, `reason code ${safe(d.reasonCode)} is not one this channel allows to ${d.answer} (${allowed.map((r) => r.code).join(', ')})`);
    const text = d.text?.trim();
    if (known.code === FREE_TEXT_REASON.code && !text) throw new NoticeDecisionError(400, 'reason OFT (Other - Free Text) needs the text');
    const raw = await this.o.store.readContent(notice.messageId, 'raw');
    if (!raw) throw new NoticeDecisionError(410, `notice ${id}: its message content is no longer stored (retention), so no response can be built`);

    const reason: AdwReason = { code: known.code, display: known.display, ...(text ? { text } : {}) };
    const responder = channel?.notices?.responder ? { ...channel.notices.responder, given: channel.notices.responder.given ?? [] } : DEFAULT_RESPONDER;
    if (d.letter && !(notice.type === 'discharge' && d.answer === 'accept')) throw new NoticeDecisionError(400, 'a letter goes with a discharge agreement (accept of a discharge notice) only');
    let bundle;
    try {
      bundle = buildResponse(parseAdw(raw, STORED_ADW_LIMITS).bundle, { answer: d.answer, reason, responder, ...(d.letter ? { letter: d.letter } : {}) });
    } catch (err) {
      if (err instanceof AdwResponseError) throw new NoticeDecisionError(400, err.message);
      throw err;
    }
    const body = serialiseAdw(bundle, notice.format);
    const event = String((bundle.entry as { resource: { event: { code: string } } }[])[0].resource.event.code);
    const at = new Date();

    // What is sent, as the hospital will read it, must be valid DSTU2; if not, it is a bug.
    const problems = schemaProblems(body);
    if (problems.length) {
      const errored = await this.storeOut(notice, 'response', body, String(bundle.id), 'errored', `not sent: fails the DSTU2 schema: ${problems.join('; ')}`.slice(0, 2000));
      log.error({ channel: notice.channel, notice: id, messageId: errored, problems: problems.length }, 'ADW response fails the DSTU2 schema; not sent');
      throw new NoticeDecisionError(500, `the response built for notice ${id} fails the DSTU2 schema (a Tramline bug); stored as ${errored}, not sent`);
    }

    // Stored held before the claim: a response claimed is never one that was not kept, and one
    // not claimed is never sent.
    const responseId = await this.storeOut(notice, 'response', body, String(bundle.id), 'filtered', HELD_RESPONSE);
    crashPoint('answer-before-claim');
    const claimed = await this.o.notices.answer(id, d.answer === 'accept' ? 'accepted' : 'rejected', { answer: d.answer, event, reasonCode: known.code, ...(text ? { reasonText: text } : {}), by: d.by, at }, responseId);
    if (!claimed) {
      await this.o.store.setStatus(responseId, 'filtered', 'not sent: the notice was answered or withdrawn meanwhile');
      throw new NoticeDecisionError(409, `notice ${id} was answered or withdrawn meanwhile`);
    }
    crashPoint('answer-after-claim');
    await this.o.store.addEvent(notice.messageId, d.answer === 'accept' ? 'notice-accepted' : 'notice-rejected', { detail: `reason ${known.code} by ${d.by}; response ${responseId}${d.letter ? ' with a letter' : ''}` });
    await this.o.store.setStatus(responseId, 'received', undefined);
    await this.queueOut(channel, notice.channel, responseId, 'response', notice.type, body, notice.replyTo, notice.id);
    return (await this.o.notices.get(id))!;
  }

  /**
   * After a restart (and now and then, for a CLI that stopped mid-answer): each response still
   * held (the process stopped between storing it and queueing it) is released for the backlog to
   * send when its notice records it as the answer. One the notice does not record stays held, so
   * never sent; once older than `settledMs` (no decision still under way can claim it) it is
   * marked never sent. Returns how many were released.
   */
  async recover(settledMs = 60_000): Promise<number> {
    const settled = Date.now() - settledMs;
    let released = 0;
    for (const channel of this.o.channels().filter((c) => c.notices)) {
      for (const type of ['assessment', 'discharge', 'withdrawal']) {
        const filter = { channel: channel.id, status: 'filtered' as const, messageType: `${ADW_OUT_PREFIX}response^${type}`, limit: 10_000, ...(this.heldSince ? { from: this.heldSince } : {}) };
        for (const m of (await this.o.store.list(filter)).filter((f) => f.error === HELD_RESPONSE)) {
          const [notice] = await this.o.notices.list({ responseMessageId: m.id, limit: 1 });
          if (notice) {
            await this.o.store.setStatus(m.id, 'received', undefined);
            await this.o.store.addEvent(m.id, 'released', { detail: `notice ${notice.id} records this answer; sent by the backlog` });
            released++;
          } else if (m.receivedAt.getTime() < settled) {
            await this.o.store.setStatus(m.id, 'filtered', UNCLAIMED_RESPONSE);
          }
        }
      }
    }
    // Every response held from before `settled` was released or marked above: later passes
    // need only look at what was stored since.
    this.heldSince = new Date(settled);
    if (released) log.info({ released }, 'held ADW responses released after a restart');
    return released;
  }

  /** Stores an outgoing ADW message (an answer or a rejection) for a notice's channel; returns its id. */
  async storeOut(to: { channel: string; type: string; replyTo?: string }, kind: OutKind, body: string, bundleId: string, status: MessageStatus = 'received', error?: string): Promise<string> {
    const stored = await this.o.store.receive({
      channel: to.channel,
      receivedAt: new Date(),
      // The mailbox it goes to (none for HTTP): the backlog addresses it again from here.
      sender: to.replyTo ?? 'http',
      controlId: `out:${bundleId}`,
      messageType: `${ADW_OUT_PREFIX}${kind}^${to.type}`,
      status,
      ...(error ? { error } : {}),
      raw: body,
    });
    return stored.id;
  }

  /** Queues a stored outgoing message for the channel's `adw-out` destinations; the backlog does it later when the queue is down. */
  async queueOut(channel: ChannelDefinition | undefined, channelId: string, messageId: string, kind: OutKind, type: string, body: string, replyTo?: string, inReplyTo?: string): Promise<void> {
    const envelope = outEnvelope(channel, channelId, messageId, kind, type, body, partitionKeyOf(this.o.store, messageId, undefined), replyTo, inReplyTo);
    const destinations = channel ? destinationsFor(channel, envelope.routingKey) : [];
    try {
      if (!(this.o.queueAvailable?.() ?? true)) throw new Error('queue unavailable');
      if (!destinations.length) {
        await this.o.store.setStatus(messageId, 'filtered', `no destination of channel ${channelId} routes ${envelope.routingKey.slice(channelId.length + 1)}`);
        log.warn({ channel: channelId, messageId }, 'ADW answer stored; no destination routes adw-out');
        return;
      }
      await this.o.queue.publish([envelope]);
      await this.o.store.setStatus(messageId, 'queued', undefined, { destinations });
    } catch (err) {
      log.warn({ channel: channelId, messageId, reason: reasonOf(err) }, 'ADW answer stored; queued later');
    }
  }
}

/** The DSTU2 schema problems of an outgoing ADW message, read back as the receiver will read it. */
export function schemaProblems(body: string): string[] {
  try {
    return validateDstu2(parseAdw(body, STORED_ADW_LIMITS).bundle);
  } catch (err) {
    if (err instanceof AdwParseError) return [err.reason];
    throw err;
  }
}

/** A caller's value as it may appear in an error: its safe characters only. */
function safe(value: string): string {
  return JSON.stringify(value.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 20));
}

/** A notice row as the API and CLI show it (times ISO 8601; no person details). */
export function noticeToJson(n: NoticeRecord): Record<string, unknown> {
  return {
    ...n,
    receivedAt: n.receivedAt.toISOString(),
    ...(n.dueAt ? { dueAt: n.dueAt.toISOString() } : {}),
    updatedAt: n.updatedAt.toISOString(),
    ...(n.answer ? { answer: { ...n.answer, at: n.answer.at.toISOString() } } : {}),
  };
}
