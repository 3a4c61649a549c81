// Access tokens for the shared care record. Bearer tokens come from the environment;
// OAuth2 client credentials and SMART Backend Services fetch them from a token endpoint and
// cache them until shortly before they expire. A 401 from the FHIR server invalidates the
// cached token once (the caller retries with a fresh one).
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { importPKCS8, SignJWT, type CryptoKey } from 'jose';
import { ConfigError, DeliveryError } from '../../core/errors.js';
import { describeResponse, isRetryableStatus, retryAfterMs } from '../http/classify.js';
import type { FhirAuth } from './config.js';

export interface TokenSource {
  /** Token for the Authorization header, or undefined when no authentication is configured. */
  token(signal: AbortSignal): Promise<string | undefined>;
  /** Forget the cached token (after a 401). Returns false if there is nothing to refresh. */
  invalidate(): boolean;
}

/** Tokens are renewed this long before they expire, so one never expires in flight. */
const EXPIRY_MARGIN_MS = 30_000;
/** Lifetime assumed when the token endpoint does not say (RFC 6749 makes expires_in optional). */
const DEFAULT_LIFETIME_S = 300;
const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

function secret(env: NodeJS.ProcessEnv, name: string, what: string): string {
  const value = env[name];
  if (!value) throw new ConfigError(`FHIR destination ${what}: environment variable ${name} is not set`);
  return value;
}

class StaticToken implements TokenSource {
  constructor(private readonly value: string | undefined) {}
  async token(): Promise<string | undefined> {
    return this.value;
  }
  invalidate(): boolean {
    return false;
  }
}

/** Client credentials grant; `credentials` adds the client authentication to each request. */
class TokenEndpointSource implements TokenSource {
  private cached?: { token: string; expiresAt: number };
  private pending?: Promise<string>;

  constructor(
    private readonly tokenUrl: string,
    private readonly scope: string | undefined,
    private readonly credentials: () => Promise<{ headers: Record<string, string>; form: Record<string, string> }>,
  ) {}

  async token(signal: AbortSignal): Promise<string> {
    if (this.cached && Date.now() < this.cached.expiresAt) return this.cached.token;
    // One fetch at a time: concurrent deliveries share it.
    this.pending ??= this.fetchToken(signal).finally(() => (this.pending = undefined));
    return this.pending;
  }

  invalidate(): boolean {
    this.cached = undefined;
    return true;
  }

  private async fetchToken(signal: AbortSignal): Promise<string> {
    const target = `token endpoint ${new URL(this.tokenUrl).origin}${new URL(this.tokenUrl).pathname}`;
    const { headers, form } = await this.credentials();
    const body = new URLSearchParams({ grant_type: 'client_credentials', ...(this.scope ? { scope: this.scope } : {}), ...form });
    let res: Response;
    try {
      res = await fetch(this.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers }, body, signal, redirect: 'manual' });
    } catch (err) {
      if ((err as Error).name === 'TimeoutError' || (err as Error).name === 'AbortError') throw new DeliveryError(`${target}: no response in time`, true);
      throw new DeliveryError(`${target} failed: ${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message}`, true);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      // RFC 6749 errors are {error, error_description}: keep the error code only.
      let code = '';
      try {
        code = String((JSON.parse(text) as { error?: unknown }).error ?? '');
      } catch {
        code = '';
      }
      const summary = `${target}: ${describeResponse(res.status, '', '')}${code ? ` (${code.slice(0, 60)})` : ''}`;
      throw new DeliveryError(summary, isRetryableStatus(res.status), { status: res.status }, retryAfterMs(res.headers.get('retry-after')));
    }
    let parsed: { access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new DeliveryError(`${target}: answer is not JSON`, true);
    }
    if (typeof parsed.access_token !== 'string' || !parsed.access_token) throw new DeliveryError(`${target}: answer has no access_token`, true);
    const lifetimeS = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_LIFETIME_S;
    this.cached = { token: parsed.access_token, expiresAt: Date.now() + Math.max(0, lifetimeS * 1000 - EXPIRY_MARGIN_MS) };
    return parsed.access_token;
  }
}

async function loadSigningKey(auth: Extract<FhirAuth, { type: 'smart-backend' }>, env: NodeJS.ProcessEnv): Promise<CryptoKey> {
  let pem: string;
  if (auth.privateKeyFile) {
    try {
      pem = readFileSync(auth.privateKeyFile, 'utf8');
    } catch (err) {
      throw new ConfigError(`FHIR destination SMART key file cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  } else if (auth.privateKeyEnv) {
    pem = secret(env, auth.privateKeyEnv, 'SMART private key').replace(/\\n/g, '\n');
  } else {
    throw new ConfigError('FHIR destination smart-backend auth needs privateKeyFile or privateKeyEnv');
  }
  try {
    return await importPKCS8(pem, auth.algorithm);
  } catch {
    throw new ConfigError(`FHIR destination SMART key is not a PKCS#8 PEM private key for ${auth.algorithm}`);
  }
}

/** The signed JWT a SMART Backend Services client authenticates with (valid 5 minutes, single use). */
export async function clientAssertion(key: CryptoKey, auth: Extract<FhirAuth, { type: 'smart-backend' }>): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: auth.algorithm, typ: 'JWT', ...(auth.keyId ? { kid: auth.keyId } : {}) })
    .setIssuer(auth.clientId)
    .setSubject(auth.clientId)
    .setAudience(auth.tokenUrl)
    .setJti(randomUUID())
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

/** Build the token source for `auth`; throws ConfigError for a missing secret or unreadable key. */
export async function createTokenSource(auth: FhirAuth, env: NodeJS.ProcessEnv): Promise<TokenSource> {
  switch (auth.type) {
    case 'none':
      return new StaticToken(undefined);
    case 'bearer':
      return new StaticToken(secret(env, auth.tokenEnv, 'bearer token'));
    case 'oauth2-client-credentials': {
      const clientSecret = secret(env, auth.clientSecretEnv, 'OAuth2 client secret');
      type Credentials = { headers: Record<string, string>; form: Record<string, string> };
      return new TokenEndpointSource(auth.tokenUrl, auth.scope, async (): Promise<Credentials> =>
        auth.clientAuthentication === 'post'
          ? { headers: {}, form: { client_id: auth.clientId, client_secret: clientSecret } }
          : {
              // RFC 6749 2.3.1: id and secret are form-encoded before Basic encoding.
              headers: { authorization: `Basic ${Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}` },
              form: {},
            },
      );
    }
    case 'smart-backend': {
      const key = await loadSigningKey(auth, env);
      return new TokenEndpointSource(auth.tokenUrl, auth.scope, async () => ({
        headers: {},
        form: { client_assertion_type: CLIENT_ASSERTION_TYPE, client_assertion: await clientAssertion(key, auth) },
      }));
    }
  }
}
