// FHIR transactions share database commits: Bundles that arrive while one commit is under way
// (the engine's destinations post several at once) are applied one after another inside one
// database transaction, each within a savepoint of its own, and committed together — one
// fsync (SQLite, synchronous = FULL) or one PostgreSQL commit serves them all, where one per
// Bundle capped the sandbox at the disk's commit rate. Each Bundle is still all or nothing: a
// failing one is rolled back to its savepoint and rejected alone, and every caller is answered
// only after the commit holding its writes. On SQLite the Bundles join the database's one
// writer (adapters/store/shared-writer.ts), so they share commits with the message store,
// queue and audit trail too.
import { sql, type Kysely } from 'kysely';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import type { DialectName } from '../../adapters/store/db.js';
import { GroupCommitter, ItemFailure, type BulkWrite } from '../../adapters/store/group-commit.js';
import { sqliteWriter } from '../../adapters/store/shared-writer.js';
import type { FhirKysely } from './rows.js';
import type { FhirDatabase } from './schema.js';
import { applyTransaction, lockFhirWrites, type PlannedTransaction, type TransactionResult } from './transaction.js';

/** Most Bundles per commit: a group's writes stay a few megabytes at most. */
const MAX_GROUP = 64;

export class TransactionCommits {
  private readonly committer: GroupCommitter<FhirDatabase>;
  private readonly kind: BulkWrite<FhirDatabase, PlannedTransaction, TransactionResult>;

  /** `dialect` as the opened database reports it (absent: a PostgreSQL-safe committer of its own). */
  constructor(kysely: FhirKysely, keys: ContentKeyRing, dialect?: DialectName) {
    this.committer =
      dialect === 'sqlite'
        ? sqliteWriter<FhirDatabase>({ kysely, dialect })
        : new GroupCommitter(kysely, { maxBatch: MAX_GROUP, onBegin: (trx) => lockFhirWrites(trx as unknown as Kysely<unknown>) });
    this.kind = {
      name: 'fhir-transaction',
      apply: async (trx, items) => {
        const results: (TransactionResult | ItemFailure)[] = [];
        for (const planned of items) {
          await sql`savepoint fhir_bundle`.execute(trx);
          try {
            results.push(await applyTransaction(trx, keys, planned));
            await sql`release savepoint fhir_bundle`.execute(trx);
          } catch (err) {
            await sql`rollback to savepoint fhir_bundle`.execute(trx);
            await sql`release savepoint fhir_bundle`.execute(trx);
            results.push(new ItemFailure(err));
          }
        }
        return results;
      },
    };
  }

  /** Apply a planned transaction; resolves once committed, rejects (nothing written) on failure. */
  submit(planned: PlannedTransaction): Promise<TransactionResult> {
    return this.committer.submit(this.kind, planned);
  }
}
