// Specs of the `mesh-folder` source and destination: the NHS MESH client's inbox and outbox
// folders, each message a `<id>.dat` beside its `<id>.ctl` control file (core/component.ts).
import { Type } from '@sinclair/typebox';
import { component, withDefault, type ConfigOf } from '../../core/component.js';

const MAILBOX = { pattern: '^[A-Za-z0-9]{1,20}$' } as const;

export const meshFolderSourceSpec = component({
  kind: 'source',
  type: 'mesh-folder',
  summary: "Messages the council's MESH client writes into its inbox folder (`<id>.dat` beside its `<id>.ctl` control file).",
  description: [
    'A message is taken once both its `.dat` and `.ctl` are there and have stopped changing. The control file gives',
    'the sending mailbox, the workflow and the ids; the payload is stored as received, a repeat of a (mailbox, LocalId)',
    'already stored is not routed again, and only then do both files move to `processed/` (or to `failed/` with a',
    '`.error.txt` reason). A MESH report of a failed transfer is stored as a delivery report, not routed.',
    'Routing key: `mesh.<WorkflowId>.<From_DTS>`. Folders, fields and crash safety: [mesh.md](mesh.md).',
  ].join('\n'),
  fields: {
    inbox: Type.String({ minLength: 1, description: "The MESH client's inbox folder (where it writes received messages)." }),
    processedDir: Type.Optional(Type.String({ minLength: 1, description: 'Where taken messages move (default `<inbox>/processed`).' })),
    failedDir: Type.Optional(Type.String({ minLength: 1, description: 'Where refused messages move, each with a `.error.txt` reason (default `<inbox>/failed`).' })),
    pollIntervalMs: withDefault(Type.Integer({ minimum: 50, description: 'How often the inbox is listed.' }), 1000),
    stableMs: withDefault(
      Type.Integer({ minimum: 0, description: 'A message is taken once its .dat and .ctl have not changed (size, modification time) for this long.' }),
      2000,
    ),
    workflowIds: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'Accept only these WorkflowIds; a message of another workflow moves to failed/ with the reason. Left out: any workflow.' }),
    ),
    maxMessageBytes: withDefault(Type.Integer({ minimum: 1, description: 'Largest payload (.dat) taken; a larger one moves to failed/.' }), 20 * 1024 * 1024),
  },
  examples: [
    {
      title: 'ADW notices from the MESH client inbox',
      config: { type: 'mesh-folder', inbox: '/srv/mesh/X26OT123/IN', workflowIds: ['ADW_ASSESSMENT_NOTICE', 'ADW_DISCHARGE_NOTICE'] },
    },
  ],
});

export const meshFolderDestinationSpec = component({
  kind: 'destination',
  type: 'mesh-folder',
  summary: "Place each message in the council's MESH client outbox folder as `<id>.dat` and its `<id>.ctl` control file, for the client to send.",
  description: [
    'Both files are written to temporary names, fsynced and renamed, the `.ctl` last (the MESH client picks a message',
    'up by its control file). The names and the LocalId are the message id, so a retry rewrites the same pair and never',
    'sends twice. To_DTS is `toMailbox`, or with `replyToSender` the mailbox the message came from. See [mesh.md](mesh.md).',
  ].join('\n'),
  fields: {
    outbox: Type.String({ minLength: 1, description: "The MESH client's outbox folder (it sends what is placed there)." }),
    fromMailbox: Type.String({ ...MAILBOX, description: "The council's own MESH mailbox id (From_DTS)." }),
    toMailbox: Type.Optional(Type.String({ ...MAILBOX, description: 'The recipient mailbox (To_DTS). Needed unless replyToSender.' })),
    replyToSender: withDefault(
      Type.Boolean({ description: "Send to the mailbox the message came from (its `meshFrom` header, set by the mesh-folder source); else toMailbox." }),
      false,
    ),
    workflowId: Type.String({ minLength: 1, maxLength: 100, description: "The MESH WorkflowId of the messages sent (agreed with the recipient); a channel's ADW answers may name their own (notices.responses)." }),
    subject: Type.Optional(Type.String({ maxLength: 500, description: 'Subject of the control file (no patient data: MESH does not encrypt it).' })),
    createDirectory: withDefault(Type.Boolean({ description: 'Create the outbox when missing (off: an unmounted share is retried, not replaced).' }), false),
  },
  examples: [
    { title: 'Replies to the sending hospital', config: { name: 'mesh-out', type: 'mesh-folder', outbox: '/srv/mesh/X26OT123/OUT', fromMailbox: 'X26OT123', replyToSender: true, workflowId: 'ADW_ASSESSMENT_NOTICE_ACCEPT' } },
  ],
});

export type MeshFolderSourceConfig = ConfigOf<typeof meshFolderSourceSpec>;
export type MeshFolderDestinationConfig = ConfigOf<typeof meshFolderDestinationSpec>;
