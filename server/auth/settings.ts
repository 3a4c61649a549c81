// Authentication settings from the environment (secrets and endpoints only from env).
//   TRAMLINE_JWT_JWKS_URL     JWKS of the identity provider (e.g. NHS CIS2); unset: no JWTs
//   TRAMLINE_JWT_ISSUER       required `iss` (strongly advised with a JWKS)
//   TRAMLINE_JWT_AUDIENCE     required `aud` (default `tramline`)
//   TRAMLINE_JWT_ROLES_CLAIM  claim holding roles (default `roles`; array or space/comma list)
//   TRAMLINE_JWT_ROLE_MAP     map provider role codes to Tramline roles, e.g. `R8000=clinician,R0001=admin`
//   TRAMLINE_JWT_ORG_CLAIM    claim holding the organisation (ODS) code (default `org`)
//   TRAMLINE_AUTH_DEV_ISSUER  `true` to also trust the built-in development issuer (never in production)
//   TRAMLINE_AUTH_FAILURE_LIMIT  failed authentications per client IP per 15 minutes (default 30)
//   TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS  repeated 401/429 of one client: one audit entry per this
//                                many seconds, with a count (default 60)
import path from 'node:path';
import { isRole, type Role } from './roles.js';

export interface AuthSettings {
  jwksUrl?: string;
  issuer?: string;
  audience: string;
  rolesClaim: string;
  roleMap: ReadonlyMap<string, Role>;
  orgClaim: string;
  devIssuer: boolean;
  /** Where the development issuer keeps its signing key. */
  devKeyFile: string;
  failureLimit: number;
  failureWindowMs: number;
  /** Repeated denials of one client are audited as one entry with a count per this window. */
  denialAuditWindowMs: number;
}

function positiveWhole(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const n = Number(env[name] || fallback);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number`);
  return n;
}

function parseRoleMap(spec: string | undefined): Map<string, Role> {
  const map = new Map<string, Role>();
  for (const pair of (spec ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [code, role] = pair.split('=').map((s) => s.trim());
    if (!code || !role || !isRole(role)) throw new Error(`TRAMLINE_JWT_ROLE_MAP: "${pair}" is not <code>=<role> with a Tramline role`);
    map.set(code, role);
  }
  return map;
}

export function loadAuthSettings(env: NodeJS.ProcessEnv = process.env, dataDir = env.TRAMLINE_DATA_DIR || './data'): AuthSettings {
  const limit = positiveWhole(env, 'TRAMLINE_AUTH_FAILURE_LIMIT', 30);
  return {
    jwksUrl: env.TRAMLINE_JWT_JWKS_URL || undefined,
    issuer: env.TRAMLINE_JWT_ISSUER || undefined,
    audience: env.TRAMLINE_JWT_AUDIENCE || 'tramline',
    rolesClaim: env.TRAMLINE_JWT_ROLES_CLAIM || 'roles',
    roleMap: parseRoleMap(env.TRAMLINE_JWT_ROLE_MAP),
    orgClaim: env.TRAMLINE_JWT_ORG_CLAIM || 'org',
    devIssuer: env.TRAMLINE_AUTH_DEV_ISSUER === 'true',
    devKeyFile: path.join(dataDir, 'dev-jwt-key.json'),
    failureLimit: limit,
    failureWindowMs: 15 * 60 * 1000,
    denialAuditWindowMs: positiveWhole(env, 'TRAMLINE_AUTH_DENIAL_AUDIT_SECONDS', 60) * 1000,
  };
}
