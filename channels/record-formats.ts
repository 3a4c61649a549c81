// How a record channel reads its rows: a built-in format (`recordFormat: cld` — the Adult
// Social Care Client Level Data set, with its own normaliser, schema and per-person grouping)
// or a generic one (`recordSchema` + `groupBy`). And how a group becomes content to deliver:
// the channel's mapping, or the rows themselves as JSON when it has none.
import { mapJsonRecord } from '../mappings/index.js';
import type { MappingIssue } from '../mappings/engine/types.js';
import { cldPersonKey, toCldPersonInput } from '../mappings/social-care/group.js';
import { prepareCldRecord } from '../mappings/social-care/cld-validate.js';
import type { RecordFormatName } from './components.js';
import type { ChannelDefinition } from './definition.js';
import { withoutValues } from '../core/errors.js';
import { checkRow, normaliseRow, recordValidator } from './records.js';
import type { RecordMapper, RecordProblem, RecordRow } from '../core/records.js';

export interface RecordFormat {
  /** Normalise and validate one raw row. */
  prepare(raw: RecordRow, rowNumber: number): { row: RecordRow; problems: RecordProblem[] };
  /** Group key of a valid row (one message per key); undefined → each row on its own. */
  groupKey?(row: RecordRow): string;
  /** The mapping input for one group. */
  toInput(key: string, rows: RecordRow[]): unknown;
}

const cld: RecordFormat = {
  prepare(raw, rowNumber) {
    const { record, errors } = prepareCldRecord(raw);
    return { row: record, problems: errors.map((e) => ({ row: rowNumber, field: e.field, reason: e.reason })) };
  },
  groupKey: cldPersonKey,
  toInput: (_key, rows) => toCldPersonInput(rows),
};

function generic(channel: ChannelDefinition): RecordFormat {
  const schema = channel.pipeline?.recordSchema;
  const validate = schema ? recordValidator(schema) : undefined;
  const groupBy = channel.pipeline?.groupBy;
  return {
    prepare(raw, rowNumber) {
      const row = normaliseRow(raw);
      const problems = checkRow(validate, row, rowNumber);
      if (groupBy && row[groupBy] === undefined) problems.push({ row: rowNumber, field: groupBy, reason: 'is required to group records' });
      return { row, problems };
    },
    groupKey: groupBy ? (row) => String(row[groupBy]) : undefined,
    toInput: (key, rows) => ({ key, records: rows }),
  };
}

/** The built-in formats, by every name the specs declare (channels/components.ts). */
const BUILT_IN: { [N in RecordFormatName]: RecordFormat } = { cld };

export function recordFormatFor(channel: ChannelDefinition): RecordFormat {
  const name = channel.pipeline?.recordFormat;
  return name ? BUILT_IN[name] : generic(channel);
}

/** Group input → content to deliver, and what the mapping left out (value-free). */
export function recordMapperFor(channel: ChannelDefinition): RecordMapper {
  const mapping = channel.pipeline?.map;
  const vars = { ...channel.pipeline?.vars };
  if (!mapping) return (input) => ({ output: input });
  return (input) => {
    const { output, issues } = mapJsonRecord(input, mapping, vars);
    const warnings = new Map<string, { field: string; reason: string }>();
    for (const issue of issues) {
      const w = { field: sourceFieldOf(issue), reason: `${withoutValues(issue.message)}: left out, the rest sent` };
      warnings.set(`${w.field}\0${w.reason}`, w);
    }
    return { output, warnings: [...warnings.values()] };
  };
}

/**
 * The input field(s) a mapping warning is about, from the JSONPaths the mapping read it from
 * (`$.person.NHS_Number (nhsNumber)` → NHS_Number); else the output location it was meant for.
 */
function sourceFieldOf(issue: MappingIssue): string {
  const fields = [...(issue.source ?? '').matchAll(/\$((?:\.\w+|\[\*\])+)/g)].map((m) => m[1].replace(/\[\*\]/g, '').split('.').pop()!);
  return fields.length ? [...new Set(fields)].join(', ') : issue.target;
}
