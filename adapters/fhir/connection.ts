// One FHIR server as the destination sees it: a fhir-kit-client Client plus what it lacks —
// a timeout on every call, the access token on every request, one retry with a fresh token
// after a 401, and failures turned into DeliveryErrors.
import { Client, type RequestOptions } from 'fhir-kit-client';
import { DeliveryError } from '../../core/errors.js';
import { deliveryErrorFor, statusOf } from './errors.js';
import type { TokenSource } from './token-source.js';

export class FhirConnection {
  readonly client: Client;
  /** Where errors say requests went: origin and path, no query, no credentials. */
  readonly where: string;

  constructor(
    readonly baseUrl: string,
    private readonly tokens: TokenSource,
    readonly timeoutMs: number,
  ) {
    this.client = new Client({ baseUrl });
    const url = new URL(baseUrl);
    this.where = `${url.origin}${url.pathname}`;
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
