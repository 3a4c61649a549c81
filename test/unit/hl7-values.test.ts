// Hl7Message.forEachValue / Hl7Segment.forEachValue: every decoded value with its position,
// the values a walk of toView meets, without building the view.
import { describe, expect, test } from '@jest/globals';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import type { Hl7Message } from '../../core/hl7/message.js';
import { toView } from '../../core/hl7/views.js';
import { ADT_A01 } from './hl7v2-fixtures.js';

type Visit = [value: string, segment: number, field: number, repetition: number, component: number, subcomponent: number];

function visits(msg: Hl7Message): Visit[] {
  const out: Visit[] = [];
  msg.forEachValue((...v) => out.push(v));
  return out;
}

/** The same list read from the JSON view, field by field (index 0, the id, is not a value). */
function viewVisits(msg: Hl7Message): Visit[] {
  const view = toView(msg);
  const seen: Record<string, number> = {};
  const out: Visit[] = [];
  msg.segmentIds.forEach((id, i) => {
    const seg = view[id][(seen[id] = (seen[id] ?? -1) + 1)];
    for (let f = 1; f < seg.length; f++) {
      seg[f].forEach((rep, r) => rep.forEach((comp, c) => comp.forEach((v, s) => out.push([v, i, f, r + 1, c + 1, s + 1]))));
    }
  });
  return out;
}

const MSH = 'MSH|^~\\&|APP||||||ADT^A01|C1|P|2.4';

describe('forEachValue', () => {
  test('edge cases: empty components, repeated and trailing delimiters, escapes in subcomponents', () => {
    const msg = parseHl7(`${MSH}\rNTE|1||a^^b&&c^|~~x|\\T\\&y\\F\\^\\E\\|^|`);
    expect(visits(msg)).toEqual([
      ['|', 0, 1, 1, 1, 1],
      ['^~\\&', 0, 2, 1, 1, 1],
      ['APP', 0, 3, 1, 1, 1],
      // MSH-4 to MSH-8 are empty: no values.
      ['ADT', 0, 9, 1, 1, 1],
      ['A01', 0, 9, 1, 2, 1],
      ['C1', 0, 10, 1, 1, 1],
      ['P', 0, 11, 1, 1, 1],
      ['2.4', 0, 12, 1, 1, 1],
      ['1', 1, 1, 1, 1, 1],
      // NTE-2 is empty. NTE-3 `a^^b&&c^`: an empty component, empty subcomponents, a trailing `^`.
      ['a', 1, 3, 1, 1, 1],
      ['', 1, 3, 1, 2, 1],
      ['b', 1, 3, 1, 3, 1],
      ['', 1, 3, 1, 3, 2],
      ['c', 1, 3, 1, 3, 3],
      ['', 1, 3, 1, 4, 1],
      // NTE-4 `~~x`: two empty repetitions, then x.
      ['', 1, 4, 1, 1, 1],
      ['', 1, 4, 2, 1, 1],
      ['x', 1, 4, 3, 1, 1],
      // NTE-5: escapes decoded inside subcomponents; an escaped `&` does not split.
      ['&', 1, 5, 1, 1, 1],
      ['y|', 1, 5, 1, 1, 2],
      ['\\', 1, 5, 1, 2, 1],
      // NTE-6 `^`: two empty components. NTE-7 (after the trailing `|`) is empty.
      ['', 1, 6, 1, 1, 1],
      ['', 1, 6, 1, 2, 1],
    ]);
  });

  test('custom separators and a segment with no fields', () => {
    const msg = parseHl7('MSH#*$!@#APP#FAC#RAPP#RFAC#20260101##ADT*A04#C9#P#2.5\rZZ1\rPID#1##9449305552**NHS@x*NH$MRN1##Doe*Jane!S!ne#');
    const pid = visits(msg).filter((v) => v[1] === 2);
    expect(pid).toEqual([
      ['1', 2, 1, 1, 1, 1],
      ['9449305552', 2, 3, 1, 1, 1],
      ['', 2, 3, 1, 2, 1],
      ['NHS', 2, 3, 1, 3, 1],
      ['x', 2, 3, 1, 3, 2],
      ['NH', 2, 3, 1, 4, 1],
      ['MRN1', 2, 3, 2, 1, 1],
      ['Doe', 2, 5, 1, 1, 1],
      ['Jane*ne', 2, 5, 1, 2, 1],
    ]);
    expect(visits(msg).filter((v) => v[1] === 1)).toEqual([]);
    expect(visits(msg).slice(0, 2)).toEqual([
      ['#', 0, 1, 1, 1, 1],
      ['*$!@', 0, 2, 1, 1, 1],
    ]);
  });

  test.each([
    ['fixture', ADT_A01],
    ['edge separators', 'MSH|^~\\&|A||C||||ADT^A01|X1\rNTE|1|~|^|&|~~|^^&|a\\F\\b^c\\T\\d&e~\\X41\\|||\rZZ1\rZZ2|\rZZ3||'],
    ['repeated MSH (batch)', `${MSH}\rPID|1||42^^^NHS\r${MSH.replace('C1', 'C2')}\rPID|2||43`],
    ['unknown and unterminated escapes', `${MSH}\rNTE|1|\\Zfoo\\&a\\b^\\.br\\~\\X4142\\`],
  ])('gives the values a walk of toView meets, in order: %s', (_n, text) => {
    const msg = parseHl7(text);
    expect(visits(msg)).toEqual(viewVisits(msg));
  });

  test('each value is what get() returns for its position', () => {
    const msg = parseHl7(ADT_A01 + '\rNK1|2|TESTPATIENT^Jo&x\r');
    const seen: Record<string, number> = {};
    const occurrence = msg.segmentIds.map((id) => (seen[id] = (seen[id] ?? 0) + 1));
    const all = visits(msg);
    expect(all.length).toBeGreaterThan(50);
    for (const [value, i, f, r, c, s] of all) {
      expect([msg.segmentIds[i], f, msg.get(`${msg.segmentIds[i]}[${occurrence[i]}]-${f}[${r}].${c}.${s}`)]).toEqual([msg.segmentIds[i], f, value]);
    }
  });

  test('Hl7Segment.forEachValue gives its own values with its index', () => {
    const msg = parseHl7(ADT_A01);
    const pid = msg.segment('PID')!;
    const own: Visit[] = [];
    pid.forEachValue((...v) => own.push(v));
    expect(own).toEqual(visits(msg).filter((v) => v[1] === pid.index));
    expect(own[0]).toEqual(['1', pid.index, 1, 1, 1, 1]);
    const msh: Visit[] = [];
    msg.segment('MSH')!.forEachValue((...v) => msh.push(v));
    expect(msh.slice(0, 3)).toEqual([
      ['|', 0, 1, 1, 1, 1],
      ['^~\\&', 0, 2, 1, 1, 1],
      [msg.get('MSH-3'), 0, 3, 1, 1, 1],
    ]);
  });
});
