// The mapping entry points the engine, CLI and tests call.
//
//   loadMappingById('hl7v2-adt-to-fhir')   → CompiledMapping (compiled once, cached)
//   mapHl7ToBundle(text | Hl7Message)       → { bundle, issues }: parse + map + validate
//   runMapping(mapping, input)              → { output, issues }: map + the checks the mapping declares
//
// Failures are typed: ParseError (not HL7), MappingError (file, line, target),
// ValidationError (every FHIR/UK Core issue). Nothing here does I/O after loading.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import type { Hl7Message } from '../core/hl7/message.js';
import { MappingError, TramlineError } from '../core/errors.js';
import { hl7Input, jsonInput } from './engine/hl7-input.js';
import { loadMapping } from './engine/load.js';
import { displayName } from './engine/source.js';
import type { CompiledMapping, MappingInput, MappingIssue, MappingResult } from './engine/types.js';
import type { Bundle } from 'fhir/r4.js';
import { validateFhirOutput, warmFhirSchema } from './validate/index.js';

export { loadMapping, checkMappingFile, type MappingProblem } from './engine/load.js';
export { hl7Input, jsonInput } from './engine/hl7-input.js';
export { fhirIssues, validateFhirOutput, warmFhirSchema } from './validate/index.js';
export type { CompiledMapping, MappingInput, MappingIssue, MappingResult } from './engine/types.js';

export const MAPPINGS_DIR = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_ADT_MAPPING = 'hl7v2-adt-to-fhir';
const NOT_MAPPING_DIRS = new Set(['engine', 'functions', 'codemaps', 'validate', 'cases', 'node_modules']);

function mappingFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!NOT_MAPPING_DIRS.has(name)) mappingFiles(full, out);
    } else if (/\.ya?ml$/.test(name) && dir !== MAPPINGS_DIR) out.push(full);
  }
  return out;
}

let idIndex: Map<string, string> | undefined;

/** Shipped mapping ids → files (read from each file's `id:` line, without compiling). */
export function listMappings(): Map<string, string> {
  if (idIndex) return idIndex;
  idIndex = new Map();
  for (const file of mappingFiles(MAPPINGS_DIR)) {
    const m = /^id:\s*["']?([a-z0-9][a-z0-9-]*)["']?\s*$/m.exec(readFileSync(file, 'utf8'));
    if (m) idIndex.set(m[1], file);
  }
  return idIndex;
}

const compiled = new Map<string, CompiledMapping>();

/** A shipped mapping by id, or any mapping file by path; compiled once and cached. */
export function loadMappingById(idOrPath: string): CompiledMapping {
  const file = listMappings().get(idOrPath) ?? resolve(idOrPath);
  const hit = compiled.get(file);
  if (hit) return hit;
  let exists = false;
  try {
    exists = statSync(file).isFile();
  } catch {
    exists = false;
  }
  if (!exists) throw new MappingError(`no mapping with id or path "${idOrPath}" (shipped ids: ${[...listMappings().keys()].join(', ')})`);
  const mapping = loadMapping(file);
  compiled.set(file, mapping);
  // Every validator the output can need is compiled now, at load (channel deploy), not when
  // the first message of each kind arrives: a compile allocates hundreds of megabytes, and
  // mapping objects alive during it teach V8 to allocate theirs in the old generation for
  // good (allocation-site pretenuring), which cost the mapping pipeline ~15% for the life of
  // the process.
  if (mapping.validate.includes('fhir-r4')) warmFhirSchema(['Bundle', ...mapping.resourceTypes]);
  return mapping;
}

/** Run a mapping and the output checks it declares (`validate:`); throws typed errors only. */
export function runMapping(mapping: CompiledMapping, input: MappingInput): MappingResult {
  let result: MappingResult;
  try {
    result = mapping.run(input);
  } catch (e) {
    if (e instanceof TramlineError) throw e;
    // A bug, not bad input: still a typed, readable failure rather than a stack trace.
    throw new MappingError(`${displayName(mapping.file)}: mapping ${mapping.id} failed: ${(e as Error).message}`, mapping.file);
  }
  if (mapping.validate.length) validateFhirOutput(result.output, mapping.validate, result.fhirR4Checked);
  return result;
}

export interface Hl7BundleResult {
  bundle: Bundle;
  issues: MappingIssue[];
  /** MSH values, e.g. for routing keys and logs (no patient data). */
  header: Hl7Message['header'];
}

/** HL7 v2 ADT (text or parsed) → validated FHIR R4 transaction Bundle. */
export function mapHl7ToBundle(message: string | Hl7Message, mappingIdOrPath = DEFAULT_ADT_MAPPING): Hl7BundleResult {
  const msg = typeof message === 'string' ? parseHl7(message) : message;
  const mapping = loadMappingById(mappingIdOrPath);
  const result = runMapping(mapping, hl7Input(msg));
  return { bundle: result.output as Bundle, issues: result.issues, header: msg.header };
}

/** mapHl7ToBundle's Bundle as JSON: what a destination posts (on the calling thread or in map-worker.ts). */
export function mapHl7ToBundleJson(text: string, mappingIdOrPath: string): string {
  return JSON.stringify(mapHl7ToBundle(text, mappingIdOrPath).bundle);
}

/** A JSON record (e.g. a social care CLD row) → output, through a `input: json` mapping. */
export function mapJsonRecord(record: unknown, mappingIdOrPath: string, vars?: Record<string, unknown>): MappingResult {
  return runMapping(loadMappingById(mappingIdOrPath), jsonInput(record, vars));
}
