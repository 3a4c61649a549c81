// Deterministic ids: the same business identifier always gives the same UUID (v5, SHA-1 in
// Tramline's namespace), so a bundle's urn:uuid fullUrls and references are stable across
// re-sends and across messages about the same person.
import { hash } from 'node:crypto';
import { v5 as uuidv5Reference } from 'uuid';
import { remembered } from '../engine/remembered.js';
import { Args, stringArg, text, TextArg, type MappingFunction } from './types.js';

/** Tramline's UUID v5 namespace (fixed forever: changing it changes every generated id). */
export const TRAMLINE_UUID_NAMESPACE = '5b0c6a52-3f0e-5d8a-9b8e-6a1f0c2d7e41';

// UUID v5 = SHA-1(namespace bytes + name), version and variant bits set (RFC 9562). The
// `uuid` package allocates several arrays per call (~13 µs here); one reused buffer and
// Node's one-shot hash take ~1.6 µs, which matters at a dozen ids per message.
const scratch = Buffer.alloc(4096);
Buffer.from(TRAMLINE_UUID_NAMESPACE.replace(/-/g, ''), 'hex').copy(scratch, 0);
// The hash reads a view of the first 16 + n bytes; a new view per id (subarray) cost ~90 ns
// of the ~300, so each length's view is made once.
const views: Buffer[] = [];
function computeUuidv5(name: string): string {
  if (Buffer.byteLength(name, 'utf8') > scratch.length - 16) return uuidv5Reference(name, TRAMLINE_UUID_NAMESPACE);
  const n = scratch.write(name, 16, 'utf8');
  const h = hash('sha1', (views[n] ??= scratch.subarray(0, 16 + n)), 'hex');
  const variant = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

// Ids are remembered, since feeds repeat the same organisations, wards and practitioners;
// but most messages also name a new person, whose ids miss. A memo holding tens of
// thousands of those is a hash table far larger than the CPU cache, and every lookup in it
// (a hit on a ward as much as a miss on a patient) paid a cache miss: on the adt-mapping
// benchmark the lookups cost more than the SHA-1s they saved. A few thousand entries hold a
// trust's organisations, wards and clinicians, and stay in cache.
const ID_MEMO_LIMIT = 4096;
const uuidv5 = remembered(computeUuidv5, ID_MEMO_LIMIT);

// The urn:uuid form is remembered in its own memo (one lookup, no second one by name for
// the bare uuid), so a bundle's fullUrls and references are one string each: flattened and
// hashed once, not for every Set lookup and pattern check.
const urnOf = (name: string): string => `urn:uuid:${computeUuidv5(name)}`;
const urnUuid = remembered(urnOf, ID_MEMO_LIMIT);

const urnsByKind = new Map<string, (text: string) => string>();

/**
 * The urn:uuid of `<kind>|<text>` for one kind, remembered by the text itself: a hit needs no
 * `<kind>|<text>` string (and a miss goes straight to the hash: the shared memo by name would
 * miss as well). The one definition of a resource's fullUrl: the urnUuid function and the
 * mapping language's `$upsert` both use it, and share one memo per kind, so an entry's fullUrl
 * and a `let` computing the same urn for references hash the identifier once.
 */
export function urnOfKind(kind: string): (text: string) => string {
  let ofText = urnsByKind.get(kind);
  if (!ofText) {
    ofText = remembered((t) => urnOf(`${kind}|${t}`), ID_MEMO_LIMIT);
    urnsByKind.set(kind, ofText);
  }
  return ofText;
}

/**
 * The fullUrl of the resource of `type` keyed on the identifier `system|value`:
 * `urnUuid: Type` of "system|value" (what `$upsert` writes, so a `let` computing it with
 * urnUuid for references gives the same urn).
 */
export function identifierUrn(type: string): (system: string, value: string) => string {
  const ofKey = urnOfKind(type);
  return (system, value) => ofKey(`${system}|${value}`);
}

function nameOf(kind: string, value: unknown): string | undefined {
  if (Array.isArray(value) && value.length && value.every((v) => !Array.isArray(v))) {
    const parts = value.map((v) => text(v) ?? '');
    return parts.some((p) => p !== '') ? `${kind}|${parts.join('|')}` : undefined;
  }
  const t = text(value);
  return t === undefined ? undefined : `${kind}|${t}`;
}

/**
 * Free text (an assigning authority such as `St Mary's PAS`, a sending facility) as one part
 * of a URI: trimmed, each run of whitespace made one space, then percent-encoded as
 * encodeURIComponent does. Letters, digits and `-_.!~*'()` stay as they are, so the codes
 * feeds usually send (`RXX_VISIT`, `NHS`) give the same systems as before; anything else is
 * encoded, so the result has no spaces (FHIR's uri pattern refuses them) and no `:` that could
 * shift the parts. The same text always gives the same part, and different texts different ones.
 */
export function uriPart(value: string): string | undefined {
  const t = value.trim().replace(/\s+/g, ' ');
  return t === '' ? undefined : encodeURIComponent(t);
}

/** `<prefix>:<part>:<part>…` with every part made a URI part; undefined when any part is empty. */
function urnOfParts(prefix: string, parts: readonly string[]): string | undefined {
  let out = prefix;
  for (const p of parts) {
    const part = uriPart(p);
    if (part === undefined) return undefined;
    out += `:${part}`;
  }
  return out;
}

export function deterministicUuid(kind: string, key: string): string {
  return uuidv5(`${kind}|${key}`);
}

/** The reference implementation, for tests that check the fast path agrees with it. */
export function referenceUuid(kind: string, key: string): string {
  return uuidv5Reference(`${kind}|${key}`, TRAMLINE_UUID_NAMESPACE);
}

export const idFunctions: MappingFunction[] = [
  {
    name: 'urn',
    description:
      "An identifier system `<prefix>:<part>:<part>…` from a value or a list of values, each part free text made URI-safe (trimmed, inner whitespace one space, percent-encoded as encodeURIComponent does: `St Mary's PAS` → `St%20Mary's%20PAS`). Stable: the same text always gives the same system. Empty when any part is empty, so `$first` can fall back.",
    usage: '{ $list: [{ $var: sendingFacility }, { $path: "@.4" }], $fn: { urn: "urn:tramline:id" } }',
    args: Args([TextArg('prefix', 'The start of the system, without the last colon, e.g. urn:tramline:id.')]),
    returns: 'URI',
    examples: [
      { input: ['RXX', 'RXX_VISIT'], args: ['urn:tramline:id'], output: 'urn:tramline:id:RXX:RXX_VISIT' },
      { input: ['RXX', " St Mary's  PAS "], args: ['urn:tramline:id'], output: "urn:tramline:id:RXX:St%20Mary's%20PAS" },
      { input: ['RXX', 'MRN:A/B'], args: ['urn:tramline:id'], output: 'urn:tramline:id:RXX:MRN%3AA%2FB' },
      { input: 'RXX', args: ['urn:tramline:derived-visit'], output: 'urn:tramline:derived-visit:RXX' },
      { input: ['RXX', ''], args: ['urn:tramline:id'], output: undefined },
    ],
    bind(args) {
      const prefix = stringArg('urn', args, 0);
      // Feeds repeat the same facility and authorities: remember the joined text's system.
      // A NUL cannot be in HL7 text (limits.ts refuses control characters), so it joins safely.
      const ofText = remembered((joined) => urnOfParts(prefix, joined.split('\u0000')) ?? '', 1_000);
      return (value) => {
        const parts = Array.isArray(value) ? value.map((v) => text(v)) : [text(value)];
        if (parts.some((p) => p === undefined)) return undefined;
        return ofText(parts.join('\u0000')) || undefined;
      };
    },
  },
  {
    name: 'uuid5',
    description: 'UUID v5 of "<kind>|<value>" (a list value is joined with |) in the Tramline namespace.',
    usage: '{ uuid5: Patient }',
    args: Args([TextArg('kind', 'What the id is for, e.g. Patient: the same value gives different ids for different kinds.')]),
    returns: 'UUID',
    examples: [
      { input: 'https://fhir.nhs.uk/Id/nhs-number|9434765919', args: ['Patient'], output: deterministicUuid('Patient', 'https://fhir.nhs.uk/Id/nhs-number|9434765919') },
      { input: '', args: ['Patient'], output: undefined },
    ],
    bind(args) {
      const kind = stringArg('uuid5', args, 0);
      return (value) => {
        const name = nameOf(kind, value);
        return name === undefined ? undefined : uuidv5(name);
      };
    },
  },
  {
    name: 'urnUuid',
    description: 'Like uuid5 but returns `urn:uuid:<uuid>`, ready for Bundle.entry.fullUrl and references. The fullUrl `$upsert` writes is this of "system|value", so a reference to that entry is `{ $template: "${system}|${value}", $fn: { urnUuid: Type } }`.',
    usage: '{ urnUuid: Patient }',
    args: Args([TextArg('kind', 'What the id is for, e.g. Patient: the same value gives different ids for different kinds.')]),
    returns: 'urn:uuid:…',
    examples: [
      { input: 'RCB|12345', args: ['Patient'], output: `urn:uuid:${deterministicUuid('Patient', 'RCB|12345')}` },
      { input: ['RCB', '12345'], args: ['Patient'], output: `urn:uuid:${deterministicUuid('Patient', 'RCB|12345')}` },
    ],
    bind(args) {
      const kind = stringArg('urnUuid', args, 0);
      const ofText = urnOfKind(kind);
      return (value) => {
        if (typeof value === 'string') return value === '' ? undefined : ofText(value);
        const name = nameOf(kind, value);
        return name === undefined ? undefined : urnUuid(name);
      };
    },
  },
];
