// Intake for record sources (file drop, HTTP, database polling): rows in, a batch report out.
// Each good row is validated, screened by the exclusion rules, grouped (one group per person),
// mapped and validated as a whole, then stored and queued. A bad row never stops the good
// ones; an excluded row never leaves and is only counted.
import { createHash } from 'node:crypto';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { log } from '../core/logger.js';
import type { MessageStore } from '../core/store.js';
import type { ChannelDefinition } from './definition.js';
import { destinationsFor, partitionKeyOf } from './routing.js';
import { reasonOf, withoutValues } from '../core/errors.js';
import type { DeliveryQueue, Envelope } from '../core/queue.js';
import type { RecordFormat } from './record-formats.js';
import { exclusionOf } from './records.js';
import { conditionalUrls, retractionFor, type Retraction } from './retraction.js';
import type { BatchReport, RecordMapper, RecordRow, RecordWarning } from '../core/records.js';

/** Problems and warnings listed in a report; beyond this they are only counted. */
export const MAX_LISTED = 1000;

export interface RecordIntakeOptions {
  channel: ChannelDefinition;
  store: MessageStore;
  queue: DeliveryQueue;
  format: RecordFormat;
  map: RecordMapper;
  /** Called as groups finish (done, total): progress for long batches. */
  onProgress?: (done: number, total: number) => void;
}

export interface Item {
  row: RecordRow;
  rowNumber: number;
}

/** Store message types of record channels: a person's bundle, or a retraction. */
export const RECORD_MESSAGE_TYPES = ['record', 'retraction'] as const;

/** `partitionKey`: partitionKeyOf (routing.ts) of the person's group key. */
export function recordEnvelope(channel: string, messageId: string, kind: 'bundle' | 'retraction', body: string, partitionKey: string): Envelope {
  return {
    messageId,
    channel,
    routingKey: `${channel}.record.${kind}`,
    partitionKey,
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
    const batch = this.begin(origin.source);
    records.forEach((raw, i) => batch.add(raw, origin.rowNumbers?.[i] ?? (origin.firstRow ?? 1) + i));
    return batch.finish();
  }

  /**
   * Start a batch fed a row at a time (a file read as a stream): rows are screened as they
   * come, and only the good ones are kept, grouped, until `finish` sends them (`compact`: held
   * as JSON text, for rows read from files).
   */
  begin(source: string, options: { compact?: boolean } = {}): RecordBatch {
    return new RecordBatch(this, source, options.compact);
  }

  /** Screen one row: its problems, or whether an exclusion rule holds it back, or the row. */
  screen(raw: unknown, rowNumber: number): { problems: { field: string; reason: string }[] } | { excludedBy: string; key?: string } | { row: RecordRow } {
    if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return { problems: [{ field: '(record)', reason: 'must be an object' }] };
    const { row, problems } = this.opts.format.prepare(raw as RecordRow, rowNumber);
    if (problems.length) return { problems };
    const excludedBy = exclusionOf(this.opts.channel.pipeline?.exclude, row);
    if (excludedBy) return { excludedBy, key: this.opts.format.groupKey?.(row) };
    return { row };
  }

  /** The group (person) of a good row; without a group key, each row is its own group. */
  groupOf(row: RecordRow, rowNumber: number): string {
    return this.opts.format.groupKey ? this.opts.format.groupKey(row) : `#${rowNumber}`;
  }

  /** Send every group (emptying `groups`); each person's failure is recorded, never stops the others. */
  async sendGroups<T>(groups: Map<string, T[]>, load: (held: T[]) => Item[], excludedGroups: Set<string>, source: string, report: BatchReport, warn: (w: RecordWarning) => void): Promise<void> {
    // Groups (people) are independent: work on several at once so the store can commit their
    // writes together (group commit) instead of one fsync per write. Within a group, in order.
    const pending = [...groups];
    const total = groups.size;
    let finished = 0;
    const worker = async () => {
      for (let next = pending.shift(); next; next = pending.shift()) {
        const [key, held] = next;
        groups.delete(key); // let each person's rows go once they are sent
        const items = load(held);
        try {
          await this.sendGroup(key, items, excludedGroups.has(key), source, report, warn);
        } catch (err) {
          report.failed.push({ rows: items.map((i) => i.rowNumber), reason: withoutValues(reasonOf(err)) });
        }
        // Groups finished, not started: each count is reported once, by the worker reaching it.
        this.opts.onProgress?.(++finished, total);
        // A store that answers synchronously (SQLite) resolves every await as a microtask:
        // without this, a batch of thousands of people would hold HL7 ACKs until it is done.
        await yieldToEventLoop();
      }
    };
    await Promise.all(Array.from({ length: Math.min(GROUP_CONCURRENCY, pending.length) }, worker));
    report.failed.sort((a, b) => a.rows[0] - b.rows[0]);
    log.info(
      {
        channel: this.channelId,
        source,
        rows: report.rows,
        accepted: report.accepted,
        rejected: report.rejectedRows,
        warnings: report.warnings.length + (report.notListed?.warnings ?? 0),
        excluded: report.excluded,
        queued: report.queued,
        unchanged: report.unchanged,
        failed: report.failed.length,
        retracted: report.retracted,
      },
      'batch ingested',
    );
  }

  private async sendGroup(key: string, items: Item[], hadExclusions: boolean, source: string, report: BatchReport, warn: (w: RecordWarning) => void): Promise<void> {
    const { store, channel } = this.opts;
    const patientKey = this.opts.format.groupKey ? `group:${key}` : undefined;
    const rows = items.map((i) => i.row);
    // The newest message for this person (a bundle or a retraction), and the newest bundle.
    const latest = patientKey ? (await store.list({ channel: channel.id, patientKey, limit: 1 }))[0] : undefined;
    const lastBundle = latest?.messageType === 'record' ? latest : patientKey ? (await store.list({ channel: channel.id, patientKey, messageType: 'record', limit: 1 }))[0] : undefined;

    const mapped = rows.length ? this.opts.map(this.opts.format.toInput(key, rows)) : undefined;
    const output = mapped?.output;
    for (const w of mapped?.warnings ?? []) warn({ rows: items.map((i) => i.rowNumber), ...w });

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
    const envelope = recordEnvelope(this.channelId, m.messageId, m.kind, m.body, partitionKeyOf(this.opts.store, m.messageId, m.patientKey));
    await this.opts.queue.publish([envelope]);
    await this.opts.store.setStatus(m.messageId, 'queued', undefined, { destinations: destinationsFor(this.opts.channel, envelope.routingKey) });
  }
}

