// Compiles a mapping's YAML nodes into closures. Every node becomes a function of a small
// run context (the input and an array of named slots), so running a mapping walks no YAML,
// parses no paths and looks nothing up by name.
import { MappingError } from '../../core/errors.js';
import { materializeSegment, type LazySegment } from '../../core/hl7/model.js';
import { argumentProblem } from '../functions/args.js';
import { getFunction } from '../functions/index.js';
import type { BindEnv } from '../functions/types.js';
import { text } from '../functions/types.js';
import { compileCondition, compileWhere, type Predicate } from './conditions.js';
import { isEmpty, PENDING } from './values.js';
import { constantCopier, listBuilder, objectBuilder, wrappedRunner } from './builders.js';
import { constantChecked, NEVER, NOT_ALLOWED, ownChecks, shapeCheck, withCheck } from './planned-checks.js';
import { compactStrings } from './compact-strings.js';
import { append } from './lists.js';
import type { Binding, Compiled, ExpressionCompiler, OutputAt, OutputPlanner, RunContext, Scope, ValueCheck } from './compiled.js';
import { parseHl7Path } from '../../core/hl7/path.js';
import { compileHl7FirstOfRun, compileHl7Path, compileHl7PathFirst, levelOf, type Hl7Level } from './hl7-path.js';
import { InvalidValueError } from './invalid-value.js';
import { checkJsonPath, compileJsonPath } from './json-path.js';
import { describePath, failurePlace, joinSources, jsonItems, type ResourceFrame, type Source } from './describe.js';
import { isMap, isScalar, isSeq, lineOf, mapEntries, resolve, seqItems, type SourceFile } from './source.js';
import type { InputKind } from './types.js';
import { FOREACH_KEYS, ITEMS_KEYS, LOGIC_KEYS, OBJECT_KEYS, TEST_KEYS, USE_KEYS, VALUE_OPTIONS, VALUE_SOURCES } from './keywords.js';
import { compileUpsert } from './upsert.js';

