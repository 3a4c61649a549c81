// The console's audit pages and mapping playground in a real browser (Debian's Chromium driven by
// playwright-core) against a real engine process. An auditor browses and filters the trail, opens
// an entry, checks the chain, downloads a person's access history as FHIR AuditEvent and reads the
// break-glass report; an engineer or operator is refused the audit pages. An engineer runs the
// playground on a shipped ADT case (a Patient in the output), on a broken message (a clear error
// with its mapping line and HL7 field), on too much input, and runs the example cases (all pass).
// Every page passes axe (WCAG 2.2 AA: no serious or critical violations) and its CSP.
// TRAMLINE_SCREENSHOTS=1 also writes the pages' screenshots to docs/console/ (docs/console.md).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { MllpClient } from '../../adapters/mllp/client.js';
import { openDatabase } from '../../adapters/store/db.js';
import { dropAppendOnlyGuards, recomputeChainFrom } from '../support/audit-tamper.js';
import { ConsoleBrowser, expectAccessible, screenshot, signIn, auditEntries as readAuditTrail } from '../support/console-browser.js';
import { eventually, prepareEngine, ROOT, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

const NHS = NHS_NUMBERS[1];
const BREAK_GLASS_REASON = 'Unconscious in A&E, no consent possible';
/** A shipped example case: Anna Ellis's discharge. */
const ADT_CASE = readFileSync(path.join(ROOT, 'mappings/hl7v2/cases/a03-discharge.hl7'), 'latin1');

let e: EngineEnv;
let engine: EngineProcess;
let browser: ConsoleBrowser;
let base: string;
let clinicianToken: string;
const newPage = () => browser.newPage();

const auditEntries = () => readAuditTrail(e.env);

beforeAll(async () => {
  e = await prepareEngine({
    extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_LPRES_URL: '' },
    channelYaml: (port) => `id: adt-in
name: ADT to the shared care record
source: { type: mllp, host: 127.0.0.1, port: ${port} }
pipeline:
  map: hl7v2-adt-to-fhir
destinations:
  - name: shared-record
    type: fhir
    retry: { maxAttempts: 5, initialDelayMs: 100 }
`,
  });
  const created = await runCli(['tokens', 'create', '--name', 'ward-viewer', '--role', 'clinician'], e.env, e.dir);
  if (created.code !== 0) throw new Error(created.stderr);
  clinicianToken = created.stdout.trim().split('\n').pop()!.trim();
  engine = await startEngine(e);
  base = `http://127.0.0.1:${e.httpPort}`;
  browser = await ConsoleBrowser.launch(base);
  // A patient in the shared care record, and a clinician who looks at them by break-glass override.
  const client = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10_000 });
  try {
    expect(await client.send(adt({ controlId: 'AUDIT0001', nhsNumber: NHS }))).toContain('MSA|AA|');
  } finally {
    await client.close();
  }
  await eventually(async () => {
    const res = await fetch(`${base}/fhir/Patient?identifier=${encodeURIComponent(`https://fhir.nhs.uk/Id/nhs-number|${NHS}`)}`, {
      headers: { authorization: `Bearer ${clinicianToken}`, 'x-break-glass-reason': BREAK_GLASS_REASON, accept: 'application/fhir+json' },
    });
    const bundle = (await res.json()) as { total?: number; entry?: unknown[] };
    return res.status === 200 && (bundle.entry?.length ?? 0) > 0 ? true : undefined;
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
});

