// Code maps: mappings/codemaps/<name>.yaml. Read with the YAML failsafe schema so codes stay
// strings ("01" is not the number 1). Loaded once per process and shared.
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { constantCopier } from '../engine/builders.js';
import { compactStrings } from '../engine/compact-strings.js';
import { displayName } from '../engine/source.js';

export type Unmapped = 'error' | 'omit' | 'keep';

export interface CodeMap {
  id: string;
  description: string;
  /** What happens to a code missing from `map` when there is no `default`. */
  unmapped: Unmapped;
  caseInsensitive: boolean;
  default?: unknown;
  lookup(code: string): unknown;
  entries: ReadonlyMap<string, unknown>;
}

export const CODEMAP_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'codemaps');

const cache = new Map<string, CodeMap>();

function fail(file: string, message: string): never {
  throw new Error(`${displayName(file)}: ${message}`);
}

export function parseCodeMap(textContent: string, file: string): CodeMap {
  // Compact strings: code map values are copied into outputs (see compact-strings.ts).
  const doc = compactStrings(parse(textContent, { schema: 'failsafe' }) as Record<string, unknown> | null);
  if (!doc || typeof doc !== 'object') fail(file, 'a code map must be a YAML mapping');
  const id = doc.id;
  if (typeof id !== 'string' || !/^[a-z0-9][a-z0-9-]*$/.test(id)) fail(file, '`id` must be a lower-case name');
  const map = doc.map;
  if (!map || typeof map !== 'object' || Array.isArray(map)) fail(file, '`map` must be a mapping of code → value');
  const unmapped = (doc.unmapped ?? 'error') as Unmapped;
  if (!['error', 'omit', 'keep'].includes(unmapped)) fail(file, '`unmapped` must be error, omit or keep');
  const caseInsensitive = doc.caseInsensitive === 'true';
  const entries = new Map<string, unknown>();
  // Each value's copier, made once: objects (codings) are copied per lookup, since outputs
  // must never share, and so never corrupt, the map.
  const copies = new Map<string, () => unknown>();
  for (const [code, value] of Object.entries(map as Record<string, unknown>)) {
    const key = caseInsensitive ? code.toUpperCase() : code;
    entries.set(key, value);
    copies.set(key, constantCopier(value));
  }
  const hasDefault = Object.prototype.hasOwnProperty.call(doc, 'default');
  return {
    id,
    description: typeof doc.description === 'string' ? doc.description : '',
    unmapped,
    caseInsensitive,
    default: hasDefault ? doc.default : undefined,
    entries,
    lookup(code: string) {
      return copies.get(caseInsensitive ? code.toUpperCase() : code)?.();
    },
  };
}

/** The code map called `name` from the shipped folder (or `dir`). */
export function getCodeMap(name: string, dir = CODEMAP_DIR): CodeMap {
  const key = `${dir}\0${name}`;
  const hit = cache.get(key);
  if (hit) return hit;
  if (!/^[a-z0-9][a-z0-9-]*$/.test(name)) throw new Error(`code map name "${name}" is not a lower-case name`);
  const file = join(dir, `${name}.yaml`);
  if (!existsSync(file)) throw new Error(`unknown code map "${name}" (no ${displayName(file)})`);
  const codeMap = parseCodeMap(readFileSync(file, 'utf8'), file);
  if (codeMap.id !== name) fail(file, `id "${codeMap.id}" does not match the file name`);
  cache.set(key, codeMap);
  return codeMap;
}

export function listCodeMaps(dir = CODEMAP_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -5))
    .sort();
}
