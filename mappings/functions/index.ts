// The named function library mappings call through `$fn`. Each function documents itself
// and carries examples that test/unit/mapping-functions.test.ts runs.
import { codeFunctions } from './codes.js';
import { dateFunctions } from './dates.js';
import { hl7TypeFunctions } from './hl7-types.js';
import { idFunctions } from './ids.js';
import { nhsNumberFunctions } from './nhs-number.js';
import { stringFunctions } from './strings.js';
import type { MappingFunction } from './types.js';

export type { MappingFunction, BindEnv, FunctionExample } from './types.js';

export const FUNCTIONS: ReadonlyMap<string, MappingFunction> = new Map(
  [...dateFunctions, ...nhsNumberFunctions, ...stringFunctions, ...hl7TypeFunctions, ...codeFunctions, ...idFunctions].map((f) => [f.name, f]),
);

export function getFunction(name: string): MappingFunction | undefined {
  return FUNCTIONS.get(name);
}
