// JSON error responses: a status, a short title and a safe detail — never a stack trace,
// never message content. Unexpected errors are logged by id only and answered with 500.
import type { ErrorRequestHandler, Response } from 'express';
import { randomUUID } from 'node:crypto';
import { log } from '../../core/logger.js';
import { bodyErrorDetail } from '../../adapters/http/request-checks.js';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra?: Record<string, unknown>,
  ) {
    super(message);
  }
}

const TITLES: Record<number, string> = {
  400: 'bad request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not found',
  409: 'conflict',
  413: 'payload too large',
  415: 'unsupported media type',
  422: 'unprocessable',
  429: 'too many requests',
  500: 'internal error',
  501: 'not implemented',
  503: 'unavailable',
};

/**
 * A mount whose clients expect another error shape (FHIR: an OperationOutcome) puts this in
 * res.locals.errorBody, so the shared guards' 401/403/429 answers speak its language.
 */
export type ErrorBody = (status: number, detail: string) => { contentType: string; body: unknown };

export function sendError(res: Response, status: number, detail: string, extra?: Record<string, unknown>): void {
  if (res.headersSent) return;
  const custom = res.locals.errorBody as ErrorBody | undefined;
  if (custom) {
    const { contentType, body } = custom(status, detail);
    res.status(status).set('content-type', contentType).send(JSON.stringify(body));
    return;
  }
  res.status(status).json({ error: { status, title: TITLES[status] ?? 'error', detail, ...extra } });
}

/** Last handler: body-parser errors keep their status; anything unknown becomes a bare 500. */
export const jsonErrorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (err instanceof HttpError) return sendError(res, err.status, err.message, err.extra);
  const status = (err as { status?: number; statusCode?: number }).status ?? (err as { statusCode?: number }).statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser: too large, too deep, malformed JSON, bad charset.
    return sendError(res, status, bodyErrorDetail(err as { type?: string }));
  }
  const errorId = randomUUID();
  log.error({ errorId, method: req.method, path: req.path, reason: (err as Error)?.name ?? 'error' }, 'request failed');
  sendError(res, 500, 'the request could not be completed', { errorId });
};
