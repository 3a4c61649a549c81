// The web console over plain HTTP against a real engine process whose public address is https:
// the session cookie's attributes, a new session id at sign-in, CSRF on the sign-in form, the
// idle timeout, per-page Content-Security-Policy, and what unknown paths answer (a page for a
// browser, the JSON 404 for everyone else).
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';

let e: EngineEnv;
let engine: EngineProcess;
let base: string;
const IDLE_MS = 1500;

/** A minimal cookie jar for one session. */
class Client {
  cookie = '';
  setCookies: string[] = [];

  async get(path: string, headers: Record<string, string> = {}) {
    return this.remember(await fetch(`${base}${path}`, { redirect: 'manual', headers: { accept: 'text/html', cookie: this.cookie, ...headers } }));
  }

  async post(path: string, form: Record<string, string>) {
    return this.remember(await fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { accept: 'text/html', cookie: this.cookie, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form).toString() }));
  }

  private remember(res: Response) {
    this.setCookies = res.headers.getSetCookie();
    for (const c of this.setCookies) this.cookie = c.split(';')[0];
    return res;
  }
}

const csrfOf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';

beforeAll(async () => {
  e = await prepareEngine({
    extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_PUBLIC_URL: 'https://tramline.example.org', TRAMLINE_CONSOLE_IDLE_MINUTES: String(IDLE_MS / 60_000) },
  });
  engine = await startEngine(e);
  base = `http://127.0.0.1:${e.httpPort}`;
});

afterAll(async () => {
  if (engine && engine.child.exitCode === null) await engine.terminate();
});

describe('console sessions over HTTP', () => {
  const client = new Client();
  let beforeSignIn: string;

  test('the sign-in form gets a __Host- cookie: HttpOnly, Secure, SameSite=Lax, an opaque id', async () => {
    const page = await client.get('/sign-in/dev');
    expect(page.status).toBe(200);
    expect(client.setCookies).toHaveLength(1);
    expect(client.setCookies[0]).toMatch(/^__Host-tramline-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    beforeSignIn = client.cookie;
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toMatch(/script-src 'self' 'nonce-[A-Za-z0-9+/=]+'/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain('upgrade-insecure-requests');
    expect(csp).not.toContain('unsafe-inline');
    expect(page.headers.get('cache-control')).toBe('no-store');
    // The nonce in the header is the one on the page's only inline script.
    const html = await page.text();
    const nonce = /'nonce-([^']+)'/.exec(csp)![1];
    expect(html.match(/<script(?! type="module" src)[^>]*>/g)).toEqual([`<script nonce="${nonce}">`]);
  });

  test('a sign-in without the form’s CSRF token is refused and signs nobody in', async () => {
    const refused = await client.post('/sign-in/dev', { user: 'dev.admin', _csrf: 'not-the-token' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('The page had expired');
    expect((await client.get('/')).headers.get('location')).toBe('/sign-in?returnTo=%2F');
  });

  test('signing in gives a new session id; the old one is worth nothing', async () => {
    const form = await client.get('/sign-in/dev?returnTo=/messages');
    const signedIn = await client.post('/sign-in/dev', { user: 'dev.operator', returnTo: '/messages', _csrf: csrfOf(await form.text()) });
    expect([signedIn.status, signedIn.headers.get('location')]).toEqual([303, '/messages']);
    expect(client.cookie).not.toBe(beforeSignIn);
    expect((await client.get('/messages')).status).toBe(200);
    const planted = new Client();
    planted.cookie = beforeSignIn;
    expect((await planted.get('/messages')).status).toBe(303);
  });

  test('after the idle timeout the next page leads to sign-in, saying why', async () => {
    await new Promise((r) => setTimeout(r, IDLE_MS + 300));
    const res = await client.get('/messages');
    expect([res.status, res.headers.get('location')]).toEqual([303, '/sign-in?returnTo=%2Fmessages&expired=1']);
    const signIn = await client.get(res.headers.get('location')!);
    expect(await signIn.text()).toContain('You were signed out because you had not used the console');
  });

  test('unknown paths: a page for a browser, the JSON 404 for API clients; /api never redirects', async () => {
    const browser = await client.get('/no-such-page');
    expect([browser.status, browser.headers.get('content-type')]).toEqual([404, 'text/html; charset=utf-8']);
    expect(await browser.text()).toContain('Page not found');
    const api = await fetch(`${base}/no-such-page`, { headers: { accept: 'application/json' } });
    expect([api.status, ((await api.json()) as { error: { status: number } }).error.status]).toEqual([404, 404]);
    const unauthenticated = await client.get('/api/channels');
    expect([unauthenticated.status, unauthenticated.headers.get('content-type')]).toEqual([401, 'application/json; charset=utf-8']);
  });
});
