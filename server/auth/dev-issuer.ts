// A development identity provider built in, so people-style (JWT) access can be tried without
// an OIDC server: an ES256 key kept in <dataDir>/dev-jwt-key.json (mode 0600), and tokens it
// signs. The engine trusts it only with TRAMLINE_AUTH_DEV_ISSUER=true.
import fs from 'node:fs';
import path from 'node:path';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, SignJWT, type JWK, type JWTVerifyGetKey } from 'jose';
import type { Role } from './roles.js';

export const DEV_ISSUER = 'urn:tramline:dev-issuer';
const ALG = 'ES256';

interface StoredKey {
  privateJwk: JWK;
  publicJwk: JWK;
}

async function loadOrCreate(file: string): Promise<StoredKey> {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredKey;
  const { privateKey, publicKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = `dev-${Date.now().toString(36)}`;
  const stored: StoredKey = {
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
  };
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true, mode: 0o700 });
  // wx: never overwrite a key another process wrote first.
  try {
    fs.writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return JSON.parse(fs.readFileSync(file, 'utf8')) as StoredKey;
    throw err;
  }
  return stored;
}

/** Key set that verifies dev-issuer tokens (creates the key on first use). */
export async function devKeySet(file: string): Promise<JWTVerifyGetKey> {
  const { publicJwk } = await loadOrCreate(file);
  return createLocalJWKSet({ keys: [publicJwk] });
}

export interface DevJwtOptions {
  user: string;
  roles: Role[];
  organisation?: string;
  name?: string;
  audience: string;
  rolesClaim?: string;
  orgClaim?: string;
  ttlSeconds?: number;
}

export async function signDevJwt(file: string, o: DevJwtOptions): Promise<string> {
  const { privateJwk } = await loadOrCreate(file);
  const key = await importJWK(privateJwk, ALG);
  const claims: Record<string, unknown> = { [o.rolesClaim ?? 'roles']: o.roles };
  if (o.organisation) claims[o.orgClaim ?? 'org'] = o.organisation;
  if (o.name) claims.name = o.name;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: ALG, kid: privateJwk.kid, typ: 'JWT' })
    .setIssuer(DEV_ISSUER)
    .setAudience(o.audience)
    .setSubject(o.user)
    .setIssuedAt()
    .setExpirationTime(`${o.ttlSeconds ?? 3600}s`)
    .sign(key);
}
