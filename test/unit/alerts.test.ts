// Alert rules (alerts.yaml): parsing, defaults and problems with file, line and field; the state
// machine on a made-up clock; silent-feed hours; the evaluator's conditions against a fake facade;
// the webhook body Teams and Slack read.
import { describe, expect, test } from '@jest/globals';
import { AlertEvaluator } from '../../server/alerts/evaluator.js';
import { webhookBody } from '../../server/alerts/notify.js';
import { builtInRules, loadAlertsText, type AlertRule } from '../../server/alerts/rules.js';
import { expectedAt, silenceCounts } from '../../server/alerts/schedule.js';
import { step, type AlertState } from '../../server/alerts/state.js';
import type { AuditEntryInput } from '../../server/audit/types.js';
import type { ChannelSummary } from '../../server/api/facade.js';
import type { ChannelActivity, ChannelStats } from '../../server/api/stats.js';

const ENV = {};
const load = (text: string, env: NodeJS.ProcessEnv = ENV) => loadAlertsText(text, 'channels/alerts.yaml', env);
const problems = (text: string) => load(text).problems.map((p) => `${p.line}:${p.column} ${p.field}: ${p.message}`);

describe('alert rules from alerts.yaml', () => {
  test('each kind gets its defaults; notify from defaults, env references substituted', () => {
    const { rules, problems: found } = load(
      `defaults:
  repeatMinutes: 30
  notify:
    webhook: \${HOOK:-}
    email: [ops@council.example]
rules:
  - name: adt-silent
    when: silent-feed
    channel: adt-in
    minutes: 20
    hours: "08:00-18:00"
    days: [mon, tue, wed, thu, fri]
  - name: dead
    when: dead-letters
    notify: { webhook: "https://hooks.example/abc" }
  - name: deep
    when: queue-depth
    repeatMinutes: 0
`,
      { HOOK: 'https://teams.example/hook/secret' },
    );
    expect(found).toEqual([]);
    const [silent, dead, deep] = rules;
    expect(silent).toMatchObject({ kind: 'silent-feed', channel: 'adt-in', minutes: 20, hours: [480, 1080], days: ['mon', 'tue', 'wed', 'thu', 'fri'], timeZone: 'Europe/London', repeatMinutes: 30, notify: { webhook: 'https://teams.example/hook/secret', email: ['ops@council.example'] }, source: 'alerts.yaml:7' });
    expect(dead).toMatchObject({ kind: 'dead-letters', over: 0, notify: { webhook: 'https://hooks.example/abc', email: [] } });
    expect(deep).toMatchObject({ kind: 'queue-depth', over: 100, forMinutes: 5, repeatMinutes: 0 });
  });

  test('problems name the line, column and field', () => {
    expect(
      problems(`rules:
  - name: a
    when: queue-deep
  - name: b
    when: dead-letters
    percent: 5
  - name: c
    when: silent-feed
    hours: "18:00-08:00"
  - name: a
    when: channel-stopped
    forMinuts: 3
`),
    ).toEqual(expect.arrayContaining([
      '3:5 rules[0].when: must be one of: queue-depth, error-rate, dead-letters, channel-stopped, silent-feed, fhir-failing, notices-overdue',
      '12:5 rules[3].forMinuts: unknown field "forMinuts" (did you mean "forMinutes"?)',
    ]));
    expect(
      problems(`rules:
  - name: b
    when: dead-letters
    percent: 5
  - name: c
    when: silent-feed
    hours: "18:00-08:00"
  - name: b
    when: channel-stopped
`),
    ).toEqual([
      '4:5 rules[0].percent: does not apply to "when: dead-letters" (it reads: channel, destination, over)',
      '5:5 rules[1]: a silent-feed rule needs "channel": the feed expected to be busy',
      '7:5 rules[1].hours: the end must be after the start, e.g. 08:00-18:00',
      '8:5 rules[2].name: duplicate rule name "b" (also rules[0])',
    ]);
  });

  test('YAML errors, missing env vars and bad days are reported, not thrown', () => {
    expect(problems('rules: [\n')[0]).toMatch(/^\d+:\d+ : YAML: /);
    expect(problems('rules:\n  - name: x\n    when: dead-letters\n    notify:\n      webhook: ${NOT_SET_HOOK}\n')).toEqual(['5:7 rules[0].notify.webhook: environment variable NOT_SET_HOOK is not set and has no default']);
    expect(problems('rules:\n  - name: x\n    when: silent-feed\n    channel: a\n    days: [monday]\n')).toEqual(['5:12 rules[0].days[0]: must be one of: mon, tue, wed, thu, fri, sat, sun']);
  });

  test('the built-in rules, when there is no alerts.yaml, notify where the environment says', () => {
    const rules = builtInRules({ TRAMLINE_ALERT_WEBHOOK_URL: 'https://hooks.example/x', TRAMLINE_ALERT_EMAIL_TO: 'a@x.example, b@x.example' });
    expect(rules.map((r) => r.kind)).toEqual(['dead-letters', 'channel-stopped', 'queue-depth', 'fhir-failing']);
    expect(rules[0].notify).toEqual({ webhook: 'https://hooks.example/x', email: ['a@x.example', 'b@x.example'] });
  });
});

