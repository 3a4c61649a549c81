// Server-side rendering with Nunjucks and the GOV.UK Frontend macros. Every page response gets
// its own Content-Security-Policy: scripts only from this engine plus one per-response nonce for
// GOV.UK Frontend's one-line `js-enabled` script; styles, images, fonts and connections only
// from this engine; forms post only here; no framing.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import nunjucks from 'nunjucks';
import { allows, type Permission, type Principal } from '../auth/roles.js';
import { formatDate } from '../viewer/format.js';
import type { ConsoleSession } from './sessions.js';

const VIEWS = fileURLToPath(new URL('./views', import.meta.url));
/** node_modules/govuk-frontend/dist: templates import `govuk/components/…/macro.njk`. */
export const GOVUK_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('govuk-frontend/package.json')), 'dist');

export interface NavItem {
  href: string;
  text: string;
  permission: Permission;
}

/** The service navigation; a person sees the items their roles allow. */
export const NAVIGATION: NavItem[] = [
  { href: '/', text: 'Dashboard', permission: 'channels:read' },
  { href: '/messages', text: 'Messages', permission: 'messages:read' },
  { href: '/notices', text: 'Hospital notices', permission: 'notices:read' },
  { href: '/mappings', text: 'Mapping playground', permission: 'mappings:run' },
  { href: '/audit', text: 'Audit', permission: 'audit:read' },
  { href: '/dead-letters', text: 'Dead letters', permission: 'dead-letters:read' },
  { href: '/tokens', text: 'API tokens', permission: 'tokens:manage' },
  { href: '/alerts', text: 'Alerts', permission: 'channels:read' },
];

/**
 * Where a person lands after signing in to `/`: the dashboard, or the first page their roles
 * allow (an auditor: the audit trail; a clinician, who has no console page: the viewer).
 */
export function landingPage(principal: Principal, returnTo: string): string {
  if (returnTo !== '/' || allows(principal.roles, 'channels:read')) return returnTo;
  if (!NAVIGATION.some((n) => allows(principal.roles, n.permission)) && allows(principal.roles, 'viewer:read')) return '/viewer';
  return NAVIGATION.find((n) => allows(principal.roles, n.permission))?.href ?? '/';
}

function formatTime(value: unknown): string {
  const d = value instanceof Date ? value : typeof value === 'string' || typeof value === 'number' ? new Date(value) : undefined;
  if (!d || Number.isNaN(d.getTime())) return '';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

export function createViews(): nunjucks.Environment {
  const env = new nunjucks.Environment(new nunjucks.FileSystemLoader([VIEWS, GOVUK_DIST]), { autoescape: true, throwOnUndefined: false });
  env.addFilter('time', formatTime);
  env.addFilter('date', formatDate);
  env.addFilter('number', (n: unknown) => (typeof n === 'number' ? n.toLocaleString('en-GB') : String(n ?? '')));
  return env;
}

export interface PageContext {
  session?: ConsoleSession;
  /** The request's path, to mark the current navigation item. */
  path: string;
  /** `upgrade-insecure-requests` only where the console is served over https. */
  https: boolean;
}

/** The page's Content-Security-Policy (the clinicians' viewer uses the same one). */
export function contentSecurityPolicy(nonce: string, https: boolean, formActions: Iterable<string> = []): string {
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    ["form-action 'self'", ...formActions].join(' '),
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "object-src 'none'",
    ...(https ? ['upgrade-insecure-requests'] : []),
  ].join('; ');
}

function navigationFor(principal: Principal | undefined, currentPath: string) {
  if (!principal) return [];
  return NAVIGATION.filter((n) => allows(principal.roles, n.permission)).map((n) => ({
    href: n.href,
    text: n.text,
    current: n.href === currentPath,
    active: n.href !== '/' && currentPath.startsWith(n.href),
  }));
}

export class Renderer {
  private readonly env = createViews();
  /** Origins besides this one that forms may lead to (see allowFormAction). */
  private readonly formActions = new Set<string>();

  /**
   * Let forms lead to `origin`: browsers apply form-action to the redirects that follow a
   * submission too, so the sign-out form's redirect to the identity provider needs it.
   */
  allowFormAction(origin: string): void {
    this.formActions.add(origin);
  }

  /** The origins allowFormAction added, live (the viewer's pages carry the same sign-out form). */
  get formActionOrigins(): ReadonlySet<string> {
    return this.formActions;
  }

  /** Render `template` as the response, with what every page needs (user, navigation, CSRF token, nonce). */
  page(res: Response, ctx: PageContext, template: string, data: Record<string, unknown>, status = 200): void {
    const nonce = crypto.randomBytes(16).toString('base64');
    const principal = ctx.session?.principal;
    const html = this.env.render(template, {
      ...data,
      cspNonce: nonce,
      principal,
      csrfToken: ctx.session?.csrfToken,
      navigation: navigationFor(principal, ctx.path),
      can: (permission: Permission) => Boolean(principal && allows(principal.roles, permission)),
    });
    res.status(status);
    res.set('Content-Security-Policy', contentSecurityPolicy(nonce, ctx.https, this.formActions));
    res.set('Cache-Control', 'no-store');
    res.type('html').send(html);
  }

  /** A fragment (no layout) for live updates. */
  fragment(template: string, data: Record<string, unknown>): string {
    return this.env.render(template, data);
  }
}
