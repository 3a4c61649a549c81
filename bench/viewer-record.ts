// The clinicians' viewer, server side: how long the record page of a person with ~200 items takes
// against a sandbox shared care record holding 10,000 people.
//
// Seeding: every person is made by the shipped mappings — CLD rows (the sample extract's
// people cloned, bench/cld-mapping.ts) through the CLD mapping, and an ADT^A01 per person (the
// shipped A01 case with their NHS number, name, birth date, ward and visit) through the ADT
// mapping — and each Bundle is stored with the sandbox's own transaction code (FhirStore), not
// over HTTP. The person under test has ~170 CLD events (services, requests, assessments,
// reviews), unpaid carers, and hospital stays each admitted, transferred and discharged
// (A01, A02, A03: encounters with wards, beds and consultants).
//
// What is timed ("server-side"): the record page handler's own work — ViewerData.record()
// (server/viewer/record.ts: its FHIR searches over HTTP to the sandbox served in this process,
// as the engine's viewer reads its own /fhir) plus rendering record.njk with the handler's
// data (server/viewer/pages/record.ts recordPageData, ViewerRenderer.render). Not timed: the
// session lookup and the audit append the handler makes before rendering.
//
// Yardstick, same run: the one FHIR search the record rests on (Patient by _id with the seven
// _revincludes), over HTTP and JSON-parsed, timed alone — the gap to the page is the viewer's
// own work (its other searches, assembly, rendering).
import crypto from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import express from 'express';
import { sql } from 'kysely';
import type { Bundle } from 'fhir/r4.js';
import { parseContentKeys } from '../adapters/store/crypto.js';
import { dropPostgresSchema, openDatabase } from '../adapters/store/db.js';
import { migrateToLatest } from '../adapters/store/migrations/index.js';
import { isValidNhsNumber, nhsNumberCheckDigit } from '../mappings/functions/nhs-number.js';
import { decodeHl7File } from '../mappings/engine/cases.js';
import { mapHl7ToBundle, MAPPINGS_DIR } from '../mappings/index.js';
import { mapCldPerson, readCldCsv } from '../mappings/social-care/cld.js';
import { prepareCldRecord, type CldRecord } from '../mappings/social-care/cld-validate.js';
import { groupCldRows } from '../mappings/social-care/group.js';
import { createFhirRouter } from '../server/fhir/router.js';
import { FhirStore } from '../server/fhir/store.js';
import { RECORD_TEMPLATE, recordPageData } from '../server/viewer/pages/record.js';
import { createViewerData } from '../server/viewer/record.js';
import type { PersonRecord } from '../server/viewer/model.js';
import { ViewerRenderer } from '../server/viewer/render.js';
import type { ConsoleSession } from '../server/console/sessions.js';
import { syntheticCldCsv } from './cld-mapping.js';
import { letters } from './adt-variants.js';

const SAMPLE = new URL('../channels/examples/extracts/cld-sample.csv', import.meta.url);
const CASES = path.join(MAPPINGS_DIR, 'hl7v2', 'cases');
const PG_BASE = process.env.TRAMLINE_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

/** The record page's one search for everything about the person (server/viewer/record.ts REVINCLUDES). */
const REVINCLUDES = ['EpisodeOfCare:patient', 'ServiceRequest:subject', 'Encounter:subject', 'Condition:subject', 'RelatedPerson:patient', 'CareTeam:patient', 'Flag:patient'];

export interface ViewerRecordOptions {
  /** People in the sandbox, the person under test included (default 10,000). */
  people?: number;
  /** `sqlite` (default) or `postgres` (own schema on TRAMLINE_BENCH_PG, dropped after). */
  store?: 'sqlite' | 'postgres';
  /** Timed page renders after warm-up (default 200). */
  rounds?: number;
  /** The person under test: CLD events, unpaid carers, hospital stays (admit, transfer, discharge). */
  events?: number;
  carers?: number;
  stays?: number;
}

function nhsNumber(nine: number): string {
  const digits = String(nine);
  const check = nhsNumberCheckDigit(digits);
  if (check === undefined) return nhsNumber(nine + 1);
  return `${digits}${check}`;
}

