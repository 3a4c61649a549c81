// A component's spec: one TypeScript object per source, destination, record format and mapping
// function, from which the channel JSON Schema, the config types, `tramline validate`'s messages
// and docs/components.md are all made (channels/components.ts lists them; `npm run generate`
// writes the files). Config schemas are TypeBox schemas, which are JSON Schema as they stand.
import { Type, type Static, type TArray, type TLiteral, type TObject, type TOptional, type TProperties, type TSchema, type TUnsafe } from '@sinclair/typebox';

export type ComponentKind = 'source' | 'destination' | 'record-format';

export interface ComponentExample {
  /** What the example shows, e.g. "Bearer token from the environment". */
  title: string;
  /** The component's block as written in a channel file (validated by the tests). */
  config: Record<string, unknown>;
}

/** A source, destination or record format: the `type` a channel file names and its settings. */
export interface ComponentSpec<T extends string = string, C extends TSchema = TSchema> {
  kind: ComponentKind;
  /** The value of `type:` in a channel file (for record formats, of `pipeline.recordFormat`). */
  type: T;
  /** One line: the first line of its reference section and its description in the JSON Schema. */
  summary: string;
  /** Markdown for the reference page: what it does and how it fails. */
  description: string;
  /** Its settings: an object schema, `type` included (record formats have no others). */
  config: C;
  examples: ComponentExample[];
}

/** A spec from its fields: `config` is an object of `type: <its type>` and those fields, nothing else allowed. */
export function component<T extends string, P extends TProperties>(
  spec: Omit<ComponentSpec<T>, 'config'> & { fields: P },
): ComponentSpec<T, TObject<{ type: TLiteral<T> } & P>> {
  const { fields, ...rest } = spec;
  const config = Type.Object({ type: Type.Literal(spec.type), ...fields }, { additionalProperties: false });
  return { ...rest, config: config as TObject<{ type: TLiteral<T> } & P> };
}

/** A mapping function's documented interface (mappings/functions/*; the compiler checks arguments against `args`). */
export interface FunctionSpec {
  name: string;
  /** One line: what it does. */
  description: string;
  /** How to write it in `$fn`, when it takes arguments, e.g. `{ codemap: hl7-0001-gender }`. */
  usage?: string;
  /** The argument list (made with `Args`): checked when a mapping is compiled. */
  args: TSchema;
  /** What it gives back, in a few words. */
  returns: string;
  examples: { input: unknown; args?: unknown[]; output?: unknown; error?: string }[];
}

/**
 * An argument list: `required` then `optional` arguments, each schema with a `title` (its name
 * in the reference). An empty list means the function takes no arguments.
 */
export function Args(required: TSchema[], optional: TSchema[] = []): TSchema {
  const items = [...required, ...optional];
  return Type.Unsafe<unknown[]>({ type: 'array', ...(items.length ? { items } : {}), minItems: required.length, maxItems: items.length });
}

// Marks a property the schema fills with its default: optional in the file, present after loading.
declare const DEFAULTED: unique symbol;
export type TDefaulted<T extends TSchema = TSchema> = TOptional<T> & { readonly [DEFAULTED]: true };

/** An optional field with a default (ajv's useDefaults fills it in when a file leaves it out). */
export function withDefault<T extends TSchema>(schema: T, value: Static<T>): TDefaulted<T> {
  return Type.Optional({ ...schema, default: value } as T) as TDefaulted<T>;
}

// Carries the variants' schemas in the type, so that Settings<> sees their defaults.
declare const VARIANTS: unique symbol;
export type TDiscriminated<V extends TSchema[] = TSchema[], S extends TProperties = TProperties> = TUnsafe<unknown> & {
  readonly [VARIANTS]: { variants: V; shared: S };
};

/**
 * Objects told apart by their `type`, written as JSON Schema `if/then` blocks (one per type)
 * rather than `anyOf`: a mistake is then reported against the one block the `type` selects
 * (`missing required field "url"`, `unknown field "colour"`), not as "matches no schema".
 * `shared` fields are allowed in every variant.
 */
export function Discriminated<V extends TSchema[], S extends TProperties = Record<never, never>>(
  variants: [...V],
  options: { shared?: S; sharedRequired?: (keyof S & string)[]; variantDescriptions?: (string | undefined)[]; description?: string } = {},
): TDiscriminated<V, S> {
  const shared = (options.shared ?? {}) as TProperties;
  const tagOf = (v: TSchema) => (v.properties.type as unknown as { const: string }).const;
  const schema = {
    type: 'object',
    ...(options.description ? { description: options.description } : {}),
    required: ['type', ...(options.sharedRequired ?? [])],
    properties: { type: { enum: (variants as unknown as TObject[]).map(tagOf) }, ...shared },
    allOf: (variants as unknown as TObject[]).map((v, i) => {
      const own = Object.fromEntries(Object.entries(v.properties).filter(([k]) => k !== 'type'));
      const required = (v.required ?? []).filter((k) => k !== 'type');
      const description = options.variantDescriptions?.[i];
      return {
        if: { properties: { type: { const: tagOf(v) } } },
        then: {
          additionalProperties: false,
          ...(description ? { description } : {}),
          properties: { ...own, ...Object.fromEntries(Object.keys(shared).map((k) => [k, true])), type: true },
          ...(required.length ? { required } : {}),
          // Any other keywords of the variant (e.g. `dependencies`, `oneOf`) still apply.
          ...Object.fromEntries(Object.entries(v).filter(([k]) => !['type', 'properties', 'required', 'additionalProperties', 'description'].includes(k))),
        },
      };
    }),
  };
  return Type.Unsafe(schema) as unknown as TDiscriminated<V, S>;
}

type Evaluate<T> = { [K in keyof T]: T[K] } & {};
type PresentKeys<P extends TProperties> = { [K in keyof P]: P[K] extends TDefaulted ? K : P[K] extends TOptional<TSchema> ? never : K }[keyof P];
type ResolvedObject<P extends TProperties> = Evaluate<
  { [K in PresentKeys<P>]: Settings<P[K]> } & { [K in Exclude<keyof P, PresentKeys<P>>]?: Settings<P[K]> }
>;

/**
 * The TypeScript type of a schema's data once loaded: like TypeBox's `Static`, except that a
 * field with a default (`withDefault`) is always present, and `Discriminated` gives the union
 * of its variants.
 */
export type Settings<T extends TSchema> =
  T extends TDiscriminated<infer V, infer S>
    ? { [I in keyof V]: V[I] extends TObject<infer P> ? ResolvedObject<S & P> : never }[number]
    : T extends TObject<infer P>
      ? ResolvedObject<P>
      : T extends TArray<infer I>
        ? Settings<I>[]
        : Static<T>;

/** A component's settings as its implementation receives them (defaults applied). */
export type ConfigOf<S extends ComponentSpec> = Settings<S['config']>;

/** One of a few strings (JSON Schema `enum`, so a mistake lists the allowed values). */
export function Choice<const V extends readonly string[]>(values: V, options: { description?: string } = {}): TUnsafe<V[number]> {
  return Type.Unsafe<V[number]>({ enum: [...values], ...options });
}

/** The name of an environment variable that holds a secret (secrets never sit in channel files). */
export function EnvVarName(description: string) {
  return Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$', description });
}
