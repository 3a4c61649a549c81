// API tokens for systems. A token is 32 random bytes shown once at creation; only its SHA-256
// is stored, so a copy of the database does not hand out working tokens. Tokens carry roles,
// may expire, and are revoked (not deleted) so the audit trail can still name them.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import { v7 as uuidv7 } from 'uuid';
import type { ApiTokensTable, AuditDatabase, DbHandle } from '../audit/schema.js';
import { isRole, type Principal, type Role } from './roles.js';

export const TOKEN_PREFIX = 'tl_';
const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.@-]{0,99}$/;
/** last_used_at is refreshed at most this often per token (it is informational). */
const LAST_USED_RESOLUTION_MS = 60_000;
/** The longest lifetime a token may be given: beyond it, "expires" means nothing. */
export const MAX_TOKEN_DAYS = 3650;
const DAY_MS = 86_400_000;

export interface TokenInfo {
  id: string;
  name: string;
  roles: Role[];
  organisation?: string;
  createdAt: Date;
  expiresAt?: Date;
  revokedAt?: Date;
  lastUsedAt?: Date;
}

export interface CreatedToken extends TokenInfo {
  /** The secret: shown once, never stored. */
  token: string;
}

/** A create request that cannot be honoured (bad name, no or unknown roles, bad expiry). */
export class InvalidTokenRequest extends Error {}

/** `days` from now, refused unless it is a whole number from 1 to MAX_TOKEN_DAYS. */
export function expiryInDays(days: number, now = Date.now()): Date {
  if (!Number.isInteger(days) || days < 1 || days > MAX_TOKEN_DAYS) throw new InvalidTokenRequest(`must be a whole number of days from 1 to ${MAX_TOKEN_DAYS}`);
  return new Date(now + days * DAY_MS);
}

/** An expiry must be a real time in the future, at most MAX_TOKEN_DAYS away. */
function checkExpiry(expiresAt: Date | undefined, now: number): void {
  if (expiresAt === undefined) return;
  const at = expiresAt.getTime();
  if (!Number.isFinite(at) || at <= now) throw new InvalidTokenRequest('the expiry must be in the future');
  if (at > now + MAX_TOKEN_DAYS * DAY_MS) throw new InvalidTokenRequest(`the expiry must be at most ${MAX_TOKEN_DAYS} days away`);
}

export function hashToken(token: string): string {
  return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
}

function toInfo(row: ApiTokensTable): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    roles: row.roles.split(',').filter(isRole),
    ...(row.organisation !== null ? { organisation: row.organisation } : {}),
    createdAt: new Date(Number(row.created_at)),
    ...(row.expires_at !== null ? { expiresAt: new Date(Number(row.expires_at)) } : {}),
    ...(row.revoked_at !== null ? { revokedAt: new Date(Number(row.revoked_at)) } : {}),
    ...(row.last_used_at !== null ? { lastUsedAt: new Date(Number(row.last_used_at)) } : {}),
  };
}

export class TokenStore {
  private readonly kysely: Kysely<AuditDatabase>;
  private readonly lastTouched = new Map<string, number>();

  /** `db` must be migrated. */
  constructor(db: DbHandle) {
    this.kysely = db.kysely as Kysely<AuditDatabase>;
  }

  async create(options: { name: string; roles: Role[]; organisation?: string; expiresAt?: Date }): Promise<CreatedToken> {
    if (!TOKEN_NAME.test(options.name)) throw new InvalidTokenRequest('token name: letters, digits and _ . @ - only (up to 100)');
    if (!options.roles.length) throw new InvalidTokenRequest('a token needs at least one role');
    for (const r of options.roles) if (!isRole(r)) throw new InvalidTokenRequest(`unknown role ${String(r)}`);
    const now = Date.now();
    checkExpiry(options.expiresAt, now);
    const token = TOKEN_PREFIX + crypto.randomBytes(32).toString('base64url');
    const row: ApiTokensTable = {
      id: uuidv7(),
      name: options.name,
      token_hash: hashToken(token),
      roles: [...new Set(options.roles)].join(','),
      organisation: options.organisation ?? null,
      created_at: now,
      expires_at: options.expiresAt?.getTime() ?? null,
      revoked_at: null,
      last_used_at: null,
    };
    await this.kysely.insertInto('api_tokens').values(row).execute();
    return { ...toInfo(row), token };
  }

  async list(options: { includeRevoked?: boolean } = {}): Promise<TokenInfo[]> {
    let q = this.kysely.selectFrom('api_tokens').selectAll();
    if (!options.includeRevoked) q = q.where('revoked_at', 'is', null);
    return (await q.orderBy('created_at').execute()).map(toInfo);
  }

  /** Revoke by id or by name (every live token of that name). Returns how many were revoked. */
  async revoke(idOrName: string): Promise<number> {
    const result = await this.kysely
      .updateTable('api_tokens')
      .set({ revoked_at: Date.now() })
      .where((eb) => eb.or([eb('id', '=', idOrName), eb('name', '=', idOrName)]))
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** The principal for a live token, or undefined (unknown, revoked or expired). */
  async verify(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(TOKEN_PREFIX)) return undefined;
    const row = await this.kysely.selectFrom('api_tokens').selectAll().where('token_hash', '=', hashToken(token)).executeTakeFirst();
    const now = Date.now();
    if (!row || row.revoked_at !== null || (row.expires_at !== null && Number(row.expires_at) <= now)) return undefined;
    this.touch(row.id, now);
    const info = toInfo(row);
    return { kind: 'token', id: info.name, roles: info.roles, ...(info.organisation ? { organisation: info.organisation } : {}) };
  }

  private touch(id: string, now: number): void {
    if (now - (this.lastTouched.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastTouched.set(id, now);
    void this.kysely
      .updateTable('api_tokens')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .execute()
      .catch(() => undefined);
  }
}
