// The MESH client's control file (`<id>.ctl`, DTSControl XML) beside each data file
// (`<id>.dat`): who sent it to whom, under which workflow, and, for reports, what happened.
// Parsed with fast-xml-parser with entities and DTDs off (a DOCTYPE is refused outright) and a
// size limit, since the file comes from outside; written in the order the MESH client writes it.
import { XMLBuilder, XMLParser, XMLValidator } from 'fast-xml-parser';

/** A control file is a few hundred bytes; anything near this is not one. */
export const MAX_CONTROL_BYTES = 64 * 1024;

export interface StatusRecord {
  dateTime?: string;
  event?: string;
  status?: string;
  statusCode?: string;
  description?: string;
}

export interface ControlFile {
  version: string;
  addressType: 'DTS' | 'ALL';
  messageType: 'Data' | 'Report';
  workflowId: string;
  fromDts: string;
  toDts: string;
  subject?: string;
  localId?: string;
  /** MESH's own id of the transfer (set by MESH on received messages). */
  dtsId?: string;
  partnerId?: string;
  compress?: boolean;
  encrypted?: boolean;
  isCompressed?: boolean;
  statusRecord?: StatusRecord;
}

export class ControlFileError extends Error {}

/** Element names in the order the MESH client writes them. */
const ORDER = [
  ['version', 'Version'],
  ['addressType', 'AddressType'],
  ['messageType', 'MessageType'],
  ['workflowId', 'WorkflowId'],
  ['fromDts', 'From_DTS'],
  ['toDts', 'To_DTS'],
  ['subject', 'Subject'],
  ['localId', 'LocalId'],
  ['dtsId', 'DTSId'],
  ['partnerId', 'PartnerId'],
  ['compress', 'Compress'],
  ['encrypted', 'Encrypted'],
  ['isCompressed', 'IsCompressed'],
] as const;

const STATUS_ORDER = [
  ['dateTime', 'DateTime'],
  ['event', 'Event'],
  ['status', 'Status'],
  ['statusCode', 'StatusCode'],
  ['description', 'Description'],
] as const;

const parser = new XMLParser({
  // Every value as text: a LocalId of 00123 stays 00123.
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  // Only the five XML escapes (a DOCTYPE, and so any declared entity, is refused before parsing).
  processEntities: true,
  htmlEntities: false,
  trimValues: true,
});

const builder = new XMLBuilder({ format: true, indentBy: '  ', processEntities: true, suppressEmptyNode: false });

function text(v: unknown, element: string): string | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new ControlFileError(`control file: <${element}> is not a single text value`);
  return v;
}

function yesNo(v: string | undefined, element: string): boolean | undefined {
  if (v === undefined) return undefined;
  if (v === 'Y') return true;
  if (v === 'N') return false;
  throw new ControlFileError(`control file: <${element}> must be Y or N`);
}

/** Parse a control file's bytes; a ControlFileError names what is wrong (never a value). */
export function parseControlFile(bytes: Buffer): ControlFile {
  if (bytes.length > MAX_CONTROL_BYTES) throw new ControlFileError(`control file larger than ${MAX_CONTROL_BYTES} bytes`);
  let xml: string;
  try {
    xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ControlFileError('control file is not UTF-8 text');
  }
  // No DTD, so no entity expansion and no external references, whatever the parser would do.
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new ControlFileError('control file has a DTD or entity declarations: refused');
  if (XMLValidator.validate(xml) !== true) throw new ControlFileError('control file is not well-formed XML');
  const doc = parser.parse(xml) as Record<string, unknown>;
  const root = doc.DTSControl;
  if (!root || typeof root !== 'object' || Array.isArray(root)) throw new ControlFileError('control file has no <DTSControl> root');
  const el = root as Record<string, unknown>;
  const get = (name: string) => text(el[name], name);
  const need = (name: string) => get(name) ?? fail(`control file: <${name}> missing or empty`);

  const addressType = get('AddressType') ?? 'ALL';
  if (addressType !== 'DTS' && addressType !== 'ALL') throw new ControlFileError('control file: <AddressType> must be DTS or ALL');
  const messageType = need('MessageType');
  if (messageType !== 'Data' && messageType !== 'Report') throw new ControlFileError('control file: <MessageType> must be Data or Report');

  let statusRecord: StatusRecord | undefined;
  if (el.StatusRecord !== undefined && el.StatusRecord !== '') {
    if (typeof el.StatusRecord !== 'object' || Array.isArray(el.StatusRecord)) throw new ControlFileError('control file: <StatusRecord> must appear once');
    const sr = el.StatusRecord as Record<string, unknown>;
    statusRecord = Object.fromEntries(STATUS_ORDER.map(([key, name]) => [key, text(sr[name], `StatusRecord/${name}`)]).filter(([, v]) => v !== undefined));
  }
  const control: ControlFile = {
    version: get('Version') ?? '1.0',
    addressType,
    messageType,
    // A report about a message that never left may carry no workflow; data must name one.
    workflowId: messageType === 'Data' ? need('WorkflowId') : (get('WorkflowId') ?? ''),
    fromDts: messageType === 'Data' ? need('From_DTS') : (get('From_DTS') ?? ''),
    toDts: get('To_DTS') ?? '',
    subject: get('Subject'),
    localId: get('LocalId'),
    dtsId: get('DTSId'),
    partnerId: get('PartnerId'),
    compress: yesNo(get('Compress'), 'Compress'),
    encrypted: yesNo(get('Encrypted'), 'Encrypted'),
    isCompressed: yesNo(get('IsCompressed'), 'IsCompressed'),
    statusRecord,
  };
  return Object.fromEntries(Object.entries(control).filter(([, v]) => v !== undefined)) as unknown as ControlFile;
}

function fail(message: string): never {
  throw new ControlFileError(message);
}

/** The control file's XML for `control`, elements in the MESH client's order; absent fields are left out. */
export function writeControlFile(control: ControlFile): string {
  const flag = (b: boolean | undefined) => (b === undefined ? undefined : b ? 'Y' : 'N');
  const values: Record<string, string | undefined> = {
    ...control,
    compress: flag(control.compress),
    encrypted: flag(control.encrypted),
    isCompressed: flag(control.isCompressed),
  } as unknown as Record<string, string | undefined>;
  const root: Record<string, unknown> = {};
  for (const [key, name] of ORDER) if (values[key] !== undefined) root[name] = values[key];
  if (control.statusRecord) {
    const sr: Record<string, string> = {};
    for (const [key, name] of STATUS_ORDER) if (control.statusRecord[key] !== undefined) sr[name] = control.statusRecord[key];
    root.StatusRecord = sr;
  }
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ DTSControl: root }) as string}`;
}

/**
 * A report whose status record says the transfer failed (MESH writes Status ERROR with a non-zero
 * StatusCode for an undelivered or expired message); SUCCESS reports are not failures.
 */
export function isFailureReport(control: ControlFile): boolean {
  if (control.messageType !== 'Report') return false;
  const sr = control.statusRecord;
  if (!sr) return true;
  return (sr.status ?? '').toUpperCase() !== 'SUCCESS' || (sr.statusCode !== undefined && sr.statusCode !== '00');
}
