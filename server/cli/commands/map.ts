// `tramline map --mapping <file|id> --input <file> [--out <file>]`: dry-run one mapping on
// one input and print the result. Warnings go to stderr; a bad input, a mapping error or
// invalid output prints a clear reason (and every validation issue) and exits non-zero.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { reasonOf } from '../../../core/errors.js';

interface MapOptions {
  mapping: string;
  input: string;
  out?: string;
  validate: boolean;
  param: string[];
}

function collectParam(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerMapCommand(program: Command): void {
  program
    .command('map')
    .description('dry-run one mapping on one input file and print the result (FHIR JSON)')
    .requiredOption('--mapping <file|id>', 'mapping file, or the id of a shipped mapping (e.g. hl7v2-adt-to-fhir)')
    .requiredOption('--input <file>', 'input file: an HL7 v2 message, or a JSON record for json mappings')
    .option('--out <file>', 'write the result here instead of stdout')
    .option('--no-validate', 'skip the output checks the mapping declares (FHIR R4 schema, UK Core)')
    .option('--param <name=value>', 'a value for one of the mapping\'s params (repeatable)', collectParam, [])
    .action(async (opts: MapOptions) => {
      // The mapping compiler and FHIR validators load only for this command.
      const { readCaseInput } = await import('../../../mappings/engine/cases.js');
      const { loadMappingById } = await import('../../../mappings/index.js');
      const { validateFhirOutput } = await import('../../../mappings/validate/index.js');
      try {
        const mapping = loadMappingById(opts.mapping);
        const input = readCaseInput(mapping, opts.input);
        for (const p of opts.param) {
          const eq = p.indexOf('=');
          if (eq < 1) throw new Error(`--param ${p}: expected name=value`);
          input.vars = { ...input.vars, [p.slice(0, eq)]: p.slice(eq + 1) };
        }
        for (const warning of input.message?.warnings ?? []) console.error(`warning: ${warning}`);
        const result = mapping.run(input);
        for (const issue of result.issues) console.error(`warning: ${issue.file}:${issue.line ?? '?'}: ${issue.source ? `${issue.source} → ` : ''}${issue.target}: ${issue.message}`);
        if (opts.validate && mapping.validate.length) validateFhirOutput(result.output, mapping.validate, result.fhirR4Checked);
        const json = `${JSON.stringify(result.output, null, 2)}\n`;
        if (opts.out) writeFileSync(opts.out, json);
        else process.stdout.write(json);
      } catch (e) {
        console.error(`tramline map: ${reasonOf(e)}`);
        const issues = (e as { issues?: readonly string[] }).issues;
        for (const issue of issues ?? []) console.error(`  ${issue}`);
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') console.error(`  (no such file: ${(e as NodeJS.ErrnoException).path})`);
        process.exitCode = 1;
      }
    });
}
