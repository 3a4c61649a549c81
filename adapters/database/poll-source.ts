// Database polling source: reads a case-system table or view incrementally by a watermark
// column (e.g. updated_at), with the row key breaking ties, so rows sharing a watermark value
// are neither skipped nor read twice. The position is saved in Tramline's store only after
// the batch is stored, so a crash re-reads at most the last batch (and the intake recognises
// what it already sent).
import { sql, type Kysely } from 'kysely';
import type { DatabaseSourceConfig } from './spec.js';
import { reasonOf } from '../../core/errors.js';
import { log } from '../../core/logger.js';
import { openDatabase, type Db } from '../store/db.js';

export interface Watermark {
  watermark: string;
  lastKey: string;
}

/** Where the position is kept (Tramline's store). */
export interface WatermarkStore {
  load(channel: string): Promise<Watermark | undefined>;
  save(channel: string, mark: Watermark): Promise<void>;
}

interface WatermarkTable {
  source_watermarks: { channel: string; watermark: string; last_key: string; updated_at: number };
}

export function watermarkStore(kysely: Kysely<unknown>): WatermarkStore {
  const db = kysely as unknown as Kysely<WatermarkTable>;
  return {
    async load(channel) {
      const row = await db.selectFrom('source_watermarks').selectAll().where('channel', '=', channel).executeTakeFirst();
      return row ? { watermark: row.watermark, lastKey: row.last_key } : undefined;
    },
    async save(channel, mark) {
      const values = { channel, watermark: mark.watermark, last_key: mark.lastKey, updated_at: Date.now() };
      await db
        .insertInto('source_watermarks')
        .values(values)
        .onConflict((oc) => oc.column('channel').doUpdateSet({ watermark: values.watermark, last_key: values.last_key, updated_at: values.updated_at }))
        .execute();
    },
  };
}

export type RowBatchHandler = (rows: Record<string, unknown>[], origin: { source: string }) => Promise<unknown>;

const WM = '__tramline_wm';
const KEY = '__tramline_key';

export class DatabasePollSource {
  private db?: Db<Record<string, Record<string, unknown>>>;
  private timer?: NodeJS.Timeout;
  private busy?: Promise<number>;
  private closed = false;

  constructor(
    private readonly channel: string,
    private readonly config: Pick<DatabaseSourceConfig, 'url' | 'view' | 'watermark' | 'key' | 'pollIntervalMs' | 'batchSize'>,
    private readonly marks: WatermarkStore,
    private readonly onRows: RowBatchHandler,
  ) {}

  async start(): Promise<void> {
    this.db = await openDatabase(this.config.url);
    this.timer = setInterval(() => void this.poll().catch(() => undefined), this.config.pollIntervalMs);
    void this.poll().catch(() => undefined);
  }

  /** Read and hand over everything new, batch by batch. Resolves with the rows read. */
  poll(): Promise<number> {
    if (this.closed || !this.db) return Promise.resolve(0);
    this.busy ??= this.drain().finally(() => (this.busy = undefined));
    return this.busy;
  }

  private async drain(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const n = await this.readBatch();
        total += n;
        if (n < this.config.batchSize || this.closed) break;
      }
    } catch (err) {
      log.warn({ channel: this.channel, view: this.config.view, reason: reasonOf(err) }, 'database poll failed; will retry');
      throw err;
    }
    if (total) log.info({ channel: this.channel, view: this.config.view, rows: total }, 'database rows read');
    return total;
  }

  private async readBatch(): Promise<number> {
    const { view, watermark, key, batchSize } = this.config;
    const mark = await this.marks.load(this.channel);
    const wm = sql.ref(watermark);
    const k = sql.ref(key);
    // Text forms of watermark and key are what we save; comparisons run on the native types.
    let query = this.db!.kysely.selectFrom(view)
      .selectAll()
      .select([sql<string>`cast(${wm} as text)`.as(WM), sql<string>`cast(${k} as text)`.as(KEY)])
      .orderBy(sql`${wm}`)
      .orderBy(sql`${k}`)
      .limit(batchSize);
    if (mark) {
      query = query.where(sql<boolean>`(${wm} > ${mark.watermark} or (${wm} = ${mark.watermark} and ${k} > ${mark.lastKey}))`);
    }
    const rows = (await query.execute()) as Record<string, unknown>[];
    if (!rows.length) return 0;
    const last = rows[rows.length - 1];
    const records = rows.map(({ [WM]: _w, [KEY]: _k, ...rest }) => rest);
    await this.onRows(records, { source: view });
    await this.marks.save(this.channel, { watermark: String(last[WM]), lastKey: String(last[KEY]) });
    return rows.length;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.timer);
    await this.busy?.catch(() => undefined);
    await this.db?.close();
  }
}