export { isEmpty, PENDING } from './values.js';

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const VALUE_KEYS = new Set<string>([...VALUE_SOURCES, ...VALUE_OPTIONS]);
const FOREACH = new Set<string>(FOREACH_KEYS);
const ITEMS = new Set<string>(ITEMS_KEYS);
const USE = new Set<string>(USE_KEYS);
const OBJECT = new Set<string>(OBJECT_KEYS);
/** Keys that make a node a condition written as a value (`isMerge: { $var: event, $in: [A34, A40] }`). */
const CONDITION_KEYS = new Set<string>([...TEST_KEYS, ...LOGIC_KEYS]);
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export class MappingCompiler implements ExpressionCompiler {
  slotCount = 0;
  private useDepth = 0;

  constructor(
    readonly src: SourceFile,
    readonly input: InputKind,
    private readonly templates: ReadonlyMap<string, unknown>,
    private readonly env: BindEnv,
    /** The output check planned at load, if the mapping's output is checked (validate/plan.ts). */
    private readonly planner?: OutputPlanner,
  ) {}

  newSlot(): number {
    return this.slotCount++;
  }

  /** Constant `resourceType` values met in the output, e.g. Patient, Encounter. */
  readonly resourceTypes = new Set<string>();

  /** Top-level `let` values computed on first read (slot → how to compute it). */
  readonly lazyLets = new Map<number, (ctx: RunContext) => unknown>();

  /** How to read a named slot: lazily computed `let` values fill themselves on first read. */
  reader(slot: number): (ctx: RunContext) => unknown {
    const compute = this.lazyLets.get(slot);
    if (!compute) return (ctx) => ctx.slots[slot];
    return (ctx) => {
      const v = ctx.slots[slot];
      if (v !== PENDING) return v;
      const computed = compute(ctx);
      ctx.slots[slot] = computed;
      return computed;
    };
  }

  /** Resources whose fields are being compiled, innermost last (see describe.ts outputName). */
  private readonly resources: ResourceFrame[] = [];

  fail(node: unknown, target: string, message: string): never {
    const line = lineOf(this.src, node);
    throw new MappingError(`${this.src.name}:${line ?? '?'}: ${target || '(mapping)'}: ${message}`, this.src.file, line, target);
  }

  /** Input and output of a value that fails at run time, named for its message. */
  private place(entries: [string, unknown, unknown][], source: Source | undefined, target: string): { from?: string; to: string } {
    const varNode = this.get(entries, '$var');
    const name = varNode === undefined ? undefined : this.js(varNode);
    return failurePlace(source, typeof name === 'string' ? name : undefined, target, this.resources);
  }

  js(node: unknown): unknown {
    const n = resolve(this.src, node) as { toJSON?: () => unknown } | null;
    if (n && typeof n === 'object' && 'toJSON' in n && typeof n.toJSON === 'function') return (n as { toJSON: () => unknown }).toJSON();
    return isScalar(n) ? n.value : n;
  }

  /**
   * Compile any template node: constant, list, object, value expression, loop or include.
   * `at`: where its value lands in the output, when the output's check is planned (only
   * output nodes have one; a `let` or a condition does not). `output`: the caller writes the
   * value as asOutput() makes it, so that is the value checked.
   */
  node(raw: unknown, target: string, scope: Scope, at?: OutputAt, output = false): Compiled {
    return withCheck(this.pending(raw, target, scope, at, output));
  }

  /**
   * node(), but a value's check at `at` may be left to the caller (`Compiled.check`): object and
   * list builders run it inline, as they write the value. Only object(), list(), items() and
   * use() (for its caller) call this, and each passes the check on to its builder.
   */
  private pending(raw: unknown, target: string, scope: Scope, at?: OutputAt, output = false): Compiled {
    const node = resolve(this.src, raw);
    if (at !== undefined && this.planner === undefined) at = undefined;
    if (isScalar(node) || node === null || node === undefined) {
      const v = isScalar(node) ? node.value : null;
      const value = v === null ? undefined : v;
      return constantChecked(this.planner, { run: () => value, dynamic: false, clean: !isEmpty(value) }, value, at);
    }
    if (isSeq(node)) return this.list(seqItems(this.src, node), target, scope, at);
    if (!isMap(node)) this.fail(node, target, 'unsupported YAML node');
    const entries = mapEntries(this.src, node);
    const keys = new Set(entries.map(([k]) => k));
    if (keys.has('$forEach')) return this.forEach(entries, node, target, scope, at);
    if ([...keys].some((k) => CONDITION_KEYS.has(k))) return this.checkedValue(this.conditionValue(node, target, scope), at);
    if (keys.has('$items')) return this.items(entries, node, target, scope, at);
    if (keys.has('$use')) return this.use(entries, node, target, scope, at, output);
    if (VALUE_SOURCES.some((k) => keys.has(k))) {
      const compiled = this.value(entries, node, target, scope);
      if (at === undefined) return compiled;
      // A bare `$const` is the same every run: checked here, once.
      if (keys.size === 1 && keys.has('$const')) return constantChecked(this.planner, compiled, compactStrings(this.js(this.get(entries, '$const'))), at);
      return this.checkedValue(output ? asOutput(compiled) : compiled, at);
    }
    return this.object(entries, node, target, scope, at);
  }

  /** A value computed each run, to be checked each run against its place in the output. */
  private checkedValue(compiled: Compiled, at: OutputAt | undefined): Compiled {
    if (at === undefined || this.planner === undefined) return compiled;
    return { ...compiled, check: this.planner.checkAt(at) };
  }

  /**
   * Whether a node's value is spread into the list around it ($forEach, $items, or a `$use`
   * of one), as node() dispatches it: its items, not itself, land at the list's item place.
   */
  private spreads(raw: unknown, depth = 0): boolean {
    const node = resolve(this.src, raw);
    if (!isMap(node) || depth > 16) return false;
    const entries = mapEntries(this.src, node);
    const keys = new Set(entries.map(([k]) => k));
    if (keys.has('$forEach')) return true;
    if ([...keys].some((k) => CONDITION_KEYS.has(k))) return false;
    if (keys.has('$items')) return true;
    if (keys.has('$use') && !keys.has('$with')) {
      const name = this.js(this.get(entries, '$use'));
      return typeof name === 'string' && this.templates.has(name) && this.spreads(this.templates.get(name), depth + 1);
    }
    return false;
  }

  /** Where a list part lands: a spread part at the list's own place, any other at its item place. */
  private partAt(raw: unknown, listAt: OutputAt | undefined, itemAt: OutputAt | undefined): OutputAt | undefined {
    if (listAt === undefined) return undefined;
    return this.spreads(raw) ? listAt : itemAt;
  }

  private checkKeys(entries: [string, unknown, unknown][], allowed: Set<string>, node: unknown, target: string, what: string): void {
    for (const [k, , pair] of entries) {
      if (k.startsWith('$') && !allowed.has(k)) {
        this.fail((pair as { key?: unknown }).key ?? node, target, `"${k}" is not allowed in ${what} (allowed: ${[...allowed].join(', ')})`);
      }
    }
  }

  private get(entries: [string, unknown, unknown][], key: string): unknown {
    return entries.find(([k]) => k === key)?.[1];
  }

  private has(entries: [string, unknown, unknown][], key: string): boolean {
    return entries.some(([k]) => k === key);
  }

  private withWhen(compiled: Compiled, entries: [string, unknown, unknown][], target: string, scope: Scope): Compiled {
    const when = this.whenOf(entries, target, scope);
    return when ? { ...compiled, dynamic: true, run: wrappedRunner(compiled.run, { when }) } : compiled;
  }

  /** `$required` and `$when` around a node, in one function (see wrappedRunner). */
  private withRequiredAndWhen(compiled: Compiled, entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope): Compiled {
    const missing = this.missingOf(entries, node, target, compiled.source);
    const when = this.whenOf(entries, target, scope);
    if (!missing && !when) return compiled;
    return { ...compiled, dynamic: when ? true : compiled.dynamic, run: wrappedRunner(compiled.run, { missing, when }) };
  }

  /** The `$when` condition, if the node has one. */
  private whenOf(entries: [string, unknown, unknown][], target: string, scope: Scope): ((ctx: RunContext) => boolean) | undefined {
    if (!this.has(entries, '$when')) return undefined;
    return this.condition(this.get(entries, '$when'), `${target}.$when`, scope);
  }

  /** With `$required: true`, what throws when the value is missing (the message made now, at load). */
  private missingOf(entries: [string, unknown, unknown][], node: unknown, target: string, source: Source | undefined): (() => never) | undefined {
    const req = this.get(entries, '$required');
    if (req === undefined) return undefined;
    if (this.js(req) !== true && this.js(req) !== false) this.fail(req, target, '$required must be true or false');
    if (this.js(req) !== true) return undefined;
    const line = lineOf(this.src, node);
    const file = this.src.file;
    // The message is made now: a run pays for it only when the value is missing.
    const { from, to } = this.place(entries, source, target);
    const message = `${this.src.name}:${line ?? '?'}: required value missing${from ? `: ${from} → ${to}` : ` at ${to}`}`;
    return () => {
      throw new MappingError(message, file, line, target);
    };
  }

  private list(items: unknown[], target: string, scope: Scope, at?: OutputAt): Compiled {
    const itemAt = at === undefined ? undefined : this.planner?.itemsAt(at);
    // A list where the output has no list: checked whole (and failing), its parts not planned.
    const listAt = itemAt === undefined ? undefined : at;
    const parts = items.map((item, i) => asOutput(this.pending(item, `${target}[${i}]`, scope, this.partAt(item, listAt, itemAt), true)));
    const compiled = { run: this.buildList(parts), dynamic: parts.some((p) => p.dynamic), clean: true, source: joinSources(parts.map((p) => p.source), false) };
    return listAt === undefined ? this.checkedValue(compiled, at) : compiled;
  }

  private buildList(parts: Compiled[], distinctBy?: string): (ctx: RunContext) => unknown {
    const finish = distinctBy === undefined ? undefined : (list: unknown[]) => distinct(list, distinctBy);
    return listBuilder(parts.map((p) => ({ run: p.run, clean: p.clean === true, spread: p.spread === true, check: p.check })), finish);
  }

  private object(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, at?: OutputAt): Compiled {
    this.checkKeys(entries, OBJECT, node, target, 'an object');
    const resourceType = this.js(this.get(entries, 'resourceType'));
    if (typeof resourceType === 'string') this.resources.push({ type: resourceType, target });
    try {
      const planned = at === undefined ? undefined : this.planner?.objectAt(at, typeof resourceType === 'string' ? resourceType : undefined);
      /** Where a field lands: undefined when nothing is planned; NOT_ALLOWED for a key the output may not have. */
      const fieldAt = (key: string): OutputAt | typeof NOT_ALLOWED | undefined => (planned === undefined ? undefined : (planned.child(key) ?? NOT_ALLOWED));
      const planner = this.planner as OutputPlanner;
      /** A field Tramline writes itself (fullUrl, request), checked as `check` says of its place. */
      const ownField = (key: string, c: Compiled, check: (where: OutputAt) => ValueCheck): { key: string; c: Compiled } => {
        const where = fieldAt(key);
        return { key, c: where === undefined ? c : { ...c, check: where === NOT_ALLOWED ? NEVER : check(where) } };
      };
      const fields: { key: string; c: Compiled }[] = [];
      const upsert = this.has(entries, '$upsert') ? compileUpsert(this, this.get(entries, '$upsert'), entries, target, scope) : undefined;
      // The entry's fields in the order they were written by hand: fullUrl, …, request.
      if (upsert) fields.push(ownField('fullUrl', { run: upsert.fullUrl, dynamic: true, clean: true }, (where) => planner.checkAt(where)));
      for (const [key, value, pair] of entries) {
        if (key.startsWith('$')) continue;
        if (FORBIDDEN_KEYS.has(key)) this.fail((pair as { key?: unknown }).key, target, `output key "${key}" is not allowed`);
        if (key === 'resourceType' && typeof resourceType === 'string') this.resourceTypes.add(resourceType);
        const where = fieldAt(key);
        const c = asOutput(this.pending(value, target ? `${target}.${key}` : key, scope, where === NOT_ALLOWED ? undefined : where, true));
        fields.push({ key, c: where === NOT_ALLOWED ? { ...c, check: NEVER } : c });
      }
      if (upsert) fields.push(ownField('request', { run: upsert.request, dynamic: true, clean: true }, (where) => shapeCheck(planner, where, upsert.requestShape)));
      const dynamic = fields.some((f) => f.c.dynamic);
      const build = objectBuilder(
        fields.map((f) => ({ key: f.key, run: f.c.run, clean: f.c.clean === true, dynamic: f.c.dynamic, check: f.c.check })),
        dynamic,
        planned === undefined ? undefined : ownChecks(planned, fields),
      );
      const run = upsert ? upsert.around(build) : build;
      const source = joinSources(fields.map((f) => f.c.source), false);
      const compiled = this.withRequiredAndWhen({ run, dynamic, clean: true, source }, entries, node, target, scope);
      // An object where the output has no object of a kind planned: checked whole.
      return planned === undefined ? this.checkedValue(compiled, at) : compiled;
    } finally {
      if (typeof resourceType === 'string') this.resources.pop();
    }
  }

  private items(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, at?: OutputAt): Compiled {
    this.checkKeys(entries, ITEMS, node, target, '$items');
    const list = this.get(entries, '$items');
    if (!isSeq(resolve(this.src, list))) this.fail(list, target, '$items must be a list');
    const itemAt = at === undefined ? undefined : this.planner?.itemsAt(at);
    const listAt = itemAt === undefined ? undefined : at;
    const parts = seqItems(this.src, list).map((item, i) => this.pending(item, `${target}[${i}]`, scope, this.partAt(item, listAt, itemAt)));
    const distinctBy = this.distinctBy(entries, target);
    const source = joinSources(parts.map((p) => p.source), false);
    const compiled = this.withWhen({ run: this.buildList(parts, distinctBy), dynamic: true, spread: true, clean: true, source }, entries, target, scope);
    return listAt === undefined ? this.checkedValue(compiled, at) : compiled;
  }

  private distinctBy(entries: [string, unknown, unknown][], target: string): string | undefined {
    const d = this.get(entries, '$distinctBy');
    if (d === undefined) return undefined;
    const key = this.js(d);
    if (typeof key !== 'string' || !NAME.test(key)) this.fail(d, target, '$distinctBy must be a property name');
    return key;
  }

  /** A loop source: a path string or a value expression; returns its matches and their level. */
  private loopSource(raw: unknown, target: string, scope: Scope): { all: (ctx: RunContext) => unknown[]; level: Hl7Level; segment?: string; source?: Source } {
    const node = resolve(this.src, raw);
    if (isScalar(node) && typeof node.value === 'string') {
      const path = this.path(node.value, node, target, scope);
      return { all: path.all, level: path.level, segment: path.segment, source: describePath(node.value, this.input, false, scope.item?.source) };
    }
    if (isSeq(node)) {
      // Several sources looped over as one list (e.g. every practitioner field of a message).
      const parts = seqItems(this.src, node).map((n, i) => this.loopSource(n, `${target}[${i}]`, scope));
      if (!parts.length) this.fail(node, target, 'a list of loop sources must not be empty');
      const level = parts[0].level;
      if (parts.some((p) => p.level !== level)) this.fail(node, target, 'every source in the list must give the same kind of item');
      const alls = parts.map((p) => p.all);
      return {
        // Each item comes from one of the sources.
        source: joinSources(parts.map((p) => p.source), true),
        all: (ctx) => {
          let out: unknown[] | undefined;
          for (let i = 0; i < alls.length; i++) {
            const found = alls[i](ctx);
            for (let j = 0; j < found.length; j++) out = append(out, found[j]);
          }
          return out ?? [];
        },
        level,
      };
    }
    if (!isMap(node)) this.fail(node, target, '$forEach needs a path or a value expression');
    const entries = mapEntries(this.src, node);
    const compiled = this.value(entries, node, target, scope, true);
    const run = compiled.run;
    const level = compiled.level ?? 'value';
    // A repetition or segment is array-shaped but is one item; JSON arrays are lists of items.
    const iterate = compiled.isList || level === 'value';
    return {
      source: compiled.source,
      all: (ctx) => {
        const v = run(ctx);
        if (isEmpty(v)) return [];
        return iterate && Array.isArray(v) ? v : [v];
      },
      level,
    };
  }

  private forEach(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, at?: OutputAt): Compiled {
    this.checkKeys(entries, FOREACH, node, target, '$forEach');
    if (!this.has(entries, '$do')) this.fail(node, target, '$forEach needs $do (the template built for each item)');
    const source = this.loopSource(this.get(entries, '$forEach'), target, scope);
    const slot = this.newSlot();
    // JSON loops go over the items of what the path finds: `@.ref` of `$.events` is `$.events[*].ref`.
    const itemSource = this.input === 'json' ? jsonItems(source.source) : source.source;
    const names = new Map(scope.names);
    const asNode = this.get(entries, '$as');
    if (asNode !== undefined) {
      const name = this.js(asNode);
      if (typeof name !== 'string' || !NAME.test(name)) this.fail(asNode, target, '$as must be a name');
      names.set(name, { slot, level: source.level, source: itemSource });
    }
    const segments = new Map(scope.segments);
    if (source.segment) segments.set(source.segment, slot);
    const inner: Scope = { names, item: { slot, level: source.level, source: itemSource }, segments };
    const where = this.has(entries, '$where') ? this.where(this.get(entries, '$where'), `${target}.$where`, source.level) : undefined;
    const lets = this.localLets(entries, `${target}[*]`, inner);
    const itemAt = at === undefined ? undefined : this.planner?.itemsAt(at);
    const listAt = itemAt === undefined ? undefined : at;
    const body = this.node(this.get(entries, '$do'), `${target}[*]`, inner, this.partAt(this.get(entries, '$do'), listAt, itemAt));
    const distinctBy = this.distinctBy(entries, target);
    const all = source.all;
    const { run: bodyRun, clean: bodyClean, spread: bodySpread } = body;
    const letSlots = lets.map((l) => l.slot);
    const letRuns = lets.map((l) => l.c.run);
    const run = (ctx: RunContext): unknown => {
      let items = all(ctx);
      if (items.length === 1 && Array.isArray(items[0]) && source.level === 'value') items = items[0] as unknown[];
      let out: unknown[] | undefined;
      const saved = ctx.slots[slot];
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        if (where && !where(item)) continue;
        ctx.slots[slot] = item;
        for (let j = 0; j < letRuns.length; j++) ctx.slots[letSlots[j]] = letRuns[j](ctx);
        const v = bodyRun(ctx);
        if (bodyClean ? v === undefined : isEmpty(v)) continue;
        if (bodySpread && Array.isArray(v)) {
          for (let j = 0; j < v.length; j++) out = append(out, v[j]);
        } else out = append(out, v);
      }
      ctx.slots[slot] = saved;
      if (out === undefined) return undefined;
      return distinctBy ? distinct(out, distinctBy) : out;
    };
    const compiled = this.withWhen({ run, dynamic: true, spread: true, clean: true, source: body.source }, entries, target, scope);
    return listAt === undefined ? this.checkedValue(compiled, at) : compiled;
  }

  /** `$let` inside a loop or include: names evaluated per item, in order, before the body. */
  private localLets(entries: [string, unknown, unknown][], target: string, scope: Scope): { slot: number; c: Compiled }[] {
    if (!this.has(entries, '$let')) return [];
    const names = scope.names as Map<string, Binding>;
    const out: { slot: number; c: Compiled }[] = [];
    for (const [name, valueNode, pair] of mapEntries(this.src, this.get(entries, '$let'))) {
      if (!NAME.test(name)) this.fail((pair as { key?: unknown }).key, target, `"${name}" is not a valid name`);
      const c = this.node(valueNode, `${target}.$let.${name}`, scope);
      const slot = this.newSlot();
      names.set(name, { slot, level: c.level, isList: c.isList, source: c.source });
      out.push({ slot, c });
    }
    return out;
  }

  private use(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, at?: OutputAt, output = false): Compiled {
    this.checkKeys(entries, USE, node, target, '$use');
    const nameNode = this.get(entries, '$use');
    const name = this.js(nameNode);
    if (typeof name !== 'string' || !this.templates.has(name)) {
      this.fail(nameNode, target, `unknown template "${String(name)}" (define it under templates:)`);
    }
    if (this.useDepth > 16) this.fail(node, target, `templates nest too deeply (is "${name}" using itself?)`);
    this.useDepth++;
    try {
      if (!this.has(entries, '$with')) {
        if (this.has(entries, '$let')) this.fail(node, target, '$let in $use needs $with');
        const body = this.pending(this.templates.get(name), target, scope, at, output);
        return this.withRequiredAndWhen(body, entries, node, target, scope);
      }
      const source = this.loopSource(this.get(entries, '$with'), `${target}.$with`, scope);
      const slot = this.newSlot();
      const inner: Scope = { names: new Map(scope.names), item: { slot, level: source.level, source: source.source }, segments: scope.segments };
      const lets = this.localLets(entries, target, inner);
      const body = this.node(this.templates.get(name), target, inner, at);
      const all = source.all;
      const bodyRun = body.run;
      const letSlots = lets.map((l) => l.slot);
      const letRuns = lets.map((l) => l.c.run);
      const run = (ctx: RunContext): unknown => {
        const items = all(ctx);
        if (items.length === 0) return undefined;
        const saved = ctx.slots[slot];
        ctx.slots[slot] = items[0];
        for (let j = 0; j < letRuns.length; j++) ctx.slots[letSlots[j]] = letRuns[j](ctx);
        const v = bodyRun(ctx);
        ctx.slots[slot] = saved;
        return v;
      };
      return this.withRequiredAndWhen({ run, dynamic: true, clean: body.clean, source: body.source }, entries, node, target, scope);
    } finally {
      this.useDepth--;
    }
  }

  /** Compile a path for this mapping's input kind into a function returning all matches. */
  path(
    pathText: string,
    node: unknown,
    target: string,
    scope: Scope,
    keepLazy = false,
  ): { all: (ctx: RunContext) => unknown[]; first: (ctx: RunContext) => unknown; level: Hl7Level; segment?: string } {
    if (this.input === 'hl7v2') {
      let parsed;
      try {
        parsed = parseHl7Path(pathText);
      } catch (e) {
        this.fail(node, target, (e as Error).message);
      }
      const item = scope.item;
      const readItem = item ? (slots: unknown[]) => slots[item.slot] : undefined;
      const reboundSlot = !parsed.relative && parsed.occurrence === undefined ? scope.segments.get(parsed.segment as string) : undefined;
      const rebound = reboundSlot === undefined ? undefined : (slots: unknown[]) => slots[reboundSlot];
      let fn, firstFn;
      try {
        fn = compileHl7Path(parsed, item?.level, readItem, rebound);
        firstFn = compileHl7PathFirst(parsed, item?.level, readItem, rebound);
      } catch (e) {
        this.fail(node, target, `"${pathText}": ${(e as Error).message}`);
      }
      const level = levelOf(parsed, item?.level);
      const loopSegment = !parsed.relative && parsed.field === undefined && parsed.occurrence === undefined ? parsed.segment : undefined;
      if (level === 'segment' && !keepLazy) {
        // Whole segments leave path code here (loop items, values, function arguments):
        // parse the fields still held as text, so whatever reads them sees a plain view.
        return {
          all: (ctx) => {
            if (ctx.hl7 === undefined) return [];
            const segs = fn(ctx.hl7, ctx.slots);
            for (let i = 0; i < segs.length; i++) materializeSegment(segs[i] as LazySegment, ctx.hl7.separators);
            return segs;
          },
          first: (ctx) => {
            if (ctx.hl7 === undefined) return undefined;
            const seg = firstFn(ctx.hl7, ctx.slots);
            return seg === undefined ? undefined : materializeSegment(seg as LazySegment, ctx.hl7.separators);
          },
          level,
          segment: loopSegment,
        };
      }
      return {
        all: (ctx) => (ctx.hl7 === undefined ? [] : fn(ctx.hl7, ctx.slots)),
        first: compileHl7FirstOfRun(parsed, item?.level, item?.slot, reboundSlot),
        level,
        segment: loopSegment,
      };
    }
    let checked;
    try {
      checked = checkJsonPath(pathText);
    } catch (e) {
      this.fail(node, target, (e as Error).message);
    }
    const fn = compileJsonPath(checked.path);
    if (checked.relative) {
      const item = scope.item;
      if (!item) this.fail(node, target, '"@" paths are only meaningful inside $forEach or $use … $with');
      return { all: (ctx) => fn(ctx.slots[item.slot]), first: (ctx) => fn(ctx.slots[item.slot])[0], level: 'value' };
    }
    return { all: (ctx) => fn(ctx.data), first: (ctx) => fn(ctx.data)[0], level: 'value' };
  }

  /**
   * A value expression: one source, then $where, $fn, $default, $required, $when. `tested`:
   * the value is only tested (a condition), so a whole segment it reads need not be parsed.
   */
  value(entries: [string, unknown, unknown][], node: unknown, target: string, scope: Scope, many = false, tested = false): Compiled {
    this.checkKeys(entries, VALUE_KEYS, node, target, 'a value expression');
    for (const [k, , pair] of entries) {
      if (!k.startsWith('$')) this.fail((pair as { key?: unknown }).key, target, `"${k}" cannot sit beside ${VALUE_SOURCES.filter((s) => this.has(entries, s)).join(', ')}; nest it in an object`);
    }
    const sources = VALUE_SOURCES.filter((s) => this.has(entries, s));
    if (sources.length !== 1) this.fail(node, target, `a value takes exactly one of ${VALUE_SOURCES.join(', ')}`);
    const source = sources[0];
    const srcNode = this.get(entries, source);
    const manyNode = this.get(entries, '$many');
    const takeAll = many || this.js(manyNode) === true;
    let level: Hl7Level | undefined;
    let isList = false;
    let read: (ctx: RunContext) => unknown;
    let from: Source | undefined;

    if (source === '$path') {
      const p = this.js(srcNode);
      if (typeof p !== 'string') this.fail(srcNode, target, '$path must be a string');
      const compiled = this.path(p, srcNode, target, scope, tested && !this.has(entries, '$fn'));
      level = compiled.level;
      from = describePath(p, this.input, level === 'segment', scope.item?.source);
      isList = takeAll;
      const where = this.has(entries, '$where') ? this.where(this.get(entries, '$where'), `${target}.$where`, level) : undefined;
      const all = compiled.all;
      read = takeAll
        ? (ctx) => {
            const found = all(ctx);
            const kept = where ? found.filter(where) : found;
            return kept.length ? kept : undefined;
          }
        : where
          ? (ctx) => {
              for (const f of all(ctx)) if (where(f)) return f;
              return undefined;
            }
          : compiled.first;
    } else {
      if (this.has(entries, '$where') && source !== '$var') this.fail(node, target, '$where applies to $path and $var values');
      if (source === '$var') {
        const name = this.js(srcNode);
        const binding = typeof name === 'string' ? scope.names.get(name) : undefined;
        if (!binding) this.fail(srcNode, target, `unknown name "${String(name)}" (define it under let:, or with $as)`);
        level = binding.level;
        isList = binding.isList === true;
        from = binding.source;
        const readSlot = this.reader(binding.slot);
        const readVar = binding.lazySegment
          ? (ctx: RunContext) => {
              const v = readSlot(ctx);
              return v === undefined || ctx.hl7 === undefined ? v : materializeSegment(v as LazySegment, ctx.hl7.separators);
            }
          : readSlot;
        const listed = isList;
        const where = this.has(entries, '$where') ? this.where(this.get(entries, '$where'), `${target}.$where`, level ?? 'value') : undefined;
        read = where
          ? (ctx) => {
              const v = readVar(ctx);
              const list = Array.isArray(v) && (listed || level === 'value') ? v : v === undefined ? [] : [v];
              const kept = list.filter(where);
              return takeAll ? (kept.length ? kept : undefined) : kept[0];
            }
          : readVar;
      } else if (source === '$const') {
        // Objects and lists are copied so no two outputs share (and can corrupt) one value.
        read = constantCopier(compactStrings(this.js(srcNode)));
      } else if (source === '$first') {
        const parts = seqItems(this.src, srcNode).map((n, i) => this.node(n, `${target}.$first[${i}]`, scope));
        if (!parts.length) this.fail(srcNode, target, '$first needs a list of values');
        level = parts.every((p) => p.level === parts[0].level) ? parts[0].level : undefined;
        from = joinSources(parts.map((p) => p.source), true);
        const runs = parts.map((p) => p.run);
        read = (ctx) => {
          for (let i = 0; i < runs.length; i++) {
            const v = runs[i](ctx);
            if (!isEmpty(v)) return v;
          }
          return undefined;
        };
      } else if (source === '$list') {
        const parts = seqItems(this.src, srcNode).map((n, i) => this.node(n, `${target}.$list[${i}]`, scope));
        isList = true;
        from = joinSources(parts.map((p) => p.source), false);
        const runs = parts.map((p) => p.run);
        read = (ctx) => {
          const out = new Array<unknown>(runs.length);
          for (let i = 0; i < runs.length; i++) out[i] = runs[i](ctx);
          return out;
        };
      } else {
        ({ read, source: from } = this.template(srcNode, target, scope));
      }
    }

    const hasFn = this.has(entries, '$fn');
    // HL7 path reads skip empty matches, $first skips empty values and a $fn pipeline stops
    // at one, so those never give '', [] or {}; a $var or JSON path read may.
    let clean = hasFn || source === '$first' || (source === '$path' && this.input === 'hl7v2') || (source === '$const' && !isEmpty(this.js(srcNode)));
    const pipe = hasFn ? this.pipeline(this.get(entries, '$fn'), entries, node, target, from) : undefined;
    let fallback: ((ctx: RunContext) => unknown) | undefined;
    if (this.has(entries, '$default')) {
      const dflt = this.node(this.get(entries, '$default'), `${target}.$default`, scope);
      fallback = dflt.run;
      clean = clean && dflt.clean === true;
      from = joinSources([from, dflt.source], true);
    }
    // The checks and messages of the options, in the order they apply: $warn, $required, $when.
    const warn = this.warningOf(entries, node, target, from);
    const missing = this.missingOf(entries, node, target, from);
    const when = this.whenOf(entries, target, scope);
    const run = wrappedRunner(read, { steps: pipe?.steps, failed: pipe?.failed, fallback, warn, missing, when });
    return { run, dynamic: source !== '$const' || when !== undefined, level: hasFn ? 'value' : level, isList: hasFn ? false : isList, clean, source: from };
  }

  /**
   * `$warn: text`: a value the mapping falls back on (a derived key, a default code) is used,
   * and the result says so. The warning is added each time the value is computed and not
   * empty; in a `$first` that is only when the values before it were empty.
   */
  private warningOf(entries: [string, unknown, unknown][], node: unknown, target: string, source: Source | undefined): ((ctx: RunContext) => void) | undefined {
    const warnNode = this.get(entries, '$warn');
    if (warnNode === undefined) return undefined;
    const message = this.js(warnNode);
    if (typeof message !== 'string' || message.trim() === '') this.fail(warnNode, target, '$warn must be the warning text');
    const line = lineOf(this.src, node);
    const file = this.src.name;
    const { from } = this.place(entries, source, target);
    return (ctx) => {
      ctx.issues.push({ severity: 'warning', message, file, line, target, ...(from ? { source: from } : {}) });
    };
  }

  private template(node: unknown, target: string, scope: Scope): { read: (ctx: RunContext) => unknown; source?: Source } {
    const t = this.js(node);
    if (typeof t !== 'string') this.fail(node, target, '$template must be a string');
    const parts: (string | ((ctx: RunContext) => unknown))[] = [];
    const sources: (Source | undefined)[] = [];
    let last = 0;
    const re = /\$\{([^}]*)\}/g;
    let m: RegExpExecArray | null;
    while ((m = re.exec(t)) !== null) {
      parts.push(t.slice(last, m.index));
      const name = m[1].trim();
      const binding = scope.names.get(name);
      if (binding) {
        parts.push(this.reader(binding.slot));
        sources.push(binding.source);
      } else if (NAME.test(name) && !/^[A-Z][A-Z0-9]{2}$/.test(name)) {
        this.fail(node, target, `$template refers to unknown name "${name}"`);
      } else {
        // Not a name: a path such as ${PID-3.4} or ${@.1}; its first match is used.
        const path = this.path(name, node, target, scope);
        parts.push(path.first);
        sources.push(describePath(name, this.input, path.level === 'segment', scope.item?.source));
      }
      last = m.index + m[0].length;
    }
    parts.push(t.slice(last));
    return { read: lastTemplateOutput(parts), source: joinSources(sources, false) };
  }

  /** A `$fn` pipeline's bound steps, and what a step's throw becomes. */
  private pipeline(
    fnNode: unknown,
    entries: [string, unknown, unknown][],
    node: unknown,
    target: string,
    source: Source | undefined,
  ): { steps: ((v: unknown) => unknown)[]; failed: (ctx: RunContext, e: unknown) => unknown } {
    const n = resolve(this.src, fnNode);
    const stepNodes = isSeq(n) ? seqItems(this.src, n) : [n];
    const steps: ((v: unknown) => unknown)[] = [];
    for (const stepNode of stepNodes) {
      const s = resolve(this.src, stepNode);
      let name: string;
      let args: unknown[];
      if (isScalar(s) && typeof s.value === 'string') {
        name = s.value;
        args = [];
      } else if (isMap(s) && s.items.length === 1) {
        const [k, v] = mapEntries(this.src, s)[0];
        name = k;
        const a = this.js(v);
        args = Array.isArray(a) ? a : [a];
      } else {
        this.fail(stepNode, target, '$fn steps are a function name or { name: argument(s) }');
      }
      const fn = getFunction(name);
      if (!fn) this.fail(stepNode, target, `unknown function "${name}" (see docs/components.md#mapping-functions for the library)`);
      const problem = argumentProblem(fn, args);
      if (problem) this.fail(stepNode, target, problem);
      try {
        steps.push(fn.bind(args, this.env));
      } catch (e) {
        this.fail(stepNode, target, (e as Error).message);
      }
    }
    const onInvalidNode = this.get(entries, '$onInvalid');
    const onInvalid = onInvalidNode === undefined ? 'error' : this.js(onInvalidNode);
    if (onInvalid !== 'error' && onInvalid !== 'warn') this.fail(onInvalidNode, target, '$onInvalid must be error or warn');
    const file = this.src.file;
    const name = this.src.name;
    const line = lineOf(this.src, node);
    const { from, to } = this.place(entries, source, target);
    const where = from ? `${from} → ${to}` : to;
    const failed = (ctx: RunContext, e: unknown): unknown => {
      if (!(e instanceof InvalidValueError)) throw e;
      if (onInvalid === 'warn') {
        ctx.issues.push({ severity: 'warning', message: e.message, file: name, line, target, ...(from ? { source: from } : {}) });
        return undefined;
      }
      throw new MappingError(`${name}:${line ?? '?'}: ${where}: ${e.message}`, file, line, target);
    };
    return { steps, failed };
  }

  /**
   * A condition written as a value: `true` when it holds, otherwise no value at all (left out
   * of the output, skipped by `$first`, false again in `$when`). Never `false`: a test on a
   * missing input must not become a `false` written into a record.
   */
  private conditionValue(node: unknown, target: string, scope: Scope): Compiled {
    const holds = this.condition(node, target, scope);
    return { run: (ctx) => (holds(ctx) ? true : undefined), dynamic: true, clean: true };
  }

  /** `$when` conditions: see conditions.ts. */
  condition(raw: unknown, target: string, scope: Scope): Predicate {
    return compileCondition(this, raw, target, scope);
  }

  /** Declarative `$where` filters: see conditions.ts. */
  where(raw: unknown, target: string, level: Hl7Level): (item: unknown) => boolean {
    return compileWhere(this, raw, target, level);
  }

}

