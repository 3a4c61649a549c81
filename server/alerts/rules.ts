// Alert rules: what they look like in `alerts.yaml` beside the channel files, their defaults,
// and the loader that reports each problem with file, line and field like the channel loader.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Type, type Static } from '@sinclair/typebox';
import { Ajv, type ValidateFunction } from 'ajv';
import { LineCounter, parseDocument } from 'yaml';
import { describeSchemaError, fieldName, positionOf, substituteEnv, type MissingVar, type Problem } from '../../channels/load.js';

export const ALERT_KINDS = ['queue-depth', 'error-rate', 'dead-letters', 'channel-stopped', 'silent-feed', 'fhir-failing', 'notices-overdue'] as const;
export const NOTICE_ALERT_TYPES = ['assessment', 'discharge', 'withdrawal'] as const;
export type AlertKind = (typeof ALERT_KINDS)[number];
export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

const notifySchema = Type.Object(
  {
    webhook: Type.Optional(Type.String({ description: 'URL of an incoming webhook (Teams, Slack or any JSON receiver); "" for none.' })),
    email: Type.Optional(Type.Array(Type.String({ pattern: '^[^@\\s]+@[^@\\s]+$' }), { description: 'E-mail addresses (sent over TRAMLINE_SMTP_URL).' })),
  },
  { additionalProperties: false, description: 'Where notifications go.' },
);

const ruleSchema = Type.Object(
  {
    name: Type.String({ pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'Unique name of the rule (lower case, digits, dashes).' }),
    when: Type.Union(ALERT_KINDS.map((k) => Type.Literal(k)), { description: `What the rule watches: ${ALERT_KINDS.join(', ')}.` }),
    description: Type.Optional(Type.String({ description: 'What to do when it fires (shown in the console and notifications).' })),
    channel: Type.Optional(Type.String({ description: 'Channel id (default: every channel).' })),
    destination: Type.Optional(Type.String({ description: 'Destination name within the channel (default: every destination).' })),
    over: Type.Optional(Type.Integer({ minimum: 0, description: 'Fires when the count is over this.' })),
    forMinutes: Type.Optional(Type.Number({ minimum: 0, description: 'The condition must hold this long before the rule fires.' })),
    percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: 'error-rate: fires when more than this percentage of messages failed.' })),
    minutes: Type.Optional(Type.Number({ exclusiveMinimum: 0, description: 'The window looked back over.' })),
    minMessages: Type.Optional(Type.Integer({ minimum: 1, description: 'error-rate: messages needed in the window before a rate counts.' })),
    hours: Type.Optional(Type.String({ pattern: '^([01]\\d|2[0-3]):[0-5]\\d-([01]\\d|2[0-4]):[0-5]\\d$', description: 'silent-feed: when messages are expected, e.g. 08:00-18:00 (default all day).' })),
    days: Type.Optional(Type.Array(Type.Union(WEEKDAYS.map((d) => Type.Literal(d))), { minItems: 1, description: 'silent-feed: days messages are expected (default every day).' })),
    timeZone: Type.Optional(Type.String({ description: 'silent-feed: time zone of hours and days (default Europe/London).' })),
    type: Type.Optional(Type.Union(NOTICE_ALERT_TYPES.map((t) => Type.Literal(t)), { description: `notices-overdue: only this notice type (${NOTICE_ALERT_TYPES.join(', ')}; default every type).` })),
    minCount: Type.Optional(Type.Integer({ minimum: 1, description: 'notices-overdue: fires when at least this many notices are overdue (default 1).' })),
    repeatMinutes: Type.Optional(Type.Number({ minimum: 0, description: 'Notify again this often while firing (0: never).' })),
    notify: Type.Optional(notifySchema),
  },
  { additionalProperties: false },
);

const fileSchema = Type.Object(
  {
    defaults: Type.Optional(
      Type.Object(
        {
          repeatMinutes: Type.Optional(Type.Number({ minimum: 0, description: 'Notify again this often while firing (0: never).' })),
          notify: Type.Optional(notifySchema),
        },
        { additionalProperties: false },
      ),
    ),
    rules: Type.Array(ruleSchema, { description: 'The alert rules.' }),
  },
  { additionalProperties: false },
);

type RuleData = Static<typeof ruleSchema>;
type FileData = Static<typeof fileSchema>;

/** Which optional fields each kind reads, and their defaults. */
const FIELDS: Record<AlertKind, Partial<Record<keyof RuleData, unknown>>> = {
  'queue-depth': { channel: undefined, destination: undefined, over: 100, forMinutes: 5 },
  'error-rate': { channel: undefined, percent: 10, minutes: 15, minMessages: 10 },
  'dead-letters': { channel: undefined, destination: undefined, over: 0 },
  'channel-stopped': { channel: undefined, forMinutes: 0 },
  'silent-feed': { channel: undefined, minutes: 60, hours: undefined, days: undefined, timeZone: 'Europe/London' },
  'fhir-failing': { channel: undefined, destination: undefined, forMinutes: 5 },
  'notices-overdue': { channel: undefined, type: undefined, minCount: 1, forMinutes: 0 },
};
const COMMON = new Set(['name', 'when', 'description', 'repeatMinutes', 'notify']);

