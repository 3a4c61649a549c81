// A destination's own mapping: an HL7 v2 channel can give one destination the message as it
// came and another its FHIR Bundle (channels/destination-map.ts), and the channel checks say
// where such a map cannot work.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from '@jest/globals';
import type { Bundle } from 'fhir/r4.js';
import { destinationMapper } from '../../channels/destination-map.js';
import { loadChannelText } from '../../channels/load.js';
import { channelMappings } from '../../channels/mapping-refs.js';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';

const A01 = readFileSync('channels/examples/messages/adt-a01.hl7', 'utf8');
const envelope = (body: string): Envelope => ({ messageId: 'm1', channel: 'c', routingKey: 'c.hl7v2.ADT.A01.RXL', partitionKey: 'p', body, headers: { kind: 'hl7v2', controlId: 'DEMO000001' } });

function channel(yaml: string) {
  const { channel: c, problems } = loadChannelText(yaml, 'test.yaml', {});
  expect(problems).toEqual([]);
  return c!;
}

describe('destination map', () => {
  it('maps the HL7 message to a FHIR transaction Bundle, other headers kept', () => {
    const mapped = destinationMapper('hl7v2-adt-to-fhir')(envelope(A01));
    const bundle = JSON.parse(mapped.body) as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(bundle.entry?.some((e) => e.resource?.resourceType === 'Encounter')).toBe(true);
    expect(mapped.headers).toEqual({ kind: 'bundle', controlId: 'DEMO000001' });
    expect(mapped.messageId).toBe('m1');
  });

  it('a message that does not map is a permanent delivery failure with a content-free reason', () => {
    const noIdentifier = readFileSync('mappings/hl7v2/cases/error-no-identifier.hl7', 'utf8');
    let err: unknown;
    try {
      destinationMapper('hl7v2-adt-to-fhir')(envelope(noIdentifier));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/^message could not be mapped with hl7v2-adt-to-fhir: \w+Error$/);
  });

  it('the example ADT channel maps for its fhir destination only', () => {
    const c = channel(readFileSync('channels/examples/adt-to-case-system.yaml', 'utf8'));
    expect(c.pipeline?.map).toBeUndefined();
    expect(c.destinations.map((d) => [d.type, d.map])).toEqual([
      ['case-inbox', undefined],
      ['fhir', 'hl7v2-adt-to-fhir'],
    ]);
    expect(channelMappings([c]).problems).toEqual([]);
  });

  it('is refused on record channels, beside pipeline.map, and when the mapping does not exist', () => {
    const record = channel('id: r\nsource: { type: file, directory: /tmp/x }\npipeline: { recordFormat: cld, map: social-care-cld-to-fhir }\ndestinations:\n  - { name: a, type: fhir, map: hl7v2-adt-to-fhir }\n');
    const twice = channel('id: t\nsource: { type: mllp, port: 0 }\npipeline: { map: hl7v2-adt-to-fhir }\ndestinations:\n  - { name: a, type: fhir, map: hl7v2-adt-to-fhir }\n');
    const missing = channel('id: m\nsource: { type: mllp, port: 0 }\ndestinations:\n  - { name: a, type: fhir, map: no-such-mapping }\n');
    expect(channelMappings([record, twice, missing]).problems.map((p) => [p.field, p.message])).toEqual([
      ['destinations[0].map', 'a destination map is for HL7 v2 (mllp) channels; record channels use pipeline.map'],
      ['destinations[0].map', 'the channel already maps every message (pipeline.map): a destination map would get the mapped Bundle'],
      ['destinations[0].map', 'no mapping with id or path "no-such-mapping"'],
    ]);
  });
});