describe('the state machine', () => {
  const rule = { forMinutes: 5, repeatMinutes: 60 };
  const t = (min: number) => new Date(Date.UTC(2026, 0, 5, 9, 0) + min * 60_000);
  const on = { active: true, summary: 'bad' };
  const off = { active: false, summary: 'fine' };

  test('pending for forMinutes, fires once, repeats at the interval, resolves once', () => {
    let s: AlertState = { status: 'ok' };
    const seen: string[] = [];
    const run = (min: number, c: typeof on) => {
      const r = step(rule, s, c, t(min));
      s = r.state;
      seen.push(`${min}:${s.status}${r.transition ? `:${r.transition}` : ''}`);
    };
    run(0, on);
    run(4, on);
    run(5, on);
    run(6, on);
    run(64, on);
    run(65, on);
    run(66, on);
    run(70, off);
    run(71, off);
    expect(seen).toEqual(['0:pending', '4:pending', '5:firing:fired', '6:firing', '64:firing', '65:firing:repeated', '66:firing', '70:ok:resolved', '71:ok']);
    expect(s).toMatchObject({ lastFired: t(5), lastNotified: t(70), lastResolved: t(70) });
  });

  test('a condition that clears while pending never fires; forMinutes 0 fires at once; repeat 0 never repeats', () => {
    expect(step(rule, step(rule, { status: 'ok' }, on, t(0)).state, off, t(2))).toEqual({ state: { status: 'ok', since: undefined, summary: 'fine' } });
    const fired = step({ forMinutes: 0, repeatMinutes: 0 }, { status: 'ok' }, on, t(0));
    expect(fired.transition).toBe('fired');
    expect(step({ forMinutes: 0, repeatMinutes: 0 }, fired.state, on, t(10_000)).transition).toBeUndefined();
  });
});

describe('silent-feed hours', () => {
  const rule = { hours: [8 * 60, 18 * 60] as [number, number], days: ['mon', 'tue', 'wed', 'thu', 'fri'] as AlertRule['days'], timeZone: 'Europe/London', minutes: 30 };
  test('in hours and days, in the rule’s time zone (BST in summer)', () => {
    expect(expectedAt(rule, new Date('2026-01-05T08:00:00Z'))).toBe(true); // Monday 08:00 GMT
    expect(expectedAt(rule, new Date('2026-01-05T18:00:00Z'))).toBe(false);
    expect(expectedAt(rule, new Date('2026-01-04T12:00:00Z'))).toBe(false); // Sunday
    expect(expectedAt(rule, new Date('2026-07-06T07:30:00Z'))).toBe(true); // Monday 08:30 BST
  });
  test('silence counts only when the whole look-back lies in expected hours', () => {
    expect(silenceCounts(rule, new Date('2026-01-05T08:20:00Z'))).toBe(false);
    expect(silenceCounts(rule, new Date('2026-01-05T08:30:00Z'))).toBe(true);
  });
});

