// Spec of the `file` source: extracts (CSV, JSON lines) dropped into a folder (core/component.ts).
import { Type } from '@sinclair/typebox';
import { Choice, component, withDefault, type ConfigOf } from '../../core/component.js';

export const fileSourceSpec = component({
  kind: 'source',
  type: 'file',
  summary: 'Extracts (CSV, JSON lines) a case system drops into a folder, one batch per file.',
  description: [
    'A file is read once it is complete (renamed in, or unchanged for `stableMs`), as a stream into one batch: bad rows',
    'are reported and skipped, good rows go on. The file then moves to `processed/` (or `failed/`) with a report',
    '(row, field, reason) beside it. Reports, refusals and restarts: [channels.md](channels.md#file--extract-drops-csv-json-lines).',
  ].join('\n'),
  fields: {
    directory: Type.String({ description: 'Folder the case system drops extracts into. processed/ and failed/ are created inside it.' }),
    formats: withDefault(
      Type.Array(Choice(['csv', 'jsonl']), { description: 'Accepted extract formats, by file extension (.csv; .jsonl/.ndjson).' }),
      ['csv', 'jsonl'],
    ),
    pollIntervalMs: withDefault(Type.Integer({ minimum: 50, description: 'How often the folder is listed.' }), 1000),
    stableMs: withDefault(
      Type.Integer({ minimum: 0, description: 'A file is picked up once its size and modification time have not changed for this long (or at once when renamed in).' }),
      2000,
    ),
    csvDelimiter: withDefault(Type.String({ minLength: 1, maxLength: 1, description: 'Column separator of CSV extracts.' }), ','),
    charset: withDefault(
      Choice(['utf-8', 'latin1', 'windows-1252'], {
        description:
          'Character set of the extracts. utf-8 (the default) is strict: a row with bytes that are not valid UTF-8 is rejected, never stored with replacement characters. Declare latin1 or windows-1252 for feeds written in those.',
      }),
      'utf-8',
    ),
  },
  examples: [
    { title: 'The sample social care drop folder', config: { type: 'file', directory: '${TRAMLINE_EXTRACTS_DIR:-./data/extracts/cld}', formats: ['csv', 'jsonl'], stableMs: 2000 } },
    { title: 'A Windows-1252 CSV feed separated by semicolons', config: { type: 'file', directory: '/srv/extracts/mosaic', formats: ['csv'], csvDelimiter: ';', charset: 'windows-1252' } },
  ],
});

export type FileSourceConfig = ConfigOf<typeof fileSourceSpec>;
