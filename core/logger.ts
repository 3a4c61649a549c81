// Structured logs (pino). Log ids and counts, never message content: the redact list is a
// second line of defence for fields that might carry patient data by mistake.
import { pino, type Logger } from 'pino';

export const REDACTED_FIELDS = ['content', 'payload', 'raw', 'body', 'message.content', '*.nhsNumber', '*.name', 'patient'];

export function createLogger(level = process.env.TRAMLINE_LOG_LEVEL ?? 'info'): Logger {
  return pino({ level, base: { app: 'tramline' }, redact: { paths: REDACTED_FIELDS, censor: '[redacted]' } });
}

export const log: Logger = createLogger();
export type { Logger };
