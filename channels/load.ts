// Loads channel YAML files, validates them against the channel schema (channels/channel-schema.ts,
// made from the component specs; also written to schemas/channel.schema.json) and reports every
// problem with file, line and field, the way an engineer fixes them in an editor.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { channelSchema } from './channel-schema.js';
import type { ChannelData, ChannelDefinition } from './definition.js';

export interface Problem {
  file: string;
  line: number;
  column: number;
  /** Dotted path of the offending field, e.g. `destinations[0].retry.maxAttempts`. */
  field: string;
  message: string;
}

export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}:${p.column} ${p.field || '(root)'}: ${p.message}`;
}

let validator: ValidateFunction<ChannelData> | undefined;

/** Checks a channel and fills in defaults; data it accepts has the ChannelData type made from the same schema. */
function channelValidator(): ValidateFunction<ChannelData> {
  // verbose: each error carries the schema it broke, whose descriptions go into the message.
  validator ??= new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true }).compile<ChannelData>(channelSchema);
  return validator;
}

/** `${VAR}` and `${VAR:-default}` in string values, so a channel can follow TRAMLINE_* settings. */
const ENV_REF = /\$\{([A-Z0-9_]+)(?::-([^}]*))?\}/g;

export interface MissingVar {
  name: string;
  /** Where the reference is, e.g. ['destinations', 0, 'database']. */
  segments: (string | number)[];
}

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, missing: MissingVar[], at: (string | number)[] = []): unknown {
  if (typeof value === 'string') {
    const whole = /^\$\{[A-Z0-9_]+(?::-[^}]*)?\}$/.test(value);
    const out = value.replace(ENV_REF, (_m, name: string, fallback: string | undefined) => {
      const v = env[name];
      if (v !== undefined && v !== '') return v;
      if (fallback !== undefined) return fallback;
      missing.push({ name, segments: at });
      return '';
    });
    // A value that is one reference to a number ("${TRAMLINE_MLLP_PORT:-2575}") becomes a number.
    return whole && /^-?\d+(\.\d+)?$/.test(out) ? Number(out) : out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnv(v, env, missing, [...at, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteEnv(v, env, missing, [...at, k])]));
  }
  return value;
}

function pathSegments(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

export function fieldName(segments: (string | number)[]): string {
  return segments.reduce<string>((acc, s) => (typeof s === 'number' ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

/** Position of the YAML node at `segments`, or of its nearest existing ancestor. */
export function positionOf(doc: Document, lines: LineCounter, segments: (string | number)[], keyOnly = false) {
  for (let n = segments.length; n >= 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      // For a map value, point at its key where we can (what editors highlight).
      if (n > 0 && !keyOnly) {
        const parent = n > 1 ? doc.getIn(segments.slice(0, n - 1), true) : doc.contents;
        if (isMap(parent)) {
          const pair = parent.items.find((p) => isScalar(p.key) && p.key.value === segments[n - 1]);
          const keyRange = pair && isScalar(pair.key) ? pair.key.range : undefined;
          if (keyRange) return lines.linePos(keyRange[0]);
        }
      }
      return lines.linePos(node.range[0]);
    }
  }
  return { line: 1, col: 1 };
}

interface SchemaNode {
  description?: string;
  properties?: Record<string, SchemaNode | boolean>;
}

/** The description of field `name` in an object schema, from the component's spec. */
function fieldDescription(schema: SchemaNode | undefined, name: string): string {
  const field = schema?.properties?.[name];
  return typeof field === 'object' && field.description ? ` — ${field.description}` : '';
}

/** Edit distance, to suggest the field someone meant (`pasword` → `passwordEnv` is too far; `tokenenv` → `tokenEnv` is not). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]++;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** "unknown field" with what is allowed there: the nearest field name, else the list (the spec's fields). */
function unknownField(name: string, schema: SchemaNode | undefined): string {
  const allowed = Object.keys(schema?.properties ?? {}).filter((f) => f !== 'type');
  if (!allowed.length) return `unknown field "${name}"`;
  const [nearest] = allowed.map((f) => ({ f, d: distance(name, f) })).sort((x, y) => x.d - y.d);
  if (nearest.d <= Math.max(1, Math.floor(name.length / 4))) return `unknown field "${name}" (did you mean "${nearest.f}"?)`;
  return `unknown field "${name}" (allowed: ${allowed.join(', ')})`;
}

/** A schema error as a message: the field's description from its spec where it helps. */
export function describeSchemaError(err: ErrorObject): { segments: (string | number)[]; message: string } {
  const segments = pathSegments(err.instancePath);
  const p = err.params as Record<string, unknown>;
  const schema = err.parentSchema as SchemaNode | undefined;
  switch (err.keyword) {
    case 'required':
      return { segments, message: `missing required field "${String(p.missingProperty)}"${fieldDescription(schema, String(p.missingProperty))}` };
    case 'additionalProperties':
      return { segments: [...segments, String(p.additionalProperty)], message: unknownField(String(p.additionalProperty), schema) };
    case 'enum':
      return { segments, message: `must be one of: ${(p.allowedValues as unknown[]).join(', ')}` };
    case 'const':
      return { segments, message: `must be ${JSON.stringify(p.allowedValue)}` };
    case 'pattern':
      // The pattern alone rarely says what is wanted; the field's description does.
      return { segments, message: `${err.message ?? 'must match its pattern'}${schema?.description ? ` — ${schema.description}` : ''}` };
    default:
      return { segments, message: err.message ?? err.keyword };
  }
}

/** Each loaded channel's YAML, so problems found after loading still name the line of their key. */
const sources = new WeakMap<ChannelDefinition, { doc: Document; lines: LineCounter }>();

/** A problem with a loaded channel's field, e.g. `['pipeline', 'map']`: at that key's line and column. */
export function problemAt(channel: ChannelDefinition, segments: (string | number)[], message: string): Problem {
  const src = sources.get(channel);
  const pos = src ? positionOf(src.doc, src.lines, segments) : { line: 1, col: 1 };
  return { file: channel.file, line: pos.line, column: pos.col, field: fieldName(segments), message };
}

export interface LoadResult {
  channel?: ChannelDefinition;
  problems: Problem[];
}

export function loadChannelText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: Problem[] = [];
  // The first syntax error is the real one; the parser's follow-on errors only add noise.
  for (const e of doc.errors.slice(0, 1)) {
    const pos = lines.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (problems.length) return { problems };

  const missing: MissingVar[] = [];
  const data = substituteEnv(doc.toJS(), env, missing) as Record<string, unknown>;
  for (const { name, segments } of missing) {
    const pos = positionOf(doc, lines, segments);
    problems.push({ file, line: pos.line, column: pos.col, field: fieldName(segments), message: `environment variable ${name} is not set and has no default` });
  }
  const validate = channelValidator();
  const valid = validate(data);
  if (!valid) {
    const seen = new Set<string>();
    for (const err of validate.errors ?? []) {
      if (err.keyword === 'if') continue; // the inner errors say what is wrong
      const { segments, message } = describeSchemaError(err);
      const pos = positionOf(doc, lines, segments);
      const problem = { file, line: pos.line, column: pos.col, field: fieldName(segments), message };
      const key = formatProblem(problem);
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
  }
  if (problems.length || !valid) return { problems };
  const names = new Set<string>();
  data.destinations.forEach((d, i) => {
    if (names.has(d.name)) {
      const pos = positionOf(doc, lines, ['destinations', i, 'name']);
      problems.push({ file, line: pos.line, column: pos.col, field: `destinations[${i}].name`, message: `duplicate destination name "${d.name}"` });
    }
    names.add(d.name);
    // Not expressible in the spec's schema without muddying its messages: one of the two must say where to send.
    if (d.type === 'mesh-folder' && !d.replyToSender && !d.toMailbox) {
      const pos = positionOf(doc, lines, ['destinations', i]);
      problems.push({ file, line: pos.line, column: pos.col, field: `destinations[${i}]`, message: 'a mesh-folder destination needs toMailbox, or replyToSender: true' });
    }
  });
  // Notices come over a MESH inbox or HTTP (POST /inbound/<channel>/notices): other sources carry none.
  if (data.notices && data.source.type !== 'mesh-folder' && data.source.type !== 'http') {
    const pos = positionOf(doc, lines, ['notices']);
    problems.push({ file, line: pos.line, column: pos.col, field: 'notices', message: `a notices channel takes its notices from a mesh-folder or http source, not ${data.source.type}` });
  }
  if (problems.length) return { problems };
  const channel: ChannelDefinition = { ...data, file };
  sources.set(channel, { doc, lines });
  return { channel, problems };
}

export function loadChannelFile(file: string, env: NodeJS.ProcessEnv = process.env): LoadResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    return { problems: [{ file, line: 0, column: 0, field: '', message: `cannot read file: ${(err as Error).message}` }] };
  }
  return loadChannelText(text, file, env);
}

/** The alert rules file's name in a channel folder. */
export const ALERT_FILE = /^alerts\.ya?ml$/;

/** Channel files in a folder (recursive), skipping mapping example cases and hidden folders. */
export function channelFiles(target: string): string[] {
  const stat = statSync(target, { throwIfNoEntry: false });
  if (!stat) return [];
  if (stat.isFile()) return [target];
  return readdirSync(target, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.'))
    .flatMap((e) => {
      const full = path.join(target, e.name);
      if (e.isDirectory()) return channelFiles(full);
      // alerts.yaml beside the channels holds alert rules (server/alerts/), not a channel.
      return /\.ya?ml$/.test(e.name) && !ALERT_FILE.test(e.name) ? [full] : [];
    })
    .sort();
}

/** Loads every channel in `dir`; problems include cross-channel conflicts (ids, ports). */
export function loadChannelFolder(dir: string, env: NodeJS.ProcessEnv = process.env): { channels: ChannelDefinition[]; problems: Problem[] } {
  const files = channelFiles(dir);
  if (!files.length) return { channels: [], problems: [{ file: dir, line: 0, column: 0, field: '', message: 'no channel files (*.yaml) found' }] };
  return loadChannels(files, env);
}

/** Loads channel files together, so clashing ids and ports between them are reported. */
export function loadChannels(files: string[], env: NodeJS.ProcessEnv = process.env): { channels: ChannelDefinition[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const channels: ChannelDefinition[] = [];
  for (const file of files) {
    const r = loadChannelFile(file, env);
    problems.push(...r.problems);
    if (r.channel) channels.push(r.channel);
  }
  const byId = new Map<string, string>();
  const byPort = new Map<number, string>();
  for (const c of channels) {
    const other = byId.get(c.id);
    if (other) problems.push(problemAt(c, ['id'], `channel id "${c.id}" is also used by ${other}`));
    byId.set(c.id, c.file);
    const port = c.source.type === 'mllp' ? c.source.port : 0;
    if (c.enabled && port) {
      const clash = byPort.get(port);
      if (clash) problems.push(problemAt(c, ['source', 'port'], `port ${port} is also used by channel ${clash}`));
      byPort.set(port, c.id);
    }
  }
  return { channels, problems };
}
