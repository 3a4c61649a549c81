// One Adult Social Care Client Level Data (CLD) row: normalise what a CSV or JSON source gives,
// then check it against schemas/social-care/cld-record.schema.json (ajv, compiled once).
//
//   normaliseCldRecord(raw)  → a row the schema can judge (CSV strings → numbers, canonical spellings)
//   validateCldRecord(row)   → { ok, errors: { field, reason }[] }  — reasons never echo values
//   prepareCldRecord(raw)    → both, in order
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

export type CldRecord = Record<string, unknown>;

export interface CldFieldError {
  field: string;
  reason: string;
}

export interface CldValidation {
  ok: boolean;
  errors: CldFieldError[];
}

export const CLD_SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'social-care', 'cld-record.schema.json');

interface PropertySchema {
  type?: string;
  enum?: string[];
  anyOf?: { enum?: string[] }[];
  $ref?: string;
}

interface CldSchema {
  properties: Record<string, PropertySchema>;
  definitions: Record<string, PropertySchema>;
}

const schema = JSON.parse(readFileSync(CLD_SCHEMA_FILE, 'utf8')) as CldSchema;

function resolved(p: PropertySchema): PropertySchema {
  if (!p.$ref) return p;
  return schema.definitions[p.$ref.replace('#/definitions/', '')] ?? p;
}

// What the normaliser needs to know, read from the schema so the two never disagree.
const NUMBER_FIELDS = new Set<string>();
const DATE_FIELDS = new Set<string>();
const CANONICAL = new Map<string, Map<string, string>>();
const YES_NO_FIELDS = new Set<string>();

function key(text: string): string {
  return text.toLowerCase().replace(/\s+/g, ' ').trim();
}

for (const [name, raw] of Object.entries(schema.properties)) {
  const p = resolved(raw);
  if (p.type === 'number' || p.type === 'integer') NUMBER_FIELDS.add(name);
  if (raw.$ref === '#/definitions/isoDate') DATE_FIELDS.add(name);
  if (raw.$ref === '#/definitions/yesNo') YES_NO_FIELDS.add(name);
  const values = p.enum ?? p.anyOf?.flatMap((a) => a.enum ?? []);
  if (values?.length) CANONICAL.set(name, new Map(values.map((v) => [key(v), v])));
}

const YES_NO: Record<string, string> = { y: 'Yes', yes: 'Yes', true: 'Yes', '1': 'Yes', n: 'No', no: 'No', false: 'No', '0': 'No', unknown: 'Unknown', u: 'Unknown' };

/** `dd/mm/yyyy` (how UK case systems often export dates) → ISO; anything else unchanged. */
function isoDate(value: string): string {
  const m = /^(\d{1,2})\/(\d{1,2})\/(\d{4})$/.exec(value);
  if (!m) return value;
  return `${m[3]}-${m[2].padStart(2, '0')}-${m[1].padStart(2, '0')}`;
}

function parseNumber(value: string): number | string {
  const cleaned = value.replace(/^£/, '').replace(/,/g, '');
  if (!/^-?(\d+\.?\d*|\.\d+)$/.test(cleaned)) return value;
  return Number(cleaned);
}

/**
 * Make a raw row (CSV strings or JSON values) judgeable: trim names and text, drop empty
 * cells (a blank cell means "not given"), parse numbers where the schema wants numbers, accept
 * dd/mm/yyyy dates, NHS numbers with spaces, and value-list entries in any case/spacing
 * (mapped to the schema's spelling). Values it cannot make sense of are left for the
 * validator to report.
 */
