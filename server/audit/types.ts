// What the audit trail records. Entries name people, systems, message ids and (for record
// views) the patient's NHS number — never message content.

export const AUDIT_CATEGORIES = ['message', 'api', 'cli', 'view', 'auth', 'system'] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

/** success; denied (authenticated, not allowed: 403); unauthenticated (401); failure (error). */
export const AUDIT_OUTCOMES = ['success', 'denied', 'unauthenticated', 'failure'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** `session`: a person signed in to the web console. */
export type ActorKind = 'token' | 'jwt' | 'session' | 'cli' | 'system';

export interface AuditActor {
  /** User id (JWT `sub`), token name, OS user for the CLI, or `tramline` for the engine. */
  id: string;
  kind: ActorKind;
  role?: string;
  organisation?: string;
}

export interface AuditEntryInput {
  at?: Date;
  category: AuditCategory;
  /** e.g. `message.received`, `GET /api/messages`, `viewer.read`, `tokens.create`. */
  action: string;
  outcome: AuditOutcome;
  actor?: AuditActor;
  sourceIp?: string;
  /** What was acted on: a channel, destination, token name, URL path... */
  target?: string;
  messageId?: string;
  /** Patient identifier (NHS number) when a person's record was accessed. */
  patient?: string;
  /** Purpose of use (e.g. direct care). */
  purpose?: string;
  /** Break-glass rationale when access was by override. */
  breakGlass?: string;
  /** Small structured extra facts (ids, counts, reasons); never content. */
  detail?: Record<string, unknown>;
}

export interface AuditRecord extends Omit<AuditEntryInput, 'at'> {
  seq: number;
  at: Date;
  prevHash: string;
  hash: string;
}

export interface AuditFilter {
  from?: Date;
  to?: Date;
  patient?: string;
  category?: AuditCategory;
  action?: string;
  actor?: string;
  messageId?: string;
  outcome?: AuditOutcome;
  /** Entries after this sequence number (paging). */
  afterSeq?: number;
  /** Entries before this sequence number (paging newest first). */
  beforeSeq?: number;
  /** Only entries recording access by break-glass override. */
  breakGlass?: boolean;
  limit?: number;
  /** Newest first (default oldest first). */
  newestFirst?: boolean;
}

export interface VerifyResult {
  ok: boolean;
  /** Entries checked. */
  checked: number;
  /** Last entry's seq and hash: note them somewhere else to detect truncation of the tail later. */
  head?: { seq: number; hash: string };
  /** Entries written before the audit key existed (no MAC): their chain is checked, not their MAC. */
  unkeyed?: { count: number; first: number; last: number };
  /** The published head checked (or `missing`: none published yet). */
  publishedHead?: { seq?: number; publishedAt?: string; missing?: boolean };
  /** The first entry that does not fit the chain. */
  broken?: { seq: number; reason: string };
}
