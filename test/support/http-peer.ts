// Starts http-peer-server.ts in a child process and drives it: set a scripted plan per path,
// read back the requests it received. Used by destination tests and engine end-to-end tests.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PeerStep, RecordedRequest } from './http-peer-server.js';

export type { PeerStep, RecordedRequest };

const SCRIPT = fileURLToPath(new URL('./http-peer-server.ts', import.meta.url));
const ROOT = path.resolve(path.dirname(SCRIPT), '../..');

export interface HttpPeer {
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  port: number;
  child: ChildProcess;
  /** Replace the plan of each given path (and reset its counters). */
  plan(plans: Record<string, PeerStep[]>): Promise<void>;
  requests(path?: string): Promise<RecordedRequest[]>;
  clearRequests(): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpPeer(): Promise<HttpPeer> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    cwd: ROOT,
    env: { ...process.env, NODE_OPTIONS: '' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => reject(new Error(`HTTP peer did not start:\n${err}`)), 20000);
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve((JSON.parse(line) as { port: number }).port);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`HTTP peer exited (${code}) before listening:\n${err}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  const control = async (method: string, route: string, body?: unknown): Promise<Response> => {
    const res = await fetch(`${url}/__peer/${route}`, { method, body: body === undefined ? undefined : JSON.stringify(body) });
    if (!res.ok) throw new Error(`HTTP peer ${method} ${route}: ${res.status}`);
    return res;
  };
  return {
    url,
    port,
    child,
    async plan(plans) {
      await control('PUT', 'plan', plans);
    },
    async requests(p) {
      const res = await control('GET', p ? `requests?path=${encodeURIComponent(p)}` : 'requests');
      return (await res.json()) as RecordedRequest[];
    },
    async clearRequests() {
      await control('DELETE', 'requests');
    },
    async close() {
      if (child.exitCode !== null) return;
      child.stdin!.end();
      child.kill('SIGTERM');
      await exited;
    },
  };
}
