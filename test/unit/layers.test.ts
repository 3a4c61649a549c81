// The layering rule (.dependency-cruiser.cjs, run on the repository by `npm run deps` in
// `npm test`) is only worth having if it fails: here it runs on small trees laid out like the
// repository, one that obeys it and two that break it, and must tell them apart.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, test } from '@jest/globals';

const ROOT = path.resolve(import.meta.dirname, '../..');
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs');
const DEPCRUISE = path.join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
const made: string[] = [];

afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A tree with the repository's layer folders and the given modules (path → source). */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-layers-'));
  made.push(dir);
  const base: Record<string, string> = {
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true } }),
    'core/errors.ts': 'export class TramlineError extends Error {}\n',
    'adapters/mllp/server.ts': "import { TramlineError } from '../../core/errors.js';\nexport const e = TramlineError;\n",
    'mappings/engine/compile.ts': "import { e } from '../../adapters/mllp/server.js';\nexport const c = e;\n",
    'channels/engine.ts': "import { c } from '../mappings/engine/compile.js';\nexport const engine = c;\n",
    'server/cli/main.ts': "import { engine } from '../../channels/engine.js';\nexport const main = engine;\n",
  };
  for (const [file, text] of Object.entries({ ...base, ...files })) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

function check(dir: string): { status: number | null; output: string } {
  const run = spawnSync(process.execPath, [DEPCRUISE, 'core', 'adapters', 'mappings', 'channels', 'server', '--config', CONFIG], { cwd: dir, encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('the layering rule', () => {
  test('a tree whose imports all run downward passes', () => {
    const result = check(tree({}));
    expect(result.output).toMatch(/no dependency violations found/);
    expect(result.status).toBe(0);
  });

  test('a lower layer importing a higher one fails, naming the rule and both files', () => {
    const result = check(tree({ 'core/config.ts': "import { main } from '../server/cli/main.js';\nexport const config = main;\n" }));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/error core-imports-no-higher-layer: core\/config\.ts → server\/cli\/main\.ts/);
  });

  test('a type-only import counts as much as a value import', () => {
    const result = check(tree({ 'adapters/file/destination.ts': "import type { engine } from '../../channels/engine.js';\nexport type E = typeof engine;\n" }));
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/error adapters-imports-no-higher-layer: adapters\/file\/destination\.ts → channels\/engine\.ts/);
  });

  test('an import cycle inside one layer fails', () => {
    const result = check(
      tree({
        'mappings/engine/a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
        'mappings/engine/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
      }),
    );
    expect(result.status).not.toBe(0);
    expect(result.output).toMatch(/error no-import-cycles: mappings\/engine\/(a|b)\.ts/);
  });
});
