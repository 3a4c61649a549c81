// What the plaintext search index keeps of a resource: its identifiers, its `status` code
// and the targets of its literal references. The resource itself is sealed; these are enough to find it.
import { findReferences, literalTarget } from './references.js';

export interface IndexTerm {
  kind: 'identifier' | 'reference' | 'token';
  name: string;
  system: string;
  value: string;
}

type Json = Record<string, unknown>;

export function indexTerms(resource: Json): IndexTerm[] {
  const terms: IndexTerm[] = [];
  const ids = Array.isArray(resource.identifier) ? resource.identifier : resource.identifier ? [resource.identifier] : [];
  for (const id of ids as Json[]) {
    if (typeof id?.value !== 'string') continue;
    terms.push({ kind: 'identifier', name: 'identifier', system: typeof id.system === 'string' ? id.system : '', value: id.value });
  }
  if (typeof resource.status === 'string') terms.push({ kind: 'token', name: 'status', system: '', value: resource.status });
  const seen = new Set<string>();
  for (const ref of findReferences(resource)) {
    const target = literalTarget(ref.reference);
    if (!target) continue;
    const key = `${ref.path}\u0000${target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    terms.push({ kind: 'reference', name: ref.path, system: '', value: target });
  }
  return terms;
}