/**
 * A good row held until its batch is sent, compactly: its field names are shared by every row
 * of the same shape and its values kept as one JSON text, so a 100 MB extract is held in about
 * its own size rather than several times that as objects.
 */
type HeldRow = Item | { rowNumber: number; names: string[]; values: string };

/** One batch fed a row at a time; see RecordIntake.begin. */
export class RecordBatch {
  readonly report: BatchReport;
  private readonly groups = new Map<string, HeldRow[]>();
  private readonly shapes = new Map<string, string[]>();
  private readonly excludedGroups = new Set<string>();

  constructor(
    private readonly intake: RecordIntake,
    source: string,
    /** Hold rows as JSON text: only for rows that are plain JSON (CSV, JSON lines), not database values. */
    private readonly compact = false,
  ) {
    this.report = { source, rows: 0, accepted: 0, rejectedRows: 0, rejected: [], warnings: [], excluded: {}, queued: 0, unchanged: 0, failed: [], retracted: 0 };
  }

  add(raw: unknown, rowNumber: number): void {
    const r = this.report;
    const screened = this.intake.screen(raw, rowNumber);
    if ('problems' in screened) return this.reject(rowNumber, screened.problems);
    r.rows++;
    if ('excludedBy' in screened) {
      r.excluded[screened.excludedBy] = (r.excluded[screened.excludedBy] ?? 0) + 1;
      if (screened.key !== undefined) this.excludedGroups.add(screened.key);
      return;
    }
    r.accepted++;
    const key = this.intake.groupOf(screened.row, rowNumber);
    const held = this.hold(screened.row, rowNumber);
    const list = this.groups.get(key);
    if (list) list.push(held);
    else this.groups.set(key, [held]);
  }

  private hold(row: RecordRow, rowNumber: number): HeldRow {
    if (!this.compact) return { row, rowNumber };
    const keys = Object.keys(row);
    const shape = keys.join('\0');
    let names = this.shapes.get(shape);
    if (!names) this.shapes.set(shape, (names = keys));
    return { rowNumber, names, values: JSON.stringify(keys.map((k) => row[k])) };
  }

  private static load(held: HeldRow[]): Item[] {
    return held.map((h) => {
      if ('row' in h) return h;
      const values = JSON.parse(h.values) as unknown[];
      return { rowNumber: h.rowNumber, row: Object.fromEntries(h.names.map((n, i) => [n, values[i]])) };
    });
  }

  /** A row that could not be used: counted once, each of its problems listed (up to the cap). */
  reject(rowNumber: number, problems: { field: string; reason: string }[]): void {
    const r = this.report;
    r.rows++;
    r.rejectedRows++;
    for (const p of problems) {
      if (r.rejected.length < MAX_LISTED) r.rejected.push({ row: rowNumber, field: p.field, reason: p.reason });
      else this.notListed().rejected++;
    }
  }

  private warn(w: RecordWarning): void {
    if (this.report.warnings.length < MAX_LISTED) this.report.warnings.push(w);
    else this.notListed().warnings++;
  }

  private notListed(): { rejected: number; warnings: number } {
    return (this.report.notListed ??= { rejected: 0, warnings: 0 });
  }

  async finish(): Promise<BatchReport> {
    // Groups with nothing left to send but something withdrawn: retraction only.
    for (const key of this.excludedGroups) if (!this.groups.has(key)) this.groups.set(key, []);
    await this.intake.sendGroups(this.groups, RecordBatch.load, this.excludedGroups, this.report.source, this.report, (w) => this.warn(w));
    this.groups.clear();
    this.report.rejected.sort((a, b) => a.row - b.row);
    this.report.warnings.sort((a, b) => a.rows[0] - b.rows[0]);
    return this.report;
  }
}
