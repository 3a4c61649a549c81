// HL7 v2 acknowledgements (v2.5 §2.9, §2.14.1 ERR). The ACK answers the sender: the
// sending and receiving parties swap, MSA-2 echoes the original MSH-10, and an ERR segment
// explains any error in v2.5 style (ERR-2 location, ERR-3 table 0357 code, ERR-4, ERR-8).
import { randomUUID } from 'node:crypto';
import { ParseError } from '../../core/errors.js';
import { DEFAULT_SEPARATORS, escapeHl7, type Separators } from '../../core/hl7/escape.js';
import { accessorPath, Hl7Message } from '../../core/hl7/message.js';

export type AckCode = 'AA' | 'AE' | 'AR' | 'CA' | 'CE' | 'CR';
export type AckCondition = 'AL' | 'NE' | 'ER' | 'SU';
export type ErrorSeverity = 'E' | 'W' | 'F' | 'I';

/** HL7 table 0357, message error condition codes. */
export const HL7_ERROR_CODES: Record<string, string> = {
  '0': 'Message accepted',
  '100': 'Segment sequence error',
  '101': 'Required field missing',
  '102': 'Data type error',
  '103': 'Table value not found',
  '104': 'Value too long',
  '200': 'Unsupported message type',
  '201': 'Unsupported event code',
  '202': 'Unsupported processing id',
  '203': 'Unsupported version id',
  '204': 'Unknown key identifier',
  '205': 'Duplicate key identifier',
  '206': 'Application record locked',
  '207': 'Application internal error',
};

export interface AckError {
  /** HL7 location such as `PID-3[2].1`; anything else is reported in ERR-7. */
  location?: string;
  /** Table 0357 code; default 207. */
  hl7ErrorCode?: string;
  severity?: ErrorSeverity;
  /** Safe to send back: must not contain patient data the sender does not already have. */
  text: string;
}

export interface AckOptions {
  code: AckCode;
  /** MSA-3 text; defaults to the error text. */
  text?: string;
  error?: AckError;
  /** MSH-10 of the ACK; generated when omitted. */
  controlId?: string;
  /** MSH-7 of the ACK; now when omitted. */
  now?: Date;
}

/** Encoded MSH values of the message being acknowledged (from a partial or failed parse). */
export interface AckSource {
  sendingApplication?: string;
  sendingFacility?: string;
  receivingApplication?: string;
  receivingFacility?: string;
  triggerEvent?: string;
  controlId?: string;
  processingId?: string;
  version?: string;
  charset?: string;
  separators?: Separators;
}

function sourceOf(msg: Hl7Message | AckSource): AckSource {
  if (!(msg instanceof Hl7Message)) return msg;
  const raw = (path: string): string => msg.getRaw(path) ?? '';
  return {
    sendingApplication: raw('MSH-3'),
    sendingFacility: raw('MSH-4'),
    receivingApplication: raw('MSH-5'),
    receivingFacility: raw('MSH-6'),
    triggerEvent: raw('MSH-9.2'),
    controlId: raw('MSH-10'),
    processingId: raw('MSH-11'),
    version: raw('MSH-12'),
    charset: raw('MSH-18'),
    separators: msg.separators,
  };
}

