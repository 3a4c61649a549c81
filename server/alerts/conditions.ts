// Whether a rule's condition holds now, read through the API's facade (the figures the
// dashboard shows). Summaries carry ids and counts only, never message content.
import type { ChannelSummary, EngineFacade } from '../api/facade.js';
import type { AlertRule } from './rules.js';
import { silenceCounts } from './schedule.js';
import type { Condition } from './state.js';

export type AlertSources = Pick<EngineFacade, 'channels' | 'channelStats' | 'channelActivity' | 'notices'>;

/** Overdue notices named in an alert's summary (the count covers them all). */
const OVERDUE_NAMED = 3;

function channelsOf(rule: AlertRule, engine: AlertSources): ChannelSummary[] {
  return engine.channels().filter((c) => c.enabled && (!rule.channel || c.id === rule.channel));
}

/** Per destination of the rule's channels: its id and figures now. */
async function destinationFigures(rule: AlertRule, engine: AlertSources, type?: string) {
  const out: { id: string; queued: number; errored: number; deadLettered: number }[] = [];
  for (const c of channelsOf(rule, engine)) {
    const wanted = c.destinations.filter((d) => (!rule.destination || d.name === rule.destination) && (!type || d.type === type));
    if (!wanted.length) continue;
    const stats = await engine.channelStats(c.id);
    for (const d of wanted) {
      const s = stats.destinations[d.id];
      if (s) out.push({ id: d.id, queued: s.queued, errored: s.errored, deadLettered: s.deadLettered });
    }
  }
  return out;
}

const listed = (items: string[]) => (items.length > 3 ? `${items.slice(0, 3).join(', ')} and ${items.length - 3} more` : items.join(', '));

export async function evaluateCondition(rule: AlertRule, engine: AlertSources, now: Date): Promise<Condition> {
  switch (rule.kind) {
    case 'queue-depth': {
      const over = (await destinationFigures(rule, engine)).filter((d) => d.queued > rule.over);
      return { active: over.length > 0, summary: over.length ? `queue depth over ${rule.over}: ${listed(over.map((d) => `${d.id} ${d.queued}`))}` : `every queue at or under ${rule.over}` };
    }
    case 'dead-letters': {
      const over = (await destinationFigures(rule, engine)).filter((d) => d.deadLettered > rule.over);
      return { active: over.length > 0, summary: over.length ? `dead letters: ${listed(over.map((d) => `${d.id} ${d.deadLettered}`))}` : `dead letters at or under ${rule.over}` };
    }
    case 'fhir-failing': {
      const failing = (await destinationFigures(rule, engine, 'fhir')).filter((d) => d.errored > 0);
      return { active: failing.length > 0, summary: failing.length ? `FHIR deliveries failing: ${listed(failing.map((d) => `${d.id} ${d.errored} retrying`))}` : 'FHIR deliveries succeeding' };
    }
    case 'channel-stopped': {
      const stopped = channelsOf(rule, engine).filter((c) => !c.running);
      return { active: stopped.length > 0, summary: stopped.length ? `stopped: ${listed(stopped.map((c) => c.id))}` : 'every channel running' };
    }
    case 'error-rate': {
      const since = new Date(now.getTime() - rule.minutes * 60_000);
      const high: string[] = [];
      for (const c of channelsOf(rule, engine)) {
        const a = await engine.channelActivity(c.id, since);
        const failed = a.rejected + a.errored + a.deadLettered;
        if (a.received >= rule.minMessages && (failed / a.received) * 100 > rule.percent) high.push(`${c.id} ${failed}/${a.received}`);
      }
      return { active: high.length > 0, summary: high.length ? `over ${rule.percent}% failed in ${rule.minutes} min: ${listed(high)}` : `error rate at or under ${rule.percent}%` };
    }
    case 'notices-overdue': {
      // Counts and notice ids (MessageHeader ids) only: never the person, hospital ward or free text.
      if (!engine.notices) return { active: false, summary: 'this engine keeps no notices' };
      const filter = { ...(rule.channel ? { channel: rule.channel } : {}), ...(rule.noticeType ? { type: rule.noticeType } : {}) };
      const { overdue } = await engine.notices.countAwaiting(filter, now);
      const type = rule.noticeType ? `${rule.noticeType} ` : '';
      if (!overdue) return { active: false, summary: `no ${type}notice overdue` };
      const named = await engine.notices.list({ ...filter, state: 'overdue', limit: OVERDUE_NAMED }, now);
      const more = overdue > named.length ? ` and ${overdue - named.length} more` : '';
      return { active: overdue >= rule.minCount, summary: `${overdue} ${type}notice${overdue === 1 ? '' : 's'} overdue${rule.channel ? ` on ${rule.channel}` : ''}: ${named.map((n) => n.id).join(', ')}${more}` };
    }
    case 'silent-feed': {
      if (!silenceCounts(rule, now)) return { active: false, summary: 'outside the hours messages are expected' };
      const c = channelsOf(rule, engine)[0];
      if (!c) return { active: false, summary: `channel ${rule.channel} not deployed` };
      const a = await engine.channelActivity(c.id, new Date(now.getTime() - rule.minutes * 60_000));
      return { active: a.received === 0, summary: a.received ? `${a.received} message(s) in the last ${rule.minutes} min` : `no message on ${c.id} for ${rule.minutes} min` };
    }
  }
}
