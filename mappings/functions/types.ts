// The shape of a named mapping function. Arguments are constants written in the mapping and
// are checked once when the mapping is compiled (`bind`); the returned closure runs per value.
import type { CodeMap } from './codemap-store.js';

export interface BindEnv {
  /** Look up a code map by name (mappings/codemaps/<name>.yaml); throws when unknown. */
  codemap(name: string): CodeMap;
}

export interface FunctionExample {
  input: unknown;
  args?: unknown[];
  /** Expected result (deep equality); omit together with `error` for undefined. */
  output?: unknown;
  /** Expected InvalidValueError message (substring). */
  error?: string;
}

export interface MappingFunction {
  name: string;
  /** One line for mappings/README.md and `tramline` help. */
  description: string;
  /** How to write the arguments in `$fn`, e.g. `{ codemap: hl7-0001-gender }`. */
  usage?: string;
  examples: FunctionExample[];
  bind(args: unknown[], env: BindEnv): (value: unknown) => unknown;
}

/** Text of a value read from a path: HL7 structures give their first leaf; '' is nothing. */
export function text(value: unknown): string | undefined {
  let v = value;
  while (Array.isArray(v)) v = v[0];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

export function noArgs(name: string, args: unknown[]): void {
  if (args.length) throw new Error(`function ${name} takes no arguments`);
}

export function stringArg(name: string, args: unknown[], index: number, optional = false): string {
  const v = args[index];
  if (v === undefined && optional) return '';
  if (typeof v !== 'string' && typeof v !== 'number') throw new Error(`function ${name}: argument ${index + 1} must be a string`);
  return String(v);
}
