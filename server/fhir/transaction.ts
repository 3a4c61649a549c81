// FHIR transaction processing, all or nothing in one database transaction: entries are
// resolved to ids (conditional create/update/delete by search), urn:uuid: and conditional
// references are rewritten to those ids, then DELETEs, POSTs and PUTs are applied in that
// order (FHIR's). An update that changes nothing but meta keeps its version, so sending
// the same extract twice leaves the store as it was. The lookups and writes are batched:
// conditions in one query, current versions in one, the writes at the end (write-batch.ts).
import { randomUUID } from 'node:crypto';
import type { Bundle, BundleEntry, FhirResource } from 'fhir/r4.js';
import { sql, type Kysely } from 'kysely';
import { fhirIssues } from '../../mappings/index.js';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import { dialectOf } from '../../adapters/store/db.js';
import { badRequest, FhirError, preconditionFailed, unprocessable } from './outcome.js';
import { conditionalTarget, findReferences, ID_PATTERN } from './references.js';
import { contentKey, type FhirKysely, type StoredVersion } from './rows.js';
import { identifierCondition, idsByIdentifiers, matchingIds } from './search.js';
import { WriteBatch } from './write-batch.js';

export type WriteMethod = 'POST' | 'PUT' | 'DELETE';

export interface EntryResult {
  /** `201 Created`, `200 OK`, `204 No Content`. */
  status: string;
  /** The version now current (absent after a delete of nothing). */
  version?: StoredVersion;
  /** True when a new version was written. */
  changed: boolean;
}

export interface TransactionResult {
  response: Bundle;
  entries: EntryResult[];
}

interface Planned {
  index: number;
  method: WriteMethod;
  type: string;
  id?: string;
  /** Search criteria of a conditional request (url query or ifNoneExist). */
  condition?: URLSearchParams;
  resource?: FhirResource;
  fullUrl?: string;
  ifMatch?: string;
  /** Conditional create that found its resource: nothing to write. */
  existing?: boolean;
}

const TYPE = /^[A-Z][A-Za-z]+$/;
const METHODS = new Set<WriteMethod>(['POST', 'PUT', 'DELETE']);

/** `Patient`, `Patient/1`, `Patient?identifier=…` or an absolute URL ending in one of those. */
function parseRequestUrl(raw: string, where: string): { type: string; id?: string; query?: URLSearchParams } {
  let text = raw;
  if (/^https?:\/\//i.test(text)) {
    const url = new URL(text);
    const segs = url.pathname.split('/').filter(Boolean);
    let at = -1;
    for (let i = segs.length - 1; i >= Math.max(0, segs.length - 2); i--) if (TYPE.test(segs[i])) at = i;
    if (at < 0) throw badRequest(`${where}: request.url does not name a resource type`);
    text = segs.slice(at).join('/') + url.search;
  }
  const q = text.indexOf('?');
  const path = q >= 0 ? text.slice(0, q) : text;
  const query = q >= 0 ? new URLSearchParams(text.slice(q + 1)) : undefined;
  const [type, id, ...rest] = path.split('/').filter(Boolean);
  if (!type || !TYPE.test(type) || rest.length) throw badRequest(`${where}: request.url must be Type, Type/id or Type?criteria`);
  if (id !== undefined && !ID_PATTERN.test(id)) throw badRequest(`${where}: request.url has an invalid id`);
  return { type, id, query };
}

function plan(bundle: Bundle): Planned[] {
  if (bundle?.resourceType !== 'Bundle') throw badRequest('expected a Bundle');
  if (bundle.type !== 'transaction') throw badRequest('only transaction Bundles are accepted at the base URL');
  const issues = fhirIssues(bundle, ['fhir-r4']);
  if (issues.length) throw unprocessable(`Bundle is not valid FHIR R4 (${issues.length} issue${issues.length === 1 ? '' : 's'})`, issues);
  return (bundle.entry ?? []).map((entry: BundleEntry, index) => {
    const where = `entry[${index}]`;
    const method = entry.request?.method as WriteMethod | undefined;
    if (!method || !METHODS.has(method)) throw badRequest(`${where}: request.method must be POST, PUT or DELETE`);
    const url = parseRequestUrl(entry.request!.url ?? '', where);
    const resource = entry.resource;
    if (method !== 'DELETE') {
      if (!resource) throw badRequest(`${where}: ${method} needs a resource`);
      if (resource.resourceType !== url.type) throw badRequest(`${where}: resource type ${resource.resourceType} does not match request.url`);
    }
    if (method === 'POST' && (url.id || url.query)) throw badRequest(`${where}: POST goes to the type (Type), not Type/id`);
    if (method !== 'POST' && !url.id && !url.query) throw badRequest(`${where}: ${method} needs Type/id or Type?criteria`);
    if (method === 'PUT' && url.id && resource?.id !== undefined && resource.id !== url.id) throw badRequest(`${where}: resource id does not match request.url`);
    let condition = url.query;
    if (method === 'POST' && entry.request?.ifNoneExist) condition = new URLSearchParams(entry.request.ifNoneExist.replace(/^[A-Z][A-Za-z]+\?/, ''));
    return { index, method, type: url.type, id: url.id, condition, resource: resource ? (structuredClone(resource) as FhirResource) : undefined, fullUrl: entry.fullUrl, ifMatch: entry.request?.ifMatch };
  });
}

