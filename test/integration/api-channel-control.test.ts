// Stopping and starting a channel over the API: the MLLP port closes and opens again, the
// channel list says so, and messages sent after the restart flow as before.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import net from 'node:net';
import { parseAckCode } from '../../adapters/mllp/client.js';
import { adt } from '../support/hl7.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

let e: ApiEngine;
beforeAll(async () => {
  e = await startApiEngine();
});
afterAll(async () => {
  await e?.close();
});

const portOpen = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

test('an engineer stops and starts a channel; an operator may not', async () => {
  const port = e.running.engine.channels.find((c) => c.definition.id === 'adt-in')!.port;
  expect(await portOpen(port)).toBe(true);
  expect((await e.call('POST', '/api/channels/adt-in/stop', { token: e.tokens.operator })).status).toBe(403);

  const stopped = await e.call('POST', '/api/channels/adt-in/stop', { token: e.tokens.engineer });
  expect(stopped.status).toBe(200);
  expect(stopped.body).toMatchObject({ changed: true, channel: { id: 'adt-in', running: false } });
  expect(await portOpen(port)).toBe(false);
  expect((await e.call('POST', '/api/channels/adt-in/stop', { token: e.tokens.engineer })).body.changed).toBe(false);

  const started = await e.call('POST', '/api/channels/adt-in/start', { token: e.tokens.engineer });
  expect(started.body).toMatchObject({ changed: true, channel: { id: 'adt-in', running: true } });
  expect(parseAckCode(await e.mllp.send(adt({ controlId: 'CTRL0001' }))).code).toBe('AA');
  expect((await e.call('POST', '/api/channels/nope/start', { token: e.tokens.engineer })).status).toBe(404);
});

test('channels are (re)deployed from the channel files without a restart', async () => {
  const dir = e.config.channelsDir;
  const { writeFileSync, unlinkSync, mkdirSync } = await import('node:fs');
  const path = await import('node:path');
  const drops = path.join(e.dir, 'drops');
  mkdirSync(drops, { recursive: true });
  const file = path.join(dir, 'records.yaml');
  const yaml = (concurrency: number) =>
    `id: records-in\nsource: { type: file, directory: ${drops}, stableMs: 0 }\ndestinations:\n  - { name: out, type: file, directory: ${drops}, concurrency: ${concurrency} }\n`;

  writeFileSync(file, yaml(2));
  const added = await e.call('POST', '/api/channels/deploy', { token: e.tokens.engineer });
  expect(added.status).toBe(200);
  expect(added.body).toMatchObject({ added: ['records-in'], changed: [], removed: [], unchanged: ['adt-in'] });
  const list = await e.call('GET', '/api/channels', { token: e.tokens.operator });
  expect(list.body.channels.map((c: { id: string; running: boolean }) => [c.id, c.running])).toEqual(expect.arrayContaining([['records-in', true]]));

  writeFileSync(file, yaml(3));
  expect((await e.call('POST', '/api/channels/deploy', { token: e.tokens.engineer })).body).toMatchObject({ changed: ['records-in'] });

  writeFileSync(file, 'id: records-in\nsource: { type: file }\n');
  const bad = await e.call('POST', '/api/channels/deploy', { token: e.tokens.engineer });
  expect(bad.status).toBe(422);
  expect(JSON.stringify(bad.body)).toContain('records.yaml');

  // A mapping that does not exist is refused before anything is deployed, at its map: line.
  writeFileSync(file, yaml(3).replace('destinations:', 'pipeline:\n  map: no-such-mapping\ndestinations:'));
  const unmapped = await e.call('POST', '/api/channels/deploy', { token: e.tokens.engineer });
  expect(unmapped.status).toBe(422);
  expect(JSON.stringify(unmapped.body)).toMatch(/records\.yaml:4:\d+ pipeline\.map: no mapping with id or path \\"no-such-mapping\\"/);
  expect((await e.call('GET', '/api/channels', { token: e.tokens.operator })).body.channels.map((c: { id: string }) => c.id)).toContain('records-in');

  unlinkSync(file);
  expect((await e.call('POST', '/api/channels/deploy', { token: e.tokens.engineer })).body).toMatchObject({ removed: ['records-in'], unchanged: ['adt-in'] });
  expect(parseAckCode(await e.mllp.send(adt({ controlId: 'CTRL0002' }))).code).toBe('AA');
  expect((await e.call('POST', '/api/channels/deploy', { token: e.tokens.operator })).status).toBe(403);
});
