// NHS number: ten digits, the last a Modulus 11 check digit (weights 10..2; 11 → 0; 10 is
// never valid). The check itself lives in core/nhs-number.ts.
import { InvalidValueError } from '../engine/invalid-value.js';
import { Args, text, type MappingFunction } from './types.js';
import { isValidNhsNumber, normaliseNhsNumber, nhsNumberCheckDigit } from '../../core/nhs-number.js';

export { normaliseNhsNumber, nhsNumberCheckDigit, isValidNhsNumber };

export const nhsNumberFunctions: MappingFunction[] = [
  {
    name: 'nhsNumber',
    args: Args([]),
    returns: 'NHS number (10 digits)',
    description: 'Normalise an NHS number (drop spaces/hyphens) and require a valid Modulus 11 check digit.',
    examples: [
      { input: '9434765919', output: '9434765919' },
      { input: '943 476 5919', output: '9434765919' },
      { input: '944-930-5552', output: '9449305552' },
      { input: '9434765918', error: 'fails the Modulus 11 check' },
      { input: '4123456879', error: 'fails the Modulus 11 check' },
      { input: '12345', error: 'not 10 digits' },
      { input: '', output: undefined },
    ],
    bind() {
      return (value) => {
        const t = text(value);
        if (t === undefined) return undefined;
        const n = normaliseNhsNumber(t);
        // The number itself is never put in the message: warnings can end up in logs.
        if (n === undefined) throw new InvalidValueError('NHS number is not 10 digits');
        if (!isValidNhsNumber(n)) throw new InvalidValueError('NHS number fails the Modulus 11 check');
        return n;
      };
    },
  },
  {
    name: 'isNhsNumber',
    args: Args([]),
    returns: 'boolean',
    description: 'true when the value is a valid NHS number (Modulus 11), else false; never fails.',
    examples: [
      { input: '9912003888', output: true },
      { input: '9912003889', output: false },
      { input: undefined, output: false },
    ],
    bind() {
      return (value) => {
        const t = text(value);
        return t !== undefined && isValidNhsNumber(t);
      };
    },
  },
];
