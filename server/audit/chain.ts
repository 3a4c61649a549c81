// The hash chain: each row's hash is SHA-256 over a canonical JSON of all its columns (the
// previous row's hash included), so changing any stored value, or removing or inserting a row,
// shows up when the chain is recomputed.
import crypto from 'node:crypto';
import type { AuditLogTable } from './schema.js';

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level and no insignificant whitespace. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonical JSON: numbers must be finite');
    return JSON.stringify(value ?? null);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export type UnhashedRow = Omit<AuditLogTable, 'hash'>;

/** Row columns in canonical (sorted) key order; `hash` is the one column left out. */
const HASHED_COLUMNS = [
  'action',
  'actor',
  'actor_kind',
  'at',
  'break_glass',
  'category',
  'detail',
  'message_id',
  'organisation',
  'outcome',
  'patient',
  'prev_hash',
  'purpose',
  'role',
  'seq',
  'source_ip',
  'target',
] as const satisfies readonly (keyof UnhashedRow)[];

/**
 * The canonical JSON of a row, written directly: the columns are fixed, so the key sort is done
 * once above instead of per row. Same text as `canonicalJson` over the row (seq and at as numbers,
 * absent values as null), so trails written before keep verifying.
 */
function canonicalRow(row: UnhashedRow): string {
  let out = '{';
  for (let i = 0; i < HASHED_COLUMNS.length; i++) {
    const column = HASHED_COLUMNS[i];
    const raw = row[column];
    const value = column === 'seq' || column === 'at' ? Number(raw) : raw;
    if (typeof value === 'number' && !Number.isFinite(value)) throw new Error('canonical JSON: numbers must be finite');
    out += `${i ? ',' : ''}"${column}":${JSON.stringify(value ?? null)}`;
  }
  return `${out}}`;
}

/** SHA-256 (hex) of a row's canonical form; covers every column but `hash` itself. */
export function hashRow(row: UnhashedRow): string {
  return crypto.createHash('sha256').update(canonicalRow(row), 'utf8').digest('hex');
}

/** Checks rows given in seq order, continuing from `previous` (undefined: from the start). */
export class ChainChecker {
  private expectedSeq: number;
  private prevHash: string;
  checked = 0;

  constructor(previous?: { seq: number; hash: string }) {
    this.expectedSeq = (previous?.seq ?? 0) + 1;
    this.prevHash = previous?.hash ?? GENESIS_HASH;
  }

  /** Null when the row fits the chain, otherwise why it does not. */
  check(row: AuditLogTable): string | null {
    const seq = Number(row.seq);
    if (seq !== this.expectedSeq) {
      return seq > this.expectedSeq
        ? `entries ${this.expectedSeq}..${seq - 1} are missing (deleted)`
        : `sequence number ${seq} out of order (expected ${this.expectedSeq})`;
    }
    if (row.prev_hash !== this.prevHash) return 'previous-hash link does not match the entry before (entry before was changed, removed or inserted)';
    if (hashRow(row) !== row.hash) return 'content does not match its hash (entry was edited)';
    this.expectedSeq = seq + 1;
    this.prevHash = row.hash;
    this.checked++;
    return null;
  }

  get head(): { seq: number; hash: string } | undefined {
    return this.checked || this.expectedSeq > 1 ? { seq: this.expectedSeq - 1, hash: this.prevHash } : undefined;
  }
}
