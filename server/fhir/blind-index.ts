// Patient names are searchable without being stored in clear: the index holds keyed hashes
// (HMAC-SHA256 with a key derived from each content key, adapters/store/index-key.ts) of each name part's folded text, of
// its prefixes (starts-with search) and of its trigrams (narrowing :contains, which is then
// checked on the unsealed resource). Each row names the content key it was made with, and a
// search hashes with every listed key, so rotating TRAMLINE_CONTENT_KEY keeps old rows findable.
import crypto from 'node:crypto';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import { derivedKeys } from '../../adapters/store/index-key.js';

export type BlindTag = 'exact' | 'prefix' | 'trigram';

/** Prefixes longer than this are not indexed: a starts-with search is cut to it (and then checked like :contains). */
export const MAX_PREFIX = 24;
/** Trigrams come from the first this many characters of a name part: a hostile resource cannot make the index huge. */
export const MAX_TRIGRAM_TEXT = 64;
/** Name parts of one Patient beyond this many are not indexed (same reason). */
export const MAX_NAME_PARTS = 20;

const derived = new WeakMap<ContentKeyRing, { id: string; key: Buffer }[]>();

/** Index keys, current first: never the content keys themselves. */
function indexKeys(ring: ContentKeyRing): { id: string; key: Buffer }[] {
  let keys = derived.get(ring);
  if (!keys) {
    keys = derivedKeys(ring, 'tramline fhir search index v1');
    derived.set(ring, keys);
  }
  return keys;
}

const hash = (key: Buffer, tag: BlindTag, text: string) => crypto.createHmac('sha256', key).update(`${tag}\u0000${text}`).digest('base64url').slice(0, 32);

/** The term as written now: with the current key. */
export function blind(ring: ContentKeyRing, tag: BlindTag, text: string): { keyId: string; value: string } {
  const { id, key } = indexKeys(ring)[0];
  return { keyId: id, value: hash(key, tag, text) };
}

/** The term as any listed key would have written it (what a search looks for). */
export function blindVariants(ring: ContentKeyRing, tag: BlindTag, text: string): string[] {
  return indexKeys(ring).map(({ key }) => hash(key, tag, text));
}

/** Distinct three-character pieces of a folded text. */
export function trigrams(text: string): string[] {
  const chars = [...text].slice(0, MAX_TRIGRAM_TEXT);
  const out = new Set<string>();
  for (let i = 0; i + 3 <= chars.length; i++) out.add(chars.slice(i, i + 3).join(''));
  return [...out];
}

/** Distinct prefixes up to MAX_PREFIX characters. */
export function prefixes(text: string): string[] {
  const chars = [...text];
  const out: string[] = [];
  for (let n = 1; n <= Math.min(chars.length, MAX_PREFIX); n++) out.push(chars.slice(0, n).join(''));
  return out;
}
