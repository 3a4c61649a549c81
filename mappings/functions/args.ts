// Checks a `$fn` step's arguments against the function's spec (`args`, made with Args) when a
// mapping is compiled, and says what is wrong in the spec's own words: how many arguments the
// function takes and what each one is.
import { Ajv, type ValidateFunction } from 'ajv';
import type { FunctionSpec } from '../../core/component.js';

interface ArgSchema {
  title?: string;
  description?: string;
}

interface ArgsSchema {
  items?: ArgSchema[];
  minItems: number;
  maxItems: number;
}

const ajv = new Ajv({ allErrors: false, strict: false });
const validators = new WeakMap<FunctionSpec, ValidateFunction>();

function plural(n: number): string {
  return n === 1 ? '1 argument' : `${n} arguments`;
}

/** What the function takes, e.g. `1 argument (text)` or `1 or 2 arguments (name, unmapped)`. */
function takes(spec: ArgsSchema): string {
  const { minItems: min, maxItems: max, items = [] } = spec;
  if (max === 0) return 'no arguments';
  const count = min === max ? plural(max) : min === 0 ? `up to ${plural(max)}` : `${min} to ${max} arguments`;
  return `${count} (${items.map((a) => a.title ?? 'value').join(', ')})`;
}

/** Why `args` do not suit `fn`, or undefined when they do. */
export function argumentProblem(fn: FunctionSpec, args: unknown[]): string | undefined {
  let validate = validators.get(fn);
  if (!validate) {
    validate = ajv.compile(fn.args);
    validators.set(fn, validate);
  }
  const valid: boolean = validate(args);
  if (valid) return undefined;
  const spec = fn.args as unknown as ArgsSchema;
  if (args.length < spec.minItems || args.length > spec.maxItems) return `function ${fn.name} takes ${takes(spec)}, not ${args.length}`;
  const err = validate.errors?.[0];
  const index = Number(err?.instancePath.split('/')[1] ?? 0);
  const arg = spec.items?.[index] ?? {};
  const detail = err?.keyword === 'enum' ? `must be one of: ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}` : (err?.message ?? 'is not valid');
  return `function ${fn.name}: argument ${index + 1}${arg.title ? ` (${arg.title})` : ''} ${detail}${arg.description ? ` — ${arg.description}` : ''}`;
}
