// Test helper for the local RabbitMQ: one throwaway vhost per test file, created and removed with
// rabbitmqctl (the management plugin is not enabled here). Fails loudly if the broker is missing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const RABBIT_HOST = process.env.TRAMLINE_TEST_AMQP_HOST ?? 'guest:guest@127.0.0.1:5672';

export async function rabbitmqctl(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('rabbitmqctl', ['-q', ...args], { timeout: 60_000 });
    return stdout;
  } catch (err) {
    throw new Error(`rabbitmqctl ${args.join(' ')} failed (is RabbitMQ installed and running?): ${(err as Error).message}`);
  }
}

export interface TestVhost {
  name: string;
  url: string;
  /** A fresh name prefix for one test inside this vhost. */
  prefix(label: string): string;
  remove(): Promise<void>;
}

export async function createTestVhost(label: string): Promise<TestVhost> {
  await waitForNoRestart(180_000);
  const name = `tramline-test-${label}-${randomBytes(4).toString('hex')}`;
  await rabbitmqctl('add_vhost', name);
  await rabbitmqctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  let counter = 0;
  return {
    name,
    url: `amqp://${RABBIT_HOST}/${encodeURIComponent(name)}`,
    prefix: (test) => `t${++counter}-${test}`,
    remove: async () => {
      await rabbitmqctl('delete_vhost', name);
    },
  };
}

/** Poll `condition` until it holds; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 20_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** While this file exists (holding a live pid), a test has the broker stopped or is about to. */
const RESTART_MARKER = path.join(os.tmpdir(), 'tramline-rabbit-restart.pid');

function markerOwnerAlive(): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(RESTART_MARKER, 'utf8'));
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function waitForNoRestart(timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (markerOwnerAlive() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
}

/**
 * Wait until no other test vhost exists (other test files using this helper have finished).
 * Two quiet looks in a row: a file that checked the marker just before it was written has
 * finished creating its vhost by the second look.
 */
async function waitForQuietBroker(ownVhost: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let quietLooks = 0;
  while (quietLooks < 2 && Date.now() < deadline) {
    const others = (await rabbitmqctl('list_vhosts')).split('\n').filter((v) => v.startsWith('tramline-test-') && v !== ownVhost);
    quietLooks = others.length === 0 ? quietLooks + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Stop the broker application, run `during`, and always start it again. New test vhosts wait
 * while this runs, and it first waits (up to `quietTimeoutMs`) for the other test files that use
 * this helper to finish, so it does not pull the broker from under them.
 */
export async function withBrokerStopped(ownVhost: string, during: () => Promise<void>, quietTimeoutMs = 120_000): Promise<void> {
  await waitForNoRestart(quietTimeoutMs);
  await writeFile(RESTART_MARKER, String(process.pid));
  try {
    await waitForQuietBroker(ownVhost, quietTimeoutMs);
    await rabbitmqctl('stop_app');
    try {
      await during();
    } finally {
      await rabbitmqctl('start_app');
      await rabbitmqctl('await_startup');
    }
  } finally {
    await unlink(RESTART_MARKER).catch(() => undefined);
  }
}
