// Every value of a message, one at a time, without building the JSON view's arrays. A
// consumer that reads every field (indexing, de-identification, export) pays for the values
// only: the view allocates an array per field, repetition and component, several hundred a
// message, which is most of what building it costs.
import { unescapeHl7, type Separators } from './escape.js';

/**
 * Called once per value, in message order. `segment` is the 0-based segment index (as
 * `Hl7Segment.index`); `field`, `repetition`, `component` and `subcomponent` are the 1-based
 * numbers of HL7 path notation, so `PID-3[2].1.1` is `(…, 3, 2, 1, 1)`. `value` is decoded.
 */
export type Hl7ValueVisitor = (value: string, segment: number, field: number, repetition: number, component: number, subcomponent: number) => void;

/**
 * Visit every value of one segment's text, the values a walk of its JSON view (toView) meets
 * in the same order: an empty field has none, an empty component inside a written field is
 * '', MSH-1 and MSH-2 are one literal value each, and the segment id (view index 0) is not a
 * value.
 */
export function visitSegmentValues(line: string, id: string, s: Separators, segment: number, visit: Hl7ValueVisitor): void {
  // Character codes compared in the loop (comparing numbers, not one-character strings).
  const [F, R, C, S, E] = [s.field, s.repetition, s.component, s.subcomponent, s.escape].map((d) => d.charCodeAt(0));
  const len = line.length;
  let field = 0;
  let i = 3; // at the field separator after the id (or the end)
  if (id === 'MSH') {
    const encEnd = line.indexOf(s.field, 4);
    visit(s.field, segment, 1, 1, 1, 1);
    visit(line.slice(4, encEnd < 0 ? len : encEnd), segment, 2, 1, 1, 1);
    field = 2;
    i = encEnd < 0 ? len : encEnd;
  }
  while (i < len) {
    // `i` is on the field separator before the field.
    field++;
    const start = i + 1;
    if (start >= len || line.charCodeAt(start) === F) {
      i = start; // an empty field holds no values
      continue;
    }
    let rep = 1;
    let comp = 1;
    let sub = 1;
    let leaf = start;
    let escaped = false;
    let j = start;
    for (; ; j++) {
      const c = j === len ? F : line.charCodeAt(j);
      if (c === F || c === R || c === C || c === S) {
        const raw = line.slice(leaf, j);
        visit(escaped ? unescapeHl7(raw, s) : raw, segment, field, rep, comp, sub);
        if (c === F) break;
        escaped = false;
        leaf = j + 1;
        if (c === S) {
          sub++;
        } else if (c === C) {
          comp++;
          sub = 1;
        } else {
          rep++;
          comp = 1;
          sub = 1;
        }
      } else if (c === E) {
        escaped = true;
      }
    }
    i = j;
  }
}
