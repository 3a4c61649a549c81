// Hospital-to-social-care notices (ADW): one row per notice a channel took, with its state and
// the council's answer (core/notices.ts). No person details: those stay in the notice's sealed
// message. The answer's free text may name the person, so it is sealed (answer_text_sealed).
import type { Kysely, Migration } from 'kysely';

export const noticesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable('notices')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('message_id', 'text', (c) => c.notNull())
      .addColumn('channel', 'text', (c) => c.notNull())
      .addColumn('type', 'text', (c) => c.notNull())
      .addColumn('withdraws', 'text')
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('format', 'text', (c) => c.notNull())
      .addColumn('transport', 'text', (c) => c.notNull())
      .addColumn('reply_to', 'text')
      .addColumn('hospital_ods', 'text')
      .addColumn('council_ods', 'text')
      .addColumn('episode', 'text')
      .addColumn('ward', 'text')
      .addColumn('received_at', 'bigint', (c) => c.notNull())
      .addColumn('due_at', 'bigint')
      .addColumn('state', 'text', (c) => c.notNull())
      .addColumn('answer', 'text')
      .addColumn('answer_event', 'text')
      .addColumn('answer_code', 'text')
      .addColumn('answer_text_sealed', 'text')
      .addColumn('answer_by', 'text')
      .addColumn('answered_at', 'bigint')
      .addColumn('response_message_id', 'text')
      .addColumn('withdrawn_by', 'text')
      .addColumn('updated_at', 'bigint', (c) => c.notNull())
      .execute();
    await db.schema.createIndex('notices_state_due').on('notices').columns(['state', 'due_at']).execute();
    await db.schema.createIndex('notices_episode').on('notices').columns(['channel', 'episode']).execute();
    await db.schema.createIndex('notices_received').on('notices').columns(['received_at', 'id']).execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable('notices').ifExists().execute();
  },
};
