// The writes of one FHIR transaction, made with a handful of statements instead of several per
// entry: the current versions of every resource the Bundle touches are read in one query up
// front, each entry's new version is worked out in memory (in entry order, so a later entry
// sees an earlier one's write exactly as if each had been written at once), and everything is
// written at the end — versions, current-version rows, index terms — in multi-row statements.
// A mapped ADT Bundle touches 5–17 resources: per-entry statements (each built, compiled and
// prepared) were most of a transaction's time, and on PostgreSQL each was a round trip made
// while holding the sandbox's write lock.
import type { FhirResource } from 'fhir/r4.js';
import { seal, type ContentKeyRing } from '../../adapters/store/crypto.js';
import { indexTerms } from './index-terms.js';
import { aadOf, unsealVersion, type FhirKysely, type StoredVersion } from './rows.js';
import type { FhirIndexTable, FhirResourcesTable, FhirVersionsTable } from './schema.js';

/** Rows per multi-row statement: well inside SQLite's and PostgreSQL's bound-parameter limits (9 columns × 500). */
const CHUNK = 500;

const keyOf = (type: string, id: string) => `${type}/${id}`;

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

export class WriteBatch {
  /** Current version of each loaded resource (deletes included); absent: never stored. */
  private readonly current = new Map<string, StoredVersion>();
  private readonly loaded = new Set<string>();
  private readonly versions: FhirVersionsTable[] = [];
  /** Current-version rows to insert or update, by `Type/id` (the last write wins). */
  private readonly resources = new Map<string, FhirResourcesTable>();
  /** Index terms of each rewritten resource, by `Type/id` (empty for a delete). */
  private readonly terms = new Map<string, { type: string; id: string; rows: FhirIndexTable[] }>();

  constructor(
    private readonly db: FhirKysely,
    private readonly keys: ContentKeyRing,
    private readonly at: Date,
  ) {}

  /** Read the current versions of these resources (one query per type and 500 ids). */
  async load(targets: readonly { type: string; id: string }[]): Promise<void> {
    const byType = new Map<string, Set<string>>();
    for (const { type, id } of targets) {
      const key = keyOf(type, id);
      if (this.loaded.has(key)) continue;
      this.loaded.add(key);
      byType.set(type, (byType.get(type) ?? new Set()).add(id));
    }
    for (const [type, ids] of byType) {
      for (const part of chunks([...ids])) {
        const rows = await this.db
          .selectFrom('fhir_resources as r')
          .innerJoin('fhir_versions as v', (j) => j.onRef('v.resource_type', '=', 'r.resource_type').onRef('v.id', '=', 'r.id').onRef('v.version_id', '=', 'r.version_id'))
          .selectAll('v')
          .where('r.resource_type', '=', type)
          .where('r.id', 'in', part)
          .execute();
        for (const row of rows) this.current.set(keyOf(type, row.id), unsealVersion(this.keys, row));
      }
    }
  }

  /** The current version (a delete included) as this transaction has left it so far; undefined if never stored. */
  currentOf(type: string, id: string): StoredVersion | undefined {
    const key = keyOf(type, id);
    if (!this.loaded.has(key)) throw new Error(`${key} was not loaded before the transaction used it`);
    return this.current.get(key);
  }

  /**
   * The next version of `type/id`: `resource` (id and meta.versionId/lastUpdated set here) or
   * a delete when `resource` is null. Written by `flush`; returns the version as stored.
   */
  write(type: string, id: string, resource: FhirResource | null): StoredVersion {
    const key = keyOf(type, id);
    const before = this.currentOf(type, id);
    const versionId = before ? before.versionId + 1 : 1;
    const lastUpdated = this.at.getTime();
    let stored: FhirResource | undefined;
    let plaintext = Buffer.alloc(0);
    if (resource) {
      stored = { ...resource, id, meta: { ...(resource.meta ?? {}), versionId: String(versionId), lastUpdated: this.at.toISOString() } } as FhirResource;
      plaintext = Buffer.from(JSON.stringify(stored), 'utf8');
    }
    // Terms first: a resource the index refuses (NUL in an identifier) fails before anything is kept.
    const rows = stored ? indexTerms(stored as unknown as Record<string, unknown>, this.keys).map((t) => ({ resource_type: type, id, ...t })) : [];
    const sealed = seal(this.keys, plaintext, aadOf(type, id, versionId));
    const deleted = resource ? 0 : 1;
    this.versions.push({ resource_type: type, id, version_id: versionId, last_updated: lastUpdated, deleted, key_id: sealed.keyId, iv: sealed.iv, tag: sealed.tag, ciphertext: sealed.ciphertext });
    this.resources.set(key, { resource_type: type, id, version_id: versionId, last_updated: lastUpdated, deleted });
    this.terms.set(key, { type, id, rows });
    const version: StoredVersion = { resourceType: type, id, versionId, lastUpdated: this.at, deleted: !resource, resource: stored };
    this.current.set(key, version);
    return version;
  }

  /** Write everything `write` was asked for, inside the caller's database transaction. */
  async flush(): Promise<void> {
    for (const part of chunks(this.versions)) await this.db.insertInto('fhir_versions').values(part).execute();
    for (const part of chunks([...this.resources.values()])) {
      await this.db
        .insertInto('fhir_resources')
        .values(part)
        .onConflict((oc) =>
          oc.columns(['resource_type', 'id']).doUpdateSet((eb) => ({
            version_id: eb.ref('excluded.version_id'),
            last_updated: eb.ref('excluded.last_updated'),
            deleted: eb.ref('excluded.deleted'),
          })),
        )
        .execute();
    }
    const idsByType = new Map<string, string[]>();
    for (const { type, id } of this.terms.values()) idsByType.set(type, [...(idsByType.get(type) ?? []), id]);
    for (const [type, ids] of idsByType) {
      for (const part of chunks(ids)) await this.db.deleteFrom('fhir_index').where('resource_type', '=', type).where('id', 'in', part).execute();
    }
    for (const part of chunks([...this.terms.values()].flatMap((t) => t.rows))) await this.db.insertInto('fhir_index').values(part).execute();
    this.versions.length = 0;
    this.resources.clear();
    this.terms.clear();
  }
}
