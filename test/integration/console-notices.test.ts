// Hospital notices (ADW) in the console, in a real browser (Debian's Chromium through
// playwright-core) against a real engine process with a notice channel: notices posted over
// HTTP by a hospital's sender token are listed and filtered, one is opened (the person, the
// contacts, the notices of its episode, its history; the view audited against the person),
// answered — accept with a reason, reject with "Other - Free Text", the error summary when the
// text is missing, a conflict when someone else answered first, and with JavaScript off. An
// auditor gets no form (403, also on POST). A notices-overdue alert rule fires for the overdue
// discharge notice (webhook: counts, ids and a link, no person details) and resolves once it is
// answered. Every page passes axe (WCAG 2.2 AA) and breaks no Content-Security-Policy rule.
// Chromium must be installed (`.ci/run` installs it): without it this test fails, it does not skip.
// TRAMLINE_SCREENSHOTS=1 also writes docs/console/notices*.png (docs/console.md).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { messageHeader } from '../../adapters/adw/bundle.js';
import { parseAdw } from '../../adapters/adw/parse.js';
import { auditEntries, ConsoleBrowser, expectAccessible, screenshot, signIn } from '../support/console-browser.js';
import { eventually, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const fixture = (name: string) => readFileSync(fileURLToPath(new URL(`../fixtures/adw/${name}`, import.meta.url)), 'utf8');
const EPISODE = '5e7d1c2a-9b34-4f0e-8a61-2d9c0b7e4f10';
const CHANNEL = 'hospital-notices';
/** What the fixtures say about the person: never in a notification. */
const PERSON = ['Fenwick', 'Marjorie', '9997654323', '1938-03-14', 'Heron Ward'];

interface Hook {
  text: string;
  alert: { rule: string; kind: string; transition: string; summary: string; channel?: string; noticeType?: string; console?: string };
}

let e: EngineEnv;
let engine: EngineProcess;
let browser: ConsoleBrowser;
let receiver: WebhookReceiver<Hook>;
let inbox: string;
let senderToken: string;
let operatorToken: string;
let hooks: Hook[] = [];
let counter = 0;

/** The fixture as another notice: a new MessageHeader id and, optionally, another episode. */
function variant(name: string, episode = EPISODE): { text: string; id: string } {
  const text = fixture(name);
  const id = `c${String(++counter).padStart(7, '0')}-0000-4000-8000-${String(Date.now() % 1e12).padStart(12, '0')}`;
  return { text: text.split(String(messageHeader(parseAdw(text).bundle)?.id)).join(id).split(EPISODE).join(episode), id };
}

async function post(name: string, episode?: string): Promise<string> {
  const v = variant(name, episode);
  const res = await fetch(`http://127.0.0.1:${e.httpPort}/inbound/${CHANNEL}/notices`, { method: 'POST', headers: { authorization: `Bearer ${senderToken}`, 'content-type': 'application/fhir+xml' }, body: v.text });
  if (res.status !== 201) throw new Error(`notice not stored: HTTP ${res.status} ${await res.text()}`);
  return v.id;
}

const ids: Record<'assessment' | 'discharge' | 'other' | 'third' | 'withdrawal', string> = { assessment: '', discharge: '', other: '', third: '', withdrawal: '' };

beforeAll(async () => {
  receiver = await startWebhookReceiver<Hook>();
  hooks = receiver.received;
  inbox = mkdtempSync(path.join(os.tmpdir(), 'tramline-notices-in-'));
  e = await prepareEngine({
    extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_ALERT_INTERVAL_SECONDS: '0.3', TRAMLINE_LPRES_URL: '' },
    // Discharge notices are due in about a second here, so one is overdue by the time it is looked at.
    channelYaml: () => `id: ${CHANNEL}
name: Hospital notices
source: { type: mesh-folder, inbox: ${inbox}, pollIntervalMs: 1000 }
notices:
  councilOds: Z99ZZ
  deadlineHours: { assessment: 48, discharge: 0.0003, withdrawal: 48 }
  responder: { family: Hospital Social Work Team }
  reasons:
    accept: [{ code: ASSESS, display: Assessment will start }]
    reject: [{ code: NOTRESP, display: Not this council's responsibility }]
destinations:
  - { name: case-inbox, type: case-inbox, database: sqlite:${path.join(inbox, 'case.db')}, table: notice_inbox, routes: [adw.#] }
`,
  });
  writeFileSync(
    path.join(e.dir, 'channels', 'alerts.yaml'),
    `rules:
  - name: overdue-discharges
    when: notices-overdue
    channel: ${CHANNEL}
    type: discharge
    repeatMinutes: 0
    description: Answer the overdue discharge notices.
    notify: { webhook: "${receiver.url}" }
`,
  );
  const created = await runCli(['tokens', 'create', '--name', 'riverside', '--role', 'sender'], e.env, e.dir);
  if (created.code !== 0) throw new Error(created.stderr);
  senderToken = created.stdout.trim().split('\n').pop()!.trim();
  const metricsReader = await runCli(['tokens', 'create', '--name', 'prometheus', '--role', 'operator'], e.env, e.dir);
  if (metricsReader.code !== 0) throw new Error(metricsReader.stderr);
  operatorToken = metricsReader.stdout.trim().split('\n').pop()!.trim();
  engine = await startEngine(e);
  ids.assessment = await post('assessment-notice.xml');
  ids.discharge = await post('discharge-notice.xml');
  ids.other = await post('assessment-notice.xml', 'aa000000-0000-4000-8000-000000000002');
  ids.third = await post('assessment-notice.xml', 'aa000000-0000-4000-8000-000000000003');
  const episode4 = 'aa000000-0000-4000-8000-000000000004';
  await post('assessment-notice.xml', episode4);
  ids.withdrawal = await post('withdrawal-notice.xml', episode4);
  browser = await ConsoleBrowser.launch(`http://127.0.0.1:${e.httpPort}`);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
  await receiver?.close();
  rmSync(inbox, { recursive: true, force: true });
});

