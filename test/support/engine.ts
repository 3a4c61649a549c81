// Runs the real engine (`tramline start`) as a child process for end-to-end tests, so crash
// tests can kill -9 a real process. Each engine gets its own temp data folder and ports.
import { afterAll } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The `tramline` command the tests run: from the build of the current sources that jest's global
 * setup made for this run (test/support/engine-build.js), which starts in a fraction of the time;
 * without one (jest run without the project's config), the sources through tsx (TRAMLINE_DEV=1).
 * Never dist/, which may predate the sources.
 */
export const BIN = process.env.JEST_TRAMLINE_BUILD ? path.join(process.env.JEST_TRAMLINE_BUILD, 'bin/tramline.js') : path.join(ROOT, 'bin/tramline.js');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

export interface EngineEnv {
  dir: string;
  env: NodeJS.ProcessEnv;
  mllpPort: number;
  httpPort: number;
  caseDbUrl: string;
}

/** YAML of a notice channel's `mesh-out` destination: answers to the MESH outbox, back to the sender's mailbox. */
export function meshOutDestination(outbox: string): string {
  return `  - name: mesh-out
    type: mesh-folder
    outbox: ${outbox}
    fromMailbox: X26OT123
    replyToSender: true
    workflowId: ADW_RESPONSE
    createDirectory: true
    routes: [adw-out.mesh.#]
`;
}

/** A temp folder with one ADT → inbox channel on a free port. */
export async function prepareEngine(opts: { dbUrl?: string; caseDbUrl?: string; amqpUrl?: string; extraEnv?: NodeJS.ProcessEnv; channelYaml?: (port: number) => string } = {}): Promise<EngineEnv> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-e2e-'));
  const mllpPort = await freePort();
  const httpPort = await freePort();
  const caseDbUrl = opts.caseDbUrl ?? `sqlite:${path.join(dir, 'case.db')}`;
  const channels = path.join(dir, 'channels');
  const yaml =
    opts.channelYaml?.(mllpPort) ??
    `id: adt-in
source:
  type: mllp
  host: 127.0.0.1
  port: ${mllpPort}
  maxMessageBytes: 4096
  maxConnections: 250 # room for the 200-connection tests beside their other clients
pipeline:
  filter:
    messageTypes: [ADT]
destinations:
  - name: inbox
    type: case-inbox
    database: ${caseDbUrl}
    routes: [hl7v2.ADT.#]
    retry: { maxAttempts: 5, initialDelayMs: 100 }
`;
  (await import('node:fs')).mkdirSync(channels);
  writeFileSync(path.join(channels, 'adt-in.yaml'), yaml);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_OPTIONS: '',
    TRAMLINE_DATA_DIR: path.join(dir, 'data'),
    TRAMLINE_DB_URL: opts.dbUrl ?? `sqlite:${path.join(dir, 'data', 'tramline.db')}`,
    TRAMLINE_CHANNELS: channels,
    TRAMLINE_HTTP_PORT: String(httpPort),
    TRAMLINE_AMQP_URL: opts.amqpUrl ?? '',
    TRAMLINE_LOG_LEVEL: 'info',
    // The sources under test, not a dist/ build that may predate them.
    TRAMLINE_DEV: '1',
    ...opts.extraEnv,
  };
  return { dir, env, mllpPort, httpPort, caseDbUrl };
}

export interface EngineProcess {
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
  kill9(): Promise<void>;
  terminate(): Promise<number | string>;
}

const running = new Set<ChildProcess>();

// Whatever a test file does, no engine outlives it (an orphan would keep jest from exiting).
afterAll(() => killAllEngines());

/** Kill every engine this test file started that is still running (call in afterAll). */
export async function killAllEngines(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}

/**
 * Spawn `tramline start` and wait until it logs that it started. maxOpenFiles: run it under
 * that file descriptor limit (`ulimit -n`), to see what happens when it runs out.
 */
export async function startEngine(e: EngineEnv, timeoutMs = 120000, options: { maxOpenFiles?: number } = {}): Promise<EngineProcess> {
  const child = options.maxOpenFiles
    ? spawn('/bin/sh', ['-c', `ulimit -n ${options.maxOpenFiles} && exec "$0" "$@"`, process.execPath, BIN, 'start'], { cwd: e.dir, env: { TRAMLINE_DEV: '1', ...e.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, [BIN, 'start'], { cwd: e.dir, env: { TRAMLINE_DEV: '1', ...e.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let out = '';
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? -1)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`engine did not start in ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('"msg":"tramline started"')) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`engine exited (${code}) before starting:\n${out}`));
    });
  });
  return {
    child,
    output: () => out,
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async terminate() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

/** Run the CLI to completion; resolves with exit code and output. */
export function runCli(args: string[], env: NodeJS.ProcessEnv, cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, env: { TRAMLINE_DEV: '1', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/** Poll `check` until it returns a value (not undefined/false) or the time runs out. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, timeoutMs = 15000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export { writeFileSync };
