// Conditions (`$when`) and declarative filters (`$where`): evaluated by Tramline, never by a
// JavaScript expression written in the mapping.
import { text } from '../functions/types.js';
import { compileHl7ItemKey, type Hl7Level } from './hl7-path.js';
import { compileJsonItemKey } from './json-path.js';
import type { ExpressionCompiler, RunContext, Scope } from './compiled.js';
import { isEmpty } from './values.js';
import { LOGIC_KEYS as LOGIC_KEY_LIST, TEST_KEYS as TEST_KEY_LIST, VALUE_SOURCES } from './keywords.js';
import { isMap, isScalar, isSeq, mapEntries, resolve, seqItems } from './source.js';

export type Predicate = (ctx: RunContext) => boolean;

export const TEST_KEYS = new Set<string>(TEST_KEY_LIST);
const LOGIC_KEYS = new Set<string>(LOGIC_KEY_LIST);

function truthy(v: unknown): boolean {
  return !isEmpty(v) && v !== false;
}

/** `$when` conditions: a value (truthy), a value with a test, or $and/$or/$not. */
export function compileCondition(c: ExpressionCompiler, raw: unknown, target: string, scope: Scope): Predicate {
  const node = resolve(c.src, raw);
  if (isScalar(node) && typeof node.value === 'boolean') {
    const b = node.value;
    return () => b;
  }
  if (!isMap(node)) c.fail(node, target, 'a condition is a value expression, optionally with $eq/$ne/$in/$notIn/$startsWith/$exists, or $and/$or/$not');
  const entries = mapEntries(c.src, node);
  const logic = entries.find(([k]) => LOGIC_KEYS.has(k));
  if (logic && entries.length > 1) c.fail(node, target, `${logic[0]} stands alone in its condition: nest the others in it`);
  if (logic) {
    const [k, v] = entries[0];
    if (k === '$not') {
      const inner = compileCondition(c, v, target, scope);
      return (ctx) => !inner(ctx);
    }
    const parts = seqItems(c.src, v).map((n, i) => compileCondition(c, n, `${target}.${k}[${i}]`, scope));
    if (!parts.length) c.fail(v, target, `${k} needs a list of conditions`);
    return k === '$and' ? allOf(parts) : anyOf(parts);
  }
  if (entries.length === 1 && entries[0][0] === '$use') {
    // A named template used as a condition: true when it gives a value.
    const included = c.node(node, target, scope).run;
    return (ctx) => truthy(included(ctx));
  }
  const tests = entries.filter(([k]) => TEST_KEYS.has(k));
  if (tests.length > 1) c.fail(node, target, 'a condition takes at most one test');
  const valueEntries = entries.filter(([k]) => !TEST_KEYS.has(k));
  if (tests.length && !valueEntries.some(([k]) => (VALUE_SOURCES as readonly string[]).includes(k))) {
    c.fail(node, target, `${tests[0][0]} tests a value: write it beside one of ${VALUE_SOURCES.join(', ')}`);
  }
  const value = c.value(valueEntries, node, target, scope, false, true);
  const run = value.run;
  if (!tests.length) return (ctx) => truthy(run(ctx));
  const [op, argNode] = tests[0];
  const test = compileTest(c, op, argNode, target);
  return (ctx) => test(run(ctx));
}

function compileTest(c: ExpressionCompiler, op: string, argNode: unknown, target: string): (v: unknown) => boolean {
  const arg = c.js(argNode);
  const str = (v: unknown) => (v === undefined || v === null ? undefined : (text(v) ?? (typeof v === 'boolean' ? String(v) : undefined)));
  switch (op) {
    case '$eq': {
      const want = String(arg);
      return (v) => str(v) === want;
    }
    case '$ne': {
      const other = String(arg);
      return (v) => str(v) !== other;
    }
    case '$in':
    case '$notIn': {
      if (!Array.isArray(arg)) c.fail(argNode, target, `${op} needs a list`);
      const set = new Set(arg.map(String));
      return op === '$in' ? (v) => set.has(str(v) ?? '\0') : (v) => !set.has(str(v) ?? '\0');
    }
    case '$startsWith': {
      const prefix = String(arg);
      return (v) => (str(v) ?? '').startsWith(prefix);
    }
    default: {
      if (typeof arg !== 'boolean') c.fail(argNode, target, '$exists needs true or false');
      return (v) => !isEmpty(v) === arg;
    }
  }
}

/** Declarative `$where` filters on loop items / path matches. */
export function compileWhere(c: ExpressionCompiler, raw: unknown, target: string, level: Hl7Level): (item: unknown) => boolean {
  const node = resolve(c.src, raw);
  if (!isMap(node)) c.fail(node, target, "$where is a mapping such as { 'CX.5': NH }");
  const preds: ((item: unknown) => boolean)[] = [];
  for (const [key, valueNode, pair] of mapEntries(c.src, node)) {
    if (key === '$and' || key === '$or') {
      const parts = seqItems(c.src, valueNode).map((n, i) => compileWhere(c, n, `${target}.${key}[${i}]`, level));
      preds.push(key === '$and' ? allOf(parts) : anyOf(parts));
      continue;
    }
    if (key === '$not') {
      const inner = compileWhere(c, valueNode, `${target}.$not`, level);
      preds.push((item) => !inner(item));
      continue;
    }
    let read: (item: unknown) => string;
    try {
      read = c.input === 'hl7v2' ? compileHl7ItemKey(key, level) : compileJsonItemKey(key);
    } catch (e) {
      c.fail((pair as { key?: unknown }).key, target, (e as Error).message);
    }
    const v = resolve(c.src, valueNode);
    if (isMap(v)) {
      const ops = mapEntries(c.src, v);
      for (const [op, argNode] of ops) {
        if (!TEST_KEYS.has(op)) c.fail(argNode, target, `unknown test "${op}" (use ${[...TEST_KEYS].join(', ')})`);
        const test = compileTest(c, op, argNode, target);
        preds.push((item) => test(read(item) || undefined));
      }
    } else if (isSeq(v)) {
      const set = new Set((c.js(v) as unknown[]).map(String));
      preds.push((item) => set.has(read(item)));
    } else {
      const want = String(c.js(v));
      preds.push((item) => read(item) === want);
    }
  }
  return allOf(preds);
}

// Loops rather than every()/some(), which would allocate a callback per evaluation.
// One predicate is itself: no call around it.
function allOf<T>(preds: ((x: T) => boolean)[]): (x: T) => boolean {
  if (preds.length === 1) return preds[0];
  return (x) => {
    for (let i = 0; i < preds.length; i++) if (!preds[i](x)) return false;
    return true;
  };
}

function anyOf<T>(preds: ((x: T) => boolean)[]): (x: T) => boolean {
  if (preds.length === 1) return preds[0];
  return (x) => {
    for (let i = 0; i < preds.length; i++) if (preds[i](x)) return true;
    return false;
  };
}
