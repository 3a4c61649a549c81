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
// Node's one-shot hash take ~1.6 µs, which matters at a dozen ids per message. Results
// are also memoised: feeds repeat the same organisations, wards and practitioners.
const scratch = Buffer.alloc(4096);
Buffer.from(TRAMLINE_UUID_NAMESPACE.replace(/-/g, ''), 'hex').copy(scratch, 0);
const uuidv5 = remembered((name) => {
  if (Buffer.byteLength(name, 'utf8') > scratch.length - 16) return uuidv5Reference(name, TRAMLINE_UUID_NAMESPACE);
  const n = scratch.write(name, 16, 'utf8');
  const h = hash('sha1', scratch.subarray(0, 16 + n), 'hex');
  const variant = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
});

// The urn:uuid form is remembered too, so a bundle's fullUrls and references are one string
// each: flattened and hashed once, not for every Set lookup and pattern check.
const urnOf = (name: string): string => `urn:uuid:${uuidv5(name)}`;
const urnUuid = remembered(urnOf);

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
    ofText = remembered((t) => urnOf(`${kind}|${t}`), 10_000);
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

export function deterministicUuid(kind: string, key: string): string {
  return uuidv5(`${kind}|${key}`);
}

/** The reference implementation, for tests that check the fast path agrees with it. */
export function referenceUuid(kind: string, key: string): string {
  return uuidv5Reference(`${kind}|${key}`, TRAMLINE_UUID_NAMESPACE);
}

export const idFunctions: MappingFunction[] = [
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
