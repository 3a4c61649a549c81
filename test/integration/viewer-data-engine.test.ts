// The embedded default end to end: the shipped example ADT channel (channels/examples/
// adt-to-case-system.yaml) in a running engine puts an ADT message in the case inbox as HL7 and
// in the engine's sandbox shared care record as FHIR (its `lpres` destination's own map), and
// the viewer's data, with no url and no TRAMLINE_LPRES_URL, reads it back from /fhir with the
// engine's token — without the sandbox auditing those reads as record views (the viewer audits).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { MllpClient } from '../../adapters/mllp/client.js';
import { openDatabase } from '../../adapters/store/db.js';
import { loadChannelFile } from '../../channels/load.js';
import type { Config } from '../../core/config.js';
import { runEngine, type RunningEngine } from '../../server/engine-process.js';
import type { PersonSummary } from '../../server/viewer/model.js';
import { createViewerData } from '../../server/viewer/record.js';
import { freePort } from '../support/engine.js';

const NHS_NUMBER = '9449305552'; // channels/examples/messages/adt-a01.hl7: EXAMPLE^SAM, WARD7^BAY2^BED4

let dir: string;
let running: RunningEngine;
let mllp: MllpClient;
let caseDbUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-viewer-engine-'));
  const mllpPort = await freePort();
  caseDbUrl = `sqlite:${path.join(dir, 'case.db')}`;
  const env = { TRAMLINE_MLLP_PORT: String(mllpPort), TRAMLINE_CASE_DB_URL: caseDbUrl };
  const { channel, problems } = loadChannelFile('channels/examples/adt-to-case-system.yaml', env);
  expect(problems).toEqual([]);
  const config: Config = { dbUrl: `sqlite:${path.join(dir, 'data', 'tramline.db')}`, httpPort: 0, mllpPort: 0, channelsDir: dir, dataDir: path.join(dir, 'data'), mapThreads: 1 };
  running = await runEngine(config, [channel!], { env: { ...env, TRAMLINE_AUTH_DEV_ISSUER: 'true' } });
  // Generous: the first message's mapping compiles its validators in this same process (no time asserted).
  mllp = new MllpClient({ host: '127.0.0.1', port: mllpPort, responseTimeoutMs: 60_000 });
});

afterAll(async () => {
  await mllp?.close();
  await running?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('the example ADT channel feeds the case inbox (HL7) and the sandbox (FHIR); the viewer reads the stay', async () => {
  const ack = await mllp.send(readFileSync('channels/examples/messages/adt-a01.hl7', 'utf8'));
  expect(ack).toContain('MSA|AA');

  const data = await createViewerData({ env: {} });
  // Delivery is asynchronous after the ACK: wait for the person to appear (no time asserted).
  let found: PersonSummary[] = [];
  for (let i = 0; i < 300 && !found.length; i++) {
    found = await data.find({ kind: 'nhs-number', nhsNumber: NHS_NUMBER });
    if (!found.length) await new Promise((r) => setTimeout(r, 100));
  }
  expect(found).toEqual([expect.objectContaining({ name: 'EXAMPLE, Sam (Mx)', nhsNumber: NHS_NUMBER, birthDate: '1980-02-14' })]);
  const record = await data.record(found[0].id);
  expect(record?.hospital.encounters).toEqual([
    expect.objectContaining({ class: 'Inpatient', status: 'in-progress', ward: 'WARD7, BAY2 BED4', consultant: 'CHRIS CONSULTANT', hospital: 'RXL' }),
  ]);
  expect(record?.socialCare.services).toEqual([]);

  // The case inbox still gets the HL7 message as it came.
  const inbox = await openDatabase(caseDbUrl);
  try {
    const { sql } = await import('kysely');
    // Each destination delivers on its own: the inbox row may land after the FHIR bundle.
    let rows: { payload: string }[] = [];
    for (let i = 0; i < 300 && !rows.length; i++) {
      rows = (await sql<{ payload: string }>`select payload from case_inbox`.execute(inbox.kysely)).rows;
      if (!rows.length) await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows).toHaveLength(1);
    expect(rows[0].payload.startsWith('MSH|')).toBe(true);
  } finally {
    await inbox.close();
  }

  // The viewer's reads with the engine token are not record views of the sandbox's own.
  await running.instrumented.audit.flush();
  expect(await running.instrumented.audit.query({ category: 'view', limit: 100 })).toEqual([]);
});
