// `npm run generate`: writes schemas/channel.schema.json and docs/components.md from the
// component specs (channels/components.ts), and the keyword parts of schemas/mapping.schema.json
// from the mapping language's keyword list (mappings/engine/keywords.ts).
// test/unit/components-generated.test.ts fails when the files on disk differ from what this
// makes, so edit the specs and run it again.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Document, isScalar, stringify, visit } from 'yaml';
import type { ComponentSpec, FunctionSpec } from '../core/component.js';
import { channelSchema, destinationFields } from '../channels/channel-schema.js';
import { DESTINATIONS, FUNCTIONS, RECORD_FORMATS, SOURCES } from '../channels/components.js';
import { keywordPattern, UPSERT_FIELDS, UPSERT_IF_EXISTS } from '../mappings/engine/keywords.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** JSON Schema as plain data (TypeBox's symbol keys are not JSON). */
interface Schema {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema | Schema[];
  properties?: Record<string, Schema | boolean>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  allOf?: { if?: { properties?: { type?: { const?: string } } }; then?: Schema }[];
  title?: string;
}

const plain = (value: unknown): Schema => JSON.parse(JSON.stringify(value)) as Schema;

/** Plain text as Markdown: `<` outside code kept from being read as HTML (`<name>`). */
function prose(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) => (part.startsWith('`') ? part : part.replace(/</g, '&lt;')))
    .join('');
}

/** A table cell: one line, `|` escaped. */
function cell(text: string): string {
  return prose(text.replace(/\n/g, ' ')).replace(/\|/g, '\\|');
}

const code = (text: string) => (text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``);

function inline(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === '') return '`""`';
  if (typeof value === 'string') return code(value);
  return code(stringify(value, { collectionStyle: 'flow', lineWidth: 0 }).trim());
}

function range(s: Schema): string {
  if (s.minimum !== undefined && s.maximum !== undefined) return ` ${s.minimum}–${s.maximum}`;
  if (s.minimum !== undefined) return ` ≥ ${s.minimum}`;
  if (s.maximum !== undefined) return ` ≤ ${s.maximum}`;
  return '';
}

const isDiscriminated = (s: Schema) => Boolean(s.allOf?.some((b) => b.if?.properties?.type?.const !== undefined));

function typeName(s: Schema): string {
  if (s.enum) return s.enum.map((v) => code(String(v))).join(', ');
  if (s.const !== undefined) return code(String(s.const));
  if (isDiscriminated(s)) return 'object, by `type`';
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  if (types.includes('array') && s.items && !Array.isArray(s.items)) return `list of ${typeName(s.items)}`;
  if (types.includes('object')) return typeof s.additionalProperties === 'object' ? `map of ${typeName(s.additionalProperties)}` : 'object';
  if (types.length === 2 && types.includes('string') && types.includes('number')) return 'text';
  return types.length ? types.join(' or ') + range(s) : 'any';
}

interface Row {
  field: string;
  type: string;
  required: string;
  default: string;
  description: string;
}

/** One row per field, nested objects and `type` variants flattened into dotted names. */
function fieldRows(properties: Record<string, Schema | boolean>, required: string[], prefix = '', when = ''): Row[] {
  const rows: Row[] = [];
  for (const [name, raw] of Object.entries(properties)) {
    if (typeof raw === 'boolean' || (name === 'type' && raw.const !== undefined)) continue; // the component's own `type`, or a shared field
    const s = raw;
    const field = prefix + name;
    const isRequired = required.includes(name);
    rows.push({
      field,
      type: typeName(s),
      required: isRequired ? 'yes' : '',
      default: s.default === undefined ? '' : inline(s.default),
      description: [when && `With ${when}.`, s.description].filter(Boolean).join(' '),
    });
    if (isDiscriminated(s)) {
      for (const branch of s.allOf ?? []) {
        const tag = branch.if?.properties?.type?.const;
        if (tag === undefined || !branch.then?.properties) continue;
        rows.push(...fieldRows(branch.then.properties, branch.then.required ?? [], `${field}.`, code(`${field}.type: ${tag}`)));
      }
    } else if (s.properties) {
      rows.push(...fieldRows(s.properties, s.required ?? [], `${field}.`));
    } else if (s.items && !Array.isArray(s.items) && s.items.properties) {
      rows.push(...fieldRows(s.items.properties, s.items.required ?? [], `${field}[].`));
    }
  }
  return rows;
}

