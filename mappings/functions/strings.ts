// String operations. All treat '' and absent alike (nothing in, nothing out).
import { identifierSearch } from '../../adapters/fhir/search-token.js';
import { InvalidValueError } from '../engine/invalid-value.js';
import { postcodeOf } from './postcode.js';
import { Args, stringArg, text, TextArg, type MappingFunction } from './types.js';
import { Type } from '@sinclair/typebox';

/** A function of a text value with no arguments (the compiler checks there are none). */
function simple(
  name: string,
  description: string,
  examples: MappingFunction['examples'],
  op: (s: string) => unknown,
  returns = 'text',
): MappingFunction {
  return {
    name,
    description,
    args: Args([]),
    returns,
    examples,
    bind() {
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : op(t);
      };
    },
  };
}

function titleCase(s: string): string {
  // Keeps the capital after an apostrophe or hyphen: O'BRIEN → O'Brien, SMITH-JONES → Smith-Jones.
  return s.toLowerCase().replace(/(^|[\s'’-])(\p{L})/gu, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
}

// Nothing to encode: the common case, checked without allocating.
const URL_SAFE = /^[A-Za-z0-9\-_.!~*'();/?:@&=+$,#|]*$/;

export const stringFunctions: MappingFunction[] = [
  simple('trim', 'Remove leading and trailing white space; nothing left → absent.', [{ input: '  a b ', output: 'a b' }, { input: '   ', output: undefined }], (s) => s.trim() || undefined),
  simple('upper', 'Upper case.', [{ input: 'yo32 5tt', output: 'YO32 5TT' }], (s) => s.toUpperCase()),
  simple('lower', 'Lower case.', [{ input: 'EN', output: 'en' }], (s) => s.toLowerCase()),
  simple('titleCase', 'Capitalise each word (names arrive in upper case from many PAS systems).', [
    { input: "O'BRIEN-SMITH", output: "O'Brien-Smith" },
    { input: 'ÉLODIE DUPONT', output: 'Élodie Dupont' },
  ], titleCase),
  simple('digits', 'Keep only the digits.', [{ input: '+44 (0)1234 567890', output: '4401234567890' }], (s) => s.replace(/\D/g, '') || undefined),
  simple('postcode', 'Normalise a UK postcode (upper case, single space before the inward code).', [
    { input: 'yo325tt', output: 'YO32 5TT' },
    { input: 'SW1A  1AA', output: 'SW1A 1AA' },
    { input: 'abroad', output: 'ABROAD' },
  ], (s) => postcodeOf(s)),
  simple('yesNo', 'Y/Yes/true/1 → true, N/No/false/0 → false; anything else is invalid.', [
    { input: 'Y', output: true },
    { input: 'no', output: false },
    { input: 'maybe', error: 'not a yes/no value' },
  ], (s) => {
    const v = s.trim().toLowerCase();
    if (['y', 'yes', 'true', '1'].includes(v)) return true;
    if (['n', 'no', 'false', '0'].includes(v)) return false;
    throw new InvalidValueError('not a yes/no value');
  }, 'boolean'),
  simple('integer', 'Whole number from text; anything else is invalid.', [
    { input: '42', output: 42 },
    { input: '4.5', error: 'not a whole number' },
  ], (s) => {
    if (!/^\s*-?\d+\s*$/.test(s)) throw new InvalidValueError('not a whole number');
    return Number(s);
  }, 'number'),
  simple('decimal', 'Decimal number from text; anything else is invalid.', [
    { input: '12.50', output: 12.5 },
    { input: 'abc', error: 'not a number' },
  ], (s) => {
    if (!/^\s*-?\d+(\.\d+)?\s*$/.test(s)) throw new InvalidValueError('not a number');
    return Number(s);
  }, 'number'),
  simple('uriComponent', 'Percent-encode for use inside a URL query (e.g. conditional references).', [
    { input: 'a b|c', output: 'a%20b%7Cc' },
  ], encodeURIComponent),
  simple('encodeUrl', 'Percent-encode what a URL cannot hold (spaces, non-ASCII, quotes) but keep ?, =, &, , and |. For conditional upserts use identifierSearch, which also escapes those inside the identifier.', [
    { input: 'Location?identifier=urn:x:loc|RCB:East Wing', output: 'Location?identifier=urn:x:loc|RCB:East%20Wing' },
    { input: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919', output: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919' },
  ], (s) => (URL_SAFE.test(s) ? s : encodeURI(s).replace(/%7C/g, '|'))),
  {
    name: 'identifierSearch',
    description: 'From [system, value]: `Type?identifier=system|value` for a conditional upsert (no type: `identifier=…` for ifNoneExist); a bundle entry\'s `$upsert` writes it for you. Commas, bars and backslashes in either part are escaped as FHIR search requires, and &, #, +, %, spaces and non-ASCII percent-encoded, so the search matches that one identifier.',
    usage: '{ identifierSearch: Patient }',
    args: Args([], [Type.String({ title: 'resourceType', pattern: '^[A-Z][A-Za-z]+$', description: 'FHIR resource type to search, e.g. Patient; leave out for `identifier=…` alone.' })]),
    returns: 'search text',
    examples: [
      { input: ['https://fhir.nhs.uk/Id/nhs-number', '9434765919'], args: ['Patient'], output: 'Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919' },
      { input: ['urn:x:ward', 'A&E'], args: ['Location'], output: 'Location?identifier=urn:x:ward|A%26E' },
      { input: ['urn:x:ward', '3,East|B'], args: ['Location'], output: 'Location?identifier=urn:x:ward|3%5C%2CEast%5C%7CB' },
      { input: ['urn:x:person', 'P 1'], args: [], output: 'identifier=urn:x:person|P%201' },
      { input: ['urn:x:person', ''], args: ['Patient'], output: undefined },
    ],
    bind(args) {
      const type = stringArg('identifierSearch', args, 0, true);
      if (type !== '' && !/^[A-Z][A-Za-z]+$/.test(type)) throw new Error(`function identifierSearch: "${type}" is not a resource type`);
      return (value) => {
        if (!Array.isArray(value) || value.length !== 2) throw new InvalidValueError('identifierSearch needs [system, value]');
        const system = text(value[0]);
        const id = text(value[1]);
        return system === undefined || id === undefined ? undefined : identifierSearch(system, id, type || undefined);
      };
    },
  },
  {
    name: 'prefix',
    description: 'Put constant text before a present value.',
    usage: '{ prefix: "Ward " }',
    args: Args([TextArg('text', 'Text to put before the value.')]),
    returns: 'text',
    examples: [{ input: 'OBS1', args: ['Ward '], output: 'Ward OBS1' }, { input: '', args: ['x'], output: undefined }],
    bind(args) {
      const p = stringArg('prefix', args, 0);
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : p + t;
      };
    },
  },
  {
    name: 'suffix',
    description: 'Put constant text after a present value.',
    usage: '{ suffix: " (temporary)" }',
    args: Args([TextArg('text', 'Text to put after the value.')]),
    returns: 'text',
    examples: [{ input: 'Bay 2', args: [' (temporary)'], output: 'Bay 2 (temporary)' }],
    bind(args) {
      const p = stringArg('suffix', args, 0);
      return (value) => {
        const t = text(value);
        return t === undefined ? undefined : t + p;
      };
    },
  },
  {
    name: 'substring',
    description: 'Characters from start (0-based) up to, not including, end.',
    usage: '{ substring: [0, 3] }',
    args: Args([Type.Integer({ title: 'start', description: 'First character, 0-based.' })], [Type.Integer({ title: 'end', description: 'Character to stop before (default: the end).' })]),
    returns: 'text',
    examples: [{ input: 'RCB55', args: [0, 3], output: 'RCB' }],
    bind(args) {
      const start = Number(args[0]);
      const end = args[1] === undefined ? undefined : Number(args[1]);
      if (!Number.isInteger(start) || (end !== undefined && !Number.isInteger(end))) throw new Error('function substring: arguments must be whole numbers');
      return (value) => text(value)?.slice(start, end) || undefined;
    },
  },
  {
    name: 'replaceText',
    description: 'Replace every occurrence of a literal text (no regular expressions).',
    usage: '{ replaceText: ["-", " "] }',
    args: Args([TextArg('from', 'Text to replace (not empty).')], [TextArg('to', 'Replacement (default: nothing).')]),
    returns: 'text',
    examples: [{ input: 'BAY2-6', args: ['-', ' '], output: 'BAY2 6' }],
    bind(args) {
      const from = stringArg('replaceText', args, 0);
      const to = stringArg('replaceText', args, 1, true);
      if (from === '') throw new Error('function replaceText: text to replace must not be empty');
      return (value) => text(value)?.split(from).join(to) || undefined;
    },
  },
  {
    name: 'join',
    description: 'Join the present texts of a list (e.g. from `$many` or `$list`) with a separator.',
    usage: '{ join: " " }',
    args: Args([], [TextArg('separator', 'Put between the texts (default: nothing).')]),
    returns: 'text',
    examples: [
      { input: ['RCB', '', 'OBS1', undefined, 'BAY2'], args: [' '], output: 'RCB OBS1 BAY2' },
      { input: [], args: ['-'], output: undefined },
    ],
    bind(args) {
      const sep = stringArg('join', args, 0, true);
      return (value) => {
        const list = Array.isArray(value) ? value : [value];
        const parts: string[] = [];
        for (const v of list) {
          const t = text(v);
          if (t !== undefined) parts.push(t);
        }
        return parts.length ? parts.join(sep) : undefined;
      };
    },
  },
];
