import { describe, expect, test } from '@jest/globals';
import { topicMatches } from '../../core/queue.js';

describe('topicMatches (AMQP topic semantics)', () => {
  test.each([
    ['hl7v2.ADT.#', 'hl7v2.ADT.A01.RCB', true],
    ['hl7v2.ADT.*.RCB', 'hl7v2.ADT.A01.RCB', true],
    ['hl7v2.ADT.*', 'hl7v2.ADT.A01.RCB', false],
    ['#', 'anything.at.all', true],
    ['hl7v2.#.RCB', 'hl7v2.RCB', true],
    ['hl7v2.ORU.#', 'hl7v2.ADT.A01.RCB', false],
    ['hl7v2.ADT.A01.RCB', 'hl7v2.ADT.A01.RCB', true],
  ])('%s ~ %s → %s', (pattern, key, expected) => {
    expect(topicMatches(pattern, key)).toBe(expected);
  });
});
