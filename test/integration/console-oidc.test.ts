// Console sign-in with OpenID Connect against a real provider (`oidc-provider`, in this process,
// on a free port): authorization code + PKCE through Debian's Chromium, roles from a claim the
// provider releases through userinfo, mapped to Tramline's roles, and the organisation from NHS
// CIS2-style role profiles; a callback whose state does not match its session signs nobody in;
// sign-out ends the provider's session too (RP-initiated logout) and comes back to the console's
// signed-out page. Fails without Chromium, as the other browser test does.
import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import { eventually, freePort, prepareEngine, runCli, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';

const CHROMIUM = process.env.TRAMLINE_CHROMIUM || '/usr/bin/chromium';
const GROUPS: Record<string, string[]> = { olive: ['tl-engineers', 'Everyone'], nadia: ['Everyone'] };
const NAMES: Record<string, string> = { olive: 'Olive Oidc', nadia: 'Nadia Noroles' };
/** Role profiles as NHS CIS2 releases them (`nhsid_nrbac_roles`), each with its organisation's ODS code. */
const ROLE_PROFILES: Record<string, { person_roleid: string; org_code: string; role_code: string }[]> = { olive: [{ person_roleid: '555001', org_code: 'rxl', role_code: 'S8000:G8000:R8000' }] };

let e: EngineEnv;
let engine: EngineProcess;
let browser: Browser;
let idp: http.Server;
let base: string;
let issuer: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (bash .ci/run does this)`);
  const idpPort = await freePort();
  issuer = `http://127.0.0.1:${idpPort}`;
  e = await prepareEngine();
  base = `http://127.0.0.1:${e.httpPort}`;
  // The provider warns (on the console) that its development keys and login pages are for tests only (they
  // are), and that it prefers Node.js 22 (it runs on 20, which Tramline supports; it is only a test's provider).
  const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
  const { default: Provider } = await import('oidc-provider');
  const provider = new Provider(issuer, {
    clients: [{ client_id: 'tramline-console', client_secret: 'a-test-secret', redirect_uris: [`${base}/sign-in/callback`], post_logout_redirect_uris: [`${base}/signed-out`], token_endpoint_auth_method: 'client_secret_post', grant_types: ['authorization_code'], response_types: ['code'] }],
    claims: { openid: ['sub'], profile: ['name', 'groups', 'nhsid_nrbac_roles'] },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id, name: NAMES[id] ?? id, groups: GROUPS[id] ?? [], nhsid_nrbac_roles: ROLE_PROFILES[id] ?? [] }) }),
    pkce: { required: () => true },
    features: { devInteractions: { enabled: true } },
    ttl: { Interaction: 600, Session: 3600, Grant: 3600, AccessToken: 600, IdToken: 600 },
  });
  warn.mockRestore();
  idp = http.createServer(provider.callback());
  await new Promise<void>((resolve) => idp.listen(idpPort, '127.0.0.1', resolve));
  e.env = {
    ...e.env,
    TRAMLINE_PUBLIC_URL: base,
    TRAMLINE_AUTH_DEV_ISSUER: '',
    TRAMLINE_OIDC_ISSUER: issuer,
    TRAMLINE_OIDC_CLIENT_ID: 'tramline-console',
    TRAMLINE_OIDC_CLIENT_SECRET: 'a-test-secret',
    TRAMLINE_OIDC_ROLES_CLAIM: 'groups',
    TRAMLINE_OIDC_ROLE_MAP: 'tl-engineers=engineer',
    TRAMLINE_OIDC_ORG_CLAIM: 'nhsid_nrbac_roles.org_code',
  };
  engine = await startEngine(e);
  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (engine && engine.child.exitCode === null) await engine.terminate();
  if (idp) await new Promise((resolve) => idp.close(resolve));
});

