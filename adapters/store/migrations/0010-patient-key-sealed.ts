// `messages.patient_key` holds a keyed hash of the patient's key from here on (index-key.ts),
// and the key itself is kept only sealed, in `patient_key_sealed`, for showing it to callers.
// Rows stored before hold the key in clear: the store rehashes them at start
// (rehashPatientKeys in ../patient-key-rehash.ts), which needs the keys a migration does not have.
import { sql, type Kysely, type Migration } from 'kysely';

export const patientKeySealedMigration: Migration = {
  async up(db: Kysely<unknown>) {
    // `<key id>:<base64url of iv, tag and ciphertext>` (one text column, the same on both engines).
    await db.schema.alterTable('messages').addColumn('patient_key_sealed', 'text').execute();
    // Exactly the rows still to rehash (new rows with a key always have it sealed): empty once
    // they are done, so the start-up check costs nothing on a large store.
    await db.schema
      .createIndex('messages_patient_key_unsealed')
      .on('messages')
      .column('id')
      .where(sql.ref('patient_key_sealed'), 'is', null)
      .where(sql.ref('patient_key'), 'is not', null)
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropIndex('messages_patient_key_unsealed').execute();
    await db.schema.alterTable('messages').dropColumn('patient_key_sealed').execute();
  },
};
