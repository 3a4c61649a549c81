// Signed JWTs for people: verified with `jose` against the identity provider's JWKS (the shape
// NHS CIS2 / OIDC uses: RS256/ES256, iss, aud, exp) and, for development, the built-in issuer.
// Claims become a Principal: `sub` → user, roles claim (mapped) → roles, org claim → organisation.
import { createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { DEV_ISSUER, devKeySet } from './dev-issuer.js';
import { isRole, type Principal, type Role } from './roles.js';
import type { AuthSettings } from './settings.js';

const ALGORITHMS = ['RS256', 'PS256', 'ES256', 'ES384', 'RS384', 'RS512', 'EdDSA'];
const CLOCK_TOLERANCE_S = 30;

export class JwtRejected extends Error {}

interface Issuer {
  issuer?: string;
  keys: JWTVerifyGetKey;
}

export class JwtVerifier {
  private constructor(
    private readonly settings: AuthSettings,
    private readonly external: Issuer | undefined,
    private readonly dev: Issuer | undefined,
  ) {}

  static async create(settings: AuthSettings): Promise<JwtVerifier> {
    const external = settings.jwksUrl ? { issuer: settings.issuer, keys: createRemoteJWKSet(new URL(settings.jwksUrl)) } : undefined;
    const dev = settings.devIssuer ? { issuer: DEV_ISSUER, keys: await devKeySet(settings.devKeyFile) } : undefined;
    return new JwtVerifier(settings, external, dev);
  }

  /** True when some issuer is configured (otherwise JWTs are always refused). */
  get enabled(): boolean {
    return Boolean(this.external || this.dev);
  }

  async verify(token: string): Promise<Principal> {
    const issuer = this.issuerFor(token);
    if (!issuer) throw new JwtRejected('no JWT issuer configured for this token');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, issuer.keys, {
        algorithms: ALGORITHMS,
        audience: this.settings.audience,
        ...(issuer.issuer ? { issuer: issuer.issuer } : {}),
        clockTolerance: CLOCK_TOLERANCE_S,
        requiredClaims: ['sub', 'exp'],
      }));
    } catch (err) {
      throw new JwtRejected(err instanceof joseErrors.JOSEError ? err.code : 'invalid token');
    }
    return this.principalOf(payload);
  }

  /** Route the token to the dev issuer only when it claims to be from it. */
  private issuerFor(token: string): Issuer | undefined {
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      throw new JwtRejected('malformed token');
    }
    if (iss === DEV_ISSUER) return this.dev;
    return this.external;
  }

  private principalOf(payload: JWTPayload): Principal {
    const raw = payload[this.settings.rolesClaim];
    const values = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/[\s,]+/) : [];
    const roles = new Set<Role>();
    for (const v of values) {
      const mapped = this.settings.roleMap.get(v) ?? (isRole(v) ? v : undefined);
      if (mapped) roles.add(mapped);
    }
    const org = payload[this.settings.orgClaim];
    const name = payload.name;
    return {
      kind: 'jwt',
      id: payload.sub!,
      roles: [...roles],
      ...(typeof org === 'string' && org ? { organisation: org } : {}),
      ...(typeof name === 'string' && name ? { name } : {}),
    };
  }
}
