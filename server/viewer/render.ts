// Server-side rendering of the viewer's pages with Nunjucks and the NHS.UK frontend macros
// (node_modules/nhsuk-frontend/dist: templates import `nhsuk/components/<name>/macro.njk`).
// Each page gets its own nonce and the console's Content-Security-Policy
// (server/console/render.ts): the NHS.UK template's one-line `js-enabled` script carries the
// nonce; everything else comes from this engine.
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Response } from 'express';
import nunjucks from 'nunjucks';
import { contentSecurityPolicy } from '../console/render.js';
import type { ConsoleSession } from '../console/sessions.js';
import { formatDate, formatGender, formatNhsNumber, formatStatus } from './format.js';

const VIEWS = fileURLToPath(new URL('./views', import.meta.url));
export const NHSUK_DIST = path.join(path.dirname(createRequire(import.meta.url).resolve('nhsuk-frontend/package.json')), 'dist');

export interface ViewerContext {
  session?: ConsoleSession;
  https: boolean;
}

export class ViewerRenderer {
  private readonly env: nunjucks.Environment;

  /**
   * `devSignIn`: every page says it is a local development sign-in (TRAMLINE_AUTH_DEV_ISSUER=true).
   * `formActions`: origins forms may lead to besides this one, as the console's (its sign-out
   * may redirect to the identity provider).
   */
  constructor(private readonly o: { devSignIn?: boolean; formActions?: ReadonlySet<string> } = {}) {
    this.env = new nunjucks.Environment(new nunjucks.FileSystemLoader([VIEWS, NHSUK_DIST]), { autoescape: true, throwOnUndefined: false });
    this.env.addFilter('nhsNumber', formatNhsNumber);
    this.env.addFilter('date', formatDate);
    this.env.addFilter('gender', formatGender);
    this.env.addFilter('status', formatStatus);
  }

  page(res: Response, ctx: ViewerContext, template: string, data: Record<string, unknown>, status = 200): void {
    const nonce = crypto.randomBytes(16).toString('base64');
    const html = this.render(template, data, ctx, nonce);
    res.status(status);
    res.set('Content-Security-Policy', contentSecurityPolicy(nonce, ctx.https, this.o.formActions ?? []));
    res.set('Cache-Control', 'no-store');
    res.type('html').send(html);
  }

  /** The page's HTML alone (`page` sends it with its headers; the viewer benchmark times it). */
  render(template: string, data: Record<string, unknown>, ctx: ViewerContext, nonce: string): string {
    return this.env.render(template, { ...data, devSignIn: this.o.devSignIn, cspNonce: nonce, principal: ctx.session?.principal, csrfToken: ctx.session?.csrfToken });
  }
}
