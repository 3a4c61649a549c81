// The one HL7 path grammar (core/hl7/path.ts): every notation it accepts, every bad one it
// refuses and why; the message accessors' reading of it; and the mapping compiler's two
// readers (every match, first match), which must agree and refuse the same `@` misuse.
import { describe, expect, it } from '@jest/globals';
import { MappingError, ParseError } from '../../core/errors.js';
import { parseHl7Path, parseComponentRef, type Hl7Path } from '../../core/hl7/path.js';
import { materializeSegment, type Segment } from '../../core/hl7/model.js';
import { toView } from '../../core/hl7/views.js';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { compileHl7ItemKey, compileHl7Path, compileHl7PathFirst, type Hl7Level } from '../../mappings/engine/hl7-path.js';
import { LazySegments, ViewSegments, type SegmentSource } from '../../mappings/engine/hl7-input.js';
import { loadMapping } from '../../mappings/engine/load.js';
import { ADT_A01_SEGMENTS } from './hl7v2-fixtures.js';

const path = (p: Partial<Hl7Path>): Hl7Path => ({
  relative: false,
  segment: undefined,
  occurrence: undefined,
  field: undefined,
  repetition: undefined,
  conditions: [],
  component: undefined,
  subcomponent: undefined,
  ...p,
});

