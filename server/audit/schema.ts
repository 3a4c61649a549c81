// Row shapes of the audit and token tables as Kysely sees them (migrations 0004, 0005).
export interface AuditLogTable {
  seq: number;
  at: number;
  category: string;
  action: string;
  outcome: string;
  actor: string | null;
  actor_kind: string | null;
  role: string | null;
  organisation: string | null;
  source_ip: string | null;
  target: string | null;
  message_id: string | null;
  patient: string | null;
  purpose: string | null;
  break_glass: string | null;
  /** Canonical JSON of the entry's `detail`, or null. */
  detail: string | null;
  prev_hash: string;
  hash: string;
  /** `<key id>:<HMAC of hash>` with the audit key (migration 0008); null in entries written before. */
  mac: string | null;
}

export interface ApiTokensTable {
  id: string;
  name: string;
  token_hash: string;
  /** Comma-separated role names. */
  roles: string;
  organisation: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
}

export interface AuditDatabase {
  audit_log: AuditLogTable;
  api_tokens: ApiTokensTable;
}

/** Any opened store database (whatever its Kysely table types): audit and tokens cast it. */
export interface DbHandle {
  readonly kysely: unknown;
  readonly dialect: 'sqlite' | 'postgres';
}
