// Alerts against a real engine process, a real SMTP server (smtp-server) and a real webhook
// receiver: a case system refuses a message, it dead-letters, the dead-letter rule fires once —
// the webhook gets JSON with `text`, the SMTP server an e-mail, the audit trail an entry, the
// console's Alerts page and dashboard show it firing; the case system is fixed, the dead letter
// replayed, the rule resolves (notified and audited once more). A silent-feed rule fires while no
// message arrives in its window and resolves when one does. alerts.yaml is deployed with the
// channels: a broken one refuses the deploy.
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { eventually, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { startHttpPeer, type HttpPeer } from '../support/http-peer.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

interface Hook {
  text: string;
  alert: { rule: string; kind: string; status: string; transition: string; summary: string; channel?: string };
}

const DEST = 'adt-al.case-api';
let peer: HttpPeer;
let e: EngineEnv;
let engine: EngineProcess;
let client: MllpClient;
let receiver: WebhookReceiver<Hook>;
let smtp: SMTPServer;
let hooks: Hook[] = [];
const mails: { to: string[]; raw: string }[] = [];
let base: string;
let cookie = '';
let engineerToken: string;

/** Listens on a free local port; `server` is the net server whose address tells which. */
const listen = (s: { listen(port: number, host: string, cb: () => void): unknown }, server: { address(): unknown }) =>
  new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

beforeAll(async () => {
  peer = await startHttpPeer();
  await peer.plan({ '/adt': [{ status: 400 }] });
  receiver = await startWebhookReceiver<Hook>();
  hooks = receiver.received;
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => (raw += c.toString()));
      stream.on('end', () => {
        mails.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        callback();
      });
    },
  });
  const smtpPort = await listen(smtp, smtp.server);
  e = await prepareEngine({
    extraEnv: {
      CASE_API_URL: peer.url,
      ALERT_HOOK: receiver.url,
      TRAMLINE_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      TRAMLINE_ALERT_EMAIL_FROM: 'tramline@council.example',
      TRAMLINE_ALERT_INTERVAL_SECONDS: '0.3',
      TRAMLINE_AUTH_DEV_ISSUER: 'true',
    },
    channelYaml: (port) => `id: adt-al
source:
  type: mllp
  host: 127.0.0.1
  port: ${port}
destinations:
  - name: case-api
    type: http
    url: \${CASE_API_URL}/adt
    retry: { maxAttempts: 2, initialDelayMs: 100, maxDelayMs: 200 }
`,
  });
  writeFileSync(
    path.join(e.env.TRAMLINE_CHANNELS!, 'alerts.yaml'),
    `defaults:
  repeatMinutes: 0
  notify:
    webhook: \${ALERT_HOOK}
    email: [oncall@council.example]
rules:
  - name: case-api-dead-letters
    when: dead-letters
    channel: adt-al
    destination: case-api
    description: Fix the case system, then replay the dead letters.
  - name: adt-silent
    when: silent-feed
    channel: adt-al
    minutes: 0.05 # 3 seconds, for the test
    notify:
      webhook: \${ALERT_HOOK}
`,
  );
  const validated = await runCli(['validate', e.env.TRAMLINE_CHANNELS!], e.env, e.dir);
  expect([validated.code, validated.stderr]).toEqual([0, '']);
  const created = await runCli(['tokens', 'create', '--name', 'alerts-test', '--role', 'engineer'], e.env, e.dir);
  engineerToken = created.stdout.trim().split('\n').pop()!.trim();
  engine = await startEngine(e);
  base = `http://127.0.0.1:${e.httpPort}`;
  client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 20_000 });
}, 120_000);

afterAll(async () => {
  await client?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
  await peer?.close();
  await receiver?.close();
  await new Promise<void>((r) => (smtp ? smtp.close(() => r()) : r()));
});

async function signIn(): Promise<void> {
  const form = await fetch(`${base}/sign-in/dev`, { headers: { accept: 'text/html' } });
  cookie = form.headers.getSetCookie()[0].split(';')[0];
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await form.text())![1];
  const signed = await fetch(`${base}/sign-in/dev`, { method: 'POST', redirect: 'manual', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: new URLSearchParams({ user: 'dev.operator', _csrf: csrf }).toString() });
  expect(signed.status).toBe(303);
  cookie = signed.headers.getSetCookie()[0].split(';')[0];
}

const page = async (p: string) => {
  const res = await fetch(`${base}${p}`, { headers: { accept: 'text/html', cookie } });
  expect(res.status).toBe(200);
  return res.text();
};
const stateOf = (html: string, rule: string) => new RegExp(`data-alert="${rule}" data-state="(\\w+)"`).exec(html)?.[1];
const hooksFor = (rule: string) => hooks.filter((h) => h.alert.rule === rule).map((h) => h.alert.transition);
async function auditedAlerts(): Promise<string[]> {
  const out = await runCli(['audit', 'list', '--category', 'system', '--json'], e.env, e.dir);
  return (JSON.parse(out.stdout) as { action: string; target?: string }[]).filter((a) => a.action.startsWith('alert.')).map((a) => `${a.action} ${a.target}`);
}

