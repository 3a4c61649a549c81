// /assets: GOV.UK Frontend's stylesheet and script, the console's own, and GOV.UK Frontend's
// images. The GDS Transport typeface is licensed for services on GOV.UK only, so its
// @font-face rules are taken out of the stylesheet and text falls back to Arial, as the GOV.UK
// Design System asks of services elsewhere.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { GOVUK_DIST } from './render.js';

const OWN = fileURLToPath(new URL('./assets', import.meta.url));
const GOVUK = path.join(GOVUK_DIST, 'govuk');

export function withoutGdsTransport(css: string): string {
  return css.replace(/@font-face\s*\{[^}]*GDS Transport[^}]*\}/g, '');
}

export function assetsRouter(): Router {
  const router = express.Router();
  // Fixed files of ours: `dotfiles: 'allow'` so an install under a dot folder (~/.local/…) still serves them.
  const cache = { maxAge: '1h', dotfiles: 'allow' as const };
  let css: string | undefined;
  router.get('/govuk-frontend.min.css', (_req, res) => {
    css ??= withoutGdsTransport(fs.readFileSync(path.join(GOVUK, 'govuk-frontend.min.css'), 'utf8'));
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(css);
  });
  router.get('/govuk-frontend.min.js', (_req, res) => res.sendFile(path.join(GOVUK, 'govuk-frontend.min.js'), cache));
  router.get('/console.js', (_req, res) => res.sendFile(path.join(OWN, 'console.js'), cache));
  router.get('/console.css', (_req, res) => res.sendFile(path.join(OWN, 'console.css'), cache));
  router.use('/images', express.static(path.join(GOVUK, 'assets', 'images'), { maxAge: '1h', index: false, fallthrough: false }));
  return router;
}
