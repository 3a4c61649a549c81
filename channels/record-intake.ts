// Intake for record sources (file drop, HTTP, database polling): rows in, a batch report out.
// Each good row is validated, screened by the exclusion rules, grouped (one group per person),
// mapped and validated as a whole, then stored and queued. A bad row never stops the good
// ones; an excluded row never leaves and is only counted.
import { createHash } from 'node:crypto';
import { log } from '../server/logger.js';
import type { MessageStore } from '../server/store/message-store.js';
import type { ChannelDefinition } from './definition.js';
import { destinationsFor } from './routing.js';
import { reasonOf } from './errors.js';
import type { DeliveryQueue, Envelope } from './queue/types.js';
import type { RecordFormat } from './record-formats.js';
import { exclusionOf, groupRows, type RecordProblem, type RecordRow } from './records.js';
import { conditionalUrls, retractionFor, type Retraction } from './retraction.js';

/** Turns one group's mapping input into the content to deliver (e.g. a FHIR transaction Bundle). */
export type RecordMapper = (input: unknown) => unknown;

export interface BatchReport {
  /** Where the batch came from: a file name, `http`, a view name. */
  source: string;
  rows: number;
  accepted: number;
  rejected: RecordProblem[];
  /** Excluded rows by rule name. */
  excluded: Record<string, number>;
  /** Groups stored and queued. */
  queued: number;
  /** Groups whose content equals what was last sent for them (not sent again). */
  unchanged: number;
  /** Groups that could not be mapped: key position and reason (no content). */
  failed: { rows: number[]; reason: string }[];
  /** Retractions queued for records withdrawn or sealed since they were sent. */
  retracted: number;
}

export interface RecordIntakeOptions {
  channel: ChannelDefinition;
  store: MessageStore;
  queue: DeliveryQueue;
  format: RecordFormat;
  map: RecordMapper;
  /** Called as groups finish (done, total): progress for long batches. */
  onProgress?: (done: number, total: number) => void;
}

interface Item {
  row: RecordRow;
  rowNumber: number;
}

/** Store message types of record channels: a person's bundle, or a retraction. */
export const RECORD_MESSAGE_TYPES = ['record', 'retraction'] as const;

export function recordEnvelope(channel: string, messageId: string, kind: 'bundle' | 'retraction', body: string, patientKey?: string): Envelope {
  return {
    messageId,
    channel,
    routingKey: `${channel}.record.${kind}`,
    partitionKey: patientKey ?? `msg:${messageId}`,
    body,
    headers: { kind, messageType: kind, receivedAt: new Date().toISOString() },
  };
}

/** People worked on at once within one batch. */
const GROUP_CONCURRENCY = 32;

const hashOf = (value: unknown): string => createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

export class RecordIntake {
  constructor(private readonly opts: RecordIntakeOptions) {}

  private get channelId(): string {
    return this.opts.channel.id;
  }

  /**
   * Ingest a batch. Records are numbered by `rowNumbers` (their rows in the source file) or
   * from `firstRow` (default 1).
   */
  async ingest(records: unknown[], origin: { source: string; firstRow?: number; rowNumbers?: number[] }): Promise<BatchReport> {
    const pipeline = this.opts.channel.pipeline;
    const report: BatchReport = { source: origin.source, rows: records.length, accepted: 0, rejected: [], excluded: {}, queued: 0, unchanged: 0, failed: [], retracted: 0 };
    const good: Item[] = [];
    const excludedGroups = new Set<string>();
    records.forEach((raw, i) => {
      const rowNumber = origin.rowNumbers?.[i] ?? (origin.firstRow ?? 1) + i;
      if (!raw || typeof raw !== 'object' || Array.isArray(raw)) {
        report.rejected.push({ row: rowNumber, field: '(record)', reason: 'must be an object' });
        return;
      }
      const { row, problems } = this.opts.format.prepare(raw as RecordRow, rowNumber);
      if (problems.length) {
        report.rejected.push(...problems);
        return;
      }
      const excludedBy = exclusionOf(pipeline?.exclude, row);
      if (excludedBy) {
        report.excluded[excludedBy] = (report.excluded[excludedBy] ?? 0) + 1;
        const key = this.opts.format.groupKey?.(row);
        if (key !== undefined) excludedGroups.add(key);
        return;
      }
      good.push({ row, rowNumber });
    });
    report.accepted = good.length;

    const groups = groupRows(good, this.opts.format.groupKey);
    // Groups with nothing left to send but something withdrawn: retraction only.
    for (const key of excludedGroups) if (!groups.has(key)) groups.set(key, []);

    // Groups (people) are independent: work on several at once so the store can commit their
    // writes together (group commit) instead of one fsync per write. Within a group, in order.
    const pending = [...groups];
    let finished = 0;
    const worker = async () => {
      for (let next = pending.shift(); next; next = pending.shift()) {
        const [key, items] = next;
        try {
          await this.sendGroup(key, items, excludedGroups.has(key), origin.source, report);
        } catch (err) {
          report.failed.push({ rows: items.map((i) => i.rowNumber), reason: reasonOf(err) });
        }
        // Groups finished, not started: each count is reported once, by the worker reaching it.
        this.opts.onProgress?.(++finished, groups.size);
      }
    };
    await Promise.all(Array.from({ length: Math.min(GROUP_CONCURRENCY, pending.length) }, worker));
    report.failed.sort((a, b) => a.rows[0] - b.rows[0]);
    log.info(
      { channel: this.channelId, source: origin.source, rows: report.rows, accepted: report.accepted, rejected: report.rejected.length, excluded: report.excluded, queued: report.queued, unchanged: report.unchanged, failed: report.failed.length, retracted: report.retracted },
      'batch ingested',
    );
    return report;
  }