/** tramline_notices_overdue for the channel, as Prometheus scrapes it. */
async function overdueGauge(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${e.httpPort}/metrics`, { headers: { authorization: `Bearer ${operatorToken}` } })).text();
  const line = text.split('\n').find((l) => l.startsWith(`tramline_notices_overdue{channel="${CHANNEL}"} `));
  if (!line) throw new Error('no tramline_notices_overdue series');
  return Number(line.split(' ')[1]);
}

const h1 = (page: Page) => page.getByRole('heading', { level: 1 }).textContent();
const rowsShown = (page: Page) => page.locator('[data-notice]').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-notice')} ${r.getAttribute('data-state')}`));

describe('hospital notices in the console', () => {
  let operator: Page;

  test('the overdue discharge notice fires the alert (the webhook has counts, the id and a link, no person details) and shows in tramline_notices_overdue', async () => {
    const fired = await eventually(async () => hooks.find((h) => h.alert.transition === 'fired'), 30_000, 'the notices-overdue rule firing');
    expect(fired.alert).toMatchObject({ rule: 'overdue-discharges', kind: 'notices-overdue', channel: CHANNEL, noticeType: 'discharge', summary: `1 discharge notice overdue on ${CHANNEL}: ${ids.discharge}` });
    expect(fired.alert.console).toMatch(new RegExp(`/notices\\?state=overdue&type=discharge&channel=${CHANNEL}$`));
    expect(fired.text).toContain('Answer the overdue discharge notices.');
    for (const value of PERSON) expect(JSON.stringify(fired)).not.toContain(value);
    expect(hooks.filter((h) => h.alert.transition === 'fired')).toHaveLength(1);
    expect(await overdueGauge()).toBe(1);
  }, 60_000);

  test('the dashboard counts the overdue notice; the list shows every notice and filters by state, type and channel', async () => {
    operator = await browser.newPage();
    await signIn(operator, /Olu Operator \(operator\)/);
    expect(await operator.locator('[data-notices-overdue]').getAttribute('data-notices-overdue')).toBe('1');
    await expectAccessible(operator);
    await operator.getByRole('navigation', { name: 'Console' }).getByRole('link', { name: 'Hospital notices' }).click();
    expect(await h1(operator)).toBe('Hospital notices');
    const all = await rowsShown(operator);
    expect(all).toHaveLength(6);
    expect(all).toEqual(expect.arrayContaining([`${ids.assessment} awaiting`, `${ids.discharge} awaiting`, `${ids.withdrawal} awaiting`]));
    expect(all.filter((r) => r.endsWith('withdrawn'))).toHaveLength(1);
    const discharge = operator.locator(`[data-notice="${ids.discharge}"]`);
    expect(await discharge.textContent()).toMatch(/Discharge[\s\S]*RZZ9A[\s\S]*Heron Ward[\s\S]*Overdue by/);
    expect(await operator.locator(`[data-notice="${ids.withdrawal}"]`).textContent()).toContain('Withdrawal (all notices)');
    await expectAccessible(operator);
    await screenshot(operator, 'notices');

    await operator.getByLabel('State').selectOption('overdue');
    await operator.getByRole('button', { name: 'Show notices' }).click();
    expect(new URL(operator.url()).search).toBe(`?state=overdue&type=&channel=`);
    expect(await rowsShown(operator)).toEqual([`${ids.discharge} awaiting`]);
    expect(await operator.locator('[data-overdue]').count()).toBe(1);
    await operator.goto(`/notices?type=assessment&channel=${CHANNEL}&state=awaiting`);
    expect((await rowsShown(operator)).sort()).toEqual([`${ids.assessment} awaiting`, `${ids.other} awaiting`, `${ids.third} awaiting`].sort());
    await operator.goto('/notices?state=lost');
    expect(await operator.locator('.govuk-error-summary').textContent()).toContain('Choose a state from the list');
    await expectAccessible(operator);
  }, 60_000);

  test('a notice: the person (NHS number 3-3-4), contacts, its episode and history; the view is audited against the person', async () => {
    await operator.goto(`/notices/${ids.assessment}`);
    expect(await h1(operator)).toBe('Assessment notice from Riverside General Hospital');
    const person = await operator.locator('[data-person]').textContent();
    expect(person).toMatch(/Ada Marjorie Fenwick/);
    expect(await operator.locator('[data-nhs-number]').textContent()).toBe('999 765 4323');
    expect(person).toContain('14 March 1938');
    const fields = await operator.locator('[data-notice-fields]').textContent();
    expect(fields).toMatch(/Hospital liaison[\s\S]*Priya Halden/);
    expect(fields).toMatch(/Lead clinician[\s\S]*Marcus Oyelaran/);
    expect(fields).toContain(EPISODE);
    expect(fields).toMatch(/Expected discharge/);
    expect(await operator.locator('[data-episode-notice]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-episode-notice')))).toEqual([ids.assessment, ids.discharge]);
    expect(await operator.locator('[data-history] [data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')))).toContain('notice-received');
    expect(await operator.locator('form[data-decide]').count()).toBe(1);
    await expectAccessible(operator);
    await screenshot(operator, 'notice');

    const views = await eventually(async () => {
      const found = (await auditEntries(e.env)).filter((x) => x.action === 'console GET /notices/:id' && x.outcome === 'success');
      return found.length ? found : undefined;
    }, 15_000, 'the audited view');
    expect(views[0]).toMatchObject({ category: 'view', patient: '9997654323', actor: { id: 'dev.operator', kind: 'session' }, detail: { notice: ids.assessment } });
    expect(views[0].messageId).toBeTruthy();
  }, 60_000);

  test('reject with "Other - Free Text": no text is an error summary; with it, check your answer, send, success', async () => {
    await operator.getByLabel('Reject the assessment notice').check();
    await operator.locator('#reasonCode').selectOption('OFT');
    await operator.getByRole('button', { name: 'Continue' }).click();
    const summary = operator.locator('.govuk-error-summary');
    expect(await summary.textContent()).toContain('Enter the reason: "Other - Free Text" needs it');
    expect(await summary.locator('a').getAttribute('href')).toBe('#text');
    await expectAccessible(operator);
    await screenshot(operator, 'notice-error');

    await operator.getByLabel('Reason text').fill('Lives in the neighbouring council area');
    await operator.getByRole('button', { name: 'Continue' }).click();
    expect(await h1(operator)).toBe('Check your answer before sending it');
    expect(await operator.locator('[data-check]').textContent()).toMatch(/Reject[\s\S]*Other - Free Text \(OFT\)[\s\S]*neighbouring council/);
    await expectAccessible(operator);
    await screenshot(operator, 'notice-check');
    await operator.getByRole('button', { name: 'Send the answer' }).click();
    expect(new URL(operator.url()).pathname).toBe(`/notices/${ids.assessment}`);
    expect(await operator.locator('.govuk-notification-banner').textContent()).toContain('You rejected the notice (reason OFT)');
    expect(await operator.locator('[data-state]').first().textContent()).toBe('rejected');
    expect(await operator.locator('[data-answer]').textContent()).toMatch(/Rejected, reason OFT: Lives in the neighbouring council area[\s\S]*by user dev.operator/);
    expect(await operator.locator('form[data-decide]').count()).toBe(0);
    expect(await operator.locator('[data-history] [data-event]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-event')))).toContain('notice-rejected');
    await expectAccessible(operator);
    await screenshot(operator, 'notice-answered');

    const decided = await eventually(async () => (await auditEntries(e.env)).find((x) => x.action === 'console POST /notices/:id/answer'), 15_000, 'the audited decision');
    expect(decided).toMatchObject({ outcome: 'success', actor: { id: 'dev.operator' }, detail: { notice: ids.assessment, answer: 'reject', reasonCode: 'OFT', text: '(given)', state: 'rejected' } });
    expect(JSON.stringify(decided)).not.toContain('neighbouring');
  }, 60_000);

  test('accept with a reason code of the channel; a second answer meanwhile is explained, not sent', async () => {
    await operator.goto(`/notices/${ids.other}`);
    await operator.getByLabel('Accept the assessment notice').check();
    expect(await operator.locator('#reasonCode option').allTextContents()).toEqual(['Choose a reason', 'Other - Free Text (OFT)', 'Assessment will start (ASSESS) \u2013 when accepting', "Not this council's responsibility (NOTRESP) \u2013 when rejecting"]);
    await operator.getByLabel('Reject the assessment notice').check();
    await operator.locator('#reasonCode').selectOption('ASSESS');
    await operator.getByRole('button', { name: 'Continue' }).click();
    expect(await operator.locator('.govuk-error-summary').textContent()).toContain('Select a reason that applies when you reject the notice');
    await operator.getByLabel('Accept the assessment notice').check();
    await operator.getByRole('button', { name: 'Continue' }).click();
    expect(await operator.locator('[data-check]').textContent()).toContain('Assessment will start (ASSESS)');

    // Meanwhile an engineer answers the same notice.
    const engineer = await browser.newPage();
    await signIn(engineer, /Eli Engineer \(engineer\)/, `/notices/${ids.other}`);
    await engineer.getByLabel('Reject the assessment notice').check();
    await engineer.locator('#reasonCode').selectOption('NOTRESP');
    await engineer.getByRole('button', { name: 'Continue' }).click();
    await engineer.getByRole('button', { name: 'Send the answer' }).click();
    expect(await engineer.locator('.govuk-notification-banner').textContent()).toContain('You rejected the notice (reason NOTRESP)');

    await operator.getByRole('button', { name: 'Send the answer' }).click();
    expect(await operator.locator('[data-conflict]').textContent()).toMatch(/Your answer was not sent[\s\S]*already rejected by user dev.engineer at \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC/);
    expect(await operator.locator('[data-state]').first().textContent()).toBe('rejected');
    await expectAccessible(operator);

    await operator.goto(`/notices/${ids.third}`);
    await operator.getByLabel('Accept the assessment notice').check();
    await operator.locator('#reasonCode').selectOption('ASSESS');
    await operator.getByRole('button', { name: 'Continue' }).click();
    await operator.getByRole('button', { name: 'Send the answer' }).click();
    expect(await operator.locator('.govuk-notification-banner').textContent()).toContain('You accepted the notice (reason ASSESS)');
    expect(await operator.locator('[data-answer]').textContent()).toMatch(/Accepted, reason ASSESS[\s\S]*by user dev.operator/);
    const refused = (await auditEntries(e.env)).filter((x) => x.action === 'console POST /notices/:id/answer' && x.outcome === 'failure');
    expect(refused).toEqual([expect.objectContaining({ actor: expect.objectContaining({ id: 'dev.operator' }), detail: expect.objectContaining({ notice: ids.other, refused: 409 }) })]);
  }, 60_000);

  test('without JavaScript the form posts, the overdue discharge is answered and the alert resolves', async () => {
    const context = await browser.browser.newContext({ javaScriptEnabled: false, baseURL: browser.base, viewport: { width: 1200, height: 900 }, locale: 'en-GB', timezoneId: 'UTC' });
    try {
      const page = await context.newPage();
      await signIn(page, /Olu Operator \(operator\)/, `/notices/${ids.discharge}`);
      expect(await h1(page)).toBe('Discharge notice from Riverside General Hospital');
      expect(await page.locator('[data-overdue]').textContent()).toMatch(/Overdue by/);
      await page.getByLabel('Disagree with the discharge').check();
      await page.locator('#reasonCode').selectOption('OFT');
      await page.getByLabel('Reason text').fill('Care package not yet in place');
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('button', { name: 'Send the answer' }).click();
      expect(await page.locator('.govuk-notification-banner').textContent()).toContain('You rejected the notice (reason OFT)');
      expect(await page.locator('[data-overdue]').count()).toBe(0);
    } finally {
      await context.close();
    }
    const resolved = await eventually(async () => hooks.find((h) => h.alert.transition === 'resolved'), 30_000, 'the rule resolving');
    expect(resolved.alert).toMatchObject({ rule: 'overdue-discharges', summary: 'no discharge notice overdue' });
    const alertAudit = (await auditEntries(e.env)).filter((x) => x.action.startsWith('alert.')).map((x) => `${x.action} ${String(x.detail?.summary)}`);
    expect(alertAudit).toEqual([`alert.fired 1 discharge notice overdue on ${CHANNEL}: ${ids.discharge}`, 'alert.resolved no discharge notice overdue']);
    await operator.goto('/');
    expect(await operator.locator('[data-notices-overdue]').getAttribute('data-notices-overdue')).toBe('0');
    expect(await overdueGauge()).toBe(0);
    await operator.goto('/alerts');
    expect(await operator.locator('[data-alert="overdue-discharges"]').getAttribute('data-state')).toBe('ok');
    expect(browser.problems).toEqual([]);
  }, 60_000);

  test('an auditor (no notices:read, no notices:decide) sees no notice and no form, and is refused the POSTs', async () => {
    const auditor = await browser.newPage();
    await signIn(auditor, /Aud Auditor \(auditor\)/, '/audit');
    expect((await auditor.goto('/notices'))!.status()).toBe(403);
    expect((await auditor.goto(`/notices/${ids.withdrawal}`))!.status()).toBe(403);
    expect(await auditor.locator('form[data-decide]').count()).toBe(0);
    expect(await auditor.getByRole('link', { name: 'Hospital notices' }).count()).toBe(0);
    for (const step of ['check', 'answer']) {
      const res = await auditor.request.post(`/notices/${ids.withdrawal}/${step}`, { form: { _csrf: 'x', answer: 'accept', reasonCode: 'OFT', text: 'forged' }, maxRedirects: 0 });
      expect(res.status()).toBe(403);
    }
    const api = await fetch(`http://127.0.0.1:${e.httpPort}/api/notices/${ids.withdrawal}`, { headers: { authorization: `Bearer ${senderToken}` } });
    expect(api.status).toBe(403);
    const still = await operator.goto(`/notices/${ids.withdrawal}`);
    expect(still!.status()).toBe(200);
    expect(await operator.locator('[data-state]').first().textContent()).toBe('awaiting');
    const denied = (await auditEntries(e.env)).filter((x) => x.action === 'console POST /notices/:id/answer' && x.outcome === 'denied');
    expect(denied.length).toBeGreaterThanOrEqual(1);
    expect(denied[0].detail).toMatchObject({ reason: 'needs notices:decide' });
  }, 60_000);
});
