// A real incoming-webhook receiver for the alert tests: every JSON POST it gets is kept, in order.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface WebhookReceiver<T> {
  /** The bodies received so far. */
  readonly received: T[];
  /** A URL of this receiver; its path stands for the secret part of a real incoming webhook. */
  url: string;
  close(): Promise<void>;
}

export async function startWebhookReceiver<T>(): Promise<WebhookReceiver<T>> {
  const received: T[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      received.push(JSON.parse(body) as T);
      res.writeHead(200).end('ok');
    });
  });
  const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
  return { received, url: `http://127.0.0.1:${port}/hooks/secret-part`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
