// HL7 v2 parse throughput: Tramline's lazy parser against the npm peers, same message, same
// run. Run alone with `node --import tsx bench/hl7-parse.ts`.
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Hl7Message as MedplumHl7Message } from '@medplum/core';
import { HL7Message as Hl7v2Message } from 'hl7v2';
import { parseHl7 } from '../adapters/hl7v2/parse.js';
import { toView } from '../core/hl7/views.js';

const require = createRequire(import.meta.url);

/** A realistic ~1 KB v2.4 ADT^A01 from an NHS trust PAS (synthetic person). */
export const BENCH_ADT_A01 = [
  'MSH|^~\\&|PAS|RX1|TRAMLINE|LA123|20260105093000+0000||ADT^A01^ADT_A01|MSG2026010509300001|P|2.4|||AL|NE|GBR|UNICODE UTF-8|EN',
  'EVN|A01|20260105092500|||C1234567^Jones^Amy^^^Dr^^^GMC|20260105092500',
  'PID|1||9434765919^^^NHS^NH~RX1000123^^^RX1^MR||TESTPATIENT^Alexandra^Jane^^Mrs^^L~MAIDEN^Alexandra^^^^^M||19700101|2|||1 Example Street^Flat 2^Leeds^West Yorkshire^LS1 4AP^GBR^H||01130000000^PRN^PH~07700900000^ORN^CP|||M|C22||||||A||||||||NSTS01',
  'PD1|||Leeds GP Practice^^B86001|G1234567^Smith^Pat^^^Dr^^^GMC',
  'NK1|1|TESTPATIENT^Sam^^^Mr^^L|SPO^Spouse^HL70063|1 Example Street^Flat 2^Leeds^West Yorkshire^LS1 4AP^GBR^H|01130000001^PRN^PH||NOK^Next of kin^HL70131',
  'PV1|1|I|RX1^WARD7^BED3^RX101^^^^^Ward 7 Medical|13|||C1234567^Jones^Amy^^^Dr^^^GMC|G1234567^Smith^Pat^^^Dr^^^GMC||300||||19|||C1234567^Jones^Amy^^^Dr^^^GMC||V000123^^^RX1^VN|||||||||||||||||||||||||20260105093000',
  'AL1|1|DA|Z88.0^Penicillin allergy^I10|SV|Rash',
  'DG1|1||R06.0^Dyspnoea^I10||20260105090000|A|||||||||1|C1234567^Jones^Amy^^^Dr^^^GMC|D|N|20260105090000',
  'ZU1|20260105093000|1|C|20260105100000||500|||||||||20260104120000|20260104115600|02|Y|0',
].join('\r');

const EXPECTED = ['9434765919', 'TESTPATIENT', 'Alexandra', '19700101', 'WARD7', 'A01', 'MSG2026010509300001'];

interface Peer {
  name: string;
  parse: (text: string) => unknown;
  /** Parse, then the 7 reads a typical ADT mapping starts with. */
  parseAndRead: (text: string) => string[];
}

function str(v: unknown): string {
  return v === undefined || v === null ? '' : String(v);
}

