// Channel files with http, mllp and file destinations: defaults, and mistakes reported with
// file, line and field like every other channel problem. Plus the pure classifiers.
import { describe, expect, test } from '@jest/globals';
import { fileNameFor, compactTimestamp } from '../../adapters/file/name.js';
import { isRetryableFsError } from '../../adapters/file/errors.js';
import { describeResponse, isRetryableStatus, retryAfterMs } from '../../adapters/http/classify.js';
import { checkAck } from '../../adapters/mllp/destination.js';
import { formatProblem, loadChannelText } from '../../channels/load.js';
import { DeliveryError } from '../../core/errors.js';

const channel = (destination: string) => `id: adt-out
source:
  type: mllp
  port: 2601
destinations:
${destination}`;

describe('destination blocks in channel files', () => {
  test('http, mllp and file load with their defaults', () => {
    const { channel: c, problems } = loadChannelText(
      channel(`  - name: case-api
    type: http
    url: https://case.example.org/api/inbox
  - name: downstream
    type: mllp
    host: 10.0.0.5
    port: 2575
  - name: drop
    type: file
    directory: /srv/drop
`),
      'ok.yaml',
    );
    expect(problems).toEqual([]);
    const [http, mllp, file] = c!.destinations;
    expect(http).toEqual({
      name: 'case-api', type: 'http', url: 'https://case.example.org/api/inbox', method: 'POST', format: 'json', headers: {},
      auth: { type: 'none' }, timeoutMs: 30000,
    });
    expect(mllp).toEqual({ name: 'downstream', type: 'mllp', host: '10.0.0.5', port: 2575, responseTimeoutMs: 30000, connectTimeoutMs: 10000 });
    expect(file).toEqual({ name: 'drop', type: 'file', directory: '/srv/drop', fileName: '{messageId}.hl7', createDirectory: false });
  });

  test('headers take ${VAR} values from the environment', () => {
    const { channel: c, problems } = loadChannelText(
      channel(`  - name: case-api
    type: http
    url: \${CASE_URL}
    headers:
      X-Api-Key: \${CASE_KEY}
    auth: { type: bearer, tokenEnv: CASE_TOKEN }
`),
      'env.yaml',
      { CASE_URL: 'http://127.0.0.1:9/x', CASE_KEY: 'k1' },
    );
    expect(problems).toEqual([]);
    expect(c!.destinations[0]).toMatchObject({ url: 'http://127.0.0.1:9/x', headers: { 'X-Api-Key': 'k1' }, auth: { type: 'bearer', tokenEnv: 'CASE_TOKEN' } });
  });

  test('http mistakes name file, line and field', () => {
    const text = channel(`  - name: case-api
    type: http
    url: ftp://case.example.org
    method: DELETE
    format: xml
    timeoutMs: 0
    auth:
      type: basic
      username: tramline
      password: plain-text
`);
    const lines = loadChannelText(text, 'http.yaml').problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'http.yaml:8:5 destinations[0].url: must match pattern "^https?://[^\\s]+$" — Endpoint URL (http:// or https://).',
        'http.yaml:9:5 destinations[0].method: must be one of: POST, PUT, PATCH',
        'http.yaml:10:5 destinations[0].format: must be one of: json, hl7',
        'http.yaml:11:5 destinations[0].timeoutMs: must be >= 1',
        'http.yaml:15:7 destinations[0].auth.password: unknown field "password" (allowed: username, passwordEnv)',
        'http.yaml:12:5 destinations[0].auth: missing required field "passwordEnv" — Name of the environment variable holding the password.',
      ]),
    );
  });

  test('a missing url, an unknown field, and a bearer without tokenEnv are reported', () => {
    const text = channel(`  - name: case-api
    type: http
    colour: blue
    auth: { type: bearer }
`);
    const lines = loadChannelText(text, 'h2.yaml').problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'h2.yaml:6:5 destinations[0]: missing required field "url" — Endpoint URL (http:// or https://).',
        'h2.yaml:8:5 destinations[0].colour: unknown field "colour" (allowed: url, method, format, headers, auth, timeoutMs, name, routes, filter, map, retry, concurrency)',
        'h2.yaml:9:5 destinations[0].auth: missing required field "tokenEnv" — Name of the environment variable holding the token.',
      ]),
    );
  });

  test('mllp mistakes name file, line and field', () => {
    const text = channel(`  - name: downstream
    type: mllp
    port: 70000
    responseTimeoutMs: -1
`);
    const lines = loadChannelText(text, 'mllp.yaml').problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'mllp.yaml:6:5 destinations[0]: missing required field "host" — Downstream host.',
        'mllp.yaml:8:5 destinations[0].port: must be <= 65535',
        'mllp.yaml:9:5 destinations[0].responseTimeoutMs: must be >= 1',
      ]),
    );
  });

  test('mllp tls: a client certificate needs its key; unknown options are named', () => {
    const text = channel(`  - name: downstream
    type: mllp
    host: tie.example.nhs.uk
    port: 2575
    tls:
      certFile: /etc/tramline/client.pem
      verify: false
`);
    const lines = loadChannelText(text, 'tls.yaml').problems.map(formatProblem);
    expect(lines).toEqual(
      expect.arrayContaining([
        'tls.yaml:10:5 destinations[0].tls: must have property keyFile when property certFile is present',
        'tls.yaml:12:7 destinations[0].tls.verify: unknown field "verify" (allowed: caFile, certFile, keyFile, servername)',
      ]),
    );
    const ok = loadChannelText(text.replace('      verify: false\n', '      keyFile: /etc/tramline/client.key\n'), 'tls.yaml');
    expect(ok.problems).toEqual([]);
    expect(ok.channel!.destinations[0]).toMatchObject({ tls: { certFile: '/etc/tramline/client.pem', keyFile: '/etc/tramline/client.key' } });
  });

  test('file mistakes name file, line and field', () => {
    const bad = (fileName: string) =>
      loadChannelText(channel(`  - name: drop\n    type: file\n    directory: /srv/drop\n    fileName: "${fileName}"\n`), 'file.yaml').problems.map(formatProblem);
    const prefix = 'file.yaml:9:5 destinations[0].fileName: must match pattern';
    expect(bad('sub/{messageId}.hl7')).toEqual([`${prefix} "^[^/\\\\]+$" — no path separators`]);
    expect(bad('fixed.hl7')).toEqual([`${prefix} "\\{(messageId|controlId)\\}" — contains {messageId} or {controlId}`]);
    expect(bad('{messageId}-{nhsNumber}.hl7')).toEqual([`${prefix} "^(?:[^{}]|\\{(?:messageId|controlId|messageType|receivedAt)\\})*$" — only known placeholders`]);
    expect(bad('{controlId}-{receivedAt}.hl7')).toEqual([]);
    const missing = loadChannelText(channel(`  - name: drop\n    type: file\n`), 'f2.yaml').problems.map(formatProblem);
    expect(missing).toEqual(["f2.yaml:6:5 destinations[0]: missing required field \"directory\" — Target folder (relative paths are relative to the engine's working directory)."]);
  });

  test('an option of another destination type is an unknown field', () => {
    const text = channel(`  - name: drop
    type: file
    directory: /srv/drop
    url: http://x
`);
    expect(loadChannelText(text, 'x.yaml').problems.map(formatProblem)).toEqual([
      'x.yaml:9:5 destinations[0].url: unknown field "url" (allowed: directory, fileName, createDirectory, name, routes, filter, map, retry, concurrency)',
    ]);
  });
});

