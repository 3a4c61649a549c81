// Standing fuzz test: a real engine takes thousands of mutated MLLP frames and a folder of hostile
// extract files while a well-behaved sender and a well-formed extract go through beside them.
// The engine must keep answering /healthz, answer every frame it can read with a proper ACK,
// ACK every valid message AA and deliver each exactly once, and process the good extract.
// Bounded: a fixed number of frames and files, and a time budget well under 60 s of fuzzing.
// The seed is random per run and printed on failure; TRAMLINE_FUZZ_SEED=<n> replays a run.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { MllpDecoder } from '../../adapters/mllp/framing.js';
import { inboxRows } from '../support/db.js';
import { eventually, killAllEngines, prepareEngine, ROOT, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';

const SEED = Number(process.env.TRAMLINE_FUZZ_SEED ?? Date.now() % 2 ** 31);
const FUZZ_CONNECTIONS = 40;
const FRAMES_PER_CONNECTION = 100; // 4,000 mutated frames in all
const VALID_MESSAGES = 200;
const MUTATED_EXTRACTS = 40;
const SAMPLE = path.join(ROOT, 'channels/examples/extracts/cld-sample.csv');
const VT = 0x0b;
const FS = 0x1c;
const CR = 0x0d;

/** mulberry32: small, fast, seeded; enough to make every run different and every failure replayable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = prng(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const SPECIAL = [0x00, VT, FS, CR, 0x0a, 0x7c, 0x5e, 0x7e, 0x5c, 0x26, 0xff, 0xc3, 0xe9, 0x80, 0xef, 0xbb, 0xbf];

/** One mutated HL7 message body (no framing): many small corruptions, some structural ones. */
function mutateMessage(n: number): Buffer {
  const base = Buffer.from(adt({ controlId: `FZ${n}`, mrn: `FZ${n % 50}`, nhsNumber: pick(NHS_NUMBERS) }), 'utf8');
  const kind = int(12);
  switch (kind) {
    case 0: // random bit flips
    case 1: {
      const out = Buffer.from(base);
      for (let i = 1 + int(8); i > 0; i--) out[int(out.length)] ^= 1 << int(8);
      return out;
    }
    case 2: {
      // special bytes inserted at random places (delimiters, NUL, framing bytes, invalid UTF-8)
      const parts: Buffer[] = [];
      let at = 0;
      for (let i = 1 + int(6); i > 0; i--) {
        const next = at + int(base.length - at);
        parts.push(base.subarray(at, next), Buffer.from([pick(SPECIAL)]));
        at = next;
      }
      parts.push(base.subarray(at));
      return Buffer.concat(parts);
    }
    case 3: // truncated anywhere, even inside MSH
      return base.subarray(0, int(base.length));
    case 4: {
      // a segment repeated many times
      const segments = base.toString('latin1').split('\r');
      const seg = pick(segments);
      return Buffer.from([...segments, ...Array.from({ length: 1 + int(300) }, () => seg)].join('\r'), 'latin1');
    }
    case 5: {
      // one field with thousands of empty repetitions
      const text = base.toString('latin1').replace('PID|1||', `PID|1||${'~'.repeat(1000 + int(20000))}`);
      return Buffer.from(text, 'latin1');
    }
    case 6: {
      // other encoding characters, or none, in MSH-1/MSH-2
      const enc = pick(['', '^', '^~', '|||', '^~\\&#', '\x00\x00\x00\x00', '^^^^']);
      return Buffer.from(base.toString('latin1').replace('MSH|^~\\&|', `MSH${pick(['|', '#', '', '\x00'])}${enc}|`), 'latin1');
    }
    case 7: {
      // Latin-1 bytes with a random (or no, or wrong) MSH-18
      const charset = pick(['', 'UNICODE UTF-8', '8859/1', 'NONSENSE', 'UTF-16', 'ASCII']);
      const text = base.toString('utf8').replace('UNICODE UTF-8', charset).replace('TESTPERSON', 'BRONTË');
      return Buffer.from(text, 'latin1');
    }
    case 8: // random garbage
      return Buffer.from(Array.from({ length: int(2000) }, () => int(256)));
    case 9: // nothing at all, or a lone segment name
      return Buffer.from(pick(['', 'MSH', 'MSH|', 'MSH|^~\\&', '\r\r\r']), 'latin1');
    case 10: {
      // deep component/subcomponent nesting in one field
      const text = base.toString('latin1').replace('TESTPERSON', '^&'.repeat(1 + int(5000)));
      return Buffer.from(text, 'latin1');
    }
    default: {
      // a segment of unknown name, or a very long field
      const text = base.toString('latin1') + `\rZ${String.fromCharCode(65 + int(26))}${int(10)}|${'X'.repeat(int(3000))}`;
      return Buffer.from(text, 'latin1');
    }
  }
}

/** Frame it, usually properly, sometimes with broken MLLP framing. */
function frame(body: Buffer): Buffer {
  switch (int(10)) {
    case 0:
      return Buffer.concat([body, Buffer.from([FS, CR])]); // no start block
    case 1:
      return Buffer.concat([Buffer.from([VT]), body]); // no end block (the next frame's VT follows)
    case 2:
      return Buffer.concat([Buffer.from([VT, VT]), body, Buffer.from([FS, FS, CR])]);
    case 3:
      return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS])]); // FS without CR
    default:
      return Buffer.concat([Buffer.from([VT]), body, Buffer.from([FS, CR])]);
  }
}

