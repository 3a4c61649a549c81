// Structured logs. Every layer logs through the small `Logger` interface below, so what writes
// the lines (pino, as JSON to stdout) is decided here alone. Log ids and counts, never message
// content: the redact list is a second line of defence for fields that might carry patient data
// by mistake.
import { pino } from 'pino';

/** Fields, then a fixed message: `log.warn({ channel, messageId }, 'delivery failed')`; or the message alone. */
export interface LogMethod {
  (fields: Record<string, unknown>, message: string): void;
  (message: string): void;
}

export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

export const REDACTED_FIELDS = ['content', 'payload', 'raw', 'body', 'message.content', '*.nhsNumber', '*.name', 'patient'];

export function createLogger(level = process.env.TRAMLINE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'tramline' }, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } });
}

/** The process's logger (TRAMLINE_LOG_LEVEL sets its level; default info). */
export const log: Logger = createLogger();
