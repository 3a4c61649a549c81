// The console's actions in a real browser against a real engine process: an HTTP case system
// refuses ADTs (400, permanent) so they dead-letter; the dead letters are on the dead letters
// page (reached from the dashboard's count); once the case system is fixed one is replayed and
// delivered, another discarded with a reason, the rest replayed all at once after a
// confirmation; an operator is not offered discard and a forged discard is refused (403). An
// admin creates an API token (shown once), uses it against /api, revokes it (then 401). An
// engineer stops and starts a channel and redeploys from the channel files (an invalid file
// deploys nothing). Every page passes axe; every action is in the audit trail.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { ConsoleBrowser, expectAccessible, screenshot, signIn, auditEntries as readAuditTrail } from '../support/console-browser.js';
import { eventually, prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';

const CHANNEL = 'adt-dl';
const DEST = `${CHANNEL}.case-api`;
const REFUSED = { status: 400, body: { resourceType: 'OperationOutcome', issue: [{ severity: 'error', code: 'invalid', diagnostics: 'Unknown ward code' }] } };

let peer: HttpPeer;
let e: EngineEnv;
let engine: EngineProcess;
let browser: ConsoleBrowser;
let base: string;
/** Message id by control id. */
const ids: Record<string, string> = {};

const auditEntries = () => readAuditTrail(e.env);

async function sendAdt(controlId: string): Promise<void> {
  const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20_000 });
  try {
    expect(parseAckCode(await client.send(adt({ controlId, nhsNumber: NHS_NUMBERS[1] }))).code).toBe('AA');
  } finally {
    await client.close();
  }
}

/** Whether something accepts TCP connections on the port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The value of the session's CSRF token, as any signed-in page carries it (the sign-out form). */
const csrfOf = (page: Page) => page.locator('input[name="_csrf"]').first().inputValue();

beforeAll(async () => {
  peer = await startHttpPeer();
  await peer.plan({ '/adt': [REFUSED] });
  e = await prepareEngine({
    extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_LPRES_URL: '', CASE_API_URL: peer.url },
    channelYaml: (port) => `id: ${CHANNEL}
name: ADT to the case system
source: { type: mllp, host: 127.0.0.1, port: ${port} }
destinations:
  - name: case-api
    type: http
    url: \${CASE_API_URL}/adt
    retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 300 }
`,
  });
  engine = await startEngine(e);
  base = `http://127.0.0.1:${e.httpPort}`;
  browser = await ConsoleBrowser.launch(base);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
  await peer?.close();
});

