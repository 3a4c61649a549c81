// FHIR DSTU2 (1.0.2) XML ↔ JSON for the resources an ADW message carries. The in-memory form is
// FHIR DSTU2 JSON: primitives as JSON values (a primitive's id/extensions under `_name`),
// repeating elements as arrays, resources with `resourceType`, narrative `div` as a string.
// XML cannot say which elements repeat, so that comes from the element definitions: REPEATING
// lists the names that repeat in the resources and data types ADW uses. An element not listed
// that appears twice is an error rather than silently dropped.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** Element names that are 0..* in the DSTU2 definitions of the resources and types ADW uses. */
const REPEATING = new Set([
  'extension', 'modifierExtension', 'contained', 'profile', 'security', 'tag', 'link', 'entry',
  'identifier', 'name', 'given', 'family', 'prefix', 'suffix', 'line', 'telecom', 'address',
  'contact', 'coding', 'participant', 'location', 'data', 'supportingInformation', 'question',
  'answer', 'group', 'practitionerRole', 'relationship', 'careProvider', 'communication',
  'qualification', 'specialty', 'type', 'statusHistory', 'reason', 'episodeOfCare', 'incomingReferral',
  'indication', 'section', 'author', 'attester', 'event', 'issue', 'category', 'bodySite',
  'evidence', 'stage', 'content', 'context', 'relatesTo', 'securityLabel', 'format',
  'generalPractitioner', 'photo', 'qualification', 'accommodation', 'item', 'destination', 'focus',
  'recipient', 'admittingDiagnosis', 'dischargeDiagnosis', 'serviceRequested', 'healthcareService', 'dosage',
]);

/** Paths (resource type and element names) that are single although the name repeats elsewhere. */
const SINGLE_PATHS = new Set([
  'Bundle.type', 'MessageHeader.event', 'MessageHeader.response.identifier', 'MessageHeader.reason', 'MessageHeader.author', 'MessageHeader.source',
  'ReferralRequest.reason', 'ReferralRequest.type', 'Organization.type', 'Location.type',
  'Encounter.location.location', 'Practitioner.name', 'Organization.name', 'Location.name', 'Practitioner.practitionerRole.role',
  'Patient.contact.name', 'Patient.contact.address', 'Organization.contact.name', 'Organization.contact.address',
  'QuestionnaireResponse.author', 'QuestionnaireResponse.group', 'QuestionnaireResponse.identifier', 'Composition.type', 'Composition.event',
  'DocumentReference.type', 'DocumentReference.context', 'Binary.content',
]);

const BOOLEAN = /(Boolean|^active|^preferred|^interpreterRequired|^deceased|^experimental|^readOnly|^primary)$/;
const NUMBER = /(Integer|Decimal|UnsignedInt|PositiveInt|^total|^rank|^sequence)$/;

/** Names under which a resource (not a data type) sits. */
const RESOURCE_HOLDERS = new Set(['resource', 'contained']);

/** `context` is the resource type and element names down to the parent, e.g. `Encounter.location`. */
export function isRepeating(name: string, context: string): boolean {
  const path = `${context}.${name}`;
  return REPEATING.has(name) && !SINGLE_PATHS.has(path) && !SINGLE_IN_TYPES.some((suffix) => path.endsWith(suffix));
}

/** Single elements of data types, wherever the type is used (Identifier.type). */
const SINGLE_IN_TYPES = ['.identifier.type'];

export function typedPrimitive(name: string, raw: string): Json {
  if (BOOLEAN.test(name)) {
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    throw new Dstu2FormError(`${name}: "${raw.slice(0, 20)}" is not a boolean`);
  }
  if (NUMBER.test(name)) {
    const n = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(n)) throw new Dstu2FormError(`${name}: not a number`);
    return n;
  }
  return raw;
}

export class Dstu2FormError extends Error {}

// ---------- XML (as fast-xml-parser gives it, every element an array) → JSON ----------

/** A node from fast-xml-parser with `isArray: () => true`, attributes prefixed `@_`. */
export type XmlNode = { [key: string]: XmlNode[] | string };

export function resourceFromXml(resourceType: string, node: XmlNode, path: string): JsonObject {
  const out: JsonObject = { resourceType };
  Object.assign(out, elementFromXml(node, resourceType, path));
  return out;
}