export interface Notify {
  /** Never logged or shown in full: incoming-webhook URLs are secrets. */
  webhook?: string;
  email: string[];
}

export interface AlertRule {
  name: string;
  kind: AlertKind;
  description?: string;
  channel?: string;
  destination?: string;
  over: number;
  forMinutes: number;
  percent: number;
  minutes: number;
  minMessages: number;
  /** Minutes after local midnight, [from, to). */
  hours?: [number, number];
  days?: Weekday[];
  timeZone: string;
  /** notices-overdue: the notice type watched (default every type). */
  noticeType?: (typeof NOTICE_ALERT_TYPES)[number];
  /** notices-overdue: overdue notices needed to fire. */
  minCount: number;
  repeatMinutes: number;
  notify: Notify;
  /** alerts.yaml and the rule's line, or `built-in`. */
  source: string;
}

export const DEFAULT_REPEAT_MINUTES = 60;

function minutesOf(hhmm: string): number {
  const [h, m] = hhmm.split(':').map(Number);
  return h * 60 + m;
}

function notifyFrom(n: { webhook?: string; email?: string[] } | undefined, env: NodeJS.ProcessEnv): Notify {
  const webhook = n?.webhook ?? env.TRAMLINE_ALERT_WEBHOOK_URL ?? '';
  const email = n?.email ?? (env.TRAMLINE_ALERT_EMAIL_TO ? env.TRAMLINE_ALERT_EMAIL_TO.split(',').map((s) => s.trim()).filter(Boolean) : []);
  return { ...(webhook ? { webhook } : {}), email };
}

function ruleFrom(r: RuleData, defaults: FileData['defaults'], env: NodeJS.ProcessEnv, source: string): AlertRule {
  const d = FIELDS[r.when];
  const pick = <T>(k: keyof RuleData, fallback: T): T => ((r[k] ?? d[k] ?? fallback) as T);
  return {
    name: r.name,
    kind: r.when,
    ...(r.description ? { description: r.description } : {}),
    ...(r.channel ? { channel: r.channel } : {}),
    ...(r.destination ? { destination: r.destination } : {}),
    over: pick('over', 0),
    forMinutes: pick('forMinutes', 0),
    percent: pick('percent', 10),
    minutes: pick('minutes', 60),
    minMessages: pick('minMessages', 1),
    ...(r.hours ? { hours: r.hours.split('-').map(minutesOf) as [number, number] } : {}),
    ...(r.days ? { days: r.days } : {}),
    timeZone: pick('timeZone', 'Europe/London'),
    ...(r.type ? { noticeType: r.type } : {}),
    minCount: pick('minCount', 1),
    repeatMinutes: r.repeatMinutes ?? defaults?.repeatMinutes ?? DEFAULT_REPEAT_MINUTES,
    notify: notifyFrom(r.notify ?? defaults?.notify, env),
    source,
  };
}

/** The rules used when a channel folder has no alerts.yaml: problems every engine wants to hear about. */
export function builtInRules(env: NodeJS.ProcessEnv = process.env): AlertRule[] {
  const rules: RuleData[] = [
    { name: 'dead-letters', when: 'dead-letters', description: 'Deliveries were given up. Fix the destination, then replay the dead letters.' },
    { name: 'channel-stopped', when: 'channel-stopped', description: 'An enabled channel is not receiving. Start it from the console or the API.' },
    { name: 'queue-backlog', when: 'queue-depth', over: 1000, forMinutes: 10, description: 'Messages are waiting longer than usual for a destination.' },
    { name: 'fhir-failing', when: 'fhir-failing', description: 'Deliveries to the shared care record are failing and being retried.' },
  ];
  return rules.map((r) => ruleFrom(r, undefined, env, 'built-in'));
}

let validator: ValidateFunction<FileData> | undefined;

export interface AlertsLoad {
  rules: AlertRule[];
  /** The file read, when there was one. */
  file?: string;
  problems: Problem[];
}

export function alertsFileIn(channelsDir: string): string | undefined {
  return ['alerts.yaml', 'alerts.yml'].map((f) => path.join(channelsDir, f)).find((f) => existsSync(f));
}

