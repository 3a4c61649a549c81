// The viewer's read-only FHIR R4 client of the shared care record. It talks to the same server,
// with the same authentication code, as the `fhir` destination (adapters/fhir: FhirConnection,
// createTokenSource): TRAMLINE_LPRES_URL (or an explicit url) with the configured auth, else
// the engine's own sandbox at /fhir with the engine's per-process token.
//
// Why the engine token for the sandbox: /fhir records a record view in the audit trail for
// every read by a person. The viewer audits each view itself (who, whose record, purpose),
// once per page, with the clinician as the actor; reading the sandbox as the clinician would
// add a second, request-level view per search. The engine token is known only inside the
// process (adapters/fhir/local-sandbox.ts), so nothing outside can use this bypass.
//
// Every call has a per-request timeout; every find or record also has an overall budget
// across its calls. Failures become RecordUnavailableError (cannot reach, timeout, 5xx, 429)
// or RecordRequestError (other 4xx), with messages naming the server, never patient data.
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { RequestOptions } from 'fhir-kit-client';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import { FhirConnection } from '../../adapters/fhir/connection.js';
import { localSandbox } from '../../adapters/fhir/local-sandbox.js';
import { createTokenSource, type TokenSource } from '../../adapters/fhir/token-source.js';
import type { FhirAuth } from '../../adapters/fhir/config.js';
import { RecordRequestError, RecordUnavailableError } from './model.js';

export interface FhirReaderOptions {
  /** FHIR base URL. Default: TRAMLINE_LPRES_URL, else the engine's own sandbox at /fhir. */
  url?: string;
  /** How to authenticate to `url` / TRAMLINE_LPRES_URL: the `fhir` destination's `auth` block (docs/fhir.md). Default none. */
  auth?: FhirAuth;
  /** Where secrets named by `auth` are read (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Each HTTP request, token fetch included (default 10 000 ms). */
  requestTimeoutMs?: number;
  /** All requests of one find or one record together (default 20 000 ms). */
  budgetMs?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_BUDGET_MS = 20_000;
/** Pages followed per search; a person's record is far smaller than this many pages. */
const MAX_PAGES = 20;

/** One find or record: the signal that ends it when its overall budget is spent. */
export interface ReadBudget {
  signal: AbortSignal;
}

export interface SearchResult {
  /** Resources the search matched (search.mode `match`, or no mode). */
  matches: FhirResource[];
  /** Resources `_include`d / `_revinclude`d. */
  included: FhirResource[];
}

export type SearchParams = Record<string, string | string[]>;

export class FhirReader {
  private local?: { key: string; connection: FhirConnection };

  private constructor(
    private readonly remote: FhirConnection | undefined,
    private readonly requestTimeoutMs: number,
    readonly budgetMs: number,
  ) {}

  /** Resolve the server and build its token source (a missing secret or unreadable key: ConfigError now, not at the first page). */
  static async open(options: FhirReaderOptions = {}): Promise<FhirReader> {
    const env = options.env ?? process.env;
    const requestTimeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const budgetMs = options.budgetMs ?? DEFAULT_BUDGET_MS;
    const url = options.url ?? (env.TRAMLINE_LPRES_URL || undefined);
    let remote: FhirConnection | undefined;
    if (url) {
      const tokens = await createTokenSource(options.auth ?? { type: 'none' }, env);
      remote = new FhirConnection(url, tokens, requestTimeoutMs);
    }
    return new FhirReader(remote, requestTimeoutMs, budgetMs);
  }

  /** Start the overall budget of one find or record. */
  budget(): ReadBudget {
    return { signal: AbortSignal.timeout(this.budgetMs) };
  }

  /** Where reads go, for messages: origin and path, no query, no credentials. */
  where(): string {
    return this.remote?.where ?? localSandbox()?.baseUrl ?? 'the sandbox shared care record (/fhir)';
  }

  private connection(): FhirConnection {
    if (this.remote) return this.remote;
    const sandbox = localSandbox();
    if (!sandbox) throw new RecordUnavailableError('The sandbox shared care record (/fhir) is not listening yet');
    const key = `${sandbox.baseUrl} ${sandbox.token}`;
    if (this.local?.key !== key) {
      const token: TokenSource = { token: async () => sandbox.token, invalidate: () => false };
      this.local = { key, connection: new FhirConnection(sandbox.baseUrl, token, this.requestTimeoutMs) };
    }
    return this.local.connection;
  }

  /** A type-level search, following `next` links on the same server (up to MAX_PAGES). */
  async search(resourceType: string, params: SearchParams, budget: ReadBudget): Promise<SearchResult> {
    const connection = this.connection();
    const result: SearchResult = { matches: [], included: [] };
    const what = `GET ${resourceType} search`;
    let bundle = await this.run(connection, what, budget, (options) => connection.client.search({ resourceType, searchParams: params, options }) as unknown as Promise<Bundle<FhirResource>>);
    for (let page = 1; ; page++) {
      for (const entry of bundle.entry ?? []) {
        if (!entry.resource) continue;
        (entry.search?.mode === 'include' ? result.included : result.matches).push(entry.resource);
      }
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      // A next link elsewhere would be sent our bearer token: only this server's are followed.
      if (!next || page >= MAX_PAGES || !next.startsWith(connection.baseUrl)) return result;
      const current = bundle;
      const nextBundle = await this.run(connection, `${what} (next page)`, budget, (options) => connection.client.nextPage({ bundle: current as never, options }) as unknown as Promise<Bundle<FhirResource> | undefined>);
      if (!nextBundle) return result;
      bundle = nextBundle;
    }
  }

  private async run<T>(connection: FhirConnection, what: string, budget: ReadBudget, fn: (options: RequestOptions) => Promise<T>): Promise<T> {
    if (budget.signal.aborted) throw this.overBudget(connection);
    try {
      return await connection.call(what, fn, budget.signal);
    } catch (err) {
      if (budget.signal.aborted) throw this.overBudget(connection);
      throw viewerErrorFor(err);
    }
  }

  private overBudget(connection: FhirConnection): RecordUnavailableError {
    return new RecordUnavailableError(`The shared care record ${connection.where} did not answer within ${this.budgetMs} ms`);
  }
}

/** DeliveryError (content-free: method, server, status, issue codes) → the viewer's errors. */
function viewerErrorFor(err: unknown): Error {
  if (err instanceof RecordUnavailableError || err instanceof RecordRequestError) return err;
  if (err instanceof DeliveryError) {
    const status = (err.detail as { status?: number } | undefined)?.status;
    if (err.retryable) return new RecordUnavailableError(`The shared care record is unavailable: ${err.message}`, err);
    return new RecordRequestError(`The shared care record refused the request: ${err.message}`, status, err);
  }
  if (err instanceof ConfigError) return new RecordRequestError(`The shared care record cannot be read: ${err.message}`, undefined, err);
  return new RecordUnavailableError(`The shared care record could not be read (${(err as Error)?.name ?? 'error'})`, err);
}