function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function fieldTable(rows: Row[]): string {
  if (!rows.length) return 'No settings.';
  return table(
    ['field', 'type', 'required', 'default', 'description'],
    rows.map((r) => [code(r.field), cell(r.type), cell(r.required), cell(r.default), cell(r.description)]),
  );
}

/** Where a component's block sits in a channel file, for its example. */
export function exampleYaml(spec: ComponentSpec, config: Record<string, unknown>): string {
  const wrapped = spec.kind === 'source' ? { source: config } : spec.kind === 'destination' ? { destinations: [config] } : { pipeline: config };
  const doc = new Document(wrapped);
  // Short lists of plain values read best on one line: `formats: [ csv, jsonl ]`.
  visit(doc, { Seq: (_key, node) => void (node.items.every(isScalar) && (node.flow = true)) });
  return doc.toString({ lineWidth: 0 }).trimEnd();
}

const KIND_NAME = { source: 'source', destination: 'destination', 'record-format': 'record format' } as const;

function componentSection(spec: ComponentSpec): string {
  const config = plain(spec.config);
  const parts = [
    `### ${code(spec.type)} ${KIND_NAME[spec.kind]}`,
    prose(spec.summary),
    spec.description,
    fieldTable(fieldRows(config.properties ?? {}, config.required ?? [])),
  ];
  for (const example of spec.examples) parts.push(`${example.title}:\n\n\`\`\`yaml\n${exampleYaml(spec, example.config)}\n\`\`\``);
  return parts.join('\n\n');
}

function functionSection(fn: FunctionSpec): string {
  const args = plain(fn.args);
  const items = Array.isArray(args.items) ? args.items : [];
  const parts = [`### ${code(fn.name)}`, prose(fn.description), `Write: ${(fn.usage ?? fn.name).split(/\s+\|\s+/).map(code).join(' or ')}. Gives: ${fn.returns}.`];
  if (items.length) {
    parts.push(
      table(
        ['argument', 'type', 'required', 'description'],
        items.map((a, i) => [`${i + 1}. ${code(a.title ?? `argument ${i + 1}`)}`, cell(typeName(a)), i < (args.minItems ?? 0) ? 'yes' : '', cell(a.description ?? '')]),
      ),
    );
  } else {
    parts.push('No arguments.');
  }
  const result = (e: FunctionSpec['examples'][number]) => (e.error ? `invalid: ${e.error}` : inline(e.output));
  parts.push(
    table(
      ['value', 'arguments', 'gives'],
      fn.examples.map((e) => [cell(inline(e.input)), cell(e.args?.length ? inline(e.args) : ''), cell(result(e))]),
    ),
  );
  return parts.join('\n\n');
}

const links = (specs: readonly ComponentSpec[]) => specs.map((s) => `[${code(s.type)}](#${s.type}-${KIND_NAME[s.kind].replace(' ', '-')})`).join(', ');

