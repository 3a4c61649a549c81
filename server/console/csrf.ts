// CSRF protection for every console form: the synchronizer token pattern. Each session has a
// random token (sessions.ts); every form carries it in a hidden `_csrf` field, and a POST whose
// field does not match its session's token is refused (403) before anything happens. The
// cookie's SameSite=Lax already keeps other sites' POSTs from carrying the session; the token
// also covers a same-site attacker (another service on a sibling subdomain).
import crypto from 'node:crypto';
import type { ConsoleSession } from './sessions.js';

export const CSRF_FIELD = '_csrf';

export function csrfTokenMatches(session: ConsoleSession | undefined, body: unknown): boolean {
  if (!session) return false;
  const sent = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)[CSRF_FIELD] : undefined;
  if (typeof sent !== 'string') return false;
  const a = Buffer.from(sent);
  const b = Buffer.from(session.csrfToken);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
