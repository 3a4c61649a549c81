// Reading resource versions (unsealing the content) and the index terms of older Patients;
// a transaction's writes are in write-batch.ts. Every function takes the Kysely handle it runs on, so
// the transaction code can call them inside one database transaction.
import type { Kysely } from 'kysely';
import type { FhirResource } from 'fhir/r4.js';
import { open, type ContentKeyRing } from '../../adapters/store/crypto.js';
import { indexTerms, type IndexTerm } from './index-terms.js';
import type { FhirDatabase, FhirVersionsTable } from './schema.js';

export type FhirKysely = Kysely<FhirDatabase>;

export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: Date;
  deleted: boolean;
  /** Absent for a delete. */
  resource?: FhirResource;
}

/** Binds sealed content to its row, so versions cannot be swapped between resources. */
export const aadOf = (type: string, id: string, version: number) => `fhir:${type}/${id}/${version}`;

export function unsealVersion(keys: ContentKeyRing, row: FhirVersionsTable): StoredVersion {
  const base = { resourceType: row.resource_type, id: row.id, versionId: Number(row.version_id), lastUpdated: new Date(Number(row.last_updated)), deleted: row.deleted === 1 };
  if (base.deleted) return base;
  const text = open(keys, { keyId: row.key_id, iv: row.iv, tag: row.tag, ciphertext: row.ciphertext }, aadOf(row.resource_type, row.id, base.versionId)).toString('utf8');
  return { ...base, resource: JSON.parse(text) as FhirResource };
}

export async function currentRow(db: FhirKysely, type: string, id: string) {
  return db.selectFrom('fhir_resources').selectAll().where('resource_type', '=', type).where('id', '=', id).executeTakeFirst();
}

export async function loadVersion(db: FhirKysely, keys: ContentKeyRing, type: string, id: string, version: number): Promise<StoredVersion | undefined> {
  const row = await db
    .selectFrom('fhir_versions')
    .selectAll()
    .where('resource_type', '=', type)
    .where('id', '=', id)
    .where('version_id', '=', version)
    .executeTakeFirst();
  return row ? unsealVersion(keys, row) : undefined;
}

export async function loadCurrent(db: FhirKysely, keys: ContentKeyRing, type: string, id: string): Promise<StoredVersion | undefined> {
  const current = await currentRow(db, type, id);
  return current ? loadVersion(db, keys, type, id, Number(current.version_id)) : undefined;
}

const CHUNK = 500;

/** Current, not deleted versions of many resources of one type (order not kept). */
export async function loadCurrentMany(db: FhirKysely, keys: ContentKeyRing, type: string, ids: readonly string[]): Promise<StoredVersion[]> {
  const out: StoredVersion[] = [];
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await db
      .selectFrom('fhir_resources as r')
      .innerJoin('fhir_versions as v', (j) => j.onRef('v.resource_type', '=', 'r.resource_type').onRef('v.id', '=', 'r.id').onRef('v.version_id', '=', 'r.version_id'))
      .selectAll('v')
      .where('r.resource_type', '=', type)
      .where('r.id', 'in', ids.slice(i, i + CHUNK))
      .where('r.deleted', '=', 0)
      .execute();
    for (const row of rows) out.push(unsealVersion(keys, row));
  }
  return out;
}

export interface HistoryScope {
  /** Absent: every type (system-level history). */
  type?: string;
  /** Absent: every resource of the type. */
  id?: string;
  /** Only versions written at or after this instant. */
  since?: Date;
  offset: number;
  count: number;
}

export interface HistoryPage extends HistoryScope {
  /** Newest first; deletes included, without content. */
  versions: StoredVersion[];
  /** Versions in the whole scope, all pages. */
  total: number;
}

export async function historyPage(db: FhirKysely, keys: ContentKeyRing, scope: HistoryScope): Promise<HistoryPage> {
  let query = db.selectFrom('fhir_versions');
  if (scope.type !== undefined) query = query.where('resource_type', '=', scope.type);
  if (scope.id !== undefined) query = query.where('id', '=', scope.id);
  if (scope.since) query = query.where('last_updated', '>=', scope.since.getTime());
  const totalRow = await query.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst();
  const rows =
    scope.count === 0
      ? []
      : await query
          .selectAll()
          .orderBy('last_updated', 'desc')
          .orderBy('resource_type')
          .orderBy('id')
          .orderBy('version_id', 'desc')
          .limit(scope.count)
          .offset(scope.offset)
          .execute();
  return { ...scope, versions: rows.map((r) => unsealVersion(keys, r)), total: Number(totalRow?.n ?? 0) };
}

/** Sorted-key JSON, so the same content always compares equal whatever its key order. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The content that decides whether an update changes anything: server-managed meta removed. */
export function contentKey(resource: FhirResource): string {
  const { meta, ...rest } = resource as FhirResource & { meta?: Record<string, unknown> };
  const { versionId: _v, lastUpdated: _l, source: _s, ...keptMeta } = meta ?? {};
  return canonical(Object.keys(keptMeta).length ? { ...rest, meta: keptMeta } : rest);
}

/** In chunks: one statement per resource could pass the databases' bound-parameter limits. */
async function insertTerms(db: FhirKysely, type: string, id: string, terms: IndexTerm[]): Promise<void> {
  for (let i = 0; i < terms.length; i += CHUNK) {
    await db.insertInto('fhir_index').values(terms.slice(i, i + CHUNK).map((t) => ({ resource_type: type, id, ...t }))).execute();
  }
}

/**
 * Index the name and birth-date terms of Patients stored before those were indexed (they have
 * no `string` or `date` rows yet), so name and birthdate search find them too. Returns how many
 * Patients were looked at; cheap once done (only Patients with neither name nor birth date stay).
 */
export async function indexOlderPatients(db: FhirKysely, keys: ContentKeyRing): Promise<number> {
  const rows = await db
    .selectFrom('fhir_resources as r')
    .select('r.id')
    .where('r.resource_type', '=', 'Patient')
    .where('r.deleted', '=', 0)
    .where((eb) =>
      eb.not(
        eb.exists(
          eb
            .selectFrom('fhir_index as i')
            .select('i.id')
            .whereRef('i.resource_type', '=', 'r.resource_type')
            .whereRef('i.id', '=', 'r.id')
            .where('i.kind', 'in', ['string', 'date']),
        ),
      ),
    )
    .execute();
  for (const v of await loadCurrentMany(db, keys, 'Patient', rows.map((r) => r.id))) {
    const terms = indexTerms(v.resource as unknown as Record<string, unknown>, keys).filter((t) => t.kind === 'string' || t.kind === 'date');
    await insertTerms(db, 'Patient', v.id, terms);
  }
  return rows.length;
}
