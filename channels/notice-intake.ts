// Intake of hospital-to-social-care notices (ADW) for a channel with a `notices` block, over a
// MESH inbox (core/inbound.ts) or HTTP (POST /inbound/<channel>/notices). Each message is read
// and checked, then stored before it is acknowledged (the MESH source moves the file only after
// this returns; HTTP answers after it):
// - a notice: stored (duplicate key: sender + MessageHeader id), its row added to the notice
//   store with its due time, a withdrawal marks the notices of its episode withdrawn, and it is
//   routed as `adw.<type>[.<withdraws>]` with the notice read from it; auto-accept rules answer it;
// - an answer (accept/reject…) to a notice: stored, correlated by MessageHeader.response.identifier,
//   the notice's state set; not routed;
// - anything unreadable or failing the checks: stored as rejected with the reasons (paths and
//   reasons only), and the infrastructure rejection (fatal-error + OperationOutcome) sent back
//   the same way (MESH: queued as `adw-out.mesh.rejection.rejected`; HTTP: the answer itself).
// A repeat of a stored message is not routed or answered again; its notice row is made sure of,
// and its auto-accept rule runs again if the notice still awaits an answer (a crash between
// storing and recording, or before the rule answered, leaves nothing out).
import { messageHeader, str, isObject } from '../adapters/adw/bundle.js';
import { checkAdw, type AdwIssue } from '../adapters/adw/check.js';
import { validateDstu2 } from '../adapters/adw/dstu2-schema.js';
import { adwEvent, type NoticeType } from '../adapters/adw/events.js';
import { extractNotice, type Notice } from '../adapters/adw/notice.js';
import { AdwParseError, parseAdw, type AdwFormat, type ParsedAdw } from '../adapters/adw/parse.js';
import { buildRejection, serialiseAdw } from '../adapters/adw/respond.js';
import type { JsonObject } from '../adapters/adw/fhir-dstu2.js';
import { reasonOf } from '../core/errors.js';
import type { InboundMessage, InboundResult } from '../core/inbound.js';
import { log } from '../core/logger.js';
import type { NoticeState, NoticeStore } from '../core/notices.js';
import { DEFAULT_NOTICE_DEADLINE_HOURS } from './channel-schema.js';
import type { NoticesConfig } from './definition.js';
import { MessageIntake, type MessageIntakeOptions } from './message-intake.js';
import { ADW_TYPE_PREFIX, noticeEnvelope } from './notice-envelopes.js';
import { crashPoint, FREE_TEXT_REASON, schemaProblems, type NoticeService } from './notice-service.js';
import { destinationsFor, partitionKeyOf } from './routing.js';

export interface NoticeIntakeOptions extends MessageIntakeOptions {
  notices: NoticeStore;
  service: NoticeService;
}

/** One message as a transport hands it over. */
export interface NoticeInput {
  body: Buffer;
  /** MESH mailbox, or `http:<caller>`. */
  sender: string;
  /** The transport's id of the message, used when the MessageHeader id cannot be read. */
  transportId: string;
  transport: 'mesh' | 'http';
  /** Where answers go (the MESH mailbox it came from). */
  replyTo?: string;
}

export type NoticeOutcome =
  | { kind: 'notice'; messageId: string; duplicate: boolean; notice: Notice }
  | { kind: 'response'; messageId: string; duplicate: boolean; answers?: string; correlated: boolean }
  | { kind: 'rejected'; messageId: string; duplicate: boolean; issues: AdwIssue[]; rejection: string; format: AdwFormat };

export class NoticeIntake extends MessageIntake {
  private readonly config: NoticesConfig;

  constructor(private readonly n: NoticeIntakeOptions) {
    super(n);
    if (!n.channel.notices) throw new Error(`channel ${n.channel.id} has no notices block`);
    this.config = n.channel.notices;
  }

  /** The MESH inbox's way in: transport reports are stored as any channel stores them. */
  override async accept(message: InboundMessage): Promise<InboundResult> {
    if (message.report) return super.accept(message);
    const outcome = await this.take({ body: message.body, sender: message.sender, transportId: message.controlId, transport: 'mesh', replyTo: message.sender });
    return { id: outcome.messageId, duplicate: outcome.duplicate };
  }

