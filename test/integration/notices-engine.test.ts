// Hospital notices (ADW) end to end, on a real engine in-process with real folders and a real
// store (SQLite and PostgreSQL): MESH inbox → stored → notice row → case inbox; answers and
// infrastructure rejections written to the MESH outbox; responses correlated; withdrawals;
// auto-accept; overdue; the API (list, show, accept, reject), HTTP inbound and the CLI.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { messageHeader } from '../../adapters/adw/bundle.js';
import { checkAdw } from '../../adapters/adw/check.js';
import { validateDstu2 } from '../../adapters/adw/dstu2-schema.js';
import type { JsonObject } from '../../adapters/adw/fhir-dstu2.js';
import { parseAdw } from '../../adapters/adw/parse.js';
import { buildResponse, serialiseAdw } from '../../adapters/adw/respond.js';
import { parseControlFile, writeControlFile } from '../../adapters/mesh-folder/control.js';
import { openDatabase } from '../../adapters/store/db.js';
import { SqlNoticeStore } from '../../adapters/store/notice-store.js';
import { HELD_RESPONSE, UNCLAIMED_RESPONSE } from '../../channels/notice-service.js';
import { PG_BASE } from '../support/db.js';
import { eventually, meshOutDestination, runCli } from '../support/engine.js';
import { startApiEngine, type ApiEngine } from './api-engine.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/adw/${name}`, import.meta.url)), 'utf8');
const ASSESSMENT_XML = fixture('assessment-notice.xml');
const ASSESSMENT_JSON = fixture('assessment-notice.json');
const DISCHARGE_XML = fixture('discharge-notice.xml');
const WITHDRAWAL_XML = fixture('withdrawal-notice.xml');
const EPISODE = '5e7d1c2a-9b34-4f0e-8a61-2d9c0b7e4f10';
const headerIdOf = (text: string) => String(messageHeader(parseAdw(text).bundle)?.id);

let counter = 0;
/** The fixture as another notice: a new MessageHeader id and, optionally, another episode and hospital. */
function variant(text: string, o: { episode?: string; hospital?: string } = {}): { text: string; id: string } {
  const id = `d${String(++counter).padStart(7, '0')}-0000-4000-8000-${String(Date.now() % 1e12).padStart(12, '0')}`;
  let out = text.split(headerIdOf(text)).join(id);
  if (o.episode) out = out.split(EPISODE).join(o.episode);
  if (o.hospital) out = out.split('urn:nhs-uk:addressing:ods:RZZ9A').join(`urn:nhs-uk:addressing:ods:${o.hospital}`);
  return { text: out, id };
}

const MAILBOX = 'RZZ9AHUB01';

