// A person's FHIR resources → the PersonRecord the pages render. Pure: no I/O, `now` given.
// What each resource means here follows what the shipped mappings write:
//   mappings/social-care/cld-to-fhir.yaml — EpisodeOfCare (services: type[0] what, type[1]
//     category), ServiceRequest (requests), Encounter with identifier system …/Id/cld-assessment
//     or …/Id/cld-review, outcomes in the Extension-CLD-* extensions, CareTeam + Practitioner
//     (allocated worker, team phone), RelatedPerson (unpaid carer), Condition (primary support reason);
//   mappings/hl7v2/adt-to-fhir.yaml — Encounter (hospital stays: ward and bed Locations,
//     participants ATND/CON, trust as serviceProvider), RelatedPerson (next of kin, NK1),
//     Condition (diagnoses, DG1).
// Withheld resources (withheld.ts) are dropped by the caller before they get here.
import type { CareTeam, Condition, Encounter, EpisodeOfCare, Extension, FhirResource, Flag, Location, Organization, Practitioner, RelatedPerson, ServiceRequest } from 'fhir/r4.js';
import {
  addressLine,
  conceptText,
  emailOf,
  keyOf,
  mainAddress,
  nameText,
  organisationName,
  phoneOf,
  practitionerName,
  provenanceOf,
  resolve,
  type ResourceIndex,
} from './fhir-values.js';
import type { Alert, AllocatedWorker, Banner, CareEvent, CareService, Carer, HospitalEncounter, PersonRecord, Problem, TimelineItem } from './model.js';
import { personName, type Person } from './persons.js';
import { getCodeMap } from '../../mappings/functions/codemap-store.js';

const SOCIAL_CARE_EVENT = /\/Id\/cld-(assessment|review)$/;
const ENCOUNTER_CLASS: Record<string, string> = { IMP: 'Inpatient', EMER: 'Emergency', AMB: 'Outpatient', PRENC: 'Pre-admission', HH: 'Home visit', VR: 'Virtual' };
/**
 * The name of an NHS discharge destination code, from the code map the ADT mapping writes it
 * with (one source of truth): for an Encounter stored with the code alone.
 */
function dischargeDestinationName(code: string): string | undefined {
  const coding = getCodeMap('nhs-discharge-destination').lookup(code) as { display?: string } | undefined;
  return coding?.display;
}

function ofType<T extends FhirResource>(resources: readonly FhirResource[], type: T['resourceType']): T[] {
  return resources.filter((r): r is T => r.resourceType === type);
}

const day = (now: Date): string => now.toISOString().slice(0, 10);
const time = (at: string | undefined): number => (at ? Date.parse(at) : Number.NEGATIVE_INFINITY);
const newestFirst = (a: string | undefined, b: string | undefined): number => time(b) - time(a);

/** Whole years from a full birth date to `at` (YYYY-MM-DD); undefined for a partial date. */
export function ageAt(birthDate: string | undefined, at: string): number | undefined {
  const birth = /^(\d{4})-(\d{2})-(\d{2})$/.exec(birthDate ?? '');
  const then = /^(\d{4})-(\d{2})-(\d{2})/.exec(at);
  if (!birth || !then) return undefined;
  const [by, bm, bd] = birth.slice(1).map(Number);
  const [ty, tm, td] = then.slice(1).map(Number);
  return ty - by - (tm < bm || (tm === bm && td < bd) ? 1 : 0);
}

function extensionText(extensions: Extension[] | undefined, name: string): string | undefined {
  const ext = extensions?.find((e) => e.url.endsWith(`/StructureDefinition/${name}`));
  return ext ? (conceptText(ext.valueCodeableConcept) ?? ext.valueString) : undefined;
}

function banner(person: Person, index: ResourceIndex, now: Date): Banner {
  const pick = <T>(f: (p: Person['patients'][number]) => T | undefined): T | undefined => person.patients.map(f).find((v) => v !== undefined && v !== '');
  const birthDate = pick((p) => p.birthDate);
  const deceasedAt = pick((p) => p.deceasedDateTime);
  const deceased = deceasedAt ? deceasedAt.slice(0, 10) : person.patients.some((p) => p.deceasedBoolean === true) ? 'Deceased' : undefined;
  const age = ageAt(birthDate, deceasedAt ?? day(now));
  const gpPractice = pick((p) => {
    for (const ref of p.generalPractitioner ?? []) {
      const name = organisationName(resolve<Organization>(index, ref, 'Organization'));
      if (name) return name;
    }
    return undefined;
  });
  const gender = pick((p) => p.gender);
  const address = pick((p) => addressLine(mainAddress(p.address)));
  return {
    name: personName(person),
    ...(person.nhsNumber ? { nhsNumber: person.nhsNumber } : {}),
    ...(birthDate ? { birthDate } : {}),
    ...(age !== undefined ? { age } : {}),
    ...(gender ? { gender } : {}),
    ...(address ? { address } : {}),
    ...(gpPractice ? { gpPractice } : {}),
    ...(deceased ? { deceased } : {}),
  };
}