async function signInAt(login: string) {
  const context = await browser.newContext({ baseURL: base });
  const page = await context.newPage();
  await page.goto('/messages');
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  expect(await page.getByRole('link', { name: 'Sign in as a development user' }).count()).toBe(0);
  await page.getByRole('button', { name: `Sign in with 127.0.0.1:${new URL(issuer).port}` }).click();
  expect(page.url().startsWith(issuer)).toBe(true);
  await page.locator('input[name=login]').fill(login);
  await page.locator('input[name=password]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.waitForURL((url) => url.origin === base && !url.pathname.startsWith('/sign-in'));
  return { context, page };
}

describe('OpenID Connect sign-in', () => {
  test('authorization code + PKCE: the person lands where they were going, with the mapped role', async () => {
    const { context, page } = await signInAt('olive');
    expect(new URL(page.url()).pathname).toBe('/messages');
    expect(await page.locator('.tl-signed-in').textContent()).toMatch(/Signed in as\s+Olive Oidc\s+\(engineer\)/);
    // The development sign-in is off: TRAMLINE_AUTH_DEV_ISSUER is not set.
    expect((await page.goto('/sign-in/dev'))!.status()).toBe(404);
    await context.close();
  });

  test('someone whose claims map to no Tramline role is signed in and refused every page', async () => {
    const { context, page } = await signInAt('nadia');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You do not have access to this page');
    expect(await page.locator('.tl-signed-in').textContent()).toContain('no Tramline role');
    await context.close();
  });

  test('a callback that does not match the session’s sign-in signs nobody in', async () => {
    const context = await browser.newContext({ baseURL: base });
    const page = await context.newPage();
    const cold = await page.goto('/sign-in/callback?code=stolen&state=guessed');
    expect(cold!.status()).toBe(401);
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('You could not be signed in');
    // With a sign-in under way, a wrong state is refused too (and the pending sign-in is spent).
    await page.goto('/sign-in');
    await page.request.get('/sign-in/oidc', { maxRedirects: 0 });
    const wrong = await page.goto('/sign-in/callback?code=stolen&state=guessed');
    expect(wrong!.status()).toBe(401);
    expect(new URL((await page.goto('/'))!.url()).pathname).toBe('/sign-in');
    await context.close();
  });

  test('OIDC sign-ins and the refused callbacks are audited', async () => {
    const entries = await eventually(async () => {
      const { code, stdout } = await runCli(['audit', 'list', '--json'], e.env);
      const all = code === 0 ? (JSON.parse(stdout) as { action: string; outcome: string; actor?: { id: string; organisation?: string }; detail?: Record<string, unknown> }[]) : [];
      return all.filter((x) => x.action === 'console.sign-in').length === 2 ? all : undefined;
    });
    // The organisation from the first CIS2-style role profile (TRAMLINE_OIDC_ORG_CLAIM); none without one.
    expect(entries.filter((x) => x.action === 'console.sign-in').map((x) => [x.actor?.id, x.detail?.method, x.detail?.roles, x.actor?.organisation])).toEqual([
      ['olive', 'oidc', ['engineer'], 'RXL'],
      ['nadia', 'oidc', [], undefined],
    ]);
    const refused = entries.filter((x) => x.action === 'console GET /sign-in/callback' && x.outcome === 'unauthenticated');
    expect(refused.length).toBeGreaterThan(0);
  });

  test('sign-out ends the provider\u2019s session too and comes back to the signed-out page', async () => {
    const { context, page } = await signInAt('olive');
    // The sign-out form's redirect to the provider is allowed by the page's form-action.
    const csp = (await page.request.get('/messages')).headers()['content-security-policy'];
    expect(csp).toContain(`form-action 'self' ${issuer}`);
    await page.getByRole('button', { name: 'Sign out' }).click();
    // The provider's end-session endpoint, with the ID token as the hint and the way back.
    await page.waitForURL((url) => url.origin === issuer);
    const endSession = new URL(page.url());
    expect(endSession.pathname).toBe('/session/end');
    expect(endSession.searchParams.get('post_logout_redirect_uri')).toBe(`${base}/signed-out`);
    expect(endSession.searchParams.get('id_token_hint')).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL((url) => url.origin === base);
    expect(new URL(page.url()).pathname + new URL(page.url()).search).toBe('/sign-in?signedOut=1');
    expect(await page.locator('main').textContent()).toContain('You have signed out.');
    // Tramline's session is gone, and so is the provider's: signing in asks for the password again.
    expect(new URL((await page.goto('/messages'))!.url()).pathname).toBe('/sign-in');
    await page.getByRole('button', { name: `Sign in with 127.0.0.1:${new URL(issuer).port}` }).click();
    expect(page.url().startsWith(issuer)).toBe(true);
    expect(await page.locator('input[name=password]').count()).toBe(1);
    // The ID token stayed on the server: the only cookie is the opaque session id.
    const cookies = await context.cookies(base);
    expect(cookies.map((c) => c.name)).toEqual(['tramline-session']);
    expect(cookies[0].value).not.toContain('.');
    const signOuts = await eventually(async () => {
      const { code, stdout } = await runCli(['audit', 'list', '--json'], e.env);
      const all = code === 0 ? (JSON.parse(stdout) as { action: string; actor?: { id: string } }[]) : [];
      const found = all.filter((x) => x.action === 'console.sign-out');
      return found.length ? found : undefined;
    });
    expect(signOuts.map((x) => x.actor?.id)).toEqual(['olive']);
    await context.close();
  });
});