/**
 * An HL7 field or segment written straight into the output stands for its first value
 * (`code: { $path: PV1-14 }` is PV1-14.1); use a function such as hl7Coding to keep the parts.
 */
function asOutput(c: Compiled): Compiled {
  if (c.isList || (c.level !== 'repetition' && c.level !== 'segment')) return c;
  const run = c.run;
  return { ...c, level: 'value', run: (ctx) => text(run(ctx)), clean: true };
}

/**
 * A template's text, remembering the last values and text: when every value equals the last
 * message's (the sending facility, a ward's system), the very same string is returned. It is
 * already flat and hashed, so the id memo it is usually looked up in finds it without
 * flattening and hashing a new one, and nothing new is built.
 */
function lastTemplateOutput(parts: readonly (string | ((ctx: RunContext) => unknown))[]): (ctx: RunContext) => string | undefined {
  let values: string[] = new Array<string>(parts.length);
  let lastValues: string[] | undefined;
  let lastOutput = '';
  return (ctx) => {
    let same = lastValues !== undefined;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      if (typeof p === 'string') continue;
      const v = text(p(ctx));
      if (v === undefined) return undefined;
      values[i] = v;
      if (same && v !== (lastValues as string[])[i]) same = false;
    }
    if (same) return lastOutput;
    let out = '';
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i];
      out += typeof p === 'string' ? p : values[i];
    }
    // This run's values become the last ones; the older array is written over next time.
    const older = lastValues ?? new Array<string>(parts.length);
    lastValues = values;
    values = older;
    lastOutput = out;
    return out;
  };
}

