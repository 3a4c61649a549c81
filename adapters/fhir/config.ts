// Settings of a `type: fhir` destination (schemas/channel.schema.json is the authority; these
// types mirror it after defaults). Secrets are never in the channel file: only the names of
// the environment variables (or the key file) that hold them.

export type FhirAuth =
  | { type: 'none' }
  | { type: 'bearer'; /** Environment variable holding the token. */ tokenEnv: string }
  | {
      type: 'oauth2-client-credentials';
      tokenUrl: string;
      clientId: string;
      /** Environment variable holding the client secret. */
      clientSecretEnv: string;
      scope?: string;
      /** How the secret is sent: HTTP Basic (RFC 6749's default) or form fields. */
      clientAuthentication: 'basic' | 'post';
    }
  | {
      type: 'smart-backend';
      tokenUrl: string;
      clientId: string;
      /** PEM (PKCS#8) private key file, or the environment variable holding the PEM. */
      privateKeyFile?: string;
      privateKeyEnv?: string;
      algorithm: 'RS384' | 'ES384';
      /** `kid` of the key in the JWKS registered with the server. */
      keyId?: string;
      scope: string;
    };

export type RetractionMode = 'entered-in-error' | 'delete';

export interface FhirDestinationSettings {
  /** FHIR base URL; default TRAMLINE_LPRES_URL, else the engine's own /fhir sandbox. */
  url?: string;
  auth: FhirAuth;
  /** Whole request, token fetch included. */
  timeoutMs: number;
  /** How withdrawn records are retracted. */
  retraction: RetractionMode;
}

export const DEFAULT_FHIR_SETTINGS: FhirDestinationSettings = { auth: { type: 'none' }, timeoutMs: 30000, retraction: 'entered-in-error' };
