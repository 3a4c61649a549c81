// One FHIR server as the destination sees it: a fhir-kit-client Client plus what it lacks —
// a timeout on every call, the access token on every request, one retry with a fresh token
// after a 401, and failures turned into DeliveryErrors — and the destination's one call per
// message, the Bundle's POST, made with node:http (postBundle).
import http from 'node:http';
import https from 'node:https';
import { Client, type RequestOptions } from 'fhir-kit-client';
import { DeliveryError } from '../../core/errors.js';
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
    this.agent = url.protocol === 'https:' ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  }

  /** Close the kept-alive sockets of postBundle. */
  close(): void {
    this.agent.destroy();
  }

  /**
   * POST a transaction or batch Bundle, as JSON text, to the base URL; resolves with the
   * server's answer parsed. The destination makes this call once a message: with node:http it
   * cost ~90 µs of the engine's thread a request, with fhir-kit-client's fetch ~470 µs (32 in
   * flight, Node 20). A failure is shaped as fhir-kit-client's are (`response.status` and
   * `.data`, `config.headers`), so errors.ts reads both alike. A redirect is a failure: POSTing
   * a transaction again elsewhere is for whoever configures the URL to decide.
   */
  postBundle(body: string, options: RequestOptions): Promise<unknown> {
    const send = this.agent instanceof https.Agent ? https.request : http.request;
    const headers = { ...(options.headers as Record<string, string>), accept: 'application/fhir+json', 'content-type': 'application/fhir+json', 'content-length': String(Buffer.byteLength(body)) };
    return new Promise((resolve, reject) => {
      const req = send(this.baseUrl, { method: 'POST', agent: this.agent, headers, signal: options.signal as AbortSignal | undefined }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) res.destroy(new Error(`response larger than ${MAX_RESPONSE_BYTES} bytes`));
          else chunks.push(chunk);
        });
        res.on('error', reject);
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let data: unknown = {};
          try {
            if (text) data = JSON.parse(text);
          } catch {
            data = text;
            if (status >= 200 && status < 300) return reject(responseError(status, data, res.headers, 'answer is not JSON'));
          }
          if (status >= 200 && status < 300) resolve(data);
          else reject(responseError(status, data, res.headers));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
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

function responseError(status: number, data: unknown, headers: http.IncomingHttpHeaders, what = `HTTP ${status}`): Error {
  const seen = new Headers();
  for (const [name, value] of Object.entries(headers)) if (typeof value === 'string') seen.set(name, value);
  return Object.assign(new Error(what), { response: { status, data }, config: { headers: seen } });
}