describe('the evaluator', () => {
  const activity: ChannelActivity = { received: 0, rejected: 0, queued: 0, sent: 0, errored: 0, deadLettered: 0 };
  const summary: ChannelSummary = { id: 'adt-in', enabled: true, running: true, source: { type: 'mllp' }, destinations: [{ id: 'adt-in.lpres', name: 'lpres', type: 'fhir' }] };
  function fakeEngine(figures: { dead: number; errored: number; received: number; running: boolean }) {
    return {
      channels: () => [{ ...summary, running: figures.running }],
      channelStats: async (): Promise<ChannelStats> => ({
        channel: 'adt-in', received: 0, rejected: 0, backlog: 0, queued: 0, sent: 0, filtered: 0, errored: figures.errored, deadLettered: figures.dead,
        destinations: { 'adt-in.lpres': { queued: 0, sent: 0, filtered: 0, errored: figures.errored, deadLettered: figures.dead } },
      }),
      channelActivity: async (): Promise<ChannelActivity> => ({ ...activity, received: figures.received }),
    };
  }

  test('fires and resolves each rule once, audited without content; the console sees the state', async () => {
    const figures = { dead: 0, errored: 0, received: 1, running: true };
    const audited: AuditEntryInput[] = [];
    let now = new Date('2026-01-05T10:00:00Z');
    const { rules } = load(`rules:
  - { name: dead, when: dead-letters, channel: adt-in }
  - { name: fhir, when: fhir-failing, forMinutes: 0 }
  - { name: stopped, when: channel-stopped }
  - { name: silent, when: silent-feed, channel: adt-in, minutes: 30 }
`);
    const evaluator = new AlertEvaluator({ rules, engine: fakeEngine(figures), audit: { record: async (e) => void audited.push(e) }, env: {}, now: () => now });
    await evaluator.evaluate();
    expect(evaluator.summary()).toMatchObject({ firing: [], pending: 0, rules: 4 });
    Object.assign(figures, { dead: 2, errored: 1, received: 0, running: false });
    now = new Date('2026-01-05T10:01:00Z');
    await evaluator.evaluate();
    await evaluator.evaluate();
    expect(evaluator.summary().firing.map((v) => v.rule.name)).toEqual(['dead', 'fhir', 'stopped', 'silent']);
    expect(audited.map((e) => `${e.action} ${e.target} ${String(e.detail?.summary)}`)).toEqual([
      'alert.fired dead dead letters: adt-in.lpres 2',
      'alert.fired fhir FHIR deliveries failing: adt-in.lpres 1 retrying',
      'alert.fired stopped stopped: adt-in',
      'alert.fired silent no message on adt-in for 30 min',
    ]);
    Object.assign(figures, { dead: 0, errored: 0, received: 3, running: true });
    await evaluator.evaluate();
    expect(audited.slice(4).map((e) => `${e.action} ${e.target}`)).toEqual(['alert.resolved dead', 'alert.resolved fhir', 'alert.resolved stopped', 'alert.resolved silent']);
    expect(evaluator.views().every((v) => v.state.status === 'ok' && v.state.lastFired && v.state.lastResolved)).toBe(true);

    // Redeployed rules: one kept by name keeps its state (and does not fire again), a new one starts at ok.
    Object.assign(figures, { dead: 1 });
    await evaluator.evaluate();
    evaluator.setRules([rules[0], { ...rules[1], name: 'fhir-2' }]);
    expect(evaluator.views().map((v) => `${v.rule.name} ${v.state.status}`)).toEqual(['dead firing', 'fhir-2 ok']);
    const before = audited.length;
    await evaluator.evaluate();
    expect(audited.slice(before).map((e) => `${e.action} ${e.target}`)).toEqual([]);
    await evaluator.stop();
  });
});

test('the webhook body: `text` for Teams and Slack, structured fields for anything else', () => {
  const [rule] = builtInRules({});
  const at = new Date('2026-01-05T10:00:00Z');
  const body = webhookBody({ rule, transition: 'fired', state: { status: 'firing', since: at, summary: 'dead letters: adt-in.inbox 3' }, at, consoleUrl: 'https://tramline.example.org' });
  expect(body.text).toBe('[Tramline] FIRING: dead-letters (dead-letters) - dead letters: adt-in.inbox 3\nDeliveries were given up. Fix the destination, then replay the dead letters.\nhttps://tramline.example.org/alerts');
  expect(body.alert).toEqual({ rule: 'dead-letters', kind: 'dead-letters', status: 'firing', transition: 'fired', summary: 'dead letters: adt-in.inbox 3', since: at.toISOString(), at: at.toISOString(), console: 'https://tramline.example.org/alerts' });
});

