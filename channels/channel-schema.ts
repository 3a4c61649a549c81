// The schema of a channel file, composed from the component specs (channels/components.ts) and
// the channel's own fields. The loader validates against it; `npm run generate` writes it to
// schemas/channel.schema.json for editors; channels/definition.ts takes its types from it.
import { Type } from '@sinclair/typebox';
import { Choice, Discriminated, withDefault, type ComponentSpec } from '../core/component.js';
import { DESTINATIONS, RECORD_FORMATS, SOURCES, type RecordFormatName } from './components.js';

const ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';

const strings = (description: string) => Type.Optional(Type.Array(Type.String(), { description }));

export const messageFilter = Type.Object(
  {
    messageTypes: strings('MSH-9.1, e.g. ADT'),
    triggerEvents: strings('MSH-9.2, e.g. A01'),
    sendingFacilities: strings("MSH-4.1, the trust's ODS code"),
    wards: strings('PV1-3.1 point of care'),
  },
  { additionalProperties: false, description: 'Declarative filter; every listed criterion must match (values within a list are alternatives).' },
);

/** Used when a destination sets no `retry`; also the default of each of its fields. */
export const DEFAULT_RETRY = { maxAttempts: 10, initialDelayMs: 1000, maxDelayMs: 300_000, multiplier: 2 };

export const retryPolicy = Type.Object(
  {
    maxAttempts: withDefault(Type.Integer({ minimum: 1, maximum: 1000, description: 'Attempts before a retryable failure is dead-lettered.' }), DEFAULT_RETRY.maxAttempts),
    initialDelayMs: withDefault(Type.Integer({ minimum: 0, description: 'First back-off; grows by multiplier up to maxDelayMs, ±20 % jitter.' }), DEFAULT_RETRY.initialDelayMs),
    maxDelayMs: withDefault(Type.Integer({ minimum: 0, description: 'Longest back-off (also caps a Retry-After).' }), DEFAULT_RETRY.maxDelayMs),
    multiplier: withDefault(Type.Number({ minimum: 1, description: 'Growth of the back-off per attempt.' }), DEFAULT_RETRY.multiplier),
  },
  { additionalProperties: false, description: 'How failed deliveries are retried.' },
);

/** Fields every destination has, whatever its type. */
export const destinationFields = {
  name: Type.String({ pattern: ID_PATTERN, description: 'Unique in the channel; the queue is <channel>.<name>.' }),
  routes: Type.Optional(
    Type.Array(Type.String({ pattern: '^[A-Za-z0-9_*#-]+(\\.[A-Za-z0-9_*#-]+)*$' }), {
      description: 'Routing-key patterns within the channel (default: all), e.g. hl7v2.ADT.*.RCB or hl7v2.ADT.#',
    }),
  ),
  filter: Type.Optional(messageFilter),
  map: Type.Optional(
    Type.String({
      description:
        "Mapping (a shipped mapping id or a file) for this destination only, in an HL7 v2 channel without pipeline.map: e.g. hl7v2-adt-to-fhir for a fhir destination while the others take the HL7 message as it came. A message that does not map is dead-lettered for this destination.",
    }),
  ),
  retry: Type.Optional(retryPolicy),
  concurrency: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 1000, description: 'Deliveries in flight for this destination (default 8; case-inbox 64, whose concurrent deliveries share one insert and one commit; fhir 32). Messages of one patient are delivered in order whatever the number.' }),
  ),
};

const scalar = { type: ['string', 'number', 'boolean'] };

export const exclusionRule = Type.Object(
  {
    name: Type.Optional(Type.String({ description: 'Shown in counts, e.g. adoption.' })),
    field: Type.String({ description: 'Record field the rule looks at.' }),
    in: Type.Optional(
      Type.Array(Type.Unsafe<string | number | boolean>(scalar), { description: "Excluded when the field's value is one of these (absent: when it has any value)." }),
    ),
  },
  { additionalProperties: false },
);

