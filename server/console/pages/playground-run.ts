// The mapping playground's work, apart from the page: which mappings may be chosen (the shipped
// ones and any file a deployed channel maps with, never a path typed in), turning pasted text
// into the mapping's input (HL7 v2; a social care CLD row as CSV header + rows or JSON; any JSON
// record), running it with the checks the mapping declares, and its example cases. The pasted
// text is patient data: nothing here logs it, and errors name fields and mapping lines, not values.
import { basename, resolve } from 'node:path';
import { statSync } from 'node:fs';
import { parseHl7 } from '../../../adapters/hl7v2/parse.js';
import { MappingError, reasonOf, TramlineError, ValidationError } from '../../../core/errors.js';
import { runMappingCases, type MappingCaseResult } from '../../../mappings/engine/cases.js';
import { hl7Input, jsonInput, listMappings, loadMappingById, runMapping, type CompiledMapping, type MappingInput } from '../../../mappings/index.js';
import { CLD_MAPPING_ID, readCldCsv } from '../../../mappings/social-care/cld.js';
import { prepareCldRecord } from '../../../mappings/social-care/cld-validate.js';
import { toCldPersonInput } from '../../../mappings/social-care/group.js';

/** The most a pasted input may be (bytes of UTF-8). */
export const PLAYGROUND_MAX_BYTES = 1024 * 1024;

export interface PlaygroundChoice {
  /** What the form sends: a shipped mapping id, or `channel:<id>` for a channel's own mapping file. */
  value: string;
  label: string;
  file: string;
}

/** Shipped mappings, then the mapping files of deployed channels that are not shipped ones. */
export function playgroundChoices(channels: readonly { id: string; pipeline?: { map?: string } }[]): PlaygroundChoice[] {
  const shipped = listMappings();
  const used = new Map<string, string[]>();
  for (const c of channels) if (c.pipeline?.map) used.set(c.pipeline.map, [...(used.get(c.pipeline.map) ?? []), c.id]);
  const choices: PlaygroundChoice[] = [...shipped.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([id, file]) => ({ value: id, label: used.has(id) ? `${id} (used by ${used.get(id)!.join(', ')})` : id, file }));
  for (const c of channels) {
    const ref = c.pipeline?.map;
    if (!ref || shipped.has(ref)) continue;
    const file = resolve(ref);
    if (statSync(file, { throwIfNoEntry: false })?.isFile()) choices.push({ value: `channel:${c.id}`, label: `${basename(file)} (channel ${c.id})`, file });
  }
  return choices;
}

/** One line of the issues list: what the engine said, and where (mapping line, input field, output target). */
export interface PlaygroundIssue {
  severity: 'error' | 'warning';
  message: string;
  /** `adt-to-fhir.yaml:80`. */
  mappingLine?: string;
  /** The input it was read from: an HL7 field (`PID-3`), a JSONPath or a CLD field. */
  field?: string;
  /** Where in the output it was meant to go. */
  target?: string;
}

export interface PlaygroundResult {
  ok: boolean;
  /** The output, pretty-printed. */
  output?: string;
  /** A one-line reason when the run failed. */
  error?: string;
  issues: PlaygroundIssue[];
  /** What the pasted text was read as. */
  readAs?: string;
}

export const byteLength = (text: string) => Buffer.byteLength(text, 'utf8');

const at = (file: string | undefined, line: number | undefined) => (file ? `${basename(file)}${line ? `:${line}` : ''}` : undefined);

/** A CLD field error or schema issue: `PID-3 …`/`Event_Start_Date …` keeps its field apart. */
function validationIssue(text: string): PlaygroundIssue {
  const m = /^([A-Za-z0-9_.[\]/-]+):\s+(.*)$/.exec(text);
  return m ? { severity: 'error', target: m[1], message: m[2] } : { severity: 'error', message: text };
}

/** A mapping failure as one issue: its line, the input it wanted (`PID-3 or PID-3.1`), and the message without the file prefix. */
export function mappingErrorIssue(e: MappingError): PlaygroundIssue {
  const message = e.message.replace(/^\S+\.ya?ml(?::\d+)?:\s*/, '');
  const wanted = /(?:missing|invalid|not found)[^:]*:\s*(.+?)\s+→/.exec(message)?.[1];
  return { severity: 'error', message, mappingLine: at(e.file, e.line), ...(wanted ? { field: wanted } : {}), ...(e.target ? { target: e.target } : {}) };
}

/** CLD rows (raw, from CSV or JSON) → one person's grouped input, or the rows' field errors. */
function cldInput(rows: Record<string, unknown>[]): { input: MappingInput } | { issues: PlaygroundIssue[] } {
  const issues: PlaygroundIssue[] = [];
  const records = rows.map((raw, i) => {
    const prepared = prepareCldRecord(raw);
    for (const e of prepared.errors) issues.push({ severity: 'error', field: e.field, message: `${rows.length > 1 ? `row ${i + 1}: ` : ''}${e.field} ${e.reason}` });
    return prepared.record;
  });
  if (issues.length) return { issues };
  try {
    return { input: jsonInput(toCldPersonInput(records)) };
  } catch (e) {
    return { issues: [{ severity: 'error', message: `the rows could not be grouped: ${(e as Error).message} (paste one person's rows)` }] };
  }
}

