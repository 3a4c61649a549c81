// loadMapping(file): read YAML with positions, check it against schemas/mapping.schema.json,
// compile it once. Every problem is a MappingError naming file, line and target path.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { MappingError } from '../../core/errors.js';
import { getCodeMap, type CodeMap } from '../functions/codemap-store.js';
import type { BindEnv } from '../functions/types.js';
import { fhirR4Planner } from '../validate/plan.js';
import { MappingCompiler, PENDING } from './compile.js';
import type { Binding, Compiled, RunContext, Scope } from './compiled.js';
import { parseHl7Path } from '../../core/hl7/path.js';
import { segmentSource } from './hl7-input.js';
import { displayName, isMap, lineOf, mapEntries, nodeAt, readSource, resolve, type SourceFile } from './source.js';
import { HL7_BUILTIN_FIELDS, HL7_BUILTIN_VARS, type CompiledMapping, type InputKind, type MappingInput, type MappingResult } from './types.js';

const SCHEMA_FILE = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas', 'mapping.schema.json');

let validator: ValidateFunction | undefined;
function schemaValidator(): ValidateFunction {
  if (!validator) {
    const ajv = new Ajv({ allErrors: true, strict: false });
    validator = ajv.compile(JSON.parse(readFileSync(SCHEMA_FILE, 'utf8')) as object);
  }
  return validator;
}

export interface MappingProblem {
  file: string;
  line?: number;
  target: string;
  message: string;
}

