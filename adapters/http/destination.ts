// HTTP destination: sends each message to a case system's REST endpoint (send.ts).
// Retries are the dispatcher's job; this class only says whether one can help. The
// Idempotency-Key header (the message id) lets the receiver drop redeliveries.
import type { HttpAuth, HttpDestinationConfig } from './spec.js';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import type { DeliveryReport, Destination } from '../types.js';
import { requestBody } from './body.js';
import { describeResponse, failureCause, isRetryableStatus, operationOutcomeIssues, retryAfterMs } from './classify.js';
import { keepAliveAgent, send, type SendResult } from './send.js';

export type HttpDestinationOptions = Pick<HttpDestinationConfig, 'url' | 'method' | 'format' | 'headers' | 'auth' | 'timeoutMs'>;

/**
 * Most of a response's body read: a success's is kept as the delivery's response stage, an
 * error's searched for an OperationOutcome; the rest is discarded.
 */
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

export class HttpDestination implements Destination {
  /** Where errors say the request went: no query string, no credentials. */
  private readonly target: string;
  private headers?: Headers;
  private agent?: ReturnType<typeof keepAliveAgent>;

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
    this.agent = keepAliveAgent(this.config.url);
  }

  /** Reports the response body (its first MAX_RESPONSE_BODY bytes), when there is one. */
  async deliver(envelope: Envelope): Promise<DeliveryReport | undefined> {
    if (!this.headers || !this.agent) throw new Error('HTTP destination used before open()');
    const { bytes, contentType } = requestBody(envelope, this.config.format);
    const headers = new Headers(this.headers);
    // A configured Content-Type wins (e.g. a vendor media type); the Idempotency-Key never does.
    if (!headers.has('content-type')) headers.set('content-type', contentType);
    headers.set('idempotency-key', envelope.messageId);
    if (!headers.has('accept')) headers.set('accept', 'application/json, */*;q=0.5');

    let res: SendResult;
    try {
      res = await send(this.config.url, this.agent, {
        method: this.config.method,
        headers: Object.fromEntries(headers),
        body: bytes,
        signal: AbortSignal.timeout(this.config.timeoutMs),
        maxBodyBytes: MAX_RESPONSE_BODY,
      });
    } catch (err) {
      if ((err as Error).name === 'AbortError' || (err as Error).name === 'TimeoutError') {
        throw new DeliveryError(`${this.target}: no response within ${this.config.timeoutMs} ms`, true);
      }
      throw new DeliveryError(`${this.target} failed: ${failureCause(err)}`, true);
    }
    // Delivered whatever the body holds (a body cut short included).
    if (res.status >= 200 && res.status < 300) return res.body ? { response: res.body } : undefined;
    const text = res.body;
    const summary = `${this.target}: ${describeResponse(res.status, res.statusText, text)}`;
    const detail = { status: res.status, issues: operationOutcomeIssues(text).map((i) => i.code).filter(Boolean) };
    if (res.status >= 300 && res.status < 400) {
      throw new DeliveryError(`${summary}: redirects are not followed; configure the final URL`, false, detail);
    }
    if (isRetryableStatus(res.status)) {
      throw new DeliveryError(summary, true, detail, retryAfterMs(res.headers['retry-after']));
    }
    throw new DeliveryError(summary, false, detail);
  }

  async close(): Promise<void> {
    this.agent?.destroy();
    this.agent = undefined;
    this.headers = undefined;
  }
}
