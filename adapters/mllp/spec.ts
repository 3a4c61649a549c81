// Specs of the `mllp` source (HL7 v2 listener) and the `mllp` destination (downstream peer):
// their channel-file settings, defaults and reference text (core/component.ts).
import { Type } from '@sinclair/typebox';
import { Choice, component, withDefault, type ConfigOf } from '../../core/component.js';
import { DEFAULT_HL7_LIMITS } from '../hl7v2/limits.js';

// The intake reads limits over DEFAULT_HL7_LIMITS (adapters/hl7v2/limits.ts), so they are typed
// as optional; the schema still fills in the defaults, so a loaded channel shows them.
const limit = (fallback: number, description: string) => Type.Optional(Type.Integer({ minimum: 1, default: fallback, description }));

export const mllpSourceSpec = component({
  kind: 'source',
  type: 'mllp',
  summary: 'HL7 v2 messages over MLLP: each is stored, queued, then acknowledged.',
  description: [
    'Listens for HL7 v2 over MLLP. Each message is decoded per MSH-18, parsed, **stored durably, then queued, then',
    'acknowledged** (`AA`/`CA`); unreadable messages are stored as `rejected` and answered `AR`/`CR` with an ERR segment.',
    'How messages are acknowledged in each situation: [channels.md](channels.md#mllp--hl7-v2-over-mllp).',
  ].join('\n'),
  fields: {
    host: withDefault(Type.String({ description: 'Address to listen on.' }), '0.0.0.0'),
    port: Type.Integer({ minimum: 0, maximum: 65535, description: 'Port to listen on (0: any free port).' }),
    maxMessageBytes: withDefault(Type.Integer({ minimum: 1024, description: 'Larger frames are answered AR and stored as rejected.' }), 1048576),
    idleTimeoutMs: withDefault(Type.Integer({ minimum: 0, description: 'Close connections idle this long with nothing in flight (0: never).' }), 600000),
    maxConnections: withDefault(Type.Integer({ minimum: 1, description: 'Open connections per listener; connections beyond it are closed at once.' }), 200),
    charset: Type.Optional(
      Choice(['windows-1252', 'iso-8859-1', 'iso-8859-15'], {
        description: 'Decode messages that are not valid UTF-8 (and declare no other MSH-18 character set) by this one instead of rejecting them.',
      }),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          segments: limit(DEFAULT_HL7_LIMITS.segments, 'Segments per message.'),
          fieldsPerSegment: limit(DEFAULT_HL7_LIMITS.fieldsPerSegment, 'Fields per segment.'),
          repetitionsPerField: limit(DEFAULT_HL7_LIMITS.repetitionsPerField, 'Repetitions per field.'),
          componentsPerField: limit(DEFAULT_HL7_LIMITS.componentsPerField, 'Components and subcomponents in one field, all repetitions together.'),
        },
        { additionalProperties: false, description: 'Messages beyond these are answered AR and stored as rejected.' },
      ),
    ),
    ackMode: withDefault(Choice(['auto', 'original', 'enhanced'], { description: 'auto follows MSH-15/16 of each message.' }), 'auto'),
    whenQueueDown: withDefault(
      Choice(['store-and-ack', 'nak'], { description: 'With RabbitMQ unreachable: keep storing and ACKing (backlog published later) or answer AE/CE.' }),
      'store-and-ack',
    ),
  },
  examples: [
    { title: 'The sample ADT feed, port from the environment', config: { type: 'mllp', port: '${TRAMLINE_MLLP_PORT:-2575}' } },
    { title: 'A Windows-1252 feed with tighter limits', config: { type: 'mllp', port: 2576, charset: 'windows-1252', maxConnections: 20, limits: { segments: 2000 } } },
  ],
});

export type MllpSourceConfig = ConfigOf<typeof mllpSourceSpec>;

export const mllpDestinationSpec = component({
  kind: 'destination',
  type: 'mllp',
  summary: 'Forward the HL7 v2 message to a downstream system over MLLP and check its ACK: AA/CA delivered, AE/CE retried, AR/CR dead-lettered.',
  description: [
    'The message is forwarded unchanged (encoded in its MSH-18 character set) over one pipelined connection per',
    'destination. Idempotency rests on the receiver\'s duplicate check on MSH-10.',
    'Replies and outcomes: [destinations.md](destinations.md#mllp--downstream-hl7-v2-system).',
  ].join('\n'),
  fields: {
    host: Type.String({ minLength: 1, description: 'Downstream host.' }),
    port: Type.Integer({ minimum: 1, maximum: 65535, description: 'Downstream port.' }),
    responseTimeoutMs: withDefault(Type.Integer({ minimum: 1, maximum: 600000, description: 'Time allowed for the ACK after the message is written; a timeout is retried.' }), 30000),
    connectTimeoutMs: withDefault(Type.Integer({ minimum: 1, maximum: 600000, description: 'Time allowed to connect (and finish the TLS handshake).' }), 10000),
    tls: Type.Optional(
      Type.Object(
        {
          caFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA(s) to trust instead of the system store.' })),
          certFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM client certificate (mutual TLS).' })),
          keyFile: Type.Optional(Type.String({ minLength: 1, description: 'PEM private key of certFile.' })),
          servername: Type.Optional(Type.String({ minLength: 1, description: 'Name to verify the certificate against (default: host).' })),
        },
        {
          additionalProperties: false,
          description:
            'Connect with TLS (present, even empty, turns it on). The server certificate is verified against the system CAs, or caFile; certFile + keyFile give a client certificate for mutual TLS.',
          dependencies: { certFile: ['keyFile'], keyFile: ['certFile'] },
        },
      ),
    ),
  },
  examples: [
    { title: 'A downstream system on the trust network', config: { name: 'downstream', type: 'mllp', host: 'tie.example.nhs.uk', port: 2575 } },
    {
      title: 'MLLP over mutual TLS',
      config: {
        name: 'downstream-tls',
        type: 'mllp',
        host: 'tie.example.nhs.uk',
        port: 2576,
        tls: { caFile: '/etc/tramline/nhs-ca.pem', certFile: '/etc/tramline/client.pem', keyFile: '/etc/tramline/client.key' },
      },
    },
  ],
});

export type MllpDestinationConfig = ConfigOf<typeof mllpDestinationSpec>;
