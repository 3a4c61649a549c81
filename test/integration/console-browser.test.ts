// The web console in a real browser (Debian's Chromium driven by playwright-core) against a real
// engine process: sign in through the development sign-in page, watch an ADT sent over MLLP
// arrive on the dashboard without a reload, find it, open it, read its content, reprocess it;
// an operator sees no content, a clinician is refused; every page passes axe (WCAG 2.2 AA: no
// serious or critical violations) and breaks no Content-Security-Policy rule.
// Chromium must be installed (`.ci/run` installs Debian's `chromium` when it is absent): without
// it this test fails, it does not skip.
// TRAMLINE_SCREENSHOTS=1 also writes each page's screenshot to docs/console/ (docs/console.md).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { MllpClient } from '../../adapters/mllp/client.js';
import { ConsoleBrowser, expectAccessible, screenshot, signIn, auditEntries as readAuditTrail } from '../support/console-browser.js';
import { eventually, prepareEngine, ROOT, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

const CONTROL_ID = 'CONSOLE0001';

let e: EngineEnv;
let engine: EngineProcess;
let browser: ConsoleBrowser;
let base: string;
let senderToken: string;
const newPage = () => browser.newPage();

const auditEntries = () => readAuditTrail(e.env);

beforeAll(async () => {
  e = await prepareEngine({
    extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_LPRES_URL: '' },
    // ADT mapped to FHIR and sent to the engine's own sandbox shared care record.
    channelYaml: (port) => `id: adt-in
name: ADT to the shared care record
source: { type: mllp, host: 127.0.0.1, port: ${port} }
pipeline:
  filter: { messageTypes: [ADT] }
  map: hl7v2-adt-to-fhir
destinations:
  - name: shared-record
    type: fhir
    retry: { maxAttempts: 5, initialDelayMs: 100 }
`,
  });
  // Social care records pushed over HTTP by a case system: mapped, stored as a FHIR bundle, sent.
  writeFileSync(
    path.join(e.dir, 'channels', 'cld-push.yaml'),
    `id: cld-push
name: Social care records pushed by the case system
source: { type: http, maxRecords: 50 }
pipeline: { recordFormat: cld, map: social-care-cld-to-fhir }
destinations:
  - { name: shared-record, type: fhir, retry: { maxAttempts: 5, initialDelayMs: 100 } }
`,
  );
  const created = await runCli(['tokens', 'create', '--name', 'case-system', '--role', 'sender'], e.env, e.dir);
  if (created.code !== 0) throw new Error(created.stderr);
  senderToken = created.stdout.trim().split('\n').pop()!.trim();
  engine = await startEngine(e);
  base = `http://127.0.0.1:${e.httpPort}`;
  browser = await ConsoleBrowser.launch(base);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
});

