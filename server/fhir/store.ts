// The sandbox shared care record: a small FHIR R4 store on the engine's database. Content
// is sealed with the store's content keys; a plaintext index of identifiers and references
// serves searches. Single-resource writes go through the transaction code as one-entry
// transactions, so there is one write path.
import type { Bundle, FhirResource } from 'fhir/r4.js';
import type { Kysely } from 'kysely';
import type { ContentKeyRing } from '../../adapters/store/crypto.js';
import type { DialectName } from '../../adapters/store/db.js';
import { gone, notFound } from './outcome.js';
import { currentRow, historyPage, indexOlderPatients, loadCurrent, loadCurrentMany, loadVersion, type FhirKysely, type HistoryPage, type HistoryScope, type StoredVersion } from './rows.js';
import type { FhirDatabase } from './schema.js';
import { search, type SearchResult } from './search.js';
import { planTransaction, type EntryResult, type TransactionResult } from './transaction.js';
import { TransactionCommits } from './transaction-commits.js';

export type { EntryResult, HistoryPage, SearchResult, StoredVersion, TransactionResult };

export class FhirStore {
  private readonly kysely: FhirKysely;
  private readonly commits: TransactionCommits;

  /** `db` (any opened store database, e.g. `Db<StoreDatabase>`) must be migrated (adapters/store/migrations, 0006-fhir-resources). */
  constructor(
    db: { readonly kysely: unknown; readonly dialect?: DialectName },
    private readonly keys: ContentKeyRing,
  ) {
    this.kysely = db.kysely as unknown as Kysely<FhirDatabase>;
    this.commits = new TransactionCommits(this.kysely, keys, db.dialect);
  }

  /** Call once at start: name and birth-date search terms for Patients stored by an older version. */
  async indexOlderResources(): Promise<void> {
    await indexOlderPatients(this.kysely, this.keys);
  }

  /** Apply a transaction Bundle, all or nothing; resolves once committed (with others arriving meanwhile: transaction-commits.ts). */
  async transaction(bundle: Bundle): Promise<TransactionResult> {
    return this.commits.submit(planTransaction(bundle));
  }

  /** The current version; 404 if never stored, 410 if deleted. */
  async read(type: string, id: string): Promise<StoredVersion> {
    const v = await loadCurrent(this.kysely, this.keys, type, id);
    if (!v) throw notFound(`${type}/${id} is not known`);
    if (v.deleted) throw gone(`${type}/${id} was deleted`);
    return v;
  }

  async vread(type: string, id: string, versionId: number): Promise<StoredVersion> {
    // Versions count from 1 in a 32-bit column: anything else cannot exist (and must not reach PostgreSQL).
    const v = Number.isInteger(versionId) && versionId >= 1 && versionId <= 2147483647 ? await loadVersion(this.kysely, this.keys, type, id, versionId) : undefined;
    if (!v) throw notFound(`${type}/${id} has no version ${versionId}`);
    if (v.deleted) throw gone(`${type}/${id} version ${versionId} is a delete`);
    return v;
  }

  /** Every version, newest first (deletes included, without content). */
  async history(type: string, id: string): Promise<StoredVersion[]> {
    return (await this.historyPage({ type, id, offset: 0, count: Number.MAX_SAFE_INTEGER })).versions;
  }

  /** A page of versions of one resource, one type or everything, newest first; 404 for a resource never stored. */
  async historyPage(scope: HistoryScope): Promise<HistoryPage> {
    if (scope.type !== undefined && scope.id !== undefined && !(await currentRow(this.kysely, scope.type, scope.id))) throw notFound(`${scope.type}/${scope.id} is not known`);
    return historyPage(this.kysely, this.keys, scope);
  }

  /** Current, not deleted versions of these resources of one type (unknown ids left out). */
  currentMany(type: string, ids: readonly string[]): Promise<StoredVersion[]> {
    return loadCurrentMany(this.kysely, this.keys, type, ids);
  }

  search(type: string, params: URLSearchParams): Promise<SearchResult> {
    return search(this.kysely, this.keys, type, params);
  }

  /** Create (conditionally with `ifNoneExist` criteria, e.g. `identifier=sys|val`). */
  async create(resource: FhirResource, options: { ifNoneExist?: string } = {}): Promise<EntryResult> {
    return this.single({ method: 'POST', url: resource.resourceType, ifNoneExist: options.ifNoneExist }, resource);
  }

  /** Update `Type/id`, or conditionally `Type?criteria` (`target` is `id` or `?criteria`). */
  async update(resource: FhirResource, target: string, options: { ifMatch?: string } = {}): Promise<EntryResult> {
    const url = target.startsWith('?') ? `${resource.resourceType}${target}` : `${resource.resourceType}/${target}`;
    return this.single({ method: 'PUT', url, ifMatch: options.ifMatch }, resource);
  }

  async delete(type: string, target: string): Promise<EntryResult> {
    return this.single({ method: 'DELETE', url: target.startsWith('?') ? `${type}${target}` : `${type}/${target}` });
  }

  private async single(request: NonNullable<Bundle['entry']>[number]['request'], resource?: FhirResource): Promise<EntryResult> {
    const result = await this.transaction({ resourceType: 'Bundle', type: 'transaction', entry: [{ request, ...(resource ? { resource } : {}) }] });
    return result.entries[0];
  }
}