test('a silent feed fires while no message arrives in its window', async () => {
  await eventually(async () => hooksFor('adt-silent').includes('fired'), 20_000, 'silent-feed fired');
  expect(mails).toEqual([]); // that rule notifies by webhook only
}, 60_000);

test('dead letters fire once (webhook, e-mail, audit, console), and resolve once replayed', async () => {
  expect(parseAckCode(await client.send(adt({ controlId: 'AL-1', nhsNumber: NHS_NUMBERS[1] }))).code).toBe('AA');
  // The message ends the silence.
  await eventually(async () => hooksFor('adt-silent').includes('resolved'), 20_000, 'silent-feed resolved');

  const fired = await eventually(async () => hooks.find((h) => h.alert.rule === 'case-api-dead-letters'), 30_000, 'dead-letter webhook');
  expect(fired.alert).toMatchObject({ kind: 'dead-letters', status: 'firing', transition: 'fired', summary: `dead letters: ${DEST} 1`, channel: 'adt-al' });
  expect(fired.text).toContain('FIRING: case-api-dead-letters');
  const mail = await eventually(async () => mails.find((m) => m.raw.includes('case-api-dead-letters')), 20_000, 'dead-letter e-mail');
  expect(mail.to).toEqual(['oncall@council.example']);
  expect(mail.raw).toMatch(/^Subject: \[Tramline\] FIRING: case-api-dead-letters/m);
  expect(mail.raw).toContain('From: tramline@council.example');
  // No patient data, no webhook secret in notifications.
  for (const text of [JSON.stringify(hooks), ...mails.map((m) => m.raw)]) {
    expect(text).not.toContain(NHS_NUMBERS[1]);
    expect(text).not.toContain('secret-part');
  }

  await signIn();
  expect(stateOf(await page('/alerts'), 'case-api-dead-letters')).toBe('firing');
  const dashboard = await page('/');
  expect(dashboard).toContain('data-alerts-summary="firing"');
  expect(dashboard).toContain('case-api-dead-letters');
  expect(await auditedAlerts()).toEqual(expect.arrayContaining(['alert.fired case-api-dead-letters', 'alert.fired adt-silent', 'alert.resolved adt-silent']));

  // Fixed and replayed: delivered, so the rule resolves, once.
  await peer.plan({ '/adt': [{ status: 200 }] });
  const replayed = await runCli(['dead-letters', 'replay', '--destination', DEST], e.env, e.dir);
  expect(replayed.stdout).toContain('1 dead letter(s) replayed');
  await eventually(async () => hooksFor('case-api-dead-letters').includes('resolved'), 30_000, 'dead-letter resolved');
  await eventually(async () => mails.some((m) => /^Subject: \[Tramline\] RESOLVED: case-api-dead-letters/m.test(m.raw)), 20_000, 'resolved e-mail');
  expect(hooksFor('case-api-dead-letters')).toEqual(['fired', 'resolved']);
  expect(stateOf(await page('/alerts'), 'case-api-dead-letters')).toBe('ok');
  expect(await page('/')).not.toContain('case-api-dead-letters');
  const audited = await auditedAlerts();
  expect(audited.filter((a) => a.endsWith(' case-api-dead-letters'))).toEqual(['alert.fired case-api-dead-letters', 'alert.resolved case-api-dead-letters']);
  // Silent again after the window: fires again.
  await eventually(async () => hooksFor('adt-silent').filter((t) => t === 'fired').length >= 2, 20_000, 'silent-feed fired again');
  expect(engine.output()).not.toContain('secret-part');
}, 120_000);

test('alerts.yaml is deployed with the channels: a broken one refuses the deploy, a good one replaces the rules', async () => {
  const file = path.join(e.env.TRAMLINE_CHANNELS!, 'alerts.yaml');
  const deploy = () => fetch(`${base}/api/channels/deploy`, { method: 'POST', headers: { authorization: `Bearer ${engineerToken}` } });
  writeFileSync(file, 'rules:\n  - name: quiet\n    when: silent-feed\n    channel: adt-nowhere\n');
  const refused = await deploy();
  expect(refused.status).toBe(422);
  expect(JSON.stringify(await refused.json())).toContain('alerts.yaml:4:5 rules[0].channel: no channel \\"adt-nowhere\\"');
  expect(stateOf(await page('/alerts'), 'case-api-dead-letters')).toBe('ok');

  writeFileSync(file, 'rules:\n  - name: case-api-dead-letters\n    when: dead-letters\n    channel: adt-al\n  - name: adt-al-stopped\n    when: channel-stopped\n    channel: adt-al\n');
  expect((await deploy()).status).toBe(200);
  const html = await page('/alerts');
  expect([stateOf(html, 'case-api-dead-letters'), stateOf(html, 'adt-al-stopped'), stateOf(html, 'adt-silent')]).toEqual(['ok', 'ok', undefined]);
}, 60_000);
