// Audit entries as FHIR R4 AuditEvent resources (the shape of UK Core AuditEvent / IHE BALP),
// so a patient's access history can be handed over as a Bundle on request.
/// <reference types="fhir" />
import type { AuditRecord } from './types.js';

const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';
const EVENT_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-event-type';
const DICOM_SYSTEM = 'http://dicom.nema.org/resources/ontology/DCM';
const RESTFUL_SYSTEM = 'http://hl7.org/fhir/restful-interaction';
const ENTITY_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/audit-entity-type';
const OBJECT_ROLE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/object-role';
const ACT_REASON_SYSTEM = 'http://terminology.hl7.org/CodeSystem/v3-ActReason';
const SOURCE_TYPE_SYSTEM = 'http://terminology.hl7.org/CodeSystem/security-source-type';
export const TRAMLINE_ACTION_SYSTEM = 'https://tramline.dev/fhir/CodeSystem/audit-action';
export const TRAMLINE_MESSAGE_ID_SYSTEM = 'https://tramline.dev/fhir/Id/message-id';
export const TRAMLINE_AUDIT_SEQ_SYSTEM = 'https://tramline.dev/fhir/Id/audit-seq';

const OUTCOME_CODES: Record<AuditRecord['outcome'], fhir4.AuditEvent['outcome']> = {
  success: '0',
  denied: '4',
  unauthenticated: '4',
  failure: '8',
};

function eventType(r: AuditRecord): fhir4.Coding {
  if (r.category === 'api' || r.category === 'view') return { system: EVENT_TYPE_SYSTEM, code: 'rest', display: 'RESTful Operation' };
  if (r.category === 'auth') return { system: DICOM_SYSTEM, code: '110114', display: 'User Authentication' };
  if (r.category === 'message') return { system: DICOM_SYSTEM, code: '110100', display: 'Application Activity' };
  return { system: DICOM_SYSTEM, code: '110100', display: 'Application Activity' };
}

/** C/R/U/D/E from an HTTP method or the kind of action. */
function actionCode(r: AuditRecord): fhir4.AuditEvent['action'] {
  const method = /^(GET|POST|PUT|PATCH|DELETE)\b/.exec(r.action)?.[1];
  if (method === 'GET' || r.category === 'view') return 'R';
  if (method === 'PUT' || method === 'PATCH') return 'U';
  if (method === 'DELETE') return 'D';
  if (method === 'POST') return 'E';
  return 'E';
}

function agents(r: AuditRecord): fhir4.AuditEventAgent[] {
  const list: fhir4.AuditEventAgent[] = [];
  const a = r.actor;
  list.push({
    type: { text: a?.kind === 'token' || a?.kind === 'system' ? 'system' : 'person' },
    who: { identifier: { value: a?.id ?? 'unknown' }, display: a?.id ?? 'unknown (not authenticated)' },
    requestor: true,
    ...(a?.role ? { role: [{ text: a.role }] } : {}),
    ...(r.sourceIp ? { network: { address: r.sourceIp, type: '2' as const } } : {}),
    ...(r.purpose || r.breakGlass ? { purposeOfUse: purposeOf(r) } : {}),
  });
  if (a?.organisation) {
    list.push({ type: { text: 'organisation' }, who: { identifier: { system: ODS_SYSTEM, value: a.organisation } }, requestor: false });
  }
  return list;
}

function purposeOf(r: AuditRecord): fhir4.CodeableConcept[] {
  const out: fhir4.CodeableConcept[] = [];
  if (r.purpose) out.push({ text: r.purpose });
  if (r.breakGlass) out.push({ coding: [{ system: ACT_REASON_SYSTEM, code: 'BTG', display: 'break the glass' }], text: r.breakGlass });
  return out;
}

function entities(r: AuditRecord): fhir4.AuditEventEntity[] {
  const list: fhir4.AuditEventEntity[] = [];
  if (r.patient) {
    list.push({
      what: { identifier: { system: NHS_NUMBER_SYSTEM, value: r.patient } },
      type: { system: ENTITY_TYPE_SYSTEM, code: '1', display: 'Person' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '1', display: 'Patient' },
    });
  }
  if (r.messageId) {
    list.push({
      what: { identifier: { system: TRAMLINE_MESSAGE_ID_SYSTEM, value: r.messageId } },
      type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' },
      role: { system: OBJECT_ROLE_SYSTEM, code: '4', display: 'Domain Resource' },
    });
  }
  if (r.target) list.push({ type: { system: ENTITY_TYPE_SYSTEM, code: '2', display: 'System Object' }, name: r.target });
  const detail: fhir4.AuditEventEntityDetail[] = [
    { type: 'seq', valueString: String(r.seq) },
    { type: 'hash', valueString: r.hash },
  ];
  if (r.detail) detail.push({ type: 'detail', valueString: JSON.stringify(r.detail) });
  list.push({ what: { identifier: { system: TRAMLINE_AUDIT_SEQ_SYSTEM, value: String(r.seq) } }, type: { system: ENTITY_TYPE_SYSTEM, code: '4', display: 'Other' }, detail });
  return list;
}

export function toAuditEvent(r: AuditRecord): fhir4.AuditEvent {
  const subtype: fhir4.Coding[] = [{ system: TRAMLINE_ACTION_SYSTEM, code: r.action }];
  if (r.category === 'view') subtype.unshift({ system: RESTFUL_SYSTEM, code: 'read', display: 'read' });
  return {
    resourceType: 'AuditEvent',
    id: `audit-${r.seq}`,
    type: eventType(r),
    subtype,
    action: actionCode(r),
    recorded: r.at.toISOString(),
    outcome: OUTCOME_CODES[r.outcome],
    outcomeDesc: r.outcome,
    ...(r.category === 'view' || r.purpose || r.breakGlass ? { purposeOfEvent: purposeOf(r) } : {}),
    agent: agents(r),
    source: {
      site: 'tramline',
      observer: { display: 'Tramline integration engine' },
      type: [{ system: SOURCE_TYPE_SYSTEM, code: '4', display: 'Application Server' }],
    },
    entity: entities(r),
  };
}

/** A searchset Bundle of AuditEvents, oldest first. */
export function auditBundle(records: AuditRecord[]): fhir4.Bundle<fhir4.AuditEvent> {
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    timestamp: new Date().toISOString(),
    total: records.length,
    entry: records.map((r) => ({ fullUrl: `urn:tramline:audit:${r.seq}`, resource: toAuditEvent(r), search: { mode: 'match' as const } })),
  };
}
