// The sandbox FHIR REST API as an express Router, mounted at /fhir: transaction at the base,
// CRUD with conditional forms, vread, instance/type/system history, search, /metadata. Bodies
// are application/fhir+json only (XML is refused with 406); every error, the guards' 401/403
// included, is an OperationOutcome with a fitting status. Links and fullUrls use the configured
// public base URL, never the request's Host header.
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import type { ErrorBody } from '../http/errors.js';
import { bodyErrorDetail, noStore, verifyJsonDepth } from '../../adapters/http/request-checks.js';
import { log } from '../../core/logger.js';
import { capabilityStatement } from './capability.js';
import { badRequest, FhirError, operationOutcome, outcomeOf, type IssueCode } from './outcome.js';
import { ID_PATTERN } from './references.js';
import type { HistoryPage, StoredVersion } from './rows.js';
import { countOf, DEFAULT_COUNT } from './search.js';
import type { FhirStore, EntryResult } from './store.js';

export const FHIR_JSON = 'application/fhir+json';
const TYPE = /^[A-Z][A-Za-z]+$/;

export interface FhirRouterOptions {
  /** The FHIR base URL clients use, e.g. `https://tramline.example.org/fhir` (asked per request: known once the port is open). */
  publicBase: () => string;
  /** Run before every read (e.g. authentication + permission). */
  readGuards?: RequestHandler[];
  /** Run before every write. */
  writeGuards?: RequestHandler[];
  /** Largest accepted body (default 20 MB: a batch of people's records). */
  bodyLimit?: string;
  /** Told of what every read returns, before it is sent (e.g. to audit record views). */
  onRead?: (req: Request, res: Response, resources: unknown[]) => Promise<void>;
}

function send(res: Response, status: number, body?: unknown): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.set('content-type', `${FHIR_JSON}; charset=utf-8`).send(JSON.stringify(body));
}

function versionHeaders(res: Response, base: string, v: StoredVersion, withLocation: boolean): void {
  res.set('etag', `W/"${v.versionId}"`);
  res.set('last-modified', v.lastUpdated.toUTCString());
  if (withLocation) res.set('location', `${base}/${v.resourceType}/${v.id}/_history/${v.versionId}`);
}

const ISSUE_FOR_STATUS: Record<number, IssueCode> = { 400: 'invalid', 401: 'login', 403: 'forbidden', 404: 'not-found', 406: 'not-supported', 413: 'too-costly', 415: 'not-supported', 429: 'throttled' };

/** The shared guards' errors (401, 403, 429) as OperationOutcomes under /fhir. */
const outcomeErrorBody: ErrorBody = (status, detail) => ({
  contentType: `${FHIR_JSON}; charset=utf-8`,
  body: operationOutcome('error', ISSUE_FOR_STATUS[status] ?? 'exception', [detail]),
});

const JSON_FORMATS = new Set(['json', 'application/json', FHIR_JSON, 'application/json+fhir']);

/** `_format` or Accept asking for something other than JSON (XML, Turtle) gets 406: the sandbox speaks JSON only. */
function wantsOnlyOtherFormats(req: Request): boolean {
  // Not queryOf: its refusals come after the guards, so that they are audited.
  const format = new URLSearchParams(req.originalUrl.slice(req.originalUrl.indexOf('?') + 1 || req.originalUrl.length)).get('_format');
  // In a query `+` is a space; `_format=application/fhir+json` must still count as JSON.
  if (format !== null) return !JSON_FORMATS.has(format.split(';')[0].trim().replace(/ /g, '+').toLowerCase());
  return req.get('accept') !== undefined && !req.accepts([FHIR_JSON, 'application/json', 'application/json+fhir']);
}

function typeParam(req: Request): string {
  const type = String(req.params.type);
  if (!TYPE.test(type)) throw new FhirError(404, 'not-supported', 'unknown resource type');
  return type;
}

function idParam(req: Request): string {
  const id = String(req.params.id);
  if (!ID_PATTERN.test(id)) throw badRequest('invalid resource id (1-64 of A-Z a-z 0-9 - .)');
  return id;
}

/** The sandbox numbers versions 1, 2, …; anything else (or beyond a 32-bit count) is not a version id here. */
function versionParam(req: Request): number {
  const raw = String(req.params.vid);
  if (!/^[1-9][0-9]{0,9}$/.test(raw) || Number(raw) > 2147483647) throw badRequest('invalid version id (an integer from 1)');
  return Number(raw);
}

function queryOf(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '');
  for (const [k, v] of params) if (k.includes('\u0000') || v.includes('\u0000')) throw badRequest('NUL characters are not allowed in search parameters');
  return params;
}

function bodyResource(req: Request): FhirResource {
  const body = req.body as unknown;
  if (!req.is([FHIR_JSON, 'application/json', 'application/json+fhir'])) throw new FhirError(415, 'not-supported', `send the resource as ${FHIR_JSON}`);
  if (!body || typeof body !== 'object' || Array.isArray(body) || typeof (body as { resourceType?: unknown }).resourceType !== 'string') {
    throw badRequest('the body must be a FHIR resource (JSON object with resourceType)');
  }
  return body as FhirResource;
}

