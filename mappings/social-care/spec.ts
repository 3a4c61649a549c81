// Spec of the `cld` record format (`pipeline.recordFormat: cld`): how its rows are read and
// grouped is in channels/record-formats.ts; this is its reference entry (core/component.ts).
import { component } from '../../core/component.js';

export const cldRecordFormatSpec = component({
  kind: 'record-format',
  type: 'cld',
  summary: 'Adult Social Care Client Level Data: rows normalised and checked against the CLD schema, one group per person.',
  description: [
    'Rows are normalised (dates, codes, NHS numbers) and checked against `schemas/social-care/cld-record.schema.json`;',
    'a bad row is reported by row, field and reason and skipped. Valid rows are grouped by person',
    '(`LA_Person_Unique_Identifier`), and each group is mapped to one FHIR transaction Bundle. The data set and its',
    'mapping: [mappings/social-care/README.md](../mappings/social-care/README.md).',
  ].join('\n'),
  fields: {},
  examples: [{ title: 'CLD extracts to FHIR UK Core', config: { recordFormat: 'cld', map: 'social-care-cld-to-fhir' } }],
});
