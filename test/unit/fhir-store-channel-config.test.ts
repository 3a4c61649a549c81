// `type: fhir` destination blocks in channel files: defaults, each auth form, and mistakes
// reported like every other channel problem. (Named fhir-store-* to sit with the sandbox tests.)
import { describe, expect, test } from '@jest/globals';
import { createDestination } from '../../channels/construct.js';
import { FhirDestination, maskNumbers } from '../../adapters/fhir/index.js';
import { loadChannelText } from '../../channels/load.js';

const channel = (destination: string) => `id: social-care-out
source:
  type: mllp
  port: 2602
destinations:
${destination}`;

describe('fhir destination blocks', () => {
  test('loads with defaults: no url (LPRES or the sandbox), no auth, 30 s timeout', () => {
    const { channel: c, problems } = loadChannelText(channel(`  - name: lpres\n    type: fhir\n`), 'ok.yaml');
    expect(problems).toEqual([]);
    expect(c!.destinations[0]).toMatchObject({ name: 'lpres', type: 'fhir', auth: { type: 'none' }, timeoutMs: 30000 });
    expect(createDestination(c!.destinations[0])).toBeInstanceOf(FhirDestination);
  });

  test('each auth form loads; smart-backend gets its defaults', () => {
    const { channel: c, problems } = loadChannelText(
      channel(`  - name: a
    type: fhir
    url: https://lpres.example.nhs.uk/fhir/R4
    auth: { type: bearer, tokenEnv: LPRES_TOKEN }
  - name: b
    type: fhir
    auth: { type: oauth2-client-credentials, tokenUrl: https://auth.example.nhs.uk/token, clientId: tramline, clientSecretEnv: LPRES_SECRET }
  - name: c
    type: fhir
    auth: { type: smart-backend, tokenUrl: https://auth.example.nhs.uk/token, clientId: tramline, privateKeyFile: /run/secrets/lpres.pem }
`),
      'auth.yaml',
    );
    expect(problems).toEqual([]);
    const [, b, smart] = c!.destinations;
    expect(b).toMatchObject({ auth: { clientAuthentication: 'basic' } });
    expect(smart).toMatchObject({ auth: { algorithm: 'RS384', scope: 'system/*.write' } });
  });

  test('mistakes are reported with the field', () => {
    const bad = loadChannelText(
      channel(`  - name: a
    type: fhir
    url: ftp://nope
    auth: { type: smart-backend, tokenUrl: https://auth.example.nhs.uk/token, clientId: tramline, algorithm: HS256 }
`),
      'bad.yaml',
    );
    const text = bad.problems.map((p) => `${p.field}: ${p.message}`).join('\n');
    expect(text).toMatch(/url/);
    expect(text).toMatch(/algorithm/);
    expect(loadChannelText(channel(`  - name: a\n    type: fhir\n    auth: { type: bearer, token: abc }\n`), 'secret.yaml').problems.length).toBeGreaterThan(0);
  });
});

test('reasons mask long digit runs a remote server may quote', () => {
  expect(maskNumbers('HTTP 422 (invalid: NHS number 943 476 5919 fails check; born 1950-01-31; HTTP 422)')).toBe('HTTP 422 (invalid: NHS number # fails check; born #; HTTP 422)');
  expect(maskNumbers('entry[12].resource/status: must be one of a, b')).toBe('entry[12].resource/status: must be one of a, b');
});