describe.each(['sqlite', 'postgres'] as const)('notices on %s', (backend) => {
  let e: ApiEngine;
  let inbox: string;
  let outbox: string;
  let n = 0;

  /** Drops one message into the MESH inbox as the MESH client would (.dat, then .ctl). */
  function drop(text: string, from = MAILBOX): string {
    const base = `m${++n}`;
    writeFileSync(path.join(inbox, `${base}.dat`), text);
    writeFileSync(path.join(inbox, `${base}.ctl`), writeControlFile({ version: '1.0', addressType: 'DTS', messageType: 'Data', workflowId: 'ADW_NOTICE', fromDts: from, toDts: 'X26OT123', localId: `L-${base}-${Date.now()}`, compress: false, encrypted: false }));
    return base;
  }

  const processed = (base: string) => existsSync(path.join(inbox, 'processed', `${base}.ctl`));
  const outFiles = () => (existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.ctl')) : []);
  /** The outbox pair whose body answers `noticeId` (response.identifier). */
  async function outFor(noticeId: string) {
    return eventually(async () => {
      for (const ctl of outFiles()) {
        const body = readFileSync(path.join(outbox, ctl.replace(/\.ctl$/, '.dat')), 'utf8');
        const parsed = parseAdw(body);
        const header = messageHeader(parsed.bundle) as { response?: { identifier?: string } };
        if (header.response?.identifier === noticeId) return { control: parseControlFile(readFileSync(path.join(outbox, ctl))), body, parsed };
      }
      return undefined;
    }, 15000, `an outbox message answering ${noticeId}`);
  }
  const inboxRows = async () => {
    const db = await openDatabase(e.caseDbUrl);
    try {
      return (await sql<{ id: string; message_type: string; control_id: string; sending_facility: string; nhs_number: string | null; payload: string }>`select * from adw_inbox`.execute(db.kysely)).rows;
    } finally {
      await db.close();
    }
  };
  const auditActions = async (messageIds: string[]) => {
    const db = e.running.opened.db.kysely as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    const rows: { action: string }[] = await db.selectFrom('audit_log').select('action').where('message_id', 'in', messageIds).execute();
    return rows.map((r) => r.action);
  };
  const api = (method: string, url: string, body?: unknown, role: 'operator' | 'auditor' | 'sender' | 'admin' = 'operator', contentType?: string) =>
    e.call(method, url, { token: e.tokens[role], ...(body !== undefined ? { body } : {}), ...(contentType ? { contentType } : {}) });

  beforeAll(async () => {
    const dbUrl = backend === 'postgres' ? `${PG_BASE}?schema=tl_notices_${Date.now().toString(36)}` : undefined;
    e = await startApiEngine({
      ...(dbUrl ? { dbUrl } : {}),
      channelYaml: (_port, dir) => {
        inbox = path.join(dir, 'mesh', 'IN');
        outbox = path.join(dir, 'mesh', 'OUT');
        mkdirSync(inbox, { recursive: true });
        return `id: adt-in
name: Hospital notices
source:
  type: mesh-folder
  inbox: ${inbox}
  pollIntervalMs: 50
  stableMs: 0
notices:
  councilOds: Z99ZZ
  responses: { assessment: ADW_ASSESSMENT_RESPONSE, discharge: ADW_DISCHARGE_RESPONSE, withdrawal: ADW_WITHDRAWAL_RESPONSE, rejection: ADW_REJECTION }
  responder: { family: Quayle, given: [Tomasz] }
  autoAccept:
    - name: hospital-team
      types: [assessment]
      hospitals: [RZZ8B]
destinations:
  - name: inbox
    type: case-inbox
    database: sqlite:${path.join(dir, 'case.db')}
    table: adw_inbox
    routes: [adw.#]
${meshOutDestination(outbox)}`;
      },
    });
  }, 60000);

  afterAll(async () => {
    await e?.close();
  });

  async function noticeRow(id: string) {
    return eventually(async () => {
      const res = await api('GET', `/api/notices/${id}`);
      return res.status === 200 ? res.body : undefined;
    }, 15000, `notice ${id}`);
  }

  test('each notice type reaches the case inbox once, with the notice read from it and its state and due time', async () => {
    const cases = [
      { text: variant(ASSESSMENT_XML, { episode: 'ep-a1' }), type: 'assessment', format: 'xml', hours: 48, messageType: 'ADW^assessment' },
      { text: variant(ASSESSMENT_JSON, { episode: 'ep-a2' }), type: 'assessment', format: 'json', hours: 48, messageType: 'ADW^assessment' },
      { text: variant(DISCHARGE_XML, { episode: 'ep-d1' }), type: 'discharge', format: 'xml', hours: 24, messageType: 'ADW^discharge' },
      { text: variant(WITHDRAWAL_XML, { episode: 'ep-w0' }), type: 'withdrawal', format: 'xml', hours: 48, messageType: 'ADW^withdrawal^all' },
    ];
    for (const c of cases) drop(c.text.text);
    for (const c of cases) {
      const row = await eventually(async () => (await inboxRows()).find((r) => r.control_id === c.text.id), 15000, `inbox row ${c.text.id}`);
      expect(row).toMatchObject({ message_type: c.messageType, sending_facility: 'RZZ9A', nhs_number: '9997654323' });
      const payload = JSON.parse(row.payload);
      expect(payload).toMatchObject({ kind: 'adw-notice', format: c.format, messageId: row.id });
      const { extractNotice } = await import('../../adapters/adw/notice.js');
      // The whole notice as read from the message, field by field.
      expect(payload.notice).toEqual(JSON.parse(JSON.stringify(extractNotice(parseAdw(c.text.text).bundle, new Date(payload.notice.receivedAt)))));
      expect(payload.notice).toMatchObject({ id: c.text.id, type: c.type, senderOds: 'RZZ9A', receiverOds: 'Z99ZZ', episode: { value: expect.stringMatching(/^ep-/) } });
      expect(payload.notice.person.nhsNumber).toBe('9997654323');

      const { notice } = await noticeRow(c.text.id);
      expect(notice).toMatchObject({ id: c.text.id, messageId: row.id, channel: 'adt-in', type: c.type, format: c.format, transport: 'mesh', replyTo: MAILBOX, hospitalOds: 'RZZ9A', councilOds: 'Z99ZZ', state: 'awaiting', overdue: false });
      expect(Date.parse(notice.dueAt) - Date.parse(notice.receivedAt)).toBe(c.hours * 3_600_000);
    }
    const assessment = payloadOf(await inboxRows(), cases[0].text.id);
    expect(assessment.notice.hospital).toEqual({ name: 'Riverside General Hospital', ods: 'RZZ9A' });
    expect(assessment.notice.ward).toBe('Heron Ward');
    expect(assessment.notice.expectedDischargeDate).toBe('2026-12-18');
    expect(assessment.notice.episode).toEqual({ value: 'ep-a1' });
    expect(assessment.notice.leadClinician.name).toEqual(expect.any(String));
    expect(assessment.notice.hospitalLiaison.name).toBe('Priya Halden');
  }, 60000);

  function payloadOf(rows: { control_id: string; payload: string }[], id: string) {
    return JSON.parse(rows.find((r) => r.control_id === id)!.payload);
  }

  test('a repeated notice is acknowledged (moved) and stored once, and routed once', async () => {
    const v = variant(ASSESSMENT_XML, { episode: 'ep-dup' });
    const first = drop(v.text);
    await eventually(async () => (await inboxRows()).some((r) => r.control_id === v.id));
    const again = drop(v.text);
    await eventually(async () => processed(first) && processed(again), 15000, 'both copies moved');
    const stored = await e.running.opened.store.list({ controlId: v.id });
    expect(stored).toHaveLength(1);
    expect((await e.running.opened.store.events(stored[0].id)).map((x) => x.event)).toContain('duplicate');
    await new Promise((r) => setTimeout(r, 300));
    expect((await inboxRows()).filter((r) => r.control_id === v.id)).toHaveLength(1);
  }, 30000);

  test('malformed XML, an unknown event, an invalid NHS number and a missing resource are rejected with reasons; the rejection goes to the outbox', async () => {
    const unknownEvent = variant(ASSESSMENT_XML);
    unknownEvent.text = unknownEvent.text.replace('<code value="975701000000106"/>', '<code value="123456789"/>');
    const badNhs = variant(ASSESSMENT_XML);
    badNhs.text = badNhs.text.replace('9997654323', '9997654324');
    const noPatient = variant(ASSESSMENT_JSON);
    const b = JSON.parse(noPatient.text);
    b.entry = b.entry.filter((x: { resource: { resourceType: string } }) => x.resource.resourceType !== 'Patient');
    noPatient.text = JSON.stringify(b);
    const cases = [
      { text: '<Bundle xmlns="http://hl7.org/fhir"><type value="message"/>', id: 'unknown', reason: /malformed XML/, format: 'xml' },
      { text: unknownEvent.text, id: unknownEvent.id, reason: /not an ADW event/, format: 'xml' },
      { text: badNhs.text, id: badNhs.id, reason: /NHS number is not 10 digits with a valid Modulus 11 check digit/, format: 'xml' },
      { text: noPatient.text, id: noPatient.id, reason: /must carry a Patient/, format: 'json' },
    ];
    for (const c of cases) {
      const base = drop(c.text);
      await eventually(async () => processed(base), 15000, `${base} moved`);
      const out = await outFor(c.id);
      expect(out.control).toMatchObject({ messageType: 'Data', workflowId: 'ADW_REJECTION', fromDts: 'X26OT123', toDts: MAILBOX });
      expect(out.parsed.format).toBe(c.format);
      const header = messageHeader(out.parsed.bundle) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(header.response).toMatchObject({ identifier: c.id, code: 'fatal-error' });
      expect(header.source).toEqual({ endpoint: 'urn:nhs-uk:addressing:ods:Z99ZZ' });
      const outcome = (out.parsed.bundle.entry as { resource: any }[])[1].resource; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(outcome.resourceType).toBe('OperationOutcome');
      expect(outcome.issue.map((i: { diagnostics: string }) => i.diagnostics).join('\n')).toMatch(c.reason);
      if (c.id !== 'unknown') {
        const [m] = await e.running.opened.store.list({ controlId: c.id });
        expect(m).toMatchObject({ status: 'rejected', messageType: 'ADW^rejected' });
        expect(m.error).toMatch(c.reason);
        expect(m.error).not.toMatch(/9997654324|Fenwick/);
        expect((await api('GET', `/api/notices/${c.id}`)).status).toBe(404);
      }
    }
  }, 60000);

  test('a withdrawal finds the notices of its episode and withdraws them', async () => {
    const assessment = variant(ASSESSMENT_XML, { episode: 'ep-w1' });
    const discharge = variant(DISCHARGE_XML, { episode: 'ep-w1' });
    const other = variant(ASSESSMENT_XML, { episode: 'ep-w2' });
    drop(assessment.text);
    drop(discharge.text);
    drop(other.text);
    await noticeRow(assessment.id);
    await noticeRow(discharge.id);
    await noticeRow(other.id);
    const onlyAssessment = variant(WITHDRAWAL_XML, { episode: 'ep-w1' });
    onlyAssessment.text = onlyAssessment.text.replace('<code value="975841000000102"/>', '<code value="1078011000000107"/>');
    drop(onlyAssessment.text);
    await eventually(async () => (await noticeRow(assessment.id)).notice.state === 'withdrawn', 15000, 'assessment withdrawn');
    expect((await noticeRow(assessment.id)).notice.withdrawnBy).toBe(onlyAssessment.id);
    expect((await noticeRow(discharge.id)).notice.state).toBe('awaiting');
    expect((await noticeRow(other.id)).notice.state).toBe('awaiting');
    expect((await noticeRow(onlyAssessment.id)).notice).toMatchObject({ type: 'withdrawal', withdraws: 'assessment-only', state: 'awaiting' });
    const all = variant(WITHDRAWAL_XML, { episode: 'ep-w1' });
    drop(all.text);
    await eventually(async () => (await noticeRow(discharge.id)).notice.state === 'withdrawn', 15000, 'discharge withdrawn');
    expect((await noticeRow(other.id)).notice.state).toBe('awaiting');
    expect(payloadOf(await eventually(async () => { const rows = await inboxRows(); return rows.some((r) => r.control_id === all.id) && rows; }), all.id).notice.withdrawn).toBe('all');
  }, 60000);

  test('accept and reject through the API: the response in the outbox is the one the spec asks for; 409 once answered, 400 on a bad reason', async () => {
    const assessment = variant(ASSESSMENT_XML, { episode: 'ep-api1' });
    const discharge = variant(DISCHARGE_XML, { episode: 'ep-api2' });
    drop(assessment.text);
    drop(discharge.text);
    await noticeRow(assessment.id);
    await noticeRow(discharge.id);

    expect((await api('POST', `/api/notices/${assessment.id}/accept`, { reason: 'XYZ' })).status).toBe(400);
    expect((await api('POST', `/api/notices/${assessment.id}/accept`, { reason: 'OFT' })).status).toBe(400); // OFT needs text
    expect((await api('POST', `/api/notices/${assessment.id}/accept`, { reason: 'OFT', text: 'x' }, 'auditor')).status).toBe(403);
    const accepted = await api('POST', `/api/notices/${assessment.id}/accept`, { reason: 'OFT', text: 'Assessment allocated to the hospital team.' });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ id: assessment.id, state: 'accepted', answer: { answer: 'accept', event: '975711000000108', reasonCode: 'OFT', reasonText: 'Assessment allocated to the hospital team.', by: expect.stringMatching(/^user /) }, responseMessageId: expect.any(String) });
    const again = await api('POST', `/api/notices/${assessment.id}/reject`, { reason: 'OFT', text: 'no' });
    expect(again.status).toBe(409);
    expect(again.body.error.detail).toMatch(/accepted, not awaiting/);

    const out = await outFor(assessment.id);
    expect(out.control).toMatchObject({ workflowId: 'ADW_ASSESSMENT_RESPONSE', fromDts: 'X26OT123', toDts: MAILBOX, localId: accepted.body.responseMessageId });
    expect(out.parsed.format).toBe('xml');
    expectSameResponse(out.parsed.bundle, buildResponse(parseAdw(assessment.text).bundle, { answer: 'accept', reason: { code: 'OFT', display: 'Other - Free Text', text: 'Assessment allocated to the hospital team.' }, responder: { family: 'Quayle', given: ['Tomasz'] } }));

    const rejected = await api('POST', `/api/notices/${discharge.id}/reject`, { reason: 'OFT', text: 'Package of care not yet in place.' });
    expect(rejected.body).toMatchObject({ state: 'rejected', answer: { event: '975831000000106' } });
    const out2 = await outFor(discharge.id);
    expect(out2.control.workflowId).toBe('ADW_DISCHARGE_RESPONSE');
    expectSameResponse(out2.parsed.bundle, buildResponse(parseAdw(discharge.text).bundle, { answer: 'reject', reason: { code: 'OFT', display: 'Other - Free Text', text: 'Package of care not yet in place.' }, responder: { family: 'Quayle', given: ['Tomasz'] } }));

    // The decision is in the notice's history and the audit trail; so is the answer sent.
    const events = (await e.running.opened.store.events(accepted.body.messageId)).map((x) => x.event);
    expect(events).toEqual(expect.arrayContaining(['notice-received', 'notice-accepted']));
    await eventually(async () => {
      const actions = await auditActions([accepted.body.messageId, accepted.body.responseMessageId]);
      return ['message.notice-received', 'message.notice-accepted', 'message.received', 'message.delivered', 'POST /api/notices/:id/accept'].every((a) => actions.includes(a));
    }, 15000, 'the audit entries of the notice, the decision and the answer sent');
  }, 60000);

  test('a discharge agreement with a letter: the response carries it as an ITK document Bundle, valid DSTU2', async () => {
    const discharge = variant(DISCHARGE_XML, { episode: 'ep-letter' });
    drop(discharge.text);
    await noticeRow(discharge.id);
    const pdf = Buffer.from('%PDF-1.5\n% care plan letter\n');
    const bad = await api('POST', `/api/notices/${discharge.id}/accept`, { reason: 'OFT', text: 'Care package in place.', letter: { contentType: 'application/x-sh', data: pdf.toString('base64') } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.detail).toMatch(/cannot be attached/);
    const accepted = await api('POST', `/api/notices/${discharge.id}/accept`, {
      reason: 'OFT', text: 'Care package in place.',
      letter: { contentType: 'application/pdf', data: pdf.toString('base64'), careSetting: { code: '408458006', display: 'Specialist multidisciplinary team (qualifier value)' } },
    });
    expect(accepted.status).toBe(200);
    const out = await outFor(discharge.id);
    expect(validateDstu2(out.parsed.bundle)).toEqual([]);
    const resources = (out.parsed.bundle.entry as { resource: any }[]).map((x) => x.resource); // eslint-disable-line @typescript-eslint/no-explicit-any
    const document = resources.find((r) => r.resourceType === 'Bundle');
    expect(resources[1].supportingInformation).toEqual([{ reference: `urn:uuid:${document.id}` }]);
    expect(document.meta.profile).toEqual(['https://fhir.nhs.uk/StructureDefinition/ITK-Document-Bundle-1']);
    const binary = document.entry.map((x: { resource: any }) => x.resource).find((r: { resourceType: string }) => r.resourceType === 'Binary'); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(binary.contentType).toBe('application/pdf');
    expect(Buffer.from(binary.content, 'base64')).toEqual(pdf);
  }, 60000);

  test('a notice that is not valid DSTU2 where an answer must echo it is rejected at intake; resource types ADW does not name are let through', async () => {
    // The hospital's birth date is not a FHIR date: taken, the notice could never be answered validly.
    const badDate = variant(ASSESSMENT_XML.replace('<birthDate value="1938-03-14"', '<birthDate value="14/03/1938"'), { episode: 'ep-invalid' });
    const base = drop(badDate.text);
    await eventually(async () => processed(base), 15000, `${base} moved`);
    const out = await outFor(badDate.id);
    expect(out.control).toMatchObject({ workflowId: 'ADW_REJECTION' });
    const outcome = (out.parsed.bundle.entry as { resource: any }[])[1].resource; // eslint-disable-line @typescript-eslint/no-explicit-any
    const said = JSON.stringify(outcome.issue);
    expect(said).toMatch(/birthDate.*not valid DSTU2: not a valid date|not valid DSTU2: not a valid date.*birthDate/);
    expect(said).not.toContain('1938');
    const [m] = await e.running.opened.store.list({ controlId: badDate.id });
    expect(m).toMatchObject({ status: 'rejected' });
    expect(m.error).not.toContain('1938');
    expect((await api('GET', `/api/notices/${badDate.id}`)).status).toBe(404);

    const extra = variant(ASSESSMENT_JSON, { episode: 'ep-extra' });
    const bundle = JSON.parse(extra.text);
    bundle.entry.push({ fullUrl: 'urn:uuid:5f1c2b9e-3d4a-4b8e-9c1d-2e3f4a5b6c7d', resource: { resourceType: 'Observation', id: '5f1c2b9e-3d4a-4b8e-9c1d-2e3f4a5b6c7d', status: 'final', code: { text: 'Falls risk' } } });
    extra.text = JSON.stringify(bundle);
    drop(extra.text);
    expect((await noticeRow(extra.id)).notice.state).toBe('awaiting');
  }, 60000);

  test('recover: a held answer the notice records is released and sent; one it does not is marked never sent once settled', async () => {
    const service = e.running.engine.notices!;
    const claimed = variant(ASSESSMENT_XML, { episode: 'ep-held1' });
    const unclaimed = variant(ASSESSMENT_XML, { episode: 'ep-held2' });
    drop(claimed.text);
    drop(unclaimed.text);
    await noticeRow(claimed.id);
    await noticeRow(unclaimed.id);
    // What a stop between storing and queueing leaves: answers stored held, one recorded by its notice.
    const held = async (text: string) => {
      const body = serialiseAdw(buildResponse(parseAdw(text).bundle, { answer: 'accept', reason: { code: 'OFT', display: 'Other - Free Text', text: 'x' }, responder: { family: 'Quayle', given: ['Tomasz'] } }), 'xml');
      return service.storeOut({ channel: 'adt-in', type: 'assessment', replyTo: MAILBOX }, 'response', body, `held-${Date.now()}-${Math.random()}`, 'filtered', HELD_RESPONSE);
    };
    const heldClaimed = await held(claimed.text);
    const heldUnclaimed = await held(unclaimed.text);
    const notices = new SqlNoticeStore(e.running.opened.db, e.running.opened.keys);
    expect(await notices.answer(claimed.id, 'accepted', { answer: 'accept', event: '975711000000108', reasonCode: 'OFT', by: 'user test', at: new Date() }, heldClaimed)).toBe(true);

    expect(await service.recover()).toBeGreaterThanOrEqual(1);
    expect((await e.running.opened.store.get(heldUnclaimed))).toMatchObject({ status: 'filtered', error: HELD_RESPONSE }); // not yet settled
    const out = await outFor(claimed.id); // the backlog sends the released one
    expect(out.control.localId).toBe(heldClaimed);
    await service.recover(0);
    expect((await e.running.opened.store.get(heldUnclaimed))).toMatchObject({ status: 'filtered', error: UNCLAIMED_RESPONSE });
    expect((await noticeRow(unclaimed.id)).notice.state).toBe('awaiting');
  }, 60000);

  test('a response arriving for a notice is recognised and correlated: each answer shape', async () => {
    const shapes = [
      [ASSESSMENT_XML, 'accept', 'accepted'], [ASSESSMENT_XML, 'reject', 'rejected'],
      [DISCHARGE_XML, 'accept', 'accepted'], [DISCHARGE_XML, 'reject', 'rejected'],
      [WITHDRAWAL_XML, 'accept', 'accepted'], [WITHDRAWAL_XML, 'reject', 'rejected'],
    ] as const;
    let i = 0;
    for (const [text, answer, state] of shapes) {
      const notice = variant(text, { episode: `ep-resp-${i++}` });
      drop(notice.text);
      await noticeRow(notice.id);
      const response = buildResponse(parseAdw(notice.text).bundle, { answer, reason: { code: 'OFT', display: 'Other - Free Text', text: 'by the case system' }, responder: { family: 'Quayle', given: [] } });
      expect(checkAdw(response)).toEqual([]);
      drop(serialiseAdw(response, 'json'));
      const row = await eventually(async () => { const r = (await noticeRow(notice.id)).notice; return r.state !== 'awaiting' && r; }, 15000, `notice ${notice.id} answered`);
      expect(row).toMatchObject({ state, answer: { answer, by: expect.stringMatching(/^response /) } });
      const responseId = String(messageHeader(response)?.id);
      expect((await e.running.opened.store.list({ controlId: responseId }))[0]).toMatchObject({ status: 'filtered' });
      expect((await inboxRows()).some((r) => r.control_id === responseId)).toBe(false);
    }
  }, 90000);

  test('auto-accept: an assessment from a listed hospital is accepted by the rule, and the response sent', async () => {
    const v = variant(ASSESSMENT_XML, { episode: 'ep-auto', hospital: 'RZZ8B' });
    drop(v.text);
    const row = await eventually(async () => { const r = (await noticeRow(v.id)).notice; return r.state === 'accepted' && r; }, 15000, 'auto-accepted');
    expect(row.answer).toMatchObject({ answer: 'accept', reasonCode: 'OFT', by: 'rule hospital-team', reasonText: 'Accepted automatically (rule hospital-team).' });
    const out = await outFor(v.id);
    expect((messageHeader(out.parsed.bundle) as any).destination).toEqual([{ endpoint: 'urn:nhs-uk:addressing:ods:RZZ8B' }]); // eslint-disable-line @typescript-eslint/no-explicit-any
  }, 30000);

  test('overdue is computed: awaiting and past due', async () => {
    const v = variant(DISCHARGE_XML, { episode: 'ep-late' });
    drop(v.text);
    await noticeRow(v.id);
    expect((await api('GET', '/api/notices?state=overdue')).body.notices.map((x: { id: string }) => x.id)).not.toContain(v.id);
    const db = e.running.opened.db.kysely as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    await db.updateTable('notices').set({ due_at: Date.now() - 1000 }).where('id', '=', v.id).execute();
    const overdue = await api('GET', '/api/notices?state=overdue&type=discharge');
    expect(overdue.body.notices.find((x: { id: string }) => x.id === v.id)).toMatchObject({ state: 'awaiting', overdue: true });
    const store = new SqlNoticeStore(e.running.opened.db, e.running.opened.keys);
    expect((await store.get(v.id, new Date(0)))?.overdue).toBe(false);
    expect((await api('GET', '/api/notices?state=late')).status).toBe(400);
  }, 30000);

  test("showing a notice gives the person's details and records the view", async () => {
    const v = variant(ASSESSMENT_XML, { episode: 'ep-show' });
    drop(v.text);
    const { notice } = await noticeRow(v.id);
    const shown = await api('GET', `/api/notices/${v.id}`);
    expect(shown.body.content.person).toMatchObject({ nhsNumber: '9997654323', names: [expect.objectContaining({ family: 'Fenwick' })] });
    expect(shown.body.content.ward).toBe('Heron Ward');
    const list = await api('GET', '/api/notices?type=assessment');
    expect(JSON.stringify(list.body)).not.toMatch(/9997654323|Fenwick/);
    expect((await e.running.opened.store.events(notice.messageId)).map((x) => x.event)).toContain('notice-viewed');
  }, 30000);

  test('HTTP inbound: XML and JSON stored (201), a repeat says duplicate (200), bad input is 422 with each problem', async () => {
    const xml = variant(ASSESSMENT_XML, { episode: 'ep-http1' });
    const json = variant(ASSESSMENT_JSON, { episode: 'ep-http2' });
    const post = (body: string, type: string, role: 'sender' | 'operator' = 'sender') => api('POST', '/inbound/adt-in/notices', body, role, type);
    const first = await post(xml.text, 'application/fhir+xml');
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ severity: 'information', diagnostics: expect.stringContaining(`assessment notice ${xml.id}`) }] });
    const dup = await post(xml.text, 'application/fhir+xml');
    expect(dup.status).toBe(200);
    expect(dup.body.issue[0]).toMatchObject({ code: 'duplicate', diagnostics: expect.stringMatching(/^duplicate/) });
    expect((await post(json.text, 'application/fhir+json')).status).toBe(201);
    expect((await noticeRow(json.id)).notice).toMatchObject({ transport: 'http', format: 'json', state: 'awaiting' });
    expect((await noticeRow(json.id)).notice.replyTo).toBeUndefined();
    await eventually(async () => (await inboxRows()).some((r) => r.control_id === xml.id));
    // Its answer has no mailbox: routed as adw-out.http.…, which this channel sends nowhere (kept, not sent).
    const answered = await api('POST', `/api/notices/${json.id}/accept`, { reason: 'OFT', text: 'ok' });
    expect(answered.body.state).toBe('accepted');
    const response = await e.running.opened.store.get(answered.body.responseMessageId);
    expect(response).toMatchObject({ status: 'filtered', messageType: 'ADW-OUT^response^assessment', error: 'no destination of channel adt-in routes adw-out.http.response.assessment' });

    const bad = variant(ASSESSMENT_XML);
    bad.text = bad.text.replace('9997654323', '9997654324').replace('<code value="975701000000106"/>', '<code value="1"/>');
    const rejected = await post(bad.text, 'application/fhir+xml');
    expect(rejected.status).toBe(422);
    expect(rejected.body.issue).toEqual(expect.arrayContaining([
      expect.objectContaining({ severity: 'error', code: 'not-supported', location: ['Bundle.entry[0].resource.event.code'] }),
      expect.objectContaining({ code: 'invalid', diagnostics: 'NHS number is not 10 digits with a valid Modulus 11 check digit' }),
    ]));
    expect(JSON.stringify(rejected.body)).not.toMatch(/9997654324/);
    expect((await post('{"resourceType": ', 'application/json')).status).toBe(422);
    expect((await post(xml.text, 'text/plain')).status).toBe(415);
    expect((await post(xml.text, 'application/fhir+xml', 'operator')).status).toBe(403);
    expect((await api('POST', '/inbound/nope/notices', xml.text, 'sender', 'application/fhir+xml')).status).toBe(404);
  }, 30000);

  if (backend === 'sqlite') {
    test('CLI: list, reject with a reason, and a clear error for an answered notice', async () => {
      const v = variant(DISCHARGE_XML, { episode: 'ep-cli' });
      drop(v.text);
      await noticeRow(v.id);
      const list = await runCli(['notices', 'list', '--state', 'awaiting', '--type', 'discharge', '--json'], e.env, e.dir);
      expect(list.code).toBe(0);
      expect(JSON.parse(list.stdout).map((x: { id: string }) => x.id)).toContain(v.id);
      const bad = await runCli(['notices', 'reject', v.id, '--reason', 'NOPE'], e.env, e.dir);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/reason code "NOPE" is not one this channel allows/);
      const rejected = await runCli(['notices', 'reject', v.id, '--reason', 'OFT', '--text', 'Awaiting a care home place.'], e.env, e.dir);
      expect(rejected.stderr).toBe('');
      expect(rejected.code).toBe(0);
      expect(rejected.stdout).toMatch(new RegExp(`notice ${v.id} rejected; response .+ queued`));
      const out = await outFor(v.id);
      expect(out.control).toMatchObject({ workflowId: 'ADW_DISCHARGE_RESPONSE', toDts: MAILBOX });
      expectSameResponse(out.parsed.bundle, buildResponse(parseAdw(v.text).bundle, { answer: 'reject', reason: { code: 'OFT', display: 'Other - Free Text', text: 'Awaiting a care home place.' }, responder: { family: 'Quayle', given: ['Tomasz'] } }));
      const twice = await runCli(['notices', 'accept', v.id, '--reason', 'OFT', '--text', 'x'], e.env, e.dir);
      expect(twice.code).toBe(1);
      expect(twice.stderr).toMatch(/is rejected, not awaiting an answer/);
      const missing = await runCli(['notices', 'show', 'no-such-notice'], e.env, e.dir);
      expect(missing.stderr).toMatch(/no notice no-such-notice/);
      // The CLI's decision in the audit trail, its free text not quoted.
      const db = e.running.opened.db.kysely as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      const cli: { detail: string }[] = await db.selectFrom('audit_log').select('detail').where('action', '=', 'cli.notices.reject').where('outcome', '=', 'success').execute();
      expect(cli).toHaveLength(1);
      expect(JSON.parse(cli[0].detail)).toMatchObject({ reason: 'OFT', text: '(given)' });
    }, 120000);

    test('CLI: accept a discharge notice with a letter (--letter)', async () => {
      const v = variant(DISCHARGE_XML, { episode: 'ep-cli-letter' });
      drop(v.text);
      await noticeRow(v.id);
      const file = path.join(e.dir, 'care-plan.pdf');
      writeFileSync(file, '%PDF-1.5\n% from the CLI\n');
      const unknown = await runCli(['notices', 'accept', v.id, '--reason', 'OFT', '--text', 'x', '--letter', path.join(e.dir, 'letter.xyz')], e.env, e.dir);
      expect(unknown.code).toBe(1);
      expect(unknown.stderr).toMatch(/--letter-type is needed/);
      const accepted = await runCli(['notices', 'accept', v.id, '--reason', 'OFT', '--text', 'Care package in place.', '--letter', file], e.env, e.dir);
      expect(accepted.stderr).toBe('');
      expect(accepted.code).toBe(0);
      const out = await outFor(v.id);
      expect(validateDstu2(out.parsed.bundle)).toEqual([]);
      const document = (out.parsed.bundle.entry as { resource: any }[]).map((x) => x.resource).find((r) => r.resourceType === 'Bundle'); // eslint-disable-line @typescript-eslint/no-explicit-any
      const binary = document.entry.map((x: { resource: any }) => x.resource).find((r: { resourceType: string }) => r.resourceType === 'Binary'); // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(binary.contentType).toBe('application/pdf');
      expect(Buffer.from(binary.content, 'base64').toString()).toBe('%PDF-1.5\n% from the CLI\n');
    }, 120000);
  }
});

/** Two response Bundles agree field by field once their fresh ids and timestamps are set aside. */
function expectSameResponse(actual: JsonObject, expected: JsonObject): void {
  const normalise = (b: JsonObject) => {
    const ids = new Map<string, string>();
    const text = JSON.stringify(b);
    let k = 0;
    for (const m of text.matchAll(/"id":"([^"]+)"/g)) if (!ids.has(m[1])) ids.set(m[1], `id-${k++}`);
    let out = text;
    for (const [id, name] of ids) out = out.split(id).join(name);
    const parsed = JSON.parse(out);
    parsed.entry[0].resource.timestamp = 'T';
    return parsed;
  };
  // Resource ids are fresh UUIDs, but references to the notice's own resources stay; compare in order.
  expect(normalise(actual)).toEqual(normalise(expected));
}