/** Pasted text → the mapping's input, or why it cannot be one. */
export function readPlaygroundInput(mapping: Pick<CompiledMapping, 'id' | 'input'>, text: string): { input: MappingInput; readAs: string } | { error: string; issues: PlaygroundIssue[] } {
  const trimmed = text.trim();
  if (!trimmed) return { error: 'Paste a message or record to map', issues: [] };
  if (mapping.input === 'hl7v2') {
    try {
      return { input: hl7Input(parseHl7(trimmed)), readAs: 'HL7 v2 message' };
    } catch (e) {
      return { error: `This is not an HL7 v2 message the engine can read. ${reasonOf(e)}`, issues: [] };
    }
  }
  const looksJson = trimmed.startsWith('{') || trimmed.startsWith('[');
  let parsed: unknown;
  if (looksJson) {
    try {
      parsed = JSON.parse(trimmed) as unknown;
    } catch (e) {
      return { error: `This is not valid JSON: ${(e as Error).message}`, issues: [] };
    }
  }
  if (mapping.id !== CLD_MAPPING_ID) {
    if (!looksJson) return { error: 'This mapping reads JSON records: paste a JSON object', issues: [] };
    return { input: jsonInput(parsed), readAs: 'JSON record' };
  }
  // The social care mapping: a grouped person input as the example cases hold, or CLD rows.
  if (looksJson && parsed && typeof parsed === 'object' && !Array.isArray(parsed) && 'person' in parsed) return { input: jsonInput(parsed), readAs: 'grouped CLD person (JSON)' };
  let rows: Record<string, unknown>[];
  let readAs: string;
  if (looksJson) {
    const list = Array.isArray(parsed) ? parsed : [parsed];
    if (!list.length || list.some((r) => !r || typeof r !== 'object' || Array.isArray(r))) return { error: 'Paste a CLD row as a JSON object of fields (or a list of one person\u2019s rows)', issues: [] };
    rows = list as Record<string, unknown>[];
    readAs = `${rows.length} CLD row${rows.length === 1 ? '' : 's'} (JSON)`;
  } else {
    try {
      rows = readCldCsv(trimmed).map((r) => r.raw);
    } catch (e) {
      return { error: `This is not CSV the engine can read (a header row, then one row per record): ${(e as Error).message}`, issues: [] };
    }
    if (!rows.length) return { error: 'Paste the CSV header row and at least one row beneath it', issues: [] };
    readAs = `${rows.length} CLD row${rows.length === 1 ? '' : 's'} (CSV)`;
  }
  const grouped = cldInput(rows);
  if ('issues' in grouped) return { error: 'The CLD row is not valid', issues: grouped.issues };
  return { input: grouped.input, readAs };
}

/** Run the mapping on the pasted text: the output and its warnings, or the failure and each issue. */
export function runPlayground(mapping: CompiledMapping, text: string): PlaygroundResult {
  if (byteLength(text) > PLAYGROUND_MAX_BYTES) return { ok: false, error: `The input is larger than ${PLAYGROUND_MAX_BYTES / 1024 / 1024} MiB: paste one message or one person\u2019s rows`, issues: [] };
  const read = readPlaygroundInput(mapping, text);
  if ('error' in read) return { ok: false, error: read.error, issues: read.issues };
  try {
    const result = runMapping(mapping, read.input);
    return {
      ok: true,
      readAs: read.readAs,
      output: JSON.stringify(result.output, null, 2),
      issues: result.issues.map((i) => ({ severity: 'warning', message: i.message, mappingLine: at(i.file, i.line), field: i.source, target: i.target })),
    };
  } catch (e) {
    if (e instanceof ValidationError) return { ok: false, readAs: read.readAs, error: 'The output is not valid FHIR', issues: e.issues.map(validationIssue) };
    if (e instanceof MappingError) return { ok: false, readAs: read.readAs, error: reasonOf(e), issues: e.line || e.target ? [mappingErrorIssue(e)] : [] };
    if (e instanceof TramlineError) return { ok: false, readAs: read.readAs, error: reasonOf(e), issues: [] };
    throw e;
  }
}

/** The mapping's example cases, each passed or failed with its differences. */
export function runPlaygroundCases(mapping: Pick<CompiledMapping, 'file'>): MappingCaseResult[] {
  return runMappingCases(mapping.file);
}

/** The compiled mapping for a choice on the form, or undefined for anything not offered. */
export function chosenMapping(choices: readonly PlaygroundChoice[], value: string): CompiledMapping | undefined {
  const choice = choices.find((c) => c.value === value);
  return choice ? loadMappingById(choice.file) : undefined;
}