/** The items without later ones whose `key` repeats an earlier one's (the same list if none does). */
function distinct(items: unknown[], key: string): unknown[] {
  if (items.length < 2) return items;
  // Lists here are short (an entry's Locations, a patient's identifiers): comparing each key
  // with the ones before it costs less than a Set per list.
  if (items.length <= 16) return distinctShort(items, key);
  const seen = new Set<unknown>();
  let out: unknown[] | undefined;
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const k = keyOf(item, key);
    if (k !== undefined && seen.has(k)) {
      out ??= items.slice(0, i);
      continue;
    }
    seen.add(k);
    out?.push(item);
  }
  return out ?? items;
}

function keyOf(item: unknown, key: string): unknown {
  return item !== null && typeof item === 'object' ? (item as Record<string, unknown>)[key] : item;
}

/** distinct() by comparing keys pairwise (SameValueZero, as a Set compares them). */
function distinctShort(items: unknown[], key: string): unknown[] {
  let out: unknown[] | undefined;
  for (let i = 1; i < items.length; i++) {
    const k = keyOf(items[i], key);
    let repeated = false;
    if (k !== undefined) {
      for (let j = 0; j < i; j++) {
        const earlier = keyOf(items[j], key);
        if (earlier === k || (earlier !== earlier && k !== k)) {
          repeated = true;
          break;
        }
      }
    }
    if (repeated) out ??= items.slice(0, i);
    else out?.push(items[i]);
  }
  return out ?? items;
}
