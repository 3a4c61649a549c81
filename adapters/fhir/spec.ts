// Spec of the `fhir` destination: transaction Bundles to the shared care record (core/component.ts).
// Secrets are never in the channel file: only the names of the environment variables (or the
// key file) that hold them.
import { Type } from '@sinclair/typebox';
import { Choice, component, Discriminated, EnvVarName, withDefault, type ConfigOf, type Settings } from '../../core/component.js';

const URL_PATTERN = '^https?://[^\\s]+$';

const fhirAuth = Discriminated(
  [
    Type.Object({ type: Type.Literal('none') }),
    Type.Object({ type: Type.Literal('bearer'), tokenEnv: EnvVarName('Name of the environment variable holding the token.') }),
    Type.Object({
      type: Type.Literal('oauth2-client-credentials'),
      tokenUrl: Type.String({ pattern: URL_PATTERN, description: 'OAuth2 token endpoint.' }),
      clientId: Type.String({ minLength: 1, description: 'Client id registered with the token endpoint.' }),
      clientSecretEnv: EnvVarName('Name of the environment variable holding the client secret.'),
      scope: Type.Optional(Type.String({ minLength: 1, description: 'Scope to ask for (none: the server decides).' })),
      clientAuthentication: withDefault(
        Choice(['basic', 'post'], { description: 'basic: HTTP Basic (RFC 6749 default); post: client_id and client_secret form fields.' }),
        'basic',
      ),
    }),
    Type.Object(
      {
        type: Type.Literal('smart-backend'),
        tokenUrl: Type.String({ pattern: URL_PATTERN, description: 'Token endpoint (also the audience of the client assertion).' }),
        clientId: Type.String({ minLength: 1, description: 'Client id registered with the server (issuer and subject of the assertion).' }),
        privateKeyFile: Type.Optional(Type.String({ minLength: 1, description: 'PKCS#8 PEM private key file.' })),
        privateKeyEnv: Type.Optional(EnvVarName('Name of the environment variable holding the PKCS#8 PEM private key (\\n escapes allowed).')),
        algorithm: withDefault(Choice(['RS384', 'ES384'], { description: 'Signing algorithm of the key.' }), 'RS384'),
        keyId: Type.Optional(Type.String({ minLength: 1, description: 'kid of the public key registered with the server (JWKS).' })),
        scope: withDefault(Type.String({ minLength: 1, description: 'Scope to ask for.' }), 'system/*.write'),
      },
      { oneOf: [{ required: ['privateKeyFile'] }, { required: ['privateKeyEnv'] }] },
    ),
  ],
  {
    description:
      'none; bearer (token from the environment variable tokenEnv); oauth2-client-credentials (tokenUrl, clientId, secret from clientSecretEnv); smart-backend (SMART Backend Services: tokenUrl, clientId, a PKCS#8 PEM private key from privateKeyFile or privateKeyEnv, RS384 or ES384). Tokens are cached until shortly before expiry and refreshed once after a 401.',
  },
);

export type FhirAuth = Settings<typeof fhirAuth>;

export const fhirDestinationSpec = component({
  kind: 'destination',
  type: 'fhir',
  summary:
    "Post each message's FHIR transaction Bundle to the shared care record (LPRES) and retract withdrawn records. 2xx is delivered; 429, 5xx, timeouts and connection errors are retried (Retry-After honoured); other 4xx dead-letter with the server's OperationOutcome kept.",
  description: [
    'Without `url` (and without `TRAMLINE_LPRES_URL`) bundles go to the engine\'s own sandbox at `/fhir`, so a channel',
    'can be tried end to end before the shared care record is reachable. Authentication, retraction and the sandbox:',
    '[fhir.md](fhir.md).',
  ].join('\n'),
  fields: {
    url: Type.Optional(Type.String({ pattern: URL_PATTERN, description: "FHIR base URL. Default: TRAMLINE_LPRES_URL, else the engine's own sandbox at /fhir." })),
    auth: withDefault(fhirAuth, { type: 'none' }),
    timeoutMs: withDefault(Type.Integer({ minimum: 1, maximum: 600000, description: 'Whole request, token fetch included.' }), 30000),
  },
  examples: [
    { title: "The shared care record, or the engine's sandbox", config: { name: 'lpres', type: 'fhir', routes: ['record.#'] } },
    {
      title: 'SMART Backend Services with a key file',
      config: {
        name: 'lpres-smart',
        type: 'fhir',
        url: 'https://lpres.example.nhs.uk/fhir/R4',
        auth: { type: 'smart-backend', tokenUrl: 'https://lpres.example.nhs.uk/token', clientId: 'tramline-blackpool', privateKeyFile: '/etc/tramline/lpres-key.pem', algorithm: 'ES384' },
      },
    },
  ],
});

export type FhirDestinationConfig = ConfigOf<typeof fhirDestinationSpec>;
