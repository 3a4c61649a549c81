// Hostile drop files against a real engine process: names too long to move or to report on,
// a symlink loop, links out of the folder, a file taken away while it is read, folders that
// refuse the move. After each one the engine must still answer /healthz and ACK HL7 over MLLP,
// the file must be reported (failed/ with a reason where it can go), and nothing is picked up
// again and again.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MllpClient, parseAckCode } from '../../adapters/mllp/client.js';
import { eventually, killAllEngines, prepareEngine, startEngine, type EngineEnv, type EngineProcess } from '../support/engine.js';
import { adt } from '../support/hl7.js';

const HEADER = 'person_id,event_ref,start';

describe('file-drop source under hostile files (real engine)', () => {
  let e: EngineEnv;
  let engine: EngineProcess;
  let drop: string;
  let mllp: MllpClient;
  let sent = 0;

  beforeAll(async () => {
    e = await prepareEngine();
    drop = path.join(e.dir, 'drop');
    mkdirSync(drop);
    writeFileSync(path.join(e.dir, 'person.schema.json'), JSON.stringify({ type: 'object', required: ['person_id'], properties: { person_id: { type: 'string' } } }));
    writeFileSync(
      path.join(e.dir, 'channels', 'records.yaml'),
      `id: records
source: { type: file, directory: ./drop, stableMs: 0, pollIntervalMs: 100 }
pipeline: { recordSchema: ./person.schema.json, groupBy: person_id }
destinations:
  - name: out
    type: file
    directory: ./out
    fileName: "{messageId}.json"
    createDirectory: true
`,
    );
    engine = await startEngine(e);
    mllp = new MllpClient({ host: '127.0.0.1', port: e.mllpPort, responseTimeoutMs: 10000 });
  });

  afterAll(async () => {
    await mllp?.close();
    await killAllEngines();
  });

  /** The engine is alive: /healthz answers 200 and an ADT gets AA. */
  async function stillServing(): Promise<void> {
    expect(engine.child.exitCode).toBeNull();
    const health = await fetch(`http://127.0.0.1:${e.httpPort}/healthz`);
    expect(health.status).toBe(200);
    const ack = await mllp.send(adt({ controlId: `ALIVE${++sent}` }));
    expect(parseAckCode(ack).code).toBe('AA');
  }

  const reports = (dir: 'processed' | 'failed') => readdirSync(path.join(drop, dir)).filter((f) => f.endsWith('.report.json'));
  const readReport = (dir: 'processed' | 'failed', f: string) => JSON.parse(readFileSync(path.join(drop, dir, f), 'utf8')) as Record<string, unknown>;

  /** Wait for the report whose `file` is `name`; returns where it landed and its content. */
  async function reportFor(name: string): Promise<{ dir: 'processed' | 'failed'; file: string; report: Record<string, unknown> }> {
    return eventually(
      async () => {
        for (const dir of ['processed', 'failed'] as const) {
          for (const f of reports(dir)) {
            const report = readReport(dir, f);
            if (report.file === name) return { dir, file: f, report };
          }
        }
        return undefined;
      },
      60000,
      `report for ${name.slice(0, 40)}…`,
    );
  }

  /** Drop as a case system should: write under a hidden name, rename in. */
  function dropFile(name: string, content: string): void {
    const tmp = path.join(drop, '.incoming.part');
    writeFileSync(tmp, content);
    renameSync(tmp, path.join(drop, name));
  }

  test('a 236-character name (too long for processed/<stamp>-<name>) is moved under a shortened name', async () => {
    const name = `${'a'.repeat(232)}.csv`;
    dropFile(name, `${HEADER}\nLONG1,E1,2026-01-01\n`);
    const { dir, file, report } = await reportFor(name);
    expect(dir).toBe('processed');
    expect(report).toMatchObject({ outcome: 'processed', accepted: 1 });
    expect(Buffer.byteLength(file)).toBeLessThanOrEqual(255);
    expect(existsSync(path.join(drop, 'processed', file.replace(/\.report\.json$/, '')))).toBe(true);
    expect(existsSync(path.join(drop, name))).toBe(false);
    await stillServing();
  });

  test('a 222-character name (fits the move, not the report) keeps its report', async () => {
    const name = `${'b'.repeat(218)}.csv`;
    dropFile(name, `${HEADER}\nLONG2,E2,2026-01-01\n`);
    const { dir, report } = await reportFor(name);
    expect(dir).toBe('processed');
    expect(report).toMatchObject({ accepted: 1 });
    await stillServing();
  });

  test('a symlink loop named loop.csv is refused and moved to failed/ (the link, not a target)', async () => {
    symlinkSync('loop.csv', path.join(drop, 'loop.csv'));
    const { dir, report } = await reportFor('loop.csv');
    expect(dir).toBe('failed');
    expect(report.error).toMatch(/not a regular file/);
    expect(readdirSync(drop)).not.toContain('loop.csv');
    await stillServing();
  });

  test('a link to a file outside the folder is refused and its target never read or echoed', async () => {
    const secret = path.join(e.dir, 'secret.csv');
    writeFileSync(secret, 'person_id,event_ref,start\nSECRET-VALUE-123,"unclosed\n');
    symlinkSync(secret, path.join(drop, 'passwd.csv'));
    const { dir, file, report } = await reportFor('passwd.csv');
    expect(dir).toBe('failed');
    expect(report.error).toMatch(/not a regular file/);
    expect(readFileSync(path.join(drop, 'failed', file), 'utf8')).not.toContain('SECRET');
    expect(readFileSync(secret, 'utf8')).toContain('SECRET'); // the target is untouched
    expect(engine.output()).not.toContain('SECRET');

    // A hard link to it is not followed either: a file with other links is refused unread.
    linkSync(secret, path.join(drop, 'hard.csv'));
    const hard = await reportFor('hard.csv');
    expect(hard.dir).toBe('failed');
    expect(hard.report.error).toMatch(/hard links/);
    expect(readFileSync(path.join(drop, 'failed', hard.file), 'utf8')).not.toContain('SECRET');
    expect(engine.output()).not.toContain('SECRET');
    await stillServing();
  });

  test('a regular file that is not an extract (a key, a binary) is refused without echoing a byte of it', async () => {
    const key = 'k3J+9x/QZKEYBYTES0123456789abcdefABCDEF=';
    dropFile('content-key.csv', `${key},"\nQZROWBYTES"unclosed,\u0000\u00ff\n`);
    dropFile('key-lines.csv', `${key},x\nQZROWBYTES,1\n`);
    for (const name of ['content-key.csv', 'key-lines.csv']) {
      const { dir, file, report } = await reportFor(name);
      expect(dir).toBe('failed');
      expect(report.error).toMatch(/not read as an extract/);
      expect(readFileSync(path.join(drop, 'failed', file), 'utf8')).not.toMatch(/QZ|k3J/);
    }
    expect(engine.output()).not.toMatch(/QZ|k3J/);
    await stillServing();
  });

  test('a file taken out of the folder while it is being read: reported, engine serving', async () => {
    const name = 'vanishing.csv';
    // Big enough to take a while: rows of the wrong width are cheap to write and to reject.
    dropFile(name, `${HEADER}\n${'x,y\n'.repeat(150_000)}`);
    await eventually(async () => engine.output().includes(`"file":"${name}"`), 30000, 'pick-up of vanishing.csv');
    renameSync(path.join(drop, name), path.join(e.dir, 'taken-away.csv'));
    const { report } = await reportFor(name);
    expect(JSON.stringify(report)).toMatch(/could not be moved|disappeared|ENOENT/);
    await stillServing();
  });

  test('a file that cannot be moved is reported once and not picked up again', async () => {
    // processed/ and failed/ replaced by plain files: every move fails (ENOTDIR), even as root.
    for (const sub of ['processed', 'failed']) {
      renameSync(path.join(drop, sub), path.join(drop, `.${sub}.saved`));
      writeFileSync(path.join(drop, sub), 'not a folder');
    }
    try {
      dropFile('stuck.csv', `${HEADER}\nSTUCK1,E9,2026-01-01\n`);
      await eventually(async () => engine.output().includes('"file":"stuck.csv"') && engine.output().includes('could not be moved'), 30000, 'stuck.csv reported');
      await new Promise((r) => setTimeout(r, 1500)); // 15 poll intervals
      const pickups = engine.output().split('\n').filter((l) => l.includes('"file":"stuck.csv"') && l.includes('extract picked up'));
      expect(pickups).toHaveLength(1);
      const notMoved = engine.output().split('\n').filter((l) => l.includes('"file":"stuck.csv"') && l.includes('could not be moved'));
      expect(notMoved).toHaveLength(1);
      await stillServing();
    } finally {
      for (const sub of ['processed', 'failed']) {
        rmSync(path.join(drop, sub));
        renameSync(path.join(drop, `.${sub}.saved`), path.join(drop, sub));
      }
    }
  });
});
