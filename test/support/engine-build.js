// Jest global setup and teardown: the engine and CLI processes that tests spawn run from a build
// of the current sources made here, once per jest run, instead of compiling the TypeScript on
// every start (tsx: about a second more per process, several on a loaded machine, and the
// tests start well over a hundred). The build is a transpile (swc, as jest uses for the tests'
// own imports), type stripping only: type errors are `npm run typecheck`'s to find.
// The folder (inside the project, so node_modules resolves) is named in JEST_TRAMLINE_BUILD,
// which jest's workers inherit; test/support/engine.ts runs the CLI from it when it is set.
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { transformFile } from '@swc/core';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const PARENT = path.join(ROOT, '.tramline-test');
const PREFIX = 'engine-build-';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

/** Builds of jest runs that ended without their teardown (killed). */
function removeLeftovers() {
  let names = [];
  try {
    names = readdirSync(PARENT);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(name.slice(PREFIX.length));
    if (name.startsWith(PREFIX) && Number.isInteger(pid) && !alive(pid)) rmSync(path.join(PARENT, name), { recursive: true, force: true });
  }
}

function* sources(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) yield* sources(file);
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') && !entry.name.endsWith('.test.ts')) yield file;
  }
}

export default async function buildEngine() {
  removeLeftovers();
  const out = path.join(PARENT, `${PREFIX}${process.pid}`);
  rmSync(out, { recursive: true, force: true });
  // The folders `npm run build` compiles (tsconfig.build.json), so this follows its layout.
  const { include } = JSON.parse(readFileSync(path.join(ROOT, 'tsconfig.build.json'), 'utf8'));
  const files = include.filter((dir) => statSync(path.join(ROOT, dir), { throwIfNoEntry: false })?.isDirectory()).flatMap((dir) => [...sources(path.join(ROOT, dir))]);
  await Promise.all(
    files.map(async (file) => {
      const { code } = await transformFile(file, {
        jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
        module: { type: 'es6' },
        swcrc: false,
      });
      const target = path.join(out, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, code);
    }),
  );
  // The build's own asset step: mapping YAML, code maps, schemas, and bin/tramline.js.
  execFileSync(process.execPath, [path.join(ROOT, 'bin/copy-assets.js'), out], { cwd: ROOT });
  process.env.JEST_TRAMLINE_BUILD = out;
}

export function removeEngineBuild() {
  const out = process.env.JEST_TRAMLINE_BUILD;
  if (out) rmSync(out, { recursive: true, force: true });
}
