// HTTP destination against a real HTTP server in its own process, answering per a script.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { HttpDestination, type HttpDestinationOptions } from '../../adapters/http/destination.js';
import type { Envelope } from '../../core/queue.js';
import { freePort } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';
import { adtEnvelope, deliveryFailure } from '../support/delivery.js';

const envelope = (controlId: string, body?: string): Envelope => adtEnvelope(controlId, NHS_NUMBERS[0], body);
const failure = deliveryFailure;

describe('HTTP destination', () => {
  let peer: HttpPeer;
  const destinations: HttpDestination[] = [];

  async function destination(path: string, opts: Partial<HttpDestinationOptions> = {}, env: NodeJS.ProcessEnv = {}): Promise<HttpDestination> {
    const d = new HttpDestination({ url: `${peer.url}${path}?tenant=x`, method: 'POST', format: 'json', headers: {}, auth: { type: 'none' }, timeoutMs: 5000, ...opts }, env);
    await d.open();
    destinations.push(d);
    return d;
  }

  beforeAll(async () => {
    peer = await startHttpPeer();
  });

  afterAll(async () => {
    await Promise.all(destinations.map((d) => d.close()));
    await peer?.close();
  });

  test('posts the message as JSON with metadata, an Idempotency-Key and configured headers', async () => {
    await peer.plan({ '/json': [{ status: 201, body: { id: 'case-42' } }] });
    const d = await destination('/json', { headers: { 'X-Council': 'blackpool' } });
    const e = envelope('HTTP0001');
    // The receiver's answer is the delivery's response; an empty one reports nothing.
    expect(await d.deliver(e)).toEqual({ response: '{"id":"case-42"}' });
    const [req] = await peer.requests('/json');
    expect(req.method).toBe('POST');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['idempotency-key']).toBe('msg-HTTP0001');
    expect(req.headers['x-council']).toBe('blackpool');
    expect(req.headers.authorization).toBeUndefined();
    expect(JSON.parse(Buffer.from(req.body, 'base64').toString('utf8'))).toEqual({
      messageId: 'msg-HTTP0001',
      channel: 'adt-in',
      messageType: 'ADT^A01',
      sendingFacility: 'RCB',
      controlId: 'HTTP0001',
      receivedAt: '2026-06-15T09:30:01.000Z',
      hl7: e.body,
    });
  });

  test('format hl7 sends the HL7 text in its MSH-18 character set, with PUT and bearer auth', async () => {
    await peer.plan({ '/hl7': [{ status: 204 }] });
    const d = await destination('/hl7', { format: 'hl7', method: 'PUT', auth: { type: 'bearer', tokenEnv: 'CASE_TOKEN' } }, { CASE_TOKEN: 's3cret' });
    const body = adt({ controlId: 'HTTPLAT1', family: 'MÜLLER', charset: '8859/1' });
    expect(await d.deliver(envelope('HTTPLAT1', body))).toBeUndefined();
    const [req] = await peer.requests('/hl7');
    expect(req.method).toBe('PUT');
    expect(req.headers['content-type']).toBe('x-application/hl7-v2+er7; charset=iso-8859-1');
    expect(req.headers.authorization).toBe('Bearer s3cret');
    expect(Buffer.from(req.body, 'base64')).toEqual(Buffer.from(body, 'latin1'));
  });

  test('a configured Content-Type wins; the Idempotency-Key is always the message id', async () => {
    const d = await destination('/ctype', { format: 'hl7', headers: { 'Content-Type': 'application/edi-hl7', 'Idempotency-Key': 'mine' } });
    await d.deliver(envelope('HTTPCT1'));
    const [req] = await peer.requests('/ctype');
    expect(req.headers['content-type']).toBe('application/edi-hl7');
    expect(req.headers['idempotency-key']).toBe('msg-HTTPCT1');
  });

  test('basic auth takes the password from the environment', async () => {
    const d = await destination('/basic', { auth: { type: 'basic', username: 'tramline', passwordEnv: 'CASE_PASSWORD' } }, { CASE_PASSWORD: 'pa:ss' });
    await d.deliver(envelope('HTTPB1'));
    const [req] = await peer.requests('/basic');
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from('tramline:pa:ss').toString('base64')}`);
  });

  test('a missing secret stops open() with the variable named', async () => {
    const d = new HttpDestination({ url: `${peer.url}/x`, method: 'POST', format: 'json', headers: {}, auth: { type: 'bearer', tokenEnv: 'NOT_SET_ANYWHERE' }, timeoutMs: 1000 }, {});
    await expect(d.open()).rejects.toThrow(/NOT_SET_ANYWHERE/);
  });

  test('503 three times then 200: retryable three times, then delivered', async () => {
    await peer.plan({ '/flaky': [{ status: 503, times: 3, body: 'down for maintenance' }, { status: 200 }] });
    const d = await destination('/flaky');
    const e = envelope('HTTPFLAKY');
    for (let i = 0; i < 3; i++) {
      const err = await failure(d.deliver(e));
      expect(err.retryable).toBe(true);
      expect(err.message).toBe(`POST ${peer.url}/flaky: HTTP 503 Service Unavailable`);
      expect(err.retryAfterMs).toBeUndefined();
    }
    await d.deliver(e);
    const reqs = await peer.requests('/flaky');
    expect(reqs.map((r) => r.status)).toEqual([503, 503, 503, 200]);
    // Every attempt carries the same key, so the receiver can drop duplicates.
    expect(new Set(reqs.map((r) => r.headers['idempotency-key']))).toEqual(new Set(['msg-HTTPFLAKY']));
  });

  test('400 with an OperationOutcome is permanent; the error keeps the status and issue codes, not the content', async () => {
    const diagnostics = 'NHS number failed the check digit. '.repeat(20);
    await peer.plan({
      '/reject': [
        {
          status: 400,
          body: {
            resourceType: 'OperationOutcome',
            issue: [{ severity: 'error', code: 'invalid', diagnostics }],
            contained: [{ resourceType: 'Patient', name: [{ family: 'TESTPERSON' }] }],
          },
        },
      ],
    });
    const d = await destination('/reject');
    const err = await failure(d.deliver(envelope('HTTPREJ')));
    expect(err.retryable).toBe(false);
    expect(err.message).toMatch(new RegExp(`^POST ${peer.url}/reject: HTTP 400 Bad Request \\(invalid: NHS number failed the check digit\\.`));
    expect(err.message).not.toContain('TESTPERSON');
    expect(err.message).not.toContain('tenant=x');
    expect(err.message.length).toBeLessThan(300);
    expect(err.detail).toEqual({ status: 400, issues: ['invalid'] });
  });

  test('a 404 with a plain body is permanent and carries only the status line', async () => {
    await peer.plan({ '/gone': [{ status: 404, body: `no such person ${NHS_NUMBERS[0]}` }] });
    const d = await destination('/gone');
    const err = await failure(d.deliver(envelope('HTTP404')));
    expect(err.retryable).toBe(false);
    expect(err.message).toBe(`POST ${peer.url}/gone: HTTP 404 Not Found`);
  });

  test.each([
    [429, { 'retry-after': '7' }, 7000],
    [503, { 'retry-after': 'Wed, 21 Oct 2099 07:28:00 GMT' }, 'future'],
    [408, {}, undefined],
    [425, {}, undefined],
    [502, {}, undefined],
  ] as const)('%i is retryable and honours Retry-After (%j)', async (status, headers, expected) => {
    const path = `/status-${status}`;
    await peer.plan({ [path]: [{ status, headers }] });
    const d = await destination(path);
    const err = await failure(d.deliver(envelope(`HTTP${status}`)));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain(`HTTP ${status}`);
    if (expected === 'future') expect(err.retryAfterMs).toBeGreaterThan(365 * 24 * 3600 * 1000);
    else expect(err.retryAfterMs).toBe(expected);
  });

  test('a response slower than the timeout is retryable', async () => {
    await peer.plan({ '/slow': [{ status: 200, delayMs: 3000 }] });
    const d = await destination('/slow', { timeoutMs: 300 });
    const err = await failure(d.deliver(envelope('HTTPSLOW')));
    expect(err.retryable).toBe(true);
    expect(err.message).toBe(`POST ${peer.url}/slow: no response within 300 ms`);
  });

  test('connection refused is retryable', async () => {
    const port = await freePort();
    const d = new HttpDestination({ url: `http://127.0.0.1:${port}/inbox`, method: 'POST', format: 'json', headers: {}, auth: { type: 'none' }, timeoutMs: 2000 });
    await d.open();
    const err = await failure(d.deliver(envelope('HTTPREFUSED')));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ECONNREFUSED');
  });

  test('a long answer is kept as the response up to 64 KB, and the delivery stands', async () => {
    await peer.plan({ '/long': [{ status: 200, body: 'x'.repeat(200 * 1024) }] });
    const d = await destination('/long');
    const report = await d.deliver(envelope('HTTPLONG'));
    expect(report?.response).toBe('x'.repeat(64 * 1024));
  });

  test('a redirect is not followed and is permanent', async () => {
    await peer.plan({ '/moved': [{ status: 301, headers: { location: '/elsewhere' } }] });
    const d = await destination('/moved');
    const err = await failure(d.deliver(envelope('HTTPMOVED')));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('HTTP 301');
    expect(await peer.requests('/elsewhere')).toEqual([]);
  });
});
