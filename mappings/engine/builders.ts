// Builders specialised per template node shape. A closure shared by every node of a kind
// (e.g. `out[keys[i]] = v` in a loop over children) stores with computed keys, which V8
// handles megamorphically for the whole mapping. A small function per shape, made here,
// writes its keys by name, so each store meets one object shape.
//
// Nodes of the same shape (same keys and flags) share one function: the ADT mapping's 288
// object and list nodes need 49. One function per node (tried: it lets V8 inline each
// node's children) multiplies the generated code six times; next to the FHIR validators'
// code in parse + map + validate that measured ~5% slower, and warmed up more slowly.
//
// Only Tramline's own code and property names (as JSON string literals) reach the generated
// source; every value and child function is passed in as an argument. Nothing a mapping
// file says is ever run as code.
import { isEmpty } from './values.js';
import type { RunContext, ValueCheck } from './compiled.js';
import { append } from './lists.js';

type Run = (ctx: RunContext) => unknown;

type Factory = (...values: unknown[]) => unknown;

/** Compiled factories by source: nodes of one shape share one. */
const factories = new Map<string, Factory>();

/** The function `body` returns, given `args` by name (compiled once per distinct source). */
function specialised<T>(args: Record<string, unknown>, body: string[]): T {
  const names = Object.keys(args);
  const source = body.join('\n');
  const key = `${names.join(',')}\n${source}`;
  let make = factories.get(key);
  if (!make) {
    make = new Function(...names, source) as Factory;
    factories.set(key, make);
  }
  return make(...names.map((n) => args[n])) as T;
}

/** Named child functions r0, r1, … for a generated body. */
function children(runs: readonly unknown[]): Record<string, unknown> {
  return Object.fromEntries(runs.map((run, i) => [`r${i}`, run]));
}

/**
 * The statement running child i's planned output check on `v` (see OutputPlanner), and the
 * argument it reads (p<i>, a pattern tested inline, or c<i>, the check): empty without one.
 */
function checkStatement(check: ValueCheck | undefined, i: number, args: Record<string, unknown>): string[] {
  if (check === undefined) return [];
  if (check.stringPattern !== undefined) {
    args[`p${i}`] = check.stringPattern;
    return [`  if (plan !== undefined && (typeof v !== 'string' || !p${i}.test(v))) plan.ok = false;`];
  }
  args[`c${i}`] = check;
  return [`  if (plan !== undefined && !c${i}(v, plan.references)) plan.ok = false;`];
}

export interface ObjectField {
  key: string;
  run: Run;
  /** The child gives undefined or a non-empty value, never '', [] or {}. */
  clean: boolean;
  /** The child depends on the input (not a constant). */
  dynamic: boolean;
  /** The planned check of the child's value, run when it is written. */
  check?: ValueCheck;
}

/** What a planned object checks of itself once built (see OutputPlanner): keys it must have, a Reference to collect. */
export interface ObjectChecks {
  required: readonly string[];
  collectsReference: boolean;
}

/**
 * Builds the object: fields whose value is empty are left out, and the object itself is
 * undefined when nothing is set, or when `dynamic` and only constants are set
 * (`{system: X, value: <missing>}` makes no element). `own`: the object's own planned checks,
 * run once it is built.
 */
export function objectBuilder(fields: readonly ObjectField[], dynamic: boolean, own?: ObjectChecks): Run {
  const args: Record<string, unknown> = {};
  const ownChecks = own !== undefined && (own.required.length > 0 || own.collectsReference);
  const checked = ownChecks || fields.some((f) => f.check !== undefined);
  const body = ['return function buildObject(ctx) {', 'let v;', 'const out = {};', 'let any = false;', 'let anyDynamic = false;'];
  if (checked) body.push('const plan = ctx.plan;');
  fields.forEach((f, i) => {
    body.push(`v = r${i}(ctx);`, f.clean ? 'if (v !== undefined) {' : 'if (!isEmpty(v)) {');
    body.push(...checkStatement(f.check, i, args));
    body.push(`  out[${JSON.stringify(f.key)}] = v;`, '  any = true;');
    if (f.dynamic) body.push('  anyDynamic = true;');
    body.push('}');
  });
  body.push(dynamic ? 'if (!any || !anyDynamic) return undefined;' : 'if (!any) return undefined;');
  if (ownChecks) {
    body.push('if (plan !== undefined) {');
    for (const key of own.required) body.push(`  if (out[${JSON.stringify(key)}] === undefined) plan.ok = false;`);
    if (own.collectsReference) body.push('  if (typeof out.reference === "string") plan.references.push(out.reference);');
    body.push('}');
  }
  body.push('return out;', '};');
  return specialised({ isEmpty, ...children(fields.map((f) => f.run)), ...args }, body);
}

export interface ListPart {
  run: Run;
  clean: boolean;
  /** The part gives a list whose items join this one ($forEach, $items). */
  spread: boolean;
  /** The planned check of the part's value (before a spread part's items join), run when it is added. */
  check?: ValueCheck;
}

/**
 * Builds a list from its parts, leaving out empty values; undefined when none is left.
 * `finish` (e.g. removing duplicates) sees the list before it is returned.
 */
