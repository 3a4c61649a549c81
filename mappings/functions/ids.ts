// Deterministic ids: the same business identifier always gives the same UUID (v5, SHA-1 in
// Tramline's namespace), so a bundle's urn:uuid fullUrls and references are stable across
// re-sends and across messages about the same person.
import { v5 as uuidv5 } from 'uuid';
import { stringArg, text, type MappingFunction } from './types.js';

/** Tramline's UUID v5 namespace (fixed forever: changing it changes every generated id). */
export const TRAMLINE_UUID_NAMESPACE = '5b0c6a52-3f0e-5d8a-9b8e-6a1f0c2d7e41';

function nameOf(kind: string, value: unknown): string | undefined {
  if (Array.isArray(value) && value.length && value.every((v) => !Array.isArray(v))) {
    const parts = value.map((v) => text(v) ?? '');
    return parts.some((p) => p !== '') ? `${kind}|${parts.join('|')}` : undefined;
  }
  const t = text(value);
  return t === undefined ? undefined : `${kind}|${t}`;
}

export function deterministicUuid(kind: string, key: string): string {
  return uuidv5(`${kind}|${key}`, TRAMLINE_UUID_NAMESPACE);
}

export const idFunctions: MappingFunction[] = [
  {
    name: 'uuid5',
    description: 'UUID v5 of "<kind>|<value>" (a list value is joined with |) in the Tramline namespace.',
    usage: '{ uuid5: Patient }',
    examples: [
      { input: 'https://fhir.nhs.uk/Id/nhs-number|9434765919', args: ['Patient'], output: deterministicUuid('Patient', 'https://fhir.nhs.uk/Id/nhs-number|9434765919') },
      { input: '', args: ['Patient'], output: undefined },
    ],
    bind(args) {
      const kind = stringArg('uuid5', args, 0);
      return (value) => {
        const name = nameOf(kind, value);
        return name === undefined ? undefined : uuidv5(name, TRAMLINE_UUID_NAMESPACE);
      };
    },
  },
  {
    name: 'urnUuid',
    description: 'Like uuid5 but returns `urn:uuid:<uuid>`, ready for Bundle.entry.fullUrl and references.',
    usage: '{ urnUuid: Patient }',
    examples: [
      { input: 'RCB|12345', args: ['Patient'], output: `urn:uuid:${deterministicUuid('Patient', 'RCB|12345')}` },
      { input: ['RCB', '12345'], args: ['Patient'], output: `urn:uuid:${deterministicUuid('Patient', 'RCB|12345')}` },
    ],
    bind(args) {
      const kind = stringArg('urnUuid', args, 0);
      return (value) => {
        const name = nameOf(kind, value);
        return name === undefined ? undefined : `urn:uuid:${uuidv5(name, TRAMLINE_UUID_NAMESPACE)}`;
      };
    },
  },
];
