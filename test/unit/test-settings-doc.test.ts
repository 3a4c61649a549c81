// The test suite's own settings (TRAMLINE_TEST_*) have one name each, the one the README gives:
// a test that read TRAMLINE_TEST_PG_URL while the README said TRAMLINE_TEST_PG ignored the override.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from '../support/engine.js';

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|js|mjs)$/.test(e.name) ? [p] : [];
  });
}

const NAME = /\bTRAMLINE_TEST_[A-Z0-9_]+\b/g;
const read = new Set(sources(path.join(ROOT, 'test')).flatMap((f) => readFileSync(f, 'utf8').match(/process\.env\.TRAMLINE_TEST_[A-Z0-9_]+/g) ?? []).map((m) => m.slice('process.env.'.length)));
const documented = new Set(readFileSync(path.join(ROOT, 'README.md'), 'utf8').match(NAME) ?? []);

test('every TRAMLINE_TEST_* setting the tests read is the one the README documents, and the reverse', () => {
  expect(read.has('TRAMLINE_TEST_PG')).toBe(true);
  expect([...read].filter((n) => !documented.has(n))).toEqual([]);
  expect([...documented].filter((n) => !read.has(n))).toEqual([]);
});
