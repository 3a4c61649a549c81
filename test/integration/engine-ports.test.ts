// A port that another process holds stops `tramline start` with a message naming the setting,
// instead of an engine that logs "started" and listens on nothing.
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { BIN, prepareEngine } from '../support/engine.js';

let holder: net.Server;
let takenPort: number;

beforeAll(async () => {
  holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, resolve));
  takenPort = (holder.address() as net.AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => holder.close(() => resolve())));

/** `tramline start` to its exit; one still running after the bound is killed and fails the test. */
function startToExit(env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [BIN, 'start'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tramline start kept running on a taken port:\n${output}`));
    }, 30000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('tramline start on a port in use', () => {
  it('exits non-zero naming TRAMLINE_HTTP_PORT when the HTTP port is taken', async () => {
    const e = await prepareEngine({ extraEnv: { TRAMLINE_HTTP_PORT: String(takenPort) } });
    const result = await startToExit(e.env, e.dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`port ${takenPort} in use (TRAMLINE_HTTP_PORT)`);
    expect(result.output).not.toContain('tramline started');
  }, 40000);

  it("exits non-zero naming the channel and its YAML when a channel's MLLP port is taken", async () => {
    const e = await prepareEngine({
      channelYaml: () => `id: adt-in
source:
  type: mllp
  host: 127.0.0.1
  port: ${takenPort}
destinations:
  - name: out
    type: file
    directory: ./out
`,
    });
    const result = await startToExit(e.env, e.dir);
    expect(result.code).not.toBe(0);
    expect(result.output).toContain(`channel adt-in (${path.join(e.dir, 'channels', 'adt-in.yaml')}): MLLP port ${takenPort} in use`);
    expect(result.output).not.toContain('tramline started');
  }, 40000);
});