/** Answer a write as Prefer asks: the resource (default), nothing, or an OperationOutcome. */
function sendWrite(req: Request, res: Response, base: string, result: EntryResult): void {
  const status = Number(result.status.slice(0, 3));
  const v = result.version;
  if (v && !v.deleted) versionHeaders(res, base, v, true);
  const prefer = req.get('prefer') ?? '';
  if (status === 204 || /return=minimal/.test(prefer) || !v?.resource) return send(res, status === 204 ? 204 : status);
  if (/return=OperationOutcome/.test(prefer)) return send(res, status, operationOutcome('information', 'informational', [result.status]));
  send(res, status, v.resource);
}

function searchBundle(req: Request, base: string, type: string, result: Awaited<ReturnType<FhirStore['search']>>): Bundle {
  const entry = (v: StoredVersion, mode: 'match' | 'include'): BundleEntry => ({ fullUrl: `${base}/${v.resourceType}/${v.id}`, resource: v.resource, search: { mode } });
  const q = req.originalUrl.indexOf('?');
  return {
    resourceType: 'Bundle',
    type: 'searchset',
    total: result.total,
    link: [{ relation: 'self', url: `${base}/${type}${q >= 0 ? req.originalUrl.slice(q) : ''}` }],
    entry: [...result.matches.map((v) => entry(v, 'match')), ...result.included.map((v) => entry(v, 'include'))],
  };
}

/** A history page: newest first, with self/next/previous links carrying `_count` and `_offset`. */
function historyBundle(base: string, path: string, page: HistoryPage): Bundle {
  const { versions, total, offset, count, since } = page;
  const pageUrl = (at: number) => `${base}${path}?${new URLSearchParams({ ...(since ? { _since: since.toISOString() } : {}), _count: String(count), _offset: String(at) }).toString()}`;
  const link: Bundle['link'] = [{ relation: 'self', url: pageUrl(offset) }];
  if (count > 0 && offset + count < total) link.push({ relation: 'next', url: pageUrl(offset + count) });
  if (count > 0 && offset > 0) link.push({ relation: 'previous', url: pageUrl(Math.max(0, offset - count)) });
  return {
    resourceType: 'Bundle',
    type: 'history',
    total,
    link,
    entry: versions.map((v) => ({
      fullUrl: `${base}/${v.resourceType}/${v.id}`,
      ...(v.resource ? { resource: v.resource } : {}),
      request: { method: v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT', url: v.versionId === 1 && !v.deleted ? v.resourceType : `${v.resourceType}/${v.id}` },
      response: { status: v.deleted ? '204 No Content' : v.versionId === 1 ? '201 Created' : '200 OK', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated.toISOString() },
    })),
  };
}

function sinceOf(query: URLSearchParams): Date | undefined {
  const raw = query.get('_since');
  if (raw === null) return undefined;
  const at = /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2}))?$/.test(raw) ? new Date(raw) : new Date(NaN);
  if (Number.isNaN(at.getTime())) throw badRequest('_since must be an instant such as 2026-01-31T09:00:00Z');
  return at;
}

function offsetOf(query: URLSearchParams): number {
  const raw = query.get('_offset');
  if (raw === null) return 0;
  if (!/^\d{1,9}$/.test(raw)) throw badRequest('_offset must be a non-negative integer');
  return Number(raw);
}

/** The request's resource, which must be of the type the URL names. */
function typedBody(req: Request) {
  const resource = bodyResource(req);
  if (resource.resourceType !== typeParam(req)) throw badRequest('resourceType does not match the URL');
  return resource;
}

/** Wrap an async handler so thrown errors reach the OperationOutcome error handler. */
const handle =
  (fn: (req: Request, res: Response) => Promise<void> | void): RequestHandler =>
  (req, res, next) => {
    Promise.resolve()
      .then(() => fn(req, res))
      .catch(next);
  };

const fhirErrors: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  if (res.headersSent) return;
  if (err instanceof FhirError) return send(res, err.status, outcomeOf(err));
  const status = (err as { status?: number }).status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser: too large, too deep, malformed.
    return send(res, status, operationOutcome('error', status === 413 ? 'too-costly' : 'structure', [bodyErrorDetail(err as { type?: string })]));
  }
  const errorId = randomUUID();
  // The database's error code and constraint name say what failed without quoting any value.
  const { code, constraint } = (err ?? {}) as { code?: unknown; constraint?: unknown };
  log.error({ errorId, method: req.method, reason: (err as Error)?.name ?? 'error', ...(typeof code === 'string' ? { code } : {}), ...(typeof constraint === 'string' ? { constraint } : {}) }, 'FHIR request failed');
  send(res, 500, operationOutcome('error', 'exception', [`the request could not be completed (error id ${errorId})`]));
};