const SURNAMES = ['SMITH', 'JONES', 'TAYLOR', 'BROWN', 'WILLIAMS', 'WILSON', 'JOHNSON', 'DAVIES', 'PATEL', 'KHAN', 'WRIGHT', 'WALKER', 'THOMPSON', 'OKAFOR', 'HUGHES', 'EDWARDS'];
const GIVEN = { F: ['MARGARET', 'ANNA', 'JEAN', 'SUSAN', 'PRIYA', 'GRACE'], M: ['JOHN', 'DAVID', 'KWAME', 'PETER', 'ARJUN', 'GEORGE'] };
const WARDS = ['WARD1', 'WARD2', 'WARD4', 'WARD7', 'WARD9', 'WARD12', 'AMU', 'CCU'];
const CONSULTANTS = ['C1111111^Okafor^Chidi^^^Mr^^^GMC', 'C2222222^Patel^Priya^^^Dr^^^GMC', 'C3333333^Hughes^Ellen^^^Dr^^^GMC', 'C4444444^Khan^Imran^^^Mr^^^GMC'];

interface AdtPerson {
  nhsNumber: string;
  mrn: string;
  family: string;
  given: string;
  birthDate: string;
  sex: 'F' | 'M';
}

/** HL7 timestamp for a day offset from 2019-01-01 at `hour`. */
function hl7Time(day: number, hour: number): string {
  const d = new Date(Date.UTC(2019, 0, 1 + day, hour, 0, 0));
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/** One of the shipped ADT cases as this person, in this stay (fields by position, standard separators). */
function adtFor(template: string, p: AdtPerson, stay: { visit: string; ward: string; fromWard?: string; consultant: string; admitted: string; at: string; discharged?: string }, control: string): string {
  return template
    .split('\r')
    .map((segment) => {
      const f = segment.split('|');
      switch (f[0]) {
        case 'MSH':
          f[6] = stay.at; // MSH-7
          f[9] = control; // MSH-10
          break;
        case 'EVN':
          f[2] = stay.at;
          if (f[6]) f[6] = stay.at;
          break;
        case 'PID':
          f[3] = `${p.nhsNumber}^^^NHS^NH~${p.mrn}^^^RXX^MR`;
          f[5] = `${p.family}^${p.given}^^^${p.sex === 'F' ? 'MRS' : 'MR'}^^L`;
          f[7] = p.birthDate.replace(/-/g, '');
          f[8] = p.sex;
          break;
        case 'NK1':
          return `${f[0]}|${f[1]}|${p.family}^CHRIS^^^|${f.slice(3).join('|')}`;
        case 'PV1':
          f[3] = `${stay.ward}^R${(Number(stay.visit.slice(-1)) % 4) + 1}^BED${(Number(stay.visit.slice(-2)) % 20) + 1}^RXX01`;
          if (stay.fromWard) f[6] = `${stay.fromWard}^^BED1^RXX01`;
          f[7] = stay.consultant;
          f[17] = stay.consultant;
          f[19] = `${stay.visit}^^^RXX_VISIT`;
          f[44] = stay.admitted;
          if (stay.discharged) f[45] = stay.discharged;
          break;
      }
      return f.join('|');
    })
    .join('\r');
}

/** ISO date `day` days after 2019-01-01. */
function isoDay(day: number): string {
  return new Date(Date.UTC(2019, 0, 1 + day)).toISOString().slice(0, 10);
}

/**
 * The person under test's CLD rows: the sample's P1001 rows (request, assessment, service,
 * review) repeated over seven years with their own references and dates, services alternately
 * ended and current; and `carers` unpaid carers (the sample's C2001 rows) caring for them.
 */
function targetCldRows(events: number, carers: number, nhs: string, carerNhs: (i: number) => string): Record<string, string>[] {
  const sample = readCldCsv(readFileSync(SAMPLE, 'utf8')).map((r) => r.raw);
  const templates = sample.filter((r) => r.LA_Person_Unique_Identifier === 'P1001');
  const carerTemplates = sample.filter((r) => r.LA_Person_Unique_Identifier === 'C2001');
  const rows: Record<string, string>[] = [];
  const id = 'BENCH-P1';
  for (let i = 0; i < events; i++) {
    const t = templates[i % templates.length];
    const start = 30 + Math.floor((i * 2400) / events);
    const ended = t.Event_Type !== 'Service' || i % 8 !== 2;
    rows.push({
      ...t,
      LA_Person_Unique_Identifier: id,
      NHS_Number: nhs,
      Event_Reference: `${t.Event_Reference}-B${i}`,
      Event_Start_Date: isoDay(start),
      Event_End_Date: t.Event_End_Date || t.Event_Type === 'Service' ? (ended ? isoDay(start + 14) : '') : '',
    });
  }
  for (let c = 0; c < carers; c++) {
    for (const t of carerTemplates) {
      rows.push({ ...t, LA_Person_Unique_Identifier: `BENCH-C${c}`, NHS_Number: carerNhs(c), Event_Reference: `${t.Event_Reference}-B${c}`, Adult_1_Linked_Person_ID: id });
    }
  }
  return rows;
}

/** CSV rows → validated, grouped person inputs (the record intake's steps). */
function personInputs(raw: Record<string, string>[]) {
  const records: CldRecord[] = [];
  for (const r of raw) {
    const prepared = prepareCldRecord(r);
    if (!prepared.ok) throw new Error(`a generated CLD row does not validate: ${JSON.stringify(prepared)}`.slice(0, 400));
    records.push(prepared.record);
  }
  return groupCldRows(records);
}

function quantiles(ms: number[]): { p50: number; p95: number; max: number; mean: number } {
  const s = [...ms].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)];
  const round = (n: number) => Math.round(n * 10) / 10;
  return { p50: round(at(0.5)), p95: round(at(0.95)), max: round(s[s.length - 1]), mean: round(s.reduce((a, b) => a + b, 0) / s.length) };
}

