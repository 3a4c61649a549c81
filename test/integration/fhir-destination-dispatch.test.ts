// The FHIR destination behind the real dispatcher and embedded queue, delivering to the
// sandbox FHIR server in its own process: a 503 run (Retry-After honoured) ends delivered
// once with one stored version; a 422 dead-letters at once with the OperationOutcome's codes
// in the reason.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { Bundle } from 'fhir/r4.js';
import { FhirDestination } from '../../adapters/fhir/index.js';
import { createDispatcher } from '../../channels/dispatch.js';
import { EmbeddedQueue } from '../../adapters/queue/embedded.js';
import type { Envelope } from '../../core/queue.js';
import { openStore, type OpenedStore } from '../../server/open-store.js';
import { eventually } from '../support/engine.js';
import { COUNCIL_EVENT, personBundle, type PersonCase } from '../support/fhir-fixtures.js';
import { SANDBOX_HOOK_TIMEOUT_MS, startFhirSandbox, type FhirSandboxProcess } from '../support/fhir-sandbox-process.js';

const policy = { maxAttempts: 6, initialDelayMs: 5000, maxDelayMs: 10000, multiplier: 2 };

describe('FHIR destination through the dispatcher', () => {
  let sandbox: FhirSandboxProcess;
  let opened: OpenedStore;
  let queue: EmbeddedQueue;
  let dir: string;

  beforeAll(async () => {
    sandbox = await startFhirSandbox();
    dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-fhir-dispatch-'));
    opened = await openStore({ dbUrl: `sqlite:${path.join(dir, 's.db')}`, dataDir: dir });
    queue = new EmbeddedQueue(opened.db, { keys: opened.keys, pollIntervalMs: 20 });
    await queue.start([{ destination: 'sc.lpres', bindings: ['sc.#'], concurrency: 2 }]);
    const destination = new FhirDestination({ url: sandbox.baseUrl, timeoutMs: 30000 }, {});
    await destination.open();
    await queue.consume('sc.lpres', createDispatcher({ destinationId: 'sc.lpres', destination, store: opened.store, retry: policy }));
  }, SANDBOX_HOOK_TIMEOUT_MS);
  afterAll(async () => {
    await queue?.close();
    await opened?.store.close();
    await opened?.db.close();
    await sandbox?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function send(controlId: string, bundle: Bundle): Promise<string> {
    const body = JSON.stringify(bundle);
    const { id } = await opened.store.receive({ channel: 'sc', receivedAt: new Date(), sender: 'council', controlId, status: 'received', raw: body });
    const envelope: Envelope = { messageId: id, channel: 'sc', routingKey: 'sc.record.bundle', partitionKey: controlId, body, headers: { kind: 'bundle' } };
    await queue.publish([envelope]);
    return id;
  }

  test('503 three times then 200: delivered once, one version stored', async () => {
    const person: PersonCase = { nhsNumber: '9434765919', personId: 'P-DISPATCH-1', family: 'Dispatchley', events: [{ ref: 'EV-D1', start: '2026-02-02' }] };
    // Retry-After: 0 overrides the 5 s back-off, so the retries are immediate.
    await sandbox.faults([{ method: 'POST', path: '^/$', status: 503, times: 3, headers: { 'retry-after': '0' } }]);
    const id = await send('D1', personBundle(person));
    const record = await eventually(async () => {
      const r = await opened.store.get(id);
      return r?.destinations[0]?.status === 'sent' ? r : undefined;
    });
    expect(record.destinations[0]).toMatchObject({ destination: 'sc.lpres', status: 'sent', attempts: 4 });
    expect((await opened.store.events(id)).filter((e) => e.event === 'retrying')).toHaveLength(3);
    const posts = (await sandbox.received()).filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    const search = await sandbox.get(`/EpisodeOfCare?identifier=${encodeURIComponent(`${COUNCIL_EVENT}|EV-D1`)}`);
    expect(((search.body as unknown as Bundle).entry ?? []).map((e) => e.resource!.meta!.versionId)).toEqual(['1']);
  });

  test('422 dead-letters at once with the OperationOutcome codes in the reason', async () => {
    await sandbox.faults([]);
    const bundle = personBundle({ nhsNumber: '9449305552', personId: 'P-DISPATCH-2', family: 'Rejectwell', events: [{ ref: 'EV-D2', start: '2026-02-03' }] });
    (bundle.entry![1].resource as unknown as Record<string, unknown>).gender = 'sometimes';
    const id = await send('D2', bundle);
    const dead = await eventually(async () => {
      const d = await queue.listDeadLetters('sc.lpres');
      return d.length ? d : undefined;
    }, 30000);
    expect(dead[0]).toMatchObject({ destination: 'sc.lpres', attempts: 1 });
    expect(dead[0].reason).toMatch(/^permanent: DeliveryError: POST transaction http:\/\/127\.0\.0\.1:\d+\/fhir: HTTP 422 \(processing: .*gender/);
    expect((await opened.store.get(id))?.destinations[0]).toMatchObject({ status: 'dead-lettered' });
  });
});