interface FuzzResult {
  replies: string[];
  errors: string[];
  /** How the connection ended (quiet, closed by the engine, a socket error code): said when the engine answered too little. */
  ended?: string;
}

/** One hostile connection: frames written in random chunk sizes, replies read until quiet or closed. */
function fuzzConnection(port: number, first: number): Promise<FuzzResult> {
  const frames = Array.from({ length: FRAMES_PER_CONNECTION }, (_, i) => frame(mutateMessage(first + i)));
  const abruptClose = random() < 0.2;
  return new Promise((resolve) => {
    const result: FuzzResult = { replies: [], errors: [] };
    const socket = net.connect(port, '127.0.0.1');
    const decoder = new MllpDecoder({ maxFrameBytes: 1024 * 1024 });
    let quiet: NodeJS.Timeout | undefined;
    const finish = () => {
      result.ended ??= 'quiet';
      clearTimeout(quiet);
      socket.destroy();
      resolve(result);
    };
    // Quiet means no reply for 5 s: long enough to outlast a stall of the engine's event loop
    // (a first FHIR validator compile), which is not a lost reply.
    const settle = () => {
      clearTimeout(quiet);
      quiet = setTimeout(finish, 5000);
    };
    socket.on('data', (chunk) => {
      try {
        for (const event of decoder.push(chunk)) {
          if (event.type === 'frame') result.replies.push(event.payload.toString('latin1'));
          else result.errors.push(`reply framing: ${event.type}`);
        }
      } catch (err) {
        result.errors.push(`reply framing: ${(err as Error).message}`);
      }
      settle();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      result.ended ??= `error ${err.code ?? err.message}`;
      finish(); // the engine may close a connection it cannot make sense of
    });
    socket.on('close', () => {
      result.ended ??= abruptClose ? 'closed by us' : `closed by the engine after ${socket.bytesWritten} bytes written`;
      finish();
    });
    socket.on('connect', async () => {
      const all = Buffer.concat(frames);
      for (let at = 0; at < all.length && !socket.destroyed; ) {
        const size = 1 + int(8192);
        const ok = socket.write(all.subarray(at, at + size));
        at += size;
        if (!ok) await new Promise((r) => socket.once('drain', r));
        if (abruptClose && at > all.length / 2) {
          socket.destroy();
          break;
        }
      }
      settle();
    });
  });
}

