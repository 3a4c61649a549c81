// Reads an ADW message (a FHIR DSTU2 message Bundle) from XML or JSON into DSTU2 JSON, within
// bounds: a size limit, a nesting limit, and for XML no DTD at all (so no entity expansion, no
// external entities). Messages name no patient values: errors can end up in logs.
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { Dstu2FormError, resourceFromXml, type Json, type JsonObject, type XmlNode } from './fhir-dstu2.js';

export type AdwFormat = 'xml' | 'json';

export interface ParsedAdw {
  format: AdwFormat;
  bundle: JsonObject;
}

export interface AdwParseLimits {
  /** Bytes (UTF-8). The largest published example is about 125 kB; attachments can be larger. */
  maxBytes: number;
  /** Element nesting. */
  maxDepth: number;
}

export const DEFAULT_ADW_LIMITS: AdwParseLimits = { maxBytes: 5 * 1024 * 1024, maxDepth: 64 };

/**
 * For what Tramline stored itself (a notice taken within its channel's size limit, or an answer
 * it built): no size limit, since the limit was the channel's when the message arrived.
 */
export const STORED_ADW_LIMITS: AdwParseLimits = { maxBytes: Number.MAX_SAFE_INTEGER, maxDepth: 64 };

export class AdwParseError extends Error {
  constructor(readonly reason: string) {
    super(`ADW message not readable: ${reason}`);
    this.name = 'AdwParseError';
  }
}

export function parseAdw(input: string | Buffer, limits: AdwParseLimits = DEFAULT_ADW_LIMITS): ParsedAdw {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > limits.maxBytes) throw new AdwParseError(`larger than ${limits.maxBytes} bytes`);
  const text = (typeof input === 'string' ? input : input.toString('utf8')).replace(/^\uFEFF/, '');
  const first = text.trimStart()[0];
  if (first === '<') return { format: 'xml', bundle: parseXml(text, limits) };
  if (first === '{') return { format: 'json', bundle: parseJson(text, limits) };
  throw new AdwParseError('neither XML nor JSON');
}

function parseJson(text: string, limits: AdwParseLimits): JsonObject {
  let value: Json;
  try {
    value = JSON.parse(text) as Json;
  } catch {
    throw new AdwParseError('malformed JSON');
  }
  if (jsonDepth(value, 0, limits.maxDepth) > limits.maxDepth) throw new AdwParseError(`nested deeper than ${limits.maxDepth}`);
  if (!value || typeof value !== 'object' || Array.isArray(value) || value.resourceType !== 'Bundle') {
    throw new AdwParseError('not a FHIR Bundle');
  }
  return value;
}

function jsonDepth(value: Json, depth: number, max: number): number {
  if (depth > max || value === null || typeof value !== 'object') return depth;
  let deepest = depth;
  for (const child of Array.isArray(value) ? value : Object.values(value)) {
    deepest = Math.max(deepest, jsonDepth(child, depth + 1, max));
    if (deepest > max) break;
  }
  return deepest;
}

// FHIR forbids DTDs; refusing them outright closes off entity expansion ("billion laughs") and
// external entities (XXE) whatever the parser would do with them.
const DTD = /<!DOCTYPE|<!ENTITY/i;

function parseXml(text: string, limits: AdwParseLimits): JsonObject {
  if (DTD.test(text)) throw new AdwParseError('XML with a DTD or entity declaration');
  if (xmlDepth(text) > limits.maxDepth) throw new AdwParseError(`nested deeper than ${limits.maxDepth}`);
  const valid = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (valid !== true) throw new AdwParseError(`malformed XML at line ${valid.err.line}: ${valid.err.msg}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    // Every element an array (repetition is decided later from the definitions); attributes plain.
    isArray: (_name: string, _path: unknown, _leaf: boolean, isAttribute: boolean) => !isAttribute,
    parseTagValue: false,
    parseAttributeValue: false,
    trimValues: true,
    // References are decoded by decodeReferences below: XML's five entities and character
    // references only, so nothing a DTD or HTML would define is ever expanded.
    processEntities: false,
    attributeValueProcessor: (_name: string, value: string) => decodeReferences(value),
    tagValueProcessor: (_name: string, value: string) => decodeReferences(value),
    ignoreDeclaration: true,
    ignorePiTags: true,
    removeNSPrefix: false,
    stopNodes: ['*.div'],
  });
  const doc = parser.parse(text) as XmlNode;
  const roots = Object.entries(doc).filter(([k]) => !k.startsWith('?') && !k.startsWith('@_'));
  if (roots.length !== 1 || roots[0][0] !== 'Bundle') throw new AdwParseError('root element is not Bundle');
  const root = (roots[0][1] as XmlNode[])[0];
  if (root['@_xmlns'] !== 'http://hl7.org/fhir') throw new AdwParseError('root element not in the FHIR namespace');
  try {
    return resourceFromXml('Bundle', root, 'Bundle');
  } catch (err) {
    if (err instanceof Dstu2FormError) throw new AdwParseError(err.message);
    throw err;
  }
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

/** Decodes XML's predefined entities and character references; any other reference is refused. */
export function decodeReferences(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(/&([^;&\s]{0,12});?/g, (whole, name: string) => {
    if (!whole.endsWith(';')) throw new AdwParseError('a bare "&" in text');
    if (name in PREDEFINED) return PREDEFINED[name];
    const hex = /^#x([0-9a-f]{1,6})$/i.exec(name);
    const dec = /^#([0-9]{1,7})$/.exec(name);
    const code = hex ? parseInt(hex[1], 16) : dec ? parseInt(dec[1], 10) : undefined;
    if (code === undefined) throw new AdwParseError(`an undeclared entity &${name.slice(0, 12)};`);
    if (code > 0x10ffff || code === 0 || (code >= 0xd800 && code <= 0xdfff)) throw new AdwParseError('a character reference to no character');
    return String.fromCodePoint(code);
  });
}

/** Element nesting, counted before parsing so a deep document cannot exhaust the parser. */
function xmlDepth(text: string): number {
  // Attribute values are matched whole: FHIR text may hold '>' unescaped inside value="…".
  const tags = /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<\?[\s\S]*?\?>|<(\/?)[A-Za-z_][^\s/>]*(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*\s*(\/?)>/g;
  let depth = 0;
  let deepest = 0;
  for (const m of text.matchAll(tags)) {
    if (m[0].startsWith('<!') || m[0].startsWith('<?')) continue;
    if (m[1] === '/') depth--;
    else if (m[2] !== '/') deepest = Math.max(deepest, ++depth);
  }
  return deepest;
}
