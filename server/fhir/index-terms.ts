// What the search index keeps of a resource: its identifiers, its `status` code, the targets
// of its literal references and, for a Patient, its birth date and keyed hashes of its names
// (blind-index.ts: names are never stored in clear). The resource itself is sealed; these are
// enough to find it.
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import { blind, MAX_NAME_PARTS, prefixes, trigrams } from './blind-index.js';
import { badRequest } from './outcome.js';
import { findReferences, literalTarget } from './references.js';

export interface IndexTerm {
  kind: 'identifier' | 'reference' | 'token' | 'string' | 'date';
  name: string;
  /** identifier: its system; string: the content key id of the hash; date: the first day it may mean (YYYYMMDD). */
  system: string;
  /** identifier: its value; string: a keyed hash (exact text, folded prefix or trigram); date: the last day it may mean. */
  value: string;
}

type Json = Record<string, unknown>;

/** Lower case without accents: what string search compares (`Zoë` is found by `zoe`). */
export function foldText(text: string): string {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();
}

const PARTIAL_DATE = /^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/;

/** A FHIR date (YYYY, YYYY-MM or YYYY-MM-DD) as the days it covers, `YYYYMMDD` each; undefined if not a valid date. */
export function dateRange(text: string): { first: string; last: string } | undefined {
  const m = PARTIAL_DATE.exec(text);
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const month = mo === undefined ? undefined : Number(mo);
  if (month !== undefined && (month < 1 || month > 12)) return undefined;
  const daysIn = (mm: number) => new Date(Date.UTC(Number(y), mm, 0)).getUTCDate();
  if (d !== undefined && (Number(d) < 1 || Number(d) > daysIn(month!))) return undefined;
  if (mo === undefined) return { first: `${y}0101`, last: `${y}1231` };
  if (d === undefined) return { first: `${y}${mo}01`, last: `${y}${mo}${String(daysIn(month!)).padStart(2, '0')}` };
  return { first: `${y}${mo}${d}`, last: `${y}${mo}${d}` };
}

const strings = (value: unknown): string[] => (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string' && v !== '');

/** The name parts of a Patient, by search parameter (`name` also covers family and given). */
export function nameParts(resource: Json): { name: 'family' | 'given' | 'name'; text: string }[] {
  const parts: { name: 'family' | 'given' | 'name'; text: string }[] = [];
  for (const n of (Array.isArray(resource.name) ? resource.name : []) as Json[]) {
    for (const text of strings(n?.family)) parts.push({ name: 'family', text });
    for (const text of strings(n?.given)) parts.push({ name: 'given', text });
    for (const text of [...strings(n?.prefix), ...strings(n?.suffix), ...strings(n?.text)]) parts.push({ name: 'name', text });
  }
  return parts;
}

function patientTerms(resource: Json, keys: ContentKeyRing): IndexTerm[] {
  const terms = new Map<string, IndexTerm>();
  const add = (name: string, hashed: { keyId: string; value: string }) => terms.set(`${name} ${hashed.value}`, { kind: 'string', name, system: hashed.keyId, value: hashed.value });
  for (const { name, text } of nameParts(resource).slice(0, MAX_NAME_PARTS)) {
    const folded = foldText(text);
    add(name, blind(keys, 'exact', text));
    for (const p of prefixes(folded)) add(name, blind(keys, 'prefix', p));
    for (const t of trigrams(folded)) add(name, blind(keys, 'trigram', t));
  }
  const out = [...terms.values()];
  const range = typeof resource.birthDate === 'string' ? dateRange(resource.birthDate) : undefined;
  if (range) out.push({ kind: 'date', name: 'birthdate', system: range.first, value: range.last });
  return out;
}

export function indexTerms(resource: Json, keys: ContentKeyRing): IndexTerm[] {
  const terms: IndexTerm[] = [];
  const ids = Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : [];
  for (const id of ids as Json[]) {
    if (typeof id?.value !== 'string') continue;
    terms.push({ kind: 'identifier', name: 'identifier', system: typeof id.system === 'string' ? id.system : '', value: id.value });
  }
  if (typeof resource.status === 'string') terms.push({ kind: 'token', name: 'status', system: '', value: resource.status });
  if (resource.resourceType === 'Patient') terms.push(...patientTerms(resource, keys));
  const seen = new Set<string>();
  for (const ref of findReferences(resource)) {
    const target = literalTarget(ref.reference);
    if (!target) continue;
    const key = `${ref.path}\u0000${target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    terms.push({ kind: 'reference', name: ref.path, system: '', value: target });
  }
  // PostgreSQL refuses NUL in text; the same resource must fail the same way on SQLite.
  if (terms.some((t) => t.system.includes('\u0000') || t.value.includes('\u0000'))) throw badRequest('NUL characters are not allowed in identifiers or status codes');
  return terms;
}
