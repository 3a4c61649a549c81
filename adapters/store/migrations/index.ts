// The one ordered list of store migrations. Other parts (audit, auth) add their own files here
// under the next free name prefix (0004-…, 0005-…): Kysely runs them in name order and refuses to
// start if a previously applied migration is missing from the list.
import { Migrator, type Kysely, type Migration, type MigrationResultSet } from 'kysely';
import { messagesMigration } from './0001-messages.js';
import { embeddedQueueMigration } from './0002-embedded-queue.js';
import { queuePartitionHeadsMigration } from './0003-queue-partition-heads.js';
import { auditLogMigration } from './0004-audit-log.js';
import { apiTokensMigration } from './0005-api-tokens.js';
import { fhirResourcesMigration } from './0006-fhir-resources.js';
import { sourceWatermarksMigration } from './0007-source-watermarks.js';
import { auditMacMigration } from './0008-audit-mac.js';
import { contentPerDestinationMigration } from './0009-content-per-destination.js';
import { patientKeySealedMigration } from './0010-patient-key-sealed.js';
import { messagesReceivedIdMigration } from './0011-messages-received-id.js';
import { noticesMigration } from './0012-notices.js';
import { storeKeysMigration } from './0013-store-keys.js';

export const migrations: Readonly<Record<string, Migration>> = {
  '0001-messages': messagesMigration,
  '0002-embedded-queue': embeddedQueueMigration,
  '0003-queue-partition-heads': queuePartitionHeadsMigration,
  '0004-audit-log': auditLogMigration,
  '0005-api-tokens': apiTokensMigration,
  '0006-fhir-resources': fhirResourcesMigration,
  '0007-source-watermarks': sourceWatermarksMigration,
  '0008-audit-mac': auditMacMigration,
  '0009-content-per-destination': contentPerDestinationMigration,
  '0010-patient-key-sealed': patientKeySealedMigration,
  '0011-messages-received-id': messagesReceivedIdMigration,
  '0012-notices': noticesMigration,
  '0013-store-keys': storeKeysMigration,
};

/** Bring the database up to date; safe to call on every start. Returns the names applied now. */
export async function migrateToLatest<DB>(kysely: Kysely<DB>, schema?: string): Promise<string[]> {
  const db = kysely as unknown as Kysely<unknown>;
  // With a PostgreSQL schema, Kysely must be told it: its table-exists check otherwise sees
  // another schema's migration tables and never creates its own.
  const migrator = new Migrator({ db, provider: { getMigrations: async () => ({ ...migrations }) }, ...(schema ? { migrationTableSchema: schema } : {}) });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error')?.migrationName;
    throw new Error(`database migration ${failed ?? ''} failed: ${(result.error as Error).message ?? String(result.error)}`, { cause: result.error });
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