/** What each conditional entry's criteria match now: identifier conditions in one query, others one search each. */
async function conditionMatches(db: FhirKysely, keys: ContentKeyRing, planned: Planned[]): Promise<Map<Planned, string[]>> {
  const conditional = planned.filter((p) => !p.id && p.condition);
  const simple = conditional.map((p) => ({ p, tokens: identifierCondition(p.condition!) })).filter((l): l is { p: Planned; tokens: NonNullable<typeof l.tokens> } => l.tokens !== undefined);
  const matches = new Map<Planned, string[]>();
  const found = simple.length ? await idsByIdentifiers(db, simple.map(({ p, tokens }) => ({ type: p.type, tokens })), 2) : [];
  simple.forEach(({ p }, i) => matches.set(p, found[i]));
  for (const p of conditional) if (!matches.has(p)) matches.set(p, await matchingIds(db, keys, p.type, p.condition!, 2));
  return matches;
}

async function resolveIdentities(db: FhirKysely, keys: ContentKeyRing, planned: Planned[]): Promise<Map<string, string>> {
  const fullUrls = new Map<string, string>();
  const targets = new Set<string>();
  const matches = await conditionMatches(db, keys, planned);
  for (const p of planned) {
    const where = `entry[${p.index}]`;
    if (!p.id && p.condition) {
      const ids = matches.get(p)!;
      if (ids.length > 1) throw preconditionFailed(`${where}: conditional ${p.method} on ${p.type} matched more than one resource`);
      if (ids.length === 1) {
        p.id = ids[0];
        if (p.method === 'POST') p.existing = true;
        if (p.method === 'PUT' && p.resource?.id !== undefined && p.resource.id !== p.id) throw badRequest(`${where}: resource id differs from the resource the criteria matched`);
      } else if (p.method !== 'DELETE') {
        p.id = p.method === 'PUT' && p.resource?.id && ID_PATTERN.test(p.resource.id) ? p.resource.id : randomUUID();
      }
    } else if (!p.id) {
      p.id = randomUUID(); // plain create: the server names it
    }
    if (p.id) {
      const key = `${p.type}/${p.id}`;
      if (targets.has(key) && !p.existing) throw badRequest(`${where}: ${p.type} is the target of more than one entry`);
      targets.add(key);
      if (p.fullUrl) fullUrls.set(p.fullUrl, key);
    }
  }
  return fullUrls;
}

const sameQuery = (a: URLSearchParams, b: URLSearchParams) => {
  const norm = (q: URLSearchParams) => [...q].map(([k, v]) => `${k}=${v}`).sort().join('&');
  return norm(a) === norm(b);
};

async function rewriteReferences(db: FhirKysely, keys: ContentKeyRing, planned: Planned[], fullUrls: Map<string, string>): Promise<void> {
  const conditional = new Map<string, string>();
  for (const p of planned) {
    if (!p.resource) continue;
    for (const ref of findReferences(p.resource)) {
      const where = `entry[${p.index}].resource.${ref.path}`;
      const mapped = fullUrls.get(ref.reference);
      if (mapped) {
        ref.holder.reference = mapped;
        continue;
      }
      if (ref.reference.startsWith('urn:uuid:') || ref.reference.startsWith('urn:oid:')) throw badRequest(`${where}: reference to a fullUrl not in this Bundle`);
      const cond = conditionalTarget(ref.reference);
      if (!cond) continue;
      let target = conditional.get(ref.reference);
      if (!target) {
        const query = new URLSearchParams(cond.query);
        const ids = await matchingIds(db, keys, cond.type, query, 2);
        if (ids.length > 1) throw preconditionFailed(`${where}: conditional reference to ${cond.type} matched more than one resource`);
        // Not stored yet: the resource this Bundle creates or updates with the same criteria.
        const inBundle = planned.find((o) => o.type === cond.type && o.id && o.condition && sameQuery(o.condition, query));
        target = ids.length === 1 ? `${cond.type}/${ids[0]}` : inBundle ? `${cond.type}/${inBundle.id}` : undefined;
        if (!target) throw preconditionFailed(`${where}: conditional reference to ${cond.type} matched no resource`);
        conditional.set(ref.reference, target);
      }
      ref.holder.reference = target;
    }
  }
}

