// docs/prometheus-alerts.yml: each rule is well formed and its expression reads only metrics the
// engine exports (server/metrics.ts's registry), or Prometheus's own `up`. promtool is not at
// hand, so the expressions are tokenised here: identifiers not followed by `(` and outside label
// matchers, `by (...)`, `on (...)` and strings are metric names.
import { describe, expect, test } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { EngineMetrics } from '../../server/metrics.js';

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const file = fileURLToPath(new URL('../../docs/prometheus-alerts.yml', import.meta.url));
const rules = (parse(readFileSync(file, 'utf8')) as { groups: { name: string; rules: Rule[] }[] }).groups.flatMap((g) => g.rules);

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'le']);

/** Metric names an expression reads (as series selectors). */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ''); // label lists
  const names: string[] = [];
  for (const m of stripped.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*/g)) {
    const word = m[0];
    const after = stripped.slice(m.index + word.length);
    // Functions are followed by `(`; the `e` of 1e-9 by a digit before it.
    if (/^\s*\(/.test(after) || /[0-9.]$/.test(stripped.slice(0, m.index)) || KEYWORDS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

async function exported(): Promise<Set<string>> {
  // An engine with a notices channel, as the TramlineNoticesOverdue rule assumes.
  const metrics = new EngineMetrics({
    channels: [{ id: 'adt-in', destinations: ['adt-in.inbox'] }],
    depth: async () => 0,
    noticeChannels: ['notices'],
    overdueNotices: async () => 0,
  });
  // A histogram's series appear with its first observation (the engine's first delivery).
  metrics.latency.observe({ channel: 'adt-in', destination: 'adt-in.inbox' }, 0.1);
  const text = await metrics.metrics();
  return new Set([...text.matchAll(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{| )/gm)].map((m) => m[1]));
}

describe('docs/prometheus-alerts.yml', () => {
  test('the tokeniser finds the metrics in an expression and nothing else', () => {
    expect(metricNames('sum by (channel) (rate(a_total{x="y"}[5m])) / clamp_min(b, 1e-9) > 0.1 and on() (hour() >= 9)')).toEqual(['a_total', 'b']);
  });

  test('every rule has a name, an expression, a severity and a summary', () => {
    expect(rules.length).toBeGreaterThanOrEqual(6);
    for (const r of rules) {
      expect(r.alert).toMatch(/^Tramline[A-Za-z]+$/);
      expect(typeof r.expr).toBe('string');
      expect(['warning', 'critical']).toContain(r.labels?.severity);
      expect(r.annotations?.summary).toBeTruthy();
      if (r.for) expect(r.for).toMatch(/^\d+[smh]$/);
      expect(r.expr.split('(').length).toBe(r.expr.split(')').length);
    }
  });

  test('each expression reads only metrics the engine exports', async () => {
    const names = await exported();
    for (const r of rules) {
      const used = metricNames(r.expr).filter((n) => n !== 'up');
      if (r.alert !== 'TramlineDown') expect(used.length).toBeGreaterThan(0);
      for (const n of used) expect(`${r.alert}: ${n} ${names.has(n) ? 'exported' : 'not exported'}`).toBe(`${r.alert}: ${n} exported`);
    }
  });
});
