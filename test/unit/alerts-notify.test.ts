// Notifications against real local servers: a webhook that fails once is tried again and the
// alert arrives once; one that never answers times out; `tramline validate` reports alerts.yaml
// problems (bad fields, unknown channels) with the channel files'.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { postWebhook, type AlertNotice } from '../../server/alerts/notify.js';
import { builtInRules } from '../../server/alerts/rules.js';
import { validatePaths } from '../../server/cli/commands/validate.js';
import { formatProblem } from '../../channels/load.js';

let server: Server;
let url: string;
const received: { path: string; body: string }[] = [];
let failuresLeft = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      if (req.url === '/never') return; // never answers
      received.push({ path: req.url ?? '', body });
      if (failuresLeft-- > 0) return void res.writeHead(503).end();
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const notice = (): AlertNotice => {
  const at = new Date('2026-01-05T10:00:00Z');
  return { rule: builtInRules({})[0], transition: 'fired', state: { status: 'firing', since: at, summary: 'dead letters: adt-in.inbox 1' }, at };
};

describe('webhook', () => {
  test('a failed attempt is retried; the alert arrives as JSON', async () => {
    failuresLeft = 1;
    received.length = 0;
    await postWebhook(`${url}/hook`, notice(), { retryDelayMs: 10 });
    expect(received.map((r) => r.path)).toEqual(['/hook', '/hook']);
    expect(JSON.parse(received[1].body)).toMatchObject({ text: expect.stringContaining('FIRING: dead-letters'), alert: { rule: 'dead-letters', status: 'firing' } });
  });

  test('gives up after its tries, with the status', async () => {
    failuresLeft = 5;
    received.length = 0;
    await expect(postWebhook(`${url}/hook`, notice(), { retryDelayMs: 10, tries: 2 })).rejects.toThrow('webhook answered HTTP 503');
    expect(received).toHaveLength(2);
  });

  test('a receiver that never answers times out', async () => {
    const started = Date.now();
    await expect(postWebhook(`${url}/never`, notice(), { timeoutMs: 200, tries: 1 })).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('tramline validate and alerts.yaml', () => {
  test('problems in alerts.yaml and rules naming missing channels are reported with the channels’', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-alerts-'));
    mkdirSync(path.join(dir, 'channels'));
    writeFileSync(path.join(dir, 'channels', 'adt-in.yaml'), 'id: adt-in\nsource: { type: mllp, host: 127.0.0.1, port: 2575 }\ndestinations:\n  - { name: case-api, type: http, url: "http://127.0.0.1:1/adt" }\n');
    writeFileSync(path.join(dir, 'channels', 'alerts.yaml'), 'rules:\n  - name: a\n    when: dead-letters\n    channel: adt-out\n  - name: b\n    when: queue-depth\n    channel: adt-in\n    destination: inbox\n  - name: c\n    when: notices-overdue\n    channel: adt-in\n');
    const { problems, channels } = await validatePaths([path.join(dir, 'channels')]);
    expect(channels).toBe(1); // alerts.yaml is not taken for a channel
    expect(problems.map((p) => formatProblem(p).replace(dir, ''))).toEqual([
      '/channels/alerts.yaml:4:5 rules[0].channel: no channel "adt-out" (channels: adt-in)',
      '/channels/alerts.yaml:8:5 rules[1].destination: channel "adt-in" has no destination "inbox"',
      '/channels/alerts.yaml:11:5 rules[2].channel: channel "adt-in" takes no notices (it has no "notices" block)',
    ]);
    writeFileSync(path.join(dir, 'channels', 'alerts.yaml'), 'rules:\n  - name: a\n    when: dead-letters\n    forMinutes: 3\n');
    expect((await validatePaths([path.join(dir, 'channels', 'alerts.yaml')])).problems.map((p) => `${p.line} ${p.field}: ${p.message}`)).toEqual([
      '4 rules[0].forMinutes: does not apply to "when: dead-letters" (it reads: channel, destination, over)',
    ]);
  });
});
