import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatProblem, loadChannelFile, loadChannelFolder, loadChannelText, problemAt, type LoadResult } from '../../channels/load.js';
import { subscriptionsOf } from '../../channels/routing.js';

const valid = `id: adt-in
source:
  type: mllp
  port: 2600
destinations:
  - name: inbox
    type: case-inbox
    database: sqlite:./data/x.db
`;

const portOf = (r: LoadResult): number | undefined => (r.channel?.source.type === 'mllp' ? r.channel.source.port : undefined);

describe('channel loading', () => {
  test('a valid channel loads with defaults applied', () => {
    const { channel, problems } = loadChannelText(valid, 'adt.yaml');
    expect(problems).toEqual([]);
    expect(channel?.source).toEqual({
      type: 'mllp', port: 2600, host: '0.0.0.0', maxMessageBytes: 1048576, idleTimeoutMs: 600000, maxConnections: 200, ackMode: 'auto', whenQueueDown: 'store-and-ack',
    });
    expect(channel?.enabled).toBe(true);
    expect(channel?.destinations[0]).toMatchObject({ name: 'inbox', table: 'case_inbox' });
    // Left unset, the concurrency is the type's: a case inbox writes concurrent deliveries in one commit.
    expect(channel?.destinations[0].concurrency).toBeUndefined();
    expect(subscriptionsOf(channel!)).toEqual([{ destination: 'adt-in.inbox', bindings: ['adt-in.#'], concurrency: 64 }]);
  });

  test('a destination that sets concurrency keeps it; a FHIR server gets 32, other types 8', () => {
    const text = `${valid}    concurrency: 3
  - name: api
    type: http
    url: https://example.org/in
  - name: record
    type: fhir
`;
    const { channel, problems } = loadChannelText(text, 'adt.yaml');
    expect(problems).toEqual([]);
    expect(subscriptionsOf(channel!).map((s) => s.concurrency)).toEqual([3, 8, 32]);
  });

  test('every problem names file, line and field', () => {
    const text = `id: adt-in
source:
  type: mllp
  port: 99999
  colour: blue
destinations:
  - name: inbox
    type: case-inbox
    retry:
      maxAttempts: 0
`;
    const { channel, problems } = loadChannelText(text, 'bad.yaml');
    expect(channel).toBeUndefined();
    const lines = problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'bad.yaml:4:3 source.port: must be <= 65535',
        'bad.yaml:5:3 source.colour: unknown field "colour" (allowed: host, port, maxMessageBytes, idleTimeoutMs, maxConnections, charset, limits, ackMode, whenQueueDown)',
        'bad.yaml:7:5 destinations[0]: missing required field "database" — Case-system database URL (sqlite:<file> or postgres://…).',
        'bad.yaml:10:7 destinations[0].retry.maxAttempts: must be >= 1',
      ]),
    );
  });

  test('mllp charset, limits and maxConnections are checked', () => {
    const ok = loadChannelText(valid.replace('port: 2600', 'port: 2600\n  charset: windows-1252\n  maxConnections: 20\n  limits:\n    repetitionsPerField: 50'), 'ok.yaml');
    expect(ok.problems).toEqual([]);
    expect(ok.channel?.source).toMatchObject({ charset: 'windows-1252', maxConnections: 20, limits: { repetitionsPerField: 50, segments: 10000 } });
    const bad = loadChannelText(valid.replace('port: 2600', 'port: 2600\n  charset: klingon\n  maxConnections: 0\n  limits:\n    fields: 5'), 'bad.yaml');
    expect(bad.problems.map(formatProblem)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^bad.yaml:5:3 source.charset: must be one of: windows-1252, iso-8859-1, iso-8859-15/),
        'bad.yaml:6:3 source.maxConnections: must be >= 1',
        'bad.yaml:8:5 source.limits.fields: unknown field "fields" (allowed: segments, fieldsPerSegment, repetitionsPerField, componentsPerField)',
      ]),
    );
  });

  test('an unknown destination type is named with the allowed values', () => {
    const { problems } = loadChannelText(valid.replace('type: case-inbox', 'type: carrier-pigeon'), 'c.yaml');
    expect(problems.map(formatProblem)).toContainEqual(expect.stringMatching(/^c.yaml:7:5 destinations\[0\].type: must be one of: case-inbox, /));
  });

  test('a mesh-folder destination must say where to send: toMailbox or replyToSender', () => {
    const mesh = (extra: string) => `id: adw
source: { type: mesh-folder, inbox: /srv/mesh/IN }
destinations:
  - name: out
    type: mesh-folder
    outbox: /srv/mesh/OUT
    fromMailbox: X26OT123
    workflowId: W1${extra}
`;
    expect(loadChannelText(mesh(''), 'm.yaml').problems.map(formatProblem)).toEqual(['m.yaml:4:5 destinations[0]: a mesh-folder destination needs toMailbox, or replyToSender: true']);
    expect(loadChannelText(mesh('\n    toMailbox: RX1MB001'), 'm.yaml').problems).toEqual([]);
    const { channel, problems } = loadChannelText(mesh('\n    replyToSender: true'), 'm.yaml');
    expect(problems).toEqual([]);
    expect(channel?.source).toMatchObject({ type: 'mesh-folder', pollIntervalMs: 1000, stableMs: 2000, maxMessageBytes: 20971520 });
  });

  test('a notices block: defaults applied, checked fields, and only on a mesh-folder or http source', () => {
    const channel = (source: string, notices: string) => `id: adw
source: ${source}
notices:
${notices}
destinations:
  - { name: inbox, type: case-inbox, database: 'sqlite:./case.db', routes: [adw.#] }
`;
    const ok = loadChannelText(channel('{ type: mesh-folder, inbox: /srv/mesh/IN }', '  councilOds: Z99ZZ\n  deadlineHours: { discharge: 12 }'), 'n.yaml');
    expect(ok.problems).toEqual([]);
    expect(ok.channel?.notices).toEqual({ councilOds: 'Z99ZZ', deadlineHours: { discharge: 12 }, maxBytes: 5242880 });
    expect(loadChannelText(channel('{ type: http }', '  councilOds: Z99ZZ'), 'n.yaml').problems).toEqual([]);
    expect(loadChannelText(channel('{ type: file, directory: /srv/in }', '  councilOds: Z99ZZ'), 'n.yaml').problems.map(formatProblem)).toEqual([
      'n.yaml:3:1 notices: a notices channel takes its notices from a mesh-folder or http source, not file',
    ]);
    const bad = loadChannelText(channel('{ type: mesh-folder, inbox: /srv/mesh/IN }', '  councilOds: "not ods!"\n  autoAccept: [{ name: r1, types: [admission] }]'), 'n.yaml');
    expect(bad.problems.map((p) => p.field)).toEqual(expect.arrayContaining(['notices.councilOds', 'notices.autoAccept[0].types[0]']));
  });

  test('YAML syntax errors carry their position', () => {
    const { problems } = loadChannelText('id: [unclosed\n', 'y.yaml');
    expect(problems[0]).toMatchObject({ file: 'y.yaml', line: 2 });
    expect(problems[0].message).toMatch(/^YAML:/);
  });

  test('environment references are substituted, numbers coerced', () => {
    const text = valid.replace('port: 2600', 'port: ${TEST_MLLP_PORT:-2575}');
    expect(portOf(loadChannelText(text, 'e.yaml', {}))).toBe(2575);
    expect(portOf(loadChannelText(text, 'e.yaml', { TEST_MLLP_PORT: '3001' }))).toBe(3001);
    const { problems } = loadChannelText(valid.replace('sqlite:./data/x.db', '${NO_SUCH_VAR}'), 'e.yaml', {});
    expect(problems.map(formatProblem)).toContain('e.yaml:8:5 destinations[0].database: environment variable NO_SUCH_VAR is not set and has no default');
  });

  test('a folder with clashing ids and ports is reported at the clashing keys', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-ch-'));
    writeFileSync(path.join(dir, 'a.yaml'), valid);
    writeFileSync(path.join(dir, 'b.yaml'), valid);
    const { problems } = loadChannelFolder(dir);
    const b = path.join(dir, 'b.yaml');
    expect(problems.map(formatProblem)).toEqual([
      `${b}:1:1 id: channel id "adt-in" is also used by ${path.join(dir, 'a.yaml')}`,
      `${b}:4:3 source.port: port 2600 is also used by channel adt-in`,
    ]);
  });

  test('a problem found after loading (e.g. a missing mapping) names the line of its key', () => {
    const { channel } = loadChannelText(`${valid}pipeline:\n  map: no-such-mapping\n`, 'm.yaml', {});
    expect(channel).toBeDefined();
    const p = problemAt(channel!, ['pipeline', 'map'], 'no mapping with id or path "no-such-mapping"');
    expect(formatProblem(p)).toBe('m.yaml:10:3 pipeline.map: no mapping with id or path "no-such-mapping"');
  });

  test('the shipped sample channels are valid', () => {
    const { channels, problems } = loadChannelFolder('channels/examples', {});
    expect(problems).toEqual([]);
    expect(channels.map((c) => c.id)).toContain('adt-to-case-system');
  });

  test('an unreadable file is a problem, not a crash', () => {
    expect(loadChannelFile('/nonexistent/x.yaml').problems[0].message).toMatch(/cannot read file/);
  });
});