function itemsOf(record: PersonRecord) {
  const counts = {
    services: record.socialCare.services.length,
    events: record.socialCare.events.length,
    allocated: record.socialCare.allocated.length,
    carers: record.socialCare.carers.length,
    encounters: record.hospital.encounters.length,
    problems: record.problems.length,
    alerts: record.alerts.length,
  };
  return { total: Object.values(counts).reduce((a, b) => a + b, 0), ...counts, timeline: record.timeline.length };
}

/**
 * Fill the sandbox through its own transaction code: the person under test (CLD rows, carers,
 * hospital stays), then `people` − 1 − carers others, each a CLD person and, with a valid NHS
 * number, an ADT^A01 admission.
 */
async function seedSandbox(store: FhirStore, o: { people: number; events: number; carers: number; stays: number; targetNhs: string }): Promise<{ bundles: number; resources: number; seedSeconds: number }> {
  const { people, events, carers, stays, targetNhs } = o;
  let bundles = 0;
  let resources = 0;
  const seedStarted = performance.now();
  const a01 = decodeHl7File(readFileSync(path.join(CASES, 'a01-admit-bst-repeats.hl7')));
  const a02 = decodeHl7File(readFileSync(path.join(CASES, 'a02-transfer-gmt.hl7')));
  const a03 = decodeHl7File(readFileSync(path.join(CASES, 'a03-discharge.hl7')));
  const put = async (bundle: Bundle) => {
    await store.transaction(bundle);
    bundles++;
    resources += bundle.entry?.length ?? 0;
  };
  // A message that cannot be mapped throws (MappingError); issues are only warnings.
  const mapAdt = (message: string): Bundle => mapHl7ToBundle(message).bundle;

  for (const input of personInputs(targetCldRows(events, carers, targetNhs, (i) => nhsNumber(999_210_000 + i * 10)))) await put(mapCldPerson(input).bundle);
  const target: AdtPerson = { nhsNumber: targetNhs, mrn: 'RXB000001', family: 'BENCHMARK', given: 'MARGARET', birthDate: '1941-05-12', sex: 'F' };
  for (let s = 0; s < stays; s++) {
    const day = 60 + Math.floor((s * 2500) / stays);
    const visit = `VB${String(s).padStart(4, '0')}`;
    const ward = WARDS[s % WARDS.length];
    const nextWard = WARDS[(s + 3) % WARDS.length];
    const consultant = CONSULTANTS[s % CONSULTANTS.length];
    const admitted = hl7Time(day, 9);
    await put(mapAdt(adtFor(a01, target, { visit, ward, consultant, admitted, at: admitted }, `B${visit}A`)));
    await put(mapAdt(adtFor(a02, target, { visit, ward: nextWard, fromWard: ward, consultant, admitted, at: hl7Time(day + 1, 14) }, `B${visit}T`)));
    await put(mapAdt(adtFor(a03, target, { visit, ward: nextWard, consultant, admitted, at: hl7Time(day + 4, 16), discharged: hl7Time(day + 4, 16) }, `B${visit}D`)));
  }

  const others = people - 1 - carers;
  const { csv } = syntheticCldCsv(others);
  const raw = readCldCsv(csv).map((r) => r.raw);
  const firstRow = new Map<string, Record<string, string>>();
  for (const r of raw) if (!firstRow.has(r.LA_Person_Unique_Identifier)) firstRow.set(r.LA_Person_Unique_Identifier, r);
  let n = 0;
  let lastReport = performance.now();
  const report = () => {
    if (performance.now() - lastReport < 10_000) return;
    lastReport = performance.now();
    console.error(`bench: seeded ${bundles} bundles…`);
  };
  for (const input of personInputs(raw)) {
    await put(mapCldPerson(input).bundle);
    report();
  }
  for (const r of firstRow.values()) {
    n++;
    if (!isValidNhsNumber(r.NHS_Number) || r.Client_Type === 'Carer') continue; // no hospital Patient without an NHS number; carers are not patients here
    const sex = r.Gender === 'Male' ? 'M' : 'F';
    const p: AdtPerson = { nhsNumber: r.NHS_Number, mrn: `RX${String(n).padStart(7, '0')}`, family: `${SURNAMES[n % SURNAMES.length]}${letters(n)}`, given: GIVEN[sex][n % 6], birthDate: r.Date_of_Birth, sex };
    const day = n % 2500;
    await put(mapAdt(adtFor(a01, p, { visit: `V${n}`, ward: WARDS[n % WARDS.length], consultant: CONSULTANTS[n % CONSULTANTS.length], admitted: hl7Time(day, 10), at: hl7Time(day, 10) }, `S${n}`)));
    report();
  }
  return { bundles, resources, seedSeconds: (performance.now() - seedStarted) / 1000 };
}

