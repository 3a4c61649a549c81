// The shipped CLD mapping's expected bundles (mappings/social-care/cases) go into the sandbox
// store as they are: every entry stored, every reference resolved to a stored resource, and
// sending a case again changes nothing.
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

const CASES = path.resolve('mappings/social-care/cases');
const bundles = readdirSync(CASES)
  .filter((f) => f.endsWith('.expected.json'))
  .sort()
  .map((f) => ({ name: f, bundle: JSON.parse(readFileSync(path.join(CASES, f), 'utf8')) as Bundle }));

describe('CLD mapping cases in the sandbox store', () => {
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
