// The web console's settings from the environment (README "Configuration", docs/console.md):
//   TRAMLINE_OIDC_ISSUER          the identity provider's issuer URL (discovery at /.well-known/openid-configuration)
//   TRAMLINE_OIDC_CLIENT_ID       this console's client id at the provider
//   TRAMLINE_OIDC_CLIENT_SECRET   its secret (unset: a public client, PKCE only)
//   TRAMLINE_OIDC_SCOPES          scopes to ask for (default `openid profile email`)
//   TRAMLINE_OIDC_ROLES_CLAIM     ID token / userinfo claim with roles (default: TRAMLINE_JWT_ROLES_CLAIM, `roles`)
//   TRAMLINE_OIDC_ROLE_MAP        provider role values → Tramline roles (default: TRAMLINE_JWT_ROLE_MAP)
//   TRAMLINE_OIDC_ORG_CLAIM       claim (or dotted path) with the organisation's ODS code (default: TRAMLINE_JWT_ORG_CLAIM, `org`)
//   TRAMLINE_CONSOLE_IDLE_MINUTES sign a person out after this long without a request (default 30)
//   TRAMLINE_CONSOLE_SESSION_HOURS  and in any case this long after sign-in (default 12)
// The development sign-in page follows TRAMLINE_AUTH_DEV_ISSUER (server/auth/settings.ts).
import { isRole, type Role } from '../auth/roles.js';
import type { AuthSettings } from '../auth/settings.js';

export interface OidcSettings {
  issuer: URL;
  clientId: string;
  clientSecret?: string;
  scopes: string;
  rolesClaim: string;
  roleMap: ReadonlyMap<string, Role>;
  /** Claim name or dotted path (`nhsid_nrbac_roles.org_code`) holding the ODS code. */
  orgClaim: string;
}

export interface ConsoleSettings {
  oidc?: OidcSettings;
  /** The local development sign-in page with seeded users (TRAMLINE_AUTH_DEV_ISSUER=true). */
  devSignIn: boolean;
  idleMs: number;
  absoluteMs: number;
  /** The engine's public address (TRAMLINE_PUBLIC_URL): OIDC redirect URI, cookie `Secure`. */
  publicUrl: string;
}

function positive(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = Number(env[name] || fallback);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number`);
  return n;
}

function roleMapOf(spec: string | undefined, name: string): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const pair of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [code, role] = pair.split('=').map((s) => s.trim());
    if (!code || !role || !isRole(role)) throw new Error(`${name}: "${pair}" is not <value>=<role> with a Tramline role`);
    map.set(code, role);
  }
  return map;
}

export function loadConsoleSettings(env: NodeJS.ProcessEnv, auth: AuthSettings, publicUrl: string): ConsoleSettings {
  const issuer = env.TRAMLINE_OIDC_ISSUER || undefined;
  const clientId = env.TRAMLINE_OIDC_CLIENT_ID || undefined;
  if (issuer && !clientId) throw new Error('TRAMLINE_OIDC_ISSUER is set: set TRAMLINE_OIDC_CLIENT_ID too');
  let oidc: OidcSettings | undefined;
  if (issuer && clientId) {
    let url: URL;
    try {
      url = new URL(issuer);
    } catch {
      throw new Error(`TRAMLINE_OIDC_ISSUER must be a URL, got "${issuer}"`);
    }
    oidc = {
      issuer: url,
      clientId,
      ...(env.TRAMLINE_OIDC_CLIENT_SECRET ? { clientSecret: env.TRAMLINE_OIDC_CLIENT_SECRET } : {}),
      scopes: env.TRAMLINE_OIDC_SCOPES || 'openid profile email',
      rolesClaim: env.TRAMLINE_OIDC_ROLES_CLAIM || auth.rolesClaim,
      roleMap: env.TRAMLINE_OIDC_ROLE_MAP ? roleMapOf(env.TRAMLINE_OIDC_ROLE_MAP, 'TRAMLINE_OIDC_ROLE_MAP') : auth.roleMap,
      orgClaim: env.TRAMLINE_OIDC_ORG_CLAIM || auth.orgClaim,
    };
  }
  return {
    ...(oidc ? { oidc } : {}),
    devSignIn: auth.devIssuer,
    idleMs: positive(env, 'TRAMLINE_CONSOLE_IDLE_MINUTES', 30) * 60_000,
    absoluteMs: positive(env, 'TRAMLINE_CONSOLE_SESSION_HOURS', 12) * 3_600_000,
    publicUrl,
  };
}

/** Claim values → Tramline roles: mapped values, and values that already name a role. */
export function rolesFromClaim(raw: unknown, roleMap: ReadonlyMap<string, Role>): Role[] {
  const values = Array.isArray(raw) ? raw.map(String) : typeof raw === 'string' ? raw.split(/[\s,]+/) : [];
  const roles = new Set<Role>();
  for (const v of values) {
    const mapped = roleMap.get(v) ?? (isRole(v) ? v : undefined);
    if (mapped) roles.add(mapped);
  }
  return [...roles];
}

/**
 * The organisation (ODS code) from claims: `path` is a claim name or a dotted path into it. An
 * array on the way counts as its first element, so NHS CIS2's `nhsid_nrbac_roles` (a list of the
 * person's role profiles, each with an `org_code`) is read as `nhsid_nrbac_roles.org_code`: the
 * organisation of the first profile. Anything but a short code-like string is no organisation.
 */
export function organisationFromClaims(claims: Record<string, unknown>, path: string): string | undefined {
  let value: unknown = claims;
  for (const key of path.split('.')) {
    if (Array.isArray(value)) value = value[0];
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  if (Array.isArray(value)) value = value[0];
  return typeof value === 'string' && /^[A-Za-z0-9-]{1,20}$/.test(value.trim()) ? value.trim().toUpperCase() : undefined;
}
