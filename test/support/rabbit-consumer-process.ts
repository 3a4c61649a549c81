// A stand-alone engine process for crash tests: consumes one destination and reports every
// delivery on stdout (`seen <messageId> <seq> <time>`) before acking it, so a parent can kill -9
// it at any moment and still know what it handled. Pipes to a parent are synchronous on Linux.
import { RabbitQueue } from '../../adapters/queue/rabbitmq.js';

const url = process.env.RABBIT_URL as string;
const prefix = process.env.RABBIT_PREFIX as string;
const destination = process.env.RABBIT_DESTINATION as string;

const queue = new RabbitQueue({ url, prefix, partitions: 8, rebalanceIntervalMs: 100 });
await queue.start([{ destination, bindings: ['#'], concurrency: 16 }]);
await queue.consume(destination, async (d) => {
  process.stdout.write(`seen ${d.envelope.messageId} ${d.envelope.headers.seq} ${performance.timeOrigin + performance.now()}\n`);
  await new Promise((resolve) => setTimeout(resolve, 1));
  return { kind: 'done' };
});
setInterval(() => process.stdout.write(`owned ${queue.ownedPartitions(destination).length}\n`), 50);
