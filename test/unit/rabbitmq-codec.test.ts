import { describe, expect, test } from '@jest/globals';
import { decodeMessage, encodeEnvelope, HEADER, MalformedMessageError, partitionOf } from '../../adapters/queue/rabbitmq-codec.js';
import { delayLevelFor } from '../../adapters/queue/rabbitmq-topology.js';
import type { Envelope } from '../../core/queue.js';

const envelope: Envelope = {
  messageId: 'msg-1',
  channel: 'adt-in',
  routingKey: 'hl7v2.ADT.A01.RCB',
  partitionKey: '9434765919',
  body: 'PID|||9434765919^^^NHS||Test^Ñame',
  headers: { messageType: 'ADT', triggerEvent: 'A01' },
};

describe('rabbitmq codec', () => {
  test('partitionOf is stable (every engine must agree) and spreads keys', () => {
    expect(partitionOf('9434765919', 8)).toBe(partitionOf('9434765919', 8));
    // FNV-1a of "a" is 0xe40c292c.
    expect(partitionOf('a', 1000)).toBe(0xe40c292c % 1000);
    const counts = new Array(8).fill(0);
    for (let i = 0; i < 8000; i++) counts[partitionOf(`patient-${i}`, 8)]++;
    for (const n of counts) expect(n).toBeGreaterThan(800);
  });

  test('encode then decode gives the envelope back, attempt from header plus lost deliveries', () => {
    const { content, options } = encodeEnvelope(envelope, 8, 2);
    expect(options.persistent).toBe(true);
    expect(options.messageId).toBe('msg-1');
    expect(options.headers?.[HEADER.partition]).toBe(String(partitionOf('9434765919', 8)));
    const decoded = decodeMessage({ content, fields: { routingKey: 'ignored' }, properties: { messageId: options.messageId, headers: options.headers } });
    expect(decoded).toEqual({ envelope, attempt: 2 });
    const redelivered = decodeMessage({ content, fields: { routingKey: '' }, properties: { messageId: 'msg-1', headers: { ...options.headers, 'x-delivery-count': 2 } } });
    expect(redelivered.attempt).toBe(4);
  });

  test('header values that arrive as Buffers are read as text', () => {
    const { content, options } = encodeEnvelope(envelope, 8);
    const headers = Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k, typeof v === 'string' ? Buffer.from(v) : v]));
    expect(decodeMessage({ content, fields: { routingKey: '' }, properties: { messageId: 'msg-1', headers } }).envelope).toEqual(envelope);
  });

  test.each([
    ['no message id', { headers: { [HEADER.channel]: 'c', [HEADER.partitionKey]: 'k' } }],
    ['no channel', { messageId: 'm', headers: { [HEADER.partitionKey]: 'k' } }],
    ['headers not JSON', { messageId: 'm', headers: { [HEADER.channel]: 'c', [HEADER.partitionKey]: 'k', [HEADER.headers]: '{' } }],
  ])('rejects a foreign message: %s', (_label, properties) => {
    expect(() => decodeMessage({ content: Buffer.from('x'), fields: { routingKey: 'r' }, properties })).toThrow(MalformedMessageError);
  });

  test.each([
    [50, 100],
    [100, 100],
    [101, 400],
    [5000, 400],
  ])('delay %i ms waits in the %i ms queue', (delay, level) => {
    expect(delayLevelFor(delay, [100, 400])).toBe(level);
  });
});
