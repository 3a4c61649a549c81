// Spec of the `database` source: polling a case-system table or view (core/component.ts).
import { Type } from '@sinclair/typebox';
import { component, withDefault, type ConfigOf } from '../../core/component.js';

const COLUMN = '^[A-Za-z_][A-Za-z0-9_]*$';

export const databaseSourceSpec = component({
  kind: 'source',
  type: 'database',
  summary: 'Rows polled from a case-system table or view, in watermark order.',
  description: [
    'Rows are read in `(watermark, key)` order after the last position, which is saved in Tramline\'s store only once',
    'the batch is stored: no row is skipped, and a crash re-reads at most one batch (which the intake recognises).',
  ].join('\n'),
  fields: {
    url: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', description: 'Case-system database URL.' }),
    view: Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)?$', description: 'Table or view to read (schema.name allowed).' }),
    watermark: Type.String({ pattern: COLUMN, description: 'Column that grows with every change (e.g. updated_at or a sequence).' }),
    key: Type.String({ pattern: COLUMN, description: 'Unique row key; breaks ties between rows with the same watermark.' }),
    pollIntervalMs: withDefault(Type.Integer({ minimum: 100, description: 'Time between polls.' }), 5000),
    batchSize: withDefault(Type.Integer({ minimum: 1, maximum: 100000, description: 'Rows read per query.' }), 1000),
  },
  examples: [
    {
      title: 'A PostgreSQL view of care events',
      config: { type: 'database', url: 'postgres://reader@case-db:5432/mosaic', view: 'integration.v_cld_events', watermark: 'updated_at', key: 'event_id' },
    },
  ],
});

export type DatabaseSourceConfig = ConfigOf<typeof databaseSourceSpec>;
