// HL7 v2 composite data types → FHIR data types. Each takes one repetition from the JSON
// view (Component[], each component a list of subcomponents) as produced by paths such as
// `PID-5` or `@` inside `$forEach: PID-11`.
import type { CodeMap } from './codemap-store.js';
import { postcodeOf } from './postcode.js';
import { Choice } from '../../core/component.js';
import { Type } from '@sinclair/typebox';
import { Args, text, type BindEnv, type MappingFunction } from './types.js';

type Repetition = unknown[];

/** Component n (1-based), first subcomponent, '' → undefined. */
function comp(rep: Repetition, n: number, sub = 1): string | undefined {
  const c = rep[n - 1];
  if (Array.isArray(c)) return text(c[sub - 1]);
  return n === 1 && sub === 1 ? text(c) : undefined;
}

function asRepetition(value: unknown): Repetition | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  if (Array.isArray(value)) return value;
  return [[value]];
}

function present<T>(a: T | undefined, b?: T | undefined): T[] | undefined {
  if (a === undefined) return b === undefined ? undefined : [b];
  return b === undefined ? [a] : [a, b];
}

function mapped(map: CodeMap, code: string | undefined): unknown {
  if (code === undefined) return undefined;
  return map.lookup(code) ?? map.default;
}

function bindName(args: unknown[], env: BindEnv): (value: unknown) => unknown {
  const kind = args[0] ?? 'xpn';
  // XCN carries the person's id in component 1, so its name parts sit one place later.
  const o = kind === 'xcn' ? 1 : 0;
  const typeAt = kind === 'xcn' ? 10 : 7;
  const uses = env.codemap('hl7-0200-name-use');
  return (value) => {
    const rep = asRepetition(value);
    if (!rep) return undefined;
    const family = comp(rep, 1 + o);
    const given = present(comp(rep, 2 + o), comp(rep, 3 + o));
    if (family === undefined && given === undefined) return undefined;
    const use = mapped(uses, comp(rep, typeAt)) as string | undefined;
    const prefix = present(comp(rep, 5 + o));
    const suffix = present(comp(rep, 4 + o), comp(rep, 6 + o));
    const name: Record<string, unknown> = {};
    if (use) name.use = use;
    if (family !== undefined) name.family = family;
    if (given) name.given = given;
    if (prefix) name.prefix = prefix;
    if (suffix) name.suffix = suffix;
    return name;
  };
}

