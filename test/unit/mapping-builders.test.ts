// The generated object and list builders: a small child builder is written into its parent's
// function rather than called; a large one is called. Either way the output is the same
// (empty values left out, constant-only objects dropped, spread parts joined, finish applied),
// and so is the order the children run in.
import { describe, expect, it } from '@jest/globals';
import { listBuilder, objectBuilder, type ObjectField } from '../../mappings/engine/builders.js';
import type { RunContext } from '../../mappings/engine/compiled.js';

type Run = (ctx: RunContext) => unknown;
const ctx = (): RunContext => ({ slots: [], issues: [] });

/** A leaf reading slot `i` (dynamic), recording that it ran. */
const leaf = (i: number, ran: number[]): Run => (c) => {
  ran.push(i);
  return c.slots[i];
};
const field = (key: string, run: Run, dynamic = true, clean = false): ObjectField => ({ key, run, dynamic, clean });

/** { identifier: [{ system: <const>, value: slot0 }], name: { family: slot1, given: [slot2, ...slot3] }, note: slot4 } */
function patientBuilder(ran: number[], wide = 0): Run {
  const identifier = listBuilder([
    { run: objectBuilder([field('system', () => 'https://example.org/id', false, true), field('value', leaf(0, ran))], true), clean: true, spread: false },
  ]);
  const given = listBuilder([
    { run: leaf(2, ran), clean: false, spread: false },
    { run: leaf(3, ran), clean: false, spread: true },
  ]);
  // `wide` extra leaves make the name too big to be written in (it is then called).
  const extra = Array.from({ length: wide }, (_, i) => field(`x${i}`, () => undefined));
  const name = objectBuilder([field('family', leaf(1, ran)), field('given', given, true, true), ...extra], true);
  return objectBuilder([field('identifier', identifier, true, true), field('name', name, true, true), field('note', leaf(4, ran))], true);
}

describe('generated builders', () => {
  for (const wide of [0, 40]) {
    const how = wide ? 'called' : 'written in';
    it(`builds nested objects and lists with children ${how}`, () => {
      const ran: number[] = [];
      const c = ctx();
      c.slots = ['943', 'Smith', 'Ann', ['', 'Beth', 'Cat'], ''];
      expect(patientBuilder(ran, wide)(c)).toEqual({
        identifier: [{ system: 'https://example.org/id', value: '943' }],
        name: { family: 'Smith', given: ['Ann', 'Beth', 'Cat'] },
      });
      expect(ran).toEqual([0, 1, 2, 3, 4]);
    });

    it(`leaves out objects with only constants, and empty lists, with children ${how}`, () => {
      const c = ctx();
      c.slots = ['', '', undefined, [], 'n'];
      expect(patientBuilder([], wide)(c)).toEqual({ note: 'n' });
      c.slots = [];
      expect(patientBuilder([], wide)(c)).toBeUndefined();
    });
  }

  it('applies finish to a list written into its parent', () => {
    const list = listBuilder([
      { run: () => 'a', clean: true, spread: false },
      { run: () => ['b', 'a'], clean: true, spread: true },
    ], (l) => [...new Set(l)]);
    const obj = objectBuilder([field('codes', list, false, true)], false);
    expect(obj(ctx())).toEqual({ codes: ['a', 'b'] });
  });

  it('gives every output its own objects', () => {
    const build = patientBuilder([]);
    const c = ctx();
    c.slots = ['1', 'A'];
    const a = build(c) as { name: object };
    const b = build(c) as { name: object };
    expect(a).toEqual(b);
    expect(a.name).not.toBe(b.name);
  });
});
