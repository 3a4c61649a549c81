// Runs in the engine process: every interval, each rule's condition is read through the API's
// facade and stepped through its state (state.ts). A transition (fired, repeated, resolved) is
// audited and notified once; notifications run beside the next evaluations and are waited for
// on stop.
import { log } from '../../core/logger.js';
import type { AuditEntryInput } from '../audit/types.js';
import { ENGINE_ACTOR } from '../audit/message-audit.js';
import { evaluateCondition, type AlertSources } from './conditions.js';
import { postWebhook, sendEmail, smtpSettings, webhookHost, type AlertNotice, type NotifyOptions, type SmtpSettings } from './notify.js';
import type { AlertRule } from './rules.js';
import { step, type AlertState, type Transition } from './state.js';

export interface AlertView {
  rule: AlertRule;
  state: AlertState;
  /** Where notifications go, safe to show (webhook host, addresses). */
  targets: string[];
  lastNotifyError?: string;
}

export interface AlertsSummary {
  firing: AlertView[];
  pending: number;
  rules: number;
}

/** What the console reads. */
export interface AlertsReader {
  views(): AlertView[];
  summary(): AlertsSummary;
}

export interface AlertEvaluatorOptions {
  rules: AlertRule[];
  engine: AlertSources;
  audit: { record(entry: AuditEntryInput): Promise<void> };
  env: NodeJS.ProcessEnv;
  consoleUrl?: string;
  intervalMs?: number;
  notify?: NotifyOptions;
  now?: () => Date;
}

export function alertIntervalMs(env: NodeJS.ProcessEnv): number {
  const s = Number(env.TRAMLINE_ALERT_INTERVAL_SECONDS);
  return Number.isFinite(s) && s > 0 ? s * 1000 : 30_000;
}

export class AlertEvaluator implements AlertsReader {
  private rules: AlertRule[];
  private readonly states = new Map<string, AlertState>();
  private readonly notifyErrors = new Map<string, string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly smtp: SmtpSettings | undefined;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(private readonly o: AlertEvaluatorOptions) {
    this.smtp = smtpSettings(o.env);
    this.rules = o.rules;
    for (const r of o.rules) this.states.set(r.name, { status: 'ok' });
  }

  /** New rules (a redeploy): a rule kept by name keeps its state, so it does not fire again. */
  setRules(rules: AlertRule[]): void {
    const names = new Set(rules.map((r) => r.name));
    for (const name of [...this.states.keys()]) if (!names.has(name)) this.states.delete(name);
    for (const r of rules) if (!this.states.has(r.name)) this.states.set(r.name, { status: 'ok' });
    this.rules = rules;
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.evaluate()
        .catch((err: unknown) => log.error({ reason: (err as Error)?.message }, 'alert evaluation failed'))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.timer = setTimeout(tick, this.o.intervalMs ?? 30_000);
        });
    };
    this.timer = setTimeout(tick, Math.min(this.o.intervalMs ?? 30_000, 1000));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.allSettled([...this.inFlight]);
  }

  /** One pass over every rule. */
  async evaluate(): Promise<void> {
    const now = this.o.now?.() ?? new Date();
    for (const rule of this.rules) {
      const condition = await evaluateCondition(rule, this.o.engine, now);
      const { state, transition } = step(rule, this.states.get(rule.name) ?? { status: 'ok' }, condition, now);
      this.states.set(rule.name, state);
      if (transition) await this.transitioned(rule, state, transition, now);
    }
  }

  private async transitioned(rule: AlertRule, state: AlertState, transition: Transition, at: Date): Promise<void> {
    log.warn({ alert: rule.name, kind: rule.kind, transition, summary: state.summary }, `alert ${transition}`);
    await this.o.audit.record({
      category: 'system',
      action: `alert.${transition}`,
      outcome: 'success',
      actor: ENGINE_ACTOR,
      target: rule.name,
      detail: { kind: rule.kind, summary: state.summary, ...(rule.channel ? { channel: rule.channel } : {}), ...(rule.destination ? { destination: rule.destination } : {}) },
    });
    const notice: AlertNotice = { rule, transition, state, at, ...(this.o.consoleUrl ? { consoleUrl: this.o.consoleUrl } : {}) };
    const p = this.notify(notice).finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async notify(n: AlertNotice): Promise<void> {
    const failures: string[] = [];
    const { webhook } = n.rule.notify;
    if (webhook) await postWebhook(webhook, n, this.o.notify).catch((err: unknown) => failures.push(`webhook ${webhookHost(webhook)}: ${(err as Error).message}`));
    const to = this.recipients(n.rule);
    if (to.length && this.smtp) await sendEmail(this.smtp, to, n, this.o.notify).catch((err: unknown) => failures.push(`e-mail: ${(err as Error).message}`));
    if (to.length && !this.smtp) failures.push('e-mail: TRAMLINE_SMTP_URL is not set');
    if (!failures.length) return void this.notifyErrors.delete(n.rule.name);
    // Messages from fetch and nodemailer name hosts and codes, not the URL's path or credentials.
    const reason = failures.join('; ');
    this.notifyErrors.set(n.rule.name, reason);
    log.error({ alert: n.rule.name, reason }, 'alert notification failed');
    await this.o.audit.record({ category: 'system', action: 'alert.notify', outcome: 'failure', actor: ENGINE_ACTOR, target: n.rule.name, detail: { transition: n.transition, reason } }).catch(() => undefined);
  }

  private recipients(rule: AlertRule): string[] {
    return rule.notify.email.length ? rule.notify.email : (this.smtp?.to ?? []);
  }

  views(): AlertView[] {
    return this.rules.map((rule) => {
      const to = this.recipients(rule);
      const targets = [...(rule.notify.webhook ? [`webhook ${webhookHost(rule.notify.webhook)}`] : []), ...(to.length ? [`e-mail ${to.join(', ')}`] : [])];
      const error = this.notifyErrors.get(rule.name);
      return { rule, state: this.states.get(rule.name) ?? { status: 'ok' }, targets, ...(error ? { lastNotifyError: error } : {}) };
    });
  }

  summary(): AlertsSummary {
    const views = this.views();
    return { firing: views.filter((v) => v.state.status === 'firing'), pending: views.filter((v) => v.state.status === 'pending').length, rules: views.length };
  }
}
