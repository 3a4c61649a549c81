// `tramline test [mappings…]`: run each mapping's example cases (input + expected output)
// and print a readable, path-addressed diff for every mismatch. Exit 1 if any case fails.
import type { Command } from 'commander';
import { reasonOf } from '../../../core/errors.js';
import type { MappingCaseResult } from '../../../mappings/engine/cases.js';

interface TestOptions {
  update?: boolean;
}

export function registerTestCommand(program: Command): void {
  program
    .command('test')
    .description("run mappings' example cases and show a diff for each mismatch")
    .argument('[mappings...]', 'mapping files, folders or shipped mapping ids (default: every shipped mapping)')
    .option('--update', 'write each actual output as the expected output (review the git diff afterwards)')
    .action(async (targets: string[], opts: TestOptions) => {
      // The mapping compiler and FHIR validators load only for this command.
      const { formatCaseResult, runMappingCases } = await import('../../../mappings/engine/cases.js');
      const { listMappings, MAPPINGS_DIR } = await import('../../../mappings/index.js');
      const results: MappingCaseResult[] = [];
      let broken = 0;
      for (const target of targets.length ? targets : [MAPPINGS_DIR]) {
        try {
          results.push(...runMappingCases(listMappings().get(target) ?? target, { update: opts.update }));
        } catch (e) {
          broken++;
          console.error(`tramline test: ${target}: ${reasonOf(e)}`);
        }
      }
      for (const r of results) (r.ok ? console.log : console.error)(formatCaseResult(r));
      const failed = results.filter((r) => !r.ok).length;
      console.log(`${results.length - failed} passed, ${failed} failed${broken ? `, ${broken} mapping(s) could not be loaded` : ''}`);
      if (failed || broken || (targets.length && !results.length)) process.exitCode = 1;
    });
}
