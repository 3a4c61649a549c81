// A parsed message as the JSON view mappings read (model.ts; adapters/hl7v2/README.md),
// whole (toView) or one segment id at a time with fields parsed on first read.
import type { Hl7Message } from './message.js';
import { segmentView, type Hl7View, type LazySegment } from './model.js';
import type { Separators } from './escape.js';

/**
 * One segment's view whose fields are parsed when first read: until then an entry holds the
 * field's text. Read fields with fieldAt(); materializeSegment() parses all of them (do so
 * before handing the segment to code that indexes it directly).
 */
function lazySegmentView(msg: Hl7Message, index: number, id: string, s: Separators): LazySegment {
  if (id === 'MSH') {
    // MSH-1 is the field separator itself and MSH-2 the encoding characters, both literal.
    // The message split MSH when it was parsed: its fields are reused, not split again.
    const parts = msg.fieldsOf(index);
    const fields: LazySegment = [[[[id]]], [[[s.field]]], [[[parts[2] ?? '']]]];
    for (let n = 3; n < parts.length; n++) fields.push(parts[n]);
    return fields;
  }
  const fields: LazySegment = msg.segmentText(index).split(s.field);
  fields[0] = [[[id]]];
  return fields;
}

/** Every segment with this id as a lazy view (undefined when the message has none). */
export function lazySegmentViews(msg: Hl7Message, id: string): LazySegment[] | undefined {
  let out: LazySegment[] | undefined;
  const ids = msg.segmentIds;
  for (let i = 0; i < ids.length; i++) {
    if (ids[i] === id) (out ??= []).push(lazySegmentView(msg, i, id, msg.separators));
  }
  return out;
}

/** The documented JSON view mappings read (adapters/hl7v2/README.md). */
export function toView(msg: Hl7Message): Hl7View {
  const view: Hl7View = {};
  const s = msg.separators;
  for (let i = 0; i < msg.segmentCount; i++) {
    const id = msg.segmentIds[i];
    (view[id] ??= []).push(segmentView(msg.segmentText(i), id, s));
  }
  return view;
}