describe('notices-overdue', () => {
  test('its fields and defaults; a wrong notice type or a field of another kind is a problem', () => {
    const { rules, problems: found } = load(`rules:
  - { name: overdue, when: notices-overdue }
  - { name: discharges, when: notices-overdue, channel: hospital-notices, type: discharge, minCount: 3, repeatMinutes: 15 }
`);
    expect(found).toEqual([]);
    expect(rules[0]).toMatchObject({ kind: 'notices-overdue', minCount: 1, forMinutes: 0 });
    expect(rules[0].noticeType).toBeUndefined();
    expect(rules[1]).toMatchObject({ kind: 'notices-overdue', channel: 'hospital-notices', noticeType: 'discharge', minCount: 3, repeatMinutes: 15 });
    expect(
      problems(`rules:
  - { name: a, when: notices-overdue, type: admission }
  - { name: b, when: dead-letters, minCount: 2 }
`),
    ).toEqual(['2:39 rules[0].type: must be one of: assessment, discharge, withdrawal']);
    expect(problems(`rules:\n  - { name: b, when: dead-letters, minCount: 2 }\n`)).toEqual(['2:36 rules[0].minCount: does not apply to "when: dead-letters" (it reads: channel, destination, over)']);
  });

  test('fires at minCount overdue notices with their ids only, resolves when fewer; the webhook links the overdue notices', async () => {
    const listed: unknown[] = [];
    let overdue: { id: string }[] = [];
    const engine = {
      channels: () => [],
      channelStats: async () => { throw new Error('not read'); },
      channelActivity: async () => { throw new Error('not read'); },
      notices: {
        countAwaiting: async (filter: unknown, now: Date) => (listed.push({ filter, now }), { awaiting: overdue.length + 5, overdue: overdue.length }),
        list: async (filter: { limit: number }) => overdue.slice(0, filter.limit),
      },
    } as unknown as ConstructorParameters<typeof AlertEvaluator>[0]['engine'];
    const audited: AuditEntryInput[] = [];
    const now = new Date('2026-01-05T10:00:00Z');
    const { rules } = load(`rules:\n  - { name: overdue, when: notices-overdue, channel: hospital-notices, type: discharge, minCount: 2 }\n`);
    const evaluator = new AlertEvaluator({ rules, engine, audit: { record: async (e) => void audited.push(e) }, env: {}, now: () => now });
    overdue = [{ id: 'n-1' }];
    await evaluator.evaluate();
    expect(evaluator.summary().firing).toEqual([]);
    expect(listed[0]).toEqual({ filter: { channel: 'hospital-notices', type: 'discharge' }, now });
    overdue = [{ id: 'n-1' }, { id: 'n-2' }, { id: 'n-3' }, { id: 'n-4' }];
    await evaluator.evaluate();
    overdue = [];
    await evaluator.evaluate();
    expect(audited.map((e) => `${e.action} ${String(e.detail?.summary)}`)).toEqual([
      'alert.fired 4 discharge notices overdue on hospital-notices: n-1, n-2, n-3 and 1 more',
      'alert.resolved no discharge notice overdue',
    ]);
    const body = webhookBody({ rule: rules[0], transition: 'fired', state: { status: 'firing', since: now, summary: 's' }, at: now, consoleUrl: 'https://tramline.example.org' });
    expect(body.text).toBe('[Tramline] FIRING: overdue (notices-overdue) - s\nhttps://tramline.example.org/notices?state=overdue&type=discharge&channel=hospital-notices');
    expect(body.alert).toMatchObject({ kind: 'notices-overdue', noticeType: 'discharge', channel: 'hospital-notices', console: 'https://tramline.example.org/notices?state=overdue&type=discharge&channel=hospital-notices' });
    await evaluator.stop();
  });
});