export function componentsMarkdown(): string {
  const shared = plain({ properties: destinationFields });
  const channel = plain(channelSchema);
  // source and destinations get sections of their own.
  const channelFields: Schema = {
    ...channel,
    properties: Object.fromEntries(
      Object.entries(channel.properties ?? {}).map(([k, v]) => [k, k === 'source' || k === 'destinations' ? { ...(k === 'source' ? { type: 'object' } : { type: 'array', items: { type: 'object' } }), description: `See [${k === 'source' ? 'Sources' : 'Destinations'}](#${k === 'source' ? 'sources' : 'destinations'}).` } : v]),
    ),
  };
  return [
    '# Components',
    [
      '<!-- Generated by `npm run generate` from the component specs; edit the specs, not this file. -->',
      '',
      'Every source, destination and record format a channel file can name, with its settings, and every function a',
      'mapping can call. This page, the channel schema (`schemas/channel.schema.json`) and the messages of `tramline',
      'validate` are all made from one spec per component, listed in `channels/components.ts`. How channels fit together:',
      '[channels.md](channels.md); how destinations deliver and fail: [destinations.md](destinations.md). A new component',
      'is its spec beside its implementation, a line in `channels/components.ts` and `npm run generate`.',
    ].join('\n'),
    `- [The channel file](#the-channel-file)\n- [Sources](#sources): ${links(SOURCES)}\n- [Destinations](#destinations): ${links(DESTINATIONS)}\n- [Record formats](#record-formats): ${links(RECORD_FORMATS)}\n- [Mapping functions](#mapping-functions)`,
    '## The channel file',
    'The fields of a channel file ([channels.md](channels.md) says how they work together); its `source` and `destinations` are the components below.',
    fieldTable(fieldRows(channelFields.properties ?? {}, channelFields.required ?? [])),
    '## Sources',
    'A channel has one `source`; its `type` is one of these.',
    ...SOURCES.map(componentSection),
    '## Destinations',
    'A channel has one or more `destinations`, each behind its own durable queue. Every destination has these fields, whatever its `type`:',
    fieldTable(fieldRows(shared.properties ?? {}, ['name'])),
    ...DESTINATIONS.map(componentSection),
    '## Record formats',
    'A channel whose source delivers records may name a built-in format in `pipeline.recordFormat`; without one, rows are checked against `pipeline.recordSchema` (if any) and grouped by `pipeline.groupBy`.',
    ...RECORD_FORMATS.map(componentSection),
    '## Mapping functions',
    [
      'Called from a mapping with `$fn: name`, `$fn: { name: argument }` or a list of such steps',
      '([mappings/README.md](../mappings/README.md)). Arguments are constants, checked against the function\'s spec when the',
      'mapping is compiled. Each example below is run by `test/unit/mapping-functions.test.ts`.',
    ].join('\n'),
    ...FUNCTIONS.map(functionSection),
  ].join('\n\n') + '\n';
}

/**
 * schemas/mapping.schema.json with the parts the mapping language's keyword list decides
 * (mappings/engine/keywords.ts): the `$` keys a node may have and the fields of `$upsert`.
 * The rest of the file is written by hand.
 */
export function mappingSchema(): string {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas/mapping.schema.json'), 'utf8')) as {
    definitions: { node: { propertyNames: { pattern: string }; properties: Record<string, unknown> } };
  };
  const node = schema.definitions.node;
  node.propertyNames.pattern = keywordPattern();
  node.properties.$upsert = {
    type: 'object',
    description: 'Writes the bundle entry\'s fullUrl and conditional request from the identifier its resource is keyed on (mappings/README.md).',
    required: ['system', 'value'],
    additionalProperties: false,
    properties: Object.fromEntries(
      UPSERT_FIELDS.map((f) => [
        f,
        f === 'type' ? { type: 'string', pattern: '^[A-Z][A-Za-z]+$' } : f === 'ifExists' ? { enum: [...UPSERT_IF_EXISTS] } : { $ref: '#/definitions/node' },
      ]),
    ),
  };
  return `${JSON.stringify(schema, null, 2)}\n`;
}

/** The files `npm run generate` writes, relative to the repository root, with their text. */
export function generatedFiles(): Record<string, string> {
  return {
    'schemas/channel.schema.json': `${JSON.stringify(channelSchema, null, 2)}\n`,
    'schemas/mapping.schema.json': mappingSchema(),
    'docs/components.md': componentsMarkdown(),
  };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [file, text] of Object.entries(generatedFiles())) {
    const target = path.join(ROOT, file);
    if (existsSync(target) && readFileSync(target, 'utf8') === text) continue;
    writeFileSync(target, text);
    console.log(`wrote ${file}`);
  }
}
