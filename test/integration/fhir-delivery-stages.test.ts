// Every stage of an HL7 message mapped to FHIR, through a real engine and the sandbox FHIR
// server in its own process: the Bundle the `fhir` destination posted is kept as that
// destination's `sent` stage (exactly what the server received) and the transaction-response
// as its `response`; a refused delivery keeps the server's OperationOutcome. The API's message
// endpoint lists and returns them with their destination.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Bundle, OperationOutcome } from 'fhir/r4.js';
import { eventually } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

const DESTINATION = 'adt-in.shared-record';

interface StageJson {
  stage: string;
  destination?: string;
  stored: boolean;
  content?: string;
}

describe('stages of an HL7 message delivered to a FHIR server', () => {
  let sandbox: FhirSandboxProcess;
  let e: ApiEngine;

  beforeAll(async () => {
    sandbox = await startFhirSandbox();
    e = await startApiEngine({
      channelYaml: (port) => `id: adt-in
source: { type: mllp, host: 127.0.0.1, port: ${port} }
pipeline: { map: hl7v2-adt-to-fhir }
destinations:
  - name: shared-record
    type: fhir
    url: ${sandbox.baseUrl}
    retry: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 20 }
`,
    });
  }, SANDBOX_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    await e?.close();
    await sandbox?.close();
  });

  async function deliver(controlId: string, nhsNumber: string, status: string): Promise<string> {
    await e.mllp.send(adt({ controlId, nhsNumber }));
    const [m] = await e.running.opened.store.list({ controlId });
    await eventually(async () => (await e.running.opened.store.get(m.id))?.destinations[0]?.status === status, 15000, `${controlId} ${status}`);
    return m.id;
  }

  async function stagesOf(id: string): Promise<StageJson[]> {
    const res = await e.call('GET', `/api/messages/${id}?content=true`, { token: e.tokens.engineer });
    expect(res.status).toBe(200);
    return res.body.stages as StageJson[];
  }

  test('the Bundle sent is what the server received; the response is its transaction-response', async () => {
    await sandbox.clearReceived();
    const id = await deliver('STAGE0001', NHS_NUMBERS[1], 'sent');
    const stages = await stagesOf(id);
    expect(stages.map((s) => [s.stage, s.destination])).toEqual([
      ['raw', undefined],
      ['sent', DESTINATION],
      ['response', DESTINATION],
    ]);
    const [post] = (await sandbox.received()).filter((r) => r.method === 'POST' && r.url === '/');
    const sent = JSON.parse(stages[1].content!) as Bundle;
    expect(sent).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
    expect(sent).toEqual(post.body);
    const response = JSON.parse(stages[2].content!) as Bundle;
    expect(response).toMatchObject({ resourceType: 'Bundle', type: 'transaction-response' });
    expect(response.entry).toHaveLength(sent.entry!.length);
    expect(response.entry!.every((x) => /^20[01]/.test(x.response?.status ?? ''))).toBe(true);
    // Without content=true the stages are listed, nothing decrypted.
    const listed = await e.call('GET', `/api/messages/${id}`, { token: e.tokens.operator });
    expect(listed.body.stages).toEqual([{ stage: 'raw', stored: true }, { stage: 'sent', destination: DESTINATION, stored: true }, { stage: 'response', destination: DESTINATION, stored: true }]);
  });

  test('a refused delivery keeps the server’s OperationOutcome as the response', async () => {
    const outcome: OperationOutcome = { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'business-rule', diagnostics: 'the shared record refuses this patient' }] };
    await sandbox.faults([{ method: 'POST', path: '^/$', status: 422, body: outcome }]);
    try {
      const id = await deliver('STAGE0002', NHS_NUMBERS[2], 'dead-lettered');
      const stages = await stagesOf(id);
      expect(stages.map((s) => [s.stage, s.destination])).toEqual([
        ['raw', undefined],
        ['response', DESTINATION],
      ]);
      expect(JSON.parse(stages[1].content!)).toEqual(outcome);
    } finally {
      await sandbox.faults([]);
    }
  });
});
