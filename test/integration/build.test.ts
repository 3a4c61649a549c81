// `npm run build` (what `npm start` and `npm run bench` run): the compiled engine in the output
// folder finds its mappings, code maps and schemas, and maps a shipped case exactly as expected.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../support/engine.js';

const run = promisify(execFile);
let out: string;

beforeAll(async () => {
  // Inside the project, so the compiled modules resolve node_modules as dist/ does.
  mkdirSync(path.join(ROOT, '.tramline-test'), { recursive: true });
  out = mkdtempSync(path.join(ROOT, '.tramline-test', 'build-'));
  await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out], { cwd: ROOT });
  await run(process.execPath, [path.join(ROOT, 'bin/copy-assets.js'), out], { cwd: ROOT });
}, 120_000);

afterAll(() => rmSync(out, { recursive: true, force: true }));

test('the compiled CLI maps a shipped ADT case to its expected bundle', async () => {
  const cases = path.join(ROOT, 'mappings/hl7v2/cases');
  const { stdout } = await run(
    process.execPath,
    [path.join(out, 'bin/tramline.js'), 'map', '--mapping', 'hl7v2-adt-to-fhir', '--input', path.join(cases, 'a03-discharge.hl7')],
    { cwd: ROOT },
  );
  const expected = JSON.parse(readFileSync(path.join(cases, 'a03-discharge.expected.json'), 'utf8')) as unknown;
  expect(JSON.parse(stdout)).toEqual(expected);
});

test('the build leaves no TypeScript sources in the output, and keeps the assets', async () => {
  expect(readFileSync(path.join(out, 'mappings/hl7v2/adt-to-fhir.yaml'), 'utf8')).toContain('id: hl7v2-adt-to-fhir');
  expect(readFileSync(path.join(out, 'schemas/mapping.schema.json'), 'utf8')).toContain('"$schema"');
  const { stdout } = await run('find', [out, '-name', '*.ts', '!', '-name', '*.d.ts']);
  expect(stdout.trim()).toBe('');
});