describe('console actions', () => {
  let engineer: Page;
  let operator: Page;

  test('refused ADTs are on the dead letters page, reached from the dashboard, with reason, attempts and time', async () => {
    for (const c of ['DL-1', 'DL-2', 'DL-3']) await sendAdt(c);
    engineer = await browser.newPage();
    await signIn(engineer, /Eli Engineer \(engineer\)/);
    const count = engineer.locator(`[data-dead-letters="${DEST}"]`);
    await eventually(async () => {
      await engineer.goto('/');
      return (await count.textContent())?.trim().startsWith('3');
    }, 30_000, 'three dead letters on the dashboard');
    await count.getByRole('link').click();
    expect(new URL(engineer.url()).pathname + new URL(engineer.url()).search).toBe(`/dead-letters?destination=${encodeURIComponent(DEST)}`);
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe(`Dead letters of ${DEST}`);
    const rows = engineer.locator('tr[data-dead-letter]');
    expect(await rows.count()).toBe(3);
    for (let i = 0; i < 3; i++) {
      const row = rows.nth(i);
      const text = (await row.textContent())!;
      const controlId = /DL-\d/.exec(text)![0];
      ids[controlId] = (await row.getAttribute('data-dead-letter'))!;
      expect(await row.locator('[data-reason]').textContent()).toContain('HTTP 400 Bad Request');
      expect(text).toMatch(/\b1\b/);
      expect(text).toMatch(/\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    }
    expect(Object.keys(ids).sort()).toEqual(['DL-1', 'DL-2', 'DL-3']);
    await expectAccessible(engineer);
    await screenshot(engineer, 'dead-letters');

    // Every destination's page, from the navigation: the same three under the destination's heading.
    await engineer.getByRole('link', { name: 'Dead letters', exact: true }).click();
    expect(await engineer.locator(`[data-destination="${DEST}"] tr[data-dead-letter]`).count()).toBe(3);
    await expectAccessible(engineer);
  }, 90_000);

  test('an operator may replay but is not offered discard, and a forged discard is refused (403)', async () => {
    operator = await browser.newPage();
    await signIn(operator, /Olu Operator \(operator\)/, '/dead-letters');
    expect(new URL(operator.url()).pathname).toBe('/dead-letters');
    expect(await operator.locator('tr[data-dead-letter]').count()).toBe(3);
    expect(await operator.getByRole('button', { name: /Replay/ }).count()).toBe(3);
    expect(await operator.locator('input[type="checkbox"]').count()).toBe(0);
    expect(await operator.getByRole('button', { name: /Discard/ }).count()).toBe(0);
    await expectAccessible(operator);

    expect((await operator.goto(`/dead-letters/discard?destination=${encodeURIComponent(DEST)}&messageId=${ids['DL-2']}`))!.status()).toBe(403);
    await operator.goto('/dead-letters');
    // With the operator's own, valid CSRF token: the role is what refuses it.
    const forged = await operator.request.post('/dead-letters/discard', { form: { _csrf: await csrfOf(operator), destination: DEST, messageId: ids['DL-2'], reason: 'operator tries to discard' }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    await operator.reload();
    expect(await operator.locator('tr[data-dead-letter]').count()).toBe(3);
  });

  test('once the case system is fixed, replaying one delivers it, recorded in its history', async () => {
    await peer.plan({ '/adt': [{ status: 200 }] });
    await engineer.goto(`/dead-letters?destination=${encodeURIComponent(DEST)}`);
    await engineer.locator(`tr[data-dead-letter="${ids['DL-1']}"]`).getByRole('button', { name: /Replay/ }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain(`1 dead letter put back on the queue of ${DEST}`);
    expect(await engineer.locator('tr[data-dead-letter]').count()).toBe(2);
    await expectAccessible(engineer);
    await eventually(async () => {
      await engineer.goto(`/messages/${ids['DL-1']}`);
      return (await engineer.locator('[data-status]').textContent()) === 'sent';
    }, 30_000, 'the replayed message sent');
    expect(await engineer.locator('[data-history]').textContent()).toContain('via console by dev.engineer');
  }, 60_000);

  test('discarding asks for a reason on a confirmation page, then keeps it in the history', async () => {
    await engineer.goto(`/dead-letters?destination=${encodeURIComponent(DEST)}`);
    await engineer.getByLabel('Select DL-2').check();
    await engineer.getByRole('button', { name: /Discard selected/ }).click();
    expect(new URL(engineer.url()).pathname).toBe('/dead-letters/discard');
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe(`Discard a dead letter of ${DEST}?`);
    expect(await engineer.locator('[data-discarding]').textContent()).toContain('DL-2');
    await expectAccessible(engineer);
    await screenshot(engineer, 'dead-letters-discard');

    // No reason: nothing is discarded, the GOV.UK error summary says why.
    await engineer.getByRole('button', { name: 'Discard' }).click();
    expect(await engineer.locator('.govuk-error-summary').textContent()).toContain('Enter why these dead letters are discarded');
    await expectAccessible(engineer);

    await engineer.getByLabel('Why are they discarded?').fill('entered by hand in the case system');
    await engineer.getByRole('button', { name: 'Discard' }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain(`1 dead letter discarded from ${DEST}`);
    expect(await engineer.locator('tr[data-dead-letter]').count()).toBe(1);
    await engineer.goto(`/messages/${ids['DL-2']}`);
    expect(await engineer.locator('[data-history]').textContent()).toMatch(/discarded[\s\S]*entered by hand in the case system \(by dev\.engineer\)/);
    // Never sent: the case system saw it once (the 400).
    expect((await peer.requests('/adt')).filter((r) => r.headers['idempotency-key'] === ids['DL-2']).map((r) => r.status)).toEqual([400]);
  }, 60_000);

  test('replay all, after a confirmation page, empties the list and delivers the rest', async () => {
    await engineer.goto(`/dead-letters?destination=${encodeURIComponent(DEST)}`);
    await engineer.getByRole('link', { name: /Replay all/ }).click();
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe(`Replay every dead letter of ${DEST}?`);
    expect(await engineer.locator('main').textContent()).toContain('1 dead letter will be put back');
    await expectAccessible(engineer);
    await screenshot(engineer, 'dead-letters-replay-all');
    await engineer.getByRole('button', { name: 'Replay all' }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain('1 dead letter put back');
    expect(await engineer.locator('tr[data-dead-letter]').count()).toBe(0);
    await eventually(async () => {
      const delivered = (await peer.requests('/adt')).filter((r) => r.status === 200).map((r) => r.headers['idempotency-key']);
      return delivered.includes(ids['DL-3']) ? true : undefined;
    }, 30_000, 'DL-3 delivered');
    await engineer.goto('/dead-letters');
    expect(await engineer.locator('[data-no-dead-letters]').count()).toBe(1);
    await expectAccessible(engineer);
  }, 60_000);

  test('an admin creates an API token (shown once), it works against /api, and once revoked it gets 401', async () => {
    const admin = await browser.newPage();
    await signIn(admin, /Ada Admin \(admin\)/);
    await admin.getByRole('link', { name: 'API tokens' }).click();
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toBe('API tokens');
    await admin.getByRole('link', { name: 'Create a token' }).click();
    await expectAccessible(admin);

    // A wrong name comes back on the form.
    await admin.getByLabel('Name', { exact: true }).fill('has spaces');
    await admin.getByRole('button', { name: 'Create token' }).click();
    expect(await admin.locator('.govuk-error-summary').textContent()).toContain('The name must start with a letter or digit');
    await expectAccessible(admin);
    await screenshot(admin, 'token-new');

    await admin.getByLabel('Name', { exact: true }).fill('reporting');
    await admin.getByLabel('operator', { exact: true }).check();
    await admin.getByLabel('Expires after (days)').fill('30');
    await admin.getByRole('button', { name: 'Create token' }).click();
    expect(await admin.locator('.govuk-panel').textContent()).toContain('reporting (operator)');
    expect(await admin.locator('.govuk-warning-text').textContent()).toContain('only time it is shown');
    const secret = await admin.locator('[data-token-secret]').inputValue();
    expect(secret).toMatch(/^tl_[A-Za-z0-9_-]{40,}$/);
    await expectAccessible(admin);
    await screenshot(admin, 'token-created');

    const withToken = () => fetch(`${base}/api/channels`, { headers: { authorization: `Bearer ${secret}` } });
    const ok = await withToken();
    expect(ok.status).toBe(200);
    expect(((await ok.json()) as { channels: { id: string }[] }).channels.map((c) => c.id)).toEqual([CHANNEL]);

    // The list never shows a secret again.
    await admin.goto('/tokens');
    const row = admin.locator('tr[data-token="reporting"]');
    expect(await row.textContent()).toMatch(/operator/);
    expect(await admin.content()).not.toContain(secret);
    await expectAccessible(admin);
    await screenshot(admin, 'tokens');

    await row.getByRole('link', { name: /Revoke/ }).click();
    expect(await admin.getByRole('heading', { level: 1 }).textContent()).toBe('Revoke the token reporting?');
    await expectAccessible(admin);
    await admin.getByRole('button', { name: 'Revoke token' }).click();
    expect(await admin.locator('.govuk-notification-banner').textContent()).toContain('The token reporting was revoked');
    expect(await admin.locator('tr[data-token="reporting"]').count()).toBe(0);
    expect((await withToken()).status).toBe(401);

    // Engineers do not manage tokens: not in their menu, refused.
    expect(await engineer.getByRole('link', { name: 'API tokens' }).count()).toBe(0);
    expect((await engineer.goto('/tokens'))!.status()).toBe(403);
  }, 60_000);

  test('an engineer stops and starts a channel from its page, after confirming; the dashboard shows the state', async () => {
    const tag = () => engineer.locator(`[data-channel="${CHANNEL}"] h3 .govuk-tag`).textContent();
    await engineer.goto('/');
    expect(await tag()).toBe('Running');
    await engineer.goto(`/channels/${CHANNEL}`);
    await engineer.getByRole('link', { name: 'Stop channel' }).click();
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Stop the channel ADT to the case system?');
    await expectAccessible(engineer);
    await screenshot(engineer, 'channel-stop');
    await engineer.getByRole('button', { name: 'Stop channel' }).click();
    expect(new URL(engineer.url()).pathname).toBe(`/channels/${CHANNEL}`);
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain(`The channel ${CHANNEL} was stopped`);
    expect(await listening(e.mllpPort)).toBe(false);
    await expectAccessible(engineer);
    await engineer.goto('/');
    expect(await tag()).toBe('Stopped');

    await engineer.goto(`/channels/${CHANNEL}`);
    await engineer.getByRole('link', { name: 'Start channel' }).click();
    await expectAccessible(engineer);
    await engineer.getByRole('button', { name: 'Start channel' }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain(`The channel ${CHANNEL} was started`);
    expect(await listening(e.mllpPort)).toBe(true);
    await screenshot(engineer, 'channel-actions');
    await engineer.goto('/');
    expect(await tag()).toBe('Running');

    // Operators see the state, not the controls; a forged stop is refused.
    await operator.goto(`/channels/${CHANNEL}`);
    expect(await operator.locator('[data-channel-actions]').count()).toBe(0);
    const forged = await operator.request.post(`/channels/${CHANNEL}/stop`, { form: { _csrf: await csrfOf(operator) }, maxRedirects: 0 });
    expect(forged.status()).toBe(403);
    expect(await listening(e.mllpPort)).toBe(true);
  }, 60_000);

  test('redeploy from files: an invalid file deploys nothing and says why; valid files redeploy', async () => {
    const broken = path.join(e.dir, 'channels', 'broken.yaml');
    writeFileSync(broken, 'id: broken\nsource: { type: mllp }\n');
    try {
      await engineer.goto(`/channels/${CHANNEL}`);
      await engineer.getByRole('link', { name: 'Redeploy from files' }).click();
      expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Redeploy the channels from their files?');
      await expectAccessible(engineer);
      await screenshot(engineer, 'redeploy');
      await engineer.getByRole('button', { name: 'Redeploy from files' }).click();
      expect(await engineer.locator('.govuk-error-summary').textContent()).toContain('Nothing was deployed');
      expect(await engineer.locator('[data-problems]').textContent()).toContain('broken.yaml');
      await expectAccessible(engineer);
    } finally {
      rmSync(broken);
    }
    await engineer.getByRole('button', { name: 'Redeploy from files' }).click();
    expect(new URL(engineer.url()).pathname).toBe('/');
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain('Nothing changed: the channel files match what is deployed (1 channel)');
    expect(await engineer.locator(`[data-channel="${CHANNEL}"] h3 .govuk-tag`).textContent()).toBe('Running');
  }, 60_000);

  test('every action is in the audit trail, with what it did and never a token', async () => {
    const entries = await auditEntries();
    const actions = (action: string) => entries.filter((x) => x.action === action).map((x) => [x.actor?.id, x.outcome, x.detail]);
    expect(actions('console POST /dead-letters/replay')).toEqual([
      ['dev.engineer', 'success', expect.objectContaining({ destination: DEST, replayed: 1 })],
      ['dev.engineer', 'success', expect.objectContaining({ destination: DEST, replayed: 1, all: true })],
    ]);
    expect(actions('console POST /dead-letters/discard')).toEqual([
      ['dev.operator', 'denied', expect.objectContaining({ reason: 'needs dead-letters:discard' })],
      ['dev.engineer', 'failure', expect.objectContaining({ status: 400 })],
      ['dev.engineer', 'success', expect.objectContaining({ destination: DEST, discarded: 1, reason: 'entered by hand in the case system', messageIds: [ids['DL-2']] })],
    ]);
    expect(actions('console POST /tokens')).toEqual([
      ['dev.admin', 'failure', expect.objectContaining({ status: 400 })],
      ['dev.admin', 'success', expect.objectContaining({ name: 'reporting', roles: ['operator'] })],
    ]);
    expect(actions('console POST /tokens/:id/revoke')).toEqual([['dev.admin', 'success', expect.objectContaining({ name: 'reporting', revoked: 1 })]]);
    expect(actions('console POST /channels/:id/stop')).toEqual([
      ['dev.engineer', 'success', expect.objectContaining({ channel: CHANNEL, changed: true })],
      ['dev.operator', 'denied', expect.objectContaining({ reason: 'needs channels:manage' })],
    ]);
    expect(actions('console POST /channels/:id/start')).toEqual([['dev.engineer', 'success', expect.objectContaining({ channel: CHANNEL, changed: true })]]);
    expect(actions('console POST /deploy').map(([who, outcome]) => [who, outcome])).toEqual([
      ['dev.engineer', 'failure'],
      ['dev.engineer', 'success'],
    ]);
    expect(JSON.stringify(entries)).not.toMatch(/tl_[A-Za-z0-9_-]{40,}/);
  });

  test('no page broke its Content-Security-Policy or threw a script error', () => {
    expect(browser.problems).toEqual([]);
  });
});
