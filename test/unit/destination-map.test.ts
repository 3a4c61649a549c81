// A destination's own mapping: an HL7 v2 channel can give one destination the message as it
// came and another its FHIR Bundle (channels/destination-map.ts), and the channel checks say
// where such a map cannot work.
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from '@jest/globals';
import type { Bundle } from 'fhir/r4.js';
import { destinationMapper } from '../../channels/destination-map.js';
import { loadChannelText } from '../../channels/load.js';
import { channelMappings } from '../../channels/mapping-refs.js';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import { createBundleMapper } from '../../mappings/map-pool.js';

const A01 = readFileSync('channels/examples/messages/adt-a01.hl7', 'utf8');
const envelope = (body: string): Envelope => ({ messageId: 'm1', channel: 'c', routingKey: 'c.hl7v2.ADT.A01.RXL', partitionKey: 'p', body, headers: { kind: 'hl7v2', controlId: 'DEMO000001' } });

function channel(yaml: string) {
  const { channel: c, problems } = loadChannelText(yaml, 'test.yaml', {});
  expect(problems).toEqual([]);
  return c!;
}

describe('destination map', () => {
  // The same mapping on the calling thread and in a worker thread (the engine's default).
  const inline = createBundleMapper(0);
  const pooled = createBundleMapper(1);
  afterAll(() => pooled.close());

  it.each([
    ['the main thread', inline],
    ['a worker thread', pooled],
  ])('maps the HL7 message to a FHIR transaction Bundle on %s, other headers kept', async (_where, mapper) => {
    const mapped = await destinationMapper('hl7v2-adt-to-fhir', mapper)(envelope(A01));
    const bundle = JSON.parse(mapped.body) as Bundle;
    expect(bundle).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(bundle.entry?.some((e) => e.resource?.resourceType === 'Encounter')).toBe(true);
    expect(mapped.headers).toEqual({ kind: 'bundle', controlId: 'DEMO000001' });
    expect(mapped.messageId).toBe('m1');
  });

  it('a worker thread gives byte for byte the Bundle the main thread gives', async () => {
    const onMain = await inline.bundleJson(A01, 'hl7v2-adt-to-fhir');
    expect(await pooled.bundleJson(A01, 'hl7v2-adt-to-fhir')).toBe(onMain);
  });

  it.each([
    ['the main thread', inline],
    ['a worker thread', pooled],
  ])('a message that does not map is a permanent delivery failure with a content-free reason (%s)', async (_where, mapper) => {
    const noIdentifier = readFileSync('mappings/hl7v2/cases/error-no-identifier.hl7', 'utf8');
    const err = await destinationMapper('hl7v2-adt-to-fhir', mapper)(envelope(noIdentifier)).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).retryable).toBe(false);
    expect((err as Error).message).toMatch(/^message could not be mapped with hl7v2-adt-to-fhir: \w+Error$/);
  });

  it('the same failure kind from either thread', async () => {
    const notHl7 = 'this is not an HL7 message';
    const kindOf = (mapper: typeof inline) => mapper.bundleJson(notHl7, 'hl7v2-adt-to-fhir').then(() => 'mapped', (e: { kind?: string }) => e.kind);
    expect(await kindOf(pooled)).toBe(await kindOf(inline));
    expect(await kindOf(inline)).toBe('ParseError');
  });

  it('many messages at once over two threads: each caller gets its own message\'s Bundle', async () => {
    const two = createBundleMapper(2);
    try {
      // Forty people: the local patient number and family name differ in each.
      const texts = Array.from({ length: 40 }, (_, i) => A01.replace('RXL0000123', `RXL${String(i).padStart(7, '0')}`).replace('EXAMPLE^SAM', `EXAMPLE${i}^SAM`));
      const pooledBodies = await Promise.all(texts.map((t) => two.bundleJson(t, 'hl7v2-adt-to-fhir')));
      const inlineBodies = await Promise.all(texts.map((t) => inline.bundleJson(t, 'hl7v2-adt-to-fhir')));
      expect(pooledBodies).toEqual(inlineBodies);
      expect(new Set(pooledBodies).size).toBe(texts.length);
    } finally {
      await two.close();
    }
  });

  it('work caught by close, and work after it, fails as retryable (not the message\'s fault)', async () => {
    const closing = createBundleMapper(1);
    await closing.bundleJson(A01, 'hl7v2-adt-to-fhir');
    const inFlight = closing.bundleJson(A01, 'hl7v2-adt-to-fhir').then(
      () => 'mapped',
      (e: unknown) => e,
    );
    await closing.close();
    const caught = await inFlight;
    // Either it finished before the thread stopped, or it failed as retryable.
    if (caught !== 'mapped') expect(caught).toMatchObject({ kind: 'DeliveryError', retryable: true });
    await expect(closing.bundleJson(A01, 'hl7v2-adt-to-fhir')).rejects.toMatchObject({ kind: 'DeliveryError', retryable: true });
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
