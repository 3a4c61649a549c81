// Case-system inbox: writes each delivered message as a row of an inbox table in the case
// system's own database, the way council case systems (Liquidlogic, Mosaic, …) take
// integration feeds. The row id is Tramline's message id, so redelivery is a no-op.
import { sql, type Kysely } from 'kysely';
import type { CaseInboxDestinationConfig } from '../../channels/definition.js';
import { DeliveryError } from '../../channels/errors.js';
import type { Envelope } from '../../channels/queue/types.js';
import { openDatabase, type Db } from '../../server/store/db.js';
import type { Destination } from '../types.js';
import { extractInboxFacts } from './extract.js';

interface InboxRow {
  id: string;
  received_at: string;
  delivered_at: string;
  message_type: string;
  control_id: string;
  sending_facility: string;
  nhs_number: string | null;
  patient_identifiers: string;
  payload: string;
}

type InboxDb = Record<string, InboxRow>;

export class CaseInboxDestination implements Destination {
  private db?: Db<InboxDb>;

  constructor(private readonly config: Pick<CaseInboxDestinationConfig, 'database' | 'table'>) {}

  async open(): Promise<void> {
    this.db = await openDatabase<InboxDb>(this.config.database);
    await this.db.kysely.schema
      .createTable(this.config.table)
      .ifNotExists()
      .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
      .addColumn('received_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('delivered_at', 'varchar(32)', (c) => c.notNull())
      .addColumn('message_type', 'varchar(32)', (c) => c.notNull())
      .addColumn('control_id', 'varchar(199)', (c) => c.notNull())
      .addColumn('sending_facility', 'varchar(227)', (c) => c.notNull())
      .addColumn('nhs_number', 'varchar(10)')
      .addColumn('patient_identifiers', 'text', (c) => c.notNull())
      .addColumn('payload', 'text', (c) => c.notNull())
      .execute();
    await sql`create index if not exists ${sql.id(`${this.config.table}_nhs_number`)} on ${sql.table(this.config.table)} (nhs_number)`.execute(
      this.db.kysely,
    );
  }

  get kysely(): Kysely<InboxDb> {
    if (!this.db) throw new Error('case inbox destination used before open()');
    return this.db.kysely;
  }

  async deliver(envelope: Envelope): Promise<void> {
    let facts;
    try {
      facts = extractInboxFacts(envelope.body);
    } catch (err) {
      throw new DeliveryError(`message ${envelope.messageId} cannot be read for the inbox: ${(err as Error).message}`, false);
    }
    const row: InboxRow = {
      id: envelope.messageId,
      received_at: envelope.headers.receivedAt ?? new Date().toISOString(),
      delivered_at: new Date().toISOString(),
      message_type: facts.messageType,
      control_id: facts.controlId,
      sending_facility: facts.sendingFacility,
      nhs_number: facts.nhsNumber ?? null,
      patient_identifiers: JSON.stringify(facts.identifiers),
      payload: envelope.body,
    };
    try {
      await this.kysely
        .insertInto(this.config.table)
        .values(row)
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
    } catch (err) {
      // The case-system database being down or locked is worth retrying.
      throw new DeliveryError(`case inbox write failed: ${(err as Error).message}`, true);
    }
  }

  async close(): Promise<void> {
    await this.db?.close();
    this.db = undefined;
  }
}
