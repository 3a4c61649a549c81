// File destination into real temp folders: atomic (no partial file is ever visible under its
// final name), idempotent, named by template, and disk errors classified.
import { afterAll, describe, expect, test } from '@jest/globals';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FileDestination, TEMP_PREFIX } from '../../adapters/file/destination.js';
import type { Envelope } from '../../core/queue.js';
import { adt, NHS_NUMBERS } from '../support/hl7.js';
import { adtEnvelope, deliveryFailure } from '../support/delivery.js';

const folders: string[] = [];
function tempFolder(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-file-dest-'));
  folders.push(dir);
  return dir;
}

const envelope = (controlId: string, body?: string): Envelope => adtEnvelope(controlId, NHS_NUMBERS[2], body);
const failure = deliveryFailure;

afterAll(() => folders.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe('file destination', () => {
  test('writes {messageId}.hl7 by default, with the exact text', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir });
    await d.open();
    const e = envelope('FILE0001');
    await d.deliver(e);
    expect(readdirSync(dir)).toEqual(['msg-FILE0001.hl7']);
    expect(readFileSync(path.join(dir, 'msg-FILE0001.hl7'), 'utf8')).toBe(e.body);
  });

  test('the template fills placeholders with file-safe values', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir, fileName: 'ADT_{messageType}_{receivedAt}_{controlId}.er7' });
    await d.open();
    await d.deliver(envelope('../../etc/passwd'));
    expect(readdirSync(dir)).toEqual(['ADT_ADT_A01_20260615T093001.000Z___.._etc_passwd.er7']);
  });

  test('a redelivery rewrites the same file; nothing else appears', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir });
    await d.open();
    const e = envelope('FILEAGAIN');
    await d.deliver(e);
    await d.deliver(e);
    await Promise.all([d.deliver(e), d.deliver(e), d.deliver(e)]);
    expect(readdirSync(dir)).toEqual(['msg-FILEAGAIN.hl7']);
    expect(readFileSync(path.join(dir, 'msg-FILEAGAIN.hl7'), 'utf8')).toBe(e.body);
  });

  test('Latin-1 content is written in the character set MSH-18 names', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir });
    const body = adt({ controlId: 'FILELAT1', family: 'JOSÉ', charset: '8859/1' });
    await d.deliver(envelope('FILELAT1', body));
    expect(readFileSync(path.join(dir, 'msg-FILELAT1.hl7'))).toEqual(Buffer.from(body, 'latin1'));
  });

  test('a reader polling the folder never sees a partial file under its final name', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir });
    await d.open();
    // Large bodies make a torn write likely to be seen if writes were not atomic.
    const bodies = new Map<string, string>();
    const envelopes = Array.from({ length: 40 }, (_, i) => {
      const e = envelope(`FILEBIG${i}`, `${adt({ controlId: `FILEBIG${i}` })}\rNTE|1||${'X'.repeat(512 * 1024)}${i}`);
      bodies.set(`${e.messageId}.hl7`, e.body);
      return e;
    });
    let writing = true;
    let checked = 0;
    const reader = (async () => {
      while (writing) {
        for (const name of await readdir(dir)) {
          if (name.startsWith(TEMP_PREFIX)) continue;
          const text = await readFile(path.join(dir, name), 'utf8');
          expect(text).toBe(bodies.get(name));
          checked++;
        }
        await new Promise((r) => setImmediate(r));
      }
    })();
    await Promise.all(envelopes.map((e) => d.deliver(e)));
    writing = false;
    await reader;
    expect(checked).toBeGreaterThan(0);
    // No temp files are left behind.
    expect(readdirSync(dir).sort()).toEqual([...bodies.keys()].sort());
  });

  test('a missing folder is retryable; with createDirectory it is created', async () => {
    const parent = tempFolder();
    const missing = path.join(parent, 'not-mounted');
    const d = new FileDestination({ directory: missing });
    await d.open(); // only warns: the share may come back
    const err = await failure(d.deliver(envelope('FILENOENT')));
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('ENOENT');

    const created = new FileDestination({ directory: missing, createDirectory: true });
    await created.open();
    await created.deliver(envelope('FILENOENT'));
    expect(readdirSync(missing)).toEqual(['msg-FILENOENT.hl7']);
  });

  test('a folder path that is a file is permanent', async () => {
    const parent = tempFolder();
    const notADir = path.join(parent, 'file.txt');
    writeFileSync(notADir, 'x');
    const d = new FileDestination({ directory: notADir });
    const err = await failure(d.deliver(envelope('FILENOTDIR')));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('ENOTDIR');
  });

  test('a file name the file system refuses is permanent, and no temp file is left', async () => {
    const dir = tempFolder();
    const d = new FileDestination({ directory: dir, fileName: `${'n'.repeat(300)}{messageId}.hl7` });
    const err = await failure(d.deliver(envelope('FILELONG')));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('ENAMETOOLONG');
    expect(readdirSync(dir)).toEqual([]);
  });
});
