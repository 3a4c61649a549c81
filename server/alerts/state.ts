// One rule's state over time: ok → pending (condition holds, waiting out forMinutes) → firing
// (notified once) → repeated every repeatMinutes while it holds → resolved (notified once) → ok.
// Pure, so it is tested with a made-up clock.
import type { AlertRule } from './rules.js';

export type AlertStatus = 'ok' | 'pending' | 'firing';
export type Transition = 'fired' | 'repeated' | 'resolved';

export interface AlertState {
  status: AlertStatus;
  /** When the condition began to hold (pending and firing). */
  since?: Date;
  /** The condition in words (counts, ids; never content). */
  summary?: string;
  lastFired?: Date;
  lastResolved?: Date;
  lastNotified?: Date;
}

export interface Condition {
  active: boolean;
  summary: string;
}

export function step(rule: Pick<AlertRule, 'forMinutes' | 'repeatMinutes'>, state: AlertState, condition: Condition, now: Date): { state: AlertState; transition?: Transition } {
  if (!condition.active) {
    if (state.status === 'firing') return { state: { ...state, status: 'ok', since: undefined, summary: condition.summary, lastResolved: now, lastNotified: now }, transition: 'resolved' };
    return { state: { ...state, status: 'ok', since: undefined, summary: condition.summary } };
  }
  const since = state.status === 'ok' ? now : (state.since ?? now);
  if (state.status === 'firing') {
    const due = rule.repeatMinutes > 0 && now.getTime() - (state.lastNotified ?? since).getTime() >= rule.repeatMinutes * 60_000;
    return due ? { state: { ...state, summary: condition.summary, lastNotified: now }, transition: 'repeated' } : { state: { ...state, summary: condition.summary } };
  }
  if (now.getTime() - since.getTime() >= rule.forMinutes * 60_000) {
    return { state: { ...state, status: 'firing', since, summary: condition.summary, lastFired: now, lastNotified: now }, transition: 'fired' };
  }
  return { state: { ...state, status: 'pending', since, summary: condition.summary } };
}
