// Guard for adapters/queue/amqplib-internals.ts: fails on an amqplib upgrade that changes the
// private members the frame coalescing relies on, naming the release it was checked with.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import amqp, { type ChannelModel } from 'amqplib';
import { AMQPLIB_CHECKED, amqplibInternalsMismatch, coalesceFrameWrites } from '../../adapters/queue/amqplib-internals.js';
import { createTestVhost, type TestVhost } from '../support/rabbit.js';

const require = createRequire(import.meta.url);
const installed = (JSON.parse(readFileSync(path.join(path.dirname(require.resolve('amqplib')), 'package.json'), 'utf8')) as { version: string }).version;

let vhost: TestVhost;
let model: ChannelModel;

beforeAll(async () => {
  vhost = await createTestVhost('amqplib-internals');
  model = await amqp.connect(vhost.url);
});

afterAll(async () => {
  await model?.close();
  await vhost?.remove();
});

describe('amqplib private members used by coalesceFrameWrites()', () => {
  test('are as in the amqplib release the module was checked with', () => {
    const mismatch = amqplibInternalsMismatch(model);
    if (mismatch !== undefined) {
      throw new Error(
        `amqplib ${installed} changed the internals adapters/queue/amqplib-internals.ts relies on (checked with amqplib ${AMQPLIB_CHECKED}): ${mismatch}. ` +
          'Re-check lib/mux.js and lib/connection.js, then update or remove the frame coalescing and ARCHITECTURE.md.',
      );
    }
    expect(coalesceFrameWrites(model)).toBe(true);
  });

  test('every frame the multiplexer writes goes out while the socket is corked, and all arrive', async () => {
    const own = await amqp.connect(vhost.url);
    try {
      expect(coalesceFrameWrites(own)).toBe(true);
      await expectFramesCorked(own);
    } finally {
      await own.close();
    }
  });
});

async function expectFramesCorked(model: ChannelModel): Promise<void> {
    const stream = (model as unknown as { connection: { stream: NodeJS.WritableStream & { writableCorked: number } } }).connection.stream;
    const channel = await model.createConfirmChannel();
    const queue = vhost.prefix('coalesce');
    await channel.assertQueue(queue, { exclusive: true });
    const write = stream.write.bind(stream) as (...args: unknown[]) => boolean;
    let writes = 0;
    let corked = 0;
    stream.write = ((...args: unknown[]) => {
      writes++;
      if (stream.writableCorked > 0) corked++;
      return write(...args);
    }) as typeof stream.write;
    try {
      for (let i = 0; i < 50; i++) channel.sendToQueue(queue, Buffer.from(`m${i}`));
      await channel.waitForConfirms();
    } finally {
      stream.write = write as typeof stream.write;
    }
    expect(writes).toBeGreaterThan(0);
    expect(corked).toBe(writes);
    expect((await channel.checkQueue(queue)).messageCount).toBe(50);
    await channel.close();
}
