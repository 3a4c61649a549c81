// The shipped CLD mapping's expected bundles (mappings/social-care/cases), and the ADT
// mapping's vendor-style ones, go into the sandbox store as they are: every entry stored,
// every reference resolved to a stored resource, and sending a case again changes nothing.
import crypto from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Bundle } from 'fhir/r4.js';
import { findReferences } from '../../server/fhir/references.js';
import { FhirStore } from '../../server/fhir/store.js';
import { parseContentKeys } from '../../adapters/store/crypto.js';
import type { Db } from '../../adapters/store/db.js';
import type { StoreDatabase } from '../../adapters/store/schema.js';
import { createBackend, type TestBackend } from '../integration/store-backends.js';

/** A cases folder's expected bundles whose file names start with `prefix`, in name order. */
function expectedBundles(folder: string, prefix = ''): { name: string; bundle: Bundle }[] {
  const dir = path.resolve(folder);
  return readdirSync(dir)
    .filter((f) => f.startsWith(prefix) && f.endsWith('.expected.json'))
    .sort()
    .map((f) => ({ name: f, bundle: JSON.parse(readFileSync(path.join(dir, f), 'utf8')) as Bundle }));
}

/** A sandbox FHIR store on a fresh SQLite database for one describe block (opened in its beforeAll). */
function sandboxStore(): Pick<FhirStore, 'transaction' | 'read'> {
  let backend: TestBackend;
  let db: Db<StoreDatabase>;
  let store: FhirStore;
  beforeAll(async () => {
    backend = createBackend('sqlite');
    db = await backend.openMigrated();
    store = new FhirStore(db, parseContentKeys(crypto.randomBytes(32).toString('base64')));
  });
  afterAll(async () => {
    await db?.close();
    await backend?.cleanup();
  });
  return { transaction: (bundle) => store.transaction(bundle), read: (type, id) => store.read(type, id) };
}

const bundles = expectedBundles('mappings/social-care/cases');

describe('CLD mapping cases in the sandbox store', () => {
  const store = sandboxStore();

  it('there are cases to send', () => {
    expect(bundles.length).toBeGreaterThan(3);
  });

  it('stores every case with references resolved; a second send changes nothing', async () => {
    const locations: string[] = [];
    for (const { name, bundle } of bundles) {
      const { response } = await store.transaction(bundle).catch((err: Error & { details?: string[] }) => {
        throw new Error(`${name}: ${err.message} ${(err.details ?? []).join('; ')}`);
      });
      expect(response.entry).toHaveLength(bundle.entry!.length);
      locations.push(...response.entry!.map((e) => e.response!.location!));
      // Sent again straight away (cases differ in how they describe the shared council, so
      // "again" means before another case rewrites it).
      const again = await store.transaction(bundle);
      expect(again.entries.filter((e) => e.changed)).toEqual([]);
    }
    for (const location of new Set(locations)) {
      const [type, id] = location.split('/');
      const { resource } = await store.read(type, id);
      for (const ref of findReferences(resource)) {
        expect(ref.reference).toMatch(/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]+$/);
        const [rt, rid] = ref.reference.split('/');
        await expect(store.read(rt, rid)).resolves.toBeDefined();
      }
    }
  });
});

// The ADT vendor-style cases: identifier systems built from free text (percent-encoded) and
// derived Encounter keys must work as conditional-update keys in a real FHIR store.
describe('ADT vendor-style cases in the sandbox store', () => {
  const vendor = expectedBundles('mappings/hl7v2/cases', 'vendor-');
  const store = sandboxStore();

  it('stores each case; sending it again finds every resource by its key and changes nothing', async () => {
    expect(vendor.length).toBeGreaterThanOrEqual(5);
    for (const { name, bundle } of vendor) {
      const { response } = await store.transaction(bundle).catch((err: Error & { details?: string[] }) => {
        throw new Error(`${name}: ${err.message} ${(err.details ?? []).join('; ')}`);
      });
      expect(response.entry).toHaveLength(bundle.entry!.length);
      const again = await store.transaction(bundle);
      expect({ name, changed: again.entries.filter((e) => e.changed).length }).toEqual({ name, changed: 0 });
      expect(again.response.entry!.map((e) => e.response!.location)).toEqual(response.entry!.map((e) => e.response!.location));
    }
  });

  it('an A03 without a visit number updates the Encounter its A01 created (the derived key)', async () => {
    const encounterLocation = async (file: string) => {
      const bundle = vendor.find((v) => v.name === file)!.bundle;
      const i = bundle.entry!.findIndex((e) => e.resource?.resourceType === 'Encounter');
      const { response } = await store.transaction(bundle);
      return response.entry![i].response!.location!.split('/_history')[0];
    };
    const admitted = await encounterLocation('vendor-epic-a01-no-visit-number.expected.json');
    const discharged = await encounterLocation('vendor-epic-a03-no-visit-number.expected.json');
    expect(discharged).toBe(admitted);
    const [type, id] = discharged.split('/');
    const { resource } = await store.read(type, id);
    expect(resource).toMatchObject({ status: 'finished' });
  });
});
