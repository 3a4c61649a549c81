// Spec of the `file` destination: one file per message in a pick-up folder (core/component.ts).
import { Type } from '@sinclair/typebox';
import { component, withDefault, type ConfigOf } from '../../core/component.js';
import { DEFAULT_FILE_NAME } from './name.js';

export const fileDestinationSpec = component({
  kind: 'destination',
  type: 'file',
  summary: 'Write each message atomically (temp file, fsync, rename) into a folder a case system picks files up from.',
  description: [
    'A reader never sees a partial file under its final name, and a redelivery rewrites the same file with the same bytes.',
    'Disk errors and their outcomes: [destinations.md](destinations.md#file--pick-up-folder).',
  ].join('\n'),
  fields: {
    directory: Type.String({ minLength: 1, description: "Target folder (relative paths are relative to the engine's working directory)." }),
    fileName: withDefault(
      Type.String({
        allOf: [
          { pattern: '^[^/\\\\]+$', description: 'no path separators' },
          { pattern: '\\{(messageId|controlId)\\}', description: 'contains {messageId} or {controlId}' },
          { pattern: '^(?:[^{}]|\\{(?:messageId|controlId|messageType|receivedAt)\\})*$', description: 'only known placeholders' },
        ],
        description:
          'File name template with {messageId}, {controlId}, {messageType}, {receivedAt} (e.g. 20260615T093000.000Z); must contain {messageId} or {controlId}; no other placeholders, no path separators.',
      }),
      DEFAULT_FILE_NAME,
    ),
    createDirectory: withDefault(
      Type.Boolean({ description: 'Create the folder when missing. Off by default, so an unmounted share is retried rather than replaced by a local folder.' }),
      false,
    ),
  },
  examples: [
    { title: 'A pick-up folder on a share', config: { name: 'drop', type: 'file', directory: '/srv/case-system/inbound', fileName: '{messageType}_{controlId}_{messageId}.hl7' } },
  ],
});

export type FileDestinationConfig = ConfigOf<typeof fileDestinationSpec>;