function services(resources: readonly FhirResource[], index: ResourceIndex, now: Date): CareService[] {
  const today = day(now);
  return ofType<EpisodeOfCare>(resources, 'EpisodeOfCare')
    .map((e): CareService => {
      const end = e.period?.end;
      const current = !['finished', 'cancelled'].includes(e.status) && (!end || end.slice(0, 10) >= today);
      const category = conceptText(e.type?.[1]);
      return {
        title: conceptText(e.type?.[0]) ?? 'Social care service',
        ...(category ? { category } : {}),
        status: e.status,
        ...(e.period?.start ? { start: e.period.start } : {}),
        ...(end ? { end } : {}),
        current,
        provenance: provenanceOf(e, resolve<Organization>(index, e.managingOrganization, 'Organization')),
      };
    })
    .sort((a, b) => Number(b.current) - Number(a.current) || newestFirst(a.start, b.start));
}

function requestEvent(r: ServiceRequest, index: ResourceIndex): CareEvent {
  const start = r.occurrencePeriod?.start ?? r.authoredOn;
  const outcome = extensionText(r.extension, 'Extension-CLD-EventOutcome');
  return {
    kind: 'request',
    title: conceptText(r.code) ?? 'Request for support',
    status: r.status,
    ...(start ? { start } : {}),
    ...(r.occurrencePeriod?.end ? { end: r.occurrencePeriod.end } : {}),
    ...(outcome ? { outcome } : {}),
    provenance: provenanceOf(r, resolve<Organization>(index, r.performer?.[0], 'Organization')),
  };
}

function isSocialCareEncounter(e: Encounter): boolean {
  return (e.identifier ?? []).some((i) => SOCIAL_CARE_EVENT.test(i.system ?? ''));
}

function encounterEvent(e: Encounter, index: ResourceIndex): CareEvent {
  const kind = (e.identifier ?? []).some((i) => i.system?.endsWith('/Id/cld-review')) ? 'review' : 'assessment';
  const typed = (codeSystem: string) => conceptText(e.type?.find((t) => t.coding?.some((c) => c.system?.endsWith(`/CodeSystem/${codeSystem}`))));
  const reason = conceptText(e.reasonCode?.[0]);
  const title = kind === 'assessment' ? (typed('cld-assessment-type') ?? 'Social care assessment') : reason ? `${reason} review` : 'Social care review';
  const eventOutcome = extensionText(e.extension, 'Extension-CLD-EventOutcome');
  const achieved = extensionText(e.extension, 'Extension-CLD-ReviewOutcomesAchieved');
  const outcome = [eventOutcome, achieved ? `outcomes ${achieved.toLowerCase()}` : undefined].filter(Boolean).join('; ');
  return {
    kind,
    title,
    status: e.status,
    ...(e.period?.start ? { start: e.period.start } : {}),
    ...(e.period?.end ? { end: e.period.end } : {}),
    ...(outcome ? { outcome } : {}),
    provenance: provenanceOf(e, resolve<Organization>(index, e.serviceProvider, 'Organization')),
  };
}

function allocated(resources: readonly FhirResource[], index: ResourceIndex): AllocatedWorker[] {
  return ofType<CareTeam>(resources, 'CareTeam')
    .filter((t) => t.status !== 'inactive')
    .map((team): AllocatedWorker => {
      const member = team.participant?.find((p) => resolve<Practitioner>(index, p.member, 'Practitioner'));
      const practitioner = resolve<Practitioner>(index, member?.member, 'Practitioner');
      const worker = member
        ? {
            ...(practitionerName(practitioner) ? { name: practitionerName(practitioner) } : {}),
            ...(conceptText(member.role?.[0]) ? { role: conceptText(member.role?.[0]) } : {}),
            ...(phoneOf(practitioner?.telecom) ? { phone: phoneOf(practitioner?.telecom) } : {}),
            ...(emailOf(practitioner?.telecom) ? { email: emailOf(practitioner?.telecom) } : {}),
          }
        : undefined;
      const teamContact = {
        ...(team.name ? { name: team.name } : {}),
        ...(phoneOf(team.telecom) ? { phone: phoneOf(team.telecom) } : {}),
        ...(emailOf(team.telecom) ? { email: emailOf(team.telecom) } : {}),
      };
      return {
        ...(worker ? { worker } : {}),
        ...(Object.keys(teamContact).length ? { team: teamContact } : {}),
        provenance: provenanceOf(team, resolve<Organization>(index, team.managingOrganization?.[0], 'Organization')),
      };
    });
}

