// The sandbox FHIR REST API as an express Router, mounted at /fhir: transaction at the base,
// CRUD with conditional forms, vread/history, search, /metadata. Bodies are
// application/fhir+json; every error is an OperationOutcome with a fitting status.
import { randomUUID } from 'node:crypto';
import express, { type ErrorRequestHandler, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import { log } from '../logger.js';
import { capabilityStatement } from './capability.js';
import { badRequest, FhirError, operationOutcome, outcomeOf } from './outcome.js';
import { ID_PATTERN } from './references.js';
import type { StoredVersion } from './rows.js';
import type { FhirStore, EntryResult } from './store.js';

export const FHIR_JSON = 'application/fhir+json';
const TYPE = /^[A-Z][A-Za-z]+$/;

export interface FhirRouterOptions {
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

const baseUrlOf = (req: Request) => `${req.protocol}://${req.get('host')}${req.baseUrl}`;

function versionHeaders(res: Response, req: Request, v: StoredVersion, withLocation: boolean): void {
  res.set('etag', `W/"${v.versionId}"`);
  res.set('last-modified', v.lastUpdated.toUTCString());
  if (withLocation) res.set('location', `${baseUrlOf(req)}/${v.resourceType}/${v.id}/_history/${v.versionId}`);
}

function typeParam(req: Request): string {
  const type = String(req.params.type);
  if (!TYPE.test(type)) throw new FhirError(404, 'not-supported', 'unknown resource type');
  return type;
}

function idParam(req: Request): string {
  const id = String(req.params.id);
  if (!ID_PATTERN.test(id)) throw badRequest('invalid resource id');
  return id;
}

function queryOf(req: Request): URLSearchParams {
  const q = req.originalUrl.indexOf('?');
  return new URLSearchParams(q >= 0 ? req.originalUrl.slice(q + 1) : '');
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
function sendWrite(req: Request, res: Response, result: EntryResult): void {
  const status = Number(result.status.slice(0, 3));
  const v = result.version;
  if (v && !v.deleted) versionHeaders(res, req, v, true);
  const prefer = req.get('prefer') ?? '';
  if (status === 204 || /return=minimal/.test(prefer) || !v?.resource) return send(res, status === 204 ? 204 : status);
  if (/return=OperationOutcome/.test(prefer)) return send(res, status, operationOutcome('information', 'informational', [result.status]));
  send(res, status, v.resource);
}

function searchBundle(req: Request, type: string, result: Awaited<ReturnType<FhirStore['search']>>): Bundle {
  const base = baseUrlOf(req);
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

function historyBundle(req: Request, versions: StoredVersion[]): Bundle {
  const base = baseUrlOf(req);
  return {
    resourceType: 'Bundle',
    type: 'history',
    total: versions.length,
    entry: versions.map((v) => ({
      fullUrl: `${base}/${v.resourceType}/${v.id}`,
      ...(v.resource ? { resource: v.resource } : {}),
      request: { method: v.deleted ? 'DELETE' : v.versionId === 1 ? 'POST' : 'PUT', url: v.versionId === 1 && !v.deleted ? v.resourceType : `${v.resourceType}/${v.id}` },
      response: { status: v.deleted ? '204 No Content' : v.versionId === 1 ? '201 Created' : '200 OK', etag: `W/"${v.versionId}"`, lastModified: v.lastUpdated.toISOString() },
    })),
  };
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
  const type = (err as { type?: string }).type;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    // body-parser: its messages carry no body content.
    const text = type === 'entity.too.large' ? 'request body too large' : type === 'entity.parse.failed' ? 'request body is not valid JSON' : 'bad request';
    return send(res, status, operationOutcome('error', status === 413 ? 'too-costly' : 'structure', [text]));
  }
  const errorId = randomUUID();
  log.error({ errorId, method: req.method, reason: (err as Error)?.name ?? 'error' }, 'FHIR request failed');
  send(res, 500, operationOutcome('error', 'exception', [`the request could not be completed (error id ${errorId})`]));
};

export function createFhirRouter(store: FhirStore, options: FhirRouterOptions = {}): Router {
  const router = express.Router();
  const read = options.readGuards ?? [];
  const write = options.writeGuards ?? [];
  // Read after the guards: an unauthenticated caller never gets a 20 MB body parsed.
  const json = express.json({ type: [FHIR_JSON, 'application/json', 'application/json+fhir'], limit: options.bodyLimit ?? '20mb' });

  router.get('/metadata', (req, res) => send(res, 200, capabilityStatement(baseUrlOf(req))));

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
      send(res, 200, searchBundle(req, type, found));
    }),
  );
  router.post(
    '/:type',
    ...write,
    json,
    handle(async (req, res) => {
      const resource = typedBody(req);
      const ifNoneExist = req.get('if-none-exist');
      sendWrite(req, res, await store.create(resource, ifNoneExist ? { ifNoneExist } : {}));
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
      sendWrite(req, res, await store.update(resource, `?${query.toString()}`, { ifMatch: req.get('if-match') }));
    }),
  );
  router.delete(
    '/:type',
    ...write,
    handle(async (req, res) => {
      const query = queryOf(req);
      if (![...query.keys()].length) throw badRequest('DELETE needs Type/id or Type?criteria');
      sendWrite(req, res, await store.delete(typeParam(req), `?${query.toString()}`));
    }),
  );

  router.get(
    '/:type/:id',
    ...read,
    handle(async (req, res) => {
      const v = await store.read(typeParam(req), idParam(req));
      await options.onRead?.(req, res, [v.resource]);
      versionHeaders(res, req, v, false);
      send(res, 200, v.resource);
    }),
  );
  router.put(
    '/:type/:id',
    ...write,
    json,
    handle(async (req, res) => {
      const resource = typedBody(req);
      sendWrite(req, res, await store.update(resource, idParam(req), { ifMatch: req.get('if-match') }));
    }),
  );
  router.delete(
    '/:type/:id',
    ...write,
    handle(async (req, res) => {
      sendWrite(req, res, await store.delete(typeParam(req), idParam(req)));
    }),
  );
  router.get(
    '/:type/:id/_history',
    ...read,
    handle(async (req, res) => {
      const versions = await store.history(typeParam(req), idParam(req));
      await options.onRead?.(req, res, versions.map((v) => v.resource));
      send(res, 200, historyBundle(req, versions));
    }),
  );
  router.get(
    '/:type/:id/_history/:vid',
    ...read,
    handle(async (req, res) => {
      const v = await store.vread(typeParam(req), idParam(req), Number(req.params.vid));
      await options.onRead?.(req, res, [v.resource]);
      versionHeaders(res, req, v, false);
      send(res, 200, v.resource);
    }),
  );

  router.use((_req, res) => send(res, 404, operationOutcome('error', 'not-supported', ['no such FHIR interaction here'])));
  router.use(fhirErrors);
  return router;
}
