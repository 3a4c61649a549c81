// Data protection end to end on a real engine process (debug logging): messages with a known
// NHS number and name go through intake, delivery, a dead letter, a rejection and the admin
// API; neither the NHS number nor the name appears in any log output, and the name (content)
// is nowhere readable in the store's database file (messages, queue, dead letters, audit).
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import fs from 'node:fs';
import path from 'node:path';
import { MllpClient } from '../../adapters/mllp/client.js';
import { eventually, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt } from '../support/hl7.js';
import { refuseFailRows } from './api-engine.js';

const NHS = '9912003888';
const FAMILY = 'QUILLFEATHER';
const GIVEN = 'ZEPHYRINE';

let e: EngineEnv;
let engine: EngineProcess;
let client: MllpClient;
let token: string;

async function call(urlPath: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`http://127.0.0.1:${e.httpPort}${urlPath}`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  e = await prepareEngine({ extraEnv: { TRAMLINE_LOG_LEVEL: 'debug' } });
  engine = await startEngine(e);
  client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
  const created = await runCli(['tokens', 'create', '--name', 'dp-test', '--role', 'engineer'], e.env, e.dir);
  token = created.stdout.trim();
});

afterAll(async () => {
  await client?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
  if (e) fs.rmSync(e.dir, { recursive: true, force: true });
});

test('no NHS number or name in logs; no name readable in the database file', async () => {
  await client.send(adt({ controlId: 'DP0001', nhsNumber: NHS, family: FAMILY, given: GIVEN }));
  await eventually(async () => (await call('/api/messages?controlId=DP0001')).text.includes('"status":"sent"'), 15000, 'delivered');
  await refuseFailRows(e.caseDbUrl);
  await client.send(adt({ controlId: 'FAILDP1', nhsNumber: NHS, family: FAMILY, given: GIVEN }));
  await eventually(async () => (await call('/api/dead-letters')).text.includes('FAILDP1'), 15000, 'dead-lettered');
  // Unparseable input carrying the same person.
  await client.send(`garbage ${NHS} ${FAMILY}^${GIVEN}`).catch(() => undefined);
  expect((await call(`/api/messages?patient=${NHS}`)).status).toBe(200);
  expect((await call(`/api/messages/nope?content=true`)).status).toBe(404);
  expect((await call(`/api/messages?patient=${NHS}&from=not-a-date`)).status).toBe(400);

  await engine.terminate();
  const logs = engine.output();
  expect(logs).toContain('"msg":"tramline started"');
  for (const secret of [NHS, FAMILY, GIVEN]) expect(logs).not.toContain(secret);

  const dbFile = path.join(e.dir, 'data', 'tramline.db');
  const bytes = Buffer.concat([dbFile, `${dbFile}-wal`].filter((f) => fs.existsSync(f)).map((f) => fs.readFileSync(f)));
  expect(bytes.length).toBeGreaterThan(0);
  expect(bytes.includes(Buffer.from(FAMILY))).toBe(false);
  expect(bytes.includes(Buffer.from(GIVEN))).toBe(false);
});