export function createFhirRouter(store: FhirStore, options: FhirRouterOptions): Router {
  const router = express.Router();
  const read = options.readGuards ?? [];
  const write = options.writeGuards ?? [];
  const base = options.publicBase;
  // Read after the guards: an unauthenticated caller never gets a 20 MB body parsed.
  const json = express.json({ type: [FHIR_JSON, 'application/json', 'application/json+fhir'], limit: options.bodyLimit ?? '20mb', verify: verifyJsonDepth });

  router.use(noStore, (req, res, next) => {
    res.locals.errorBody = outcomeErrorBody;
    if (wantsOnlyOtherFormats(req)) return send(res, 406, outcomeErrorBody(406, `only ${FHIR_JSON} is served here`).body);
    next();
  });

  // Open to anyone, as FHIR clients expect: it describes the server, never a person.
  router.get('/metadata', (_req, res) => send(res, 200, capabilityStatement(base())));

  /** History of everything, of one type, or of one resource: a page of versions, newest first. */
  const historyRoute = (scope: (req: Request) => { type?: string; id?: string; path: string }): RequestHandler =>
    handle(async (req, res) => {
      const { type, id, path } = scope(req);
      const query = queryOf(req);
      for (const k of query.keys()) if (!['_count', '_offset', '_since', '_format'].includes(k)) throw badRequest(`history does not support parameter "${k}"`);
      const page = await store.historyPage({ type, id, since: sinceOf(query), offset: offsetOf(query), count: query.has('_count') ? countOf(query) : DEFAULT_COUNT });
      await options.onRead?.(req, res, page.versions.map((v) => v.resource));
      send(res, 200, historyBundle(base(), path, page));
    });
  router.get('/_history', ...read, historyRoute(() => ({ path: '/_history' })));
  router.get(
    '/:type/_history',
    ...read,
    historyRoute((req) => ({ type: typeParam(req), path: `/${typeParam(req)}/_history` })),
  );

  router.post(
    '/',
    ...write,
    json,
    handle(async (req, res) => {
      const bundle = bodyResource(req);
      if (bundle.resourceType !== 'Bundle') throw badRequest('POST to the base URL takes a transaction Bundle');
      const { response } = await store.transaction(bundle);
      send(res, 200, response);
    }),
  );

  router.get(
    '/:type',
    ...read,
    handle(async (req, res) => {
      const type = typeParam(req);
      const found = await store.search(type, queryOf(req));
      await options.onRead?.(req, res, [...found.matches, ...found.included].map((v) => v.resource));
      send(res, 200, searchBundle(req, base(), type, found));
    }),
  );
  router.post(
    '/:type',
    ...write,
    json,
    handle(async (req, res) => {
      const resource = typedBody(req);
      const ifNoneExist = req.get('if-none-exist');
      sendWrite(req, res, base(), await store.create(resource, ifNoneExist ? { ifNoneExist } : {}));
    }),
  );
  router.put(
    '/:type',
    ...write,
    json,
    handle(async (req, res) => {
      const resource = typedBody(req);
      const query = queryOf(req);
      if (![...query.keys()].length) throw badRequest('PUT needs Type/id or Type?criteria');
      sendWrite(req, res, base(), await store.update(resource, `?${query.toString()}`, { ifMatch: req.get('if-match') }));
    }),
  );
  router.delete(
    '/:type',
    ...write,
    handle(async (req, res) => {
      const query = queryOf(req);
      if (![...query.keys()].length) throw badRequest('DELETE needs Type/id or Type?criteria');
      sendWrite(req, res, base(), await store.delete(typeParam(req), `?${query.toString()}`));
    }),
  );

  router.get(
    '/:type/:id',
    ...read,
    handle(async (req, res) => {
      const v = await store.read(typeParam(req), idParam(req));
      await options.onRead?.(req, res, [v.resource]);
      versionHeaders(res, base(), v, false);
      send(res, 200, v.resource);
    }),
  );
  router.put(
    '/:type/:id',
    ...write,
    json,
    handle(async (req, res) => {
      const resource = typedBody(req);
      sendWrite(req, res, base(), await store.update(resource, idParam(req), { ifMatch: req.get('if-match') }));
    }),
  );
  router.delete(
    '/:type/:id',
    ...write,
    handle(async (req, res) => {
      sendWrite(req, res, base(), await store.delete(typeParam(req), idParam(req)));
    }),
  );
  router.get(
    '/:type/:id/_history',
    ...read,
    historyRoute((req) => ({ type: typeParam(req), id: idParam(req), path: `/${typeParam(req)}/${idParam(req)}/_history` })),
  );
  router.get(
    '/:type/:id/_history/:vid',
    ...read,
    handle(async (req, res) => {
      const v = await store.vread(typeParam(req), idParam(req), versionParam(req));
      await options.onRead?.(req, res, [v.resource]);
      versionHeaders(res, base(), v, false);
      send(res, 200, v.resource);
    }),
  );

  router.use((_req, res) => send(res, 404, operationOutcome('error', 'not-supported', ['no such FHIR interaction here'])));
  router.use(fhirErrors);
  return router;
}