export const pipelineSchema = Type.Object(
  {
    filter: Type.Optional(messageFilter),
    map: Type.Optional(Type.String({ description: 'Mapping file (relative to the project root) applied before delivery.' })),
    recordSchema: Type.Optional(
      Type.String({ description: 'JSON Schema (path from the project root) every input record must satisfy; bad records are reported by row, field and reason.' }),
    ),
    groupBy: Type.Optional(
      Type.String({ description: 'Record field whose value groups records into one message (e.g. LA_Person_Unique_Identifier: one bundle per person).' }),
    ),
    exclude: Type.Optional(Type.Array(exclusionRule, { description: 'Records matching any rule never leave: they are counted, not mapped, not logged.' })),
    retract: withDefault(
      Choice(['entered-in-error', 'delete'], { description: 'What happens to resources published earlier for a record that is now excluded (withdrawn or sealed).' }),
      'entered-in-error',
    ),
    vars: Type.Optional(
      Type.Unsafe<Record<string, string | number | boolean>>({ type: 'object', description: 'Named values passed to the mapping ($var).', additionalProperties: scalar }),
    ),
    recordFormat: Type.Optional(
      Choice(RECORD_FORMATS.map((f) => f.type) as RecordFormatName[], {
        description: `A built-in record format with its own normaliser, schema and grouping: ${RECORD_FORMATS.map((f) => `${f.type} = ${f.summary}`).join('; ')}`,
      }),
    ),
  },
  { additionalProperties: false, description: 'What happens between the source and the destinations: filter, exclude, map.' },
);

/** Hours the council has to answer each notice type when the channel sets none (docs/notices.md). */
export const DEFAULT_NOTICE_DEADLINE_HOURS = { assessment: 48, discharge: 24, withdrawal: 48 } as const;

const ODS = { pattern: '^[A-Za-z0-9]{3,10}$' } as const;
const reasonCode = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 20, description: 'The code, as the code system has it.' }), display: Type.String({ minLength: 1, maxLength: 200, description: 'Its display text.' }) },
  { additionalProperties: false },
);
const answeredTypes = Type.Array(Choice(['assessment', 'discharge', 'withdrawal'] as const, {}), { minItems: 1, description: 'The notice types the rule accepts.' });

