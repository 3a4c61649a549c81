// /viewer/assets: NHS.UK frontend's stylesheet, script and images, and the viewer's own script
// and styles. The Frutiger typeface is licensed to the NHS and is not in the package (its
// @font-face rules point at assets.nhs.uk, which the pages' CSP would refuse anyway): those
// rules are taken out and text falls back to Arial, as NHS.UK's own font stack does. The
// stylesheet's icons are served here (the console has `/assets` for GOV.UK Frontend's).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';
import { NHSUK_DIST } from './render.js';

const OWN = fileURLToPath(new URL('./assets', import.meta.url));
const NHSUK = path.join(NHSUK_DIST, 'nhsuk');

/** The stylesheet as served: no Frutiger, and its images (built for `/assets/images`) from here. */
export function viewerStylesheet(css: string): string {
  return css.replace(/@font-face\s*\{[^}]*Frutiger[^}]*\}/g, '').replace(/url\(\/assets\/images\//g, 'url(/viewer/assets/images/');
}

export function viewerAssetsRouter(): Router {
  const router = express.Router();
  const cache = { maxAge: '1h', dotfiles: 'allow' as const };
  let css: string | undefined;
  router.get('/nhsuk-frontend.min.css', (_req, res) => {
    css ??= viewerStylesheet(fs.readFileSync(path.join(NHSUK, 'nhsuk-frontend.min.css'), 'utf8'));
    res.type('css').set('Cache-Control', 'public, max-age=3600').send(css);
  });
  router.get('/nhsuk-frontend.min.js', (_req, res) => res.sendFile(path.join(NHSUK, 'nhsuk-frontend.min.js'), cache));
  router.get('/viewer.js', (_req, res) => res.sendFile(path.join(OWN, 'viewer.js'), cache));
  router.get('/viewer.css', (_req, res) => res.sendFile(path.join(OWN, 'viewer.css'), cache));
  router.get('/manifest.json', (_req, res) => res.sendFile(path.join(NHSUK, 'assets', 'manifest.json'), cache));
  router.use('/images', express.static(path.join(NHSUK, 'assets', 'images'), { maxAge: '1h', index: false, fallthrough: false }));
  return router;
}
