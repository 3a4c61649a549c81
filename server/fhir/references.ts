// References inside resources: where they are, what they point at, and rewriting them
// (a transaction's urn:uuid: placeholders become the ids the server assigned).

export const ID_PATTERN = /^[A-Za-z0-9\-.]{1,64}$/;
const LITERAL = /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/;
const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.+)$/;

type Json = Record<string, unknown>;

/** `Type/id` for a literal reference (relative or absolute, with or without _history), else undefined. */
export function literalTarget(reference: string): string | undefined {
  if (reference.startsWith('urn:') || reference.startsWith('#') || CONDITIONAL.test(reference)) return undefined;
  const m = LITERAL.exec(reference);
  return m ? `${m[1]}/${m[2]}` : undefined;
}

/** `{ type, query }` for a conditional reference such as `Patient?identifier=sys|val`. */
export function conditionalTarget(reference: string): { type: string; query: string } | undefined {
  const m = CONDITIONAL.exec(reference);
  return m ? { type: m[1], query: m[2] } : undefined;
}

export interface FoundReference {
  /** Element path without indices, e.g. `subject`, `participant.member`. */
  path: string;
  /** The object holding `reference`; rewriting assigns to it. */
  holder: Json;
  reference: string;
}

/** Every `Reference.reference` in a resource (contained resources excluded: they have their own scope). */
export function findReferences(resource: unknown): FoundReference[] {
  const out: FoundReference[] = [];
  const walk = (node: unknown, path: string, top: boolean): void => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, path, false);
      return;
    }
    if (!node || typeof node !== 'object') return;
    const obj = node as Json;
    if (!top && typeof obj.reference === 'string') out.push({ path, holder: obj, reference: obj.reference });
    for (const [key, value] of Object.entries(obj)) {
      if (top && (key === 'contained' || key === 'meta' || key === 'text')) continue;
      if (value && typeof value === 'object') walk(value, path ? `${path}.${key}` : key, false);
    }
  };
  walk(resource, '', true);
  return out;
}
