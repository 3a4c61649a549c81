// FHIR destination: posts each envelope's transaction Bundle to the shared care record
// (LPRES; connection.ts: node:http for the POST, fhir-kit-client for the rest). With no `url`
// it uses TRAMLINE_LPRES_URL, else the engine's own /fhir sandbox. Retries are the
// dispatcher's job; this class says whether one can help: 5xx, 429, timeouts and connection
// failures are retryable (Retry-After honoured), other 4xx and redirects are permanent, with
// the server's OperationOutcome in the error's detail. Envelopes with
// header `kind: retraction` (channels/retraction.ts) retract what was published instead.
// A delivery reports the Bundle it posted and the server's transaction-response (a retraction,
// what became of each reference), kept as this destination's stages of the message.
import type { Bundle } from 'fhir/r4.js';
import { DeliveryError } from '../../core/errors.js';
import type { Envelope } from '../../core/queue.js';
import type { DeliveryReport, Destination } from '../types.js';
import { DEFAULT_FHIR_SETTINGS, type FhirDestinationSettings, type RetractionMode } from './config.js';
import { FhirConnection } from './connection.js';
import { localSandbox } from './local-sandbox.js';
import { retractResources, type RetractionResult } from './retract.js';
import { createTokenSource, type TokenSource } from './token-source.js';

export type FhirDestinationOptions = Partial<FhirDestinationSettings>;

/** The envelope body as a transaction (or batch) Bundle; a permanent failure otherwise. */
export function bundleOf(envelope: Envelope): Bundle {
  let parsed: unknown;
  try {
    parsed = JSON.parse(envelope.body);
  } catch {
    throw new DeliveryError('message body is not JSON (expected a FHIR transaction Bundle)', false);
  }
  const bundle = parsed as Bundle;
  if (bundle?.resourceType !== 'Bundle' || (bundle.type !== 'transaction' && bundle.type !== 'batch')) {
    throw new DeliveryError('message body is not a FHIR transaction Bundle', false);
  }
  return bundle;
}

const ENGINE_BUNDLE = /^\{"resourceType":"Bundle","type":"(transaction|batch)",/;

/**
 * The type of a Bundle the engine's own mapping wrote (header `kind: bundle`, JSON.stringify's
 * output, which starts with these two members): such a body need not be parsed to be checked.
 */
function engineBundleType(envelope: Envelope): 'transaction' | 'batch' | undefined {
  if (envelope.headers.kind !== 'bundle') return undefined;
  return ENGINE_BUNDLE.exec(envelope.body)?.[1] as 'transaction' | 'batch' | undefined;
}

/** A retraction message (channels/retraction.ts): `{ mode, references }`. */
export function retractionOf(envelope: Envelope): { mode?: RetractionMode; references: string[] } {
  let parsed: { mode?: unknown; references?: unknown };
  try {
    parsed = JSON.parse(envelope.body) as typeof parsed;
  } catch {
    throw new DeliveryError('retraction message body is not JSON', false);
  }
  if (!Array.isArray(parsed?.references) || !parsed.references.every((r) => typeof r === 'string')) {
    throw new DeliveryError('retraction message has no references list', false);
  }
  const mode = parsed.mode === 'delete' || parsed.mode === 'entered-in-error' ? parsed.mode : undefined;
  return { mode, references: parsed.references as string[] };
}

export class FhirDestination implements Destination {
  private readonly settings: FhirDestinationSettings;
  private tokens?: TokenSource;
  private remote?: FhirConnection;
  private local?: { key: string; connection: FhirConnection };

  constructor(
    options: FhirDestinationOptions = {},
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.settings = { ...DEFAULT_FHIR_SETTINGS, ...options };
  }

  async open(): Promise<void> {
    // A missing secret or unreadable key stops the engine at start, not at the first message.
    const url = this.settings.url ?? (this.env.TRAMLINE_LPRES_URL || undefined);
    if (url) {
      this.tokens = await createTokenSource(this.settings.auth, this.env);
      this.remote = new FhirConnection(url, this.tokens, this.settings.timeoutMs);
    }
  }

  /** The server to talk to now: the configured one, or the engine's sandbox once it listens. */
  connection(): FhirConnection {
    if (this.remote) return this.remote;
    const sandbox = localSandbox();
    if (!sandbox) throw new DeliveryError('the sandbox FHIR store (/fhir) is not listening yet', true);
    const key = `${sandbox.baseUrl} ${sandbox.token}`;
    if (this.local?.key !== key) {
      const token: TokenSource = { token: async () => sandbox.token, invalidate: () => false };
      this.local?.connection.close();
      this.local = { key, connection: new FhirConnection(sandbox.baseUrl, token, this.settings.timeoutMs) };
    }
    return this.local.connection;
  }

  async deliver(envelope: Envelope): Promise<DeliveryReport> {
    if (envelope.headers.kind === 'retraction') {
      const retraction = retractionOf(envelope);
      const results = await this.retract(retraction.references, retraction.mode ?? this.settings.retraction);
      return { response: JSON.stringify(results) };
    }
    const type = engineBundleType(envelope) ?? bundleOf(envelope).type;
    const connection = this.connection();
    // The body is posted as it is: the envelope's JSON, not parsed and written again.
    const response = await connection.call(`POST ${type}`, (options) =>
      connection.postBundle(envelope.body, { ...options, headers: { ...options.headers, 'x-request-id': envelope.messageId } }),
    );
    return { sent: envelope.body, ...(response ? { response: JSON.stringify(response) } : {}) };
  }

  /** Retract previously published resources (see retract.ts); mode defaults to the channel's `retraction`. */
  async retract(references: readonly string[], mode: RetractionMode = this.settings.retraction): Promise<RetractionResult[]> {
    return retractResources(this.connection(), references, mode);
  }

  async close(): Promise<void> {
    this.remote?.close();
    this.local?.connection.close();
    this.remote = undefined;
    this.local = undefined;
    this.tokens = undefined;
  }
}
