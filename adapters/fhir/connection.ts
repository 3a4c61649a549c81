// One FHIR server as the destination sees it: a fhir-kit-client Client plus what it lacks —
// a timeout on every call, the access token on every request, one retry with a fresh token
// after a 401, and failures turned into DeliveryErrors — and the destination's one call per
// message, the Bundle's POST, made with node:http (postBundle).
import type http from 'node:http';
import { Client, type RequestOptions } from 'fhir-kit-client';
import { DeliveryError } from '../../core/errors.js';
import { keepAliveAgent, send, type SendResult } from '../http/send.js';
import { deliveryErrorFor, statusOf } from './errors.js';
import type { TokenSource } from './token-source.js';

export class FhirConnection {
  readonly client: Client;
  /** Where errors say requests went: origin and path, no query, no credentials. */
  readonly where: string;

  private readonly agent: http.Agent;

  constructor(
    readonly baseUrl: string,
    private readonly tokens: TokenSource,
    readonly timeoutMs: number,
  ) {
    this.client = new Client({ baseUrl });
    const url = new URL(baseUrl);
    this.where = `${url.origin}${url.pathname}`;
    this.agent = keepAliveAgent(baseUrl);
  }

  /** Close the kept-alive sockets of postBundle. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * POST a transaction or batch Bundle, as JSON text, to the base URL; resolves with the
   * server's answer parsed. The destination makes this call once a message, with Node's own
   * client (../http/send.ts) rather than fhir-kit-client's fetch, at a fifth of the CPU. A
   * failure is shaped as fhir-kit-client's are (`response.status` and `.data`,
   * `config.headers`), so errors.ts reads both alike. A redirect is a failure: POSTing a
   * transaction again elsewhere is for whoever configures the URL to decide.
   */
  async postBundle(body: string, options: RequestOptions): Promise<unknown> {
    const headers = { ...(options.headers as Record<string, string>), accept: 'application/fhir+json', 'content-type': 'application/fhir+json' };
    const answer = await send(this.baseUrl, this.agent, { method: 'POST', headers, body, signal: options.signal as AbortSignal | undefined, maxBodyBytes: MAX_RESPONSE_BYTES });
    const ok = answer.status >= 200 && answer.status < 300;
    // No status to judge by: retryable, as a connection lost would be.
    if (!answer.complete) throw new Error(`HTTP ${answer.status} answer cut short or larger than ${MAX_RESPONSE_BYTES} bytes`);
    let data: unknown = {};
    try {
      if (answer.body) data = JSON.parse(answer.body);
    } catch {
      throw responseError(answer, answer.body, ok ? 'answer is not JSON' : undefined);
    }
    if (!ok) throw responseError(answer, data);
    return data;
  }

  /**
   * Run one fhir-kit call (`what` names it in errors, e.g. `POST transaction`) with the
   * token and a timeout covering token fetch, the request and a 401 retry. `outer` also
   * aborts it (a caller's overall budget across several calls, e.g. the viewer's).
   */
  async call<T>(what: string, fn: (options: RequestOptions) => Promise<T>, outer?: AbortSignal): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = outer ? AbortSignal.any([timeout, outer]) : timeout;
    const target = `${what} ${this.where}`;
    let refreshed = false;
    for (;;) {
      try {
        const token = await this.tokens.token(signal);
        return await fn({ signal, headers: token ? { authorization: `Bearer ${token}` } : {} });
      } catch (err) {
        if (statusOf(err) === 401 && !refreshed && this.tokens.invalidate()) {
          refreshed = true;
          continue;
        }
        if (err instanceof DeliveryError) throw err;
        throw deliveryErrorFor(err, target, this.timeoutMs);
      }
    }
  }
}

/** The most of a server's answer read (a transaction-response echoes every entry). */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

function responseError(answer: SendResult, data: unknown, what = `HTTP ${answer.status}`): Error {
  const headers = new Headers();
  for (const [name, value] of Object.entries(answer.headers)) if (typeof value === 'string') headers.set(name, value);
  return Object.assign(new Error(what), { response: { status: answer.status, data }, config: { headers } });
}
