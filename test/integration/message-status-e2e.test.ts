// Issue 14 item 13, end to end through a real engine process: a message sent over MLLP and
// delivered is `sent` for `tramline messages list --status sent`, `messages show` lists each
// step, and a message whose destination gives up is `dead-lettered` — with the embedded queue
// on SQLite and with RabbitMQ on PostgreSQL.
import { afterAll, describe, expect, it } from '@jest/globals';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { dropPg, uniquePgUrl } from '../support/db.js';
import { eventually, freePort, killAllEngines, prepareEngine, runCli, startEngine, type EngineEnv } from '../support/engine.js';
import { adt } from '../support/hl7.js';
import { createTestVhost, type TestVhost } from '../support/rabbit.js';

interface Listed {
  id: string;
  controlId?: string;
  status: string;
}

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  await killAllEngines();
  for (const c of cleanups) await c();
});

/** A01s go to the case inbox; A08s to an HTTP endpoint nobody listens on, given up after one try. */
async function channelYaml(port: number, caseDbUrl: string): Promise<string> {
  const deadPort = await freePort();
  return `id: adt-in
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: inbox
    type: case-inbox
    database: ${caseDbUrl}
    routes: [hl7v2.ADT.A01.#]
  - name: nowhere
    type: http
    url: http://127.0.0.1:${deadPort}/x
    routes: [hl7v2.ADT.A08.#]
    retry: { maxAttempts: 1 }
`;
}

async function cli(e: EngineEnv, ...args: string[]): Promise<string> {
  const r = await runCli(args, e.env, e.dir);
  if (r.code !== 0) throw new Error(`tramline ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

async function listed(e: EngineEnv, status: string): Promise<Listed[]> {
  return JSON.parse(await cli(e, 'messages', 'list', '--status', status, '--json')) as Listed[];
}

async function checkStatuses(e: EngineEnv): Promise<void> {
  await startEngine(e);
  const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20000 });
  try {
    expect(parseAckCode(await client.send(adt({ controlId: 'OK-1', event: 'A01' }))).code).toBe('AA');
    expect(parseAckCode(await client.send(adt({ controlId: 'DEAD-1', event: 'A08' }))).code).toBe('AA');
  } finally {
    await client.close();
  }

  const sent = await eventually(async () => (await listed(e, 'sent')).find((m) => m.controlId === 'OK-1'), 60000, 'OK-1 listed as sent');
  const shown = JSON.parse(await cli(e, 'messages', 'show', sent.id)) as { status: string; events: { event: string; destination?: string }[] };
  expect(shown.status).toBe('sent');
  expect(shown.events.map((ev) => [ev.event, ev.destination ?? null])).toEqual([
    ['received', null],
    ['queued', null],
    ['sent', 'adt-in.inbox'],
  ]);

  const dead = await eventually(async () => (await listed(e, 'dead-lettered')).find((m) => m.controlId === 'DEAD-1'), 60000, 'DEAD-1 listed as dead-lettered');
  const deadShown = JSON.parse(await cli(e, 'messages', 'show', dead.id)) as { status: string; events: { event: string; destination?: string }[] };
  expect(deadShown.status).toBe('dead-lettered');
  expect(deadShown.events.map((ev) => [ev.event, ev.destination ?? null])).toEqual([
    ['received', null],
    ['queued', null],
    ['dead-lettered', 'adt-in.nowhere'],
  ]);
  expect((await listed(e, 'queued')).map((m) => m.controlId)).toEqual([]);
}

describe('message status after delivery (engine process)', () => {
  it('embedded queue on SQLite: sent and dead-lettered, each step in the history', async () => {
    const e = await prepareEngine({ channelYaml: () => '' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${e.env.TRAMLINE_CHANNELS}/adt-in.yaml`, await channelYaml(e.mllpPort, e.caseDbUrl));
    await checkStatuses(e);
  }, 180000);

  it('RabbitMQ on PostgreSQL: sent and dead-lettered, each step in the history', async () => {
    const vhost: TestVhost = await createTestVhost('status');
    const dbUrl = uniquePgUrl('statusstore');
    const caseDbUrl = uniquePgUrl('statusinbox');
    cleanups.push(() => vhost.remove(), () => dropPg(dbUrl), () => dropPg(caseDbUrl));
    const e = await prepareEngine({ dbUrl, caseDbUrl, amqpUrl: vhost.url, extraEnv: { TRAMLINE_AMQP_PREFIX: vhost.prefix('status') }, channelYaml: () => '' });
    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${e.env.TRAMLINE_CHANNELS}/adt-in.yaml`, await channelYaml(e.mllpPort, caseDbUrl));
    await checkStatuses(e);
  }, 240000);
});
