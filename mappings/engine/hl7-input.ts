// The input an HL7 v2 mapping reads: the parsed message (its JSON view is built segment by
// segment as the mapping reads them) plus the MSH values most mappings need, as `$var` names.
import { DEFAULT_SEPARATORS, type Separators } from '../../core/hl7/escape.js';
import type { Hl7Message } from '../../core/hl7/message.js';
import type { Hl7View, LazySegment } from '../../core/hl7/model.js';
import { lazySegmentViews } from '../../core/hl7/views.js';
import type { MappingInput } from './types.js';

/**
 * Where compiled HL7 paths get a segment id's views from. A view's fields may still be text
 * (read them with fieldAt and these separators).
 */
export interface SegmentSource {
  readonly separators: Separators;
  segments(id: string): LazySegment[] | undefined;
}

/**
 * Builds each segment id's view on first read and keeps it for the run: a mapping never pays
 * for segments it does not read (EVN, Z-segments, …), and pays once for those it reads often.
 * Fields are parsed on first read too: a mapping reads a dozen of PV1's fifty-odd fields.
 */
export class LazySegments implements SegmentSource {
  private readonly built = new Map<string, LazySegment[] | null>();
  readonly separators: Separators;

  constructor(private readonly msg: Hl7Message) {
    this.separators = msg.separators;
  }

  segments(id: string): LazySegment[] | undefined {
    const hit = this.built.get(id);
    if (hit !== undefined) return hit ?? undefined;
    const views = lazySegmentViews(this.msg, id);
    this.built.set(id, views ?? null);
    return views;
  }
}

/** A whole JSON view given up front (MappingInput.view). */
export class ViewSegments implements SegmentSource {
  readonly separators = DEFAULT_SEPARATORS;

  constructor(private readonly view: Hl7View) {}

  segments(id: string): LazySegment[] | undefined {
    return Object.hasOwn(this.view, id) ? this.view[id] : undefined;
  }
}

export function hl7Input(msg: Hl7Message): MappingInput {
  const h = msg.header;
  return {
    kind: 'hl7v2',
    message: msg,
    vars: {
      messageType: h.messageType,
      event: h.triggerEvent,
      structure: h.structure,
      controlId: h.controlId,
      sendingApplication: h.sendingApplication,
      sendingFacility: h.sendingFacility,
      receivingApplication: h.receivingApplication,
      receivingFacility: h.receivingFacility,
      messageDateTime: h.dateTime,
      version: h.version,
    },
  };
}

/** The segments a run reads: the message's, built lazily, else a given JSON view. */
export function segmentSource(input: MappingInput): SegmentSource | undefined {
  if (input.message) return new LazySegments(input.message);
  return input.view ? new ViewSegments(input.view) : undefined;
}

export function jsonInput(data: unknown, vars?: Record<string, unknown>): MappingInput {
  return { kind: 'json', data, vars };
}
