// The docs are for people who have only this repository: no text file may send them to a
// design note that is not in it, every relative Markdown link (and #anchor) must lead to a file
// and heading that exist, and a file path a doc names (`core/config.ts`) must still be there.
import { describe, expect, test } from '@jest/globals';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

// Folders that are not source: installed packages, build output, run-time data (.gitignore).
const SKIP = new Set(['.git', 'node_modules', 'dist', 'data', 'coverage', '.tramline-test']);
const TEXT = /\.(ts|js|mjs|cjs|json|ya?ml|md|txt|csv|hl7|sql|sh)$|^[^.]+$/;

function textFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return SKIP.has(e.name) ? [] : textFiles(p);
    return e.isFile() && TEXT.test(e.name) && statSync(p).size < 5_000_000 ? [p] : [];
  });
}

// Design notes kept outside the repository; written so that this file does not name them.
const OUTSIDE = /\b(?:DESIGN|DOMAIN|DEPENDENCIES|STYLE)\.md\b|\.\.\/shared\b/g;

function outsideReferences(text: string): string[] {
  return text.split('\n').flatMap((line, i) => [...line.matchAll(OUTSIDE)].map((m) => `line ${i + 1}: ${m[0]}`));
}

/** Markdown with fenced code blocks blanked (examples, not references). */
function withoutFences(markdown: string): string {
  return markdown.replace(/^( {0,3})(```|~~~)[^\n]*\n[\s\S]*?^\1\2[^\n]*$/gm, (block) => block.replace(/[^\n]/g, ' '));
}

/** Markdown with fenced code blocks and inline code spans blanked (links there are examples). */
function prose(markdown: string): string {
  return withoutFences(markdown).replace(/(`+)[\s\S]*?\1/g, (span) => ' '.repeat(span.length));
}

/** GitHub's heading anchors: lower case, punctuation dropped, each space a hyphen, repeats -1, -2… */
function headingSlugs(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const slugs = new Set<string>();
  for (const [, heading] of withoutFences(markdown).matchAll(/^ {0,3}#{1,6}[ \t]+(.*?)[ \t#]*$/gm)) {
    const text = heading.replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, '').replace(/\s/g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    slugs.add(n ? `${base}-${n}` : base);
  }
  return slugs;
}

/** Relative links of a Markdown file whose file or #anchor does not exist. */
function brokenLinks(file: string, markdown: string, read: (p: string) => string | undefined): string[] {
  const broken: string[] = [];
  for (const [, target] of prose(markdown).matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto: …: not a file here
    const [rawPath, anchor] = target.split('#', 2);
    const linked = rawPath ? path.resolve(path.dirname(file), decodeURIComponent(rawPath)) : file;
    const text = read(linked);
    if (text === undefined) {
      broken.push(`${target}: no such file`);
    } else if (anchor && linked.endsWith('.md') && !headingSlugs(text).has(anchor.toLowerCase())) {
      broken.push(`${target}: no heading with that anchor`);
    }
  }
  return broken;
}

// A repository path in a code span: has a folder and a source file's extension (`core/config.ts`).
const REPO_PATH = /^(?:\.{1,2}\/)?[\w@.-]+(?:\/[\w@.-]+)+\.(?:ts|js|json|ya?ml|md|hl7|csv)$/;

/** Paths a Markdown file names in `code` that exist neither from the repository root nor beside it. */
function missingPaths(file: string, markdown: string, exists: (p: string) => boolean): string[] {
  const spans = [...withoutFences(markdown).matchAll(/(`+)([\s\S]*?)\1/g)].map((m) => m[2].trim());
  return spans.filter((p) => REPO_PATH.test(p) && !exists(path.join(ROOT, p)) && !exists(path.resolve(path.dirname(file), p)));
}

function readIfExists(p: string): string | undefined {
  if (!existsSync(p)) return undefined;
  return statSync(p).isDirectory() ? '' : readFileSync(p, 'utf8');
}

const files = textFiles(ROOT);
const markdown = files.filter((f) => f.endsWith('.md'));
const rel = (f: string) => path.relative(ROOT, f);

describe('docs name only what the repository holds', () => {
  test('the walk finds the docs it should check', () => {
    for (const f of ['README.md', 'docs/performance.md', 'docs/security.md', 'mappings/README.md', 'adapters/hl7v2/README.md']) {
      expect(markdown.map(rel)).toContain(f);
    }
    expect(files.map(rel)).toContain('core/config.ts');
  });

  test('no text file cites a design note kept outside the repository', () => {
    const found = files.flatMap((f) => outsideReferences(readFileSync(f, 'utf8')).map((r) => `${rel(f)} ${r}`));
    expect(found).toEqual([]);
  });

  test('every relative Markdown link leads to a file, and every #anchor to a heading, that exist', () => {
    const found = markdown.flatMap((f) => brokenLinks(f, readFileSync(f, 'utf8'), readIfExists).map((b) => `${rel(f)}: ${b}`));
    expect(found).toEqual([]);
  });

  test('every repository path a doc names in `code` (folder/file.ext) exists', () => {
    const found = markdown.flatMap((f) => missingPaths(f, readFileSync(f, 'utf8'), existsSync).map((p) => `${rel(f)}: ${p}`));
    expect(found).toEqual([]);
  });
});

describe('the checks themselves', () => {
  test('a cited outside note is found, with its line', () => {
    const note = ['DEPEND', 'ENCIES.md'].join('');
    expect(outsideReferences(`fine\nas ${note} explains\n`)).toEqual([`line 2: ${note}`]);
    expect(outsideReferences('see docs/design.md and mappings/README.md')).toEqual([]);
  });

  test('GitHub anchors: punctuation dropped, spaces to hyphens, repeats numbered, fenced "#" lines ignored', () => {
    const slugs = headingSlugs('# Tramline\n## `http` — records pushed by a case system\n## Tests\n## Tests\n```sh\n# not a heading\n```\n');
    expect([...slugs]).toEqual(['tramline', 'http--records-pushed-by-a-case-system', 'tests', 'tests-1']);
  });

  test('a link to a missing file or heading is broken; code, external links and good links are not', () => {
    const docs: Record<string, string> = { '/r/docs/a.md': '# Alpha\n## Beta\n', '/r/README.md': '' };
    const md = [
      '[ok](docs/a.md) [ok](docs/a.md#beta) [ok](#top) [web](https://example.org/x.md)',
      '[gone](docs/b.md) [bad anchor](docs/a.md#gamma) `[code](nowhere.md)`',
      '```\n[fenced](nowhere.md)\n```',
      '# Top',
    ].join('\n');
    expect(brokenLinks('/r/README.md', md, (p) => (p === '/r/README.md' ? md : docs[p]))).toEqual([
      'docs/b.md: no such file',
      'docs/a.md#gamma: no heading with that anchor',
    ]);
  });

  test('a named path is missing unless it exists from the root or beside the doc; examples and non-paths are skipped', () => {
    const have = new Set([path.join(ROOT, 'core/config.ts'), path.join(ROOT, 'docs/engine/x.ts')]);
    const md = 'See `core/config.ts`, `engine/x.ts`, `server/gone.ts`, `application/json`, `a.ts` and\n```\nsrc/example.ts\n```\n`../old/moved.md`';
    expect(missingPaths(path.join(ROOT, 'docs/guide.md'), md, (p) => have.has(p))).toEqual(['server/gone.ts', '../old/moved.md']);
  });
});
