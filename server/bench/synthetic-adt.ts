// Invented ADT traffic for load tests: every message names a person of its own (NHS number from
// the 999 test range, family name, MRN, visit), so the engine meets new patients as in a live
// feed. `realistic` is shaped like a PAS vendor's feed (~950 bytes: PD1, NK1, PV1, PV2, AL1,
// DG1, OBX, ROL); `small` is the bare minimum an ADT channel routes (~300 bytes).
import { nhsNumberCheckDigit } from '../../core/nhs-number.js';

export type AdtSize = 'realistic' | 'small';

/**
 * The `seed`-th synthetic NHS number: `prefix` (default `99`), then the seed's low digits, then
 * one free digit and the Modulus 11 check digit. Distinct for seeds below 10^(8 - prefix length).
 * The free digit is weighted 2 in the Modulus 11 sum, so of 0 and 1 at most one gives the
 * invalid check value 10.
 */
export function syntheticNhsNumber(seed: number, prefix = '99'): string {
  const width = 8 - prefix.length;
  const base = prefix + String(seed % 10 ** width).padStart(width, '0');
  for (const free of '01') {
    const check = nhsNumberCheckDigit(base + free);
    if (check !== undefined) return base + free + check;
  }
  throw new Error('unreachable: two consecutive bases cannot both have check value 10');
}

/** A-Z letters for `n` (0 → A, 26 → BA): a suffix that keeps a family name a name. */
export function letters(n: number): string {
  let out = '';
  do {
    out = String.fromCharCode(65 + (n % 26)) + out;
    n = Math.floor(n / 26);
  } while (n > 0);
  return out;
}

/** Admissions, updates and discharges in roughly a PAS feed's proportions. */
const EVENTS = ['A01', 'A08', 'A08', 'A03'] as const;
const WARDS = ['WARD7', 'WARD9', 'AMU', 'CCU', 'WARD12', 'SAU'];
const FIRST_NAMES = ['Alex', 'Sam', 'Jamie', 'Robin', 'Morgan', 'Casey', 'Jordan', 'Taylor'];

/** HL7 timestamp (YYYYMMDDHHMMSS) of `date` in UTC. */
function hl7Time(date: Date): string {
  return date.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * The `person`-th invented ADT message with control id `controlId` (MSH-10, at most 20
 * characters). NHS numbers are distinct for the first 100,000 people, then repeat.
 */
export function syntheticAdt(controlId: string, person: number, size: AdtSize = 'realistic', at = new Date()): string {
  const event = EVENTS[person % EVENTS.length];
  const now = hl7Time(at);
  const nhs = syntheticNhsNumber(person, '999');
  const family = `TESTPERSON${letters(person)}`;
  const given = FIRST_NAMES[person % FIRST_NAMES.length];
  const ward = WARDS[person % WARDS.length];
  const msh = `MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|${now}||ADT^${event}^ADT_A01|${controlId}|P|2.4|||AL|NE|GBR|UNICODE UTF-8`;
  const pidShort = `PID|1||${nhs}^^^NHS^NH~M${person}^^^RX1^MR||${family}^${given}||19${50 + (person % 50)}0${1 + (person % 9)}15|${person % 2 ? 'M' : 'F'}`;
  const pv1Short = `PV1|1|I|RX1^${ward}^BED${person % 20}||||C1234567^CONSULTANT^TEST^^^DR|||GEN||||||||IP|V${person}^^^RX1^VN`;
  if (size === 'small') return [msh, `EVN|${event}|${now}`, pidShort, pv1Short].join('\r');
  return [
    msh,
    `EVN|${event}|${now}|||C1234567^CONSULTANT^TEST^^^DR|${now}`,
    `PID|1||${nhs}^^^NHS^NH~M${person}^^^RX1^MR||${family}^${given}^JAMIE^^MX^^L||19${50 + (person % 50)}0${1 + (person % 9)}15|${person % 2 ? '1' : '2'}|||${person % 200} TEST STREET^FLAT ${person % 9}^LEEDS^^LS1 4AP^GBR^H||01130000000^PRN^PH|||M|C22`,
    'PD1|||LEEDS TEST PRACTICE^^B86001|G1234567^GPNAME^TEST^^^DR',
    `NK1|1|${family}^SAM^^^^^L|SPO^Spouse^HL70063|${person % 200} TEST STREET^^LEEDS^^LS1 4AP^GBR^H|01130000001^PRN^PH`,
    `PV1|1|I|RX1^${ward}^BED${person % 20}^RX101|13|||C1234567^CONSULTANT^TEST^^^DR|G1234567^GPNAME^TEST^^^DR||300||||19|||C1234567^CONSULTANT^TEST^^^DR|IP|V${person}^^^RX1^VN|||||||||||||||||||||||||${now}`,
    `PV2|||^FALL AT HOME`,
    'AL1|1|DA|Z88.0^PENICILLIN ALLERGY^I10|SV|RASH',
    `DG1|1||R06.0^DYSPNOEA^I10||${now}|A`,
    `OBX|1|NM|29463-7^BODY WEIGHT^LN||${60 + (person % 40)}|kg|||||F|||${now}`,
    `ROL|1|AD|AT^ATTENDING^HL70443|C1234567^CONSULTANT^TEST^^^DR|${now}`,
  ].join('\r');
}