describe('web console', () => {
  let engineer: Page;
  let messageId: string;

  test('unauthenticated: / leads to the sign-in page; /api stays JSON', async () => {
    const page = await newPage();
    await page.goto('/');
    expect(new URL(page.url()).pathname).toBe('/sign-in');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in to Tramline');
    await expectAccessible(page);
    await screenshot(page, 'sign-in');
    const api = await page.request.get('/api/channels');
    expect(api.status()).toBe(401);
    expect(api.headers()['content-type']).toMatch(/application\/json/);
  });

  test('an engineer signs in through the development sign-in page and sees the dashboard', async () => {
    engineer = await newPage();
    await engineer.goto('/');
    await engineer.getByRole('link', { name: 'Sign in as a development user' }).click();
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Development sign-in');
    await expectAccessible(engineer);
    await screenshot(engineer, 'dev-sign-in');
    await engineer.getByLabel(/Eli Engineer \(engineer\)/).check();
    await engineer.getByRole('button', { name: 'Sign in' }).click();
    expect(new URL(engineer.url()).pathname).toBe('/');
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Dashboard');
    expect(await engineer.locator('.tl-signed-in').textContent()).toMatch(/Signed in as\s+Eli Engineer\s+\(engineer\)/);
    const cookies = await engineer.context().cookies();
    expect(cookies.map((c) => ({ name: c.name, httpOnly: c.httpOnly, sameSite: c.sameSite }))).toEqual([{ name: 'tramline-session', httpOnly: true, sameSite: 'Lax' }]);
    await expectAccessible(engineer);
  });

  test('an ADT sent over MLLP appears on the open dashboard without a reload', async () => {
    const card = engineer.locator('[data-channel="adt-in"]');
    expect(await card.locator('[data-count="hour-received"]').textContent()).toBe('0');
    // The live stream is connected once the first update has been swapped in.
    await engineer.waitForSelector('[data-live="on"]', { timeout: 20_000 });
    await engineer.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10_000 });
    try {
      const ack = await client.send(adt({ controlId: CONTROL_ID, nhsNumber: NHS_NUMBERS[0] }));
      expect(ack).toContain('MSA|AA|');
    } finally {
      await client.close();
    }
    await engineer.waitForFunction(() => document.querySelector('[data-channel="adt-in"] [data-count="hour-sent"]')?.textContent === '1', undefined, { timeout: 20_000 });
    expect(await card.locator('[data-count="hour-received"]').textContent()).toBe('1');
    expect(await card.locator('[data-count="day-received"]').textContent()).toBe('1');
    expect(await card.locator('.tl-sparkline title').textContent()).toContain('1 in all, at most 1 in 15 minutes');
    expect(await engineer.locator('[data-health]').textContent()).toMatch(/FHIR: adt-in\.shared-record, cld-push\.shared-record\s*OK\s*built-in sandbox/);
    expect(await engineer.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    await expectAccessible(engineer);
    await screenshot(engineer, 'dashboard');
  });

  test('a live update never takes the focus away from someone tabbing through the dashboard', async () => {
    const link = engineer.locator('[data-channel="adt-in"] h3 a');
    await link.focus();
    const before = await engineer.locator('[data-live-status]').textContent();
    await engineer.waitForFunction((text) => document.querySelector('[data-live-status]')?.textContent !== text, before, { timeout: 20_000 });
    expect(await link.evaluate((a) => a === document.activeElement && a.isConnected)).toBe(true);
  });

  test('the message is found by control id, opened, its content shown segment by segment', async () => {
    await engineer.getByRole('link', { name: 'Messages' }).click();
    await expectAccessible(engineer);
    await engineer.getByLabel('Control id').fill(CONTROL_ID);
    await engineer.getByRole('button', { name: 'Search' }).click();
    const rows = engineer.locator('tr[data-message]');
    expect(await rows.count()).toBe(1);
    messageId = (await rows.first().getAttribute('data-message'))!;
    await expectAccessible(engineer);
    await screenshot(engineer, 'messages');

    // By NHS number (as people write it, with spaces): the same message.
    await engineer.getByLabel('Control id').fill('');
    await engineer.getByLabel('NHS number').fill(NHS_NUMBERS[0].replace(/^(\d{3})(\d{3})/, '$1 $2 '));
    await engineer.getByRole('button', { name: 'Search' }).click();
    expect(await rows.count()).toBe(1);
    expect(await rows.first().getAttribute('data-message')).toBe(messageId);

    await rows.first().getByRole('link').click();
    expect(new URL(engineer.url()).pathname).toBe(`/messages/${messageId}`);
    expect(await engineer.locator('[data-status]').textContent()).toBe('sent');
    expect(await engineer.locator('.govuk-summary-list').textContent()).toContain(`nhs:${NHS_NUMBERS[0]}`);
    await expectAccessible(engineer);
    await screenshot(engineer, 'message');

    // Every stage: as received, then what the FHIR destination sent (the mapped Bundle) and got back.
    const stages = engineer.locator('[data-stages] tbody tr');
    expect(await stages.evaluateAll((rows) => rows.map((r) => [r.getAttribute('data-stage'), r.getAttribute('data-destination'), r.textContent!.replace(/\s+/g, ' ').trim()]))).toEqual([
      ['raw', '', 'Received (raw) the message'],
      ['sent', 'adt-in.shared-record', 'Sent to adt-in.shared-record adt-in.shared-record'],
      ['response', 'adt-in.shared-record', 'Response from adt-in.shared-record adt-in.shared-record'],
    ]);

    await engineer.getByRole('link', { name: 'Received (raw)' }).click();
    const pid = engineer.locator('[data-segment="PID"]');
    expect(await pid.locator('tr', { hasText: 'PID-5' }).textContent()).toMatch(/PID-5\s*Patient name\s*TESTPERSON\^ALEX/);
    await expectAccessible(engineer);
    await screenshot(engineer, 'message-content');
  });

  test('what the FHIR destination sent and the transaction-response it got back, pretty-printed', async () => {
    await engineer.goto(`/messages/${messageId}`);
    await engineer.getByRole('link', { name: 'Sent to adt-in.shared-record' }).click();
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Sent to adt-in.shared-record');
    const sent = (await engineer.locator('[data-json]').textContent())!;
    expect(sent).toMatch(/^\{\n {2}"resourceType": "Bundle",\n {2}"type": "transaction",/);
    expect(sent).toContain(NHS_NUMBERS[0]);
    await expectAccessible(engineer);
    await engineer.goto(`/messages/${messageId}`);
    await engineer.getByRole('link', { name: 'Response from adt-in.shared-record' }).click();
    expect(await engineer.locator('[data-json]').textContent()).toMatch(/^\{\n {2}"resourceType": "Bundle",\n(.|\n)*"type": "transaction-response"/);
    await expectAccessible(engineer);
  });

  test('a social care record pushed over HTTP: its FHIR bundle is shown pretty-printed', async () => {
    const [header, ...rows] = readFileSync(path.join(ROOT, 'channels/examples/extracts/cld-sample.csv'), 'utf8').trim().split('\n');
    const names = header.split(',');
    const records = rows.filter((r) => r.includes(',P1002,')).map((r) => Object.fromEntries(r.split(',').map((v, i) => [names[i], v])));
    const pushed = await fetch(`${base}/inbound/cld-push`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${senderToken}` }, body: JSON.stringify(records) });
    expect(pushed.status).toBe(202);
    await engineer.goto('/messages?channel=cld-push');
    await engineer.locator('tr[data-message] a').first().click();
    await engineer.getByRole('link', { name: 'Mapped (transformed)' }).click();
    expect(await engineer.locator('[data-json]').textContent()).toMatch(/^\{\n {2}"resourceType": "Bundle",\n {2}"type": "transaction",/);
    await expectAccessible(engineer);
    await screenshot(engineer, 'message-fhir', false);
  });

  test('reprocess: the form (with its CSRF token) queues the message again, recorded in its history', async () => {
    await engineer.goto(`/messages/${messageId}`);
    await engineer.getByRole('button', { name: 'Reprocess' }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain('The message was queued again');
    expect(await engineer.locator('[data-history]').textContent()).toContain('via console by dev.engineer');
    await expectAccessible(engineer);
    // Without the token nothing happens.
    const forged = await engineer.request.post(`/messages/${messageId}/reprocess`, { form: { _csrf: 'forged' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    const history = await engineer.request.get(`/messages/${messageId}`);
    expect((await history.text()).match(/reprocessed/g)).toHaveLength(1);
  });

  test('the channel page shows the summary, destinations, recent messages and the definition', async () => {
    await engineer.goto('/');
    await engineer.locator('[data-channel="adt-in"] h3 a').click();
    expect(new URL(engineer.url()).pathname).toBe('/channels/adt-in');
    expect(await engineer.locator('[data-definition]').textContent()).toContain('id: adt-in');
    expect(await engineer.locator('[data-definition]').textContent()).toContain('map: hl7v2-adt-to-fhir');
    expect(await engineer.getByRole('link', { name: new RegExp(CONTROL_ID) }).count()).toBe(1);
    await expectAccessible(engineer);
    await screenshot(engineer, 'channel');
  });

  test('a search with a wrong date shows the GOV.UK error summary', async () => {
    await engineer.goto('/messages?from=yesterday');
    expect(await engineer.locator('.govuk-error-summary').textContent()).toContain('Enter the start as a date and time');
    await expectAccessible(engineer);
  });

  test('an operator sees metadata but no content; a clinician cannot reach the console', async () => {
    const operator = await newPage();
    await signIn(operator, /Olu Operator \(operator\)/, `/messages/${messageId}`);
    expect(new URL(operator.url()).pathname).toBe(`/messages/${messageId}`);
    expect(await operator.locator('.govuk-summary-list').textContent()).not.toContain(NHS_NUMBERS[0]);
    expect(await operator.getByRole('link', { name: 'Received (raw)' }).count()).toBe(0);
    expect(await operator.locator('.govuk-inset-text').textContent()).toContain('shown only to engineers and administrators');
    const content = await operator.goto(`/messages/${messageId}/content/raw`);
    expect(content!.status()).toBe(403);
    expect(await operator.getByRole('heading', { level: 1 }).textContent()).toBe('You do not have access to this page');
    await expectAccessible(operator);

    const clinician = await newPage();
    await signIn(clinician, /Cleo Clinician \(clinician\)/);
    expect(new URL(clinician.url()).pathname).toBe('/viewer');
    const refused = await clinician.goto('/');
    expect(refused!.status()).toBe(403);
    expect(await clinician.getByRole('heading', { level: 1 }).textContent()).toBe('You do not have access to this page');
    expect(await clinician.getByRole('link', { name: 'Messages' }).count()).toBe(0);
    expect((await clinician.goto('/messages'))!.status()).toBe(403);
    await expectAccessible(clinician);
    await screenshot(clinician, 'forbidden');
  });

  test('sign-out ends the session', async () => {
    await engineer.goto('/');
    await engineer.getByRole('button', { name: 'Sign out' }).click();
    expect(new URL(engineer.url()).pathname).toBe('/sign-in');
    expect(await engineer.locator('.govuk-inset-text').textContent()).toContain('You have signed out');
    await engineer.goto('/messages');
    expect(new URL(engineer.url()).pathname).toBe('/sign-in');
  });

  test('sign-ins, sign-outs, page views, the content view and refusals are in the audit trail', async () => {
    const entries = await eventually(async () => {
      const all = await auditEntries();
      return all.some((x) => x.action === 'console.sign-out') ? all : undefined;
    });
    const find = (p: (x: (typeof entries)[number]) => boolean) => entries.filter(p);
    expect(find((x) => x.action === 'console.sign-in' && x.outcome === 'success').map((x) => x.actor?.id)).toEqual(['dev.engineer', 'dev.operator', 'dev.clinician']);
    expect(find((x) => x.action === 'console.sign-in')[0].actor?.kind).toBe('session');
    expect(find((x) => x.action === 'console.sign-out').map((x) => x.actor?.id)).toEqual(['dev.engineer']);
    expect(find((x) => x.action === 'console GET /' && x.actor?.id === 'dev.engineer' && x.outcome === 'success').length).toBeGreaterThan(0);
    expect(find((x) => x.action === 'console GET /' && x.outcome === 'unauthenticated').length).toBeGreaterThan(0);
    const contentViews = find((x) => x.category === 'view' && x.action === 'console GET /messages/:id/content/:stage' && x.outcome === 'success');
    expect(contentViews.map((x) => [x.actor?.id, x.detail?.stage, x.detail?.destination])).toEqual([
      ['dev.engineer', 'raw', undefined],
      ['dev.engineer', 'sent', 'adt-in.shared-record'],
      ['dev.engineer', 'response', 'adt-in.shared-record'],
      ['dev.engineer', 'transformed', undefined],
    ]);
    expect(contentViews.slice(0, 3).map((x) => [x.patient, x.messageId])).toEqual(Array(3).fill([NHS_NUMBERS[0], messageId]));
    // A social care record is filed under the person's key in the store (the case system's id).
    expect(contentViews[3].patient).toContain('P1002');
    expect(find((x) => x.action === 'console GET /messages/:id/content/:stage' && x.outcome === 'denied').map((x) => x.actor?.id)).toEqual(['dev.operator']);
    // A clinician lands on the viewer after sign-in: refused once, when the test asks for the console.
    expect(find((x) => x.action === 'console GET /' && x.outcome === 'denied').map((x) => x.actor?.id)).toEqual(['dev.clinician']);
    expect(find((x) => x.action === 'console POST /messages/:id/reprocess').map((x) => [x.actor?.id, x.outcome])).toEqual([
      ['dev.engineer', 'success'],
      ['dev.engineer', 'denied'],
    ]);
    expect(find((x) => x.action === 'console GET /messages' && x.patient === NHS_NUMBERS[0]).map((x) => x.actor?.id)).toEqual(['dev.engineer']);
    // No content and no name in any entry.
    expect(JSON.stringify(entries)).not.toContain('TESTPERSON');
  });

  test('no page broke its Content-Security-Policy or threw a script error', () => {
    expect(browser.problems).toEqual([]);
  });
});
