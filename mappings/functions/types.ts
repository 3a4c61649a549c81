// The shape of a named mapping function: its spec (core/component.ts: name, description,
// arguments, result, examples; docs/components.md is made from it) and its implementation.
// Arguments are constants written in the mapping, checked once when the mapping is compiled
// (against the spec's `args`, then by `bind`); the returned closure runs per value.
import { Type } from '@sinclair/typebox';
import type { FunctionSpec } from '../../core/component.js';
import type { CodeMap } from './codemap-store.js';

export { Args } from '../../core/component.js';

export interface BindEnv {
  /** Look up a code map by name (mappings/codemaps/<name>.yaml); throws when unknown. */
  codemap(name: string): CodeMap;
}

/** An example run: `input` with `args` gives `output` (deep equality; omit with `error` for undefined) or an InvalidValueError with `error` in its message. */
export type FunctionExample = FunctionSpec['examples'][number];

export interface MappingFunction extends FunctionSpec {
  bind(args: unknown[], env: BindEnv): (value: unknown) => unknown;
}

/** A text argument (numbers are taken as their text). */
export function TextArg(title: string, description: string) {
  return Type.Unsafe<string | number>({ type: ['string', 'number'], title, description });
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
