// Code map lookups: `{ codemap: <name> }` translates a code through mappings/codemaps/<name>.yaml.
import { InvalidValueError } from '../engine/invalid-value.js';
import { Type } from '@sinclair/typebox';
import { Choice } from '../../core/component.js';
import { Args, stringArg, text, type MappingFunction } from './types.js';

export const codeFunctions: MappingFunction[] = [
  {
    name: 'codemap',
    description:
      'Translate a code through mappings/codemaps/<name>.yaml. A missing code gives the map\'s `default`, else follows its `unmapped` rule (error, omit, keep).',
    usage: '{ codemap: hl7-0001-gender }  |  { codemap: [nhs-number-verification-status, omit] }',
    args: Args(
      [Type.String({ title: 'name', minLength: 1, description: 'Code map: codemaps/<name>.yaml beside the mapping, else the shipped one.' })],
      [{ ...Choice(['error', 'omit', 'keep']), title: 'unmapped', description: "What to do with a code the map lacks, instead of the map's own `unmapped` rule." }],
    ),
    returns: 'code or coding',
    examples: [
      { input: 'F', args: ['hl7-0001-gender'], output: 'female' },
      { input: '2', args: ['hl7-0001-gender'], output: 'female' },
      { input: 'Q', args: ['hl7-0001-gender'], output: 'unknown' },
      {
        input: 'NSTS01',
        args: ['nhs-number-verification-status'],
        output: { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '01', display: 'Number present and verified' },
      },
      { input: 'NH{status:02}', args: ['nhs-number-verification-status'], output: { system: 'https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland', code: '02', display: 'Number present but not traced' } },
      { input: 'XX', args: ['nhs-number-verification-status'], error: 'not in code map' },
      { input: 'NH', args: ['nhs-number-verification-status', 'omit'], output: undefined },
      { input: 'ZZ', args: ['hl7-0127-allergy-category', 'keep'], output: 'ZZ' },
    ],
    bind(args, env) {
      const name = stringArg('codemap', args, 0);
      const map = env.codemap(name);
      const override = args[1];
      const unmapped = (override ?? map.unmapped) as 'error' | 'omit' | 'keep';
      return (value) => {
        const code = text(value)?.trim();
        if (code === undefined || code === '') return undefined;
        const hit = map.lookup(code);
        if (hit !== undefined) return hit;
        if (map.default !== undefined) return map.default;
        if (unmapped === 'omit') return undefined;
        if (unmapped === 'keep') return code;
        throw new InvalidValueError(`code "${code}" is not in code map ${name}`);
      };
    },
  },
];
