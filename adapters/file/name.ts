// File names from a template. Placeholder values are reduced to safe characters, so a
// sender's control id can never climb out of the folder or make an unusable name.
import type { Envelope } from '../../core/queue.js';
import { parseHl7 } from '../hl7v2/parse.js';

export const DEFAULT_FILE_NAME = '{messageId}.hl7';

const PLACEHOLDER = /\{(messageId|controlId|messageType|receivedAt)\}/g;

function safe(value: string): string {
  const cleaned = value.replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '_');
  return cleaned.slice(0, 100) || '_';
}

/** `2026-06-15T09:30:00.000Z` → `20260615T093000.000Z` (no colons, which some file systems refuse). */
export function compactTimestamp(iso: string): string {
  return iso.replace(/[-:]/g, '');
}

export function fileNameFor(template: string, envelope: Envelope): string {
  const h = envelope.headers;
  let header: ReturnType<typeof parseHl7>['header'] | undefined;
  const fromMessage = () => (header ??= parseHl7(envelope.body).header);
  const values: Record<string, () => string> = {
    messageId: () => envelope.messageId,
    controlId: () => h.controlId ?? fromMessage().controlId,
    messageType: () => h.messageType ?? `${fromMessage().messageType}^${fromMessage().triggerEvent}`,
    receivedAt: () => compactTimestamp(h.receivedAt ?? ''),
  };
  return template.replace(PLACEHOLDER, (_m, name: string) => safe(values[name]()));
}