/** Hostile files for the drop folder: each must be refused or reported, never crash the engine. */
function dropHostileFiles(dir: string): string[] {
  const names: string[] = [];
  const put = (name: string, content: Buffer | string) => {
    writeFileSync(path.join(dir, `.${names.length}.part`), content);
    renameSync(path.join(dir, `.${names.length}.part`), path.join(dir, name));
    names.push(name);
  };
  const sample = readFileSync(SAMPLE);
  const sampleText = sample.toString('utf8');
  put('garbage.csv', Buffer.from(Array.from({ length: 4096 }, () => int(256))));
  put('empty.csv', '');
  put('header-only.csv', sampleText.split('\n')[0] + '\n');
  put('stray-quote.csv', sampleText.replace('Sam Okafor', 'ZEBEDEE"QUUX'));
  put('latin1.csv', Buffer.from(sampleText.replace('Riverside', 'Zoë Brontë'), 'latin1'));
  put('nul-bytes.csv', sampleText.replace(/P1001/g, 'P\x001001'));
  put('one-long-line.csv', 'A'.repeat(4 * 1024 * 1024));
  put('deep.jsonl', '['.repeat(20000) + ']'.repeat(20000) + '\n');
  put('bad.jsonl', '{"LA_Person_Unique_Identifier": \n{{{\n"\\ud800"\n');
  put(`${'n'.repeat(232)}.csv`, sample); // too long to get a timestamped name in processed/
  for (let i = 0; i < MUTATED_EXTRACTS; i++) {
    const out = Buffer.from(sample);
    for (let j = 1 + int(20); j > 0; j--) out[int(out.length)] = pick([...SPECIAL, 0x2c, 0x22, 0x0a]);
    put(`mutated-${i}.csv`, out);
  }
  symlinkSync('/etc/passwd', path.join(dir, 'passwd.csv'));
  symlinkSync(path.join(dir, 'loop.csv'), path.join(dir, 'loop.csv'));
  mkdirSync(path.join(dir, 'a-folder.csv'));
  execFileSync('mkfifo', [path.join(dir, 'fifo.csv')]);
  return names;
}

