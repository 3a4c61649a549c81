// HL7 v2 shown segment by segment, each field numbered and named (PID-5 "Patient name") from
// the HL7 dictionary, for the message content page. Display only: the engine's parser
// (adapters/hl7v2/) is what decides what a message means.
import * as dictionary from 'hl7v2-dictionary';

export interface Hl7Field {
  /** e.g. `PID-5`. */
  position: string;
  name?: string;
  value: string;
}

export interface Hl7Segment {
  id: string;
  fields: Hl7Field[];
}

const segments = dictionary as unknown as Record<string, Record<string, string> | undefined>;

/** `PatientName` → `Patient name`; `MotherSMaidenName` → `Mother's maiden name`. */
function readable(name: string): string {
  const words = name
    .replace(/([a-z])S([A-Z])/g, "$1's $2")
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .split(' ');
  return words.map((w, i) => (i === 0 || /^[A-Z0-9]{2,}$/.test(w) ? w : w.toLowerCase())).join(' ');
}

function fieldName(segment: string, n: number): string | undefined {
  const names = segments[`${segment}Segment`];
  const name = names && typeof names === 'object' ? names[String(n)] : undefined;
  return typeof name === 'string' ? readable(name) : undefined;
}

export function looksLikeHl7(text: string): boolean {
  return /^(MSH|FHS|BHS)\|/.test(text.trimStart());
}

export function hl7Segments(text: string): Hl7Segment[] {
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== '');
  return lines.map((line) => {
    const id = line.slice(0, 3);
    const parts = line.split('|');
    const fields: Hl7Field[] = [];
    if (id === 'MSH') {
      // MSH-1 is the field separator itself, MSH-2 the encoding characters.
      fields.push({ position: 'MSH-1', name: fieldName('MSH', 1), value: '|' });
      parts.slice(1).forEach((value, i) => fields.push({ position: `MSH-${i + 2}`, name: fieldName('MSH', i + 2), value }));
    } else {
      parts.slice(1).forEach((value, i) => fields.push({ position: `${id}-${i + 1}`, name: fieldName(id, i + 1), value }));
    }
    return { id, fields: fields.filter((f) => f.value !== '') };
  });
}

/** JSON pretty-printed, or undefined when the text is not JSON. */
export function prettyJson(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return undefined;
  }
}