const etagVersion = (etag: string) => etag.replace(/^W\//, '').replace(/"/g, '');

function apply(batch: WriteBatch, p: Planned): EntryResult {
  const where = `entry[${p.index}]`;
  if (p.method === 'DELETE') {
    const current = p.id ? batch.currentOf(p.type, p.id) : undefined;
    if (!current || current.deleted) return { status: '204 No Content', changed: false };
    return { status: '204 No Content', version: batch.write(p.type, p.id!, null), changed: true };
  }
  const id = p.id!;
  const current = batch.currentOf(p.type, id);
  if (p.existing) return { status: '200 OK', version: current, changed: false };
  const live = current && !current.deleted ? current : undefined;
  if (p.ifMatch && etagVersion(p.ifMatch) !== String(live?.versionId ?? '')) throw new FhirError(412, 'conflict', `${where}: If-Match does not match the current version`);
  if (p.method === 'POST' && current) throw new FhirError(409, 'duplicate', `${where}: ${p.type} already exists`);
  const resource = { ...p.resource!, id } as FhirResource;
  if (live?.resource && contentKey(live.resource) === contentKey(resource)) return { status: '200 OK', version: live, changed: false };
  const version = batch.write(p.type, id, resource);
  return { status: live ? '200 OK' : '201 Created', version, changed: true };
}

function responseEntry(result: EntryResult): BundleEntry {
  const v = result.version;
  if (!v || v.deleted) return { response: { status: result.status } };
  return {
    response: {
      status: result.status,
      location: `${v.resourceType}/${v.id}/_history/${v.versionId}`,
      etag: `W/"${v.versionId}"`,
      lastModified: v.lastUpdated.toISOString(),
    },
  };
}

const ORDER: Record<WriteMethod, number> = { DELETE: 0, POST: 1, PUT: 2 };

/** A transaction Bundle checked and planned, ready to apply (no database work yet). */
export type PlannedTransaction = Planned[];

/** Check a transaction Bundle and plan its entries; throws FhirError if it cannot be applied. */
export function planTransaction(bundle: Bundle): PlannedTransaction {
  return plan(bundle);
}

/**
 * Apply a planned transaction inside the caller's database transaction (which must already
 * hold the sandbox's write lock on PostgreSQL, see `lockFhirWrites`); throws FhirError on any
 * failure, after which the caller must roll its writes back.
 */
export async function applyTransaction(trx: FhirKysely, keys: ContentKeyRing, planned: PlannedTransaction): Promise<TransactionResult> {
  const at = new Date();
  const fullUrls = await resolveIdentities(trx, keys, planned);
  await rewriteReferences(trx, keys, planned, fullUrls);
  const batch = new WriteBatch(trx, keys, at);
  await batch.load(planned.filter((p) => p.id !== undefined).map((p) => ({ type: p.type, id: p.id! })));
  const entries: EntryResult[] = new Array(planned.length);
  for (const p of [...planned].sort((a, b) => ORDER[a.method] - ORDER[b.method] || a.index - b.index)) {
    entries[p.index] = apply(batch, p);
  }
  await batch.flush();
  return { response: { resourceType: 'Bundle', type: 'transaction-response', entry: entries.map(responseEntry) }, entries };
}

/**
 * Conditional creates must not race into duplicates. PostgreSQL: a transaction-scoped
 * advisory lock serialises FHIR writers (and writes no WAL, so an unchanged re-send stays a
 * read-only transaction). SQLite: Kysely runs one transaction at a time per connection, and
 * another process's commit between our read and our write fails ours (SQLITE_BUSY), never
 * duplicates.
 */
export async function lockFhirWrites(trx: Kysely<unknown>): Promise<void> {
  if (dialectOf(trx) === 'postgres') await sql`select pg_advisory_xact_lock(hashtext(current_schema() || '.fhir_writes'))`.execute(trx);
}