describe('HTTP answer classification', () => {
  test.each([
    [200, false], [400, false], [401, false], [404, false], [409, false], [422, false],
    [408, true], [425, true], [429, true], [500, true], [502, true], [503, true], [504, true],
  ])('%i retryable: %s', (status, retryable) => {
    expect(isRetryableStatus(status)).toBe(retryable);
  });

  test('Retry-After in seconds or as an HTTP date', () => {
    const now = Date.parse('2026-06-15T09:30:00Z');
    expect(retryAfterMs('120', now)).toBe(120_000);
    expect(retryAfterMs('Mon, 15 Jun 2026 09:30:30 GMT', now)).toBe(30_000);
    expect(retryAfterMs('Mon, 15 Jun 2026 09:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('soon', now)).toBeUndefined();
    expect(retryAfterMs(null, now)).toBeUndefined();
  });

  test('only the status line and OperationOutcome codes/diagnostics are kept', () => {
    expect(describeResponse(400, 'Bad Request', '{"name":"TESTPERSON"}')).toBe('HTTP 400 Bad Request');
    expect(describeResponse(422, '', 'not json at all')).toBe('HTTP 422');
    const outcome = JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ code: 'required' }, { code: 'invalid', diagnostics: 'x'.repeat(500) }] });
    const line = describeResponse(422, 'Unprocessable Entity', outcome);
    expect(line.startsWith('HTTP 422 Unprocessable Entity (required; invalid: xxx')).toBe(true);
    expect(line.length).toBeLessThanOrEqual('HTTP 422 Unprocessable Entity ()'.length + 200);
  });
});

describe('MLLP ACK verdicts', () => {
  const verdict = (code: string, msa2 = 'C1') => {
    try {
      checkAck({ code, controlId: msa2, text: '' }, 'C1', 'MLLP peer');
      return 'delivered';
    } catch (err) {
      return (err as DeliveryError).retryable ? 'retry' : 'permanent';
    }
  };
  test.each([
    ['AA', 'delivered'], ['CA', 'delivered'], ['AE', 'retry'], ['CE', 'retry'], ['AR', 'permanent'], ['CR', 'permanent'], ['', 'retry'], ['ZZ', 'retry'],
  ])('%s → %s', (code, expected) => {
    expect(verdict(code)).toBe(expected);
  });
  test('an AA for another message is retried; an empty MSA-2 is accepted', () => {
    expect(verdict('AA', 'C2')).toBe('retry');
    expect(verdict('AA', '')).toBe('delivered');
  });
});

describe('file names and disk errors', () => {
  const e = {
    messageId: 'm-1', channel: 'c', routingKey: 'k', partitionKey: 'p', body: 'MSH|^~\\&|PAS|RCB|||20260101||ADT^A03|CTL/1|P|2.4',
    headers: { receivedAt: '2026-06-15T09:30:01.000Z' },
  };
  test('placeholders missing from the headers come from the message', () => {
    expect(fileNameFor('{messageType}-{controlId}-{messageId}.hl7', e)).toBe('ADT_A03-CTL_1-m-1.hl7');
    expect(compactTimestamp('2026-06-15T09:30:01.000Z')).toBe('20260615T093001.000Z');
  });
  test.each([
    ['ENOSPC', true], ['EDQUOT', true], ['EIO', true], ['ENOENT', true], ['EMFILE', true], ['ESTALE', true], [undefined, true],
    ['EACCES', false], ['EPERM', false], ['EROFS', false], ['ENOTDIR', false], ['ENAMETOOLONG', false],
  ])('%s retryable: %s', (code, retryable) => {
    expect(isRetryableFsError(code)).toBe(retryable);
  });
});
