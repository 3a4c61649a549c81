// HTTP destination: sends each message to a case system's REST endpoint with Node's fetch.
// Retries are the dispatcher's job; this class only says whether one can help. The
// Idempotency-Key header (the message id) lets the receiver drop redeliveries.
import type { HttpAuth, HttpDestinationConfig } from './spec.js';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import type { DeliveryReport, Destination } from '../types.js';
import { requestBody } from './body.js';
import { describeResponse, isRetryableStatus, operationOutcomeIssues, retryAfterMs } from './classify.js';

export type HttpDestinationOptions = Pick<HttpDestinationConfig, 'url' | 'method' | 'format' | 'headers' | 'auth' | 'timeoutMs'>;

/** Largest part of an error response read (to find an OperationOutcome); the rest is discarded. */
const MAX_ERROR_BODY = 64 * 1024;
/** Most of a successful response's body kept as the delivery's response stage. */
const MAX_RESPONSE_BODY = 64 * 1024;

function secretFrom(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`HTTP destination ${what}: environment variable ${name} is not set`);
  return value;
}

export function authorizationHeader(auth: HttpAuth, env: NodeJS.ProcessEnv): string | undefined {
  switch (auth.type) {
    case 'none':
      return undefined;
    case 'basic': {
      const password = secretFrom(env, auth.passwordEnv, 'basic auth password');
      return `Basic ${Buffer.from(`${auth.username}:${password}`, 'utf8').toString('base64')}`;
    }
    case 'bearer':
      return `Bearer ${secretFrom(env, auth.tokenEnv, 'bearer token')}`;
  }
}

/** Reads at most `max` bytes of a response body and drops the rest. */
async function readPrefix(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}

/** Low-level cause of a fetch failure, e.g. ECONNREFUSED, without request details. */
function causeOf(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err as Error).message ?? String(err);
}

export class HttpDestination implements Destination {
  /** Where errors say the request went: no query string, no credentials. */
  private readonly target: string;
  private headers?: Headers;

  constructor(
    private readonly config: HttpDestinationOptions,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    const url = new URL(config.url);
    this.target = `${config.method} ${url.origin}${url.pathname}`;
  }

  async open(): Promise<void> {
    // Built once, so a bad header value or a missing secret stops the engine at start.
    const headers = new Headers();
    for (const [name, value] of Object.entries(this.config.headers ?? {})) headers.set(name, value);
    const authorization = authorizationHeader(this.config.auth ?? { type: 'none' }, this.env);
    if (authorization) headers.set('authorization', authorization);
    this.headers = headers;
  }

  /** Reports the response body (its first MAX_RESPONSE_BODY bytes), when there is one. */
  async deliver(envelope: Envelope): Promise<DeliveryReport | undefined> {
    if (!this.headers) throw new Error('HTTP destination used before open()');
    const { bytes, contentType } = requestBody(envelope, this.config.format);
    const headers = new Headers(this.headers);
    // A configured Content-Type wins (e.g. a vendor media type); the Idempotency-Key never does.
    if (!headers.has('content-type')) headers.set('content-type', contentType);
    headers.set('idempotency-key', envelope.messageId);
    if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5');

    let res: Response;
    try {
      res = await fetch(this.config.url, {
        method: this.config.method,
        headers,
        body: bytes as Uint8Array<ArrayBuffer>, // a Buffer is one; the types disagree on ArrayBufferLike
        redirect: 'manual',
        signal: AbortSignal.timeout(this.config.timeoutMs),
      });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError') {
        throw new DeliveryError(`${this.target}: no response within ${this.config.timeoutMs} ms`, true);
      }
      throw new DeliveryError(`${this.target} failed: ${causeOf(err)}`, true);
    }

    if (res.ok) {
      // Delivered whatever the body holds: one that cannot be read is simply not reported.
      const answer = await readPrefix(res, MAX_RESPONSE_BODY).catch(() => '');
      return answer ? { response: answer } : undefined;
    }
    let text = '';
    try {
      text = await readPrefix(res, MAX_ERROR_BODY);
    } catch {
      // A body cut off (or timed out) does not change what the status says.
    }
    const summary = `${this.target}: ${describeResponse(res.status, res.statusText, text)}`;
    const detail = { status: res.status, issues: operationOutcomeIssues(text).map((i) => i.code).filter(Boolean) };
    if (res.status >= 300 && res.status < 400) {
      throw new DeliveryError(`${summary}: redirects are not followed; configure the final URL`, false, detail);
    }
    if (isRetryableStatus(res.status)) {
      throw new DeliveryError(summary, true, detail, retryAfterMs(res.headers.get('retry-after')));
    }
    throw new DeliveryError(summary, false, detail);
  }

  async close(): Promise<void> {
    this.headers = undefined;
  }
}
