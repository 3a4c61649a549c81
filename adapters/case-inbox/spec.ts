// Spec of the `case-inbox` destination: a row per message in a case system's database (core/component.ts).
import { Type } from '@sinclair/typebox';
import { component, withDefault, type ConfigOf } from '../../core/component.js';

export const caseInboxDestinationSpec = component({
  kind: 'destination',
  type: 'case-inbox',
  summary: "A row per message in an inbox table of the case system's database.",
  description: [
    'One row per message (id = message id, so a redelivery is a no-op) with message type, control id, sending facility,',
    'NHS number, all PID-3 identifiers and the message text. Database errors are retried; a message that cannot be read',
    'is dead-lettered. More: [destinations.md](destinations.md#case-inbox--case-system-database-inbox).',
  ].join('\n'),
  fields: {
    database: Type.String({ pattern: '^(sqlite:|postgres(ql)?://)', description: 'Case-system database URL (sqlite:<file> or postgres://…).' }),
    table: withDefault(Type.String({ pattern: '^[a-z_][a-z0-9_]{0,62}$', description: 'Inbox table (created when missing).' }), 'case_inbox'),
  },
  examples: [
    { title: "The sample case system's inbox", config: { name: 'case-inbox', type: 'case-inbox', database: '${TRAMLINE_CASE_DB_URL:-sqlite:./data/case-system.db}', routes: ['hl7v2.ADT.#'] } },
  ],
});

export type CaseInboxDestinationConfig = ConfigOf<typeof caseInboxDestinationSpec>;