export function normaliseCldRecord(raw: Record<string, unknown>): CldRecord {
  const out: CldRecord = {};
  for (const [rawName, rawValue] of Object.entries(raw)) {
    const name = rawName.trim();
    if (name === '' || rawValue === undefined || rawValue === null) continue;
    let value: unknown = typeof rawValue === 'string' ? rawValue.trim() : rawValue;
    if (value === '') continue;
    if (typeof value === 'string') {
      if (NUMBER_FIELDS.has(name)) value = parseNumber(value);
      else if (DATE_FIELDS.has(name)) value = isoDate(value);
      else if (name === 'NHS_Number') value = value.replace(/[\s-]/g, '');
      else if (name === 'Postcode' || name === 'LA_Code' || name === 'GP_Practice_Code') value = value.toUpperCase().replace(/\s+/g, name === 'Postcode' ? ' ' : '');
      else if (YES_NO_FIELDS.has(name)) value = YES_NO[key(value)] ?? value;
      else {
        const canonical = CANONICAL.get(name)?.get(key(value));
        if (canonical !== undefined) value = canonical;
      }
    } else if (typeof value === 'boolean' && YES_NO_FIELDS.has(name)) {
      value = value ? 'Yes' : 'No';
    }
    out[name] = value;
  }
  return out;
}

let compiled: ValidateFunction | undefined;

function validator(): ValidateFunction {
  if (!compiled) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    (addFormats as unknown as (a: Ajv) => void)(ajv);
    compiled = ajv.compile(schema);
  }
  return compiled;
}

function fieldOf(e: ErrorObject): string {
  if (e.keyword === 'required') return String((e.params as { missingProperty: string }).missingProperty);
  return e.instancePath.slice(1).replace(/\//g, '.') || '(record)';
}

function reasonOf(e: ErrorObject): string {
  const params = e.params as Record<string, unknown>;
  switch (e.keyword) {
    case 'required':
      return 'is required';
    case 'enum':
      return `must be one of: ${(params.allowedValues as unknown[]).join('; ')}`;
    case 'anyOf':
      return 'is not a value from the CLD value list';
    case 'format':
      return params.format === 'date' ? 'must be a real date written YYYY-MM-DD' : `must be a valid ${String(params.format)}`;
    case 'pattern':
      return e.instancePath === '/NHS_Number' ? 'must be 10 digits' : 'is not in the expected form';
    case 'type':
      return `must be a ${String(params.type)}`;
    default:
      return e.message ?? e.keyword;
  }
}

/** Checks JSON Schema cannot express: dates in order. */
function crossFieldErrors(row: CldRecord): CldFieldError[] {
  const errors: CldFieldError[] = [];
  const date = (f: string) => (typeof row[f] === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(row[f]) ? row[f] : undefined);
  const start = date('Event_Start_Date');
  const end = date('Event_End_Date');
  if (start && end && end < start) errors.push({ field: 'Event_End_Date', reason: 'is before Event_Start_Date' });
  const born = date('Date_of_Birth');
  const died = date('Date_of_Death');
  if (born && died && died < born) errors.push({ field: 'Date_of_Death', reason: 'is before Date_of_Birth' });
  if (born && start && start < born) errors.push({ field: 'Event_Start_Date', reason: 'is before Date_of_Birth' });
  return errors;
}

/** Validate one (normalised) CLD row. Each problem names the field and says why. */
export function validateCldRecord(row: unknown): CldValidation {
  if (row === null || typeof row !== 'object' || Array.isArray(row)) return { ok: false, errors: [{ field: '(record)', reason: 'must be an object of CLD fields' }] };
  const validate = validator();
  const errors: CldFieldError[] = [];
  if (!validate(row)) {
    const seen = new Set<string>();
    for (const e of validate.errors ?? []) {
      // `if` echoes its `then`; the branches of an anyOf are summarised by the anyOf error itself.
      if (e.keyword === 'if' || e.schemaPath.includes('/anyOf/')) continue;
      const err = { field: fieldOf(e), reason: reasonOf(e) };
      const id = `${err.field}\0${err.reason}`;
      if (!seen.has(id)) {
        seen.add(id);
        errors.push(err);
      }
    }
  }
  errors.push(...crossFieldErrors(row as CldRecord));
  return { ok: errors.length === 0, errors };
}

/** Normalise then validate: what a source calls for each raw row. */
export function prepareCldRecord(raw: Record<string, unknown>): { record: CldRecord } & CldValidation {
  const record = normaliseCldRecord(raw);
  return { record, ...validateCldRecord(record) };
}
