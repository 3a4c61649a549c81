// API token store on SQLite and PostgreSQL: tokens verify to their roles, are kept only as
// hashes, and stop working when revoked or expired.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Kysely } from 'kysely';
import type { AuditDatabase } from '../../server/audit/schema.js';
import { expiryInDays, hashToken, InvalidTokenRequest, TokenStore } from '../../server/auth/tokens.js';
import type { Db } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { BACKENDS, createBackend, type TestBackend } from './store-backends.js';

describe.each(BACKENDS)('API tokens (%s)', (name) => {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let tokens: TokenStore;

  beforeAll(async () => {
    backend = createBackend(name);
    db = await backend.openMigrated();
    tokens = new TokenStore(db);
  });

  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });

  test('a created token verifies to its name, roles and organisation; only its hash is stored', async () => {
    const made = await tokens.create({ name: 'case-sync', roles: ['engineer', 'operator'], organisation: 'BPL' });
    expect(await tokens.verify(made.token)).toEqual({ kind: 'token', id: 'case-sync', roles: ['engineer', 'operator'], organisation: 'BPL' });
    const rows = await (db.kysely as unknown as Kysely<AuditDatabase>).selectFrom('api_tokens').selectAll().execute();
    expect(rows.map((r) => r.token_hash)).toContain(hashToken(made.token));
    expect(JSON.stringify(rows)).not.toContain(made.token.slice(3));
  });

  test('unknown and malformed tokens do not verify', async () => {
    expect(await tokens.verify('tl_' + 'A'.repeat(43))).toBeUndefined();
    expect(await tokens.verify('not-a-token')).toBeUndefined();
  });

  test('revoked and expired tokens stop working; list hides revoked unless asked', async () => {
    const a = await tokens.create({ name: 'short', roles: ['operator'] });
    const b = await tokens.create({ name: 'expired', roles: ['operator'], expiresAt: new Date(Date.now() + 50) });
    await new Promise((r) => setTimeout(r, 60));
    expect(await tokens.verify(b.token)).toBeUndefined();
    expect(await tokens.revoke(a.id)).toBe(1);
    expect(await tokens.revoke(a.id)).toBe(0);
    expect(await tokens.verify(a.token)).toBeUndefined();
    expect((await tokens.list()).map((t) => t.name)).not.toContain('short');
    expect((await tokens.list({ includeRevoked: true })).find((t) => t.name === 'short')?.revokedAt).toBeInstanceOf(Date);
  });

  test('bad requests are refused before anything is stored', async () => {
    await expect(tokens.create({ name: 'has space', roles: ['operator'] })).rejects.toBeInstanceOf(InvalidTokenRequest);
    await expect(tokens.create({ name: 'none', roles: [] })).rejects.toBeInstanceOf(InvalidTokenRequest);
    await expect(tokens.create({ name: 'bad', roles: ['root' as never] })).rejects.toBeInstanceOf(InvalidTokenRequest);
    await expect(tokens.create({ name: 'past', roles: ['operator'], expiresAt: new Date(Date.now() - 5 * 86_400_000) })).rejects.toThrow(/in the future/);
    await expect(tokens.create({ name: 'never', roles: ['operator'], expiresAt: new Date(NaN) })).rejects.toThrow(/in the future/);
    await expect(tokens.create({ name: 'far', roles: ['operator'], expiresAt: new Date(Date.now() + 4000 * 86_400_000) })).rejects.toThrow(/at most 3650 days/);
    expect(() => expiryInDays(-5)).toThrow(/whole number of days from 1 to 3650/);
    expect((await tokens.list()).map((t) => t.name)).not.toEqual(expect.arrayContaining(['past', 'never', 'far']));
  });
});
