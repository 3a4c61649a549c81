// The viewer data's small parts that need no server: person ids, what is withheld, ages and
// names, and the options the engine builds from its channels and content key.
import crypto from 'node:crypto';
import { describe, expect, it } from '@jest/globals';
import type { FhirResource } from 'fhir/r4.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import { loadChannelText } from '../../channels/load.js';
import { ConfigError } from '../../core/errors.js';
import { ageAt } from '../../server/viewer/assemble.js';
import { lpresAuthOf, personIdKeyOf, viewerOptionsForEngine } from '../../server/viewer/engine-options.js';
import { addressLine, patientNameText, referenceKey } from '../../server/viewer/fhir-values.js';
import { PersonIds } from '../../server/viewer/person-id.js';
import { isWithheld } from '../../server/viewer/withheld.js';

describe('person ids', () => {
  const ids = new PersonIds(crypto.randomBytes(32));

  it('seal and open the Patient ids, whatever their order; the same person gets the same id', () => {
    const id = ids.seal(['b-2', 'a-1']);
    expect(ids.open(id)).toEqual(['a-1', 'b-2']);
    expect(ids.seal(['a-1', 'b-2'])).toBe(id);
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(id).not.toContain('a-1');
  });

  it('a changed, foreign or malformed id opens to nothing', () => {
    const id = ids.seal(['9434765919']);
    expect(id).not.toContain('9434765919');
    const flipped = id.slice(0, 20) + (id[20] === 'A' ? 'B' : 'A') + id.slice(21);
    expect(ids.open(flipped)).toBeUndefined();
    expect(new PersonIds(crypto.randomBytes(32)).open(id)).toBeUndefined();
    expect(ids.open('short')).toBeUndefined();
    expect(ids.open('x'.repeat(60))).toBeUndefined();
    expect(() => new PersonIds(Buffer.alloc(16))).toThrow(RangeError);
  });
});

describe('withheld', () => {
  const flag = (extra: object): FhirResource => ({ resourceType: 'Flag', status: 'active', code: {}, subject: {}, ...extra }) as FhirResource;
  it('restricted (R, V) and retracted resources; normal (N) and unmarked ones are shown', () => {
    const security = (code: string) => ({ meta: { security: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-Confidentiality', code }] } });
    expect(isWithheld(flag(security('R')))).toBe(true);
    expect(isWithheld(flag(security('V')))).toBe(true);
    expect(isWithheld(flag(security('N')))).toBe(false);
    expect(isWithheld(flag({ meta: { security: [{ system: 'http://example.org/other', code: 'R' }] } }))).toBe(false);
    expect(isWithheld(flag({ status: 'entered-in-error' }))).toBe(true);
    expect(isWithheld({ resourceType: 'Condition', subject: {}, verificationStatus: { coding: [{ code: 'entered-in-error' }] } } as FhirResource)).toBe(true);
    expect(isWithheld(flag({}))).toBe(false);
  });
});

describe('values', () => {
  it('age in whole years, at a date or an instant; none for a partial birth date', () => {
    expect(ageAt('1978-03-12', '2026-03-11')).toBe(47);
    expect(ageAt('1978-03-12', '2026-03-12')).toBe(48);
    expect(ageAt('1980-02-29', '2025-02-28T23:00:00Z')).toBe(44);
    expect(ageAt('1978', '2026-03-12')).toBeUndefined();
  });

  it('patient names as banners show them; addresses on one line; references by type and id', () => {
    expect(patientNameText([{ use: 'official', family: 'ELLIS', given: ['ANNA', 'MARIE'], prefix: ['MRS'] }, { use: 'nickname', text: 'Annie' }])).toBe('ELLIS, Anna Marie (Mrs)');
    expect(patientNameText([{ family: "O'Neill-Smith", given: ['Seán'] }])).toBe("O'NEILL-SMITH, Seán");
    expect(patientNameText([{ text: 'Sam' }])).toBe('Sam');
    expect(patientNameText(undefined)).toBeUndefined();
    expect(addressLine({ line: ['12 Orchard Road'], city: 'Leeds', postalCode: 'ls62ab' })).toBe('12 Orchard Road, Leeds, LS6 2AB');
    expect(referenceKey({ reference: 'https://lpres.example/fhir/Organization/o1/_history/3' })).toBe('Organization/o1');
    expect(referenceKey({ reference: 'Patient?identifier=x|y' })).toBeUndefined();
  });
});

describe('engine options', () => {
  const channel = (destinations: string) =>
    loadChannelText(`id: c${crypto.randomInt(1e6)}\nsource: { type: mllp, port: 0 }\ndestinations:\n${destinations}`, 'c.yaml', {}).channel!;

  it("reads with the auth of the fhir destinations that post to TRAMLINE_LPRES_URL, asking SMART for a read scope", () => {
    const smart = "  - { name: l, type: fhir, auth: { type: smart-backend, tokenUrl: 'https://auth.example/token', clientId: tramline, privateKeyFile: /k.pem } }\n";
    expect(lpresAuthOf([channel(smart)])).toMatchObject({ type: 'smart-backend', clientId: 'tramline', scope: 'system/*.read' });
    expect(lpresAuthOf([channel("  - { name: l, type: fhir, url: 'https://other.example/fhir', auth: { type: bearer, tokenEnv: X } }\n")])).toEqual({ type: 'none' });
    expect(lpresAuthOf([])).toEqual({ type: 'none' });
    const bearer = channel('  - { name: l, type: fhir, auth: { type: bearer, tokenEnv: LPRES_TOKEN } }\n');
    expect(lpresAuthOf([bearer, channel('  - { name: l, type: fhir, auth: { type: bearer, tokenEnv: LPRES_TOKEN } }\n')])).toEqual({ type: 'bearer', tokenEnv: 'LPRES_TOKEN' });
    expect(() => lpresAuthOf([bearer, channel(smart)])).toThrow(ConfigError);
  });

  it('a person id key derived from the content key: stable for the key, never the key', () => {
    const keys = parseContentKeys(crypto.randomBytes(32).toString('base64'));
    expect(personIdKeyOf(keys)).toEqual(personIdKeyOf(keys));
    expect(personIdKeyOf(keys)).toHaveLength(32);
    expect(personIdKeyOf(keys).equals(keys.keys.get(keys.currentId)!)).toBe(false);
    expect(viewerOptionsForEngine({ channels: [], keys })).toEqual({ auth: { type: 'none' }, personIdKey: personIdKeyOf(keys) });
  });
});