  async take(input: NoticeInput): Promise<NoticeOutcome> {
    const channel = this.n.channel.id;
    const receivedAt = new Date();
    let parsed: ParsedAdw | undefined;
    let issues: AdwIssue[];
    try {
      parsed = parseAdw(input.body, { maxBytes: this.config.maxBytes, maxDepth: 64 });
      // Base DSTU2 too: what the answer must echo (the person, the stay) has to be valid DSTU2,
      // or the notice could be taken but never answered. Resource types ADW does not name pass.
      issues = [...checkAdw(parsed.bundle), ...validateDstu2(parsed.bundle, { otherResources: true }).map(dstu2Issue)];
    } catch (err) {
      if (!(err instanceof AdwParseError)) throw err;
      issues = [{ path: '', reason: `not readable: ${err.reason}` }];
    }
    const header = parsed ? messageHeader(parsed.bundle) : undefined;
    const controlId = str(header?.id) ?? input.transportId;
    const event = adwEvent(isObject(header?.event) ? str(header.event.code) : undefined);

    if (issues.length || !parsed || !event) return this.reject(input, parsed, issues.length ? issues : [{ path: 'Bundle.entry[0].resource.event.code', reason: 'not an ADW event' }], controlId, receivedAt);

    if (event.kind === 'response') {
      const answers = str(isObject(header?.response) ? header.response.identifier : undefined);
      const stored = await this.n.store.receive({ channel, receivedAt, sender: input.sender, controlId, messageType: `${ADW_TYPE_PREFIX}${event.code}`, status: 'filtered', raw: input.body });
      this.stats.received++;
      const correlated = answers ? await this.correlateResponse(answers, event.answer, event.code, stored.id, receivedAt) : false;
      if (stored.duplicate) this.stats.duplicates++;
      return { kind: 'response', messageId: stored.id, duplicate: stored.duplicate, ...(answers ? { answers } : {}), correlated };
    }

    const notice = extractNotice(parsed.bundle, receivedAt);
    const patientKey = notice.person.nhsNumber ? `nhs:${notice.person.nhsNumber}` : undefined;
    const stored = await this.n.store.receive({ channel, receivedAt, sender: input.sender, controlId, messageType: `${ADW_TYPE_PREFIX}${event.code}`, patientKey, status: 'received', raw: input.body });
    this.stats.received++;
    // First take, or a repeat after a crash before the row was written: the row is made sure of.
    await this.record(notice, stored.id, parsed.format, input, receivedAt);
    if (stored.duplicate) {
      this.stats.duplicates++;
      log.info({ channel, messageId: stored.id }, 'duplicate notice, not routed again');
      await this.autoAccept(notice);
      return { kind: 'notice', messageId: stored.id, duplicate: true, notice };
    }
    const envelope = noticeEnvelope(channel, stored.id, parsed.format, notice, partitionKeyOf(this.n.store, stored.id, patientKey), input.replyTo);
    try {
      if (!(this.n.queueAvailable?.() ?? true)) throw new Error('queue unavailable');
      await this.n.queue.publish([envelope]);
      await this.n.store.setStatus(stored.id, 'queued', undefined, { destinations: destinationsFor(this.n.channel, envelope.routingKey) });
      this.stats.queued++;
    } catch (err) {
      this.stats.backlogged++;
      log.warn({ channel, messageId: stored.id, reason: reasonOf(err) }, 'notice stored; queued later');
    }
    crashPoint('notice-before-auto-accept');
    await this.autoAccept(notice);
    return { kind: 'notice', messageId: stored.id, duplicate: false, notice };
  }

  /** Adds the notice's row (and applies a withdrawal); false when it was already there. */
  private async record(notice: Notice, messageId: string, format: AdwFormat, input: NoticeInput, receivedAt: Date): Promise<boolean> {
    const answered = notice.type !== 'admission';
    const hours = answered ? this.config.deadlineHours?.[notice.type as Exclude<NoticeType, 'admission'>] ?? DEFAULT_NOTICE_DEADLINE_HOURS[notice.type as Exclude<NoticeType, 'admission'>] : undefined;
    const state: NoticeState = answered ? 'awaiting' : 'answered';
    const added = await this.n.notices.add({
      id: notice.id,
      messageId,
      channel: this.n.channel.id,
      type: notice.type,
      ...(notice.withdrawn ? { withdraws: notice.withdrawn } : {}),
      event: notice.event.code,
      format,
      transport: input.transport,
      ...(input.replyTo ? { replyTo: input.replyTo } : {}),
      ...(notice.senderOds ? { hospitalOds: notice.senderOds } : {}),
      ...(notice.receiverOds ? { councilOds: notice.receiverOds } : {}),
      ...(notice.episode ? { episode: notice.episode.value } : {}),
      ...(notice.ward ? { ward: notice.ward } : {}),
      receivedAt,
      ...(hours !== undefined ? { dueAt: new Date(receivedAt.getTime() + hours * 3_600_000) } : {}),
      state,
    });
    if (added) await this.n.store.addEvent(messageId, 'notice-received', { detail: `${notice.type}${notice.withdrawn ? ` (${notice.withdrawn})` : ''} notice ${notice.id}` });
    if (notice.type === 'withdrawal' && notice.episode) await this.applyWithdrawal(notice);
    return added;
  }

  /** The notices of the same episode this withdrawal names become withdrawn (those still awaiting). */
  private async applyWithdrawal(withdrawal: Notice): Promise<void> {
    const types = withdrawal.withdrawn === 'assessment-only' ? ['assessment'] : withdrawal.withdrawn === 'discharge-only' ? ['discharge'] : ['assessment', 'discharge'];
    const same = await this.n.notices.list({ channel: this.n.channel.id, episode: withdrawal.episode!.value, limit: 1000 });
    const targets = same.filter((n) => types.includes(n.type) && n.id !== withdrawal.id);
    const changed = await this.n.notices.withdraw(targets.map((t) => t.id), withdrawal.id);
    for (const t of targets.filter((t) => changed.includes(t.id))) {
      await this.n.store.addEvent(t.messageId, 'notice-withdrawn', { detail: `notice ${t.id} withdrawn by ${withdrawal.id}` });
    }
  }