export const noticesSchema = Type.Object(
  {
    councilOds: Type.String({ ...ODS, description: "The council's ODS code: answers and rejections come from it." }),
    deadlineHours: Type.Optional(
      Type.Object(
        {
          assessment: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: `Hours to answer an assessment notice (default ${DEFAULT_NOTICE_DEADLINE_HOURS.assessment}).` })),
          discharge: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: `Hours to answer a discharge notice (default ${DEFAULT_NOTICE_DEADLINE_HOURS.discharge}).` })),
          withdrawal: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: `Hours to answer a withdrawal (default ${DEFAULT_NOTICE_DEADLINE_HOURS.withdrawal}).` })),
        },
        { additionalProperties: false, description: 'When an answer is due, counted from receipt; a notice awaiting past it is overdue.' },
      ),
    ),
    responder: Type.Optional(
      Type.Object(
        {
          family: Type.String({ minLength: 1, description: 'Family name (or the team, e.g. Hospital Social Work Team).' }),
          given: Type.Optional(Type.Array(Type.String(), { description: 'Given names.' })),
          phone: Type.Optional(Type.String({ description: 'Phone number the hospital can call back on.' })),
          email: Type.Optional(Type.String({ description: 'E-mail address (a team mailbox).' })),
        },
        { additionalProperties: false, description: "Who answers (the response's MessageHeader.author); default the council's adult social care team." },
      ),
    ),
    autoAccept: Type.Optional(
      Type.Array(
        Type.Object(
          {
            name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Shown as `rule <name>` in the answer and the audit trail.' }),
            types: answeredTypes,
            hospitals: strings('Sending hospitals (ODS codes); absent: any.'),
            wards: strings('Ward names as the notice gives them; absent: any.'),
            reason: Type.Optional(
              Type.Object(
                { code: Type.String({ minLength: 1, description: 'Reason code (OFT or one of notices.reasons.accept).' }), display: Type.String({ minLength: 1, description: 'Its display text.' }), text: Type.Optional(Type.String({ description: 'Free text sent with it.' })) },
                { additionalProperties: false, description: 'The reason the answer gives (default OFT, "Accepted automatically (rule <name>).").' },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        { description: 'Notices accepted on arrival, through the same path as a person\'s decision (default reason OFT with the rule named).' },
      ),
    ),
    responses: Type.Optional(
      Type.Object(
        {
          assessment: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'WorkflowId of answers to assessment notices.' })),
          discharge: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'WorkflowId of answers to discharge notices.' })),
          withdrawal: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'WorkflowId of answers to withdrawals.' })),
          rejection: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'WorkflowId of infrastructure rejections (fatal-error).' })),
        },
        {
          additionalProperties: false,
          description: "MESH WorkflowId of the answers to each notice type and of infrastructure rejections; absent: the mesh-folder destination's workflowId.",
        },
      ),
    ),
    reasons: Type.Optional(
      Type.Object(
        { accept: Type.Optional(Type.Array(reasonCode, { description: 'Codes an acceptance may give.' })), reject: Type.Optional(Type.Array(reasonCode, { description: 'Codes a rejection may give.' })) },
        { additionalProperties: false, description: 'Reason codes allowed beyond OFT (Other - Free Text), from ADW-NoticeAcceptReason-1 / ADW-NoticeRejectReason-1.' },
      ),
    ),
    maxBytes: withDefault(Type.Integer({ minimum: 1024, description: 'Largest notice read (bytes); a larger one is rejected.' }), 5 * 1024 * 1024),
  },
  {
    additionalProperties: false,
    description:
      'The channel takes hospital-to-social-care notices (ADW): each message is read, checked, stored with its notice state and routed as `adw.<type>`; answers and rejections go out as `adw-out.<mesh|http>.*` ([notices.md](notices.md)).',
  },
);

/** The config schemas of a list of specs, as a tuple (so each keeps its own type). */
function configs<S extends readonly ComponentSpec[]>(specs: S): { -readonly [I in keyof S]: S[I]['config'] } {
  return specs.map((s) => s.config) as { -readonly [I in keyof S]: S[I]['config'] };
}

export const sourceSchema = Discriminated(configs(SOURCES), { variantDescriptions: SOURCES.map((s) => s.summary) });

export const destinationSchema = Discriminated(configs(DESTINATIONS), {
  shared: destinationFields,
  sharedRequired: ['name'],
  variantDescriptions: DESTINATIONS.map((d) => d.summary),
});

export const channelSchema = Type.Object(
  {
    id: Type.String({ pattern: ID_PATTERN, description: 'Unique channel id (lower case, digits, dashes).' }),
    name: Type.Optional(Type.String({ description: 'Name shown in the API and CLI.' })),
    description: Type.Optional(Type.String({ description: 'What the channel is for.' })),
    enabled: withDefault(Type.Boolean({ description: 'A disabled channel is loaded and checked but not started.' }), true),
    source: sourceSchema,
    pipeline: Type.Optional(pipelineSchema),
    notices: Type.Optional(noticesSchema),
    destinations: Type.Array(destinationSchema, { minItems: 1 }),
    retention: Type.Optional(
      Type.Object(
        { contentDays: Type.Optional(Type.Integer({ minimum: 1, description: 'Days message content is kept; metadata and audit stay.' })) },
        { additionalProperties: false, description: 'How long this channel\'s messages are kept.' },
      ),
    ),
  },
  {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://tramline.dev/schemas/channel.schema.json',
    title: 'Tramline channel',
    $comment: 'Generated from the component specs (channels/components.ts) by `npm run generate`: edit the specs, not this file.',
    description:
      'A channel takes messages from one source, runs the pipeline and hands the result to its destinations, each behind its own durable queue.',
    additionalProperties: false,
  },
);
