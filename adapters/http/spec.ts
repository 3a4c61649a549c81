// Specs of the `http` source (records pushed to POST /inbound/<channel>) and the `http`
// destination (a case system's REST endpoint) (core/component.ts).
import { Type } from '@sinclair/typebox';
import { Choice, component, Discriminated, EnvVarName, withDefault, type ConfigOf, type Settings } from '../../core/component.js';

export const httpSourceSpec = component({
  kind: 'source',
  type: 'http',
  summary: 'Records a case system pushes to `POST /inbound/<channel>`.',
  description: [
    'One JSON record or an array per request, authenticated like the rest of the API. `202` with the batch report;',
    '`422` with a FHIR OperationOutcome naming each bad record when none could be used; `400`/`413`/`415`',
    'OperationOutcomes for a malformed request.',
  ].join('\n'),
  fields: {
    maxRecords: withDefault(Type.Integer({ minimum: 1, description: 'Most records accepted in one POST /inbound/<channel> request.' }), 10000),
  },
  examples: [{ title: 'Records pushed by a case system', config: { type: 'http', maxRecords: 10000 } }],
});

export type HttpSourceConfig = ConfigOf<typeof httpSourceSpec>;

const noAuth = Type.Object({ type: Type.Literal('none') });
const basicAuth = Type.Object({
  type: Type.Literal('basic'),
  username: Type.String({ minLength: 1, description: 'User name sent with the password.' }),
  passwordEnv: EnvVarName('Name of the environment variable holding the password.'),
});
const bearerAuth = Type.Object({ type: Type.Literal('bearer'), tokenEnv: EnvVarName('Name of the environment variable holding the token.') });

const httpAuth = Discriminated([noAuth, basicAuth, bearerAuth], {
  description: 'none, basic (username + password from the environment variable passwordEnv) or bearer (token from the environment variable tokenEnv).',
});

export type HttpAuth = Settings<typeof httpAuth>;

export const httpDestinationSpec = component({
  kind: 'destination',
  type: 'http',
  summary:
    "POST (or PUT/PATCH) each message to a case system's REST endpoint. 2xx is delivered; 408, 425, 429, 5xx, timeouts and connection errors are retried (Retry-After honoured); any other status dead-letters.",
  description: [
    'Every request carries `Idempotency-Key: <message id>`. Redirects are not followed (a 3xx is permanent: configure the',
    'final URL). The JSON document, answers and recorded errors: [destinations.md](destinations.md#http--rest-endpoint).',
  ].join('\n'),
  fields: {
    url: Type.String({ pattern: '^https?://[^\\s]+$', description: 'Endpoint URL (http:// or https://).' }),
    method: withDefault(Choice(['POST', 'PUT', 'PATCH'], { description: 'HTTP method of each request.' }), 'POST'),
    format: withDefault(
      Choice(['json', 'hl7'], {
        description:
          'json: {messageId, channel, messageType, sendingFacility, controlId, receivedAt, hl7} as application/json; hl7: the HL7 v2 text as x-application/hl7-v2+er7.',
      }),
      'json',
    ),
    headers: withDefault(
      Type.Unsafe<Record<string, string>>({
        type: 'object',
        propertyNames: { pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$" },
        additionalProperties: { type: 'string' },
        description: 'Extra request headers (names are HTTP tokens); use ${VAR} for secrets (substituted from the environment).',
      }),
      {},
    ),
    auth: withDefault(httpAuth, { type: 'none' }),
    timeoutMs: withDefault(Type.Integer({ minimum: 1, maximum: 600000, description: 'Whole request, from connect to the last byte of the response head.' }), 30000),
  },
  examples: [
    {
      title: 'JSON to a REST endpoint with a bearer token',
      config: {
        name: 'case-api',
        type: 'http',
        url: '${CASE_API_URL:-https://case.example.org}/inbound/hl7',
        headers: { 'X-Council': 'blackpool' },
        auth: { type: 'bearer', tokenEnv: 'CASE_API_TOKEN' },
        retry: { maxAttempts: 12, initialDelayMs: 2000 },
      },
    },
  ],
});

export type HttpDestinationConfig = ConfigOf<typeof httpDestinationSpec>;