export const hl7TypeFunctions: MappingFunction[] = [
  {
    name: 'hl7Name',
    description: 'XPN (or XCN with argument `xcn`) → HumanName: family, given, prefix, suffix, use from table 0200.',
    usage: 'hl7Name  |  { hl7Name: xcn }',
    args: Args([], [{ ...Choice(['xpn', 'xcn']), title: 'type', description: 'The HL7 data type of the value: xpn (default) or xcn.' }]),
    returns: 'HumanName',
    examples: [
      {
        input: [['SMITH'], ['FREDRICA'], ['J'], [''], ['MRS'], [''], ['L']],
        output: { use: 'official', family: 'SMITH', given: ['FREDRICA', 'J'], prefix: ['MRS'] },
      },
      {
        input: [['C3456789'], ['Darwin'], ['Samuel'], [''], [''], ['Dr'], [''], [''], ['GMC']],
        args: ['xcn'],
        output: { family: 'Darwin', given: ['Samuel'], prefix: ['Dr'] },
      },
      { input: [[''], ['']], output: undefined },
    ],
    bind: bindName,
  },
  {
    name: 'hl7Address',
    args: Args([]),
    returns: 'Address',
    description: 'XAD → Address: lines, city, district (county), postcode, country, use/type from table 0190.',
    examples: [
      {
        input: [['29 WEST AVENUE'], ['BURYTHORPE'], ['MALTON'], ['NORTH YORKSHIRE'], ['yo325tt'], ['GBR'], ['H']],
        output: {
          use: 'home',
          line: ['29 WEST AVENUE', 'BURYTHORPE'],
          city: 'MALTON',
          district: 'NORTH YORKSHIRE',
          postalCode: 'YO32 5TT',
          country: 'GBR',
        },
      },
      { input: [['1 High St'], [''], ['Leeds'], [''], ['LS1 1AA'], [''], ['M']], output: { type: 'postal', line: ['1 High St'], city: 'Leeds', postalCode: 'LS1 1AA' } },
    ],
    bind(_args, env) {
      const uses = env.codemap('hl7-0190-address-use');
      return (value) => {
        const rep = asRepetition(value);
        if (!rep) return undefined;
        const line = present(comp(rep, 1), comp(rep, 2));
        const city = comp(rep, 3);
        const district = comp(rep, 4);
        const postalCode = postcodeOf(comp(rep, 5));
        const country = comp(rep, 6);
        if (!line && !city && !district && !postalCode && !country) return undefined;
        const useType = mapped(uses, comp(rep, 7)) as { use?: string; type?: string } | undefined;
        // Built in one go, in FHIR element order (spreads and deletes are slow here).
        const address: Record<string, unknown> = {};
        if (useType?.use) address.use = useType.use;
        if (useType?.type) address.type = useType.type;
        if (line) address.line = line;
        if (city) address.city = city;
        if (district) address.district = district;
        if (postalCode) address.postalCode = postalCode;
        if (country) address.country = country;
        return address;
      };
    },
  },
  {
    name: 'hl7Telecom',
    args: Args([]),
    returns: 'ContactPoint',
    description: 'XTN → ContactPoint: system from equipment type (phone, email, fax, pager), use from table 0201 (CP → mobile).',
    examples: [
      { input: [['+441234567890']], output: { system: 'phone', value: '+441234567890' } },
      { input: [['01632 960123'], ['PRN'], ['CP']], output: { system: 'phone', value: '01632 960123', use: 'mobile' } },
      { input: [[''], ['NET'], ['Internet'], ['ann@example.org']], output: { system: 'email', value: 'ann@example.org', use: 'home' } },
      { input: [[''], ['WPN'], ['PH'], [''], ['44'], ['1632'], ['960456'], ['22']], output: { system: 'phone', value: '+44 1632 960456 ext. 22', use: 'work' } },
    ],
    bind(_args, env) {
      const uses = env.codemap('hl7-0201-telecom-use');
      return (value) => {
        const rep = asRepetition(value);
        if (!rep) return undefined;
        const useCode = comp(rep, 2);
        const equipment = comp(rep, 3);
        const isEmail = equipment === 'Internet' || equipment === 'X.400' || useCode === 'NET';
        let v = isEmail ? (comp(rep, 4) ?? comp(rep, 1)) : comp(rep, 1);
        if (v === undefined && !isEmail) {
          const local = comp(rep, 7);
          if (local !== undefined) {
            const country = comp(rep, 5);
            const area = comp(rep, 6);
            const ext = comp(rep, 8);
            v = [country && `+${country}`, area, local].filter(Boolean).join(' ') + (ext ? ` ext. ${ext}` : '');
          }
        }
        if (v === undefined) return undefined;
        const system = isEmail ? 'email' : equipment === 'FX' ? 'fax' : equipment === 'BP' ? 'pager' : 'phone';
        const use = equipment === 'CP' ? 'mobile' : (mapped(uses, useCode) as string | undefined);
        return use ? { system, value: v, use } : { system, value: v };
      };
    },
  },
  {
    name: 'hl7Coding',
    description:
      'CE/CWE → CodeableConcept: identifier, text and coding system (names such as I10, ICD10, SCT, OPCS4 via codemap coding-systems), plus the alternate code. Optional argument: the system name to assume when none is sent.',
    usage: 'hl7Coding  |  { hl7Coding: ICD10 }',
    args: Args([], [Type.String({ title: 'system', description: 'Coding system name to assume when the value names none (e.g. ICD10).' })]),
    returns: 'CodeableConcept',
    examples: [
      {
        input: [['J03.0'], ['Streptococcal tonsillitis'], ['I10']],
        output: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'J03.0', display: 'Streptococcal tonsillitis' }] },
      },
      { input: [['Z88.5']], args: ['ICD10'], output: { coding: [{ system: 'http://hl7.org/fhir/sid/icd-10', code: 'Z88.5' }] } },
      { input: [['LOCAL1'], ['Penicillin'], ['99ZZZ']], output: { coding: [{ code: 'LOCAL1', display: 'Penicillin' }] } },
      { input: [[''], ['Penicillin']], output: { text: 'Penicillin' } },
    ],
    bind(args, env) {
      const fallback = args[0] === undefined ? undefined : String(args[0]);
      const systems = env.codemap('coding-systems');
      const coding = (code: string | undefined, display: string | undefined, system: string | undefined) => {
        if (code === undefined) return undefined;
        const uri = mapped(systems, system ?? fallback) as string | undefined;
        const c: Record<string, string> = {};
        if (uri) c.system = uri;
        c.code = code;
        if (display !== undefined) c.display = display;
        return c;
      };
      return (value) => {
        const rep = asRepetition(value);
        if (!rep) return undefined;
        const codings = present(coding(comp(rep, 1), comp(rep, 2), comp(rep, 3)), coding(comp(rep, 4), comp(rep, 5), comp(rep, 6)));
        if (codings) return { coding: codings };
        const t = comp(rep, 2);
        return t === undefined ? undefined : { text: t };
      };
    },
  },
  {
    name: 'hl7Component',
    description: 'Component n (1-based, first subcomponent) of a repetition, for use in `$fn` chains on a whole repetition.',
    usage: '{ hl7Component: 4 }',
    args: Args([Type.Integer({ title: 'n', minimum: 1, description: 'Component number, 1-based.' })]),
    returns: 'text',
    examples: [{ input: [['2139'], [''], [''], ['VISITID']], args: [4], output: 'VISITID' }],
    bind(args) {
      const n = Number(args[0]);
      return (value) => {
        const rep = asRepetition(value);
        return rep ? comp(rep, n) : undefined;
      };
    },
  },
];