export function loadAlertsText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): AlertsLoad {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const problems: Problem[] = [];
  const at = (segments: (string | number)[], message: string): Problem => {
    const pos = positionOf(doc, lines, segments);
    return { file, line: pos.line, column: pos.col, field: fieldName(segments), message };
  };
  for (const e of doc.errors.slice(0, 1)) {
    const pos = lines.linePos(e.pos[0]);
    problems.push({ file, line: pos.line, column: pos.col, field: '', message: `YAML: ${e.message.split('\n')[0]}` });
  }
  if (problems.length) return { rules: [], file, problems };
  const missing: MissingVar[] = [];
  const data = substituteEnv(doc.toJS() ?? {}, env, missing) as FileData;
  for (const m of missing) problems.push(at(m.segments, `environment variable ${m.name} is not set and has no default`));
  validator ??= new Ajv({ allErrors: true, strict: false, verbose: true }).compile<FileData>(fileSchema);
  if (!validator(data)) {
    const seen = new Set<string>();
    for (const err of validator.errors ?? []) {
      // A union of literals reports each literal; one "must be one of" says it all.
      if (err.keyword === 'const' || (err.keyword === 'anyOf' && /\/(when|type|days\/\d+)$/.test(err.instancePath))) {
        const what = /\/when$/.test(err.instancePath) ? ALERT_KINDS : /\/type$/.test(err.instancePath) ? NOTICE_ALERT_TYPES : WEEKDAYS;
        const p = at(pathOf(err.instancePath), `must be one of: ${what.join(', ')}`);
        if (!seen.has(p.field)) problems.push(p);
        seen.add(p.field);
        continue;
      }
      const { segments, message } = describeSchemaError(err);
      const p = at(segments, message);
      if (!seen.has(`${p.field}:${p.message}`)) problems.push(p);
      seen.add(`${p.field}:${p.message}`);
    }
    return { rules: [], file, problems };
  }
  const names = new Map<string, number>();
  data.rules.forEach((r, i) => {
    for (const key of Object.keys(r)) {
      if (!COMMON.has(key) && !(key in FIELDS[r.when])) problems.push(at(['rules', i, key], `does not apply to "when: ${r.when}" (it reads: ${Object.keys(FIELDS[r.when]).join(', ')})`));
    }
    if (r.when === 'silent-feed' && !r.channel) problems.push(at(['rules', i], 'a silent-feed rule needs "channel": the feed expected to be busy'));
    if (r.destination && !r.channel) problems.push(at(['rules', i, 'destination'], '"destination" needs "channel" (destination names are per channel)'));
    if (r.timeZone && !validTimeZone(r.timeZone)) problems.push(at(['rules', i, 'timeZone'], `unknown time zone "${r.timeZone}" (e.g. Europe/London)`));
    if (r.hours) {
      const [from, to] = r.hours.split('-').map(minutesOf);
      if (from >= to) problems.push(at(['rules', i, 'hours'], 'the end must be after the start, e.g. 08:00-18:00'));
    }
    const first = names.get(r.name);
    if (first !== undefined) problems.push(at(['rules', i, 'name'], `duplicate rule name "${r.name}" (also rules[${first}])`));
    else names.set(r.name, i);
  });
  if (problems.length) return { rules: [], file, problems };
  const rules = data.rules.map((r, i) => ruleFrom(r, data.defaults, env, `${path.basename(file)}:${positionOf(doc, lines, ['rules', i]).line}`));
  return { rules, file, problems };
}

function pathOf(instancePath: string): (string | number)[] {
  return instancePath
    .split('/')
    .slice(1)
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The channel folder's alerts.yaml, or the built-in rules when it has none. */
export function loadAlerts(channelsDir: string, env: NodeJS.ProcessEnv = process.env): AlertsLoad {
  const file = alertsFileIn(channelsDir);
  if (!file) return { rules: builtInRules(env), problems: [] };
  return loadAlertsText(readFileSync(file, 'utf8'), file, env);
}

/** Rules naming a channel or destination that is not deployed, or watching notices on a channel that takes none. */
export function checkAlertTargets(load: AlertsLoad, channels: { id: string; destinations: { name: string }[]; notices?: unknown }[]): Problem[] {
  if (!load.file) return [];
  const text = readFileSync(load.file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  const problems: Problem[] = [];
  load.rules.forEach((r, i) => {
    if (!r.channel) return;
    const c = channels.find((x) => x.id === r.channel);
    const where = (field: string) => {
      const pos = positionOf(doc, lines, ['rules', i, field]);
      return { file: load.file!, line: pos.line, column: pos.col, field: `rules[${i}].${field}` };
    };
    if (!c) problems.push({ ...where('channel'), message: `no channel "${r.channel}" (channels: ${channels.map((x) => x.id).join(', ') || 'none'})` });
    else if (r.destination && !c.destinations.some((d) => d.name === r.destination)) problems.push({ ...where('destination'), message: `channel "${c.id}" has no destination "${r.destination}"` });
    else if (r.kind === 'notices-overdue' && !c.notices) problems.push({ ...where('channel'), message: `channel "${c.id}" takes no notices (it has no "notices" block)` });
  });
  return problems;
}
