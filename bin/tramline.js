#!/usr/bin/env node
// The `tramline` command. It runs the compiled CLI (dist/, built by `npm install` through the
// `prepare` script, or `npm run build`): it starts in a fraction of a second. TRAMLINE_DEV=1
// (or `npm run tramline:dev -- <command>`) runs the TypeScript sources through tsx instead:
// always current while you edit, but seconds slower to start.
import { existsSync } from 'node:fs';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';

const compiled = new URL('../dist/bin/tramline.js', import.meta.url);
const dev = ['1', 'true'].includes(process.env.TRAMLINE_DEV ?? '');

if (!dev && existsSync(fileURLToPath(compiled))) {
  await import(compiled.href);
} else {
  if (!dev) process.stderr.write('tramline: no compiled build (dist/); running the sources. `npm run build` makes start-up fast.\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../server/cli/main.ts');
}
