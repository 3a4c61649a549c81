// Shared by the console's browser tests: Debian's Chromium driven by playwright-core, a page per
// person (each its own browser context), sign-in through the development sign-in page, an axe-core
// check (WCAG 2.2 AA: no serious or critical violations), screenshots for docs/console.md and
// docs/viewer.md when TRAMLINE_SCREENSHOTS=1, and a record of Content-Security-Policy violations
// and script errors.
import { expect } from '@jest/globals';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ROOT, runCli } from './engine.js';

export const CHROMIUM = process.env.TRAMLINE_CHROMIUM || '/usr/bin/chromium';
const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
const SCREENSHOTS = process.env.TRAMLINE_SCREENSHOTS === '1';
const WCAG_22_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[] }[];
}

/** Chromium must be installed (`.ci/run` installs Debian's `chromium`): without it the test fails, it does not skip. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium is not installed at ${CHROMIUM}: apt-get install -y chromium (bash .ci/run does this)`);
  // Playwright starts Chromium with a fresh temporary profile (--user-data-dir) of its own on each launch.
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--lang=en-GB'],
  });
}

/** One browser and the pages opened in it against one engine. */
export class ConsoleBrowser {
  /** Content-Security-Policy violations and script errors seen on any page. */
  readonly problems: string[] = [];
  private readonly contexts: BrowserContext[] = [];

  private constructor(
    readonly browser: Browser,
    readonly base: string,
  ) {}

  static async launch(base: string): Promise<ConsoleBrowser> {
    return new ConsoleBrowser(await launchChromium(), base);
  }

  /** A page in a browser context of its own (its own cookies: one person). */
  async newPage(): Promise<Page> {
    const context = await this.browser.newContext({ viewport: { width: 1200, height: 900 }, baseURL: this.base, locale: 'en-GB', timezoneId: 'UTC' });
    this.contexts.push(context);
    const page = await context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error' && /Content.Security.Policy|Refused to/i.test(m.text())) this.problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (err) => this.problems.push(`${page.url()}: ${err.message}`));
    return page;
  }

  async close(): Promise<void> {
    for (const c of this.contexts) await c.close().catch(() => undefined);
    await this.browser.close();
  }
}

/** axe-core run in the page (evaluated over the DevTools protocol, so the page's CSP still holds for everything else). */
export async function expectAccessible(page: Page): Promise<void> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate(async (tags) => {
    const result = await (window as unknown as { axe: { run(ctx: Document, o: unknown): Promise<{ violations: AxeViolation[] }> } }).axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.map((n) => ({ target: n.target })) }));
  }, WCAG_22_AA);
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect({ url: page.url(), serious }).toEqual({ url: page.url(), serious: [] });
}

/** docs/<folder>/<name>.png (docs/console/ unless said), only when TRAMLINE_SCREENSHOTS=1. */
export async function screenshot(page: Page, name: string, fullPage = true, folder: 'console' | 'viewer' = 'console'): Promise<void> {
  if (!SCREENSHOTS) return;
  const dir = path.join(ROOT, 'docs', folder);
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage, animations: 'disabled', caret: 'hide' });
}

/** Sign in as a development user, starting from `start` (the sign-in page comes first). */
export async function signIn(page: Page, userLabel: RegExp, start = '/'): Promise<void> {
  await page.goto(start);
  expect(new URL(page.url()).pathname).toBe('/sign-in');
  await page.getByRole('link', { name: 'Sign in as a development user' }).click();
  await page.getByLabel(userLabel).check();
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** A field of an audit entry as `tramline audit list --json` prints it (each test names what it reads). */
export interface ListedAuditEntry {
  seq: number;
  category: string;
  action: string;
  outcome: string;
  actor?: { id: string; kind: string; role?: string; organisation?: string };
  patient?: string;
  purpose?: string;
  messageId?: string;
  breakGlass?: string;
  detail?: Record<string, unknown>;
}

/** The engine's audit trail, read through the CLI as an auditor would. */
export async function auditEntries(env: NodeJS.ProcessEnv): Promise<ListedAuditEntry[]> {
  const { code, stdout, stderr } = await runCli(['audit', 'list', '--json'], env);
  if (code !== 0) throw new Error(stderr);
  return JSON.parse(stdout) as ListedAuditEntry[];
}