  private async correlateResponse(noticeId: string, answer: 'accept' | 'reject', event: string, messageId: string, at: Date): Promise<boolean> {
    const notice = await this.n.notices.get(noticeId);
    if (!notice || notice.channel !== this.n.channel.id) {
      await this.n.store.addEvent(messageId, 'response-uncorrelated', { detail: 'answers no notice of this channel' });
      return false;
    }
    const changed = await this.n.notices.answer(noticeId, answer === 'accept' ? 'accepted' : 'rejected', { answer, event, reasonCode: '-', by: `response ${messageId}`, at }, messageId);
    if (changed) await this.n.store.addEvent(notice.messageId, answer === 'accept' ? 'notice-accepted' : 'notice-rejected', { detail: `by response ${messageId}` });
    return true;
  }

  private async reject(input: NoticeInput, parsed: ParsedAdw | undefined, issues: AdwIssue[], controlId: string, receivedAt: Date): Promise<NoticeOutcome> {
    const channel = this.n.channel.id;
    const error = issues.map((i) => (i.path ? `${i.path}: ${i.reason}` : i.reason)).join('; ');
    const stored = await this.n.store.receive({
      channel,
      receivedAt,
      sender: input.sender,
      controlId,
      messageType: `${ADW_TYPE_PREFIX}rejected`,
      status: 'rejected',
      error: error.slice(0, 2000),
      raw: input.body,
    });
    this.stats.received++;
    const format: AdwFormat = parsed?.format ?? (input.body.toString('utf8').trimStart().startsWith('<') ? 'xml' : 'json');
    const rejection = buildRejection(parsed?.bundle as JsonObject | undefined, issues, { ods: this.config.councilOds });
    const text = serialiseAdw(rejection, format);
    if (stored.duplicate) {
      this.stats.duplicates++;
      return { kind: 'rejected', messageId: stored.id, duplicate: true, issues, rejection: text, format };
    }
    log.warn({ channel, messageId: stored.id, problems: issues.length }, 'ADW message rejected');
    // A rejection that fails the DSTU2 schema is a bug: stored as errored with the reasons, not sent.
    const problems = schemaProblems(text);
    if (problems.length) log.error({ channel, messageId: stored.id, problems: problems.length }, 'ADW rejection fails the DSTU2 schema; not sent');
    // Over MESH the rejection goes back to the sending mailbox; over HTTP the answer is an OperationOutcome.
    if (input.transport === 'mesh') {
      const to = { channel, type: 'rejected', ...(input.replyTo ? { replyTo: input.replyTo } : {}) };
      if (problems.length) {
        const outId = await this.n.service.storeOut(to, 'rejection', text, String(rejection.id), 'errored', `not sent: fails the DSTU2 schema: ${problems.join('; ')}`.slice(0, 2000));
        await this.n.store.addEvent(stored.id, 'rejection-not-sent', { detail: `rejection ${outId} fails the DSTU2 schema` });
      } else {
        const outId = await this.n.service.storeOut(to, 'rejection', text, String(rejection.id));
        await this.n.store.addEvent(stored.id, 'rejection-queued', { detail: `rejection ${outId}` });
        await this.n.service.queueOut(this.n.channel, channel, outId, 'rejection', 'rejected', text, input.replyTo, controlId);
      }
    }
    return { kind: 'rejected', messageId: stored.id, duplicate: false, issues, rejection: text, format };
  }

  /** The first auto-accept rule that matches answers the notice, the way a person would, while it awaits an answer. */
  private async autoAccept(notice: Notice): Promise<void> {
    const rule = (this.config.autoAccept ?? []).find(
      (r) =>
        (r.types as string[]).includes(notice.type) &&
        (!r.hospitals?.length || (notice.senderOds !== undefined && r.hospitals.includes(notice.senderOds))) &&
        (!r.wards?.length || (notice.ward !== undefined && r.wards.includes(notice.ward))),
    );
    if (!rule) return;
    if ((await this.n.notices.get(notice.id))?.state !== 'awaiting') return;
    const reason = rule.reason ?? { ...FREE_TEXT_REASON, text: `Accepted automatically (rule ${rule.name}).` };
    try {
      await this.n.service.decide(notice.id, { answer: 'accept', reasonCode: reason.code, text: 'text' in reason ? reason.text : undefined, by: `rule ${rule.name}` });
    } catch (err) {
      log.warn({ channel: this.n.channel.id, notice: notice.id, rule: rule.name, reason: reasonOf(err) }, 'auto-accept failed; the notice awaits a decision');
    }
  }
}

/** A schema problem (`path: reason`, with the entry path as ADW checks write it) as an issue. */
function dstu2Issue(problem: string): AdwIssue {
  const at = problem.indexOf(': ');
  const path = at < 0 ? '' : problem.slice(0, at);
  return { path: path.replace(/^entry\.(\d+)/, 'Bundle.entry[$1]'), reason: `not valid DSTU2: ${at < 0 ? problem : problem.slice(at + 2)}` };
}