function parseError(text: string, options?: Parameters<typeof parseHl7Path>[1]): ParseError {
  try {
    parseHl7Path(text, options);
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error(`"${text}" parsed but should not have`);
}

describe('HL7 path grammar: accepted notation', () => {
  it.each<[string, Partial<Hl7Path>]>([
    ['PID', { segment: 'PID' }],
    ['PID-3', { segment: 'PID', field: 3 }],
    ['PID-5.1', { segment: 'PID', field: 5, component: 1 }],
    ['PID-5.1.2', { segment: 'PID', field: 5, component: 1, subcomponent: 2 }],
    ['PID-3[2]', { segment: 'PID', field: 3, repetition: 2 }],
    ['PID-3[2].1.2', { segment: 'PID', field: 3, repetition: 2, component: 1, subcomponent: 2 }],
    ['PID-3[*]', { segment: 'PID', field: 3 }],
    ['PID-3[*].1', { segment: 'PID', field: 3, component: 1 }],
    ['NK1[2]', { segment: 'NK1', occurrence: 2 }],
    ['NK1[2]-2', { segment: 'NK1', occurrence: 2, field: 2 }],
    ['NK1[*]-2.1', { segment: 'NK1', field: 2, component: 1 }],
    ['MSH-9.2', { segment: 'MSH', field: 9, component: 2 }],
    ['ZU1-3', { segment: 'ZU1', field: 3 }],
    ['1AB-2', { segment: '1AB', field: 2 }],
    ['PID-03', { segment: 'PID', field: 3 }],
    ['  PID-3  ', { segment: 'PID', field: 3 }],
    ['PID-3(CX.5=NH).1', { segment: 'PID', field: 3, component: 1, conditions: [{ component: 5, subcomponent: 1, op: '=', value: 'NH' }] }],
    ['PID-3(5=NH)', { segment: 'PID', field: 3, conditions: [{ component: 5, subcomponent: 1, op: '=', value: 'NH' }] }],
    [
      'PID-3[*](CX.5!=MR; CX.4.2 ^= RX ).1',
      {
        segment: 'PID',
        field: 3,
        component: 1,
        conditions: [
          { component: 5, subcomponent: 1, op: '!=', value: 'MR' },
          { component: 4, subcomponent: 2, op: '^=', value: 'RX' },
        ],
      },
    ],
    ['PID-3(CX.5=)', { segment: 'PID', field: 3, conditions: [{ component: 5, subcomponent: 1, op: '=', value: '' }] }],
    ['@', { relative: true }],
    ['@.4', { relative: true, component: 4 }],
    ['@.4.2', { relative: true, component: 4, subcomponent: 2 }],
    ['@-3', { relative: true, field: 3 }],
    ['@-3.1', { relative: true, field: 3, component: 1 }],
    ['@-3[2](CX.5=NH).1.1', { relative: true, field: 3, repetition: 2, component: 1, subcomponent: 1, conditions: [{ component: 5, subcomponent: 1, op: '=', value: 'NH' }] }],
  ])('%s', (text, expected) => {
    expect(parseHl7Path(text)).toEqual(path(expected));
  });

  it('`PID.3` for `PID-3` where the accessors ask for it (dotAfterSegment)', () => {
    const dot = { dotAfterSegment: true };
    expect(parseHl7Path('PID.3', dot)).toEqual(parseHl7Path('PID-3'));
    expect(parseHl7Path('PID.5.2', dot)).toEqual(parseHl7Path('PID-5.2'));
    expect(parseHl7Path('NK1[2].3.1', dot)).toEqual(parseHl7Path('NK1[2]-3.1'));
    // `@.4` is a component of the loop item either way.
    expect(parseHl7Path('@.4', dot)).toEqual(parseHl7Path('@.4'));
  });

  it('component references (filters, $where keys)', () => {
    expect(parseComponentRef('CX.5')).toEqual({ component: 5, subcomponent: 1 });
    expect(parseComponentRef('5.2')).toEqual({ component: 5, subcomponent: 2 });
    expect(parseComponentRef('CX.0')).toBeUndefined();
    expect(parseComponentRef('cx.5')).toBeUndefined();
  });
});

describe('HL7 path grammar: refused notation says what is wrong', () => {
  it.each([
    ['', 'is empty'],
    ['   ', 'is empty'],
    ['pid-3', 'a segment id is 3 upper-case letters or digits'],
    ['PI-3', 'does not start with a segment id'],
    ['PIDX-3', 'does not start with a segment id'],
    ['-3', 'does not start with a segment id'],
    ['PID.3', 'write PID-3: "-" comes before the field number, "." before a component'],
    ['NK1[2].3', 'write NK1[2]-3'],
    ['PID-', 'ends where a field number should be'],
    ['PID-x', 'expected a field number at "x"'],
    ['PID-0', 'field 0: positions are 1-based'],
    ['PID-3[0]', 'repetition 0: positions are 1-based'],
    ['NK1[0]-2', 'segment occurrence 0: positions are 1-based'],
    ['PID-5.0', 'component 0: positions are 1-based'],
    ['PID-5.1.0', 'subcomponent 0: positions are 1-based'],
    ['@.0', 'component 0: positions are 1-based'],
    ['PID-3[x]', 'expected a repetition number at "x]"'],
    ['PID-3[2', '"[" after a repetition needs a number or * and "]"'],
    ['NK1[', 'ends where a segment occurrence number should be'],
    ['PID-5.', 'ends where a component number should be'],
    ['PID(CX.5=NH)', 'a filter needs a field'],
    ['PID-3(CX.5)', 'filter "CX.5" must look like CX.5=NH (operators =, !=, ^=)'],
    ['PID-3()', 'filter "" must look like CX.5=NH'],
    ['PID-3(CX.5=NH', 'a filter is one "(…)" after the field'],
    ['PID-3((CX.5=NH))', 'a filter is one "(…)" after the field'],
    ['PID-3(CX.0=NH)', 'filter "CX.0=NH": positions are 1-based'],
    ['PID-3.1(CX.5=NH)', 'a filter follows a field'],
    ['PID-3.1.2.3', 'unexpected ".3": a path ends at the subcomponent'],
    ['PID-3-4', 'unexpected "-4" (e.g. PID-3'],
    ['PID-3 x', 'unexpected " x"'],
    ['@3', 'unexpected "3"'],
    ['@[2]', 'a filter or repetition follows a field'],
    ['@(CX.5=NH)', 'a filter or repetition follows a field'],
  ])('%j', (text, why) => {
    const err = parseError(text);
    expect(err.message.startsWith(`HL7 path "${text}": `)).toBe(true);
    expect(err.message).toContain(why);
    expect(err.location).toBe(text);
  });

  it.each([
    ['PID-3[*]', '[*] names every occurrence or repetition; this reads one position'],
    ['NK1[*]-2', '[*] names every occurrence or repetition'],
    ['PID-3(CX.5=NH).1', 'a filter can match several repetitions; this reads one position'],
    ['@.1', '"@" (a mapping\'s loop item) needs a $forEach'],
    ['@-3', '"@" (a mapping\'s loop item) needs a $forEach'],
  ])('one position only: %s', (text, why) => {
    expect(() => parseHl7Path(text)).not.toThrow(); // a good mapping path
    expect(parseError(text, { onePosition: true, dotAfterSegment: true }).message).toContain(why);
  });
});

describe('the message accessors read the grammar at one position', () => {
  const msg = parseHl7(ADT_A01_SEGMENTS.join('\r') + '\rNK1|2|TESTPATIENT^Jo^^^Mr|SON^Son');

  it('`PID.3` still reads PID-3, as it always did', () => {
    expect(msg.get('PID.3')).toBe(msg.get('PID-3'));
    expect(msg.get('PID.5.2')).toBe('Alex');
    expect(msg.getAll('PID.3.5')).toEqual(['NH', 'MR']);
    expect(msg.getRaw('PID.3[2]')).toBe('RX1000123^^^RX1^MR');
    expect(msg.get('NK1[2].3')).toBe('SON');
  });

  it('a segment without [n] is its first occurrence; a field without [n] its first repetition (getAll: every one)', () => {
    expect(msg.get('NK1-3')).toBe('SPO');
    expect(msg.get('PID-3')).toBe('9434765919');
    expect(msg.getAll('PID-3')).toEqual(['9434765919', 'RX1000123']);
  });

  it('refuses what names several positions, and bad notation, with ParseError', () => {
    for (const bad of ['PID-3[*]', 'NK1[*]-2', 'PID-3(CX.5=NH).1', '@.1', 'PID-0', 'pid-3', 'PID-3[0]']) {
      expect(() => msg.get(bad)).toThrow(ParseError);
      expect(() => msg.getAll(bad)).toThrow(ParseError);
      expect(() => msg.getRaw(bad)).toThrow(ParseError);
    }
    expect(() => msg.segment('PID')?.get('3[*]')).toThrow(ParseError);
  });
});

describe('mapping readers: every match and first match', () => {
  const text = ADT_A01_SEGMENTS.join('\r') + '\rNK1|2|TESTPATIENT^Jo^^^Mr|SON^Son\rNK1|3||\rOBX|1|ST|X^Y||a~~b^c&d~\\T\\e';
  const msg = parseHl7(text);
  const view = toView(msg);
  const sources: [string, () => SegmentSource][] = [
    ['lazy views of the message', () => new LazySegments(msg)],
    ['a whole JSON view', () => new ViewSegments(view)],
  ];
  const topLevel = [
    'PID', 'PID-3', 'PID-3[2]', 'PID-3[*]', 'PID-3[3]', 'PID-3.1', 'PID-3[2].5', 'PID-3.4.2', 'PID-5.2', 'PID-99', 'PID-99.1',
    'PID-3(CX.5=MR).1', 'PID-3(CX.5!=NH)', 'PID-3(CX.4^=RX;CX.5=MR).4', 'PID-3(CX.5=XX).1',
    'NK1', 'NK1-2.2', 'NK1[2]-2.2', 'NK1[3]-2', 'NK1[4]-2', 'NK1-3', 'NK1[*]-3.1', 'OBX-5', 'OBX-5.1', 'OBX-5.2.2', 'OBX-5[3].1',
    'MSH-1', 'MSH-2', 'MSH-9.2', 'ZZZ-1', 'ZZZ',
  ];

  // Fresh compiled readers per source: a reader remembers the segments of the last view it read.
  function agree(p: string, itemLevel: Hl7Level | undefined, item: unknown, source: SegmentSource): number {
    const parsed = parseHl7Path(p);
    const readItem = itemLevel ? () => item : undefined;
    const all = compileHl7Path(parsed, itemLevel, readItem, undefined)(source, []);
    const first = compileHl7PathFirst(parsed, itemLevel, readItem, undefined)(source, []);
    const materialized = (v: unknown) => (Array.isArray(v) && Array.isArray(v[0]) && Array.isArray(v[0][0]) && Array.isArray(v[0][0][0]) ? materializeSegment(v as Segment, source.separators) : v);
    expect({ path: p, first: materialized(first) }).toEqual({ path: p, first: materialized(all[0]) });
    for (const m of all) expect(m === '' || m === undefined).toBe(false);
    return all.length;
  }

  it.each(sources)('agree on top-level paths (%s)', (_name, source) => {
    let found = 0;
    for (const p of topLevel) found += agree(p, undefined, undefined, source());
    expect(found).toBeGreaterThan(25); // most paths match something: the readers are compared on real values
  });

  it.each(sources)('agree on @ paths for each kind of loop item (%s)', (_name, source) => {
    const s = source();
    const nk1 = view.NK1[0];
    for (const p of ['@', '@-2', '@-2.2', '@-3[*].1', '@-2(XPN.1^=TEST).2', '@-99', '@.1']) agree(p, 'segment', nk1, s);
    agree('@', 'segment', undefined, s);
    const rep = view.PID[0][3][1];
    for (const p of ['@', '@.1', '@.4', '@.4.2', '@.9']) agree(p, 'repetition', rep, s);
    for (const p of ['@', '@.1']) agree(p, 'repetition', undefined, s);
    for (const item of ['X', '', undefined]) agree('@', 'value', item, s);
  });

  it('refuse the same @ misuse with the same message', () => {
    const misuse: [string, Hl7Level | undefined, boolean, string][] = [
      ['@', undefined, false, '"@" is only meaningful inside $forEach or $use … $with'],
      ['@.1', undefined, false, '"@" is only meaningful inside $forEach'],
      ['@-3.1', undefined, false, '"@" is only meaningful inside $forEach'],
      ['@-3', 'repetition', true, '"@-n" needs the loop item to be a segment'],
      ['@-3.1', 'value', true, '"@-n" needs the loop item to be a segment'],
      ['@.1', 'value', true, '"@.n" needs the loop item to be a field repetition'],
    ];
    for (const [p, level, hasItem, message] of misuse) {
      const parsed = parseHl7Path(p);
      const readItem = hasItem ? () => undefined : undefined;
      expect(() => compileHl7Path(parsed, level, readItem, undefined)).toThrow(message);
      expect(() => compileHl7PathFirst(parsed, level, readItem, undefined)).toThrow(message);
    }
  });

  it('a mapping naming a bad path or misusing @ fails to load, naming the path', () => {
    const load = (yaml: string): string => {
      try {
        loadMapping('/virtual/hl7-path.yaml', yaml);
      } catch (e) {
        expect(e).toBeInstanceOf(MappingError);
        return (e as Error).message;
      }
      throw new Error('mapping loaded but should not have');
    };
    expect(load('id: t\ninput: hl7v2\noutput:\n  a: { $path: "PID.3" }\n')).toContain('HL7 path "PID.3": write PID-3');
    expect(load('id: t\ninput: hl7v2\noutput:\n  a: { $path: "PID-0" }\n')).toContain('field 0: positions are 1-based');
    expect(load('id: t\ninput: hl7v2\noutput:\n  a: { $forEach: PID-3, $do: { $path: "@-3.1" } }\n')).toContain('"@-3.1": "@-n" needs the loop item to be a segment');
    expect(load('id: t\ninput: hl7v2\noutput:\n  a: { $forEach: PID-3.1, $do: { $path: "@.1" } }\n')).toContain('"@.1": "@.n" needs the loop item to be a field repetition');
  });

  it('$where keys are component references, 1-based', () => {
    expect(compileHl7ItemKey('CX.5', 'repetition')(view.PID[0][3][1])).toBe('MR');
    expect(compileHl7ItemKey('3.1', 'segment')(view.PID[0])).toBe('9434765919');
    expect(() => compileHl7ItemKey('CX.0', 'repetition')).toThrow('1-based');
    expect(() => compileHl7ItemKey('0', 'segment')).toThrow('1-based');
  });
});
