// Notifications: a JSON POST to an incoming webhook (its `text` is what Teams and Slack show;
// the rest is for anything that reads JSON) and an e-mail over SMTP (nodemailer). Each with a
// timeout and a few attempts. Webhook URLs and SMTP credentials are secrets: never logged.
import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import type { AlertRule } from './rules.js';
import type { AlertState, Transition } from './state.js';

export interface AlertNotice {
  rule: AlertRule;
  transition: Transition;
  state: AlertState;
  at: Date;
  /** Where the console is, for a link. */
  consoleUrl?: string;
}

export interface SmtpSettings {
  url: string;
  from: string;
  /** Used by rules that name no addresses. */
  to: string[];
}

export function smtpSettings(env: NodeJS.ProcessEnv): SmtpSettings | undefined {
  if (!env.TRAMLINE_SMTP_URL) return undefined;
  return {
    url: env.TRAMLINE_SMTP_URL,
    from: env.TRAMLINE_ALERT_EMAIL_FROM || 'tramline@localhost',
    to: (env.TRAMLINE_ALERT_EMAIL_TO ?? '').split(',').map((s) => s.trim()).filter(Boolean),
  };
}

const WORDS: Record<Transition, string> = { fired: 'FIRING', repeated: 'STILL FIRING', resolved: 'RESOLVED' };

export function headline(n: AlertNotice): string {
  return `[Tramline] ${WORDS[n.transition]}: ${n.rule.name} (${n.rule.kind}) - ${n.state.summary ?? ''}`;
}

/** Where a notification points: the overdue notices for a notices rule, else the Alerts page. */
function consolePage(n: AlertNotice): string | undefined {
  if (!n.consoleUrl) return undefined;
  if (n.rule.kind !== 'notices-overdue') return `${n.consoleUrl}/alerts`;
  const q = new URLSearchParams({ state: 'overdue', ...(n.rule.noticeType ? { type: n.rule.noticeType } : {}), ...(n.rule.channel ? { channel: n.rule.channel } : {}) });
  return `${n.consoleUrl}/notices?${q}`;
}

export function webhookBody(n: AlertNotice): Record<string, unknown> {
  const page = consolePage(n);
  const link = page ? `\n${page}` : '';
  return {
    text: `${headline(n)}${n.rule.description ? `\n${n.rule.description}` : ''}${link}`,
    alert: {
      rule: n.rule.name,
      kind: n.rule.kind,
      status: n.transition === 'resolved' ? 'resolved' : 'firing',
      transition: n.transition,
      summary: n.state.summary,
      ...(n.rule.channel ? { channel: n.rule.channel } : {}),
      ...(n.rule.destination ? { destination: n.rule.destination } : {}),
      since: n.state.since?.toISOString(),
      at: n.at.toISOString(),
      ...(n.rule.noticeType ? { noticeType: n.rule.noticeType } : {}),
      ...(page ? { console: page } : {}),
    },
  };
}

async function attempts<T>(tries: number, delayMs: number, work: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await work();
    } catch (err) {
      if (i >= tries) throw err;
      await new Promise((r) => setTimeout(r, delayMs * i));
    }
  }
}

export interface NotifyOptions {
  timeoutMs?: number;
  tries?: number;
  retryDelayMs?: number;
}

export async function postWebhook(url: string, n: AlertNotice, o: NotifyOptions = {}): Promise<void> {
  await attempts(o.tries ?? 3, o.retryDelayMs ?? 1000, async () => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(webhookBody(n)), signal: AbortSignal.timeout(o.timeoutMs ?? 5000) });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
  });
}

export async function sendEmail(smtp: SmtpSettings, to: string[], n: AlertNotice, o: NotifyOptions = {}): Promise<void> {
  const timeout = o.timeoutMs ?? 10_000;
  const transport = nodemailer.createTransport({ url: smtp.url, connectionTimeout: timeout, greetingTimeout: timeout, socketTimeout: timeout } as SMTPTransport.Options);
  try {
    const body = webhookBody(n);
    await attempts(o.tries ?? 3, o.retryDelayMs ?? 1000, () =>
      transport.sendMail({ from: smtp.from, to, subject: headline(n), text: `${String(body.text)}\n\n${JSON.stringify(body.alert, null, 2)}\n` }),
    );
  } finally {
    transport.close();
  }
}

/** Where a webhook goes, safe to show: its host only (the path of an incoming webhook is its secret). */
export function webhookHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'invalid URL';
  }
}
