// Roles and what each may do. Endpoints ask for a permission, never a
// role, so the role × endpoint table in docs/security.md follows from this one map.
export const ROLES = ['admin', 'engineer', 'operator', 'clinician', 'auditor', 'sender'] as const;
export type Role = (typeof ROLES)[number];

export const PERMISSIONS = [
  'channels:read',
  'channels:manage',
  'messages:read',
  'messages:content',
  'messages:reprocess',
  'dead-letters:read',
  'dead-letters:replay',
  'dead-letters:discard',
  'mappings:run',
  'audit:read',
  'viewer:read',
  'metrics:read',
  'tokens:manage',
  'inbound:post',
  'notices:read',
  'notices:decide',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

// Operators also answer hospital notices (ADW): list, view and accept or reject them.
const OPERATOR: Permission[] = ['channels:read', 'messages:read', 'messages:reprocess', 'dead-letters:read', 'dead-letters:replay', 'metrics:read', 'notices:read', 'notices:decide'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = {
  admin: PERMISSIONS,
  // Channels, mappings, reprocess — and message content, which they need to fix mappings.
  engineer: [...OPERATOR, 'channels:manage', 'messages:content', 'dead-letters:discard', 'mappings:run', 'inbound:post'],
  // View status, reprocess.
  operator: OPERATOR,
  // The clinician viewer only.
  clinician: ['viewer:read'],
  // The audit trail only.
  auditor: ['audit:read'],
  // A feeding system (e.g. a case system pushing records to POST /inbound/<channel>): nothing else.
  sender: ['inbound:post'],
};

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function allows(roles: readonly Role[], permission: Permission): boolean {
  return roles.some((r) => ROLE_PERMISSIONS[r].includes(permission));
}

/** Who made a request, after authentication. */
export interface Principal {
  /** `session`: a person signed in to the web console (server/console/). */
  kind: 'token' | 'jwt' | 'session';
  /** Token name, or the JWT or sign-in subject (user id). */
  id: string;
  roles: Role[];
  organisation?: string;
  /** Display name from the JWT, when given. */
  name?: string;
}
