// Test helper for the local RabbitMQ: one throwaway vhost per test file, created and removed with
// rabbitmqctl (the management plugin is not enabled here). Fails loudly if the broker is missing.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
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

/**
 * Wait until no other test vhost exists (other test files using this helper have finished), so
 * stopping the broker does not pull it from under them. Gives up after `timeoutMs`.
 */
export async function waitForQuietBroker(ownVhost: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const others = (await rabbitmqctl('list_vhosts')).split('\n').filter((v) => v.startsWith('tramline-test-') && v !== ownVhost);
    if (others.length === 0 || Date.now() > deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Stop the broker application, run `during`, and always start it again. */
export async function withBrokerStopped(during: () => Promise<void>): Promise<void> {
  await rabbitmqctl('stop_app');
  try {
    await during();
  } finally {
    await rabbitmqctl('start_app');
    await rabbitmqctl('await_startup');
  }
}