function elementFromXml(node: XmlNode, context: string, path: string): JsonObject {
  const out: JsonObject = {};
  if (typeof node['@_id'] === 'string') out.id = node['@_id'];
  if (typeof node['@_url'] === 'string') out.url = node['@_url'];
  for (const [name, value] of Object.entries(node)) {
    if (name.startsWith('@_') || name === '#text') continue;
    if (!Array.isArray(value)) continue;
    const here = `${path}.${name}`;
    if (name === 'div') {
      out.div = divString(value[0]);
      continue;
    }
    const repeats = isRepeating(name, context);
    if (!repeats && value.length > 1) throw new Dstu2FormError(`${here}: appears ${value.length} times but does not repeat`);
    if (RESOURCE_HOLDERS.has(name)) {
      const items = value.map((v, i) => {
        const entries = Object.entries(v).filter(([k]) => !k.startsWith('@_') && k !== '#text');
        if (entries.length !== 1 || !Array.isArray(entries[0][1])) throw new Dstu2FormError(`${here}: must hold exactly one resource`);
        const [type, inner] = entries[0] as [string, XmlNode[]];
        return resourceFromXml(type, inner[0], repeats ? `${here}[${i}].${type}` : `${here}.${type}`);
      });
      out[name] = repeats ? items : items[0];
      continue;
    }
    const values: Json[] = [];
    const underscores: Json[] = [];
    for (const [i, child] of value.entries()) {
      const childPath = repeats ? `${here}[${i}]` : here;
      if (typeof child === 'string') throw new Dstu2FormError(`${childPath}: text content where FHIR expects a value attribute`);
      if (typeof child['@_value'] === 'string') {
        values.push(typedPrimitive(name, child['@_value']));
        const extra = elementFromXml(child, `${context}.${name}`, childPath);
        underscores.push(Object.keys(extra).length > 0 ? extra : null);
      } else {
        values.push(elementFromXml(child, `${context}.${name}`, childPath));
        underscores.push(null);
      }
    }
    const anyPrimitive = value.some((c) => typeof c !== 'string' && typeof c['@_value'] === 'string');
    out[name] = repeats ? values : values[0];
    if (anyPrimitive && underscores.some((u) => u !== null)) out[`_${name}`] = repeats ? underscores : underscores[0];
  }
  return out;
}

function divString(node: XmlNode[] | string | XmlNode): string {
  // With `stopNodes`, fast-xml-parser hands back the div's inner XML unparsed.
  const n = node as XmlNode;
  const inner = typeof node === 'string' ? node : typeof n['#text'] === 'string' ? n['#text'] : '';
  return `<div xmlns="http://www.w3.org/1999/xhtml">${inner}</div>`;
}

// ---------- JSON → XML ----------

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** Serialises a DSTU2 JSON resource as FHIR XML, in the key order of the object. */
export function resourceToXml(resource: JsonObject, indent = ''): string {
  const type = String(resource.resourceType);
  const ns = indent === '' ? ' xmlns="http://hl7.org/fhir"' : '';
  return `${indent}<${type}${ns}>\n${childrenToXml(resource, indent + '  ')}${indent}</${type}>\n`;
}

function childrenToXml(obj: JsonObject, indent: string, isExtension = false): string {
  let xml = '';
  for (const [name, value] of Object.entries(obj)) {
    if (name === 'resourceType' || name.startsWith('_')) continue;
    if (name === 'url' && isExtension) continue; // an extension's url is an attribute
    if (name === 'id' && typeof value === 'string' && obj.resourceType === undefined) continue; // element id: attribute
    const list = Array.isArray(value) ? value : [value];
    const extras = obj[`_${name}`];
    const extraList = Array.isArray(extras) ? extras : [extras ?? null];
    list.forEach((item, i) => {
      if (name === 'div' && typeof item === 'string') {
        xml += `${indent}${item}\n`;
      } else if (RESOURCE_HOLDERS.has(name) && item && typeof item === 'object' && !Array.isArray(item)) {
        xml += `${indent}<${name}>\n${resourceToXml(item, indent + '  ')}${indent}</${name}>\n`;
      } else if (item !== null && typeof item === 'object' && !Array.isArray(item)) {
        xml += elementToXml(name, item, undefined, indent);
      } else if (item !== null) {
        const extra = extraList[i];
        xml += elementToXml(name, extra && typeof extra === 'object' && !Array.isArray(extra) ? extra : {}, String(item), indent);
      }
    });
  }
  return xml;
}

function elementToXml(name: string, obj: JsonObject, value: string | undefined, indent: string): string {
  let attrs = '';
  if (typeof obj.id === 'string') attrs += ` id="${escapeXml(obj.id)}"`;
  const isExtension = name === 'extension' || name === 'modifierExtension';
  if (isExtension && typeof obj.url === 'string') attrs += ` url="${escapeXml(obj.url)}"`;
  if (value !== undefined) attrs += ` value="${escapeXml(value)}"`;
  const inner = childrenToXml(obj, indent + '  ', isExtension);
  return inner === '' ? `${indent}<${name}${attrs}/>\n` : `${indent}<${name}${attrs}>\n${inner}${indent}</${name}>\n`;
}
