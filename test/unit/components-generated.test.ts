// The component specs are the one source of the channel schema, docs/components.md and the
// validate messages: the generated files must match the specs, every spec must document itself,
// and its examples must load as written.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TObject } from '@sinclair/typebox';
import { parse, stringify } from 'yaml';
import { exampleYaml, generatedFiles, ROOT } from '../../bin/generate-components.js';
import { DESTINATIONS, FUNCTIONS, RECORD_FORMATS, SOURCES } from '../../channels/components.js';
import { formatProblem, loadChannelText } from '../../channels/load.js';
import { checkMappingFile } from '../../mappings/engine/load.js';

describe('generated files', () => {
  test.each(Object.entries(generatedFiles()))('%s is current with the specs', (file, text) => {
    const onDisk = readFileSync(path.join(ROOT, file), 'utf8');
    if (onDisk !== text) throw new Error(`${file} differs from the component specs: run \`npm run generate\` and commit the result`);
  });

  test('docs/components.md has a section for every component and function', () => {
    const md = generatedFiles()['docs/components.md'];
    for (const s of SOURCES) expect(md).toContain(`### \`${s.type}\` source`);
    for (const d of DESTINATIONS) expect(md).toContain(`### \`${d.type}\` destination`);
    for (const f of RECORD_FORMATS) expect(md).toContain(`### \`${f.type}\` record format`);
    for (const fn of FUNCTIONS) expect(md).toContain(`### \`${fn.name}\``);
  });
});

describe('component specs', () => {
  const components = [...SOURCES, ...DESTINATIONS, ...RECORD_FORMATS];

  test.each(components.map((c) => [`${c.kind} ${c.type}`, c] as const))('%s documents itself and has examples', (_name, spec) => {
    expect(spec.summary.length).toBeGreaterThan(10);
    expect(spec.description.length).toBeGreaterThan(20);
    expect(spec.examples.length).toBeGreaterThan(0);
  });

  // A channel around each example: the others' parts are the smallest valid ones.
  const exampleChannel = (kind: string, config: Record<string, unknown>) => ({
    id: 'example',
    source: kind === 'source' ? config : { type: 'http' },
    ...(kind === 'record-format' ? { pipeline: config } : {}),
    destinations: [kind === 'destination' ? config : { name: 'inbox', type: 'case-inbox', database: 'sqlite:./data/x.db' }],
  });

  test.each(components.flatMap((c) => c.examples.map((e) => [`${c.kind} ${c.type}: ${e.title}`, c, e.config] as const)))(
    'example loads as written: %s',
    (_name, spec, config) => {
      const { problems } = loadChannelText(stringify(exampleChannel(spec.kind, config)), 'example.yaml', {});
      expect(problems.map(formatProblem)).toEqual([]);
      // …and the page shows it as it is.
      expect(Object.values(parse(exampleYaml(spec, config)) as object)).toEqual([spec.kind === 'destination' ? [config] : config]);
    },
  );
});

describe('validate messages come from the specs', () => {
  const channelWith = (kind: 'source' | 'destination', config: Record<string, unknown>) =>
    stringify({
      id: 'example',
      source: kind === 'source' ? config : { type: 'http' },
      destinations: [kind === 'destination' ? { name: 'out', ...config } : { name: 'inbox', type: 'case-inbox', database: 'sqlite:./data/x.db' }],
    });
  const described = [...SOURCES, ...DESTINATIONS].flatMap((spec) => {
    const config = spec.config as TObject;
    const [field] = (config.required ?? []).filter((f) => f !== 'type');
    const description = field && (config.properties[field] as { description?: string }).description;
    return description ? [[`${spec.kind} ${spec.type}`, spec, field, description] as const] : [];
  });

  test.each(described)('%s: a missing required field is named with its description', (_name, spec, field, description) => {
    const kind = spec.kind as 'source' | 'destination';
    const { problems } = loadChannelText(channelWith(kind, { type: spec.type }), 'missing.yaml', {});
    expect(problems.map((p) => p.message)).toContain(`missing required field "${field}" — ${description}`);
  });

  test.each([...SOURCES, ...DESTINATIONS].map((spec) => [`${spec.kind} ${spec.type}`, spec] as const))('%s: an unknown field lists the fields its spec allows', (_name, spec) => {
    const example = spec.examples[0].config;
    const kind = spec.kind as 'source' | 'destination';
    const { problems } = loadChannelText(channelWith(kind, { ...example, colour: 'blue' }), 'unknown.yaml', {});
    const own = Object.keys(spec.config.properties).filter((f) => f !== 'type');
    const message = problems.find((p) => p.field.endsWith('colour'))?.message ?? '';
    for (const field of own) expect(message).toContain(field);
  });

  test('a near miss is named', () => {
    const { problems } = loadChannelText(channelWith('destination', { type: 'http', url: 'https://x.example', auth: { type: 'bearer', tokenenv: 'T' } }), 'near.yaml', {});
    expect(problems.map(formatProblem)).toContain('near.yaml:10:7 destinations[0].auth.tokenenv: unknown field "tokenenv" (did you mean "tokenEnv"?)');
  });
});

describe('mapping function arguments are checked against the spec (tramline validate)', () => {
  const problems = (step: string) =>
    checkMappingFile(path.join(ROOT, 'mappings/args-check.yaml'), `id: args-check\ninput: json\noutput:\n  value: { $path: $.x, $fn: ${step} }\n`).map(
      (p) => `${p.file}:${p.line} ${p.target}: ${p.message}`,
    );

  test.each([
    ['{ hl7Date: x }', 'mappings/args-check.yaml:4 value: function hl7Date takes no arguments, not 1'],
    ['prefix', 'mappings/args-check.yaml:4 value: function prefix takes 1 argument (text), not 0'],
    ['{ substring: [0, 3, 4] }', 'mappings/args-check.yaml:4 value: function substring takes 1 to 2 arguments (start, end), not 3'],
    ['{ codemap: [hl7-0001-gender, drop] }', 'mappings/args-check.yaml:4 value: function codemap: argument 2 (unmapped) must be one of: error, omit, keep — What to do with a code the map lacks, instead of the map\'s own `unmapped` rule.'],
    ['{ hl7Component: 0 }', 'mappings/args-check.yaml:4 value: function hl7Component: argument 1 (n) must be >= 1 — Component number, 1-based.'],
  ])('$fn: %s', (step, message) => {
    expect(problems(step)).toEqual([message]);
  });

  test('arguments that suit the spec compile', () => {
    expect(problems('[trim, { prefix: "Ward " }, { substring: [0, 3] }, { join: "-" }]')).toEqual([]);
  });
});
