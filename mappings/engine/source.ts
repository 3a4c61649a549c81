// A mapping file read with node positions, so every problem names file and line.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode, type Pair } from 'yaml';
import { MappingError } from '../../core/errors.js';
import { compactString } from './compact-strings.js';

export interface SourceFile {
  file: string;
  /** How messages name the file: repository- or working-folder-relative (see displayName). */
  name: string;
  doc: Document.Parsed;
  lines: LineCounter;
}

/** The folder holding mappings/, channels/, … (also when running the compiled build from dist/). */
const ROOT = resolvePath(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * A mapping file's name for messages: relative to the installation (`mappings/hl7v2/adt-to-fhir.yaml`)
 * or to the working folder, so errors sent to API callers never show the server's own folders.
 * Files elsewhere are named as given.
 */
export function displayName(file: string): string {
  for (const base of [ROOT, process.cwd()]) {
    const rel = relative(base, file);
    if (rel && !rel.startsWith('..') && !isAbsolute(rel)) return rel;
  }
  return file;
}

export function readSource(file: string, text = readFileSync(file, 'utf8')): SourceFile {
  const name = displayName(file);
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const first = doc.errors[0];
  if (first) {
    const line = lines.linePos(first.pos[0]).line;
    throw new MappingError(`${name}:${line}: YAML: ${first.message.split('\n')[0]}`, file, line);
  }
  // Constants become output values and template pieces: see compact-strings.ts.
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string') node.value = compactString(node.value);
    },
  });
  return { file, name, doc, lines };
}

export function lineOf(src: SourceFile, node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? src.lines.linePos(range[0]).line : undefined;
}

/** Follow YAML aliases (`*anchor`) to the node they stand for. */
export function resolve(src: SourceFile, node: unknown): unknown {
  return isAlias(node) ? node.resolve(src.doc) : node;
}

export function mapEntries(src: SourceFile, node: unknown): [string, unknown, Pair][] {
  const n = resolve(src, node);
  if (!isMap(n)) return [];
  return n.items.map((pair) => {
    const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
    return [key, pair.value, pair as Pair];
  });
}

export function seqItems(src: SourceFile, node: unknown): unknown[] {
  const n = resolve(src, node);
  return isSeq(n) ? n.items : [];
}

export { isMap, isScalar, isSeq };
export type { YamlNode };

/** The node at a JSON pointer-like instance path from ajv (`/output/entry/0`). */
export function nodeAt(src: SourceFile, instancePath: string): unknown {
  const parts = instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = src.doc.contents;
  for (const part of parts) {
    const n = resolve(src, node);
    if (isMap(n)) node = n.items.find((pair) => isScalar(pair.key) && String(pair.key.value) === part)?.value ?? n;
    else if (isSeq(n)) node = n.items[Number(part)] ?? n;
    else break;
  }
  return node;
}
