// The admin API against a real in-process engine: channels and statistics, message search,
// show (content only for roles allowed it), reprocess, dead letters (list, replay, discard),
// channel validation, mapping dry-run, the FHIR AuditEvent export, and error responses.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { eventually } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { uniquePgUrl } from '../support/db.js';
import { refuseFailRows, startApiEngine, type ApiEngine } from './api-engine.js';

const NHS = NHS_NUMBERS[1];

const stores = [
  ['sqlite', () => undefined],
  ['postgres', () => uniquePgUrl('api')],
] as const;

describe.each(stores)('admin API (%s store)', (_name, storeUrl) => {
  let e: ApiEngine;
  let okId: string;
  let failId: string;

  async function destinationStatus(id: string): Promise<string | undefined> {
    return (await e.running.opened.store.get(id))?.destinations[0]?.status;
  }

  beforeAll(async () => {
    e = await startApiEngine({ dbUrl: storeUrl() });
    await e.mllp.send(adt({ controlId: 'API0001', nhsNumber: NHS, family: 'SYNTHETIC', given: 'ROBIN' }));
    okId = (await e.running.opened.store.list({ controlId: 'API0001' }))[0].id;
    await eventually(async () => (await destinationStatus(okId)) === 'sent', 15000, 'first message delivered');
    await refuseFailRows(e.caseDbUrl);
    await e.mllp.send(adt({ controlId: 'FAIL0001', nhsNumber: NHS_NUMBERS[2] }));
    failId = (await e.running.opened.store.list({ controlId: 'FAIL0001' }))[0].id;
    await eventually(async () => (await destinationStatus(failId)) === 'dead-lettered', 15000, 'failing message dead-lettered');
  });

  afterAll(async () => {
    await e?.close();
  });

  describe('channels', () => {
    test('list shows the channel and its destinations but no destination settings', async () => {
      const res = await e.call('GET', '/api/channels', { token: e.tokens.operator });
      expect(res.status).toBe(200);
      expect(res.body.channels).toEqual([
        expect.objectContaining({ id: 'adt-in', name: 'ADT in', enabled: true, running: true, destinations: [{ id: 'adt-in.inbox', name: 'inbox', type: 'case-inbox', routes: ['hl7v2.ADT.#'] }], retention: { contentDays: 30 } }),
      ]);
      expect(res.text).not.toContain('case.db');
    });

    test('statistics count received, sent and dead-lettered per channel and destination', async () => {
      // The dead letter leaves the queue just after its status is recorded: wait for that.
      const res = await eventually(async () => {
        const r = await e.call('GET', '/api/channels/adt-in/stats', { token: e.tokens.operator });
        return r.body.queued === 0 ? r : undefined;
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ channel: 'adt-in', received: 2, rejected: 0, sent: 1, deadLettered: 1, queued: 0, destinations: { 'adt-in.inbox': { sent: 1, deadLettered: 1 } } });
      const show = await e.call('GET', '/api/channels/adt-in', { token: e.tokens.operator });
      expect(show.body.stats.received).toBe(2);
      expect((await e.call('GET', '/api/channels/nope/stats', { token: e.tokens.operator })).status).toBe(404);
    });

    test('validate names the problem line and field', async () => {
      const good = await e.call('POST', '/api/channels/validate', {
        token: e.tokens.engineer,
        contentType: 'application/yaml',
        body: 'id: ok\nsource:\n  type: mllp\n  port: 2600\ndestinations:\n  - name: d\n    type: case-inbox\n    database: "sqlite::memory:"\n',
      });
      expect(good.body).toMatchObject({ valid: true, problems: [] });
      const bad = await e.call('POST', '/api/channels/validate', { token: e.tokens.engineer, contentType: 'application/yaml', body: 'id: bad\nsource:\n  type: mllp\n  port: "x"\ndestinations: []\n' });
      expect(bad.body.valid).toBe(false);
      expect(bad.body.problems).toEqual(expect.arrayContaining([expect.objectContaining({ line: 4, field: expect.stringContaining('port') })]));
    });
  });

  describe('messages', () => {
    test('search by patient identifier returns metadata and is audited against the patient', async () => {
      const res = await e.call('GET', `/api/messages?patient=${NHS}`, { token: e.tokens.operator });
      expect(res.status).toBe(200);
      expect(res.body.messages).toHaveLength(1);
      expect(res.body.messages[0]).toMatchObject({ id: okId, controlId: 'API0001', messageType: 'ADT^A01', destinations: [{ destination: 'adt-in.inbox', status: 'sent' }] });
      expect(res.text).not.toContain('SYNTHETIC');
      const entry = await eventually(async () => (await e.running.instrumented.audit.query({ patient: NHS, actor: 'test-operator' }))[0]);
      expect(entry).toMatchObject({ action: 'GET /api/messages', outcome: 'success', detail: { count: 1 } });
    });

    test('search filters and bad parameters', async () => {
      const byType = await e.call('GET', '/api/messages?channel=adt-in&messageType=ADT%5EA01&destinationStatus=dead-lettered', { token: e.tokens.operator });
      expect(byType.body.messages.map((m: { id: string }) => m.id)).toEqual([failId]);
      const bad = await e.call('GET', '/api/messages?status=flying', { token: e.tokens.operator });
      expect(bad.status).toBe(400);
      expect(bad.body.error.detail).toMatch(/status must be one of/);
    });

    test('show gives history and stages; content needs messages:content', async () => {
      const meta = await e.call('GET', `/api/messages/${okId}`, { token: e.tokens.operator });
      expect(meta.status).toBe(200);
      expect(meta.body.stages).toEqual([{ stage: 'raw', stored: true }]);
      expect(meta.body.events.map((ev: { event: string }) => ev.event)).toContain('received');
      expect(meta.text).not.toContain(NHS);
      expect((await e.call('GET', `/api/messages/${okId}?content=true`, { token: e.tokens.operator })).status).toBe(403);
      const full = await e.call('GET', `/api/messages/${okId}?content=true`, { token: e.tokens.engineer });
      expect(full.body.stages[0].content).toContain('SYNTHETIC^ROBIN');
      const entry = await eventually(async () => (await e.running.instrumented.audit.query({ patient: NHS, actor: 'test-engineer' }))[0]);
      expect(entry).toMatchObject({ action: 'GET /api/messages/:id', messageId: okId, detail: { content: true } });
      expect((await e.call('GET', '/api/messages/no-such-id', { token: e.tokens.operator })).status).toBe(404);
      expect(full.body.stages[0].contentNote).toBeUndefined();
    });

    test('content that is not valid in its character set is shown with a note, never silently replaced', async () => {
      // Latin-1 bytes, no MSH-18: rejected (AR) and stored as received.
      const latin1 = Buffer.from(adt({ controlId: 'LATIN1', nhsNumber: NHS, family: 'BRONTË', charset: '' }), 'latin1');
      await e.mllp.send(latin1);
      const [latest] = await e.running.opened.store.list({ status: 'rejected' });
      expect(latest).toMatchObject({ status: 'rejected', error: expect.stringContaining('not valid UTF-8') });
      const id = latest.id;
      const shown = await e.call('GET', `/api/messages/${id}?content=true`, { token: e.tokens.engineer });
      expect(shown.body.stages[0].content).toContain('BRONT\ufffd');
      expect(shown.body.stages[0].contentNote).toMatch(/^Message is not valid UTF-8 .*; bytes that are not valid are shown as U\+FFFD$/);
    });

    test('reprocess one message queues it again and records it', async () => {
      const res = await e.call('POST', `/api/messages/${okId}/reprocess`, { token: e.tokens.operator });
      expect(res.body).toEqual({ queued: [okId], skipped: [] });
      await eventually(async () => (await e.running.opened.store.events(okId)).some((ev) => ev.event === 'reprocessed'));
      const audited = await eventually(async () => (await e.running.instrumented.audit.query({ messageId: okId, action: 'message.reprocessed' }))[0]);
      expect(audited.detail).toEqual({ reason: 'via API by test-operator' });
      expect((await e.call('POST', '/api/messages/reprocess', { token: e.tokens.operator, body: {} })).status).toBe(400);
      const byFilter = await e.call('POST', '/api/messages/reprocess', { token: e.tokens.operator, body: { controlId: 'API0001' } });
      expect(byFilter.body.queued).toEqual([okId]);
    });
  });

  describe('dead letters', () => {
    test('list shows reason and headers, never content', async () => {
      const res = await e.call('GET', '/api/dead-letters', { token: e.tokens.operator });
      expect(res.body.deadLetters).toEqual([expect.objectContaining({ messageId: failId, destination: 'adt-in.inbox', attempts: 2, reason: expect.stringContaining('case system refused') })]);
      expect(res.body.deadLetters[0]).not.toHaveProperty('body');
      expect(res.text).not.toContain(NHS_NUMBERS[2]);
    });

    test('replay puts it back on the queue (it fails again here); discard removes it with a reason', async () => {
      const replay = await e.call('POST', '/api/dead-letters/replay', { token: e.tokens.operator, body: { destination: 'adt-in.inbox', messageIds: [failId] } });
      expect(replay.body).toEqual({ replayed: 1 });
      await eventually(async () => (await e.running.opened.store.events(failId)).filter((ev) => ev.event === 'dead-lettered').length === 2, 15000, 'dead-lettered again');
      await eventually(async () => (await e.call('GET', '/api/dead-letters?destination=adt-in.inbox', { token: e.tokens.operator })).body.deadLetters.length === 1);

      expect((await e.call('POST', '/api/dead-letters/discard', { token: e.tokens.operator, body: { destination: 'adt-in.inbox', messageIds: [failId], reason: 'x' } })).status).toBe(403);
      expect((await e.call('POST', '/api/dead-letters/discard', { token: e.tokens.engineer, body: { destination: 'adt-in.inbox', messageIds: [failId] } })).status).toBe(400);
      const discard = await e.call('POST', '/api/dead-letters/discard', { token: e.tokens.engineer, body: { destination: 'adt-in.inbox', messageIds: [failId], reason: 'sent by mistake; case system confirmed' } });
      expect(discard.body).toEqual({ discarded: 1 });
      expect((await e.call('GET', '/api/dead-letters', { token: e.tokens.operator })).body.deadLetters).toEqual([]);
      const events = await e.running.opened.store.events(failId);
      expect(events.find((ev) => ev.event === 'discarded')).toMatchObject({ destination: 'adt-in.inbox', detail: 'sent by mistake; case system confirmed (by test-engineer)' });
      expect((await e.call('POST', '/api/dead-letters/replay', { token: e.tokens.operator, body: { destination: 'nope' } })).status).toBe(404);
    });
  });

  describe('mappings', () => {
    test('dry-run a shipped mapping on a posted HL7 message', async () => {
      const list = await e.call('GET', '/api/mappings', { token: e.tokens.engineer });
      expect(list.body.mappings).toContain('hl7v2-adt-to-fhir');
      const res = await e.call('POST', '/api/mappings/hl7v2-adt-to-fhir/dry-run', { token: e.tokens.engineer, contentType: 'text/plain', body: adt({ controlId: 'DRY1', nhsNumber: NHS }) });
      expect(res.body.error).toBeUndefined();
      expect(res.status).toBe(200);
      expect(res.body.output).toMatchObject({ resourceType: 'Bundle', type: 'transaction' });
      const bad = await e.call('POST', '/api/mappings/hl7v2-adt-to-fhir/dry-run', { token: e.tokens.engineer, contentType: 'text/plain', body: 'not hl7' });
      expect(bad.status).toBe(422);
      expect(bad.body.error).toMatchObject({ status: 422, kind: 'ParseError' });
      // A mapping error names the HL7 field and the mapping's line, never the server's folders.
      // (A missing visit number only warns; a missing sending facility leaves no identifier system.)
      const noFacility = await e.call('POST', '/api/mappings/hl7v2-adt-to-fhir/dry-run', { token: e.tokens.engineer, contentType: 'text/plain', body: adt({ controlId: 'DRY2', nhsNumber: NHS, facility: '' }) });
      expect(noFacility.status).toBe(422);
      expect(noFacility.body.error).toMatchObject({ kind: 'MappingError' });
      expect(noFacility.text).toMatch(/MappingError: mappings\/hl7v2\/adt-to-fhir\.yaml:\d+: required value missing: MSH-4 \(sendingFacility\)/);
      expect(noFacility.text).not.toContain(process.cwd());
      expect((await e.call('POST', '/api/mappings/..%2F..%2Fetc/dry-run', { token: e.tokens.engineer, contentType: 'text/plain', body: 'x' })).status).toBe(404);
    });
  });

  describe('audit export', () => {
    test("a patient's access history: record views and API reads of that person, as a FHIR Bundle", async () => {
      // What the clinician viewer records for each view.
      await e.running.instrumented.audit.append({
        category: 'view',
        action: 'viewer.read',
        outcome: 'success',
        actor: { id: 'dr.jones', kind: 'jwt', role: 'clinician', organisation: 'RXL' },
        sourceIp: '10.1.2.3',
        patient: NHS,
        purpose: 'direct care',
      });
      const from = new Date(Date.now() - 3600_000).toISOString();
      const res = await e.call('GET', `/api/audit?patient=${NHS}&from=${encodeURIComponent(from)}&to=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`, { token: e.tokens.auditor });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/application\/fhir\+json/);
      expect(res.body).toMatchObject({ resourceType: 'Bundle', type: 'searchset' });
      const events = res.body.entry.map((x: { resource: Record<string, unknown> }) => x.resource);
      expect(events.every((ev: { resourceType: string }) => ev.resourceType === 'AuditEvent')).toBe(true);
      const view = events.find((ev: { subtype: { code: string }[] }) => ev.subtype.some((c) => c.code === 'viewer.read'));
      expect(view).toMatchObject({ action: 'R', agent: [{ who: { identifier: { value: 'dr.jones' } }, role: [{ text: 'clinician' }] }, { who: { identifier: { value: 'RXL' } } }] });
      expect(events.some((ev: { subtype: { code: string }[] }) => ev.subtype.some((c) => c.code === 'GET /api/messages'))).toBe(true);
      expect(events.some((ev: { subtype: { code: string }[] }) => ev.subtype.some((c) => c.code === 'GET /api/messages/:id'))).toBe(true);
      const verify = await e.call('GET', '/api/audit/verify', { token: e.tokens.auditor });
      expect(verify.body).toMatchObject({ ok: true, head: { seq: expect.any(Number) } });
      const { seq, hash } = verify.body.head;
      expect((await e.call('GET', `/api/audit/verify?head=${seq}:${hash}`, { token: e.tokens.auditor })).body.ok).toBe(true);
      expect((await e.call('GET', `/api/audit/verify?head=${seq}:${'f'.repeat(64)}`, { token: e.tokens.auditor })).body).toMatchObject({ ok: false, broken: { seq } });
      expect((await e.call('GET', '/api/audit/verify?head=nonsense', { token: e.tokens.auditor })).status).toBe(400);
    });
  });

  describe('errors', () => {
    test('JSON errors without stack traces; security headers; body limits', async () => {
      const malformed = await e.call('POST', '/api/messages/reprocess', { token: e.tokens.operator, body: '{"ids": [', contentType: 'application/json' });
      expect(malformed.status).toBe(400);
      expect(malformed.body).toEqual({ error: { status: 400, title: 'bad request', detail: 'request body is not valid JSON' } });
      const big = await e.call('POST', '/api/messages/reprocess', { token: e.tokens.operator, body: JSON.stringify({ ids: ['x'.repeat(1_100_000)] }) });
      expect(big.status).toBe(413);
      expect(big.text).not.toMatch(/at .*\.(ts|js):\d+/);
      const unknown = await e.call('GET', '/api/nothing-here', { token: e.tokens.operator });
      expect(unknown.status).toBe(404);
      expect(unknown.body.error.status).toBe(404);
      expect(unknown.headers.get('x-content-type-options')).toBe('nosniff');
      expect(unknown.headers.get('content-security-policy')).toBeTruthy();
      expect(unknown.headers.get('x-powered-by')).toBeNull();
    });
  });
});
