// HL7 mappings read the parsed message through a view built segment by segment on first
// read; a prebuilt JSON view (MappingInput.view) must give exactly the same output.
import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseHl7 } from '../../adapters/hl7v2/parse.js';
import { fieldAt, leafOfText, materializeSegment } from '../../core/hl7/model.js';
import { lazySegmentViews, toView } from '../../core/hl7/views.js';
import { decodeHl7File } from '../../mappings/engine/cases.js';
import { hl7Input, LazySegments } from '../../mappings/engine/hl7-input.js';
import { DEFAULT_ADT_MAPPING, loadMappingById, MAPPINGS_DIR } from '../../mappings/index.js';

const CASES = join(MAPPINGS_DIR, 'hl7v2', 'cases');
const MESSAGES = readdirSync(CASES)
  .filter((f) => f.endsWith('.hl7') && !f.startsWith('error-'))
  .sort()
  .map((f) => decodeHl7File(readFileSync(join(CASES, f))));

describe('segment views', () => {
  it('lazy segment views read field by field, and fully parsed, equal toView for every segment', () => {
    const tricky = 'MSH|^~\\&|PAS|RXL|||20260615093000||ADT^A01|C1|P|2.4\rPID|1||A~B^^^NHS^NH||O\\T\\BRIEN&X^J\\F\\K||||||1 ST&A^^TOWN~^^^^FY1||||||\rZZ1\rPV1||I|';
    for (const text of [...MESSAGES, tricky]) {
      const msg = parseHl7(text);
      const whole = toView(msg);
      for (const id of new Set(msg.segmentIds)) {
        const eager = whole[id];
        const byField = lazySegmentViews(msg, id)!;
        expect(byField).toHaveLength(eager.length);
        byField.forEach((seg, k) => {
          expect(seg).toHaveLength(eager[k].length);
          // Fields read one at a time, last first, then the whole segment.
          for (let n = seg.length - 1; n >= 0; n--) expect(fieldAt(seg, n, msg.separators)).toEqual(eager[k][n]);
        });
        expect(lazySegmentViews(msg, id)!.map((seg) => materializeSegment(seg, msg.separators))).toEqual(eager);
      }
      expect(lazySegmentViews(msg, 'ZZZ')).toBeUndefined();
    }
  });

  it('a value read straight from field text equals the parsed field, for every position', () => {
    const tricky = 'MSH|^~\\&|PAS|RXL|||20260615093000||ADT^A01|C1|P|2.4\rPID|1||A~B^^^NHS^NH~~C&D^E\\S\\F||O\\T\\BRIEN&X^J\\F\\K&&Q^||||||1 ST&A^^TOWN~^^^^FY1|\rPV1||I|';
    let compared = 0;
    for (const text of [...MESSAGES, tricky]) {
      const msg = parseHl7(text);
      const s = msg.separators;
      for (const id of new Set(msg.segmentIds)) {
        if (id === 'MSH') continue; // MSH-1 and MSH-2 are literal, never read as text
        for (const seg of lazySegmentViews(msg, id)!) {
          for (let n = 1; n < seg.length; n++) {
            const raw = seg[n] as string;
            const field = fieldAt([...seg], n, s)!;
            const reps = raw.split(s.repetition);
            let start = 0;
            for (let r = 0; r < reps.length; r++) {
              const end = start + reps[r].length;
              for (let c = 1; c <= 6; c++) {
                for (let sc = 1; sc <= 3; sc++) {
                  expect(leafOfText(raw, start, end, c, sc, s)).toBe(field[r]?.[c - 1]?.[sc - 1] ?? '');
                  compared++;
                }
              }
              start = end + 1;
            }
          }
        }
      }
    }
    expect(compared).toBeGreaterThan(10_000);
  });

  it('LazySegments builds each id once per message and remembers absent ids', () => {
    const msg = parseHl7(MESSAGES[0]);
    const lazy = new LazySegments(msg);
    const pid = lazy.segments('PID');
    expect(pid?.map((seg) => materializeSegment(seg, msg.separators))).toEqual(toView(msg).PID);
    expect(lazy.segments('PID')).toBe(pid);
    expect(lazy.segments('ZZZ')).toBeUndefined();
    expect(lazy.segments('ZZZ')).toBeUndefined();
  });
});

describe('mapping input', () => {
  it('the shipped ADT mapping gives the same bundle from the lazy view and from a whole JSON view', () => {
    const mapping = loadMappingById(DEFAULT_ADT_MAPPING);
    expect(MESSAGES.length).toBeGreaterThan(10);
    for (const text of MESSAGES) {
      const input = hl7Input(parseHl7(text));
      const lazy = mapping.run(input);
      const eager = mapping.run({ kind: 'hl7v2', view: toView(parseHl7(text)), vars: input.vars });
      expect(JSON.stringify(lazy.output)).toBe(JSON.stringify(eager.output));
      expect(lazy.issues).toEqual(eager.issues);
    }
  });
});
