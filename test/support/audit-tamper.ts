// What someone with write access to the database, but not the audit key, can do to the audit
// trail: drop the append-only triggers, then edit, delete and recompute the hash chain.
import { sql, type Kysely } from 'kysely';
import { GENESIS_HASH, hashRow } from '../../server/audit/chain.js';
import type { AuditDatabase, AuditLogTable } from '../../server/audit/schema.js';
import type { DbHandle } from '../../server/audit/schema.js';

export async function dropAppendOnlyGuards(db: DbHandle): Promise<void> {
  const k = db.kysely as Kysely<AuditDatabase>;
  if (db.dialect === 'postgres') {
    await sql`drop trigger audit_log_no_change on audit_log`.execute(k);
  } else {
    await sql`drop trigger audit_log_no_update`.execute(k);
    await sql`drop trigger audit_log_no_delete`.execute(k);
  }
}

/** Rewrite the chain from `seq` on (the entry at `seq` changed by `edit`), keeping the MACs. */
export async function recomputeChainFrom(db: DbHandle, seq: number, edit: (row: AuditLogTable) => AuditLogTable): Promise<void> {
  const k = db.kysely as Kysely<AuditDatabase>;
  const rows = await k.selectFrom('audit_log').selectAll().where('seq', '>=', seq).orderBy('seq').execute();
  let prev = seq > 1 ? (await k.selectFrom('audit_log').select('hash').where('seq', '=', seq - 1).executeTakeFirstOrThrow()).hash : GENESIS_HASH;
  for (const [i, original] of rows.entries()) {
    const row = i === 0 ? edit(original) : { ...original };
    row.prev_hash = prev;
    row.hash = hashRow(row);
    prev = row.hash;
    const { seq: rowSeq, ...columns } = row;
    await k.updateTable('audit_log').set(columns).where('seq', '=', rowSeq).execute();
  }
}

/** Cut the trail short: every entry after `seq` removed. */
export async function truncateAfter(db: DbHandle, seq: number): Promise<void> {
  await (db.kysely as Kysely<AuditDatabase>).deleteFrom('audit_log').where('seq', '>', seq).execute();
}
