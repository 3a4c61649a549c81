// Example cases shipped beside each mapping, run by `tramline test` and the unit tests.
//
//   <cases>/<name>.hl7 | <name>.input.json   the input (HL7 files are decoded per MSH-18)
//   <name>.expected.json                      the exact output expected, or
//   <name>.expected-error.txt                 text the error (`Kind: message`) must contain
//   <name>.expected-issues.txt                warnings expected, one `target: message` a line
//                                             (no file: the case must give no warnings)
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { reasonOf } from '../../core/errors.js';
import { loadMapping } from './load.js';
import { hl7Input, jsonInput } from './hl7-input.js';
import { diffJson } from './diff.js';
import type { CompiledMapping, MappingInput, MappingResult } from './types.js';
import { validateFhirOutput } from '../validate/index.js';

export interface MappingCaseResult {
  mapping: string;
  mappingFile: string;
  name: string;
  inputFile: string;
  ok: boolean;
  /** Why it failed: diff lines, or an unexpected/missing error. */
  problems: string[];
}

/** Decode HL7 file bytes: Latin-1 when MSH-18 declares 8859/1, UTF-8 otherwise. */
export function decodeHl7File(bytes: Buffer): string {
  const firstLineEnd = bytes.findIndex((b) => b === 0x0d || b === 0x0a);
  const msh = bytes.subarray(0, firstLineEnd < 0 ? bytes.length : firstLineEnd).toString('latin1');
  const charset = msh.split(msh.charAt(3))[17] ?? '';
  return /8859\/1|ISO-8859-1|LATIN1/i.test(charset) ? bytes.toString('latin1') : bytes.toString('utf8');
}

export function readCaseInput(mapping: CompiledMapping, file: string): MappingInput {
  if (mapping.input === 'hl7v2') return hl7Input(parseHl7(decodeHl7File(readFileSync(file))));
  return jsonInput(JSON.parse(readFileSync(file, 'utf8')) as unknown);
}

function runOne(mapping: CompiledMapping, input: MappingInput): MappingResult {
  const result = mapping.run(input);
  if (mapping.validate.length) validateFhirOutput(result.output, mapping.validate, result.fhirR4Checked);
  return result;
}

function caseInputs(mapping: CompiledMapping): { name: string; file: string }[] {
  const dir = mapping.casesDir;
  if (!existsSync(dir)) return [];
  const suffix = mapping.input === 'hl7v2' ? '.hl7' : '.input.json';
  return readdirSync(dir)
    .filter((f) => f.endsWith(suffix))
    .sort()
    .map((f) => ({ name: f.slice(0, -suffix.length), file: join(dir, f) }));
}

function runCase(mapping: CompiledMapping, name: string, file: string, update: boolean): MappingCaseResult {
  const base = join(mapping.casesDir, name);
  const result: MappingCaseResult = { mapping: mapping.id, mappingFile: mapping.file, name, inputFile: file, ok: false, problems: [] };
  const errorFile = `${base}.expected-error.txt`;
  const expectedFile = `${base}.expected.json`;
  const issuesFile = `${base}.expected-issues.txt`;
  let output: MappingResult | undefined;
  let error: string | undefined;
  let parseWarnings: readonly string[] = [];
  try {
    const input = readCaseInput(mapping, file);
    parseWarnings = input.message?.warnings ?? [];
    output = runOne(mapping, input);
  } catch (e) {
    error = reasonOf(e);
    const issues = (e as { issues?: readonly string[] }).issues;
    if (issues?.length) error += `\n${issues.join('\n')}`;
  }
  if (existsSync(errorFile)) {
    const want = readFileSync(errorFile, 'utf8').trim();
    if (error === undefined) result.problems.push(`expected an error containing "${want}", but the mapping succeeded`);
    else if (!error.includes(want)) result.problems.push(`expected an error containing "${want}", got: ${error}`);
    result.ok = result.problems.length === 0;
    return result;
  }
  if (error !== undefined || !output) {
    result.problems.push(`unexpected error: ${error}`);
    return result;
  }
  // What parsing accepted but warned about (e.g. a sloppy MSH-2) is listed as `parse: …`.
  const issueLines = [...parseWarnings.map((w) => `parse: ${w}`), ...output.issues.map((i) => `${i.target}: ${i.message}`)];
  if (update) {
    writeFileSync(expectedFile, `${JSON.stringify(output.output, null, 2)}\n`);
    if (issueLines.length) writeFileSync(issuesFile, `${issueLines.join('\n')}\n`);
  }
  if (!existsSync(expectedFile)) {
    result.problems.push(`no ${basename(expectedFile)} (run \`tramline test --update\` to write one, then review it)`);
    return result;
  }
  const expected = JSON.parse(readFileSync(expectedFile, 'utf8')) as unknown;
  result.problems.push(...diffJson(expected, output.output));
  const wantIssues = existsSync(issuesFile) ? readFileSync(issuesFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
  for (const w of wantIssues) if (!issueLines.includes(w)) result.problems.push(`warning expected but not given: ${w}`);
  for (const g of issueLines) if (!wantIssues.includes(g)) result.problems.push(`unexpected warning: ${g}`);
  result.ok = result.problems.length === 0;
  return result;
}

function mappingFilesIn(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    if (statSync(full).isDirectory()) {
      if (!['cases', 'codemaps', 'engine', 'functions', 'validate', 'node_modules'].includes(name)) mappingFilesIn(full, out);
    } else if (/\.ya?ml$/.test(name)) {
      if (/^id:\s*\S+/m.test(readFileSync(full, 'utf8')) && /^input:\s*\S+/m.test(readFileSync(full, 'utf8'))) out.push(full);
    }
  }
  return out;
}

/** Run the example cases of one mapping file, or of every mapping under a folder. */
export function runMappingCases(target: string, options: { update?: boolean } = {}): MappingCaseResult[] {
  const path = resolve(target);
  const files = statSync(path).isDirectory() ? mappingFilesIn(path) : [path];
  const results: MappingCaseResult[] = [];
  for (const file of files) {
    const mapping = loadMapping(file);
    for (const { name, file: input } of caseInputs(mapping)) results.push(runCase(mapping, name, input, options.update === true));
  }
  return results;
}

export function formatCaseResult(r: MappingCaseResult): string {
  if (r.ok) return `ok    ${r.mapping} › ${r.name}`;
  return [`FAIL  ${r.mapping} › ${r.name}  (${r.inputFile})`, ...r.problems.map((p) => `        ${p}`)].join('\n');
}
