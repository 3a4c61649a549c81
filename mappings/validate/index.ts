// Output validation: the FHIR R4 JSON Schema for every resource plus the UK Core rules.
// Anything found makes a ValidationError listing every issue; such output is never sent.
import { ValidationError } from '../../core/errors.js';
import { BUNDLE_SHELL, checkResourceSchema } from './fhir-schema.js';
import { checkUkCoreBundle } from './uk-core.js';
import type { MappingResult } from '../engine/types.js';

export { warmFhirSchema } from './fhir-schema.js';
export { checkUkCoreBundle, NHS_NUMBER_SYSTEM } from './uk-core.js';

export type Check = 'fhir-r4' | 'uk-core';

const ALL_CHECKS: readonly Check[] = ['fhir-r4', 'uk-core'];

/**
 * Every problem with a FHIR resource or Bundle (empty when valid). `checked`: a mapping run's
 * `fhirR4Checked`, when its planned check passed: the FHIR R4 schema is then not checked again.
 */
export function fhirIssues(output: unknown, checks: readonly string[] = ALL_CHECKS, checked?: MappingResult['fhirR4Checked']): string[] {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return ['output: not a FHIR resource'];
  const resource = output as Record<string, unknown>;
  const issues: string[] = [];
  const isBundle = resource.resourceType === 'Bundle';
  // The schema walk collects the bundle's references for the UK Core check; if it found a
  // problem (and so stopped early) or did not run, that check walks the resources itself.
  let references: readonly string[] | undefined;
  if (checked !== undefined) references = checked.references;
  else if (checks.includes('fhir-r4')) {
    if (isBundle) {
      // The Bundle without looking into its resources, then each resource on its own.
      const entries = Array.isArray(resource.entry) ? (resource.entry as Record<string, unknown>[]) : [];
      checkResourceSchema(resource, 'Bundle', issues, BUNDLE_SHELL);
      const collected: string[] = [];
      for (let i = 0; i < entries.length; i++) {
        const e = entries[i];
        const r = e !== null && typeof e === 'object' ? e.resource : undefined;
        if (r !== undefined) checkResourceSchema(r, i, issues, undefined, collected);
      }
      references = issues.length ? undefined : collected;
    } else {
      checkResourceSchema(resource, String(resource.resourceType ?? 'resource'), issues);
    }
  }
  if (isBundle && checks.includes('uk-core')) {
    const ukCore = checkUkCoreBundle(resource, references);
    for (let i = 0; i < ukCore.length; i++) issues.push(ukCore[i]);
  }
  return issues;
}

/** Throw a ValidationError carrying every issue unless the output is valid (`checked`: see fhirIssues). */
export function validateFhirOutput(output: unknown, checks?: readonly string[], checked?: MappingResult['fhirR4Checked']): void {
  const issues = fhirIssues(output, checks, checked);
  if (issues.length) {
    throw new ValidationError(`FHIR output is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}): ${issues.slice(0, 3).join('; ')}`, issues);
  }
}
