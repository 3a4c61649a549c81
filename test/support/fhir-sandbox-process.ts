// Starts the sandbox FHIR server (server/fhir/standalone.ts) in its own process, so FHIR
// destination tests talk to a real server over real TCP. Scripted faults, the requests it
// received and the accepted tokens are driven through its /__sandbox/ controls.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FaultStep, ReceivedRequest } from '../../server/fhir/test-controls.js';

export type { FaultStep, ReceivedRequest };

const SCRIPT = fileURLToPath(new URL('../../server/fhir/standalone.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(SCRIPT), '../..');
/** Node arguments that run it: from this jest run's build of the sources when there is one (see engine.ts's BIN), else through tsx. */
const RUN = process.env.JEST_TRAMLINE_BUILD ? [path.join(process.env.JEST_TRAMLINE_BUILD, 'server/fhir/standalone.js')] : ['--import', 'tsx', SCRIPT];
/** Start-up compiles the FHIR R4 schema (seconds; far more on a loaded machine). */
export const STARTUP_TIMEOUT_MS = 110_000;
/** For the beforeAll hooks that start a sandbox. */
export const SANDBOX_HOOK_TIMEOUT_MS = 120_000;

export interface FhirSandboxProcess {
  /** FHIR base URL, e.g. http://127.0.0.1:40123/fhir */
  baseUrl: string;
  port: number;
  child: ChildProcess;
  /** Replace the scripted faults (each step answers `times` matching requests). */
  faults(steps: FaultStep[]): Promise<void>;
  /** Bearer tokens accepted from now on ([] = no authentication). */
  acceptTokens(tokens: string[]): Promise<void>;
  received(): Promise<ReceivedRequest[]>;
  clearReceived(): Promise<void>;
  /** GET below the base with the sandbox's own token (if any); returns status and JSON. */
  get(pathAndQuery: string): Promise<{ status: number; body: Record<string, unknown> }>;
  close(): Promise<void>;
}

export interface SandboxOptions {
  /** Database URL (default: SQLite in a temp folder, removed on close). */
  db?: string;
  tokens?: string[];
}

export async function startFhirSandbox(options: SandboxOptions = {}): Promise<FhirSandboxProcess> {
  const dir = options.db ? undefined : fs.mkdtempSync(path.join(os.tmpdir(), 'tramline-fhir-sandbox-'));
  const db = options.db ?? `sqlite:${path.join(dir!, 'fhir.db')}`;
  const child = spawn(process.execPath, RUN, {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '', FHIR_SANDBOX_DB: db, FHIR_SANDBOX_CONTROL: '1', FHIR_SANDBOX_TOKENS: (options.tokens ?? []).join(','), TRAMLINE_LOG_LEVEL: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`FHIR sandbox did not start:\n${err}`)), STARTUP_TIMEOUT_MS);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve((JSON.parse(out.split('\n')[0]) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`FHIR sandbox exited (${code}) before listening:\n${err}`));
    });
  });
  const origin = `http://127.0.0.1:${port}`;
  let tokens = options.tokens ?? [];
  const control = async (method: string, route: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${origin}/__sandbox/${route}`, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`FHIR sandbox ${method} ${route}: ${res.status}`);
    return res;
  };
  return {
    baseUrl: `${origin}/fhir`,
    port,
    child,
    async faults(steps) {
      await control('PUT', 'faults', steps);
    },
    async acceptTokens(list) {
      tokens = list;
      await control('PUT', 'tokens', list);
    },
    async received() {
      return (await (await control('GET', 'requests')).json()) as ReceivedRequest[];
    },
    async clearReceived() {
      await control('DELETE', 'requests');
    },
    async get(pathAndQuery) {
      const res = await fetch(`${origin}/fhir${pathAndQuery}`, { headers: { accept: 'application/fhir+json', ...(tokens.length ? { authorization: `Bearer ${tokens[0]}` } : {}) } });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async close() {
      if (child.exitCode === null) {
        child.stdin!.end();
        child.kill('SIGTERM');
        await exited;
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
