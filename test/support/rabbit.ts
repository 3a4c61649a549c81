// Test helper for the local RabbitMQ: one throwaway vhost per test file, created and removed with
// rabbitmqctl (the management plugin is not enabled here). Fails loudly if the broker is missing.
// Tests never stop or restart this shared broker; those that need a broker to go away start a
// private node (rabbit-node.ts).
import { expect } from '@jest/globals';
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

/** A broker the tests can reach: its AMQP `user:pass@host:port` and its rabbitmqctl. */
export interface RabbitNode {
  readonly host: string;
  ctl(...args: string[]): Promise<string>;
}

export const sharedRabbit: RabbitNode = { host: RABBIT_HOST, ctl: rabbitmqctl };

export interface TestVhost {
  name: string;
  url: string;
  /** A fresh name prefix for one test inside this vhost. */
  prefix(label: string): string;
  remove(): Promise<void>;
}

export async function createTestVhost(label: string, node: RabbitNode = sharedRabbit): Promise<TestVhost> {
  const name = `tramline-test-${label}-${randomBytes(4).toString('hex')}`;
  await node.ctl('add_vhost', name);
  await node.ctl('set_permissions', '-p', name, 'guest', '.*', '.*', '.*');
  let counter = 0;
  return {
    name,
    url: `amqp://${node.host}/${encodeURIComponent(name)}`,
    prefix: (test) => `t${++counter}-${test}`,
    remove: async () => {
      await node.ctl('delete_vhost', name);
    },
  };
}

/**
 * Which run of a broker this is: its OS process, its RabbitMQ application (a new supervisor pid
 * after `stop_app`/`start_app`, which leave the VM's uptime running) and the VM's uptime. The same
 * id and a grown uptime later mean nobody stopped, restarted or killed it in between.
 */
export async function brokerRun(node: RabbitNode = sharedRabbit): Promise<{ id: string; uptimeSeconds: number }> {
  const out = await node.ctl('eval', 'lists:flatten(io_lib:format("~s ~p ~p", [os:getpid(), whereis(rabbit_sup), element(1, erlang:statistics(wall_clock)) div 1000])).');
  const [osPid, app, uptime] = out.replace(/"/g, '').trim().split(' ');
  return { id: `os pid ${osPid}, rabbit_sup ${app}`, uptimeSeconds: Number(uptime) };
}

/** For files that take a broker away: the shared one must still be in the run `before` saw. */
export async function expectSharedBrokerUntouchedSince(before: { id: string; uptimeSeconds: number }): Promise<void> {
  const now = await brokerRun();
  expect(now.id).toBe(before.id);
  expect(now.uptimeSeconds).toBeGreaterThanOrEqual(before.uptimeSeconds);
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