function carers(resources: readonly FhirResource[]): Carer[] {
  return ofType<RelatedPerson>(resources, 'RelatedPerson')
    .filter((r) => r.active !== false)
    .map((r): Carer => {
      const name = nameText(r.name);
      const relationship = conceptText(r.relationship?.[0]);
      const phone = phoneOf(r.telecom);
      return { ...(name ? { name } : {}), ...(relationship ? { relationship } : {}), ...(phone ? { phone } : {}), provenance: provenanceOf(r, undefined) };
    });
}

function locationName(index: ResourceIndex, entry: NonNullable<Encounter['location']>[number]): string | undefined {
  return resolve<Location>(index, entry.location, 'Location')?.name ?? entry.location.display;
}

/** The Location's physical type (bd bed, ro room, wa ward, si site …), if the record says. */
function placeType(index: ResourceIndex, entry: NonNullable<Encounter['location']>[number]): string | undefined {
  return resolve<Location>(index, entry.location, 'Location')?.physicalType?.coding?.[0]?.code;
}

/** A ward-level place (a ward, or a location of unknown type), as against a room, bed or site within one. */
function isWardLevel(index: ResourceIndex, entry: NonNullable<Encounter['location']>[number]): boolean {
  const type = placeType(index, entry);
  return type !== 'bd' && type !== 'ro' && type !== 'si';
}

function hospitalEncounter(e: Encounter, index: ResourceIndex): HospitalEncounter {
  const locations = e.location ?? [];
  // The mapping lists the current ward, bed and room first, then the ward and bed left (A02)
  // as completed, then temporary and pending places; after a discharge every location is
  // completed, and the current ones are those before the second ward.
  const active = locations.filter((l) => l.status !== 'completed' && l.status !== 'planned');
  const secondWard = locations.findIndex((l, i) => i > 0 && isWardLevel(index, l));
  const current = active.length ? active : secondWard > 0 ? locations.slice(0, secondWard) : locations;
  const ward = current.find((l) => isWardLevel(index, l));
  const bed = current.find((l) => placeType(index, l) === 'bd');
  const wardText = [ward && locationName(index, ward), bed && locationName(index, bed)].filter(Boolean).join(', ');
  const transfers = locations
    .filter((l) => !current.includes(l) && l.status === 'completed' && isWardLevel(index, l))
    .map((l) => ({ location: locationName(index, l) ?? 'Unknown location', ...(l.period?.start ? { from: l.period.start } : {}), ...(l.period?.end ? { to: l.period.end } : {}) }));
  const byRole = (code: string) => e.participant?.find((p) => p.type?.some((t) => t.coding?.some((c) => c.code === code)));
  const consultant = practitionerName(resolve<Practitioner>(index, (byRole('CON') ?? byRole('ATND'))?.individual, 'Practitioner'));
  const hospital = organisationName(resolve<Organization>(index, e.serviceProvider, 'Organization'));
  const dischargeCode = e.hospitalization?.dischargeDisposition?.coding?.[0]?.code;
  const dischargeDestination =
    e.hospitalization?.dischargeDisposition?.text ??
    e.hospitalization?.dischargeDisposition?.coding?.[0]?.display ??
    (dischargeCode ? (dischargeDestinationName(dischargeCode) ?? `Discharge destination code ${dischargeCode}`) : undefined);
  const cls = e.class ? (ENCOUNTER_CLASS[e.class.code ?? ''] ?? e.class.display ?? e.class.code) : undefined;
  return {
    ...(cls ? { class: cls } : {}),
    status: e.status,
    ...(e.period?.start ? { admitted: e.period.start } : {}),
    ...(e.period?.end ? { discharged: e.period.end } : {}),
    ...(wardText ? { ward: wardText } : {}),
    transfers,
    ...(consultant ? { consultant } : {}),
    ...(hospital ? { hospital } : {}),
    ...(dischargeDestination ? { dischargeDestination } : {}),
    provenance: provenanceOf(e, resolve<Organization>(index, e.serviceProvider, 'Organization')),
  };
}

