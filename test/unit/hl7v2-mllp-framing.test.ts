import { describe, expect, test } from '@jest/globals';
import { MllpDecoder, encodeFrame, type FrameEvent } from '../../adapters/mllp/framing.js';

const a = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|C1|P|2.4\rPID|1||9434765919';
const b = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A08|C2|P|2.4\rPID|1||9449305552';

function feed(decoder: MllpDecoder, chunks: Buffer[]): FrameEvent[] {
  return chunks.flatMap((c) => decoder.push(c));
}
function frames(events: FrameEvent[]): string[] {
  return events.flatMap((e) => (e.type === 'frame' ? [e.payload.toString('utf8')] : []));
}
function splitEvery(buf: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += n) out.push(buf.subarray(i, i + n));
  return out;
}

describe('MLLP framing', () => {
  const stream = Buffer.concat([encodeFrame(a), encodeFrame(b)]);

  test('encodeFrame', () => {
    expect([...encodeFrame('x')]).toEqual([0x0b, 0x78, 0x1c, 0x0d]);
  });

  test.each([1, 2, 3, 7, 64, stream.length])('split into %i-byte chunks', (n) => {
    const events = feed(new MllpDecoder({ maxFrameBytes: 1000 }), splitEvery(stream, n));
    expect(frames(events)).toEqual([a, b]);
    expect(events.filter((e) => e.type === 'junk')).toEqual([]);
  });

  test('chunk boundary between FS and CR', () => {
    const d = new MllpDecoder({ maxFrameBytes: 1000 });
    const one = encodeFrame(a);
    expect(frames(d.push(one.subarray(0, one.length - 1)))).toEqual([a]);
    expect(d.push(Buffer.concat([one.subarray(one.length - 1), encodeFrame(b)]))).toEqual([{ type: 'frame', payload: Buffer.from(b) }]);
  });

  test('junk between and around frames is skipped and reported', () => {
    const d = new MllpDecoder({ maxFrameBytes: 1000 });
    const events = d.push(Buffer.concat([Buffer.from('\r\nnoise'), encodeFrame(a), Buffer.from('xx'), encodeFrame(b), Buffer.from('tail')]));
    expect(frames(events)).toEqual([a, b]);
    expect(events.filter((e) => e.type === 'junk').map((e) => (e as { bytes: number }).bytes)).toEqual([7, 2, 4]);
  });

  test('FS without CR is accepted', () => {
    const d = new MllpDecoder({ maxFrameBytes: 1000 });
    const events = d.push(Buffer.concat([Buffer.from([0x0b]), Buffer.from(a), Buffer.from([0x1c]), encodeFrame(b)]));
    expect(frames(events)).toEqual([a, b]);
  });

  test('a new start block inside a frame drops the truncated frame', () => {
    const d = new MllpDecoder({ maxFrameBytes: 1000 });
    const events = feed(d, [Buffer.concat([Buffer.from([0x0b]), Buffer.from('MSH|trunc')]), encodeFrame(b)]);
    expect(frames(events)).toEqual([b]);
    expect(events[0]).toEqual({ type: 'junk', bytes: 10, reason: 'truncated-frame' });
  });

  test('oversize frame: reported once with a bounded prefix, rest discarded, next frame fine', () => {
    const big = 'MSH|^~\\&|A|B|C|D|20260101||ADT^A01|BIG1|P|2.4\r' + 'NTE|1||' + 'x'.repeat(5000);
    const d = new MllpDecoder({ maxFrameBytes: 1000, oversizePrefixBytes: 100 });
    const events = feed(d, splitEvery(Buffer.concat([encodeFrame(big), encodeFrame(a)]), 300));
    expect(events.map((e) => e.type)).toEqual(['oversize', 'frame']);
    const over = events[0] as { prefix: Buffer; limit: number };
    expect(over.prefix.toString()).toBe(big.slice(0, 100));
    expect(over.limit).toBe(1000);
    expect(frames(events)).toEqual([a]);
    expect(d.buffered).toBe(0);
  });

  test('buffered memory never exceeds the limit while discarding', () => {
    const d = new MllpDecoder({ maxFrameBytes: 500 });
    d.push(Buffer.from([0x0b]));
    for (let i = 0; i < 100; i++) {
      d.push(Buffer.alloc(1000, 0x41));
      expect(d.buffered).toBeLessThanOrEqual(500);
    }
    expect(d.inFrame).toBe(true);
    expect(frames(d.push(Buffer.concat([Buffer.from([0x1c, 0x0d]), encodeFrame(a)])))).toEqual([a]);
  });

  test('exactly at the limit is accepted', () => {
    const d = new MllpDecoder({ maxFrameBytes: Buffer.byteLength(a) });
    expect(frames(d.push(encodeFrame(a)))).toEqual([a]);
  });
});
