// The CLD flow's entry points: CSV text → rows, rows → one person's mapping input, → Bundle.
//
//   readCldCsv(text)                 → [{ rowNumber, raw }]   (header is row 1)
//   mapCldRows(rows, vars?)          → { bundle, issues }     one person's rows, normalised here
//   cldRecordMapper({ key, rows }, vars) → Bundle            the shape channels' record intake calls
//   mapCldPerson(input, vars?)       → { bundle, issues }     an already grouped input
//
// vars: idSystemBase, laName (mapping params) and asOf (YYYY-MM-DD, the date statuses are judged at).
import { parse } from 'csv-parse/sync';
import type { Bundle } from 'fhir/r4.js';
import { MappingError } from '../../core/errors.js';
import { jsonInput } from '../engine/hl7-input.js';
import type { CompiledMapping, MappingIssue } from '../engine/types.js';
import { loadMappingById, runMapping } from '../index.js';
import { normaliseCldRecord } from './cld-validate.js';
import { toCldPersonInput, type CldPersonInput } from './group.js';

export const CLD_MAPPING_ID = 'social-care-cld-to-fhir';

export interface CldBundleResult {
  bundle: Bundle;
  issues: MappingIssue[];
}

export interface CsvRow {
  /** 1-based line of the record in the file; the header is row 1. */
  rowNumber: number;
  raw: Record<string, string>;
}

/** Parse a CLD CSV extract (header row, UTF-8, optional BOM) into raw string rows. */
export function readCldCsv(text: string): CsvRow[] {
  const records = parse(text, { columns: true, bom: true, skip_empty_lines: true, trim: true, info: true, relax_column_count: false }) as {
    record: Record<string, string>;
    info: { lines: number };
  }[];
  return records.map(({ record, info }) => ({ rowNumber: info.lines, raw: record }));
}

function mapping(): CompiledMapping {
  return loadMappingById(CLD_MAPPING_ID);
}

function mappingVars(vars: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!vars) return undefined;
  const { idSystemBase, laName } = vars;
  return { idSystemBase, laName };
}

/** Map one grouped person input (see group.ts) to a validated transaction Bundle. */
export function mapCldPerson(input: CldPersonInput, vars?: Record<string, unknown>): CldBundleResult {
  const result = runMapping(mapping(), jsonInput(input, mappingVars(vars)));
  return { bundle: result.output as Bundle, issues: result.issues };
}

/** One person's rows (raw or normalised; validated by the caller) → a validated transaction Bundle. */
export function mapCldRows(rows: readonly Record<string, unknown>[], vars?: Record<string, unknown>): CldBundleResult {
  const normalised = rows.map((r) => normaliseCldRecord(r));
  const asOf = typeof vars?.asOf === 'string' ? vars.asOf : undefined;
  let input: CldPersonInput;
  try {
    input = toCldPersonInput(normalised, { asOf });
  } catch (e) {
    throw new MappingError(`CLD rows could not be grouped: ${(e as Error).message} (group rows by LA_Person_Unique_Identifier)`);
  }
  return mapCldPerson(input, vars);
}

/** A record mapper for channels' record intake: one group of rows (one person) → the Bundle. */
export function cldRecordMapper(group: { key: string; rows: Record<string, unknown>[] }, vars: Record<string, unknown>): Bundle {
  return mapCldRows(group.rows, vars).bundle;
}