  private async sendGroup(key: string, items: Item[], hadExclusions: boolean, source: string, report: BatchReport): Promise<void> {
    const { store, channel } = this.opts;
    const patientKey = this.opts.format.groupKey ? `group:${key}` : undefined;
    const rows = items.map((i) => i.row);
    // The newest message for this person (a bundle or a retraction), and the newest bundle.
    const latest = patientKey ? (await store.list({ channel: channel.id, patientKey, limit: 1 }))[0] : undefined;
    const lastBundle = latest?.messageType === 'record' ? latest : patientKey ? (await store.list({ channel: channel.id, patientKey, messageType: 'record', limit: 1 }))[0] : undefined;

    const output = rows.length ? this.opts.map(this.opts.format.toInput(key, rows)) : undefined;

    if (output !== undefined) {
      const hash = hashOf(output);
      if (lastBundle?.controlId?.startsWith(`${hash}.`) && !(await this.retractedSince(latest, output))) {
        report.unchanged++;
      } else {
        const id = await this.store(rows, output, `${hash}.${Date.now().toString(36)}`, patientKey, source, 'record');
        await this.publish({ messageId: id, kind: 'bundle', body: JSON.stringify(output), patientKey });
        report.queued++;
      }
    }
    if (hadExclusions && lastBundle) {
      const previous = await store.readContent(lastBundle.id, 'transformed');
      const retraction = retractionFor(previous ? JSON.parse(previous.toString('utf8')) : undefined, output, channel.pipeline?.retract ?? 'entered-in-error');
      const marker = `retract.${hashOf(retraction)}.`;
      // Already retracted exactly this (the same file dropped again): nothing new to do.
      if (retraction.references.length && !latest?.controlId?.startsWith(marker)) {
        const id = await this.store([], retraction, `${marker}${Date.now().toString(36)}`, patientKey, source, 'retraction');
        await this.publish({ messageId: id, kind: 'retraction', body: JSON.stringify(retraction), patientKey });
        report.retracted++;
      }
    }
  }

  /** Whether the newest message for the person is a retraction of something `output` holds. */
  private async retractedSince(latest: { id: string; messageType?: string } | undefined, output: unknown): Promise<boolean> {
    if (latest?.messageType !== 'retraction') return false;
    const content = await this.opts.store.readContent(latest.id, 'transformed');
    const retracted = new Set((content ? (JSON.parse(content.toString('utf8')) as Retraction) : { references: [] }).references);
    return conditionalUrls(output).some((u) => retracted.has(u));
  }

  private async store(rows: RecordRow[], output: unknown, controlId: string, patientKey: string | undefined, source: string, type: string): Promise<string> {
    const { id } = await this.opts.store.receive({
      channel: this.channelId,
      receivedAt: new Date(),
      sender: 'records',
      controlId,
      messageType: type,
      patientKey,
      status: 'received',
      raw: JSON.stringify({ source, rows }),
    });
    await this.opts.store.saveContent(id, 'transformed', JSON.stringify(output));
    return id;
  }

  private async publish(m: { messageId: string; kind: 'bundle' | 'retraction'; body: string; patientKey?: string }): Promise<void> {
    const envelope = recordEnvelope(this.channelId, m.messageId, m.kind, m.body, m.patientKey);
    await this.opts.queue.publish([envelope]);
    await this.opts.store.setStatus(m.messageId, 'queued', undefined, { destinations: destinationsFor(this.opts.channel, envelope.routingKey) });
  }
}
