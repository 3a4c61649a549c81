// The generated object builders keep one object shape per template node: an empty field is
// held as an undefined key (JSON, and so what is sent, leaves it out), which keeps the
// validators' and the engine's property reads on one shape per node.
import { describe, expect, it } from '@jest/globals';
import { objectBuilder, type ObjectField } from '../../mappings/engine/builders.js';
import type { RunContext } from '../../mappings/engine/compiled.js';
import { diffJson } from '../../mappings/engine/diff.js';

const ctx = (slots: unknown[]): RunContext => ({ slots, issues: [] });
const slot = (i: number, dynamic = true): ObjectField => ({ key: `k${i}`, run: (c) => c.slots[i], clean: false, dynamic });

describe('object builders', () => {
  const build = objectBuilder([slot(0), slot(1), slot(2)], true);

  it('holds empty fields as undefined keys, in the template order, and JSON leaves them out', () => {
    const out = build(ctx(['a', '', []])) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['k0', 'k1', 'k2']);
    expect(out.k1).toBeUndefined();
    expect(JSON.stringify(out)).toBe('{"k0":"a"}');
    const full = build(ctx(['a', 'b', ['c']])) as Record<string, unknown>;
    expect(Object.keys(full)).toEqual(Object.keys(out));
  });

  it('gives no object when every field is empty, or only constants are set', () => {
    expect(build(ctx([undefined, null, {}]))).toBeUndefined();
    const withConstant = objectBuilder([{ key: 'system', run: () => 'urn:x', clean: true, dynamic: false }, slot(1)], true);
    expect(withConstant(ctx([undefined, '']))).toBeUndefined();
    expect(withConstant(ctx([undefined, 'v']))).toEqual({ system: 'urn:x', k1: 'v' });
  });

  it('tramline test compares an undefined key as absent', () => {
    expect(diffJson({ a: 1 }, { a: 1, b: undefined })).toEqual([]);
    expect(diffJson({ a: 1, b: 2 }, { a: 1, b: undefined })).toEqual(['b: missing, expected 2']);
    expect(diffJson({ a: 1 }, { a: 1, b: 3 })).toEqual(['b: unexpected 3']);
  });
});
