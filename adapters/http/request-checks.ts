// Checks every HTTP mount applies before it acts on a request: JSON nesting depth (a deeply
// nested body overflows the stack of whatever walks it later), NUL bytes in the URL
// (PostgreSQL refuses them in text, so they must never reach a query) and no caching of answers
// that may carry a person's data.
import type { RequestHandler } from 'express';

/** Deepest JSON nesting a request body may have; FHIR resources and API bodies need far less. */
export const MAX_JSON_DEPTH = 100;

export class RequestCheckError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * body-parser `verify`: refuse a body nested deeper than MAX_JSON_DEPTH before it is parsed.
 * A byte scan (no recursion), so the check itself cannot overflow.
 */
export function verifyJsonDepth(_req: unknown, _res: unknown, buf: Buffer): void {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > MAX_JSON_DEPTH) throw new RequestCheckError(400, 'entity.too.deep', `request body is nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
}

/** True when the path or query carries an encoded NUL (`%00`); a raw NUL cannot reach us (Node's parser refuses it). */
export function urlHasNul(originalUrl: string): boolean {
  return /%00/i.test(originalUrl);
}

/** Answers may carry a person's data: no cache (browser, proxy) may keep them. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('cache-control', 'no-store');
  next();
};

/** The safe detail for a body-parser (or verify) error; never the body's content. */
export function bodyErrorDetail(err: { type?: string; message?: string }): string {
  if (err instanceof RequestCheckError) return err.message;
  if (err.type === 'entity.too.large') return 'request body too large';
  if (err.type === 'entity.parse.failed') return 'request body is not valid JSON';
  return 'bad request';
}
