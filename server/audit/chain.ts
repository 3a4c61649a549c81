// The hash chain: each row's hash is SHA-256 over a canonical JSON of all its columns (the
// previous row's hash included), so changing any stored value, or removing or inserting a row,
// shows up when the chain is recomputed.
import crypto from 'node:crypto';
import type { AuditKey } from './key.js';
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

export type UnhashedRow = Omit<AuditLogTable, 'hash' | 'mac'>;

/** Row columns in canonical (sorted) key order; `hash` and the MAC over it are left out. */
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

/** SHA-256 (hex) of a row's canonical form; covers every column but `hash` and `mac`. */
export function hashRow(row: UnhashedRow): string {
  return crypto.createHash('sha256').update(canonicalRow(row), 'utf8').digest('hex');
}

/** Entries written before the audit key existed (migration): reported, not counted as tampered. */
export interface UnkeyedStretch {
  count: number;
  first: number;
  last: number;
}

/**
 * Checks rows given in seq order, continuing from `previous` (undefined: from the start). With
 * `key`, each entry's MAC is checked too: entries without one are accepted only before the
 * first entry that has one (written before the key existed).
 */
export class ChainChecker {
  private expectedSeq: number;
  private prevHash: string;
  private keyedSeen = false;
  checked = 0;
  unkeyed?: UnkeyedStretch;

  constructor(
    previous?: { seq: number; hash: string },
    private readonly key?: AuditKey,
  ) {
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
    const macProblem = this.key ? this.checkMac(seq, row) : null;
    if (macProblem) return macProblem;
    this.expectedSeq = seq + 1;
    this.prevHash = row.hash;
    this.checked++;
    return null;
  }

  private checkMac(seq: number, row: AuditLogTable): string | null {
    if (row.mac === null || row.mac === undefined) {
      if (this.keyedSeen) return 'entry has no MAC although the entries before it have one (MAC removed: entry forged or rewritten)';
      this.unkeyed = { count: (this.unkeyed?.count ?? 0) + 1, first: this.unkeyed?.first ?? seq, last: seq };
      return null;
    }
    this.keyedSeen = true;
    switch (this.key!.checkEntry(row.hash, row.mac)) {
      case 'ok':
        return null;
      case 'other-key':
        return `entry MAC was made with another audit key than this one (${this.key!.id}): wrong TRAMLINE_AUDIT_KEY or audit.key, or a forged entry`;
      default:
        return 'entry MAC does not match its hash (entry edited and the chain recomputed without the audit key)';
    }
  }

  get head(): { seq: number; hash: string } | undefined {
    return this.checked || this.expectedSeq > 1 ? { seq: this.expectedSeq - 1, hash: this.prevHash } : undefined;
  }
}