function problems(resources: readonly FhirResource[], index: ResourceIndex): Problem[] {
  return ofType<Condition>(resources, 'Condition')
    .map((c): Problem => {
      const hospital = c.category?.some((cat) => cat.coding?.some((x) => x.code === 'encounter-diagnosis')) ?? false;
      const text = conceptText(c.code) ?? 'Condition';
      const psr = c.category?.some((cat) => /primary support reason/i.test(cat.text ?? ''));
      const status = c.clinicalStatus?.coding?.[0]?.code;
      const recorded = c.recordedDate ?? c.onsetDateTime;
      const org = hospital ? resolve<Organization>(index, resolve<Encounter>(index, c.encounter, 'Encounter')?.serviceProvider, 'Organization') : undefined;
      return {
        area: hospital ? 'hospital' : 'social care',
        title: psr ? `Primary support reason: ${text}` : text,
        ...(status ? { status } : {}),
        ...(recorded ? { recorded } : {}),
        provenance: provenanceOf(c, org),
      };
    })
    .sort((a, b) => newestFirst(a.recorded, b.recorded));
}

function alerts(resources: readonly FhirResource[], index: ResourceIndex): Alert[] {
  return ofType<Flag>(resources, 'Flag')
    .filter((f) => f.status === 'active')
    .map((f) => ({
      title: conceptText(f.code) ?? 'Alert',
      status: f.status,
      ...(f.period?.start ? { start: f.period.start } : {}),
      ...(f.period?.end ? { end: f.period.end } : {}),
      provenance: provenanceOf(f, resolve<Organization>(index, f.author, 'Organization')),
    }));
}

const EVENT_TITLE: Record<CareEvent['kind'], string> = { request: 'Request', assessment: 'Assessment', review: 'Review' };
const ADMISSION_TITLE: Record<string, string> = { Inpatient: 'Admitted to hospital', Emergency: 'Emergency attendance', Outpatient: 'Outpatient attendance', 'Pre-admission': 'Pre-admission' };

function timeline(record: Omit<PersonRecord, 'timeline' | 'banner' | 'identifiers'>, now: Date): TimelineItem[] {
  const items: TimelineItem[] = [];
  const today = day(now);
  for (const s of record.socialCare.services) {
    if (s.start) items.push({ at: s.start, area: 'social care', title: `Service started: ${s.title}`, ...(s.category ? { detail: s.category } : {}), provenance: s.provenance });
    if (s.end && s.end.slice(0, 10) <= today) items.push({ at: s.end, area: 'social care', title: `Service ended: ${s.title}`, provenance: s.provenance });
  }
  for (const e of record.socialCare.events) {
    if (e.start) items.push({ at: e.start, area: 'social care', title: `${EVENT_TITLE[e.kind]}: ${e.title}`, ...(e.outcome ? { detail: `Outcome: ${e.outcome}` } : {}), provenance: e.provenance });
  }
  for (const h of record.hospital.encounters) {
    const where = [h.ward, h.hospital].filter(Boolean).join(', ');
    if (h.admitted) items.push({ at: h.admitted, area: 'hospital', title: ADMISSION_TITLE[h.class ?? ''] ?? 'Hospital encounter', ...(where ? { detail: where } : {}), provenance: h.provenance });
    if (h.discharged) items.push({ at: h.discharged, area: 'hospital', title: 'Discharged from hospital', ...(h.dischargeDestination ? { detail: h.dischargeDestination } : {}), provenance: h.provenance });
  }
  // Stable: items at the same moment keep the order above.
  return items.map((item, i) => ({ item, i })).sort((a, b) => newestFirst(a.item.at, b.item.at) || a.i - b.i).map(({ item }) => item);
}

/** Build the record of `person` from the (already filtered) resources about them and what they reference. */
export function assembleRecord(person: Person, resources: readonly FhirResource[], now: Date): PersonRecord {
  const index: ResourceIndex = new Map([...person.patients, ...resources].map((r) => [keyOf(r), r]));
  const encounters = ofType<Encounter>(resources, 'Encounter');
  const events = [
    ...ofType<ServiceRequest>(resources, 'ServiceRequest').map((r) => requestEvent(r, index)),
    ...encounters.filter(isSocialCareEncounter).map((e) => encounterEvent(e, index)),
  ].sort((a, b) => newestFirst(a.start, b.start));
  const identifiers = [
    ...new Map(
      person.patients.flatMap((p) => p.identifier ?? []).filter((i) => i.system && i.value).map((i) => [`${i.system}|${i.value}`, { system: i.system!, value: i.value! }]),
    ).values(),
  ];
  const parts = {
    socialCare: { services: services(resources, index, now), events, allocated: allocated(resources, index), carers: carers(resources) },
    hospital: {
      encounters: encounters
        .filter((e) => !isSocialCareEncounter(e))
        .map((e) => hospitalEncounter(e, index))
        .sort((a, b) => newestFirst(a.admitted, b.admitted)),
    },
    problems: problems(resources, index),
    alerts: alerts(resources, index),
  };
  return { banner: banner(person, index, now), identifiers, ...parts, timeline: timeline(parts, now) };
}
