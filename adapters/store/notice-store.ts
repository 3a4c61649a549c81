// The notice store (core/notices.ts) on SQLite or PostgreSQL. One row per notice; the answer's
// free text is sealed like message content (it may name the person); `overdue` is computed at
// read from the state and the due time, so it needs no timer.
import { sql, type Kysely } from 'kysely';
import { isOverdue, type AwaitingCounts, type NewNotice, type NoticeAnswer, type NoticeFilter, type NoticeRecord, type NoticeState, type NoticeStore } from '../../core/notices.js';
import { open, seal, type ContentKeyRing } from './crypto.js';

export interface NoticesTable {
  id: string;
  message_id: string;
  channel: string;
  type: string;
  withdraws: string | null;
  event: string;
  format: string;
  transport: string;
  reply_to: string | null;
  hospital_ods: string | null;
  council_ods: string | null;
  episode: string | null;
  ward: string | null;
  received_at: number;
  due_at: number | null;
  state: string;
  answer: string | null;
  answer_event: string | null;
  answer_code: string | null;
  answer_text_sealed: string | null;
  answer_by: string | null;
  answered_at: number | null;
  response_message_id: string | null;
  withdrawn_by: string | null;
  updated_at: number;
}

interface NoticeDatabase {
  notices: NoticesTable;
}

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

const textAad = (id: string) => `notice:${id}:answer-text`;

export class SqlNoticeStore implements NoticeStore {
  private readonly kysely: Kysely<NoticeDatabase>;

  /** `db` (a `Db` of the store) must already be migrated (0012-notices). */
  constructor(
    db: { kysely: unknown },
    private readonly keys: ContentKeyRing,
  ) {
    this.kysely = db.kysely as unknown as Kysely<NoticeDatabase>;
  }