function describe(err: ErrorObject): string {
  if (err.keyword === 'additionalProperties') return `unknown key "${(err.params as { additionalProperty: string }).additionalProperty}"`;
  if (err.keyword === 'propertyNames') return `key "${(err.params as { propertyName: string }).propertyName}" is not allowed`;
  if (err.keyword === 'enum') return `${err.message}: ${(err.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  return err.message ?? err.keyword;
}

/** `/output/entry/0/resource` → `entry[0].resource`, the way compile errors name targets. */
function targetOf(instancePath: string): string {
  const parts = instancePath.split('/').slice(1);
  if (parts[0] === 'output') parts.shift();
  let out = '';
  for (const p of parts) out += /^\d+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out || '(mapping)';
}

function schemaProblems(src: SourceFile): MappingProblem[] {
  const validate = schemaValidator();
  let json: unknown;
  try {
    json = src.doc.toJS();
  } catch (e) {
    // e.g. the yaml library's guard against alias bombs ("Excessive alias count").
    return [{ file: src.name, line: 1, target: '(mapping)', message: `YAML: ${(e as Error).message}` }];
  }
  if (validate(json)) return [];
  // Drop the echo errors of composite keywords; the specific ones say more.
  const errors = (validate.errors ?? []).filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword) && !(e.keyword === 'pattern' && e.propertyName));
  return errors.slice(0, 20).map((e) => {
    const path = e.instancePath + (e.keyword === 'propertyNames' && e.propertyName ? `/${e.propertyName}` : '');
    return { file: src.name, line: lineOf(src, nodeAt(src, path)), target: targetOf(path), message: describe(e) };
  });
}

function codemapEnv(mappingDir: string): BindEnv {
  const local = join(mappingDir, 'codemaps');
  const hasLocal = existsSync(local);
  return {
    codemap(name: string): CodeMap {
      if (hasLocal && existsSync(join(local, `${name}.yaml`))) return getCodeMap(name, local);
      return getCodeMap(name);
    },
  };
}

/** Is this let `{ $path: <segment>, … }` without `$fn`: an HL7 path to whole segments? */
function readsWholeSegment(src: SourceFile, node: unknown): boolean {
  if (!isMap(resolve(src, node))) return false;
  const entries = mapEntries(src, node);
  const path = entries.find(([k]) => k === '$path')?.[1] as { value?: unknown } | undefined;
  if (!path || typeof path.value !== 'string' || entries.some(([k]) => k === '$fn' || k === '$many' || k === '$where')) return false;
  try {
    const parsed = parseHl7Path(path.value);
    return !parsed.relative && parsed.field === undefined;
  } catch {
    return false; // compiling the let reports the bad path
  }
}

function compileSource(src: SourceFile): CompiledMapping {
  const problems = schemaProblems(src);
  if (problems.length) {
    const text = problems.map((p) => `${p.file}:${p.line ?? '?'}: ${p.target}: ${p.message}`).join('\n');
    const first = problems[0];
    throw new MappingError(text, src.file, first.line, first.target);
  }
  const top = new Map(mapEntries(src, src.doc.contents).map(([k, v]) => [k, v]));
  const js = src.doc.toJS() as { id: string; description?: string; input: InputKind; params?: string[]; validate?: string[]; cases?: string };
  const templates = new Map(mapEntries(src, top.get('templates')).map(([k, v]) => [k, v]));
  // A mapping whose output is checked with the FHIR R4 schema gets that check planned at load.
  const planner = (js.validate ?? []).includes('fhir-r4') ? fhirR4Planner : undefined;
  const compiler = new MappingCompiler(src, js.input, templates, codemapEnv(dirname(src.file)), planner);

  const names = new Map<string, Binding>();
  const inputs: { name: string; slot: number }[] = [];
  const builtins: string[] = js.input === 'hl7v2' ? [...HL7_BUILTIN_VARS] : [];
  for (const name of [...builtins, ...(js.params ?? [])]) {
    const slot = compiler.newSlot();
    // Messages name the MSH field a built-in comes from; a param is named by its $var name.
    const field = js.input === 'hl7v2' ? (HL7_BUILTIN_FIELDS as Record<string, string | undefined>)[name] : undefined;
    names.set(name, { slot, source: field === undefined ? undefined : { fields: [field], oneOf: false } });
    inputs.push({ name, slot });
  }
  // `let` values are computed when first read, so an event that never needs (say) the merge
  // values never computes them; one with `$required: true` is always computed, as a check.
  const lazy: number[] = [];
  const eager: { slot: number; c: Compiled }[] = [];
  for (const [name, node, pair] of mapEntries(src, top.get('let'))) {
    if (names.has(name)) compiler.fail((pair as { key?: unknown }).key, `let.${name}`, `"${name}" is already defined`);
    const wholeSegment = js.input === 'hl7v2' && readsWholeSegment(src, node);
    // A let holding a whole segment (e.g. one only there to require it) keeps unread fields
    // as text; reading it with $var parses them.
    const c = wholeSegment
      ? compiler.value(mapEntries(src, node), node, `let.${name}`, { names, segments: new Map() }, false, true)
      : compiler.node(node, `let.${name}`, { names, segments: new Map() });
    const slot = compiler.newSlot();
    const required = mapEntries(src, node).some(([k, v]) => k === '$required' && (v as { value?: unknown })?.value === true);
    if (required) eager.push({ slot, c });
    else {
      compiler.lazyLets.set(slot, c.run);
      lazy.push(slot);
    }
    names.set(name, { slot, level: c.level, isList: c.isList, lazySegment: wholeSegment, source: c.source });
  }
  const scope: Scope = { names, segments: new Map() };
  const outputNode = top.get('output');
  const outputAt = planner?.outputAt(constantResourceType(src, outputNode));
  const output = compiler.node(outputNode, '', scope, outputAt);
  const slotCount = compiler.slotCount;
  const file = src.file;

  return {
    id: js.id,
    file,
    description: js.description ?? '',
    input: js.input,
    validate: js.validate ?? [],
    casesDir: resolvePath(dirname(file), js.cases ?? 'cases'),
    resourceTypes: [...compiler.resourceTypes],
    run(input: MappingInput): MappingResult {
      if (input.kind !== js.input) throw new MappingError(`${src.name}: mapping ${js.id} reads ${js.input} input, not ${input.kind}`, file);
      const plan = outputAt === undefined ? undefined : { ok: true, references: [] };
      const ctx: RunContext = { hl7: segmentSource(input), data: input.data, slots: new Array<unknown>(slotCount), issues: [], plan };
      const vars = input.vars;
      if (vars) for (const { name, slot } of inputs) ctx.slots[slot] = vars[name];
      for (let i = 0; i < lazy.length; i++) ctx.slots[lazy[i]] = PENDING;
      for (const l of eager) ctx.slots[l.slot] = l.c.run(ctx);
      const result: MappingResult = { output: output.run(ctx), issues: ctx.issues };
      if (plan?.ok) result.fhirR4Checked = { references: plan.references };
      return result;
    },
  };
}

/** The output's resourceType when the mapping writes it as a constant. */
function constantResourceType(src: SourceFile, node: unknown): string | undefined {
  const output = resolve(src, node);
  if (!isMap(output)) return undefined;
  const found = mapEntries(src, output).find(([k]) => k === 'resourceType');
  const value = found === undefined ? undefined : (resolve(src, found[1]) as { value?: unknown } | null);
  return typeof value?.value === 'string' ? value.value : undefined;
}

/** Load and compile a mapping file; throws MappingError (file:line: target: message). */
export function loadMapping(file: string, text?: string): CompiledMapping {
  const src = readSource(resolvePath(file), text);
  return compileSource(src);
}

/** All problems in a mapping file (empty when it loads), for `tramline validate`. */
export function checkMappingFile(file: string, text?: string): MappingProblem[] {
  try {
    const src = readSource(resolvePath(file), text);
    const problems = schemaProblems(src);
    if (problems.length) return problems;
    compileSource(src);
    return [];
  } catch (e) {
    if (e instanceof MappingError) {
      // Messages read `<file>:<line>: <target>: <message>`; keep only the message part.
      const name = displayName(e.file ?? resolvePath(file));
      const prefix = `${name}:${e.line ?? '?'}: `;
      let message = e.message.startsWith(prefix) ? e.message.slice(prefix.length) : e.message;
      if (e.target && message.startsWith(`${e.target}: `)) message = message.slice(e.target.length + 2);
      return [{ file: name, line: e.line, target: e.target ?? '(mapping)', message }];
    }
    throw e;
  }
}