describe('console: mapping playground', () => {
  let engineer: Page;

  test('an engineer runs the ADT mapping on a shipped case and sees the Patient in the FHIR output', async () => {
    engineer = await newPage();
    await signIn(engineer, /Eli Engineer \(engineer\)/, '/mappings');
    expect(await engineer.getByRole('heading', { level: 1 }).textContent()).toBe('Mapping playground');
    await expectAccessible(engineer);
    await engineer.getByLabel('Mapping').selectOption('hl7v2-adt-to-fhir');
    // As a person pastes it: the browser sends line ends as CR LF.
    await engineer.getByLabel('Message or record').fill(ADT_CASE.replace(/\r/g, '\n'));
    await engineer.getByRole('button', { name: 'Run the mapping' }).click();
    const output = await engineer.locator('[data-output]').textContent();
    expect(output).toMatch(/^\{\n {2}"resourceType": "Bundle",/);
    expect(output).toContain('"resourceType": "Patient"');
    expect(output).toContain('"family": "ELLIS"');
    await expectAccessible(engineer);
    await screenshot(engineer, 'playground');
  });

  test('a broken message: a clear error, and the issue with its mapping line and HL7 field', async () => {
    await engineer.getByLabel('Message or record').fill('MSH|^~\\&|PAS|RXX|TRAMLINE|LA01|20261207||ADT^A01|BROKEN1|P|2.4\nPID|||');
    await engineer.getByRole('button', { name: 'Run the mapping' }).click();
    expect(await engineer.locator('.govuk-error-summary').textContent()).toContain('required value missing');
    const issue = engineer.locator('tr[data-issue]');
    expect(await issue.count()).toBe(1);
    expect(await issue.textContent()).toMatch(/required value missing.*adt-to-fhir\.yaml:\d+.*PID-3 or PID-2 or PID-3\.1 or PID-2\.1/s);
    expect(await engineer.locator('[data-output]').count()).toBe(0);
    await expectAccessible(engineer);
    await screenshot(engineer, 'playground-issue');

    await engineer.getByLabel('Message or record').fill('this is not HL7');
    await engineer.getByRole('button', { name: 'Run the mapping' }).click();
    expect(await engineer.locator('.govuk-error-summary').textContent()).toContain('This is not an HL7 v2 message the engine can read');
    await expectAccessible(engineer);
  });

  test('more than 1 MiB is refused with a clear error', async () => {
    const csrf = await engineer.locator('input[name="_csrf"]').first().inputValue();
    const res = await engineer.request.post('/mappings/run', { form: { _csrf: csrf, mapping: 'hl7v2-adt-to-fhir', input: `MSH|${'x'.repeat(1024 * 1024)}` } });
    expect(res.status()).toBe(413);
    expect(await res.text()).toContain('The input is larger than 1 MiB');
    // Far beyond: the form body itself is refused, with the same page.
    const huge = await engineer.request.post('/mappings/run', { form: { _csrf: csrf, mapping: 'hl7v2-adt-to-fhir', input: '|'.repeat(5 * 1024 * 1024) } });
    expect(huge.status()).toBe(413);
    expect(await huge.text()).toContain('The input is larger than 1 MiB');
    // Without the form's token nothing runs.
    expect((await engineer.request.post('/mappings/run', { form: { _csrf: 'forged', mapping: 'hl7v2-adt-to-fhir', input: ADT_CASE } })).status()).toBe(403);
  });

  test('the example cases of the ADT and social care mappings all pass', async () => {
    for (const mapping of ['hl7v2-adt-to-fhir', 'social-care-cld-to-fhir']) {
      await engineer.goto(`/mappings?mapping=${mapping}`);
      await engineer.getByRole('button', { name: 'Run its example cases' }).click();
      const summary = await engineer.locator('[data-cases-summary]').textContent();
      const [, passed, all] = /(\d+) of (\d+) passed/.exec(summary ?? '')!;
      expect(Number(all)).toBeGreaterThan(0);
      expect(passed).toBe(all);
      expect(await engineer.locator('[data-case-ok="no"]').count()).toBe(0);
      await expectAccessible(engineer);
    }
    await screenshot(engineer, 'playground-cases');
  });

  test('a CLD row pasted as CSV maps to a FHIR bundle', async () => {
    const csv = readFileSync(path.join(ROOT, 'channels/examples/extracts/cld-sample.csv'), 'utf8').split('\n').slice(0, 2).join('\n');
    await engineer.getByLabel('Mapping').selectOption('social-care-cld-to-fhir');
    await engineer.getByLabel('Message or record').fill(csv);
    await engineer.getByRole('button', { name: 'Run the mapping' }).click();
    expect(await engineer.locator('[data-output]').textContent()).toContain('"resourceType": "Bundle"');
    expect(await engineer.locator('.govuk-body-s', { hasText: 'Read as' }).textContent()).toContain('1 CLD row (CSV)');
  });

  test('the engineer searches messages by NHS number (an access to that person, for the auditor)', async () => {
    await engineer.goto(`/messages?nhsNumber=${NHS}`);
    expect(await engineer.locator('tr[data-message]').count()).toBe(1);
  });

  test('engineers and operators are refused the audit pages', async () => {
    for (const path of ['/audit', '/audit/verify', '/audit/break-glass', `/audit/export?patient=${NHS}`]) {
      const res = await engineer.goto(path);
      expect(res!.status()).toBe(403);
    }
    expect(await engineer.getByRole('link', { name: 'Audit' }).count()).toBe(0);
    await expectAccessible(engineer);
    const operator = await newPage();
    await signIn(operator, /Olu Operator \(operator\)/, '/messages');
    expect((await operator.goto('/audit'))!.status()).toBe(403);
    expect((await operator.goto('/mappings'))!.status()).toBe(403);
    expect(await operator.getByRole('link', { name: 'Mapping playground' }).count()).toBe(0);
  });
});

describe('console: audit pages', () => {
  let auditor: Page;

  test('an auditor browses the trail newest first and filters it', async () => {
    auditor = await newPage();
    // Signing in at / (the dashboard, which an auditor may not see) lands on the audit trail.
    await signIn(auditor, /Aud Auditor \(auditor\)/, '/');
    expect(new URL(auditor.url()).pathname).toBe('/audit');
    expect(await auditor.getByRole('heading', { level: 1 }).textContent()).toBe('Audit trail');
    expect(await auditor.getByRole('link', { name: 'Mapping playground' }).count()).toBe(0);
    const seqs = await auditor.locator('tr[data-seq]').evaluateAll((rows) => rows.map((r) => Number(r.getAttribute('data-seq'))));
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
    await expectAccessible(auditor);
    await screenshot(auditor, 'audit');

    await auditor.getByLabel('Who').fill('dev.engineer');
    await auditor.getByLabel('Action').fill('console POST /mappings/run');
    await auditor.getByRole('button', { name: 'Search' }).click();
    const rows = auditor.locator('tr[data-seq]');
    // The runs: the shipped case, the broken message, not HL7, too large twice, forged token, the CLD row.
    expect(await rows.count()).toBe(7);
    for (const text of await rows.allTextContents()) expect(text).toContain('dev.engineer');

    await auditor.goto('/audit?outcome=denied&category=api');
    const denied = await auditor.locator('tr[data-seq]').allTextContents();
    expect(denied.length).toBeGreaterThan(0);
    for (const text of denied) expect(text).toContain('denied');

    await auditor.goto('/audit?from=yesterday');
    expect(await auditor.locator('.govuk-error-summary').textContent()).toContain('Enter the start as a date and time');
    await expectAccessible(auditor);
  });

  test('filtered by person, one entry opened, and their access history downloaded as FHIR AuditEvent', async () => {
    await auditor.goto('/audit');
    await auditor.getByLabel('Person (NHS number)').fill(NHS.replace(/^(\d{3})(\d{3})/, '$1 $2 '));
    await auditor.getByRole('button', { name: 'Search' }).click();
    const rows = await auditor.locator('tr[data-seq]').allTextContents();
    expect(rows.some((r) => r.includes('viewer.read') && r.includes('ward-viewer') && r.includes('Break-glass'))).toBe(true);
    expect(rows.some((r) => r.includes('console GET /messages') && r.includes('dev.engineer'))).toBe(true);

    const [download] = await Promise.all([auditor.waitForEvent('download'), auditor.locator('[data-export]').click()]);
    expect(download.suggestedFilename()).toBe(`audit-${NHS}.json`);
    const bundle = JSON.parse(readFileSync((await download.path())!, 'utf8')) as { resourceType: string; type: string; entry: { resource: { resourceType: string; entity?: { what?: { identifier?: { value?: string } } }[] } }[] };
    expect([bundle.resourceType, bundle.type]).toEqual(['Bundle', 'searchset']);
    expect(bundle.entry.length).toBe(rows.length);
    for (const entry of bundle.entry) expect(entry.resource.resourceType).toBe('AuditEvent');
    expect(JSON.stringify(bundle)).toContain(NHS);

    await auditor.locator('tr[data-seq] a').first().click();
    expect(new URL(auditor.url()).pathname).toMatch(/^\/audit\/entries\/\d+$/);
    expect(await auditor.locator('.govuk-summary-list').textContent()).toContain("This entry's hash");
    await expectAccessible(auditor);
    await screenshot(auditor, 'audit-entry');
    expect((await auditor.goto('/audit/entries/99999999'))!.status()).toBe(404);
  });

  test('the chain is checked and found intact', async () => {
    await auditor.goto('/audit');
    await auditor.getByRole('link', { name: 'Check the audit trail has not been altered' }).click();
    await expectAccessible(auditor);
    await auditor.getByRole('button', { name: 'Check the audit trail' }).click();
    expect(await auditor.getByRole('heading', { level: 1 }).textContent()).toContain('The audit trail is intact');
    expect(await auditor.locator('[data-verify="intact"]').count()).toBe(1);
    const head = await auditor.locator('[data-head]').textContent();
    expect(head).toMatch(/^\d+:[0-9a-f]{64}$/);
    await expectAccessible(auditor);
    await screenshot(auditor, 'audit-verify');
    // Given the entry noted a moment ago: still there, unchanged.
    await auditor.getByLabel('An entry noted earlier (optional)').fill(head!);
    await auditor.getByRole('button', { name: 'Check the audit trail' }).click();
    expect(await auditor.locator('[data-verify="intact"]').count()).toBe(1);
    await auditor.getByLabel('An entry noted earlier (optional)').fill('not a head');
    await auditor.getByRole('button', { name: 'Check the audit trail' }).click();
    expect(await auditor.locator('.govuk-error-summary').textContent()).toContain('Enter the entry noted earlier');
  });

  test('the break-glass report lists the override view with its reason', async () => {
    await auditor.goto('/audit');
    await auditor.getByRole('link', { name: 'Break-glass access report' }).click();
    const rows = await auditor.locator('tr[data-seq]').allTextContents();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r).toContain(BREAK_GLASS_REASON);
    expect(rows[0]).toContain('ward-viewer');
    expect(rows[0]).toContain(NHS);
    await expectAccessible(auditor);
    await screenshot(auditor, 'audit-break-glass');
  });

  test('the trail records the playground runs without their content, the verify and the export', async () => {
    const entries = await eventually(async () => {
      const all = await auditEntries();
      return all.some((x) => x.action === 'console GET /audit/break-glass') ? all : undefined;
    });
    const runs = entries.filter((x) => x.action === 'console POST /mappings/run');
    expect(runs.map((x) => [x.outcome, x.detail?.ok])).toEqual([
      ['success', true],
      ['failure', false],
      ['failure', false],
      ['failure', false],
      ['failure', false],
      ['denied', undefined],
      ['success', true],
    ]);
    expect(runs[0].detail).toMatchObject({ mapping: 'hl7v2-adt-to-fhir', bytes: expect.any(Number), issues: 0 });
    const cases = entries.filter((x) => x.action === 'console POST /mappings/cases');
    expect(cases.map((x) => x.detail?.failed)).toEqual([0, 0]);
    // Neither the pasted message nor the output is in the trail.
    expect(JSON.stringify(entries)).not.toMatch(/ELLIS|ANNA|resourceType/);
    expect(entries.filter((x) => x.action === 'console POST /audit/verify').map((x) => [x.actor?.id, x.detail?.ok])).toEqual([
      ['dev.auditor', true],
      ['dev.auditor', true],
      ['dev.auditor', undefined],
    ]);
    expect(entries.filter((x) => x.action === 'console GET /audit/export').map((x) => [x.actor?.id, x.outcome, x.detail?.exportedFor])).toEqual([
      ['dev.engineer', 'denied', undefined],
      ['dev.auditor', 'success', NHS],
    ]);
    expect(entries.some((x) => x.action === 'console GET /audit' && x.actor?.id === 'dev.operator' && x.outcome === 'denied')).toBe(true);
  });

  test('an entry edited in the database (chain recomputed without the key): the check names where it breaks', async () => {
    const db = await openDatabase(e.env.TRAMLINE_DB_URL!);
    try {
      await dropAppendOnlyGuards(db);
      await recomputeChainFrom(db, 3, (row) => ({ ...row, actor: 'someone-else' }));
    } finally {
      await db.close();
    }
    await auditor.goto('/audit/verify');
    await auditor.getByRole('button', { name: 'Check the audit trail' }).click();
    expect(await auditor.getByRole('heading', { level: 1 }).textContent()).toBe('The audit trail is broken');
    const broken = await auditor.locator('[data-verify="broken"]').textContent();
    expect(broken).toContain('Entry 3 does not fit the chain: entry MAC does not match its hash');
    await expectAccessible(auditor);
    await screenshot(auditor, 'audit-verify-broken');
  });

  test('no page broke its Content-Security-Policy or threw a script error', () => {
    expect(browser.problems).toEqual([]);
  });
});