  async add(n: NewNotice): Promise<boolean> {
    const result = await this.kysely
      .insertInto('notices')
      .values({
        id: n.id,
        message_id: n.messageId,
        channel: n.channel,
        type: n.type,
        withdraws: n.withdraws ?? null,
        event: n.event,
        format: n.format,
        transport: n.transport,
        reply_to: n.replyTo ?? null,
        hospital_ods: n.hospitalOds ?? null,
        council_ods: n.councilOds ?? null,
        episode: n.episode ?? null,
        ward: n.ward ?? null,
        received_at: n.receivedAt.getTime(),
        due_at: n.dueAt?.getTime() ?? null,
        state: n.state,
        updated_at: Date.now(),
      })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async get(id: string, now = new Date()): Promise<NoticeRecord | undefined> {
    const row = await this.kysely.selectFrom('notices').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? this.toRecord(row, now) : undefined;
  }

  async list(filter: NoticeFilter = {}, now = new Date()): Promise<NoticeRecord[]> {
    let q = this.kysely.selectFrom('notices').selectAll();
    if (filter.state === 'overdue') q = q.where('state', '=', 'awaiting').where('due_at', '<', now.getTime());
    else if (filter.state) q = q.where('state', '=', filter.state);
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.channel) q = q.where('channel', '=', filter.channel);
    if (filter.episode) q = q.where('episode', '=', filter.episode);
    if (filter.responseMessageId) q = q.where('response_message_id', '=', filter.responseMessageId);
    if (filter.after) {
      const at = filter.after.receivedAt.getTime();
      const id = filter.after.id;
      q = q.where('received_at', '<=', at).where((eb) => eb.or([eb('received_at', '<', at), eb('id', '<', id)]));
    }
    const limit = Math.min(Math.max(filter.limit ?? DEFAULT_LIMIT, 1), MAX_LIMIT);
    const rows = await q.orderBy('received_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    return rows.map((r) => this.toRecord(r, now));
  }

  async countAwaiting(filter: Pick<NoticeFilter, 'channel' | 'type'> = {}, now = new Date()): Promise<AwaitingCounts> {
    let q = this.kysely
      .selectFrom('notices')
      .select((eb) => [eb.fn.countAll<string | number>().as('awaiting'), sql<string | number | null>`sum(case when due_at < ${now.getTime()} then 1 else 0 end)`.as('overdue')])
      .where('state', '=', 'awaiting');
    if (filter.type) q = q.where('type', '=', filter.type);
    if (filter.channel) q = q.where('channel', '=', filter.channel);
    const row = await q.executeTakeFirstOrThrow();
    // PostgreSQL returns bigint counts as strings; an empty set sums to null.
    return { awaiting: Number(row.awaiting), overdue: Number(row.overdue ?? 0) };
  }

  async answer(id: string, state: 'accepted' | 'rejected', a: NoticeAnswer, responseMessageId?: string, from: readonly NoticeState[] = ['awaiting']): Promise<boolean> {
    const result = await this.kysely
      .updateTable('notices')
      .set({
        state,
        answer: a.answer,
        answer_event: a.event,
        answer_code: a.reasonCode,
        answer_text_sealed: a.reasonText ? sealText(this.keys, id, a.reasonText) : null,
        answer_by: a.by,
        answered_at: a.at.getTime(),
        response_message_id: responseMessageId ?? null,
        updated_at: Date.now(),
      })
      .where('id', '=', id)
      .where('state', 'in', [...from])
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async withdraw(ids: readonly string[], by: string): Promise<string[]> {
    if (!ids.length) return [];
    const changed = await this.kysely
      .updateTable('notices')
      .set({ state: 'withdrawn', withdrawn_by: by, updated_at: Date.now() })
      .where('id', 'in', [...ids])
      .where('state', '=', 'awaiting')
      .returning('id')
      .execute();
    return changed.map((r) => r.id);
  }

  private toRecord(r: NoticesTable, now: Date): NoticeRecord {
    const base: NoticeRecord = {
      id: r.id,
      messageId: r.message_id,
      channel: r.channel,
      type: r.type as NoticeRecord['type'],
      ...(r.withdraws ? { withdraws: r.withdraws as NoticeRecord['withdraws'] } : {}),
      event: r.event,
      format: r.format as NoticeRecord['format'],
      transport: r.transport as NoticeRecord['transport'],
      ...(r.reply_to ? { replyTo: r.reply_to } : {}),
      ...(r.hospital_ods ? { hospitalOds: r.hospital_ods } : {}),
      ...(r.council_ods ? { councilOds: r.council_ods } : {}),
      ...(r.episode ? { episode: r.episode } : {}),
      ...(r.ward ? { ward: r.ward } : {}),
      receivedAt: new Date(Number(r.received_at)),
      ...(r.due_at !== null ? { dueAt: new Date(Number(r.due_at)) } : {}),
      state: r.state as NoticeState,
      overdue: false,
      ...(r.response_message_id ? { responseMessageId: r.response_message_id } : {}),
      ...(r.withdrawn_by ? { withdrawnBy: r.withdrawn_by } : {}),
      updatedAt: new Date(Number(r.updated_at)),
    };
    base.overdue = isOverdue(base, now);
    if (r.answer && r.answer_event && r.answer_code && r.answer_by && r.answered_at !== null) {
      base.answer = {
        answer: r.answer as NoticeAnswer['answer'],
        event: r.answer_event,
        reasonCode: r.answer_code,
        ...(r.answer_text_sealed ? { reasonText: openText(this.keys, r.id, r.answer_text_sealed) } : {}),
        by: r.answer_by,
        at: new Date(Number(r.answered_at)),
      };
    }
    return base;
  }
}

function sealText(keys: ContentKeyRing, id: string, text: string): string {
  const s = seal(keys, Buffer.from(text, 'utf8'), textAad(id));
  return JSON.stringify([s.keyId, s.iv.toString('base64'), s.tag.toString('base64'), s.ciphertext.toString('base64')]);
}

function openText(keys: ContentKeyRing, id: string, sealed: string): string {
  const [keyId, iv, tag, ciphertext] = JSON.parse(sealed) as [string, string, string, string];
  return open(keys, { keyId, iv: Buffer.from(iv, 'base64'), tag: Buffer.from(tag, 'base64'), ciphertext: Buffer.from(ciphertext, 'base64') }, textAad(id)).toString('utf8');
}
