// Audit entries ⇄ table rows.
import { canonicalJson, hashRow } from './chain.js';
import type { AuditKey } from './key.js';
import type { AuditLogTable } from './schema.js';
import type { ActorKind, AuditCategory, AuditEntryInput, AuditOutcome, AuditRecord } from './types.js';

const MAX_TEXT = 2000;

/**
 * A text column's value: every NUL written as `\0`, since PostgreSQL refuses NUL in text and an
 * audit write that fails loses the record of the request that carried it (`detail` is JSON,
 * where a NUL is already escaped).
 */
function text(value: string | undefined): string | null {
  if (value === undefined || value === '') return null;
  const shown = value.includes('\u0000') ? value.replaceAll('\u0000', '\\0') : value;
  return shown.length > MAX_TEXT ? shown.slice(0, MAX_TEXT) : shown;
}

/**
 * The row for `entry` as entry number `seq` after the entry whose hash is `prevHash`, with its
 * MAC when `key` is given.
 */
export function toRow(entry: AuditEntryInput, seq: number, prevHash: string, now: number, key?: AuditKey): AuditLogTable {
  const row = {
    seq,
    at: entry.at?.getTime() ?? now,
    category: entry.category,
    action: text(entry.action) ?? '',
    outcome: entry.outcome,
    actor: text(entry.actor?.id),
    actor_kind: text(entry.actor?.kind),
    role: text(entry.actor?.role),
    organisation: text(entry.actor?.organisation),
    source_ip: text(entry.sourceIp),
    target: text(entry.target),
    message_id: text(entry.messageId),
    patient: text(entry.patient),
    purpose: text(entry.purpose),
    break_glass: text(entry.breakGlass),
    detail: entry.detail && Object.keys(entry.detail).length ? canonicalJson(entry.detail) : null,
    prev_hash: prevHash,
  };
  const hash = hashRow(row);
  return { ...row, hash, mac: key ? key.entryMac(hash) : null };
}

function opt<T>(key: string, value: T | null): Record<string, T> {
  return value === null ? {} : { [key]: value };
}

export function toRecord(row: AuditLogTable): AuditRecord {
  const actor =
    row.actor !== null
      ? { id: row.actor, kind: (row.actor_kind ?? 'system') as ActorKind, ...opt('role', row.role), ...opt('organisation', row.organisation) }
      : undefined;
  return {
    seq: Number(row.seq),
    at: new Date(Number(row.at)),
    category: row.category as AuditCategory,
    action: row.action,
    outcome: row.outcome as AuditOutcome,
    ...(actor ? { actor } : {}),
    ...opt('sourceIp', row.source_ip),
    ...opt('target', row.target),
    ...opt('messageId', row.message_id),
    ...opt('patient', row.patient),
    ...opt('purpose', row.purpose),
    ...opt('breakGlass', row.break_glass),
    ...(row.detail !== null ? { detail: JSON.parse(row.detail) as Record<string, unknown> } : {}),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}