export function listBuilder(parts: readonly ListPart[], finish?: (list: unknown[]) => unknown[]): Run {
  const args: Record<string, unknown> = {};
  const body = ['return function buildList(ctx) {', 'let v;', 'let out;'];
  if (parts.some((p) => p.check !== undefined)) body.push('const plan = ctx.plan;');
  parts.forEach((p, i) => {
    body.push(`v = r${i}(ctx);`, p.clean ? 'if (v !== undefined) {' : 'if (!isEmpty(v)) {');
    body.push(...checkStatement(p.check, i, args));
    if (p.spread) {
      body.push('  if (Array.isArray(v)) {', '    for (let j = 0; j < v.length; j++) if (!isEmpty(v[j])) out = append(out, v[j]);', '  } else out = append(out, v);');
    } else body.push('  out = append(out, v);');
    body.push('}');
  });
  body.push('if (out === undefined) return undefined;', finish ? 'return finish(out);' : 'return out;', '};');
  return specialised({ isEmpty, append, finish, ...children(parts.map((p) => p.run)), ...args }, body);
}

/** What wraps a node's value (see wrappedRunner); each part is optional. */
export interface Wrapping {
  /** `$fn`: each step runs on the result; the pipeline stops at the first empty value. */
  steps?: readonly ((v: unknown) => unknown)[];
  /** A step's throw goes here (with `steps`). */
  failed?: (ctx: RunContext, e: unknown) => unknown;
  /** `$default`: the value used when the one read (and piped) is empty. */
  fallback?: Run;
  /** `$warn`: called when the value is not empty. */
  warn?: (ctx: RunContext) => void;
  /** `$required`: throws (called when the value is empty). */
  missing?: () => never;
  /** `$when`: nothing is read when it does not hold. */
  when?: (ctx: RunContext) => boolean;
}

/**
 * A node's value with its wrapping in one generated function per shape: `$when`, then the
 * read, the `$fn` steps, `$default`, `$warn` and `$required`, in that order. The same steps
 * as nested closures (one per option) cost a call each for every value of every message.
 * `read` itself is returned when nothing wraps it.
 */
export function wrappedRunner(read: Run, w: Wrapping): Run {
  const { steps, failed, fallback, warn, missing, when } = w;
  if (!steps && !fallback && !warn && !missing && !when) return read;
  const body = ['return function runValue(ctx) {'];
  if (when) body.push('if (!when(ctx)) return undefined;');
  body.push('let v = read(ctx);');
  if (steps) {
    body.push('pipe: {', '  if (isEmpty(v)) {', '    v = undefined;', '    break pipe;', '  }', '  try {');
    steps.forEach((_, i) => body.push(`    v = r${i}(v);`, '    if (isEmpty(v)) {', '      v = undefined;', '      break pipe;', '    }'));
    body.push('  } catch (e) {', '    v = failed(ctx, e);', '  }', '}');
  }
  if (fallback) body.push('if (isEmpty(v)) v = fallback(ctx);');
  if (warn) body.push('if (!isEmpty(v)) warn(ctx);');
  if (missing) body.push('if (isEmpty(v)) missing();');
  body.push('return v;', '};');
  return specialised({ isEmpty, read, failed, fallback, warn, missing, when, ...children(steps ?? []) }, body);
}

/**
 * A function returning a fresh deep copy of `value`, a constant (a `$const` object, a code
 * map's coding): outputs must never share, and so never corrupt, one object. JSON-shaped
 * objects get a generated object literal per shape (keys as JSON string literals, leaves and
 * nested copiers passed in as arguments), ~10× cheaper than JSON.parse of the constant's text
 * and than a generic copy loop. Anything else (a non-finite number, an own `__proto__` key,
 * which a literal would read as the prototype) is copied through JSON, as before.
 */
export function constantCopier(value: unknown): () => unknown {
  if (value === null || typeof value !== 'object') return () => value;
  if (!literalSafe(value)) {
    const json = JSON.stringify(value);
    return () => JSON.parse(json) as unknown;
  }
  return copierOf(value);
}

function literalSafe(v: unknown): boolean {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v) && !Object.is(v, -0);
  if (Array.isArray(v)) return v.every(literalSafe);
  if (typeof v !== 'object' || Object.getPrototypeOf(v) !== Object.prototype) return false;
  return Object.keys(v).every((k) => k !== '__proto__' && literalSafe((v as Record<string, unknown>)[k]));
}

/** The copier of a literal-safe value (see constantCopier). */
function copierOf(v: object): () => unknown {
  const args: Record<string, unknown> = {};
  const part = (x: unknown, i: number): string => {
    if (x !== null && typeof x === 'object') {
      args[`c${i}`] = copierOf(x);
      return `c${i}()`;
    }
    args[`v${i}`] = x;
    return `v${i}`;
  };
  let literal: string;
  if (Array.isArray(v)) literal = `[${v.map((x, i) => part(x, i)).join(', ')}]`;
  else literal = `{${Object.entries(v).map(([k, x], i) => `${JSON.stringify(k)}: ${part(x, i)}`).join(', ')}}`;
  return specialised(args, [`return function copyConstant() { return ${literal}; };`]);
}
