// The viewer's entries in the audit trail (category `view`): each search (`viewer.search`) and
// each look at a record (`viewer.read`, the record view of server/audit/views.ts that the FHIR
// API writes too), with who, role, organisation, the person's NHS number, purpose of use and
// break-glass reason. They are written before the page answers.
import type { Principal } from '../auth/roles.js';
import type { AuditEntryInput } from '../audit/types.js';
import type { FindQuery, PersonSummary } from './model.js';

export const SEARCH_ACTION = 'viewer.search';

function actor(p: Principal): AuditEntryInput['actor'] {
  return { id: p.id, kind: p.kind, role: p.roles.join(',') || undefined, organisation: p.organisation };
}

/**
 * A search's entries. By NHS number: one, against that number (found or not). By name and date
 * of birth: one per person shown (their details were seen), or one naming nobody when no one
 * was found. The criteria are named, never their values (a name is not an identifier).
 */
export function searchEntries(o: { principal: Principal; query: FindQuery; found: PersonSummary[]; sourceIp?: string; outcome?: AuditEntryInput['outcome']; reason?: string }): AuditEntryInput[] {
  const criteria = o.query.kind === 'nhs-number' ? ['nhsNumber'] : Object.keys(o.query).filter((k) => k !== 'kind');
  const base = (patient?: string): AuditEntryInput => ({
    category: 'view',
    action: SEARCH_ACTION,
    outcome: o.outcome ?? 'success',
    actor: actor(o.principal),
    sourceIp: o.sourceIp,
    target: '/viewer/search',
    ...(patient ? { patient } : {}),
    detail: { by: o.query.kind, criteria, results: o.found.length, ...(o.reason ? { reason: o.reason } : {}) },
  });
  if (o.query.kind === 'nhs-number') return [base(o.query.nhsNumber)];
  const people = [...new Set(o.found.map((p) => p.nhsNumber ?? `Patient/${p.id}`))];
  return people.length ? people.map(base) : [base()];
}
