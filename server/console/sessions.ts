// Console sessions: the cookie holds only an opaque random id (32 bytes); who is signed in, the
// CSRF token and a sign-in in progress stay on the server, in memory. A session ends after
// `idleMs` without a request, `absoluteMs` after it began, at sign-out, or when the engine
// restarts (everyone signs in again). Memory is bounded: beyond `maxSessions` the least
// recently used session is dropped, so anonymous visitors cannot grow it without limit.
import crypto from 'node:crypto';
import type { Principal } from '../auth/roles.js';
import type { ViewerSessionState } from '../viewer/session-state.js';

export interface PendingOidc {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

export interface ConsoleSession {
  readonly id: string;
  /** Synchronizer token every form of this session posts back (csrf.ts). */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
  /** Set once signed in. */
  principal?: Principal;
  signedInAt?: number;
  /** An OpenID Connect sign-in on its way to the provider and back. */
  oidc?: PendingOidc;
  /**
   * The ID token of an OpenID Connect sign-in: the `id_token_hint` that ends the provider's
   * session at sign-out. Held here, on the server, never in a cookie.
   */
  idToken?: string;
  /** A one-off notice for the next page (e.g. after a reprocess). */
  flash?: { kind: 'success' | 'info'; text: string };
  /** The clinicians' viewer: purposes stated, people last found (server/viewer/). */
  viewer?: ViewerSessionState;
}

export type SessionLookup = { session: ConsoleSession } | { expired: ConsoleSession } | undefined;

const randomId = () => crypto.randomBytes(32).toString('base64url');

export class SessionStore {
  // Insertion order is use order (a looked-up session is moved to the end): the first is the LRU.
  private readonly sessions = new Map<string, ConsoleSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly o: { idleMs: number; absoluteMs: number; maxSessions?: number }) {
    this.sweeper = setInterval(() => this.sweep(), Math.min(o.idleMs, 60_000)).unref();
  }

  create(): ConsoleSession {
    const now = Date.now();
    const session: ConsoleSession = { id: randomId(), csrfToken: randomId(), createdAt: now, lastSeenAt: now };
    this.sessions.set(session.id, session);
    const max = this.o.maxSessions ?? 10_000;
    while (this.sessions.size > max) this.sessions.delete(this.sessions.keys().next().value!);
    return session;
  }

  /** The live session for a cookie value (refreshing its idle time unless `touch` is false), or the one that just expired. */
  lookup(id: string | undefined, touch = true): SessionLookup {
    if (!id) return undefined;
    const session = this.sessions.get(id);
    if (!session) return undefined;
    if (this.isExpired(session, Date.now())) {
      this.sessions.delete(id);
      // Only a signed-in session's end is worth telling its owner about.
      return session.principal ? { expired: session } : undefined;
    }
    if (touch) {
      session.lastSeenAt = Date.now();
      this.sessions.delete(id);
      this.sessions.set(id, session);
    }
    return { session };
  }

  /** True while the session has neither expired nor been ended (does not refresh it). */
  isLive(id: string): boolean {
    const session = this.sessions.get(id);
    return session !== undefined && !this.isExpired(session, Date.now());
  }

  /**
   * A new id and CSRF token for what the session holds, the old id forgotten: done at sign-in,
   * so an id planted before sign-in (session fixation) is worth nothing after it.
   */
  rotate(old: ConsoleSession): ConsoleSession {
    this.sessions.delete(old.id);
    const next = this.create();
    Object.assign(next, { principal: old.principal, signedInAt: old.signedInAt, oidc: old.oidc, idToken: old.idToken });
    return next;
  }

  destroy(id: string): void {
    this.sessions.delete(id);
  }

  get size(): number {
    return this.sessions.size;
  }

  close(): void {
    clearInterval(this.sweeper);
    this.sessions.clear();
  }

  private isExpired(s: ConsoleSession, now: number): boolean {
    return now - s.lastSeenAt > this.o.idleMs || now - s.createdAt > this.o.absoluteMs;
  }

  /**
   * Forgets ended sessions. A signed-in one is kept for one more idle period after it expired,
   * so a person coming back is told they were signed out for inactivity (lookup reports it).
   */
  private sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      if (!this.isExpired(s, now)) continue;
      const forgetAfter = s.principal ? this.o.idleMs : 0;
      if (now - s.lastSeenAt > this.o.idleMs + forgetAfter || now - s.createdAt > this.o.absoluteMs + forgetAfter) this.sessions.delete(id);
    }
  }
}
