// A private RabbitMQ node for tests that stop or kill a broker, so the shared broker on 5672 is
// never touched: its own node name, AMQP and distribution ports (found free at runtime) and a temp
// dir for data, logs and config; no plugins. Starting a node takes 5-40 s on 2 busy cores, so a
// test file shares one. It is started with the same `rabbitmq-server` and driven with the same `rabbitmqctl` as the
// shared node, so it runs as the same user with the same Erlang cookie (Debian's wrappers switch
// root to the rabbitmq user for both).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './engine.js';
import { rabbitmqctl, waitFor, type RabbitNode } from './rabbit.js';

const run = promisify(execFile);

const DIR_PREFIX = 'tramline-rabbit-';
/** Holds the pid of the test process that owns the node: a dir whose owner is gone is a leak. */
const OWNER_FILE = 'owner.pid';
/** Written by the node itself (RABBITMQ_PID_FILE): the Erlang VM to kill. */
const BEAM_PID_FILE = 'beam.pid';
const LEFTOVER_GRACE_MS = 10 * 60_000;

export interface PrivateRabbit extends RabbitNode {
  readonly nodename: string;
  /** Stop the RabbitMQ application (the VM stays up), run `during`, always start it again. */
  whileAppStopped(during: () => Promise<void>): Promise<void>;
  /** kill -9 the node's VM, run `during`, always start the node again on the same data dir. */
  whileKilled(during: () => Promise<void>): Promise<void>;
  /** Kill the node and delete its dir. Safe to call more than once. */
  remove(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    // EPERM: it exists, owned by another user.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A killed VM nobody has reaped yet (no reaping init in some containers) is dead all the same.
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** SIGKILL the node's VM, if the pid is still that VM (its environment names the node's dir). */
function killBeam(dir: string): number | undefined {
  const pid = readPid(path.join(dir, BEAM_PID_FILE));
  if (pid === undefined || !alive(pid)) return undefined;
  try {
    if (!readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`RABBITMQ_PID_FILE=${path.join(dir, BEAM_PID_FILE)}\0`)) return undefined;
  } catch {
    // No /proc: trust the pid file, which the node rewrites on every start.
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return undefined;
  }
  return pid;
}

/**
 * Remove nodes left behind by test processes that died without their afterAll (a killed jest
 * worker): kill the VM and delete the dir.
 */
async function removeLeftovers(): Promise<void> {
  const tmp = os.tmpdir();
  for (const name of await readdir(tmp)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, name);
    const owner = readPid(path.join(dir, OWNER_FILE));
    if (owner !== undefined && alive(owner)) continue;
    // No owner file yet: another process may be creating this dir right now.
    const age = Date.now() - ((await stat(dir).catch(() => undefined))?.mtimeMs ?? 0);
    if (owner === undefined && age < LEFTOVER_GRACE_MS) continue;
    killBeam(dir);
    await rm(dir, { recursive: true, force: true });
  }
}

async function logTail(dir: string, nodename: string): Promise<string> {
  const log = await readFile(path.join(dir, 'log', `${nodename}.log`), 'utf8').catch(() => '(no log)');
  return log.split('\n').slice(-15).join('\n');
}

export async function startPrivateRabbit(label: string): Promise<PrivateRabbit> {
  await removeLeftovers();
  const dir = await mkdtemp(path.join(os.tmpdir(), DIR_PREFIX));
  // Debian's rabbitmq-server wrapper runs the node as the rabbitmq user even when root starts it.
  await chmod(dir, 0o1777);
  await writeFile(path.join(dir, OWNER_FILE), String(process.pid));
  const nodename = `tramline-test-${label}-${randomBytes(4).toString('hex')}@localhost`;
  const port = await freePort();
  const distPort = await freePort();
  // Its own config file, so the system one (which binds 5672) is not read.
  await writeFile(path.join(dir, 'rabbitmq.conf'), 'log.console = false\nlog.file.level = warning\n', { mode: 0o644 });
  await writeFile(path.join(dir, 'enabled_plugins'), '[].\n', { mode: 0o644 });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_ADVANCED_CONFIG_FILE: path.join(dir, 'advanced.config'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_PID_FILE: path.join(dir, BEAM_PID_FILE),
  };
  const ctl = (...args: string[]): Promise<string> => rabbitmqctl('-n', nodename, ...args);
  // Should the test process end without its afterAll, do not leave the VM running.
  const killOnExit = (): void => void killBeam(dir);
  process.once('exit', killOnExit);

  async function start(): Promise<void> {
    await rm(path.join(dir, BEAM_PID_FILE), { force: true });
    await run('rabbitmq-server', ['-detached'], { env, timeout: 60_000 });
    try {
      await ctl('wait', path.join(dir, BEAM_PID_FILE), '--timeout', '120');
    } catch (err) {
      throw new Error(`private RabbitMQ node ${nodename} did not start: ${(err as Error).message}\n${await logTail(dir, nodename)}`);
    }
  }

  async function kill(): Promise<number | undefined> {
    const pid = killBeam(dir);
    if (pid !== undefined) await waitFor(`RabbitMQ VM ${pid} to die`, () => !alive(pid), 30_000, 50);
    return pid;
  }

  let removed = false;
  const node: PrivateRabbit = {
    nodename,
    host: `guest:guest@127.0.0.1:${port}`,
    ctl,
    async whileAppStopped(during) {
      await ctl('stop_app');
      try {
        await during();
      } finally {
        await ctl('start_app');
        await ctl('await_startup');
      }
    },
    async whileKilled(during) {
      if ((await kill()) === undefined) throw new Error(`private RabbitMQ node ${nodename} has no running VM to kill`);
      try {
        await during();
      } finally {
        await start();
      }
    },
    async remove() {
      if (removed) return;
      removed = true;
      await kill();
      process.removeListener('exit', killOnExit);
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (err) {
    await node.remove();
    throw err;
  }
  return node;
}
