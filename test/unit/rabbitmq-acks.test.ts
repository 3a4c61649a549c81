// Consumer acks in runs: which frames the batcher sends for deliveries finishing out of order.
import { describe, expect, test } from '@jest/globals';
import type { Message } from 'amqplib';
import { AckBatcher } from '../../adapters/queue/rabbitmq-acks.js';

function recorder() {
  const frames: string[] = [];
  const channel = {
    ack: (msg: Message, allUpTo?: boolean) => void frames.push(`${allUpTo ? 'ack≤' : 'ack '}${msg.fields.deliveryTag}`),
    nack: (msg: Message) => void frames.push(`nack ${msg.fields.deliveryTag}`),
  };
  return { frames, channel };
}

const delivery = (tag: number) => ({ fields: { deliveryTag: tag } }) as Message;
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe('consumer acks in runs', () => {
  test('deliveries finished in one turn go as one multiple ack up to the last of the run', async () => {
    const { frames, channel } = recorder();
    const acks = new AckBatcher(channel);
    const msgs = [1, 2, 3, 4].map(delivery);
    msgs.forEach((m) => acks.received(m));
    [msgs[2], msgs[0], msgs[1], msgs[3]].forEach((m) => acks.ack(m));
    expect(frames).toEqual([]);
    await nextTurn();
    expect(frames).toEqual(['ack≤4']);
  });

  test('a delivery behind an unfinished one waits; flush acks it on its own; the run later skips it', async () => {
    const { frames, channel } = recorder();
    const acks = new AckBatcher(channel, 60_000);
    const msgs = [1, 2, 3, 4].map(delivery);
    msgs.forEach((m) => acks.received(m));
    acks.ack(msgs[0]);
    acks.ack(msgs[2]);
    await nextTurn();
    expect(frames).toEqual(['ack 1']);
    acks.flush();
    expect(frames).toEqual(['ack 1', 'ack 3']);
    acks.ack(msgs[3]);
    acks.ack(msgs[1]);
    await nextTurn();
    // 3 is settled already: the multiple ack names 4 and covers 2.
    expect(frames).toEqual(['ack 1', 'ack 3', 'ack≤4']);
  });

  test('a rejected delivery is nacked at once and never named by a multiple ack', async () => {
    const { frames, channel } = recorder();
    const acks = new AckBatcher(channel);
    const msgs = [1, 2, 3].map(delivery);
    msgs.forEach((m) => acks.received(m));
    acks.ack(msgs[0]);
    acks.reject(msgs[2]);
    expect(frames).toEqual(['nack 3']);
    acks.ack(msgs[1]);
    await nextTurn();
    expect(frames).toEqual(['nack 3', 'ack≤2']);
  });

  test('after the channel is gone nothing more is sent', async () => {
    const { frames, channel } = recorder();
    const acks = new AckBatcher(channel);
    const msg = delivery(1);
    acks.received(msg);
    acks.ack(msg);
    acks.discard();
    await nextTurn();
    acks.flush();
    expect(frames).toEqual([]);
  });
});
