// Record-shaped input (CSV/JSON-lines rows, JSON posts, database rows): normalise, validate
// against the channel's record schema, apply exclusion rules, and group. Pure: no I/O.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { ExclusionRule } from './definition.js';
import type { RecordProblem, RecordRow } from '../core/records.js';

const validators = new Map<string, ValidateFunction>();

/** Compile a record schema once per path (ajv with formats; CSV strings coerced to the schema's types). */
export function recordValidator(schemaPath: string, root = process.cwd()): ValidateFunction {
  const file = path.resolve(root, schemaPath);
  let v = validators.get(file);
  if (!v) {
    const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    v = ajv.compile(JSON.parse(readFileSync(file, 'utf8')));
    validators.set(file, v);
  }
  return v;
}

/** Trim strings and drop empty values: a blank CSV cell means "not given". */
export function normaliseRow(row: RecordRow): RecordRow {
  const out: RecordRow = {};
  for (const [k, v] of Object.entries(row)) {
    const value = typeof v === 'string' ? v.trim() : v;
    if (value === '' || value === null || value === undefined) continue;
    out[k.trim()] = value;
  }
  return out;
}

/** Validate one normalised row; problems name the field and say why (never echo the value). */
export function checkRow(validate: ValidateFunction | undefined, row: RecordRow, rowNumber: number): RecordProblem[] {
  if (!validate || validate(row)) return [];
  return (validate.errors ?? [])
    .filter((e) => e.keyword !== 'if')
    .map((e) => {
      const params = e.params as Record<string, unknown>;
      const field =
        e.keyword === 'required'
          ? String(params.missingProperty)
          : e.keyword === 'additionalProperties'
            ? String(params.additionalProperty)
            : e.instancePath.slice(1).replace(/\//g, '.') || '(record)';
      const reason =
        e.keyword === 'required'
          ? 'is required'
          : e.keyword === 'enum'
            ? `must be one of: ${(params.allowedValues as unknown[]).join('; ')}`
            : e.keyword === 'additionalProperties'
              ? 'is not a known field'
              : (e.message ?? e.keyword);
      return { row: rowNumber, field, reason };
    });
}

/** The first exclusion rule a row matches, by name (or field), else undefined. */
export function exclusionOf(rules: ExclusionRule[] | undefined, row: RecordRow): string | undefined {
  for (const rule of rules ?? []) {
    const value = row[rule.field];
    if (value === undefined) continue;
    const hit = rule.in ? rule.in.some((v) => String(v).toLowerCase() === String(value).toLowerCase()) : true;
    if (hit) return rule.name ?? rule.field;
  }
  return undefined;
}