/** HL7 DTM with offset, e.g. 20260105093000+0000. */
export function hl7Timestamp(d: Date = new Date()): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}+0000`;
}

/** A fresh MSH-10: 20 characters fits every HL7 version's ST length. */
export function newControlId(): string {
  return randomUUID().replace(/-/g, '').slice(0, 20).toUpperCase();
}

function segment(fields: string[], seps: Separators): string {
  let end = fields.length;
  while (end > 1 && fields[end - 1] === '') end--;
  return fields.slice(0, end).join(seps.field);
}

/** `PID-3[2].1` → ERL `PID^1^3^2^1`; undefined when the location is not an HL7 path. */
function errorLocation(location: string, seps: Separators): string | undefined {
  let p;
  try {
    p = accessorPath(location);
  } catch {
    return undefined;
  }
  const parts = [p.segment as string, String(p.occurrence ?? 1)];
  if (p.field !== undefined) parts.push(String(p.field));
  if (p.field !== undefined && (p.repetition !== undefined || p.component !== undefined)) parts.push(String(p.repetition ?? 1));
  if (p.component !== undefined) parts.push(String(p.component));
  if (p.subcomponent !== undefined) parts.push(String(p.subcomponent));
  return parts.join(seps.component);
}

function errSegment(error: AckError, version: string, seps: Separators): string {
  const e = (s: string): string => escapeHl7(s, seps);
  const code = error.hl7ErrorCode ?? '207';
  const codeText = HL7_ERROR_CODES[code] ?? '';
  const erl = error.location ? errorLocation(error.location, seps) : undefined;
  const c = seps.component;
  const fields = ['ERR', '', erl ?? '', [code, e(codeText), 'HL70357'].join(c), error.severity ?? 'E', '', '', '', e(error.text)];
  if (error.location && erl === undefined) fields[7] = e(`Location: ${error.location}`);
  // v2.3/v2.4 receivers read ERR-1 (location^code); keep it for them.
  if (/^2\.[1-4](\.|$)/.test(version)) {
    const eld = (erl ? erl.split(c) : []).slice(0, 3);
    while (eld.length < 3) eld.push('');
    eld.push([code, e(codeText), 'HL70357'].join(seps.subcomponent));
    fields[1] = eld.join(c);
  }
  return segment(fields, seps);
}

/** Build an ACK (segments ended by CR) for a parsed message or its recovered MSH values. */
export function buildAck(msg: Hl7Message | AckSource, options: AckOptions): string {
  const src = sourceOf(msg);
  const seps = src.separators ?? DEFAULT_SEPARATORS;
  const enc = seps.component + seps.repetition + seps.escape + seps.subcomponent + (seps.truncation ?? '');
  const c = seps.component;
  const version = src.version ?? '';
  const msh = segment(
    [
      'MSH',
      enc,
      src.receivingApplication ?? '',
      src.receivingFacility ?? '',
      src.sendingApplication ?? '',
      src.sendingFacility ?? '',
      hl7Timestamp(options.now),
      '',
      ['ACK', src.triggerEvent ?? '', 'ACK'].join(c),
      options.controlId ?? newControlId(),
      src.processingId ?? '',
      version,
      '',
      '',
      '',
      '',
      '',
      src.charset ?? '',
    ],
    seps,
  );
  const text = options.text ?? options.error?.text ?? '';
  const msa = segment(['MSA', options.code, src.controlId ?? '', escapeHl7(text, seps)], seps);
  const segments = [msh, msa];
  if (options.error) segments.push(errSegment(options.error, version, seps));
  return segments.join('\r') + '\r';
}

/** Best-effort MSH values from text that failed to parse. */
export function recoverMsh(rawText: string): AckSource & { acceptAckType?: string } {
  const text = rawText.charCodeAt(0) === 0xfeff ? rawText.slice(1) : rawText;
  const start = text.indexOf('MSH');
  if (start < 0 || start > 16) return {};
  const line = text.slice(start).split(/\r\n|\r|\n/, 1)[0];
  const fieldSep = line.charAt(3);
  if (!fieldSep || /[A-Za-z0-9\s]/.test(fieldSep)) return {};
  // Nothing past MSH-18 is needed: a hostile MSH may hold a million fields.
  const parts = line.split(fieldSep, 18);
  const enc = parts[1] ?? '';
  const usable = enc.length >= 4 && new Set(enc.slice(0, 4) + fieldSep).size === 5;
  const seps: Separators = usable
    ? { field: fieldSep, component: enc[0], repetition: enc[1], escape: enc[2], subcomponent: enc[3] }
    : { ...DEFAULT_SEPARATORS, field: fieldSep };
  const f = (n: number): string => parts[n - 1] ?? '';
  return {
    separators: seps,
    sendingApplication: f(3),
    sendingFacility: f(4),
    receivingApplication: f(5),
    receivingFacility: f(6),
    triggerEvent: f(9).split(seps.component)[1] ?? '',
    controlId: f(10),
    processingId: f(11),
    version: f(12),
    acceptAckType: f(15),
    charset: f(18),
  };
}

function errorCodeForParse(location: string | undefined): string {
  if (location === 'MSH-9' || location === 'MSH-10') return '101';
  if (location === 'MSH-1' || location === 'MSH-2') return '102';
  return '100';
}

/**
 * Reject text whose MSH could not be parsed: AR (or CR when MSH-15 asks for enhanced mode),
 * MSA-2 = whatever MSH-10 can be recovered, else empty.
 */
export function ackForUnparseable(raw: string | Buffer, reason: string | Error, options: { controlId?: string; now?: Date } = {}): string {
  // MSH is ASCII: Latin-1 reads any bytes without failing.
  const src = recoverMsh(typeof raw === 'string' ? raw : raw.toString('latin1'));
  const location = reason instanceof ParseError ? reason.location : undefined;
  const hl7ErrorCode = (reason instanceof ParseError ? reason.hl7ErrorCode : undefined) ?? errorCodeForParse(location);
  const text = typeof reason === 'string' ? reason : reason.message;
  return buildAck(src, {
    code: src.acceptAckType ? 'CR' : 'AR',
    error: { location, hl7ErrorCode, severity: 'E', text },
    ...options,
  });
}

export interface AckMode {
  /** Enhanced mode when MSH-15 or MSH-16 is present. */
  enhanced: boolean;
  /** When to send a commit (accept) ACK: MSH-15. Original mode never sends one. */
  accept: AckCondition;
  /** When to send an application ACK: MSH-16; always in original mode. */
  application: AckCondition;
}

function condition(value: string | undefined, fallback: AckCondition): AckCondition {
  const v = (value ?? '').trim().toUpperCase();
  return v === 'AL' || v === 'NE' || v === 'ER' || v === 'SU' ? v : fallback;
}

export function ackMode(msg: Hl7Message | { acceptAckType?: string; applicationAckType?: string }): AckMode {
  const h = msg instanceof Hl7Message ? msg.header : msg;
  const accept = (h.acceptAckType ?? '').trim();
  const application = (h.applicationAckType ?? '').trim();
  if (!accept && !application) return { enhanced: false, accept: 'NE', application: 'AL' };
  // An absent MSH-15 in enhanced mode still gets a commit ACK; an absent MSH-16 gets none.
  return { enhanced: true, accept: condition(accept, 'AL'), application: condition(application, 'NE') };
}

/** Whether an ACK is wanted under `cond` for this outcome. */
export function wantsAck(cond: AckCondition, success: boolean): boolean {
  return cond === 'AL' || (cond === 'SU' && success) || (cond === 'ER' && !success);
}

export type AckOutcome = 'accept' | 'error' | 'reject';

/**
 * The ACK code to send as soon as the receiver has dealt with the message (stored it, or
 * failed to): original mode → AA/AE/AR; enhanced mode → CA/CE/CR if MSH-15 asks for it,
 * else undefined (send nothing).
 */
export function immediateAckCode(mode: AckMode, outcome: AckOutcome): AckCode | undefined {
  const suffix = outcome === 'accept' ? 'A' : outcome === 'error' ? 'E' : 'R';
  if (!mode.enhanced) return `A${suffix}` as AckCode;
  return wantsAck(mode.accept, outcome === 'accept') ? (`C${suffix}` as AckCode) : undefined;
}
