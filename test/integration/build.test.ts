// `npm run build` (what `npm start` and `npm run bench` run): the compiled engine in the output
// folder finds its mappings, code maps and schemas, and maps a shipped case exactly as expected.
import { execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { prepareEngine, ROOT } from '../support/engine.js';

const run = promisify(execFile);
let out: string;

beforeAll(async () => {
  // Inside the project, so the compiled modules resolve node_modules as dist/ does.
  mkdirSync(path.join(ROOT, '.tramline-test'), { recursive: true });
  out = mkdtempSync(path.join(ROOT, '.tramline-test', 'build-'));
  // --noCheck: the same output without type-checking it again (half tsc's time); type errors
  // are `npm run typecheck`'s to report, which `npm test` runs first.
  await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', out, '--noCheck'], { cwd: ROOT });
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

test('the compiled engine serves the web console: its templates and assets are in the build', async () => {
  const e = await prepareEngine({ extraEnv: { TRAMLINE_AUTH_DEV_ISSUER: 'true' } });
  const child = spawn(process.execPath, [path.join(out, 'bin/tramline.js'), 'start'], { cwd: e.dir, env: { ...e.env, TRAMLINE_DEV: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    await new Promise<void>((resolve, reject) => {
      let log = '';
      const onData = (chunk: Buffer) => {
        log += chunk.toString();
        if (log.includes('"msg":"tramline started"')) resolve();
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => reject(new Error(`engine exited (${code}):\n${log}`)));
    });
    const base = `http://127.0.0.1:${e.httpPort}`;
    const home = await fetch(`${base}/`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect([home.status, home.headers.get('location')]).toEqual([303, '/sign-in?returnTo=%2F']);
    const signIn = await fetch(`${base}/sign-in/dev`);
    expect(signIn.status).toBe(200);
    expect(await signIn.text()).toContain('Development sign-in');
    for (const asset of ['govuk-frontend.min.css', 'govuk-frontend.min.js', 'console.js', 'console.css']) {
      expect([asset, (await fetch(`${base}/assets/${asset}`)).status]).toEqual([asset, 200]);
    }
  } finally {
    child.kill('SIGKILL');
    rmSync(e.dir, { recursive: true, force: true });
  }
});

test('the build leaves no TypeScript sources in the output, and keeps the assets', async () => {
  expect(readFileSync(path.join(out, 'mappings/hl7v2/adt-to-fhir.yaml'), 'utf8')).toContain('id: hl7v2-adt-to-fhir');
  expect(readFileSync(path.join(out, 'schemas/mapping.schema.json'), 'utf8')).toContain('"$schema"');
  const { stdout } = await run('find', [out, '-name', '*.ts', '!', '-name', '*.d.ts']);
  expect(stdout.trim()).toBe('');
});

// Start-up cost is the module graph: a command that needs no channel schema, mapping compiler,
// FHIR validator, broker or PostgreSQL driver must not load them (each costs tenths of a second).
// A resolve hook (in the loader thread) appends every module URL the CLI resolves to a file.
const HOOKS = [
  "import { appendFileSync } from 'node:fs';",
  'export async function resolve(specifier, context, next) {',
  '  const resolved = await next(specifier, context);',
  "  appendFileSync(process.env.TRACE_FILE, resolved.url + '\\n');",
  '  return resolved;',
  '}',
].join('\n');
const HEAVY = ['node_modules/ajv/', 'node_modules/ajv-formats/', 'node_modules/@asymmetrik/', 'node_modules/amqplib/', 'node_modules/pg/', 'node_modules/express/', 'node_modules/jose/', '/mappings/', '/channels/load.js'];

async function modulesLoadedBy(args: string[]): Promise<string[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tramline-trace-'));
  const trace = path.join(dir, 'trace.txt');
  writeFileSync(path.join(dir, 'hooks.mjs'), HOOKS);
  writeFileSync(path.join(dir, 'register.mjs'), "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n");
  try {
    await run(process.execPath, ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(out, 'bin/tramline.js'), ...args], {
      cwd: dir,
      env: { ...process.env, NODE_OPTIONS: '', TRACE_FILE: trace, TRAMLINE_DATA_DIR: path.join(dir, 'data'), TRAMLINE_DB_URL: '', TRAMLINE_CHANNELS: '' },
    });
    return readFileSync(trace, 'utf8').split('\n').filter(Boolean);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test.each([[['--help']], [['messages', 'list']], [['bench', 'mllp', '--help']]])('`tramline %s` loads no heavy module (fast start-up)', async (args) => {
  const loaded = await modulesLoadedBy(args);
  // The trace saw the CLI itself, so an empty list below means "not loaded", not "not traced".
  expect(loaded.some((url) => url.endsWith('/server/cli/main.js'))).toBe(true);
  expect(loaded.filter((url) => HEAVY.some((h) => url.includes(h)))).toEqual([]);
});

test('`tramline map` still loads the mapping compiler and validators it needs', async () => {
  const cases = path.join(ROOT, 'mappings/hl7v2/cases');
  const loaded = await modulesLoadedBy(['map', '--mapping', 'hl7v2-adt-to-fhir', '--input', path.join(cases, 'a03-discharge.hl7')]);
  expect(loaded.some((url) => url.includes('node_modules/ajv/'))).toBe(true);
});