export async function benchViewerRecord(options: ViewerRecordOptions = {}): Promise<object> {
  const people = options.people ?? Number(process.env.BENCH_VIEWER_PEOPLE ?? 10_000);
  const storeKind = options.store ?? (process.env.BENCH_VIEWER_STORE === 'postgres' ? 'postgres' : 'sqlite');
  const rounds = options.rounds ?? 200;
  const events = options.events ?? 170;
  const carers = options.carers ?? 4;
  const stays = options.stays ?? 12;

  // BENCH_VIEWER_KEEP=<folder> (SQLite): keep the seeded sandbox there, and reuse it when it is
  // there already, so two builds can be timed on the same data without seeding twice.
  const keep = storeKind === 'sqlite' ? process.env.BENCH_VIEWER_KEEP : undefined;
  if (keep) mkdirSync(keep, { recursive: true });
  const dir = keep ?? mkdtempSync(path.join(os.tmpdir(), 'tramline-bench-viewer-'));
  const seeded = keep && existsSync(path.join(dir, 'seeded.json')) ? (JSON.parse(readFileSync(path.join(dir, 'seeded.json'), 'utf8')) as { key: string; people: number; bundles: number; resources: number; seedSeconds: number }) : undefined;
  const schema = `bench_viewer_${crypto.randomBytes(4).toString('hex')}`;
  const dbUrl = storeKind === 'postgres' ? `${PG_BASE}?schema=${schema}` : `sqlite:${path.join(dir, 'fhir.db')}`;
  const db = await openDatabase(dbUrl);
  const server = express();
  let listener: ReturnType<typeof server.listen> | undefined;
  try {
    await migrateToLatest(db.kysely, db.schema);
    // Seeding is set-up, not what is measured: SQLite need not wait for the disk after each of
    // ~20,000 transactions (back to FULL, as the engine runs, before timing).
    if (storeKind === 'sqlite') await sql`pragma synchronous = OFF`.execute(db.kysely);
    const key = seeded?.key ?? crypto.randomBytes(32).toString('base64');
    const keys = parseContentKeys(key);
    const store = new FhirStore(db, keys);
    const targetNhs = nhsNumber(999_200_000);
    let bundles = seeded?.bundles ?? 0;
    let resources = seeded?.resources ?? 0;
    let seedSeconds = seeded?.seedSeconds ?? 0;
    if (seeded && seeded.people !== people) throw new Error(`${dir} holds ${seeded.people} people, not ${people}`);
    if (!seeded) {
      ({ bundles, resources, seedSeconds } = await seedSandbox(store, { people, events, carers, stays, targetNhs }));
      if (keep) writeFileSync(path.join(dir, 'seeded.json'), JSON.stringify({ key, people, bundles, resources, seedSeconds }));
    }
    if (storeKind === 'sqlite') await sql`pragma synchronous = FULL`.execute(db.kysely);
    const patients = await (db.kysely as unknown as import('kysely').Kysely<import('../server/fhir/schema.js').FhirDatabase>)
      .selectFrom('fhir_resources')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('resource_type', '=', 'Patient')
      .executeTakeFirstOrThrow();

    // ---- the sandbox over HTTP in this process, and the viewer reading it
    const publicBase = { value: '' };
    server.use('/fhir', createFhirRouter(store, { publicBase: () => publicBase.value }));
    listener = server.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => listener!.once('listening', () => resolve()));
    const fhirBase = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/fhir`;
    publicBase.value = fhirBase;
    const data = await createViewerData({ url: fhirBase, personIdKey: crypto.randomBytes(32) });
    const renderer = new ViewerRenderer();
    const session = { id: 's', csrfToken: 'csrf', createdAt: Date.now(), lastSeenAt: Date.now(), principal: { kind: 'session', id: 'bench.clinician', roles: ['clinician'], organisation: 'RXL', name: 'Bench Clinician' } } as ConsoleSession;
    const stated = { choice: 'direct-care', purpose: 'direct care' };

    const [person] = await data.find({ kind: 'nhs-number', nhsNumber: targetNhs });
    if (!person) throw new Error('the person under test is not found');
    const patientIds = (await (await fetch(`${fhirBase}/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${targetNhs}`)).json()) as Bundle;
    const ids = (patientIds.entry ?? []).map((e) => e.resource!.id!).join(',');
    const searchUrl = `${fhirBase}/Patient?_id=${ids}&${REVINCLUDES.map((r) => `_revinclude=${r}`).join('&')}&_count=1000`;

    const page = async () => {
      const record = await data.record(person.id);
      if (!record) throw new Error('no record');
      const html = renderer.render(RECORD_TEMPLATE, recordPageData(person.id, record, stated), { session, https: false }, 'nonce');
      return { record, html };
    };
    const search = async () => {
      const bundle = (await (await fetch(searchUrl, { headers: { accept: 'application/fhir+json' } })).json()) as Bundle;
      return bundle.entry?.length ?? 0;
    };

    const first = await page();
    const searchEntries = await search();
    for (let i = 0; i < 20; i++) {
      await page();
      await search();
    }
    const pageMs: number[] = [];
    const recordMs: number[] = [];
    const renderMs: number[] = [];
    const searchMs: number[] = [];
    const cpuStart = process.cpuUsage();
    for (let i = 0; i < rounds; i++) {
      // Alternated, so both see the same machine.
      let t = performance.now();
      const record = await data.record(person.id);
      const got = performance.now();
      renderer.render(RECORD_TEMPLATE, recordPageData(person.id, record!, stated), { session, https: false }, 'nonce');
      const done = performance.now();
      recordMs.push(got - t);
      renderMs.push(done - got);
      pageMs.push(done - t);
      t = performance.now();
      await search();
      searchMs.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpuStart);
    const page95 = quantiles(pageMs).p95;
    const search95 = quantiles(searchMs).p95;
    return {
      name: 'viewer record page, server side (ViewerData.record + record.njk), 200-item person',
      store: storeKind,
      sandbox: { people, patients: Number(patients.n), bundles, resources, seedSeconds: Math.round(seedSeconds) },
      person: { items: itemsOf(first.record), patients: ids.split(',').length, searchEntries, htmlKB: Math.round(first.html.length / 1024) },
      rounds,
      pageMs: quantiles(pageMs),
      recordMs: quantiles(recordMs),
      renderMs: quantiles(renderMs),
      yardstick: { name: 'the record search alone (Patient?_id=…&_revinclude ×7, HTTP + JSON)', ms: quantiles(searchMs) },
      pageToYardstickP95: Math.round((page95 / search95) * 100) / 100,
      // This process's CPU per round (page and yardstick search, sandbox included): steadier than wall time on a shared machine.
      cpuMsPerRound: Math.round(((cpu.user + cpu.system) / 1000 / rounds) * 10) / 10,
      target: { p95Ms: 300, met: page95 < 300 },
    };
  } finally {
    listener?.close();
    listener?.closeAllConnections();
    await db.close();
    if (storeKind === 'postgres') await dropPostgresSchema(dbUrl);
    if (!keep) rmSync(dir, { recursive: true, force: true });
  }
}
