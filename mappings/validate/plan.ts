// The FHIR R4 schema check planned when a mapping loads. A mapping's output objects are
// written in its template, so where each of them lands in a resource (Patient.identifier[],
// Identifier.system, …) is known before any message arrives. The planner answers, for each
// template node, what the schema says at that place: an object's allowed and required keys
// (checked once, at load, for the keys the template writes) and, for a value read from the
// message, the check of that value alone (a primitive's pattern, a datatype's generated
// validator). A run then checks only what it read, not the whole bundle again.
//
// Soundness: a run that passes its planned checks gives output the whole-resource check
// (fhir-schema.ts) would pass; anything the planner cannot place answers "not proven", and
// the output is then checked whole as before. test/unit/planned-validation.test.ts compares
// the two on every shipped case and its real-feed variants.
import type { OutputAt, OutputPlanner, PlannedObject, ValueCheck } from '../engine/compiled.js';
import { BUNDLE_SHELL, definitionValidator, fhirDefinitions, resourceValidator, validateCollecting } from './fhir-schema.js';

type Schema = Readonly<Record<string, unknown>>;

/** `resource` of a Bundle entry: validated against the definition its resourceType names. */
const ANY_RESOURCE: Schema = Object.freeze({ tramlineAnyResource: true });
const SHELL_ENTRY = `${BUNDLE_SHELL}_Entry`;
const REF = '#/definitions/';
const NEVER: ValueCheck = () => false;

/** Keys of a complex definition the planner understands (any other keyword: not planned). */
const OBJECT_KEYWORDS = new Set(['properties', 'additionalProperties', 'required', 'tramlineCollectReference']);
/** Keys of a primitive (a type and maybe a pattern). */
const PRIMITIVE_KEYWORDS = new Set(['type', 'pattern']);

function at(position: Schema, inResource: boolean): OutputAt {
  return { position, inResource };
}

/** The definition a position names, when the position is nothing but that `$ref`. */
function definitionName(position: Schema): string | undefined {
  const ref = position.$ref;
  return typeof ref === 'string' && ref.startsWith(REF) && Object.keys(position).length === 1 ? ref.slice(REF.length) : undefined;
}

/** The schema of an array position's items, when the position is nothing but an array of them. */
function arrayItems(position: Schema): Schema | undefined {
  const items = position.items;
  return position.type === 'array' && Object.keys(position).length === 2 && items !== null && typeof items === 'object' ? (items as Schema) : undefined;
}

function onlyKeys(schema: Schema, allowed: ReadonlySet<string>): boolean {
  for (const k in schema) if (!allowed.has(k)) return false;
  return true;
}

/**
 * A primitive's check, as ajv runs it with fhir-schema.ts's options: the type (`strict: false`
 * leaves numbers unchecked for NaN and infinity), then for strings the pattern as a plain
 * (non-unicode) regular expression. The test compares the two on awkward values.
 */
function primitiveCheck(schema: Schema): ValueCheck | undefined {
  if (!onlyKeys(schema, PRIMITIVE_KEYWORDS)) return undefined;
  const pattern = typeof schema.pattern === 'string' ? new RegExp(schema.pattern) : undefined;
  switch (schema.type) {
    case 'string':
      // The pattern is also handed to the builders, which test it inline (builders.ts).
      return pattern ? Object.assign((v: unknown) => typeof v === 'string' && pattern.test(v), { stringPattern: pattern }) : (v) => typeof v === 'string';
    case 'number':
      return (v) => typeof v === 'number';
    case 'integer':
      return (v) => typeof v === 'number' && !(v % 1) && !Number.isNaN(v);
    case 'boolean':
      return (v) => typeof v === 'boolean';
    default:
      return undefined;
  }
}

/** The check of a value at a position (a property's schema); NEVER when it cannot be planned. */
function checkOf(position: Schema): ValueCheck {
  if (position === ANY_RESOURCE) {
    return (v, references) => {
      const type = v !== null && typeof v === 'object' ? (v as { resourceType?: unknown }).resourceType : undefined;
      const validate = typeof type === 'string' ? resourceValidator(type) : undefined;
      return validate !== undefined && validateCollecting(validate, v, references);
    };
  }
  const name = definitionName(position);
  if (name !== undefined) {
    const definition = fhirDefinitions()[name];
    if (definition === undefined) return NEVER;
    const primitive = primitiveCheck(definition);
    if (primitive) return primitive;
    const validate = definitionValidator(name);
    if (!validate) return NEVER;
    return (v, references) => validateCollecting(validate, v, references);
  }
  const items = arrayItems(position);
  if (items !== undefined) {
    const item = checkOf(items);
    return (v, references) => {
      if (!Array.isArray(v)) return false;
      for (let i = 0; i < v.length; i++) if (!item(v[i], references)) return false;
      return true;
    };
  }
  if (Array.isArray(position.enum) && Object.keys(position).length === 1) {
    // FHIR's enums are strings: ajv compares them with ===.
    const allowed = position.enum as unknown[];
    return (v) => allowed.includes(v);
  }
  if ('const' in position && Object.keys(position).length === 1) {
    const value = position.const;
    return (v) => v === value;
  }
  return primitiveCheck(position) ?? NEVER;
}

/** The complex definition at a position, by name, when the planner understands its keywords. */
function objectDefinition(position: Schema): { name: string; definition: Schema } | undefined {
  const name = definitionName(position);
  if (name === undefined) return undefined;
  const definition = fhirDefinitions()[name];
  if (definition === undefined || definition.additionalProperties !== false || !onlyKeys(definition, OBJECT_KEYWORDS)) return undefined;
  return { name, definition };
}

const checks = new WeakMap<Schema, ValueCheck>();

/** The planner for mappings whose output is checked with the FHIR R4 schema. */
export const fhirR4Planner: OutputPlanner = {
  outputAt(resourceType) {
    if (resourceType === 'Bundle') return at({ $ref: `${REF}${BUNDLE_SHELL}` }, false);
    if (resourceType !== undefined && resourceValidator(resourceType) && fhirDefinitions()[resourceType]?.properties !== undefined) {
      return at({ $ref: `${REF}${resourceType}` }, true);
    }
    return undefined;
  },

  objectAt(where, resourceType): PlannedObject | undefined {
    let position = where.position as Schema;
    let inResource = where.inResource;
    if (position === ANY_RESOURCE) {
      // A resource in a Bundle entry: the definition its constant resourceType names.
      if (resourceType === undefined || !resourceValidator(resourceType)) return undefined;
      position = { $ref: `${REF}${resourceType}` };
      inResource = true;
    }
    const found = objectDefinition(position);
    if (!found) return undefined;
    const { name, definition } = found;
    const properties = definition.properties as Record<string, Schema>;
    const required = Array.isArray(definition.required) ? (definition.required as string[]) : [];
    return {
      child(key) {
        if (name === SHELL_ENTRY && key === 'resource') return at(ANY_RESOURCE, true);
        return Object.hasOwn(properties, key) ? at(properties[key], inResource) : undefined;
      },
      required,
      collectsReference: inResource && definition.tramlineCollectReference === true,
    };
  },

  itemsAt(where) {
    const items = arrayItems(where.position as Schema);
    return items === undefined ? undefined : at(items, where.inResource);
  },

  checkAt(where) {
    const position = where.position as Schema;
    let check = checks.get(position);
    if (!check) {
      check = checkOf(position);
      checks.set(position, check);
    }
    const planned = check;
    // References count only inside resources, as the whole check collects them (a string
    // pattern meets none).
    return where.inResource || planned.stringPattern !== undefined ? planned : (v) => planned(v, undefined);
  },
};
