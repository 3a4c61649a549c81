// Test helper: a real engine started in-process (temp SQLite store, embedded queue, one ADT →
// case-inbox channel over MLLP) with its admin API, plus one API token per role.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MllpClient } from '../../adapters/mllp/client.js';
import { loadChannelFolder } from '../../channels/load.js';
import { ROLES, type Role } from '../../server/auth/roles.js';
import { TokenStore } from '../../server/auth/tokens.js';
import type { Config } from '../../core/config.js';
import { runEngine, type RunningEngine } from '../../server/engine-process.js';
import { dropPostgresSchema, openDatabase } from '../../adapters/store/db.js';
import { freePort } from '../support/engine.js';

export interface ApiEngine {
  running: RunningEngine;
  dir: string;
  config: Config;
  base: string;
  caseDbUrl: string;
  channelId: string;
  destinationId: string;
  tokens: Record<Role, string>;
  mllp: MllpClient;
  mllpPort: number;
  env: NodeJS.ProcessEnv;
  // Response bodies are whatever JSON the route returns; tests assert their shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  call(method: string, urlPath: string, options?: { token?: string; body?: unknown; contentType?: string; headers?: Record<string, string> }): Promise<{ status: number; body: any; text: string; headers: Headers }>;
  close(): Promise<void>;
}

/** `dbUrl`: the store (default a temp SQLite file); a postgres:// URL with ?schema= is dropped on close. */
/** `channelYaml`: another `adt-in` channel instead of the ADT → case-inbox one (`destinationId` stays `adt-in.inbox`). */
export async function startApiEngine(
  options: { env?: NodeJS.ProcessEnv; contentDays?: number; dbUrl?: string; publicUrl?: string; channelYaml?: (mllpPort: number, dir: string) => string } = {},
): Promise<ApiEngine> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-api-'));
  const channelsDir = path.join(dir, 'channels');
  mkdirSync(channelsDir);
  const mllpPort = await freePort();
  const caseDbUrl = `sqlite:${path.join(dir, 'case.db')}`;
  writeFileSync(
    path.join(channelsDir, 'adt-in.yaml'),
    options.channelYaml?.(mllpPort, dir) ??
      `id: adt-in
name: ADT in
source:
  type: mllp
  host: 127.0.0.1
  port: ${mllpPort}
pipeline:
  filter:
    messageTypes: [ADT]
destinations:
  - name: inbox
    type: case-inbox
    database: ${caseDbUrl}
    routes: [hl7v2.ADT.#]
    retry: { maxAttempts: 2, initialDelayMs: 10, maxDelayMs: 20 }
retention:
  contentDays: ${options.contentDays ?? 30}
`,
  );
  const { channels, problems } = loadChannelFolder(channelsDir);
  if (problems.length) throw new Error(JSON.stringify(problems));
  const config: Config = { dbUrl: options.dbUrl ?? `sqlite:${path.join(dir, 'data', 'tramline.db')}`, httpPort: 0, mllpPort: 0, channelsDir, dataDir: path.join(dir, 'data'), mapThreads: 0, ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}) };
  const env = { TRAMLINE_AUTH_DEV_ISSUER: 'true', TRAMLINE_AUTH_FAILURE_LIMIT: '100000', ...options.env };
  const running = await runEngine(config, channels, { env });
  const tokenStore = new TokenStore(running.opened.db);
  const tokens = {} as Record<Role, string>;
  for (const role of ROLES) tokens[role] = (await tokenStore.create({ name: `test-${role}`, roles: [role] })).token;
  const base = `http://127.0.0.1:${running.httpPort}`;
  const mllp = new MllpClient({ host: '127.0.0.1', port: mllpPort, responseTimeoutMs: 10000 });
  return {
    running,
    dir,
    config,
    base,
    caseDbUrl,
    channelId: 'adt-in',
    destinationId: 'adt-in.inbox',
    tokens,
    mllp,
    mllpPort,
    env: { ...process.env, NODE_OPTIONS: '', TRAMLINE_DB_URL: config.dbUrl, TRAMLINE_DATA_DIR: config.dataDir, TRAMLINE_CHANNELS: channelsDir, ...env },
    async call(method, urlPath, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers['content-type'] = o.contentType ?? 'application/json';
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      }
      const res = await fetch(base + urlPath, { method, headers, body });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
    async close() {
      await mllp.close();
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
      if (config.dbUrl.startsWith('postgres')) await dropPostgresSchema(config.dbUrl);
    },
  };
}

/** Make the case system refuse rows whose control id starts with FAIL (to produce dead letters). */
export async function refuseFailRows(caseDbUrl: string): Promise<void> {
  const db = await openDatabase(caseDbUrl);
  try {
    const { sql } = await import('kysely');
    await sql`create trigger if not exists refuse_fail before insert on case_inbox when new.control_id like 'FAIL%' begin select raise(abort, 'case system refused'); end`.execute(db.kysely);
  } finally {
    await db.close();
  }
}
