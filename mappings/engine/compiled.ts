// Shapes the mapping compiler (compile.ts) shares with its helper modules (conditions.ts,
// builders.ts, load.ts). They live here, not in compile.ts, so the helpers need not import
// the compiler that imports them.
import type { Hl7Level } from './hl7-path.js';
import type { SegmentSource } from './hl7-input.js';
import type { Source } from './describe.js';
import type { SourceFile } from './source.js';
import type { InputKind, MappingIssue } from './types.js';

export interface RunContext {
  hl7?: SegmentSource;
  data?: unknown;
  slots: unknown[];
  issues: MappingIssue[];
  /** The planned output checks' state, when the mapping has them (see OutputPlanner). */
  plan?: PlanState;
}

/** What a run's planned output checks found. */
export interface PlanState {
  /** False once a value failed its check, or landed where nothing was planned. */
  ok: boolean;
  /** Every Reference.reference written inside a resource (for the bundle's own checks). */
  references: string[];
}

/** A place in the output as an output check sees it (opaque to the compiler). */
export interface OutputAt {
  readonly position: unknown;
  /** Inside a resource (not the Bundle around it): its References are collected. */
  readonly inResource: boolean;
}

/** What an output check says of an object written in the template. */
export interface PlannedObject {
  /** Where a key's value lands; undefined when the key is not allowed there. */
  child(key: string): OutputAt | undefined;
  /** Keys the object must have. */
  readonly required: readonly string[];
  /** The object is a Reference inside a resource: its `reference` is collected. */
  readonly collectsReference: boolean;
}

/**
 * An output check planned at load (validate/plan.ts): what is allowed where, so a run checks
 * only the values it computed. Every answer may be undefined (not planned): the compiler then
 * checks the whole value there, and a value no check can place makes the run "not proven".
 */
export interface OutputPlanner {
  /** Where the output object lands, from its constant resourceType. */
  outputAt(resourceType: string | undefined): OutputAt | undefined;
  /** An object written in the template at `at`, whose constant resourceType (if any) is given. */
  objectAt(at: OutputAt, resourceType: string | undefined): PlannedObject | undefined;
  /** Where a list's items land. */
  itemsAt(at: OutputAt): OutputAt | undefined;
  /** The check of a whole computed value at `at` (collecting References into the list given). */
  checkAt(at: OutputAt): ValueCheck;
}

export interface Compiled {
  run: (ctx: RunContext) => unknown;
  /** False for constants: an object whose every dynamic field is empty is left out. */
  dynamic: boolean;
  /** Gives undefined or a non-empty value, never '', [] or {}: readers skip isEmpty(). */
  clean?: boolean;
  /** A list whose items are spread into the enclosing array ($forEach, $items). */
  spread?: boolean;
  /** For HL7 values: what the value is, so `@.1` can be checked when it becomes a loop item. */
  level?: Hl7Level;
  /** The value is a list of matches ($many, $list), not one (possibly array-shaped) HL7 value. */
  isList?: boolean;
  /** The input it reads, for messages: `PV1-19.1`, `PV1-19.1 or PV1-50.1`, `$.person.id`. */
  source?: Source;
  /** The check of its value at its place in the output, left to the builder that writes it (see OutputPlanner). */
  check?: ValueCheck;
}

/** A planned check of one value; `references` receives the References met inside it. */
export interface ValueCheck {
  (value: unknown, references: string[] | undefined): boolean;
  /** Set when the check is exactly "a string matching this", so builders can test it inline. */
  readonly stringPattern?: RegExp;
}

export interface ItemBinding {
  slot: number;
  level: Hl7Level;
  /** What the loop goes over (`PV1-7`, `$.events[*]`), so `@` paths can be named in full. */
  source?: Source;
}

/** A name a mapping can read with `$var` or `${…}`. */
export interface Binding {
  slot: number;
  level?: Hl7Level;
  isList?: boolean;
  /** Holds a whole segment whose fields may still be text: parsed when read with `$var`. */
  lazySegment?: boolean;
  /** The input the value is read from (Compiled.source), for messages. */
  source?: Source;
}

export interface Scope {
  names: ReadonlyMap<string, Binding>;
  item?: ItemBinding;
  /** Segment id → slot of the segment being looped over (so `AL1-3` reads the current AL1). */
  segments: ReadonlyMap<string, number>;
}

/** What compiling a condition needs from the compiler (MappingCompiler implements it). */
export interface ExpressionCompiler {
  readonly src: SourceFile;
  readonly input: InputKind;
  fail(node: unknown, target: string, message: string): never;
  /** A fresh slot in the run context, for a value worked out once and read by several closures. */
  newSlot(): number;
  /** A YAML node as plain JavaScript. */
  js(node: unknown): unknown;
  /** Any template node; `at`: where its value lands in the output, when checks are planned. */
  node(raw: unknown, target: string, scope: Scope, at?: OutputAt): Compiled;
  /** A value expression (`$path`, `$var`, … with `$fn`, `$default`, …). */
  value(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, many?: boolean, tested?: boolean): Compiled;
}