function peers(): Peer[] {
  const simpleHl7 = require('simple-hl7') as { Parser: new () => { parse(s: string): SimpleMessage } };
  const Hl7Standard = require('hl7-standard') as new (text: string) => { transform(): void; get(path: string): unknown };
  interface SimpleSegment {
    getComponent(f: number, c: number): string;
    getField(f: number, repetition?: number): string;
  }
  interface SimpleMessage {
    header: SimpleSegment;
    getSegment(id: string): SimpleSegment;
  }
  const simpleParser = new simpleHl7.Parser();

  return [
    {
      name: 'tramline',
      parse: (t) => parseHl7(t),
      parseAndRead: (t) => {
        const m = parseHl7(t);
        return [m.get('PID-3'), m.get('PID-5.1'), m.get('PID-5.2'), m.get('PID-7'), m.get('PV1-3.2'), m.get('MSH-9.2'), m.get('MSH-10')].map(str);
      },
    },
    {
      name: 'simple-hl7',
      parse: (t) => simpleParser.parse(t),
      parseAndRead: (t) => {
        const m = simpleParser.parse(t);
        const pid = m.getSegment('PID');
        // simple-hl7 numbers header fields from MSH-3, and its getComponent() returns '' on
        // repeating fields, so read the first repetition and split it.
        const id = pid.getField(3, 1).split('^');
        const name = pid.getField(5, 1).split('^');
        return [id[0], name[0], name[1], pid.getField(7), m.getSegment('PV1').getComponent(3, 2), m.header.getComponent(7, 2), m.header.getField(8)];
      },
    },
    {
      name: '@medplum/core',
      parse: (t) => MedplumHl7Message.parse(t),
      parseAndRead: (t) => {
        const m = MedplumHl7Message.parse(t);
        const pid = m.getSegment('PID');
        const msh = m.getSegment('MSH');
        return [
          pid?.getField(3).getComponent(1),
          pid?.getField(5).getComponent(1),
          pid?.getField(5).getComponent(2),
          pid?.getField(7).toString(),
          m.getSegment('PV1')?.getField(3).getComponent(2),
          msh?.getField(9).getComponent(2),
          msh?.getField(10).toString(),
        ].map(str);
      },
    },
    {
      name: 'hl7v2',
      parse: (t) => Hl7v2Message.parse(t),
      parseAndRead: (t) => {
        const m = Hl7v2Message.parse(t);
        const pid = m.getSegment('PID');
        const msh = m.getSegment('MSH');
        return [
          pid?.field(3).rep(0).getValue(1),
          pid?.field(5).rep(0).getValue(1),
          pid?.field(5).rep(0).getValue(2),
          pid?.field(7).getValue(),
          m.getSegment('PV1')?.field(3).getValue(2),
          msh?.field(9).getValue(2),
          msh?.field(10).getValue(),
        ].map(str);
      },
    },
    {
      name: 'hl7-standard',
      parse: (t) => {
        const m = new Hl7Standard(t);
        m.transform();
        return m;
      },
      parseAndRead: (t) => {
        const m = new Hl7Standard(t);
        m.transform();
        return ['PID.3.1', 'PID.5.1', 'PID.5.2', 'PID.7', 'PV1.3.2', 'MSH.9.2', 'MSH.10'].map((p) => {
          const v = m.get(p);
          // hl7-standard returns an array for repeating fields: take the first repetition.
          return str(Array.isArray(v) ? (v[0] as Record<string, unknown>)?.[p] ?? v[0] : v);
        });
      },
    },
  ];
}

let sink = 0;

/** Messages per second for `fn`, after a warm-up, over about `ms` milliseconds. */
function measure(fn: (t: string) => unknown, text: string, ms = 1000): number {
  const warmUntil = performance.now() + Math.min(300, ms / 3);
  while (performance.now() < warmUntil) for (let i = 0; i < 100; i++) sink ^= fn(text) === undefined ? 1 : 0;
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let i = 0; i < 200; i++) sink ^= fn(text) === undefined ? 1 : 0;
    n += 200;
    now = performance.now();
  }
  return Math.round((n * 1000) / (now - start));
}

export interface Hl7ParseBenchResult {
  name: 'hl7-parse';
  messageBytes: number;
  results: Array<{ parser: string; parse: number; parseAndRead7: number; readsCorrect: boolean; error?: string }>;
  fastestPeer: { parse: string; parseAndRead7: string };
  /** Tramline msg/s divided by the fastest peer's. */
  ratio: { parse: number; parseAndRead7: number };
  target: { parse: number; ratio: number; met: boolean };
  /** Parse + the full JSON view mappings read (no peer equivalent). */
  tramlineParseAndView: number;
}

export async function benchHl7Parse(options: { ms?: number } = {}): Promise<Hl7ParseBenchResult> {
  const ms = options.ms ?? 1000;
  const text = BENCH_ADT_A01;
  const results: Hl7ParseBenchResult['results'] = [];
  for (const peer of peers()) {
    try {
      const reads = peer.parseAndRead(text);
      results.push({
        parser: peer.name,
        parse: measure(peer.parse, text, ms),
        parseAndRead7: measure(peer.parseAndRead, text, ms),
        readsCorrect: JSON.stringify(reads) === JSON.stringify(EXPECTED),
      });
    } catch (err) {
      results.push({ parser: peer.name, parse: 0, parseAndRead7: 0, readsCorrect: false, error: (err as Error).message });
    }
  }
  const ours = results[0];
  const others = results.slice(1);
  const best = (key: 'parse' | 'parseAndRead7') => others.reduce((a, b) => (b[key] > a[key] ? b : a));
  const bestParse = best('parse');
  const bestRead = best('parseAndRead7');
  const ratio = {
    parse: Math.round((ours.parse / Math.max(1, bestParse.parse)) * 10) / 10,
    parseAndRead7: Math.round((ours.parseAndRead7 / Math.max(1, bestRead.parseAndRead7)) * 10) / 10,
  };
  return {
    name: 'hl7-parse',
    messageBytes: Buffer.byteLength(text),
    results,
    fastestPeer: { parse: bestParse.parser, parseAndRead7: bestRead.parser },
    ratio,
    target: { parse: 100_000, ratio: 4, met: ours.parse >= 100_000 && ratio.parse >= 4 },
    tramlineParseAndView: measure((t) => toView(parseHl7(t)), text, ms),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await benchHl7Parse(), null, 2));
  if (sink === 42) console.log(''); // keep results observable so work is not optimised away
}
