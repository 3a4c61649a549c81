// Engine settings from TRAMLINE_* environment variables (README "Configuration"); every one optional.
import { availableParallelism } from 'node:os';
import path from 'node:path';

export interface Config {
  dbUrl: string;
  amqpUrl?: string;
  lpresUrl?: string;
  httpPort: number;
  mllpPort: number;
  channelsDir: string;
  contentKey?: string;
  /** TRAMLINE_AUDIT_KEY: the audit trail's HMAC key (default <dataDir>/audit.key). */
  auditKey?: string;
  /** TRAMLINE_INDEX_KEY: the patient index's HMAC key (default derived from the content key). */
  indexKey?: string;
  dataDir: string;
  /** TRAMLINE_PUBLIC_URL without a trailing slash; absent: http://localhost:<http port>. */
  publicUrl?: string;
  /** TRAMLINE_MAP_THREADS: worker threads that run destination mappings (0: the main thread). */
  mapThreads: number;
}

function port(name: string, fallback: number, env: NodeJS.ProcessEnv): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`${name} must be a TCP port (0-65535), got "${raw}"`);
  return n;
}

function publicUrl(env: NodeJS.ProcessEnv): string | undefined {
  const raw = env.TRAMLINE_PUBLIC_URL;
  if (raw === undefined || raw === '') return undefined;
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.search || url.hash) throw new Error(`TRAMLINE_PUBLIC_URL must be an http(s) URL such as https://tramline.example.org, got "${raw}"`);
  return raw.replace(/\/+$/, '');
}

/**
 * Mapping threads by default: one per core beyond the main thread's, at most four (mapping is
 * only part of a message's work; the main thread keeps the sockets, the store and the queue).
 */
export function defaultMapThreads(cores = availableParallelism()): number {
  return Math.max(0, Math.min(4, cores - 1));
}

function mapThreads(env: NodeJS.ProcessEnv): number {
  const raw = env.TRAMLINE_MAP_THREADS;
  if (raw === undefined || raw === '') return defaultMapThreads();
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 64) throw new Error(`TRAMLINE_MAP_THREADS must be a whole number from 0 to 64, got "${raw}"`);
  return n;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = env.TRAMLINE_DATA_DIR || './data';
  return {
    dbUrl: env.TRAMLINE_DB_URL || `sqlite:${path.join(dataDir, 'tramline.db')}`,
    amqpUrl: env.TRAMLINE_AMQP_URL || undefined,
    lpresUrl: env.TRAMLINE_LPRES_URL || undefined,
    httpPort: port('TRAMLINE_HTTP_PORT', 8080, env),
    mllpPort: port('TRAMLINE_MLLP_PORT', 2575, env),
    channelsDir: env.TRAMLINE_CHANNELS || 'channels/examples',
    contentKey: env.TRAMLINE_CONTENT_KEY || undefined,
    auditKey: env.TRAMLINE_AUDIT_KEY || undefined,
    indexKey: env.TRAMLINE_INDEX_KEY || undefined,
    dataDir,
    publicUrl: publicUrl(env),
    mapThreads: mapThreads(env),
  };
}
