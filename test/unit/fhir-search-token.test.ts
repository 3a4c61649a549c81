// Conditional upsert URLs: identifiers holding characters that mean something in a query
// (& # + % = space) or in FHIR search (, | \ $) survive the trip to the server unchanged.
import { describe, expect, it } from '@jest/globals';
import { identifierSearch, parseSearchToken, splitSearchValues, unescapeSearchValue } from '../../adapters/fhir/search-token.js';

const AWKWARD = ['A&E', '3,East', 'x|y', 'C+D', 'a b', '50%', 'a=b', '#1', 'back\\slash', 'trail\\', '$cost', 'Zoë', 'urn:x:1/2@3', ''];

describe('identifierSearch', () => {
  it('leaves plain identifiers readable', () => {
    expect(identifierSearch('https://fhir.nhs.uk/Id/nhs-number', '9434765919', 'Patient')).toBe('Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919');
    expect(identifierSearch('urn:x', 'A-1.2_3~', undefined)).toBe('identifier=urn:x|A-1.2_3~');
  });

  it.each(AWKWARD.filter((v) => v !== ''))('round-trips %j through a query string as one token', (value) => {
    const url = identifierSearch('urn:x:ward', value, 'Location');
    const query = new URLSearchParams(url.slice(url.indexOf('?') + 1));
    expect([...query.keys()]).toEqual(['identifier']);
    const values = splitSearchValues(query.get('identifier')!);
    expect(values).toHaveLength(1);
    expect(parseSearchToken(values[0])).toEqual({ system: 'urn:x:ward', value });
  });
});

describe('reading search values', () => {
  it('splits on unescaped commas only and unescapes afterwards', () => {
    expect(splitSearchValues('a,b\\,c,,d\\\\,e')).toEqual(['a', 'b\\,c', 'd\\\\', 'e']);
    expect(splitSearchValues('a,b\\,c').map(unescapeSearchValue)).toEqual(['a', 'b,c']);
  });

  it('parses system|value, |value, system| and value', () => {
    expect(parseSearchToken('s|v')).toEqual({ system: 's', value: 'v' });
    expect(parseSearchToken('s\\|t|v\\|w')).toEqual({ system: 's|t', value: 'v|w' });
    expect(parseSearchToken('|v')).toEqual({ system: '', value: 'v' });
    expect(parseSearchToken('s|')).toEqual({ system: 's' });
    expect(parseSearchToken('v')).toEqual({ value: 'v' });
  });
});
