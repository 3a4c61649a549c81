// Structural JSON Schemas of the FHIR DSTU2 (1.0.2) resources an ADW message or response carries,
// written from the DSTU2 element definitions: each element's cardinality (0..1 a value, 0..* an
// array, 1..x required), its data type (id, instant, dateTime, date, code, uri patterns; Coding,
// CodeableConcept, Identifier, Reference, HumanName, ContactPoint, Address, Period, Meta,
// Narrative, Attachment, Extension), and the value sets DSTU2 binds as required (Bundle.type,
// MessageHeader.response.code, ReferralRequest.status, Encounter.status and class,
// OperationOutcome severity and code, gender, ContactPoint system and use, ...). Every object has
// additionalProperties false, so a misspelt or R4-only element (MessageHeader.eventCoding,
// MessageHeader.source as a Reference, ...) fails. A primitive's id/extensions (`_name`) are allowed
// beside it. Profile constraints (CareConnect, ADW) are the checks' and the builder's business;
// this is the base resource shape.
//
// `validateDstu2(bundle)` → problems as `path: reason` (paths and schema words only, never a
// value from the message, so they can be logged). Compiled once, on first use.
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { JsonObject } from './fhir-dstu2.js';

type Schema = Record<string, unknown>;

// ---------- primitives (DSTU2 datatypes.html regexes) ----------
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\\.[0-9]+)?(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const DATE = '-?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[0-9]|[1-2][0-9]|3[0-1]))?)?';
const P: Record<string, Schema> = {
  id: { type: 'string', pattern: '^[A-Za-z0-9\\-.]{1,64}$' },
  string: { type: 'string', minLength: 1 },
  code: { type: 'string', pattern: '^[^\\s]+( [^\\s]+)*$' },
  uri: { type: 'string', pattern: '^\\S+$' },
  instant: { type: 'string', pattern: `^-?[0-9]{4}-(0[1-9]|1[0-2])-(0[0-9]|[1-2][0-9]|3[0-1])T${TIME}$` },
  dateTime: { type: 'string', pattern: `^-?[0-9]{4}(-(0[1-9]|1[0-2])(-(0[0-9]|[1-2][0-9]|3[0-1])(T${TIME})?)?)?$` },
  date: { type: 'string', pattern: `^${DATE}$` },
  boolean: { type: 'boolean' },
  integer: { type: 'integer' },
  positiveInt: { type: 'integer', minimum: 1 },
  unsignedInt: { type: 'integer', minimum: 0 },
  decimal: { type: 'number' },
  base64Binary: { type: 'string', pattern: '^(\\s*[0-9a-zA-Z+/=]){4,}\\s*$' },
  xhtml: { type: 'string', pattern: '^<div' },
};

const ref = (name: string): Schema => (name in P ? P[name] : { $ref: `#/$defs/${name}` });
const codes = (...values: string[]): Schema => ({ type: 'string', enum: values });

/**
 * An element's content: `name: type` for 0..1, `name: [type]` for 0..*, a leading `!` for a
 * required element (1..1 or 1..*). The type is a primitive or data type name, a Schema (a
 * required binding, a backbone element), or a list of resource names for `resource`.
 */
type Field = string | Schema | [string | Schema];

function element(fields: Record<string, Field>, base: Record<string, Field> = ELEMENT): Schema {
  const properties: Record<string, Schema> = {};
  const required: string[] = [];
  for (const [key, field] of Object.entries({ ...base, ...fields })) {
    const name = key.replace(/^!/, '');
    if (key.startsWith('!')) required.push(name);
    const many = Array.isArray(field);
    const one = many ? field[0] : field;
    const schema = typeof one === 'string' ? ref(one) : one;
    properties[name] = many ? { type: 'array', minItems: key.startsWith('!') ? 1 : 0, items: schema } : schema;
    // A primitive's id and extensions, beside it (JSON `_name`).
    if (typeof one === 'string' && one in P) properties[`_${name}`] = many ? { type: 'array', items: { anyOf: [{ type: 'null' }, ref('Element')] } } : ref('Element');
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

/** Element: id and extensions. BackboneElement adds modifierExtension. */
const ELEMENT: Record<string, Field> = { id: 'string', extension: ['Extension'] };
const BACKBONE: Record<string, Field> = { ...ELEMENT, modifierExtension: ['Extension'] };
const backbone = (fields: Record<string, Field>): Schema => element(fields, BACKBONE);

/** Resource (Bundle, Binary) and DomainResource (the others). */
const RESOURCE: Record<string, Field> = { resourceType: 'string', id: 'id', meta: 'Meta', implicitRules: 'uri', language: 'code' };
const DOMAIN: Record<string, Field> = { ...RESOURCE, text: 'Narrative', contained: [{ $ref: '#/$defs/AnyResource' }], extension: ['Extension'], modifierExtension: ['Extension'] };

function resource(type: string, fields: Record<string, Field>, base = DOMAIN): Schema {
  const s = element({ ...fields, '!resourceType': { const: type } }, base);
  delete (s.properties as Record<string, unknown>)._resourceType;
  return s;
}

// ---------- data types ----------
const EXTENSION_VALUES = ['Boolean', 'Integer', 'Decimal', 'Base64Binary', 'Instant', 'String', 'Uri', 'Date', 'DateTime', 'Time', 'Code', 'Oid', 'Id', 'UnsignedInt', 'PositiveInt', 'Markdown',
  'Annotation', 'Attachment', 'Identifier', 'CodeableConcept', 'Coding', 'Quantity', 'Range', 'Period', 'Ratio', 'SampledData', 'Signature', 'HumanName', 'Address', 'ContactPoint', 'Timing', 'Reference', 'Meta'];
const KNOWN_VALUE: Record<string, string> = { Base64Binary: 'base64Binary', Instant: 'instant', String: 'string', Uri: 'uri', Date: 'date', DateTime: 'dateTime', Code: 'code', Id: 'id', UnsignedInt: 'unsignedInt', PositiveInt: 'positiveInt', Boolean: 'boolean', Integer: 'integer', Decimal: 'decimal',
  Identifier: 'Identifier', CodeableConcept: 'CodeableConcept', Coding: 'Coding', Period: 'Period', HumanName: 'HumanName', Address: 'Address', ContactPoint: 'ContactPoint', Reference: 'Reference', Attachment: 'Attachment', Meta: 'Meta' };

const extensionValues: Record<string, Field> = Object.fromEntries(
  EXTENSION_VALUES.map((t) => [`value${t}`, KNOWN_VALUE[t] ?? { type: ['object', 'string', 'number', 'boolean'] }]),
);

const DATA_TYPES: Record<string, Schema> = {
  Element: element({}),
  Extension: {
    ...element({ '!url': 'uri', ...extensionValues }),
    // A value or nested extensions, not both (ext-1); at most one value[x] is checked in code
    // (extensionValueCounts), as a schema of every pair would be slow to compile.
    not: { anyOf: EXTENSION_VALUES.map((t) => ({ required: ['extension', `value${t}`] })) },
  },
  Coding: element({ system: 'uri', version: 'string', code: 'code', display: 'string', userSelected: 'boolean' }),
  CodeableConcept: element({ coding: ['Coding'], text: 'string' }),
  Period: element({ start: 'dateTime', end: 'dateTime' }),
  Reference: element({ reference: 'string', display: 'string' }),
  Identifier: element({ use: codes('usual', 'official', 'temp', 'secondary'), type: 'CodeableConcept', system: 'uri', value: 'string', period: 'Period', assigner: 'Reference' }),
  HumanName: element({ use: codes('usual', 'official', 'temp', 'nickname', 'anonymous', 'old', 'maiden'), text: 'string', family: ['string'], given: ['string'], prefix: ['string'], suffix: ['string'], period: 'Period' }),
  ContactPoint: element({ system: codes('phone', 'fax', 'email', 'pager', 'other'), value: 'string', use: codes('home', 'work', 'temp', 'old', 'mobile'), rank: 'positiveInt', period: 'Period' }),
  Address: element({ use: codes('home', 'work', 'temp', 'old'), type: codes('postal', 'physical', 'both'), text: 'string', line: ['string'], city: 'string', district: 'string', state: 'string', postalCode: 'string', country: 'string', period: 'Period' }),
  Attachment: element({ contentType: 'code', language: 'code', data: 'base64Binary', url: 'uri', size: 'unsignedInt', hash: 'base64Binary', title: 'string', creation: 'dateTime' }),
  Quantity: element({ value: 'decimal', comparator: codes('<', '<=', '>=', '>'), unit: 'string', system: 'uri', code: 'code' }),
  Range: element({ low: 'Quantity', high: 'Quantity' }),
  Ratio: element({ numerator: 'Quantity', denominator: 'Quantity' }),
  Timing: element({ event: ['dateTime'], repeat: { type: 'object' }, code: 'CodeableConcept' }),
  Meta: element({ versionId: 'id', lastUpdated: 'instant', profile: ['uri'], security: ['Coding'], tag: ['Coding'] }),
  Narrative: element({ '!status': codes('generated', 'extensions', 'additional', 'empty'), '!div': 'xhtml' }),
};

// ---------- resources ----------
const GENDER = codes('male', 'female', 'other', 'unknown');

const RESOURCES: Record<string, Schema> = {
  Bundle: resource('Bundle', {
    '!type': codes('document', 'message', 'transaction', 'transaction-response', 'batch', 'batch-response', 'history', 'searchset', 'collection'),
    total: 'unsignedInt',
    link: [backbone({ '!relation': 'string', '!url': 'uri' })],
    entry: [backbone({
      link: [backbone({ '!relation': 'string', '!url': 'uri' })],
      fullUrl: 'uri',
      resource: { $ref: '#/$defs/AnyResource' },
      search: backbone({ mode: codes('match', 'include', 'outcome'), score: 'decimal' }),
      request: backbone({ '!method': codes('GET', 'POST', 'PUT', 'DELETE'), '!url': 'uri', ifNoneMatch: 'string', ifModifiedSince: 'instant', ifMatch: 'string', ifNoneExist: 'string' }),
      response: backbone({ '!status': 'string', location: 'uri', etag: 'string', lastModified: 'instant' }),
    })],
    signature: { type: 'object' },
  }, RESOURCE),
  MessageHeader: resource('MessageHeader', {
    '!timestamp': 'instant',
    '!event': 'Coding',
    response: backbone({ '!identifier': 'id', '!code': codes('ok', 'transient-error', 'fatal-error'), details: 'Reference' }),
    '!source': backbone({ name: 'string', software: 'string', version: 'string', contact: 'ContactPoint', '!endpoint': 'uri' }),
    destination: [backbone({ name: 'string', target: 'Reference', '!endpoint': 'uri' })],
    enterer: 'Reference',
    author: 'Reference',
    receiver: 'Reference',
    responsible: 'Reference',
    reason: 'CodeableConcept',
    data: ['Reference'],
  }),
  Patient: resource('Patient', {
    identifier: ['Identifier'], active: 'boolean', name: ['HumanName'], telecom: ['ContactPoint'], gender: GENDER, birthDate: 'date',
    deceasedBoolean: 'boolean', deceasedDateTime: 'dateTime', address: ['Address'], maritalStatus: 'CodeableConcept',
    multipleBirthBoolean: 'boolean', multipleBirthInteger: 'integer', photo: ['Attachment'],
    contact: [backbone({ relationship: ['CodeableConcept'], name: 'HumanName', telecom: ['ContactPoint'], address: 'Address', gender: GENDER, organization: 'Reference', period: 'Period' })],
    animal: backbone({ '!species': 'CodeableConcept', breed: 'CodeableConcept', genderStatus: 'CodeableConcept' }),
    communication: [backbone({ '!language': 'CodeableConcept', preferred: 'boolean' })],
    careProvider: ['Reference'], managingOrganization: 'Reference',
    link: [backbone({ '!other': 'Reference', '!type': codes('replace', 'refer', 'seealso') })],
  }),
  Organization: resource('Organization', {
    identifier: ['Identifier'], active: 'boolean', type: 'CodeableConcept', name: 'string', telecom: ['ContactPoint'], address: ['Address'], partOf: 'Reference',
    contact: [backbone({ purpose: 'CodeableConcept', name: 'HumanName', telecom: ['ContactPoint'], address: 'Address' })],
  }),
  Practitioner: resource('Practitioner', {
    identifier: ['Identifier'], active: 'boolean', name: 'HumanName', telecom: ['ContactPoint'], address: ['Address'], gender: GENDER, birthDate: 'date', photo: ['Attachment'],
    practitionerRole: [backbone({ managingOrganization: 'Reference', role: 'CodeableConcept', specialty: ['CodeableConcept'], period: 'Period', location: ['Reference'], healthcareService: ['Reference'] })],
    qualification: [backbone({ identifier: ['Identifier'], '!code': 'CodeableConcept', period: 'Period', issuer: 'Reference' })],
    communication: ['CodeableConcept'],
  }),
  ReferralRequest: resource('ReferralRequest', {
    '!status': codes('draft', 'requested', 'active', 'cancelled', 'accepted', 'rejected', 'completed'),
    identifier: ['Identifier'], date: 'dateTime', type: 'CodeableConcept', specialty: 'CodeableConcept', priority: 'CodeableConcept',
    patient: 'Reference', requester: 'Reference', recipient: ['Reference'], encounter: 'Reference', dateSent: 'dateTime',
    reason: 'CodeableConcept', description: 'string', serviceRequested: ['CodeableConcept'], supportingInformation: ['Reference'], fulfillmentTime: 'Period',
  }),
  Encounter: resource('Encounter', {
    identifier: ['Identifier'],
    '!status': codes('planned', 'arrived', 'in-progress', 'onleave', 'finished', 'cancelled'),
    statusHistory: [backbone({ '!status': codes('planned', 'arrived', 'in-progress', 'onleave', 'finished', 'cancelled'), '!period': 'Period' })],
    class: codes('inpatient', 'outpatient', 'ambulatory', 'emergency', 'home', 'field', 'daytime', 'virtual', 'other'),
    type: ['CodeableConcept'], priority: 'CodeableConcept', patient: 'Reference', episodeOfCare: ['Reference'], incomingReferral: ['Reference'],
    participant: [backbone({ type: ['CodeableConcept'], period: 'Period', individual: 'Reference' })],
    appointment: 'Reference', period: 'Period', length: 'Quantity', reason: ['CodeableConcept'], indication: ['Reference'],
    hospitalization: backbone({
      preAdmissionIdentifier: 'Identifier', origin: 'Reference', admitSource: 'CodeableConcept', admittingDiagnosis: ['Reference'], reAdmission: 'CodeableConcept',
      dietPreference: ['CodeableConcept'], specialCourtesy: ['CodeableConcept'], specialArrangement: ['CodeableConcept'], destination: 'Reference',
      dischargeDisposition: 'CodeableConcept', dischargeDiagnosis: ['Reference'],
    }),
    location: [backbone({ '!location': 'Reference', status: codes('planned', 'active', 'reserved', 'completed'), period: 'Period' })],
    serviceProvider: 'Reference', partOf: 'Reference',
  }),
  Location: resource('Location', {
    identifier: ['Identifier'], status: codes('active', 'suspended', 'inactive'), name: 'string', description: 'string', mode: codes('instance', 'kind'),
    type: 'CodeableConcept', telecom: ['ContactPoint'], address: 'Address', physicalType: 'CodeableConcept',
    position: backbone({ '!longitude': 'decimal', '!latitude': 'decimal', altitude: 'decimal' }),
    managingOrganization: 'Reference', partOf: 'Reference',
  }),
  OperationOutcome: resource('OperationOutcome', {
    '!issue': [backbone({
      '!severity': codes('fatal', 'error', 'warning', 'information'),
      '!code': codes('invalid', 'structure', 'required', 'value', 'invariant', 'security', 'login', 'unknown', 'expired', 'forbidden', 'suppressed', 'processing',
        'not-supported', 'duplicate', 'not-found', 'too-long', 'code-invalid', 'extension', 'too-costly', 'business-rule', 'conflict', 'incomplete', 'transient',
        'lock-error', 'no-store', 'exception', 'timeout', 'throttled', 'informational'),
      details: 'CodeableConcept', diagnostics: 'string', location: ['string'],
    })],
  }),
  DocumentReference: resource('DocumentReference', {
    masterIdentifier: 'Identifier', identifier: ['Identifier'], subject: 'Reference', '!type': 'CodeableConcept', class: 'CodeableConcept', author: ['Reference'],
    custodian: 'Reference', authenticator: 'Reference', created: 'dateTime', '!indexed': 'instant', '!status': codes('current', 'superseded', 'entered-in-error'),
    docStatus: 'CodeableConcept', relatesTo: [backbone({ '!code': codes('replaces', 'transforms', 'signs', 'appends'), '!target': 'Reference' })],
    description: 'string', securityLabel: ['CodeableConcept'],
    '!content': [backbone({ '!attachment': 'Attachment', format: ['Coding'] })],
    context: backbone({
      encounter: 'Reference', event: ['CodeableConcept'], period: 'Period', facilityType: 'CodeableConcept', practiceSetting: 'CodeableConcept',
      sourcePatientInfo: 'Reference', related: [backbone({ identifier: 'Identifier', ref: 'Reference' })],
    }),
  }),
  // In notices (the checks read them; Tramline's responses do not carry them).
  Condition: resource('Condition', {
      identifier: ['Identifier'], '!patient': 'Reference', encounter: 'Reference', asserter: 'Reference', dateRecorded: 'date', '!code': 'CodeableConcept',
      category: 'CodeableConcept', clinicalStatus: codes('active', 'relapse', 'remission', 'resolved'),
      '!verificationStatus': codes('provisional', 'differential', 'confirmed', 'refuted', 'entered-in-error', 'unknown'), severity: 'CodeableConcept',
      onsetDateTime: 'dateTime', onsetQuantity: 'Quantity', onsetPeriod: 'Period', onsetRange: 'Range', onsetString: 'string',
      abatementDateTime: 'dateTime', abatementQuantity: 'Quantity', abatementBoolean: 'boolean', abatementPeriod: 'Period', abatementRange: 'Range', abatementString: 'string',
      stage: backbone({ summary: 'CodeableConcept', assessment: ['Reference'] }),
      evidence: [backbone({ code: 'CodeableConcept', detail: ['Reference'] })],
      bodySite: ['CodeableConcept'], notes: 'string',
  }),
  QuestionnaireResponse: resource('QuestionnaireResponse', {
    identifier: 'Identifier', questionnaire: 'Reference', '!status': codes('in-progress', 'completed', 'amended'), subject: 'Reference', author: 'Reference',
    authored: 'dateTime', source: 'Reference', encounter: 'Reference', group: { $ref: '#/$defs/QuestionnaireResponseGroup' },
  }),
  MedicationStatement: resource('MedicationStatement', {
    identifier: ['Identifier'], '!patient': 'Reference', informationSource: 'Reference', dateAsserted: 'dateTime',
    '!status': codes('active', 'completed', 'entered-in-error', 'intended'), wasNotTaken: 'boolean', reasonNotTaken: ['CodeableConcept'],
    reasonForUseCodeableConcept: 'CodeableConcept', reasonForUseReference: 'Reference', effectiveDateTime: 'dateTime', effectivePeriod: 'Period',
    note: 'string', supportingInformation: ['Reference'], medicationCodeableConcept: 'CodeableConcept', medicationReference: 'Reference',
    dosage: [backbone({
      text: 'string', timing: 'Timing', asNeededBoolean: 'boolean', asNeededCodeableConcept: 'CodeableConcept', siteCodeableConcept: 'CodeableConcept',
      siteReference: 'Reference', route: 'CodeableConcept', method: 'CodeableConcept', quantityQuantity: 'Quantity', quantityRange: 'Range',
      rateRatio: 'Ratio', rateRange: 'Range', maxDosePerPeriod: 'Ratio',
    })],
  }),
  Binary: resource('Binary', { '!contentType': 'code', '!content': 'base64Binary' }, RESOURCE),
};

/** Resource types the schemas define: a Bundle entry of another type fails (ADW responses carry no other). */
export const DSTU2_RESOURCE_TYPES = Object.keys(RESOURCES);

function schema(otherResources: boolean): Schema {
  return {
    $ref: '#/$defs/Bundle',
    $defs: {
      ...DATA_TYPES,
      QuestionnaireResponseGroup: backbone({
        linkId: 'string', title: 'string', text: 'string', subject: 'Reference', group: [{ $ref: '#/$defs/QuestionnaireResponseGroup' }],
        question: [backbone({
          linkId: 'string', text: 'string',
          answer: [backbone({
            valueBoolean: 'boolean', valueDecimal: 'decimal', valueInteger: 'integer', valueDate: 'date', valueDateTime: 'dateTime', valueInstant: 'instant',
            valueTime: 'string', valueString: 'string', valueUri: 'uri', valueAttachment: 'Attachment', valueCoding: 'Coding', valueQuantity: 'Quantity',
            valueReference: 'Reference', group: [{ $ref: '#/$defs/QuestionnaireResponseGroup' }],
          })],
        })],
      }),
      ...RESOURCES,
      AnyResource: {
        type: 'object',
        required: ['resourceType'],
        properties: { resourceType: otherResources ? { type: 'string' } : { enum: DSTU2_RESOURCE_TYPES } },
        allOf: DSTU2_RESOURCE_TYPES.map((t) => ({ if: { properties: { resourceType: { const: t } } }, then: { $ref: `#/$defs/${t}` } })),
      },
    },
  };
}

const compiled = new Map<boolean, ValidateFunction>();

/**
 * The problems (none: valid) of a DSTU2 Bundle in JSON form, as `path: reason` with no values
 * from it. `otherResources`: resources of types this schema does not describe pass unchecked
 * (a hospital's notice may carry more than ADW names; what Tramline answers must not).
 */
export function validateDstu2(bundle: JsonObject, options: { otherResources?: boolean } = {}): string[] {
  const lenient = options.otherResources === true;
  let validate = compiled.get(lenient);
  if (!validate) compiled.set(lenient, (validate = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true }).compile(schema(lenient))));
  const seen = new Set<string>(extensionValueCounts(bundle, ''));
  if (validate(bundle)) return [...seen];
  for (const e of validate.errors ?? []) {
    if (e.keyword === 'if') continue; // the branch's own errors say what is wrong
    seen.add(describe(e));
  }
  return [...seen];
}

/** Extensions with more than one value[x], anywhere in the tree. */
function extensionValueCounts(node: unknown, path: string): string[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => extensionValueCounts(v, `${path}.${i}`));
  if (!node || typeof node !== 'object') return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(node)) {
    const here = path ? `${path}.${k}` : k;
    if ((k === 'extension' || k === 'modifierExtension') && Array.isArray(v)) {
      v.forEach((x, i) => {
        if (x && typeof x === 'object' && Object.keys(x).filter((n) => /^value[A-Z]/.test(n)).length > 1) out.push(`${here}.${i}: more than one value[x]`);
      });
    }
    out.push(...extensionValueCounts(v, here));
  }
  return out;
}

function describe(e: ErrorObject): string {
  const path = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(root)';
  if (e.keyword === 'additionalProperties') return `${path}: unknown element ${JSON.stringify(String((e.params as { additionalProperty: string }).additionalProperty).slice(0, 40))}`;
  if (e.keyword === 'required') return `${path}: missing ${String((e.params as { missingProperty: string }).missingProperty)}`;
  if (e.keyword === 'enum' || e.keyword === 'const') return `${path}: ${e.message ?? 'not an allowed value'}${e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.join(' | ')})` : ''}`;
  if (e.keyword === 'pattern') return `${path}: not a valid ${typeOfPattern(String((e.params as { pattern: string }).pattern))}`;
  return `${path}: ${e.message ?? e.keyword}`;
}

function typeOfPattern(pattern: string): string {
  return Object.entries(P).find(([, s]) => s.pattern === pattern)?.[0] ?? 'value';
}
