// Output validation: the FHIR R4 JSON Schema for every resource plus the UK Core rules.
// Anything found makes a ValidationError listing every issue; such output is never sent.
import { ValidationError } from '../../channels/errors.js';
import { checkResourceSchema } from './fhir-schema.js';
import { checkUkCoreBundle } from './uk-core.js';

export { warmFhirSchema } from './fhir-schema.js';
export { checkUkCoreBundle, NHS_NUMBER_SYSTEM } from './uk-core.js';

export type Check = 'fhir-r4' | 'uk-core';

/** The Bundle with its entries' resources left out (copied key by key: spreads are slow here). */
function bundleShell(bundle: Record<string, unknown>, entries: Record<string, unknown>[]): Record<string, unknown> {
  const shell: Record<string, unknown> = {};
  for (const k in bundle) if (k !== 'entry') shell[k] = bundle[k];
  if (entries.length) {
    const list: Record<string, unknown>[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i];
      const copy: Record<string, unknown> = {};
      for (const k in e) if (k !== 'resource') copy[k] = e[k];
      list[i] = copy;
    }
    shell.entry = list;
  }
  return shell;
}

/** Every problem with a FHIR resource or Bundle (empty when valid). */
export function fhirIssues(output: unknown, checks: readonly string[] = ['fhir-r4', 'uk-core']): string[] {
  if (output === null || typeof output !== 'object' || Array.isArray(output)) return ['output: not a FHIR resource'];
  const resource = output as Record<string, unknown>;
  const issues: string[] = [];
  const isBundle = resource.resourceType === 'Bundle';
  if (checks.includes('fhir-r4')) {
    if (isBundle) {
      // The Bundle shell without its resources, then each resource on its own: validating
      // through Bundle.entry.resource would go through the slow, unreadable ResourceList oneOf.
      const entries = Array.isArray(resource.entry) ? (resource.entry as Record<string, unknown>[]) : [];
      checkResourceSchema(bundleShell(resource, entries), 'Bundle', issues);
      for (let i = 0; i < entries.length; i++) {
        const r = entries[i].resource;
        if (r !== undefined) checkResourceSchema(r, i, issues);
      }
    } else {
      checkResourceSchema(resource, String(resource.resourceType ?? 'resource'), issues);
    }
  }
  if (isBundle && checks.includes('uk-core')) {
    const ukCore = checkUkCoreBundle(resource);
    for (let i = 0; i < ukCore.length; i++) issues.push(ukCore[i]);
  }
  return issues;
}

/** Throw a ValidationError carrying every issue unless the output is valid. */
export function validateFhirOutput(output: unknown, checks?: readonly string[]): void {
  const issues = fhirIssues(output, checks);
  if (issues.length) {
    throw new ValidationError(`FHIR output is invalid (${issues.length} issue${issues.length === 1 ? '' : 's'}): ${issues.slice(0, 3).join('; ')}`, issues);
  }
}
