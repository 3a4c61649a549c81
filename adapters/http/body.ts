// The request body for one envelope: JSON with the message's metadata, or the HL7 v2 text
// itself encoded in the character set its MSH-18 declares (as an MLLP peer would get it).
import type { Envelope } from '../../core/queue.js';
import { encodeHl7Text, encodingFor, peekCharset } from '../hl7v2/charset.js';
import { parseHl7 } from '../hl7v2/parse.js';

export const HL7_CONTENT_TYPE = 'x-application/hl7-v2+er7';

export interface RequestBody {
  bytes: Buffer;
  contentType: string;
}

/** The JSON document posted with `format: json`. */
export interface HttpMessageDocument {
  messageId: string;
  channel: string;
  messageType: string;
  sendingFacility: string;
  controlId: string;
  receivedAt: string;
  hl7: string;
}

export function jsonDocument(envelope: Envelope): HttpMessageDocument {
  const h = envelope.headers;
  // Envelopes from intake carry these headers; parse only when one is missing.
  const header = h.messageType && h.sendingFacility && h.controlId ? undefined : parseHl7(envelope.body).header;
  return {
    messageId: envelope.messageId,
    channel: envelope.channel,
    messageType: h.messageType ?? (header ? `${header.messageType}^${header.triggerEvent}` : ''),
    sendingFacility: h.sendingFacility ?? header?.sendingFacility ?? '',
    controlId: h.controlId ?? header?.controlId ?? '',
    receivedAt: h.receivedAt ?? '',
    hl7: envelope.body,
  };
}

/** HTTP charset label for an iconv-lite encoding name. */
function charsetLabel(encoding: string): string {
  if (encoding === 'utf8') return 'utf-8';
  if (encoding === 'latin1') return 'iso-8859-1';
  if (encoding === 'utf16le') return 'utf-16le';
  return encoding;
}

export function requestBody(envelope: Envelope, format: 'json' | 'hl7'): RequestBody {
  if (format === 'json') {
    return { bytes: Buffer.from(JSON.stringify(jsonDocument(envelope)), 'utf8'), contentType: 'application/json' };
  }
  const declared = peekCharset(Buffer.from(envelope.body.slice(0, 4096), 'latin1'));
  const encoding = encodingFor(declared) ?? 'utf8';
  return { bytes: encodeHl7Text(envelope.body, declared), contentType: `${HL7_CONTENT_TYPE}; charset=${charsetLabel(encoding)}` };
}
