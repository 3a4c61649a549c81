// Fixed viewer data for the template tests: one person with a bit of everything (social care
// services current and past, an allocated worker and team, events, a carer, a hospital stay
// with a transfer), and one with nothing recorded.
import type { PersonRecord, PersonSummary, ViewerData } from '../../server/viewer/model.js';

const council = { organisation: 'Blackpool Council', system: 'Mosaic', lastUpdated: '2026-12-03T14:05:00Z' };
const hospital = { organisation: 'Blackpool Teaching Hospitals', system: 'PAS', lastUpdated: '2026-12-05T09:30:00Z' };

export const ALICE: PersonSummary = { id: 'p-alice', name: 'Alice EXAMPLE', nhsNumber: '9434765919', birthDate: '1948-03-15', gender: 'female', address: '1 Talbot Road, Blackpool, FY1 1AA', postcode: 'FY1 1AA' };
export const BOB: PersonSummary = { id: 'p-bob', name: 'Bob EMPTY', nhsNumber: '9449305552', birthDate: '1950-01-02', gender: 'male' };

export const ALICE_RECORD: PersonRecord = {
  banner: { name: 'Alice EXAMPLE', nhsNumber: '9434765919', birthDate: '1948-03-15', age: 78, gender: 'female', address: '1 Talbot Road, Blackpool, FY1 1AA', gpPractice: 'Talbot Medical Centre' },
  identifiers: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
  socialCare: {
    services: [
      { title: 'Home care', category: 'Community support', status: 'active', start: '2026-06-01', current: true, provenance: council },
      { title: 'Reablement', status: 'finished', start: '2026-01-10', end: '2026-02-20', current: false, provenance: council },
    ],
    events: [{ kind: 'assessment', title: 'Care Act assessment', status: 'completed', start: '2026-05-10', end: '2026-05-20', outcome: 'Eligible: long-term support', provenance: council }],
    allocated: [{ worker: { name: 'Sam Social', role: 'Social worker', phone: '01253 000001' }, team: { name: 'Adult Social Care North', phone: '01253 000002' }, provenance: council }],
    carers: [{ name: 'Carol EXAMPLE', relationship: 'Daughter', phone: '07700 900001', provenance: council }],
  },
  hospital: {
    encounters: [
      { class: 'Inpatient', status: 'in-progress', admitted: '2026-12-04T10:00:00Z', ward: 'Ward 3, Bed 12', transfers: [{ location: 'Acute Medical Unit', from: '2026-12-04T10:00:00Z', to: '2026-12-05T08:00:00Z' }], consultant: 'Dr Jones', hospital: 'Blackpool Victoria Hospital', provenance: hospital },
    ],
  },
  problems: [
    { area: 'social care', title: 'Physical support: personal care', status: 'active', recorded: '2026-05-20', provenance: council },
    { area: 'hospital', title: 'Community-acquired pneumonia', status: 'active', recorded: '2026-12-04T11:00:00Z', provenance: hospital },
  ],
  alerts: [{ title: 'Lives alone; key safe at the back door', status: 'active', start: '2026-06-01', provenance: council }],
  timeline: [
    { at: '2026-12-05T08:00:00Z', area: 'hospital', title: 'Transferred to Ward 3', provenance: hospital },
    { at: '2026-12-04T10:00:00Z', area: 'hospital', title: 'Admitted', detail: 'Blackpool Victoria Hospital', provenance: hospital },
    { at: '2026-06-01', area: 'social care', title: 'Home care started', provenance: council },
  ],
};

export const BOB_RECORD: PersonRecord = {
  banner: { name: 'Bob EMPTY', nhsNumber: '9449305552', birthDate: '1950-01-02', age: 76, gender: 'male' },
  identifiers: [],
  socialCare: { services: [], events: [], allocated: [], carers: [] },
  hospital: { encounters: [] },
  problems: [],
  alerts: [],
  timeline: [],
};

/** A ViewerData over the fixed people (finds by NHS number or family name + birth date). */
export function fixedViewerData(): ViewerData {
  const people = [ALICE, BOB];
  const records: Record<string, PersonRecord> = { [ALICE.id]: ALICE_RECORD, [BOB.id]: BOB_RECORD };
  return {
    async find(q) {
      if (q.kind === 'nhs-number') return people.filter((p) => p.nhsNumber === q.nhsNumber);
      return people.filter((p) => p.name.toLowerCase().includes(q.family.toLowerCase()) && p.birthDate === q.birthDate);
    },
    async record(id) {
      return records[id];
    },
  };
}
