// The mapping language's keywords, where each may be written. The compiler checks nodes
// against these sets, and `npm run generate` writes the schema's list of allowed `$` keys
// (schemas/mapping.schema.json, `definitions.node.propertyNames`) from ALL_KEYWORDS, so a
// keyword is added here once.

/** Where a value comes from: a value expression has exactly one. */
export const VALUE_SOURCES = ['$path', '$var', '$const', '$first', '$list', '$template'] as const;

/** What a value expression may add to its source. */
export const VALUE_OPTIONS = ['$where', '$many', '$fn', '$default', '$required', '$onInvalid', '$warn', '$when'] as const;

/** One test on a value, in a condition (`$when`, or a condition written as a value). */
export const TEST_KEYS = ['$eq', '$ne', '$in', '$notIn', '$startsWith', '$exists'] as const;

/** Conditions made of conditions; each stands alone in its object. */
export const LOGIC_KEYS = ['$and', '$or', '$not'] as const;

export const FOREACH_KEYS = ['$forEach', '$as', '$let', '$where', '$do', '$when', '$distinctBy'] as const;
export const ITEMS_KEYS = ['$items', '$when', '$distinctBy'] as const;
export const USE_KEYS = ['$use', '$with', '$let', '$when', '$required'] as const;
/** `$` keys of a literal object (e.g. a bundle entry with `$upsert`). */
export const OBJECT_KEYS = ['$when', '$required', '$upsert'] as const;

/** The fields of `$upsert` (plain names: they are its arguments, not output). */
export const UPSERT_FIELDS = ['type', 'system', 'value', 'ifExists'] as const;
/** `$upsert`'s `ifExists`: `update` (PUT, the default) or `keep` (POST with ifNoneExist). */
export const UPSERT_IF_EXISTS = ['update', 'keep'] as const;

/** Every `$` key a mapping may write, in a stable order. */
export const ALL_KEYWORDS: readonly string[] = [
  ...new Set<string>([
    ...VALUE_SOURCES,
    ...VALUE_OPTIONS,
    ...FOREACH_KEYS,
    ...ITEMS_KEYS,
    ...USE_KEYS,
    ...TEST_KEYS,
    ...LOGIC_KEYS,
    ...OBJECT_KEYS,
  ]),
];

/** The schema's `propertyNames` pattern: any key not starting with `$`, or a keyword. */
export function keywordPattern(): string {
  return `^(?:[^$].*|\\$(?:${ALL_KEYWORDS.map((k) => k.slice(1)).join('|')}))$`;
}