async function healthy(e: EngineEnv): Promise<boolean> {
  const res = await fetch(`http://127.0.0.1:${e.httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
  return res.status === 200;
}

describe(`fuzz: mutated MLLP frames and hostile extract files (seed ${SEED})`, () => {
  let e: EngineEnv;
  let engine: EngineProcess;
  let extracts: string;

  beforeAll(async () => {
    e = await prepareEngine();
    // Room for big frames, so the parser's own limits (not just the frame size) meet the attack.
    const adtChannel = path.join(e.dir, 'channels', 'adt-in.yaml');
    writeFileSync(adtChannel, readFileSync(adtChannel, 'utf8').replace('maxMessageBytes: 4096', 'maxMessageBytes: 1048576'));
    extracts = path.join(e.dir, 'extracts');
    mkdirSync(extracts);
    writeFileSync(
      path.join(e.dir, 'channels', 'cld.yaml'),
      `id: cld
source: { type: file, directory: ./extracts, stableMs: 0, pollIntervalMs: 100 }
pipeline:
  recordFormat: cld
  map: social-care-cld-to-fhir
  exclude: [{ name: sensitive, field: Sensitivity }]
destinations:
  - name: lpres
    type: fhir
    retry: { maxAttempts: 3, initialDelayMs: 100, maxDelayMs: 500 }
`,
    );
    engine = await startEngine(e);
  });

  afterAll(async () => {
    await killAllEngines();
  });

  test('the engine keeps serving, ACKs every valid message AA and delivers it once, and processes the good extract', async () => {
    // Health is polled all through the attack: every probe must answer 200.
    const health: boolean[] = [];
    let attacking = true;
    const prober = (async () => {
      while (attacking) {
        health.push(await healthy(e).catch(() => false));
        await new Promise((r) => setTimeout(r, 250));
      }
    })();

    try {
      await attack(() => (attacking = false), health, prober);
    } catch (err) {
      // The engine's own words say why it stopped answering (its logs never hold message content).
      throw new Error(`${(err as Error).message}\nengine exit: ${engine.child.exitCode ?? engine.child.signalCode ?? 'running'}\nengine output (tail):\n${engine.output().slice(-4000)}`);
    } finally {
      attacking = false;
      await prober;
    }
  }, 180000);

  async function attack(stopProbing: () => void, health: boolean[], prober: Promise<void>): Promise<void> {
    const hostile = dropHostileFiles(extracts);
    const fuzzing = Promise.all(Array.from({ length: FUZZ_CONNECTIONS }, (_, c) => fuzzConnection(e.mllpPort, c * FRAMES_PER_CONNECTION)));

    // A well-behaved sender alongside, paced so it overlaps the attack.
    const valid = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 30000 });
    const validIds = Array.from({ length: VALID_MESSAGES }, (_, i) => `VALID${i}`);
    const codes: string[] = [];
    try {
      for (const [i, id] of validIds.entries()) {
        codes.push(parseAckCode(await valid.send(adt({ controlId: id, mrn: `V${i % 20}`, nhsNumber: pick(NHS_NUMBERS) }))).code);
        if (i % 20 === 0) await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      await valid.close();
    }
    // The good extract goes in while the hostile files are still being dealt with.
    copyFileSync(SAMPLE, path.join(extracts, '.good.part'));
    renameSync(path.join(extracts, '.good.part'), path.join(extracts, 'good.csv'));

    const results = await fuzzing;
    stopProbing();
    await prober;

    expect(engine.child.exitCode).toBeNull();
    expect(health.length).toBeGreaterThan(0);
    expect(health.every(Boolean)).toBe(true);
    expect(codes).toEqual(validIds.map(() => 'AA'));

    // Every reply to a mutated frame is a real ACK with an acknowledgment code.
    const replies = results.flatMap((r) => r.replies);
    expect(results.flatMap((r) => r.errors)).toEqual([]);
    if (replies.length <= FUZZ_CONNECTIONS) {
      // The engine did not answer the attack: say how each connection ended.
      const endings = new Map<string, number>();
      for (const r of results) endings.set(r.ended ?? 'unknown', (endings.get(r.ended ?? 'unknown') ?? 0) + 1);
      throw new Error(`${replies.length} replies to ${FUZZ_CONNECTIONS} hostile connections; endings: ${JSON.stringify(Object.fromEntries(endings))}`);
    }
    for (const reply of replies) expect(['AA', 'AE', 'AR', 'CA', 'CE', 'CR']).toContain(parseAckCode(reply).code);

    // Each valid message is delivered exactly once.
    const rows = await eventually(async () => {
      const all = await inboxRows(e.caseDbUrl);
      const mine = all.filter((r) => String(r.control_id).startsWith('VALID'));
      return mine.length >= VALID_MESSAGES ? mine : undefined;
    }, 60000, `${VALID_MESSAGES} valid messages in the case inbox`);
    await new Promise((r) => setTimeout(r, 1000)); // a stray redelivery would show itself now
    const finalRows = (await inboxRows(e.caseDbUrl)).filter((r) => String(r.control_id).startsWith('VALID'));
    expect(finalRows).toHaveLength(rows.length);
    expect(finalRows.map((r) => r.control_id).sort()).toEqual([...validIds].sort());

    // The good extract is processed; every hostile regular file leaves the folder with a report,
    // and no report repeats what a refused link points at.
    const processed = path.join(extracts, 'processed');
    const failed = path.join(extracts, 'failed');
    const report = await eventually(async () => {
      const file = existsSync(processed) ? readdirSync(processed).find((f) => f.endsWith('good.csv.report.json')) : undefined;
      return file ? (JSON.parse(readFileSync(path.join(processed, file), 'utf8')) as { outcome: string; accepted?: number }) : undefined;
    }, 60000, 'the good extract to be processed');
    expect(report.outcome).toBe('processed');
    await eventually(async () => {
      const left = readdirSync(extracts).filter((f) => hostile.includes(f));
      return left.length === 0 ? true : undefined;
    }, 60000, 'every hostile regular file to leave the drop folder');
    const reports = [processed, failed].filter(existsSync).flatMap((d) => readdirSync(d).filter((f) => f.endsWith('.report.json')).map((f) => readFileSync(path.join(d, f), 'utf8')));
    expect(reports.length).toBeGreaterThanOrEqual(hostile.length);
    for (const text of reports) expect(text).not.toMatch(/root:x:0:0|ZEBEDEE|Bront/);

    expect(await healthy(e)).toBe(true);
    expect(engine.child.exitCode).toBeNull();
  }
});
