// `tramline validate` as a user runs it: exit code and problems naming file, line and field.
import { describe, expect, test } from '@jest/globals';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../support/engine.js';

const env = { ...process.env, NODE_OPTIONS: '' };

describe('tramline validate', () => {
  test('the shipped channels and mappings are valid', async () => {
    const r = await runCli(['validate'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+ channel\(s\) and \d+ mapping\(s\) valid/);
  });

  test('problems name file, line, column and field; a missing mapping is one of them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-validate-'));
    const file = path.join(dir, 'broken.yaml');
    writeFileSync(
      file,
      ['id: broken', 'source:', '  type: mllp', '  port: 70000', 'pipeline:', '  map: no-such-mapping', 'destinations:', '  - name: inbox', '    type: case-inbox', '    database: sqlite:x.db', ''].join('\n'),
    );
    const r = await runCli(['validate', dir], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:4:3 source.port: must be <= 65535`);
    writeFileSync(file, ['id: broken', 'source: { type: mllp, port: 2999 }', 'pipeline: { map: no-such-mapping }', 'destinations: [{ name: inbox, type: case-inbox, database: "sqlite:x.db" }]', ''].join('\n'));
    const r2 = await runCli(['validate', file], env);
    expect(r2.code).toBe(1);
    // At the `map:` key (line 3, column 13), not at the top of the file.
    expect(r2.stderr).toContain(`${file}:3:13 pipeline.map: no mapping with id or path "no-such-mapping"`);
  });

  test('tramline start refuses a channel whose mapping does not exist, at its map: line, before opening anything', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-start-'));
    const file = path.join(dir, 'channels', 'broken.yaml');
    mkdirSync(path.dirname(file));
    const inbox = `sqlite:${path.join(dir, 'inbox.db')}`;
    writeFileSync(file, ['id: broken', 'source: { type: mllp, port: 0 }', 'pipeline:', '  map: no-such-mapping', `destinations: [{ name: inbox, type: case-inbox, database: "${inbox}" }]`, ''].join('\n'));
    const r = await runCli(['start'], { ...env, TRAMLINE_CHANNELS: path.dirname(file), TRAMLINE_DATA_DIR: path.join(dir, 'data'), TRAMLINE_HTTP_PORT: '0', TRAMLINE_DB_URL: '', TRAMLINE_AMQP_URL: '' });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`${file}:4:3 pipeline.map: no mapping with id or path "no-such-mapping"`);
    expect(r.stderr).toContain('nothing started');
  });
});
