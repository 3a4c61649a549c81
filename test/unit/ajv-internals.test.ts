// Guard for mappings/validate/ajv-internals.ts: fails on an ajv upgrade whose generated code no
// longer has the call-context snippet the rewrite expects, naming the release it was checked with.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { AJV_CHECKED, sharedCallContexts, withSharedCallContext } from '../../mappings/validate/ajv-internals.js';

const require = createRequire(import.meta.url);
const installed = (JSON.parse(readFileSync(require.resolve('ajv/package.json'), 'utf8')) as { version: string }).version;

/** A definition referring to itself, directly and through an array, as FHIR's Extension does. */
const RECURSIVE = {
  $ref: '#/definitions/Node',
  definitions: {
    Node: {
      type: 'object',
      properties: { name: { type: 'string' }, child: { $ref: '#/definitions/Node' }, children: { type: 'array', items: { $ref: '#/definitions/Node' } } },
      additionalProperties: false,
    },
  },
};

describe('ajv generated code rewritten by withSharedCallContext()', () => {
  test('still has the nested-call context snippet the rewrite replaces', () => {
    const before = sharedCallContexts();
    const rewritten = new Ajv({ strict: false, code: { process: withSharedCallContext } }).compile(RECURSIVE);
    const replaced = sharedCallContexts() - before;
    if (replaced < 2) {
      throw new Error(
        `ajv ${installed} generates code the rewrite in mappings/validate/ajv-internals.ts no longer matches (checked with ajv ${AJV_CHECKED}): ` +
          `${replaced} of the nested-definition call contexts replaced, expected at least 2. Re-check the generated code, then update or remove the rewrite and ARCHITECTURE.md.`,
      );
    }
    // Same answers as the unrewritten validator.
    const plain = new Ajv({ strict: false }).compile(RECURSIVE);
    const samples = [{ name: 'a', child: { name: 'b' }, children: [{ name: 'c', children: [{}] }] }, { name: 'a', children: [{ child: { name: 1 } }] }, { children: [{ extra: true }] }];
    expect(samples.map((s) => rewritten(s))).toEqual(samples.map((s) => plain(s)));
    expect(samples.map((s) => rewritten(s))).toEqual([true, false, false]);
  });
});
